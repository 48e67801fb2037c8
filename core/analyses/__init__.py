"""The top layer of core: what the routes and ``score`` ask of a scored photo or clip. Maps
(explain.py, heatmap.py), regions (regions.py), crops (crops.py) and videos (video.py,
video_moments.py). Imports core.model and core.inputs, never the other way."""
