"""Contract (no model): which files a collection holds, in which order, and where their maps go."""
import io

import pytest

from collection.inputs import InputError, check_paths, iter_inputs, map_name, map_root, read_list


def make(root, *names):
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")


def test_a_walk_is_sorted_recursive_and_skips_hidden(tmp_path):
    make(tmp_path, "b.jpg", "a/z.jpg", "a/b/c.png", "a/.DS_Store", ".git/config", "c.txt", "A.jpg")
    found = [(i.path, i.name) for i in iter_inputs([str(tmp_path)])]
    names = ["A.jpg", "a/b/c.png", "a/z.jpg", "b.jpg", "c.txt"]
    assert found == [(str(tmp_path / n), n) for n in names]


def test_files_folders_and_a_list_each_path_once(tmp_path):
    make(tmp_path, "d/x.jpg", "y.jpg")
    paths = [str(tmp_path / "y.jpg"), str(tmp_path / "d")]
    listed = [str(tmp_path / "d" / "x.jpg"), str(tmp_path / "z.jpg")]
    found = [i.path for i in iter_inputs(paths, listed)]
    assert found == [str(tmp_path / "y.jpg"), str(tmp_path / "d" / "x.jpg"), str(tmp_path / "z.jpg")]


def test_map_names_stay_inside_the_maps_folder():
    assert map_name("/data/stimuli/cat.jpg", "/") == "data/stimuli/cat.jpg"
    assert map_name("stimuli/a/cat.jpg", "stimuli") == "a/cat.jpg"
    assert map_name("./cat.jpg", ".") == "cat.jpg"
    assert ".." not in map_name("../photos/cat.jpg", "/elsewhere").split("/")  # never above the maps folder


def test_distinct_inputs_never_share_a_map_name(tmp_path, monkeypatch):
    """Issue 40: `score A/ B/ --maps maps/` wrote A/x.jpg's map and then B/x.jpg's over it. Maps
    are named relative to the folder that holds every input, folders kept."""
    make(tmp_path, "A/x.jpg", "B/x.jpg", "B/sub/x.jpg", "x.jpg", "C/x.jpg")
    names = {i.path: i.name for i in iter_inputs([str(tmp_path / "A"), str(tmp_path / "B"), str(tmp_path / "x.jpg")],
                                                 [str(tmp_path / "C" / "x.jpg")])}
    assert names == {str(tmp_path / n): n for n in ("A/x.jpg", "B/sub/x.jpg", "B/x.jpg", "x.jpg", "C/x.jpg")}
    assert [i.name for i in iter_inputs([str(tmp_path / "B")])] == ["sub/x.jpg", "x.jpg"]  # one folder: inside it
    monkeypatch.chdir(tmp_path / "B")
    assert [i.name for i in iter_inputs(["sub/x.jpg", "../A/x.jpg", "x.jpg"])] == ["B/sub/x.jpg", "A/x.jpg", "B/x.jpg"]
    # A list read once (stdin) cannot be known ahead: its maps are named by their absolute paths.
    streamed = iter_inputs(["x.jpg"], iter([str(tmp_path / "C" / "x.jpg")]))
    assert [i.name for i in streamed] == [str(tmp_path / n).lstrip("/") for n in ("B/x.jpg", "C/x.jpg")]
    assert map_root(["sub", "../A/x.jpg"], None) == "/" and map_root(["sub", "../A/x.jpg"]) == str(tmp_path)


def test_a_list_skips_blank_lines_and_keeps_spaces_in_names():
    assert list(read_list(io.StringIO("a.jpg\r\n\n  \nmy photo.jpg\n"))) == ["a.jpg", "my photo.jpg"]


def test_missing_command_line_paths_are_refused(tmp_path):
    with pytest.raises(InputError, match="no such file or folder: .*nowhere"):
        check_paths([str(tmp_path), str(tmp_path / "nowhere")])


def test_the_url_client_never_loads_tensorflow():
    """`python -m score --url` runs on a machine without the model: it must not import TF."""
    import subprocess
    import sys

    from tests.imagegen import ROOT

    code = ("import sys, score, collection, collection.remote, collection.local; "
            "sys.exit('tensorflow' in sys.modules or 'keras' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_a_walk_keeps_out_of_symlinked_folders_unless_asked_and_then_ends_a_loop(tmp_path):
    import os

    make(tmp_path, "a.jpg", "sub/b.jpg")
    os.symlink("..", tmp_path / "sub" / "loop")
    os.symlink(tmp_path / "a.jpg", tmp_path / "sub" / "link.jpg")
    os.mkfifo(tmp_path / "pipe")
    plain = [i.path for i in iter_inputs([str(tmp_path)])]
    assert plain == [str(tmp_path / n) for n in ("a.jpg", "pipe", "sub/b.jpg", "sub/link.jpg")]
    assert [i.path for i in iter_inputs([str(tmp_path)], follow_links=True)] == plain  # the loop: once
    assert all(i.walked for i in iter_inputs([str(tmp_path)]))
    assert not next(iter(iter_inputs([str(tmp_path / "a.jpg")]))).walked


def test_a_walk_never_yields_the_runs_own_files_by_any_name(tmp_path, monkeypatch):
    import os

    make(tmp_path, "a.jpg", "scores.csv", "maps/a.jpg.overlay.png", "summary.json", "b.jpg")
    os.link(tmp_path / "scores.csv", tmp_path / "hardlink.csv")
    os.symlink(tmp_path / "maps", tmp_path / "maps-link")
    monkeypatch.chdir(tmp_path)
    own = [str(tmp_path / "scores.csv"), "maps", "./summary.json", "later.json"]  # later.json: not there yet
    found = [i.path for i in iter_inputs(["."], ["./scores.csv", "c.jpg"], follow_links=True, exclude=own)]
    assert found == ["./a.jpg", "./b.jpg", "c.jpg"]
    assert list(iter_inputs(["maps", "scores.csv"], exclude=own)) == []
