"""Fidelity (ResMem): decoding and preprocessing, checked pixel for pixel against what the original
does."""
import numpy as np
import pytest
from PIL import Image

from core.inputs.images import ImageError, decode_sized, preprocess
from core.model.bucket import Preprocessing
from tests.imagegen import (
    NOT_IMAGES,
    ROOT,
    encode,
    jpeg_claiming_size,
    png_claiming_size,
    sample_bytes,
    sample_rgb,
    sixteen_bit_grey_png,
    truncated,
    with_orientation,
)
from tests.settings import settings

LIMIT = settings().MAX_IMAGE_PIXELS
RESMEM = Preprocessing(resize=(256, 256), interpolation="bilinear", crop=227, scale=1 / 255)


def decode(data, max_pixels, draft_size=None):
    """The decoded picture of core.inputs.images.decode_sized, the one decoder."""
    return decode_sized(data, max_pixels, draft_size=draft_size)[0]


def pixels(image):
    return np.asarray(image, dtype=np.int16)


def test_preprocessing_matches_the_original_transformer_bit_for_bit():
    reference = np.load(ROOT / "tests/reference/resmem_branches.npz")
    image = decode(sample_bytes(str(reference["image"])), LIMIT)
    x = preprocess(image, RESMEM)
    assert x.shape == (227, 227, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(x, reference["input"])


@pytest.mark.parametrize("fmt,options", [("PNG", {}), ("BMP", {}), ("TIFF", {}),
                                         ("WEBP", {"lossless": True}), ("PPM", None)])
def test_lossless_formats_decode_to_the_same_pixels(fmt, options):
    rgb = sample_rgb()
    data = encode(rgb, fmt, **(options or {}))
    if options is None:  # PPM is an image Pillow reads, but not a format this service accepts
        with pytest.raises(ImageError, match="is a PPM file"):
            decode(data, LIMIT)
        return
    np.testing.assert_array_equal(pixels(decode(data, LIMIT)), pixels(rgb))


def test_gif_uses_its_first_frame():
    frames = [Image.new("RGB", (32, 32), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    image = decode(data, LIMIT)
    assert image.mode == "RGB" and image.getpixel((5, 5)) == (255, 0, 0)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_applied(orientation):
    rgb = sample_rgb("chelsea.jpg")
    decoded = decode(with_orientation(rgb, orientation), LIMIT)
    assert decoded.size == rgb.size
    np.testing.assert_array_equal(pixels(decoded), pixels(rgb))


def test_greyscale_palette_and_sixteen_bit_become_grey_rgb():
    grey = sample_rgb().convert("L")
    expected = pixels(grey.convert("RGB"))
    np.testing.assert_array_equal(pixels(decode(encode(grey, "PNG"), LIMIT)), expected)
    np.testing.assert_array_equal(pixels(decode(sixteen_bit_grey_png(grey), LIMIT)), expected)
    palette = sample_rgb().convert("P")
    np.testing.assert_array_equal(pixels(decode(encode(palette, "PNG"), LIMIT)),
                                  pixels(palette.convert("RGB")))


def test_transparent_pixels_show_on_white_and_opaque_alpha_changes_nothing():
    rgba = sample_rgb().convert("RGBA")
    np.testing.assert_array_equal(pixels(decode(encode(rgba, "PNG"), LIMIT)),
                                  pixels(sample_rgb()))
    clear = Image.new("RGBA", (20, 10), (0, 0, 0, 0))
    assert decode(encode(clear, "PNG"), LIMIT).getpixel((3, 3)) == (255, 255, 255)
    grey_alpha = Image.new("LA", (20, 10), (0, 0))
    assert decode(encode(grey_alpha, "PNG"), LIMIT).getpixel((3, 3)) == (255, 255, 255)


def test_cmyk_jpeg_becomes_rgb_close_to_the_original():
    rgb = sample_rgb("coffee.jpg")
    decoded = decode(encode(rgb.convert("CMYK"), "JPEG", quality=95), LIMIT)
    assert decoded.mode == "RGB" and decoded.size == rgb.size
    assert np.abs(pixels(decoded) - pixels(rgb)).mean() < 4


@pytest.mark.parametrize("name", sorted(NOT_IMAGES))
def test_non_images_are_refused(name):
    _, _, data = NOT_IMAGES[name]
    with pytest.raises(ImageError):
        decode(data, LIMIT)


def test_empty_truncated_and_bomb_uploads_are_refused_with_reasons():
    with pytest.raises(ImageError, match="empty"):
        decode(b"", LIMIT)
    with pytest.raises(ImageError, match="truncated or corrupt"):
        decode(truncated(sample_bytes("coffee.jpg")), LIMIT)
    with pytest.raises(ImageError, match="truncated or corrupt"):
        decode(truncated(encode(sample_rgb(), "PNG")), LIMIT)
    with pytest.raises(ImageError, match="too many pixels"):
        decode(png_claiming_size(40000, 40000), LIMIT)
    with pytest.raises(ImageError, match="too many pixels"):
        decode(jpeg_claiming_size(65000, 65000), LIMIT)


def test_extreme_aspect_ratios_and_tiny_images_are_fine():
    for size in ((1, 1), (20000, 1), (1, 3000)):
        image = decode(encode(Image.new("RGB", size, (10, 200, 10)), "PNG"), LIMIT)
        assert preprocess(image, RESMEM).shape == (227, 227, 3)


def test_a_big_jpeg_is_decoded_at_a_reduced_size_that_scores_the_same(resmem):
    big = sample_rgb("chelsea.jpg").resize((3000, 2000), Image.Resampling.LANCZOS)
    data = encode(big, "JPEG", quality=92)
    drafted = decode(data, LIMIT, draft_size=(512, 512))
    assert drafted.size == (1500, 1000)  # libjpeg's 1/2 scale: 1/4 would leave the short side under 512
    assert decode(data, LIMIT).size == (3000, 2000)
    assert decode(encode(big, "PNG"), LIMIT, draft_size=(512, 512)).size == (3000, 2000)
    full = resmem.predict([decode(data, LIMIT)])[0]["memorability"]
    served = resmem.predict([data])[0]["memorability"]  # the wrapper drafts at 2x its 256 resize
    assert abs(full - served) < 0.01


@pytest.mark.parametrize("mode, values", [
    ("I;16", np.arange(0, 65536, dtype=np.uint16)),
    ("I", np.concatenate([np.arange(-600, 66000, dtype=np.int32), [2**31 - 1, -2**31]]).astype(np.int32)),
    ("F", np.array([-3.5, -0.4, 0, 0.5, 1.5, 2.5, 127.49, 254.5, 255.5, 1e9, np.inf, -np.inf], np.float32)),
])
def test_wide_greys_become_8_bit_as_the_float_conversion_rounded_them(mode, values):
    """Issue 40, item 7: converted in integers, a band at a time (three float64 copies of a 64 MP
    PNG were 1.5 GB): the same 8-bit values as np.rint(v / 257) (F: np.rint(v)), clipped."""
    from core.inputs.images import BAND_PIXELS, to_rgb

    width = 1000  # the values wrap over several bands
    padded = np.resize(values, (-(-len(values) // width) + 2 * BAND_PIXELS // width, width))
    image = Image.fromarray(padded)
    assert image.mode == mode
    wide = np.asarray(image, np.float64)
    expected = np.clip(np.rint(wide / 257 if mode != "F" else wide), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(np.asarray(to_rgb(image))[..., 0], expected)


@pytest.mark.parametrize("mode, turned, held", [
    ("RGB", False, 100), ("RGB", True, 200), ("L", False, 125), ("L", True, 125),
    ("I;16", False, 175), ("I;16", True, 175), ("I", False, 225), ("F", True, 225),
    ("RGBA", False, 225), ("P", False, 250), ("LA", False, 325), ("CMYK", True, 200),
])
def test_a_decode_reserves_what_its_mode_holds_not_4_bytes_a_pixel(mode, turned, held):
    """Issue 40, item 7: the budget's unit is 4 bytes (an RGB pixel); a decode reserves its peak:
    the stored picture, with its turned copy or what the conversion to RGB makes."""
    from core.inputs.images import held_pixels

    assert held_pixels(mode, 100, turned) == held


def test_a_16_bit_png_reserves_its_mode_before_it_is_decoded():
    grey = Image.new("I;16", (300, 200), 1000)
    asked = []
    from core.inputs.images import decode_sized

    decode_sized(encode(grey, "PNG"), LIMIT, reserve=asked.append)
    assert asked == [300 * 200 * 7 // 4]


def test_a_png_text_bomb_is_a_clear_400_not_64_mb_read_before_the_size():
    """Issue 40, item 7: Pillow reads a PNG's text chunks while opening it, up to 64 MB; a score
    needs none, and 1 MB in all is allowed."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for i in range(8):
        info.add_text(f"note{i}", "x" * 200_000, zip=True)  # 8 x 200 KB, a few KB compressed
    bomb = encode(Image.new("RGB", (8, 8)), "PNG", pnginfo=info)
    assert len(bomb) < 50_000
    with pytest.raises(ImageError, match="could not be decoded"):
        decode(bomb, LIMIT)
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "an ordinary photo's note", zip=True)
    assert decode(encode(Image.new("RGB", (8, 8)), "PNG", pnginfo=info), LIMIT).size == (8, 8)


def test_a_pngs_exif_after_its_pixels_is_ignored_as_browsers_ignore_it_and_nothing_is_decoded_early():
    """The orientation comes from what precedes the pixels: Pillow's PNG getexif decodes the whole
    picture to look further, before the budget was asked (PNG 3rd edition: eXIf before IDAT)."""
    import struct
    import zlib

    stored = sample_rgb().transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(stored, "PNG")
    chunk = b"eXIf" + exif.tobytes()[6:] if exif.tobytes().startswith(b"Exif\x00\x00") else b"eXIf" + exif.tobytes()
    late = data[:-12] + struct.pack(">I", len(chunk) - 4) + chunk + struct.pack(">I", zlib.crc32(chunk)) + data[-12:]
    with Image.open(__import__("io").BytesIO(late)) as check:
        assert check.getexif().get(0x0112) == 6  # Pillow itself would turn it, after decoding it
    assert decode(late, LIMIT).size == stored.size
    assert decode(with_orientation(stored, 6), LIMIT).size == stored.size[::-1]  # before IDAT: turned
