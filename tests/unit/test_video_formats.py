"""Contract (no model): which container formats a video opens as, and that FFmpeg opens no other
file. FFmpeg's lists and playlists name other files: each is refused with a VideoError that
names its format, and the file it names, a FIFO here, is never opened (a FIFO that a reader
opens wakes the thread that waits on its other end). Every format the API documents opens."""
import io
import os
import threading

import pytest

from tests.settings import settings
from tests.videogen import clip

# docs/api.md's containers, each with a codec it holds: (muxer, codec, fps)
DOCUMENTED = [("mp4", "libx264", 10), ("mov", "libx264", 10), ("3gp", "libx264", 10), ("webm", "libvpx-vp9", 10),
              ("matroska", "libx264", 10), ("avi", "mpeg4", 10), ("mpegts", "libx264", 10),
              ("mpeg", "mpeg1video", 25), ("flv", "libx264", 10), ("ogg", "libvpx", 10), ("asf", "wmv2", 10),
              ("mxf", "mpeg2video", 25)]


# openat's number, by machine: a thread blocked in it shows it first in /proc/.../syscall.
OPENAT = {"x86_64": "257", "aarch64": "56"}.get(os.uname().machine)


class Fifo:
    """A FIFO at ``path``; ``opened()`` says whether anything opened it to read. Its writer thread
    blocks in openat until a reader opens the other end: whether it is still blocked there is read
    from /proc (an event, no grace period to wait out)."""

    def __init__(self, path):
        os.mkfifo(path)
        self.path, self.was_opened = path, threading.Event()
        self.thread = threading.Thread(target=self._wait, daemon=True)
        self.thread.start()
        while OPENAT and not self._blocked():  # ready once its writer waits for a reader
            self.thread.join(0.001)

    def _wait(self):
        fd = os.open(self.path, os.O_WRONLY)  # blocks until a reader opens the other end
        self.was_opened.set()
        os.close(fd)  # the reader reads the end of the file

    def _blocked(self):
        try:
            syscall = open(f"/proc/self/task/{self.thread.native_id}/syscall").read().split()
        except (OSError, TypeError):
            return False
        return bool(syscall) and syscall[0] == OPENAT

    def opened(self):
        if OPENAT is None:  # another machine: a grace period instead
            self.thread.join(1)
        elif not self._blocked():  # its openat returned: a reader came
            self.thread.join()
        opened = self.was_opened.is_set()
        if not opened:  # wake the writer ourselves, to end its thread
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            self.thread.join(5)
            os.close(fd)
        return opened


def refused(source, name, fragment):
    """VideoReader refuses ``source``, which is no video by its bytes; the message names its format."""
    from core.analyses.video import VideoError, VideoReader
    from core.inputs.kinds import VIDEO, classify

    with pytest.raises(VideoError) as caught:
        VideoReader(source, name, settings())
    assert fragment in str(caught.value)
    if hasattr(source, "seek"):
        source.seek(0)
    assert classify(source).kind != VIDEO


def test_an_ffconcat_upload_is_refused_without_opening_the_file_it_names(tmp_path, monkeypatch):
    """On an upload (bytes in memory), FFmpeg opened the list's file relative to the working directory."""
    monkeypatch.chdir(tmp_path)
    target = Fifo(tmp_path / "target.mp4")
    upload = io.BytesIO(b"ffconcat version 1.0\nfile target.mp4\n")
    refused(upload, "the upload", "the upload is in FFmpeg's format 'concat', which this server does not read")
    assert not target.opened()


def test_an_hls_playlist_is_refused_without_opening_its_segment(tmp_path):
    segment = Fifo(tmp_path / "segment.ts")
    playlist = tmp_path / "list.m3u8"
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:1.0,\n{segment.path}\n#EXT-X-ENDLIST\n")
    refused(str(playlist), "list.m3u8", "list.m3u8 is not a video")  # FFmpeg knows HLS by name only
    assert not segment.opened()


def test_an_image_sequence_name_is_refused_without_opening_its_images(tmp_path):
    """FFmpeg's image2 reads a name such as frame%d.png as the pattern of other files; the bytes
    alone decide here, and they are no video."""
    first = Fifo(tmp_path / "frame1.png")
    pattern = tmp_path / "frame%d.png"
    pattern.write_bytes(b"not a PNG at all\n" * 20)
    refused(str(pattern), "frame%d.png", "frame%d.png is not a video that FFmpeg can read")
    assert not first.opened()


@pytest.mark.parametrize("name, sibling, content, format_name", [
    ("subtitles.idx", "subtitles.sub", b"# VobSub index file, v7 (do not modify this line!)\nsize: 720x480\n"
                                       b"id: en, index: 0\ntimestamp: 00:00:01:000, filepos: 000000000\n", "vobsub"),
    ("clip.MLV", "clip.M00", b"MLVI" + (52).to_bytes(4, "little") + b"v2.0" + bytes(44), "mlv"),
])
def test_files_that_open_their_siblings_are_refused_without_opening_them(tmp_path, name, sibling, content, format_name):
    other = Fifo(tmp_path / sibling)
    (tmp_path / name).write_bytes(content)
    refused(str(tmp_path / name), name, f"{name} is in FFmpeg's format '{format_name}'")
    assert not other.opened()


def test_a_session_description_is_refused_before_it_binds_ports():
    """An SDP text made FFmpeg bind UDP ports for RTP (strace showed bind() on 5004 and 5005)."""
    sdp = b"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=video 5004 RTP/AVP 96\n" \
          b"a=rtpmap:96 H264/90000\n"
    refused(io.BytesIO(sdp), "the upload", "the upload is in FFmpeg's format 'sdp'")


def test_a_raw_stream_outside_the_formats_is_refused_by_name():
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="h264") as out:  # an elementary stream: no container
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for _ in range(10):
            for packet in stream.encode(av.VideoFrame(64, 64, "yuv420p")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    refused(io.BytesIO(buffer.getvalue()), "the upload", "the upload is in FFmpeg's format 'h264'")


@pytest.mark.parametrize("container, codec, fps", DOCUMENTED)
def test_every_documented_container_opens(tmp_path, container, codec, fps):
    from core.analyses.video import VideoReader

    data = clip(["astronaut.jpg"], seconds=1, fps=fps, container=container, codec=codec, size=(160, 128))
    path = tmp_path / f"clip.{container}"
    path.write_bytes(data)
    for source in (str(path), io.BytesIO(data)):
        with VideoReader(source, path.name, settings()) as video:
            assert video.container.format.name.split(",")[0] in (container, "mov", "matroska")
            assert list(video.played_at(video.sample_times(1))) and video.complete
