"""Decoding and validation of uploaded images, and the exact preprocessing of each model.

Uploads are identified by their bytes, never by the client's file name or content type.
Everything that can go wrong with untrusted bytes raises ``ImageError``, whose message is
safe to show to the client.
"""
import io
import struct
import warnings

import numpy as np
from PIL import Image, ImageFile, PngImagePlugin

from core.inputs.formats import IMAGE_TEXT, PILLOW_FORMATS

ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated upload is an error, not a grey half
# A PNG's text chunks are read while it is opened, before its size is known: Pillow allows 64 MB
# of them (1 MB each, decompressed). A score needs none; 1 MB in all (256 KB each) keeps an
# ordinary photo's metadata and refuses a text bomb with a 400 (ValueError, below).
PngImagePlugin.MAX_TEXT_CHUNK = 256 * 1024
PngImagePlugin.MAX_TEXT_MEMORY = 1024 * 1024

# Errors Pillow's decoders raise on malformed input. Only the decoding of untrusted bytes is
# guarded with these; a bug elsewhere must still surface as a 500, not as a "bad image".
DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, IndexError,
                 KeyError, TypeError, ZeroDivisionError, MemoryError)


class ImageError(ValueError):
    """The upload is not an image this service can score; the message says why."""


class NotAnImage(ImageError):
    """Its bytes are of no image format taken: a README, a CSV, an ICO, a video. ``kind`` is the
    core.inputs.kinds.Kind that said so, when it was asked."""
    kind = None


class TooLarge(ImageError):
    """The file is over the size limit of an image (it may still be a video)."""


def not_an_image(name):
    return NotAnImage(f"{name} is not an image ({IMAGE_TEXT})")


ORIENTATION = 0x0112  # the EXIF tag; values 5 to 8 turn the photo a quarter, swapping its sides


