"""The one path from an input to the network's input, shared by every way in.

    pipeline = InputPipeline.from_settings(bucket.preprocessing, settings)
    photo = pipeline.prepare(source, "image 1")   # bytes, a path, a PIL image or an RGB array
    photo.x                                       # float32 H x W x 3: what the network sees

``/model/predict``, ``/model/explain``, the page, ``python -m score`` (in-process and with
``--maps``), the ``Scorer`` API, ``training.label``, ``training.evaluate`` and the training
input pipeline all come through here, so a photo gives the same array, and the same score,
whichever way it arrives. The steps, in order:

    classify    core/inputs/kinds.py: image, video or neither, from the first bytes
    decode      core/inputs/images.py: identify by the bytes, the pixel limit from the header, the
                JPEG draft (libjpeg decodes big JPEGs at 1/2, 1/4 or 1/8 scale, never below
                twice the bucket's resize), the EXIF orientation, any mode to 8-bit RGB
    preprocess  the bucket's own preprocessing facts (core.model.bucket.Preprocessing): resize,
                centre crop, scale, mean and std

The score then comes from ``ModelWrapper`` (batcher -> the tier's runtime), and a map from
``core.analyses.explain.map_photo``.
"""
import contextlib
import os
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from core.inputs.budget import shared_budget
from core.inputs.files import check_size, open_file
from core.inputs.images import ImageError, decode_sized, preprocess, resized, to_rgb
from core.inputs.kinds import IMAGE, classify, image_refusal


@dataclass
class Photo:
    image: Image.Image  # RGB, as displayed; at reduced size when the JPEG draft applied
    size: tuple  # (width, height) as displayed, at full size: what a map is laid over
    x: np.ndarray  # the network's input, float32 H x W x 3
    x_mirror: np.ndarray = None  # with mirror=True: the input of the photo mirrored left-right
    source: object = None  # what it was decoded from, kept only where it is decoded again (crops)


