"""Videos: frames sampled by presentation time, decoded by PyAV (FFmpeg), each frame then one
more input of the one pipeline (core/inputs/pipeline.py) as an RGB array.

    with VideoReader(path_or_file, "the upload", settings) as video:
        for time, rgb in video.played_at(video.sample_times(fps=1)):   # streamed, never all held
            ...
        video.complete                # False when the file ended early or broke mid-way

A sample at time t is the frame shown at t: the last frame whose presentation time is at most t
(times count from the stream's start). The display matrix (a phone's rotation) is applied, as
EXIF is for photos. Frames are converted to RGB at full size, so a frame scores exactly as the
same picture sent to /model/predict as a PNG. Everything that can go wrong with untrusted bytes
raises VideoError, whose message is safe to show to the client. What FFmpeg may do (the container
formats, nothing else opened, the frames a pass reads, its threads, the frames it need not decode)
is core/inputs/video_frames.py; the moments and their thumbnails, core/analyses/video_moments.py.
"""
import contextlib
import contextvars
import itertools
import math
from concurrent.futures import ThreadPoolExecutor

import av
import numpy as np

from core.analyses.video_moments import Thumbnails, best_clip, cut_short, moments
from core.inputs.deadline import Abandoned  # whoever asked is gone: the timeline stops (one class for every wait)
from core.inputs.images import ImageError
from core.inputs.kinds import VIDEO, classify, video_refusal
from core.inputs.video_frames import EPSILON, VideoError, frames, open_container, set_threads

__all__ = ["VideoError", "Abandoned", "VideoReader", "Thumbnails", "moments", "cut_short", "best_clip"]


