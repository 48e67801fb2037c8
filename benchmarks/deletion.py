"""The deletion and insertion tests of a memorability map, shared by tests/ and
benchmarks/explain.py.

Deletion: grey out the hottest fraction of a photo's pixels, then the coldest, and score both.
A faithful map's hottest pixels matter more, so greying them lowers the score more: hot < cold.

Insertion: blur the whole photo, then reveal (paste back sharp) the hottest fraction, then the
coldest, and score both. A faithful map's hottest pixels bring back more: hot > cold. It checks
a map from the other side, with a baseline (blur) that none of the occlusion maps hides with.
"""
import numpy as np
from PIL import Image, ImageFilter

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


BLUR_RADIUS = 16  # pixels of a 256-pixel-wide photo; scaled with the photo's size


def revealed_pair(image, heatmap, fraction=FRACTION):
    """(hottest revealed, coldest revealed) copies of the RGB PIL ``image`` blurred."""
    radius = BLUR_RADIUS * max(image.size) / 256
    blurred = np.array(image.filter(ImageFilter.GaussianBlur(radius))).reshape(-1, 3)
    sharp = np.array(image).reshape(-1, 3)
    heat = heat_per_pixel(heatmap, image.size).ravel()
    order = np.argsort(heat, kind="stable")
    count = int(round(fraction * heat.size))
    pair = []
    for chosen in (order[-count:], order[:count]):
        pixels = blurred.copy()
        pixels[chosen] = sharp[chosen]
        pair.append(Image.fromarray(pixels.reshape(image.height, image.width, 3)))
    return tuple(pair)
