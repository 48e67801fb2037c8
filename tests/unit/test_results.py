"""Contract (no model): the output file: whole rows, resume, a cut-off line trimmed, foreign files
and a second run refused."""
import json
import os

import numpy as np
import pytest

from collection.items import Result
from collection.results import OutputError, ResultsFile, distribution, write_maps
from core.model.outputs import Scores


def score(value):
    """The Scores of a run of memorability alone."""
    return Scores({"memorability": value})


def results():
    return [Result(0, "a, b.jpg", score(0.75), 640, 480), Result(1, "c.txt", error='c.txt is "not" an image')]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_rows_round_trip_and_resume(tmp_path, suffix):
    path = tmp_path / f"out{suffix}"
    with ResultsFile(path) as out:
        assert out.done == {}
        out.write(results())
    with ResultsFile(path) as out:
        assert out.done == {"a, b.jpg": ({"memorability": 0.75}, None), "c.txt": (None, 'c.txt is "not" an image')}
    text = path.read_text()
    if suffix == ".csv":
        assert text == ('path,time,memorability,width,height,error\n"a, b.jpg",,0.75,640,480,\n'
                        'c.txt,,,,,"c.txt is ""not"" an image"\n')
    else:
        assert json.loads(text.splitlines()[1]) == {"path": "c.txt", "time": None, "memorability": None, "width": None,
                                                   "height": None, "error": 'c.txt is "not" an image'}
    with ResultsFile(path, overwrite=True) as out:
        assert out.done == {}


def test_a_cut_off_last_line_is_trimmed_and_scored_again(tmp_path):
    path = tmp_path / "out.csv"
    with ResultsFile(path) as out:
        out.write(results())
    with open(path, "a") as stream:
        stream.write("d.jpg,0.6")  # a power cut in the middle of a row
    with ResultsFile(path) as out:
        assert set(out.done) == {"a, b.jpg", "c.txt"}
        out.write([Result(2, "d.jpg", score(0.5), 10, 10)])
    assert path.read_text().endswith("c.txt is \"\"not\"\" an image\"\nd.jpg,,0.5,10,10,\n")


def test_a_file_that_is_not_ours_or_in_use_is_refused(tmp_path):
    foreign = tmp_path / "table.csv"
    foreign.write_text("name,score\n")
    with pytest.raises(OutputError, match="is not an output of this command"):
        ResultsFile(foreign)
    with ResultsFile(tmp_path / "out.csv"):
        with pytest.raises(OutputError, match="another run is writing to"):
            ResultsFile(tmp_path / "out.csv")


def test_maps_are_named_after_the_input(tmp_path):
    result = Result(0, "x/cat.jpg", score(0.7), name="x/cat.jpg", heatmap=np.array([[0.5, 0.25]]), overlay=b"\x89PNG")
    write_maps(tmp_path, result, "csv")
    assert (tmp_path / "x" / "cat.jpg.overlay.png").read_bytes() == b"\x89PNG"
    assert (tmp_path / "x" / "cat.jpg.heatmap.csv").read_text() == "0.5000,0.2500\n"
    assert not list(tmp_path.rglob("*.partial"))


def test_the_summary_distribution():
    assert distribution([None, 0.2, 0.4, 0.6, 0.8]) == pytest.approx(
        {"n": 4, "mean": 0.5, "median": 0.5, "q1": 0.35, "q3": 0.65})
    assert distribution([None]) is None


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_any_file_name_round_trips_and_no_formula_runs(tmp_path, suffix):
    names = [os.fsdecode(b"caf\xe9.jpg"), "two\nlines.jpg", 'a, "b".jpg', "=SUM(A1).jpg", "+1.jpg", "-x.jpg",
             "@me.jpg", "'quoted.jpg", "line\u2028sep.jpg", "plain.jpg"]
    path = tmp_path / f"out{suffix}"
    with ResultsFile(path) as out:
        out.write([Result(i, name, score(0.5), 1, 1) if i % 2 else Result(i, name, error=f"{name} is not an image")
                   for i, name in enumerate(names)])
    with ResultsFile(path) as out:
        assert set(out.done) == set(names)
        assert all(out.done[name][1] in (None, f"{name} is not an image") for name in names)
    raw = path.read_bytes()
    if suffix == ".csv":
        for name in ("=SUM(A1).jpg", "+1.jpg", "-x.jpg", "@me.jpg"):
            assert b"'" + name.encode() in raw, name  # a spreadsheet shows it, never runs it
        assert b"caf\xe9.jpg" in raw  # the name's own bytes
    else:
        raw.decode("utf-8")  # still UTF-8: the undecodable byte is escaped
        assert b"\\udce9" in raw


