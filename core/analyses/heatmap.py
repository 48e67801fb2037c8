"""From an occlusion map in the model's frame to what a client gets: grids over the whole
photo and a PNG overlay to look at.

    effects   the fall of the score when the region is hidden, in the score's own units:
              +0.03, hiding it lowers the score by 0.03 (the region makes the photo memorable)
    heatmap   the same, scaled per photo into [0, 1]: 0.5 neutral, 1 the strongest positive
              effect, 0 the strongest negative one (kept for clients of the first API)
    overlay   the effects on a fixed diverging scale centred on "no change": full red at
              +EXPLAIN_EFFECT_SCALE, full blue at minus it. Weak effects look weak, so a photo
              where every region raises the score when hidden looks faintly blue all over,
              not like a strong map; per-photo scaling would have stretched them to full colour.
"""
import base64
import io

import numpy as np
from PIL import Image

RAISES = np.array([214, 39, 40], np.float32)   # red: this region makes the photo memorable
LOWERS = np.array([31, 119, 180], np.float32)  # blue: this region makes it forgettable
MAX_ALPHA = 0.65


def effects_grid(frame, image_size, max_side):
    """``frame`` (the model's resized frame) as a rows x cols grid with the photo's aspect ratio.

    The model's frame is the whole photo resized without keeping the aspect ratio, so stretching
    it back to the photo's shape puts every value over the region it was measured on.
    """
    width, height = image_size
    shrink = min(1.0, max_side / max(width, height))
    cols, rows = max(1, round(width * shrink)), max(1, round(height * shrink))
    # BOX averages the area under each cell when shrinking, rather than sampling points.
    grid = Image.fromarray(np.asarray(frame, np.float32)).resize((cols, rows), Image.BOX)
    return np.asarray(grid, dtype=np.float64)


def heatmap_of(effects):
    """The effects grid scaled per photo into [0, 1], 0.5 neutral."""
    scale = float(np.abs(effects).max())
    if scale <= 0:
        return np.full(effects.shape, 0.5)
    return np.clip(0.5 + 0.5 * effects / scale, 0.0, 1.0)


def overlay_png(image, effects, scale, max_side):
    """The RGB ``image`` (at most max_side pixels a side) with the ``effects`` grid blended over
    it on a diverging scale: full colour at +-``scale`` score units, none at 0. PNG bytes."""
    photo = image.copy()
    photo.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    heat = Image.fromarray(np.asarray(effects, np.float32)).resize(photo.size, Image.BILINEAR)
    signed = np.clip(np.asarray(heat)[..., None] / scale, -1.0, 1.0)
    colour = np.where(signed > 0, RAISES, LOWERS)
    alpha = MAX_ALPHA * np.abs(signed)
    blended = np.asarray(photo, np.float32) * (1 - alpha) + colour * alpha
    buffer = io.BytesIO()
    # Level 3: within 5% of the smallest PNG, at an eighth of optimize=True's time.
    Image.fromarray(blended.round().astype(np.uint8)).save(buffer, "PNG", compress_level=3)
    return buffer.getvalue()


def png_base64(data):
    return base64.b64encode(data).decode("ascii")
