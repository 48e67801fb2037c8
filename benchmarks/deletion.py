"""The deletion test of a memorability map, shared by tests/ and benchmarks/explain.py.

Grey out the hottest fraction of a photo's pixels, then the coldest, and score both. A faithful
map's hottest pixels matter more, so greying them lowers the score more: hot < cold.
"""
import numpy as np
from PIL import Image

GREY = 128
FRACTION = 0.2


def heat_per_pixel(heatmap, size):
    """The heatmap (rows of floats over the whole photo) stretched to the photo's ``size``."""
    grid = Image.fromarray(np.asarray(heatmap, dtype=np.float32))
    return np.asarray(grid.resize(size, Image.BILINEAR))


def greyed_pair(image, heatmap, fraction=FRACTION):
    """(hottest greyed, coldest greyed) copies of the RGB PIL ``image``."""
    heat = heat_per_pixel(heatmap, image.size).ravel()
    order = np.argsort(heat, kind="stable")
    count = int(round(fraction * heat.size))
    pair = []
    for chosen in (order[-count:], order[:count]):
        pixels = np.array(image).reshape(-1, 3)
        pixels[chosen] = GREY
        pair.append(Image.fromarray(pixels.reshape(image.height, image.width, 3)))
    return tuple(pair)
