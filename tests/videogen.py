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


def audio_only(seconds=1):
    """A WAV file: a sound, and no video stream."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="wav") as out:
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
