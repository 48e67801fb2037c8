"""Real video files for the tests, encoded here with PyAV from the sample photos."""
import io

import av
import numpy as np
from PIL import Image

from tests.imagegen import sample_rgb

SIZE = (512, 384)  # even sides, as yuv420p needs


def frame_of(name, size=SIZE):
    """The picture a clip holds for sample ``name``: the photo resized to the clip's size."""
    return sample_rgb(name).resize(size, Image.Resampling.LANCZOS)


def clip(names, seconds=2, fps=10, container="mp4", codec="libx264", size=SIZE, rotation=0, options=None):
    """Bytes of a video that shows each photo of ``names`` for ``seconds``. With ``rotation``
    (degrees counter-clockwise, a phone's display matrix) the frames are stored turned the other
    way, so that a player shows them upright."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        stored = size if rotation % 180 == 0 else size[::-1]
        stream = out.add_stream(codec, rate=fps, options=options or {"crf": "12"} if codec == "libx264" else options)
        stream.width, stream.height = stored
        stream.pix_fmt = "yuv420p"
        if rotation:
            stream.set_display_rotation(rotation)
        for name in names:
            picture = np.rot90(np.asarray(frame_of(name, size)), -rotation // 90)  # undone by the matrix
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")
            for _ in range(seconds * fps):
                for packet in stream.encode(frame):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def audio_only(seconds=1, container="wav"):
    """A WAV file (or a Matroska one, with container="matroska"): a sound, and no video stream."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        stream = out.add_stream("pcm_s16le", rate=8000, layout="mono")
        samples = (np.sin(np.arange(8000 * seconds) / 8) * 3000).astype(np.int16)[None]
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def decoded_frames(data):
    """[(time, RGB array)] of every frame of ``data``, decoded here by PyAV as a player would."""
    with av.open(io.BytesIO(data)) as container:
        return [(frame.time, frame.to_ndarray(format="rgb24")) for frame in container.decode(video=0)]


def numbered(count, fps=30, size=(160, 96), container="mp4", options=None):
    """Bytes of an H.264 clip of ``count`` frames, each a different picture (a bar moves over a
    gradient and the frame's number is drawn in binary), so that a test can tell which frame a
    sample shows. x264's defaults: B-frames, some of them referenced by none."""
    width, height = size
    base = np.tile(np.linspace(30, 220, width, dtype=np.uint8)[None, :, None], (height, 1, 3))
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        stream = out.add_stream("libx264", rate=fps, options=options or {"crf": "18"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(count):
            picture = base.copy()
            left = index * 5 % (width - 8)
            picture[:, left:left + 8] = (240, 40, 40)
            for bit in range(min(16, width // 8)):
                picture[height - 8:, bit * 8:bit * 8 + 8] = 255 if index >> bit & 1 else 0
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def _ts_packets(data):
    """(offset of each MPEG-TS packet's payload, whether a PES starts there) of ``data``."""
    for start in range(0, len(data) - 187, 188):
        flags = data[start + 3] >> 4 & 3
        payload = start + 4 + (1 + data[start + 4] if flags in (2, 3) else 0)
        yield payload, bool(data[start + 1] & 0x40)


def without_sps(data):
    """An H.264 MPEG-TS (``data``) with its sequence parameter sets made NAL units of an unused
    type: FFmpeg no longer knows the frames' size, and PyAV says 0x0."""
    data = bytearray(data)
    for payload, _ in _ts_packets(data):
        at = data.find(b"\x00\x00\x01\x67", payload, payload + 184)
        while at >= 0:
            data[at + 3] = 0x78  # forbidden bit 0, ref_idc 3, type 24: unspecified, ignored
            at = data.find(b"\x00\x00\x01\x67", at + 4, payload + 184)
    return bytes(data)


def without_timestamps(data):
    """An MPEG-TS (``data``) whose video frames have no timestamps but the first and the last
    (the duration stays known): each PES header's PTS and DTS become stuffing."""
    data = bytearray(data)
    starts = [payload for payload, unit in _ts_packets(data)
              if unit and data[payload:payload + 3] == b"\x00\x00\x01" and 0xE0 <= data[payload + 3] <= 0xEF]
    for pes in starts[1:-1]:
        data[pes + 7] &= 0x3F  # PTS_DTS_flags: none
        data[pes + 9:pes + 9 + data[pes + 8]] = b"\xff" * data[pes + 8]
    return bytes(data)
