"""Fidelity (ResMem): decoding and preprocessing, checked pixel for pixel against what the original
does."""
import numpy as np
import pytest
from PIL import Image

from core.bucket import Preprocessing
from core.images import ImageError, decode_image, preprocess
from tests.imagegen import (NOT_IMAGES, ROOT, encode, jpeg_claiming_size, png_claiming_size,
                            sample_bytes, sample_rgb, sixteen_bit_grey_png, truncated,
                            with_orientation)
from tests.settings import settings

LIMIT = settings().MAX_IMAGE_PIXELS
RESMEM = Preprocessing(resize=(256, 256), interpolation="bilinear", crop=227, scale=1 / 255)


def pixels(image):
    return np.asarray(image, dtype=np.int16)


def test_preprocessing_matches_the_original_transformer_bit_for_bit():
    reference = np.load(ROOT / "tests/reference/resmem_branches.npz")
    image = decode_image(sample_bytes(str(reference["image"])), LIMIT)
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
            decode_image(data, LIMIT)
        return
    np.testing.assert_array_equal(pixels(decode_image(data, LIMIT)), pixels(rgb))


def test_gif_uses_its_first_frame():
    frames = [Image.new("RGB", (32, 32), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    image = decode_image(data, LIMIT)
    assert image.mode == "RGB" and image.getpixel((5, 5)) == (255, 0, 0)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_applied(orientation):
    rgb = sample_rgb("chelsea.jpg")
    decoded = decode_image(with_orientation(rgb, orientation), LIMIT)
    assert decoded.size == rgb.size
    np.testing.assert_array_equal(pixels(decoded), pixels(rgb))


def test_greyscale_palette_and_sixteen_bit_become_grey_rgb():
    grey = sample_rgb().convert("L")
    expected = pixels(grey.convert("RGB"))
    np.testing.assert_array_equal(pixels(decode_image(encode(grey, "PNG"), LIMIT)), expected)
    np.testing.assert_array_equal(pixels(decode_image(sixteen_bit_grey_png(grey), LIMIT)), expected)
    palette = sample_rgb().convert("P")
    np.testing.assert_array_equal(pixels(decode_image(encode(palette, "PNG"), LIMIT)),
                                  pixels(palette.convert("RGB")))


def test_transparent_pixels_show_on_white_and_opaque_alpha_changes_nothing():
    rgba = sample_rgb().convert("RGBA")
    np.testing.assert_array_equal(pixels(decode_image(encode(rgba, "PNG"), LIMIT)),
                                  pixels(sample_rgb()))
    clear = Image.new("RGBA", (20, 10), (0, 0, 0, 0))
    assert decode_image(encode(clear, "PNG"), LIMIT).getpixel((3, 3)) == (255, 255, 255)
    grey_alpha = Image.new("LA", (20, 10), (0, 0))
    assert decode_image(encode(grey_alpha, "PNG"), LIMIT).getpixel((3, 3)) == (255, 255, 255)


def test_cmyk_jpeg_becomes_rgb_close_to_the_original():
    rgb = sample_rgb("coffee.jpg")
    decoded = decode_image(encode(rgb.convert("CMYK"), "JPEG", quality=95), LIMIT)
    assert decoded.mode == "RGB" and decoded.size == rgb.size
    assert np.abs(pixels(decoded) - pixels(rgb)).mean() < 4


@pytest.mark.parametrize("name", sorted(NOT_IMAGES))
def test_non_images_are_refused(name):
    _, _, data = NOT_IMAGES[name]
    with pytest.raises(ImageError):
        decode_image(data, LIMIT)


def test_empty_truncated_and_bomb_uploads_are_refused_with_reasons():
    with pytest.raises(ImageError, match="empty"):
        decode_image(b"", LIMIT)
    with pytest.raises(ImageError, match="truncated or corrupt"):
        decode_image(truncated(sample_bytes("coffee.jpg")), LIMIT)
    with pytest.raises(ImageError, match="truncated or corrupt"):
        decode_image(truncated(encode(sample_rgb(), "PNG")), LIMIT)
    with pytest.raises(ImageError, match="too many pixels"):
        decode_image(png_claiming_size(40000, 40000), LIMIT)
    with pytest.raises(ImageError, match="too many pixels"):
        decode_image(jpeg_claiming_size(65000, 65000), LIMIT)


def test_extreme_aspect_ratios_and_tiny_images_are_fine():
    for size in ((1, 1), (20000, 1), (1, 3000)):
        image = decode_image(encode(Image.new("RGB", size, (10, 200, 10)), "PNG"), LIMIT)
        assert preprocess(image, RESMEM).shape == (227, 227, 3)


def test_a_big_jpeg_is_decoded_at_a_reduced_size_that_scores_the_same(resmem):
    big = sample_rgb("chelsea.jpg").resize((3000, 2000), Image.Resampling.LANCZOS)
    data = encode(big, "JPEG", quality=92)
    drafted = decode_image(data, LIMIT, draft_size=(512, 512))
    assert drafted.size == (1500, 1000)  # libjpeg's 1/2 scale: 1/4 would leave the short side under 512
    assert decode_image(data, LIMIT).size == (3000, 2000)
    assert decode_image(encode(big, "PNG"), LIMIT, draft_size=(512, 512)).size == (3000, 2000)
    full = resmem.predict([decode_image(data, LIMIT)])[0]["memorability"]
    served = resmem.predict([data])[0]["memorability"]  # the wrapper drafts at 2x its 256 resize
    assert abs(full - served) < 0.01
