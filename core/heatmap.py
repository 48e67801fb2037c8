"""From an occlusion map in the model's frame to what a client gets: a grid over the whole
photo, values in [0, 1], and a PNG overlay to look at.

Values: 0.5 is neutral (greying the region leaves the score as it is), 1 is the region whose
removal lowers the score most, 0 the one whose removal raises it most. The scale is per photo.
"""
import base64
import io

import numpy as np
from PIL import Image

RAISES = np.array([214, 39, 40], np.float32)   # red: this region makes the photo memorable
LOWERS = np.array([31, 119, 180], np.float32)  # blue: this region makes it forgettable
MAX_ALPHA = 0.65


def heatmap_grid(frame, image_size, max_side=64):
    """``frame`` (the model's resized frame) as a rows x cols grid with the photo's aspect ratio.

    The model's frame is the whole photo resized without keeping the aspect ratio, so stretching
    it back to the photo's shape puts every value over the region it was measured on.
    """
    width, height = image_size
    shrink = min(1.0, max_side / max(width, height))
    cols, rows = max(1, round(width * shrink)), max(1, round(height * shrink))
    scale = float(np.abs(frame).max())
    normalised = 0.5 + 0.5 * frame / scale if scale > 0 else np.full(frame.shape, 0.5)
    # BOX averages the area under each cell when shrinking, rather than sampling points.
    grid = Image.fromarray(normalised.astype(np.float32)).resize((cols, rows), Image.BOX)
    return np.clip(np.asarray(grid, dtype=np.float64), 0.0, 1.0)


def overlay_png(image, grid, max_side=512):
    """The RGB ``image`` (at most max_side pixels a side) with ``grid`` blended over it, as PNG."""
    photo = image.copy()
    photo.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    heat = Image.fromarray(grid.astype(np.float32)).resize(photo.size, Image.BILINEAR)
    signed = 2.0 * np.asarray(heat)[..., None] - 1.0
    colour = np.where(signed > 0, RAISES, LOWERS)
    alpha = MAX_ALPHA * np.abs(signed)
    blended = np.asarray(photo, np.float32) * (1 - alpha) + colour * alpha
    buffer = io.BytesIO()
    # Level 3: within 5% of the smallest PNG, at an eighth of optimize=True's time.
    Image.fromarray(blended.round().astype(np.uint8)).save(buffer, "PNG", compress_level=3)
    return buffer.getvalue()


def png_base64(data):
    return base64.b64encode(data).decode("ascii")