class InputPipeline:
    """Decoding and preprocessing with one bucket's facts and one set of limits."""

    def __init__(self, spec, max_pixels, jpeg_draft, max_bytes, budget=None):
        self.spec = spec  # core.model.bucket.Preprocessing
        self.max_pixels = max_pixels
        self.budget = budget  # core.inputs.budget.PixelBudget shared by the process's decodes, or None
        self.max_bytes = max_bytes  # of one image file on disk (MAX_IMAGE_BYTES)
        # Decode big JPEGs at no less than twice the resize: the resized pixels barely change
        # (max |diff| 0.0057 on the score; docs/performance.md).
        self.draft_size = tuple(2 * side for side in spec.resize) if jpeg_draft else None

    @classmethod
    def from_settings(cls, spec, settings):
        return cls(spec, settings.MAX_IMAGE_PIXELS, settings.JPEG_DRAFT, settings.MAX_IMAGE_BYTES,
                   shared_budget(settings.MAX_DECODE_PIXELS))

    def decode(self, source, name="image", reserve=None, shortest_cut=None, copies=0):
        """(RGB PIL image as displayed, its full displayed (width, height)) of ``source``:
        bytes, a path, a PIL image or an H x W x 3 uint8 RGB array (a video frame). A file's
        pixels are reserved with ``reserve`` (a budget's lease) before they are decoded. With
        ``shortest_cut`` the JPEG draft is sized for a piece of that shortest side, not for the
        whole photo; ``copies``: RGB copies of the picture the caller will hold beside it, reserved
        with the decode (core.inputs.images.decode_sized)."""
        if isinstance(source, Image.Image):
            return to_rgb(source), source.size
        if isinstance(source, np.ndarray):
            if source.dtype != np.uint8 or source.ndim != 3 or source.shape[2] != 3:
                raise ImageError(f"{name} is not an H x W x 3 array of 8-bit RGB")
            return Image.fromarray(source, "RGB"), (source.shape[1], source.shape[0])
        if isinstance(source, (str, os.PathLike)):  # Pillow reads the file itself: header first
            with open_file(source, name) as stream:  # its kind first: a video is not refused for its size
                self._check_kind(stream, name)
                check_size(name, os.fstat(stream.fileno()).st_size, self.max_bytes)
                return decode_sized(stream, self.max_pixels, name, self.draft_size, reserve, shortest_cut, copies)
        self._check_kind(source, name)
        return decode_sized(bytes(source), self.max_pixels, name, self.draft_size, reserve, shortest_cut, copies)

    @staticmethod
    def _check_kind(source, name):
        """NotAnImage unless the bytes of ``source`` are an image (core/inputs/kinds.py): a video
        or a README is refused before Pillow reads it, with what it is."""
        kind = classify(source, name)
        if kind.kind != IMAGE:
            raise image_refusal(kind, name)

    @contextlib.contextmanager
    def _lease(self):
        """A lease of the decode budget while one photo is decoded and preprocessed."""
        if self.budget is None:
            yield None
        else:
            with self.budget.lease() as reserve:
                yield reserve

    def prepare(self, source, name="image", mirror=False, keep_image=True):
        """The Photo of ``source``; ImageError, whose message calls it ``name``, if it cannot be.
        With ``mirror`` it also holds the input of the photo mirrored left-right (MODEL_TTA).
        Its decode waits for its pixels in the process's budget (MAX_DECODE_PIXELS), and what
        is kept of the picture is decided before the budget is given back: ``keep_image`` True
        keeps it as decoded, False drops it (``image`` is None: a score needs the network input
        alone), a number keeps it at most that many pixels a side (an overlay's)."""
        with self._lease() as reserve:
            image, size = self.decode(source, name, reserve)
            photo = Photo(image, size, preprocess(image, self.spec))
            photo = self.with_mirror(photo) if mirror else photo
            if keep_image is False:
                photo.image = image = None
            elif keep_image is not True:
                if image is source:  # a caller's own PIL image: never shrunk in its hands
                    image = image.copy()
                image.thumbnail((keep_image, keep_image), Image.Resampling.LANCZOS)
                photo.image = image
            return photo

    @contextlib.contextmanager
    def for_cuts(self, source, photo, shortest_cut, name="image"):
        """``photo`` (as ``prepare`` made it from ``source``) with a picture to cut crops from:
        decoded again, at the scale that a crop whose shortest side is ``shortest_cut`` full-size
        pixels keeps twice the bucket's resize, as the JPEG draft keeps a whole photo; a crop then
        scores as it does sent as a file of its own. A JPEG is drafted to that scale by libjpeg;
        any other format is decoded whole and shrunk once, by the largest whole factor that keeps
        it (``Image.reduce``, a box filter, as thumbor and imgproxy shrink before they cut). The
        network input stays ``photo``'s, so the photo scores as /model/predict scores it. The
        decode, the shrunk picture and the one crop cut at a time (``crop``) are all reserved in
        the process's budget; once the picture is made, only it and one crop stay reserved, until
        the block ends."""
        with self._lease() as reserve:
            image, _ = self.decode(source, name, reserve, shortest_cut, copies=2)
            if self.draft_size and shortest_cut:
                scale = image.width / photo.size[0]  # below 1 after a JPEG draft
                factor = int(shortest_cut * scale // max(self.draft_size))
                if factor > 1:
                    image = image.reduce(factor)
            if reserve is not None:  # from now on: the picture and the one crop being cut, in RGB
                reserve.shrink_to(2 * image.width * image.height)
            yield Photo(image, photo.size, photo.x, photo.x_mirror)

    def with_mirror(self, photo):
        """``photo`` with ``x_mirror``. The photo is mirrored before the preprocessing, not the
        crop after it: ResMem's centre crop sits 14 px from the left and 15 from the right, so
        only this makes a photo's mirror score exactly as the mirrored photo sent alone."""
        if photo.x_mirror is not None:
            return photo
        return Photo(photo.image, photo.size, photo.x, preprocess(ImageOps.mirror(photo.image), self.spec))

    def crop(self, photo, box, mirror=False):
        """The Photo of ``box`` (x, y, w, h in pixels of the photo as displayed, full size) cut
        from the decoded ``photo`` and preprocessed as any upload is: what a crop scores. Its
        picture is dropped once its network input is made (``image`` is None): the crops of a
        search are cut one at a time, and only the cut being made is held (one copy, reserved
        by ``for_cuts``)."""
        x, y, w, h = box
        sx, sy = photo.image.width / photo.size[0], photo.image.height / photo.size[1]  # a draft, a shrink
        image = photo.image.crop((round(x * sx), round(y * sy), round((x + w) * sx), round((y + h) * sy)))
        cropped = Photo(image, (w, h), preprocess(image, self.spec))
        cropped = self.with_mirror(cropped) if mirror else cropped
        cropped.image = None
        return cropped

    def resized(self, source, name="image"):
        """uint8 pixels of ``source`` decoded and resized, before the crop: what the training
        pipeline augments (a random crop and flip) or centre-crops as ``prepare`` does."""
        with self._lease() as reserve:
            return resized(self.decode(source, name, reserve)[0], self.spec)