def test_a_video_is_a_row_per_frame_and_an_earlier_file_is_refused_with_a_reason(tmp_path):
    from collection.items import Frame
    from collection.results import OutputError

    path = tmp_path / "out.csv"
    with ResultsFile(path) as out:
        out.write([Result(0, "clip.mp4", None, 512, 384, frames=[Frame(0.0, score(0.7)), Frame(1.0, score(0.8))])])
    assert path.read_text() == ("path,time,memorability,width,height,error\n"
                                "clip.mp4,0.0,0.7,512,384,\nclip.mp4,1.0,0.8,512,384,\n")
    with ResultsFile(path) as out:
        assert set(out.done) == {"clip.mp4"}  # resumed as a whole
    old = tmp_path / "old.csv"
    old.write_text("path,memorability,width,height,error\na.jpg,0.5,1,1,\n")
    with pytest.raises(OutputError, match="earlier version of this command, without the time column"):
        ResultsFile(old)


FOREIGN = {"a,b\n1,2": ".csv", "\xff\xd8\xff\xe0\x00\x10JFIF\x00\n\x01\x02": ".csv", "name,score\nx,1\n": ".csv",
           '{"name": "x"}\n{"path": "cut': ".jsonl", "[1, 2]\n": ".jsonl", "plain text, no newline": ".jsonl",
           '{"path": "a.jpg", "score": 1}\n': ".jsonl"}


@pytest.mark.parametrize("content", FOREIGN)
def test_a_file_that_is_not_ours_is_left_byte_for_byte_even_with_overwrite(tmp_path, content):
    """Nothing is written before a file is known to be an output of this command (issue 40)."""
    path = tmp_path / f"theirs{FOREIGN[content]}"
    data = content.encode("latin-1")
    path.write_bytes(data)
    with pytest.raises(OutputError, match="is not an output of this command.*nothing was written"):
        ResultsFile(path)
    with pytest.raises(OutputError, match="--overwrite replaces only an output of this command.*delete it yourself"):
        ResultsFile(path, overwrite=True)
    assert path.read_bytes() == data


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_an_empty_file_our_header_alone_or_a_cut_first_line_is_ours(tmp_path, suffix):
    header = "path,time,memorability,width,height,error\n"
    cut = header[:14] if suffix == ".csv" else '{"path": "a.jpg", "ti'
    for content in ("", header, cut) if suffix == ".csv" else ("", cut):
        path = tmp_path / f"ours{suffix}"
        path.write_text(content)
        with ResultsFile(path) as out:
            assert out.done == {}
            out.write([Result(0, "b.jpg", score(0.5), 1, 1)])
        text = path.read_text()
        assert text.count("b.jpg") == 1
        assert (text.startswith(header) if suffix == ".csv" else text.startswith('{"path": "b.jpg"'))
        path.write_text(content)
        ResultsFile(path, overwrite=True).close()  # --overwrite takes it too


def test_json_lines_of_other_columns_are_refused_untouched(tmp_path):
    path = tmp_path / "stable.jsonl"
    with ResultsFile(path, stable=True) as out:
        out.write(results())
    with open(path, "a") as stream:
        stream.write('{"path": "d.jpg", "ti')  # cut short: trimmed only once the file is known to be ours
    data = path.read_bytes()
    with pytest.raises(OutputError, match="was written with --stable"):
        ResultsFile(path)
    assert path.read_bytes() == data
    with ResultsFile(path, stable=True) as out:
        assert set(out.done) == {"a, b.jpg", "c.txt"}
    assert path.read_bytes() == data[:data.rindex(b"\n") + 1]


@pytest.mark.parametrize("code", ["ENOSPC", "EDQUOT", "EFBIG"])
def test_a_write_that_finds_no_room_is_cut_back_to_whole_rows(tmp_path, monkeypatch, code):
    """A full disk writes part of a batch, then fails: the part is cut off, and NoRoomError says so."""
    import errno

    from collection.results import NoRoomError

    path = tmp_path / "out.csv"
    with ResultsFile(path) as out:
        out.write(results())
        before, write = path.read_bytes(), os.write

        def full(fd, data):
            monkeypatch.setattr(os, "write", lambda *_: (_ for _ in ()).throw(OSError(getattr(errno, code), code)))
            return write(fd, data[:7])  # part of the row, then no room

        monkeypatch.setattr(os, "write", full)
        with pytest.raises(NoRoomError, match=f"no room to write .*out.csv .{code}"):
            out.write([Result(2, "d.jpg", score(0.5), 10, 10)])
        monkeypatch.undo()
    assert path.read_bytes() == before