class VideoReader:
    """One video file, checked against the limits of ``settings`` (config.Settings) on opening.
    ``passes``, ``packets`` and ``decoded`` count its decoding (core/inputs/video_frames.py)."""

    def __init__(self, source, name, settings):
        self.name, self.settings, self.complete = name, settings, True
        self.size = None  # (width, height) of the frames as displayed, once one is decoded
        self.passes = self.packets = self.decoded = 0
        try:  # its bytes decide, as for every input; FFmpeg would open a JPEG as a one-frame "video"
            kind = classify(source, name)
        except ImageError as error:  # empty, unreadable, not a regular file
            raise VideoError(str(error)) from None
        if kind.kind != VIDEO:
            raise video_refusal(kind, name)
        self.container, self.file = open_container(source, name)
        try:
            self._check()
        except BaseException:
            self.close()
            raise

    def _check(self):
        if not self.container.streams.video:
            raise VideoError(f"{self.name} has no video stream (is it audio only?)")
        self.stream = stream = self.container.streams.video[0]
        if stream.codec_context is None or not stream.codec_context.name:
            raise VideoError(f"{self.name} has a video codec that this server cannot decode")
        set_threads(stream, self.settings.MODEL_THREADS)
        self.start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        if stream.duration is not None:
            self.duration = float(stream.duration * stream.time_base)
        elif self.container.duration is not None:
            self.duration = self.container.duration / av.time_base
        else:
            self.duration = 0.0
        limits = self.settings
        if not self.duration > 0:
            raise VideoError(f"{self.name} has no duration: no frame to score")
        if self.duration > limits.MAX_VIDEO_SECONDS:
            raise VideoError(f"{self.name} lasts {self.duration:.1f} s; the limit is "
                             f"{limits.MAX_VIDEO_SECONDS} s (MAX_VIDEO_SECONDS)")
        if stream.frames > limits.MAX_VIDEO_DECODE_FRAMES:  # as its header says; 0 when it does not
            raise VideoError(f"{self.name} has {stream.frames} frames; the limit is "
                             f"{limits.MAX_VIDEO_DECODE_FRAMES} (MAX_VIDEO_DECODE_FRAMES)")
        width, height = stream.codec_context.width, stream.codec_context.height
        if not width or not height:  # an H.264 stream without its SPS, say: PyAV says 0x0
            raise VideoError(f"{self.name} has frames of unknown size ({width}x{height}): its video "
                             "stream lacks the headers that say it; it is cut short or corrupt")
        self.frame_pixels = width * height  # what a chunk reserves a frame; a larger frame ends the video
        if width * height > limits.MAX_IMAGE_PIXELS:
            raise VideoError(f"{self.name} has frames of {width}x{height}: too many pixels "
                             f"(the limit is {limits.MAX_IMAGE_PIXELS})")

    def sample_times(self, fps):
        """0, 1/fps, 2/fps, ... before the end; VideoError if there are more than MAX_VIDEO_FRAMES."""
        count = max(1, math.ceil(self.duration * fps - EPSILON))
        if count > self.settings.MAX_VIDEO_FRAMES:
            raise VideoError(f"{self.name} at {fps:g} frames a second gives {count} frames; the limit "
                             f"is {self.settings.MAX_VIDEO_FRAMES} (MAX_VIDEO_FRAMES): ask for fewer")
        return [k / fps for k in range(count)]

    def played_at(self, times):
        """(t, RGB array as displayed) of the frame shown at each of the sorted ``times``,
        decoded in one pass. A file that ends or breaks early yields what it could and leaves
        ``complete`` False."""
        times = list(times)
        index, shown = 0, None
        try:
            for frame in frames(self, times):
                if frame.width * frame.height > self.frame_pixels:  # larger than its header said
                    self.complete = False
                    break
                if frame.time is None:
                    continue
                t = frame.time - self.start
                while index < len(times) and t > times[index] + EPSILON:
                    yield times[index], self._rgb(shown if shown is not None else frame)
                    index += 1
                if index == len(times):
                    return
                shown = frame
        except (av.FFmpegError, MemoryError):
            self.complete = False  # corrupt or cut short: what was shown so far stands
        if shown is None:
            self.complete = False
            return
        last = shown.time - self.start + self._frame_seconds()
        while index < len(times) and times[index] < last:  # the last frame stays on screen
            yield times[index], self._rgb(shown)
            index += 1
        self.complete = self.complete and index == len(times)

    def _frame_seconds(self):
        rate = self.stream.average_rate or self.stream.guessed_rate
        return float(1 / rate) if rate else 0.0

    def frame_at(self, t):
        """The RGB array of the frame shown at ``t``, found again by seeking: a decoding pass
        of its own (for the maps of a video's moments)."""
        target = self.start + t
        for offset in (target, self.start):  # a keyframe at or before t; else from the start
            try:
                self.container.seek(int(offset / self.stream.time_base), stream=self.stream, backward=True)
                shown = None
                for frame in frames(self, [t]):
                    if frame.time is not None and frame.time > target + EPSILON:
                        break
                    shown = frame
            except av.FFmpegError:
                shown = None
            if shown is not None:
                return self._rgb(shown)
        raise VideoError(f"{self.name} could not be decoded again at {t:g} s")

    def timeline(self, model, fps, stable=False, each=None):
        """[(time, prediction)] of the frames sampled at ``fps``, each scored as a photo by
        ``model`` (core.model.wrapper.ModelWrapper). Frames go to the model BATCH_SIZE at a time, so that
        other requests' photos are scored between the chunks and no more frames are held.
        Inside a request (core/inputs/deadline.py) each chunk's wait for passes stops the work with
        Abandoned once its client has hung up, saying how many frames were scored. A chunk's
        frames are reserved in the process's decode budget (MAX_DECODE_PIXELS) before they are
        decoded, and a chunk holds no more frames than the budget: videos share it with photos.
        ``each(index, rgb, prediction)`` sees every scored frame before it is dropped
        (Thumbnails.offer)."""
        scored = []
        samples = self.played_at(self.sample_times(fps))
        budget = model.pipeline.budget
        per_chunk = max(1, min(model.settings.BATCH_SIZE, budget.limit // self.frame_pixels if budget else 1 << 30))

        def take():
            held = budget.acquire(per_chunk * self.frame_pixels) if budget else 0
            try:
                return list(itertools.islice(samples, per_chunk)), held
            except BaseException:
                if budget:
                    budget.release(held)
                raise

        # The next chunk is decoded while this one is scored: FFmpeg and the runtime overlap,
        # and at most two chunks of frames are held.
        # The decode thread works for the same request: its budget waits keep the request's class,
        # deadline and client (core/inputs/deadline.py), which a pool thread would not carry.
        context = contextvars.copy_context()
        with ThreadPoolExecutor(1, "decode") as pool:
            coming = pool.submit(context.run, take)
            try:
                while True:
                    chunk, held = coming.result()
                    coming = None
                    try:
                        if not chunk:
                            return scored
                        coming = pool.submit(context.run, take)
                        try:
                            predictions = model.predict([rgb for _, rgb in chunk], stable)
                        except Abandoned:  # its request's client hung up (core/inputs/deadline.py)
                            raise Abandoned(f"{self.name}: stopped after {len(scored)} frames, its client is "
                                            "gone") from None
                        if each is not None:
                            for index, ((_, rgb), prediction) in enumerate(zip(chunk, predictions), len(scored)):
                                each(index, rgb, prediction)
                        scored += [(t, prediction) for (t, _), prediction in zip(chunk, predictions)]
                        self.size = self.size or (chunk[0][1].shape[1], chunk[0][1].shape[0])
                    finally:
                        del chunk
                        if budget:
                            budget.release(held)
            finally:
                if coming is not None and budget:  # the chunk decoded ahead, not to be scored
                    # A decode that failed gave its pixels back itself; its error is the chunk's, not ours.
                    with contextlib.suppress(Exception):
                        budget.release(coming.result()[1])

    @staticmethod
    def _rgb(frame):
        """Full-size 8-bit RGB, turned as the display matrix says (its angle is counter-clockwise)."""
        rgb = frame.to_ndarray(format="rgb24")
        turns = round((frame.rotation or 0) / 90) % 4
        return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb

    def close(self):
        self.container.close()
        if self.file is not None:
            self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