def decode_sized(data, max_pixels, name="upload", draft_size=None, reserve=None, shortest_cut=None, copies=0):
    """Decode upload bytes into an 8-bit RGB ``PIL.Image`` in its viewing orientation, and the
    photo's (width, height) as a viewer shows it: the full size from its header, with the EXIF
    orientation applied, whatever size the draft decoded.

    Accepts JPEG, PNG, GIF (first frame), BMP, TIFF and WebP; applies the EXIF orientation and
    converts greyscale, palette, alpha, CMYK and 16-bit images to RGB. With ``draft_size``
    (w, h), a large JPEG is decoded at 1/2, 1/4 or 1/8 scale by libjpeg itself (Pillow's
    ``draft``), never below that size: much less work and memory for the same resized pixels.
    ``data`` is bytes, or a binary file open at its start: Pillow then reads the header, and
    the pixel limit is checked from it, before any pixels are read. ``reserve(pixels)``, when
    given, is called once, before any pixel is decoded, with what the decode will hold at its
    peak (``held_pixels``: by mode, not by pixels alone), plus ``copies`` RGB copies of the
    decoded picture that the caller will make (a crop), and may wait.
    ``shortest_cut``: the shortest side, in full-size pixels, of a piece to be cut from the
    picture (a crop): the draft then keeps that piece at ``draft_size`` or more, as it keeps a
    whole photo."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        if not data:
            raise ImageError(f"{name} is empty")
        data = io.BytesIO(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(data)
            if image.format not in PILLOW_FORMATS:
                raise ImageError(f"{name} is a {image.format} file; send {IMAGE_TEXT}")
            width, height = image.size
            if width * height > max_pixels:
                raise ImageError(f"{name} is {width}x{height}: too many pixels "
                                 f"(the limit is {max_pixels})")
            if width < 1 or height < 1:
                raise ImageError(f"{name} has no pixels")
            orientation = header_orientation(image)
            size = displayed_size(image, orientation)
            image.seek(0)  # first frame of an animation
            if draft_size and image.format in ("JPEG", "MPO"):
                side = max(draft_size)  # square: the EXIF rotation may swap width and height
                if shortest_cut:  # libjpeg's scale keeps min(width, height) >= side: scale the piece so
                    side = max(side, -(-side * min(width, height) // shortest_cut))
                image.draft(image.mode, (side, side))  # the pixels really decoded: image.size after it
            if reserve is not None:
                pixels = image.width * image.height
                reserve(held_pixels(image.mode, pixels, orientation in TURNS) + copies * pixels)
            image.load()
            if orientation in TURNS:  # a copy, while the stored picture is still held
                image = image.transpose(TURNS[orientation])
            return to_rgb(image), size
    except ImageError:
        raise
    except Image.UnidentifiedImageError:
        raise not_an_image(name) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{name} has too many pixels (the limit is {max_pixels})") from None
    except DECODE_ERRORS as error:
        raise ImageError(f"{name} could not be decoded; it is truncated or corrupt ({error})") from None


# EXIF orientations 2..8, as ImageOps.exif_transpose turns them.
TURNS = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
         5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
         8: Image.Transpose.ROTATE_90}

# Bytes a pixel that Pillow stores in each mode (else 4: RGB is stored as RGBX, I and F as 32 bits).
STORED_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}


# Bytes a pixel of what ``to_rgb`` makes beside the stored picture, by mode: RGBA and a palette
# (its transparency) go through RGBA and then RGB on white; greys of 16 or 32 bits through 8-bit grey.
# The alpha band taken out to paste on white is one byte more.
CONVERTED_BYTES = {"RGB": 0, "RGBA": 5, "P": 9, "LA": 9, "PA": 9, "La": 9, "RGBa": 9,
                   "I;16": 5, "I;16L": 5, "I;16B": 5, "I;16N": 5, "I": 5, "F": 5}  # else 4: a convert("RGB")


def held_pixels(mode, pixels, turned=False):
    """What decoding ``pixels`` of ``mode`` to RGB holds at its peak, in RGB pixels (4 bytes, the
    unit of core/inputs/budget.py): the stored picture, and beside it either its turned copy (EXIF) or
    what ``to_rgb`` makes. An RGB photo is its pixels; a 16-bit grey one 7/4 of them."""
    stored = STORED_BYTES.get(mode, 4)
    beside = max(stored if turned else 0, CONVERTED_BYTES.get(mode, 4))
    return -(-pixels * (stored + beside) // 4)


def header_orientation(image):
    """The EXIF (or XMP) orientation of an opened image, 1 to 8, from what precedes its pixels.
    Pillow's PNG plugin would decode the whole picture to look for an eXIf chunk after the
    pixel data; the PNG specification (3rd edition) puts eXIf before IDAT, and browsers ignore
    one after it (w3c/png#146, #447), so that one is ignored here too: nothing is decoded."""
    orientation = Image.Image.getexif(image).get(ORIENTATION, 1)
    return orientation if orientation in range(1, 9) else 1


def displayed_size(image, orientation=None):
    """(width, height) of an opened image as shown: EXIF orientations 5 to 8 swap the sides.
    From its header (``orientation``, when already read): this decodes no pixels."""
    width, height = image.size
    orientation = header_orientation(image) if orientation is None else orientation
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def probe_size(data):
    """The displayed (width, height) of image bytes from their header, or None if unreadable;
    for a client that sends the bytes elsewhere to be decoded (collection/remote.py)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return displayed_size(image)
    except (Image.UnidentifiedImageError, Image.DecompressionBombError, *DECODE_ERRORS):
        return None


def to_rgb(image):
    """Convert any Pillow mode to 8-bit RGB, the way a viewer would show it."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode.startswith("I;16") or mode == "I":
        # 16/32-bit greyscale: Pillow's own conversion clips at 255; scale 0..65535 instead, in
        # integers: (v + 128) // 257 is round(v / 257) exactly (v / 257 is never a half).
        return _grey_to_rgb(image, lambda band: np.clip((band.astype(np.int64) + 128) // 257, 0, 255))
    if mode == "F":
        return _grey_to_rgb(image, lambda band: np.clip(np.rint(np.nan_to_num(band)), 0, 255))
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode in ("LA", "PA", "La", "RGBa"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        # Transparent pixels carry arbitrary colours; show them on white, as viewers do.
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV


BAND_PIXELS = 1 << 20  # converted a band of rows at a time: the temporaries stay a few MB


def _grey_to_rgb(image, to_8bit):
    """RGB of a 16-bit, 32-bit or float greyscale ``image``, through 8-bit grey made a band of rows
    at a time by ``to_8bit`` (an array of the band's values to 0..255): the whole picture is never
    held in a wider type (three float64 copies of a 64-megapixel PNG were 1.5 GB)."""
    width, height = image.size
    rows = max(1, BAND_PIXELS // width)
    grey = np.empty((height, width), np.uint8)
    for top in range(0, height, rows):
        band = np.asarray(image.crop((0, top, width, min(height, top + rows))))
        grey[top:top + band.shape[0]] = to_8bit(band)
    return Image.fromarray(grey, "L").convert("RGB")


def resized(image, spec):
    """The RGB image resized as a bucket's preprocessing says, ignoring its aspect ratio: uint8."""
    resample = Image.Resampling[spec.interpolation.upper()]
    return np.asarray(image.resize(tuple(spec.resize), resample), dtype=np.uint8)


def crop_offsets(spec):
    """(top, left) of the centre crop; torchvision's CenterCrop rounds 14.5 down to 14."""
    width, height = spec.resize
    return int(round((height - spec.crop) / 2.0)), int(round((width - spec.crop) / 2.0))


def preprocess(image, spec):
    """Apply a bucket's preprocessing (core.model.bucket.Preprocessing) to one RGB image.

    For ResMem this is ``resmem.transformer``: a PIL bilinear resize to 256x256 that ignores
    the aspect ratio, a 227 centre crop and a division by 255. Returns float32 H x W x 3.
    """
    top, left = crop_offsets(spec)
    crop = resized(image, spec)[top:top + spec.crop, left:left + spec.crop].astype(np.float32)
    out = crop / np.float32(1.0 / spec.scale)  # a division, as ToTensor's div(255), bit for bit
    mean, std = np.asarray(spec.mean, np.float32), np.asarray(spec.std, np.float32)
    if mean.any() or (std != 1).any():
        out = (out - mean) / std
    return out
