"""Contract (the tiny bucket): `python -m score --crops --regions` gives each photo the crops and
region effects that /model/crops and /model/regions give the same file (the service under test, or
MAX_URL)."""
import json
import shutil

import pytest
import requests

from tests.imagegen import SAMPLES
from tests.score.conftest import read_rows, run_score

PHOTOS = ("rocket.jpg", "chelsea.jpg")
REGIONS = {"rocket.jpg": [{"name": "rocket", "box": [0.35, 0.1, 0.65, 0.9]},
                          {"name": "sky", "box": [0.0, 0.0, 1.0, 0.3]}],
           "chelsea.jpg": [{"name": "face", "box": [0.3, 0.2, 0.7, 0.8]}]}


@pytest.fixture
def folder(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in PHOTOS:
        shutil.copy(SAMPLES / name, photos / name)
    return photos


def test_crops_and_regions_columns_are_the_apis_answers(url, folder, tmp_path):
    marks = tmp_path / "regions.csv"
    marks.write_text("path,name,x0,y0,x1,y1\n" + "".join(
        f"{folder / photo},{r['name']},{','.join(map(str, r['box']))}\n" for photo, rs in REGIONS.items() for r in rs))
    out = tmp_path / "scores.csv"
    done = run_score(folder, "--out", out, "--crops", "1:1,16:9", "--regions", marks)
    assert done.returncode == 0, done.stderr
    rows = {row["path"].rsplit("/", 1)[-1]: row for row in read_rows(out)}
    for name in PHOTOS:
        data = (SAMPLES / name).read_bytes()
        crops = requests.post(f"{url}/model/crops", files={"image": (name, data)},
                              data={"ratios": "1:1,16:9", "top": "1"}, timeout=120).json()
        for ratio, column in zip(crops["ratios"], ("crop_1x1", "crop_16x9")):
            best = ratio["crops"][0]
            assert rows[name][column] == best["export"]["xywh"]
            assert float(rows[name][column + "_memorability"]) == pytest.approx(best["memorability"], abs=1e-5)
            assert float(rows[name][column + "_delta_vs_center"]) == pytest.approx(best["delta_vs_center"], abs=1e-5)
        measured = requests.post(f"{url}/model/regions", files={"image": (name, data)},
                                 data={"regions": json.dumps(REGIONS[name])}, timeout=120).json()
        columns = json.loads(rows[name]["regions"])
        assert [r["name"] for r in columns] == [r["name"] for r in measured["regions"]]
        for mine, theirs in zip(columns, measured["regions"]):
            assert mine["effect"] == pytest.approx(theirs["effect"], abs=1e-5) and mine["verdict"] == theirs["verdict"]

    again = run_score(folder, "--out", out, "--crops", "1:1")  # other columns: refused, nothing written
    assert again.returncode == 2 and "run with the same --stable, --crops, --regions and MODEL_OUTPUTS" in again.stderr


@pytest.mark.parametrize("content, suffix, message", [
    ("path,name,x0\nx,y,0\n", ".csv", "must be JSON (.json) or CSV with the header path,name,x0,y0,x1,y1"),
    ("path,name,x0,y0,x1,y1\na.jpg,logo,0.5,0,0.2,1\n", ".csv",
     "regions.csv: a.jpg[0].box [0.5, 0.0, 0.2, 1.0] is empty"),
    ('{"a.jpg": [{"name": "x", "box": [0, 0, 1]}]}', ".json", "a.jpg[0].box must be [x0, y0, x1, y1]"),
    ("[", ".json", "is not valid JSON"),
    ("[" * 5000, ".json", "is nested too deeply to be read as JSON"),
])
def test_a_bad_regions_file_stops_before_anything_is_scored(folder, tmp_path, content, suffix, message):
    marks = tmp_path / f"regions{suffix}"
    marks.write_text(content)
    done = run_score(folder, "--out", tmp_path / "scores.csv", "--regions", marks)
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_a_bad_ratio_stops_before_anything_is_scored(folder, tmp_path):
    done = run_score(folder, "--out", tmp_path / "scores.csv", "--crops", "1:0")
    assert done.returncode == 2 and "--crops: '1:0' is not a ratio W:H" in done.stderr
