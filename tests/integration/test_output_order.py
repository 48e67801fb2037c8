"""Contract (the tiny buckets): the order of MODEL_OUTPUTS changes no answer. A server of
MODEL_OUTPUTS=false_alarm,memorability answers every route as the default server does, value by
value; `score` in this process and with --url writes the same rows, maps and summary (a resumed
run too); the page shows and exports the same. The map, the regions' top level, the crops, a
video's moments and its best clip are memorability's in both: they used to follow the first output
while still named memorability. (`score --ray`: tests/ray/test_ray_job.py.)"""
import json

import numpy as np
import pytest
import requests

from tests.imagegen import SAMPLES, sample_bytes
from tests.integration.browser import WORK
from tests.score.conftest import read_rows, run_score
from tests.videogen import clip

SWAPPED = {"MODEL_OUTPUTS": "false_alarm,memorability"}
REGIONS = [{"name": "left", "box": [0, 0, 0.5, 1]}, {"name": "sky", "box": [0, 0, 1, 0.35]}]
PHOTOS = [("image", (name, sample_bytes(name), "image/jpeg")) for name in ("rocket.jpg", "coffee.jpg")]
VIDEO = clip(["astronaut.jpg", "coffee.jpg", "rocket.jpg", "chelsea.jpg"], seconds=1, fps=4)


def post(url, route, form, files=None):
    """The JSON of a 200 from ``route``: rocket.jpg (or ``files``) and the ``form``."""
    files = files or [("image", ("rocket.jpg", sample_bytes("rocket.jpg"), "image/jpeg"))]
    response = requests.post(f"{url}/model/{route}", files=files, data=form, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def check_same(got, expected, where="answer"):
    """``got`` is ``expected``, field by field; numbers to 1e-6 (two processes, the same passes)."""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and set(got) == set(expected), (where, sorted(got), sorted(expected))
        for key in expected:
            check_same(got[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), where
        for index, (a, b) in enumerate(zip(got, expected)):
            check_same(a, b, f"{where}[{index}]")
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, abs=1e-6), where
    else:
        assert got == expected, where


@pytest.mark.parametrize("route, form, files", [
    ("predict", {"stable": "true"}, PHOTOS),
    ("explain", {"stable": "true"}, None),  # the map of memorability
    ("explain", {"output": "false_alarm"}, None),
    ("regions", {"regions": json.dumps(REGIONS), "stable": "true"}, None),  # top level and all_hidden
    ("crops", {"ratios": "1:1,16:9", "top": "2", "boxes": "[[0, 0, 300, 300]]", "stable": "true"}, None),
    ("crops", {"ratios": "16:9", "output": "false_alarm"}, None),
    ("video", {"fps": "4", "top": "2", "clip": "1"}, [("video", ("clip.mp4", VIDEO, "video/mp4"))]),  # moments, clip
    ("video", {"fps": "4", "top": "2", "clip": "1", "output": "false_alarm"},
     [("video", ("clip.mp4", VIDEO, "video/mp4"))]),
], ids=["predict", "explain", "explain-false-alarm", "regions", "crops", "crops-false-alarm", "video",
        "video-false-alarm"])
def test_every_route_answers_as_the_default(url, swapped_url, route, form, files):
    check_same(post(swapped_url, route, form, files), post(url, route, form, files), route)


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    """Two photos and a video, and regions marked on the photos (a --regions file)."""
    folder = tmp_path_factory.mktemp("order")
    (folder / "a.jpg").write_bytes(sample_bytes("astronaut.jpg"))
    (folder / "r.jpg").write_bytes(sample_bytes("rocket.jpg"))
    (folder / "v.mp4").write_bytes(clip(["coffee.jpg", "rocket.jpg", "chelsea.jpg"], seconds=1, fps=2))
    (folder.parent / "regions.json").write_text(json.dumps({str(folder / n): REGIONS for n in ("a.jpg", "r.jpg")}))
    return folder


def scored(folder, out, *flags, first=None, **env):
    """`score` of ``folder`` into ``out`` with ``flags``; with ``first``, a run of that file alone
    before, which the second resumes. The rows and the summary."""
    for paths in ([first] if first else []) + [folder]:
        done = run_score(paths, "--out", out, "--stable", "--quiet", "--summary-json", f"{out}.json", *flags, **env)
        assert done.returncode == 0, done.stderr
    return read_rows(out), json.loads(open(f"{out}.json").read())


def check_rows(got, expected, columns=None):
    """The same rows by column name (their order follows MODEL_OUTPUTS); the regions' JSON by field."""
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        for column in columns or b:
            x, y = a[column], b[column]
            if column == "regions" and y is not None:
                check_same(json.loads(x), json.loads(y), column)
            elif column in ("path", "error", "time") or y is None or "," in y:
                assert x == y, (column, a, b)
            else:
                assert float(x) == pytest.approx(float(y), abs=1e-6), (column, a, b)


def check_maps(got, expected):
    names = sorted(p.name for p in expected.iterdir())
    assert sorted(p.name for p in got.iterdir()) == names and any(".t" in name for name in names)  # a moment's too
    for name in names:
        if name.endswith(".npy"):
            np.testing.assert_allclose(np.load(got / name), np.load(expected / name), atol=1e-4, err_msg=name)


def test_score_writes_the_same_rows_maps_and_summary_here_and_by_url(collection, swapped_url, tmp_path):
    """In this process: the --crops and --regions columns (memorability's, by name), the maps of
    the photos and of a video's moment, and the summary of a resumed run (the rows it skips were
    read by the first output, mixed with memorability); by --url, the same rows and maps."""
    design = ("--crops", "1:1,16:9", "--regions", collection.parent / "regions.json")
    rows, summary = scored(collection, tmp_path / "default.csv", *design, "--maps", tmp_path / "default")
    here, here_summary = scored(collection, tmp_path / "here.csv", *design, "--maps", tmp_path / "here",
                                first=collection / "a.jpg", **SWAPPED)
    check_rows(here, rows)
    check_maps(tmp_path / "here", tmp_path / "default")
    check_same(here_summary["memorability"], summary["memorability"], "summary")
    served, served_summary = scored(collection, tmp_path / "url.csv", "--url", swapped_url, "--maps", tmp_path / "url")
    scores = ["memorability", "false_alarm", "mirror_delta", "false_alarm_mirror_delta"]
    check_rows(served, rows, ["path", "time", *scores])
    check_maps(tmp_path / "url", tmp_path / "default")
    check_same(served_summary["memorability"], summary["memorability"], "summary by --url")


def page_shows(browser, url):
    """What the page shows of rocket.jpg and a video on the server at ``url``: its CSV of the
    photos, the photo's map, the regions and crops that its tools export, the video's CSV, chart
    points, best clip and moments."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{url}/app")
        page.set_input_files("#files", [SAMPLES / "rocket.jpg"])
        expect(page.locator(".card .score.pending")).to_have_count(0, timeout=WORK)
        shown = {"photos": download(page, "Download CSV")}
        card = page.locator(".card").first
        card.get_by_role("button", name="Show map").click()
        expect(card.locator("img")).to_have_attribute("src", re_data_url(), timeout=WORK)
        shown["map"] = card.locator("img").get_attribute("src")
        card.get_by_role("button", name="Regions and crops").click()
        form = page.locator("#region-form")
        for region in REGIONS:
            form.get_by_label("Name").fill(region["name"])
            for field, value in zip(("x0", "y0", "x1", "y1"), region["box"]):
                form.get_by_label(field).fill(str(value))
            form.get_by_role("button", name="Add region").click()
        page.get_by_role("button", name="Measure regions").click()
        expect(page.locator("#region-results li")).to_have_count(2, timeout=WORK)
        for ratio in ("1:1 square", "4:5 feed", "9:16 story"):
            page.get_by_label(ratio).uncheck()
        page.get_by_role("button", name="Find crops").click()
        expect(page.locator("#crop-results section")).to_have_count(1, timeout=WORK)
        shown["design"] = json.loads(download(page, "Export JSON"))
        page.locator("#design-close").click()

        page.set_input_files("#files", [{"name": "clip.mp4", "mimeType": "video/mp4", "buffer": VIDEO}])
        video = page.locator(".card.video")
        expect(video.locator(".timeline")).to_be_visible(timeout=WORK)
        shown["points"] = [(p.get_attribute("data-time"), p.get_attribute("data-memorability"))
                           for p in video.locator(".timeline circle.point").all()]
        shown["clip"] = video.locator(".timeline rect.clip").get_attribute("data-start")
        shown["moments"] = video.locator("button.moment").evaluate_all("buttons => buttons.map(b => b.ariaLabel)")
        shown["csv"] = download(page, "Download CSV")
    finally:
        context.close()
    return shown


def download(page, button):
    with page.expect_download() as downloaded:
        page.get_by_role("button", name=button).click()
    return downloaded.value.path().read_text()


def re_data_url():
    import re

    return re.compile(r"^data:image/png;base64,")


def test_the_page_shows_the_same(browser, url, swapped_url):
    check_same(page_shows(browser, swapped_url), page_shows(browser, url), "page")


def test_a_videos_moments_clip_and_statistics_follow_output(url):
    """output=false_alarm: the moments are the frames of the highest false-alarm rate, named by it,
    and the clip and the statistics are of it; the timeline keeps every output."""
    answer = post(url, "video", {"fps": "4", "top": "2", "clip": "1", "output": "false_alarm"},
                  [("video", ("clip.mp4", VIDEO, "video/mp4"))])
    rates = {point["time"]: point["false_alarm"] for point in answer["timeline"]}
    assert all("memorability" in point for point in answer["timeline"])
    assert [set(moment) for moment in answer["moments"]] == [{"time", "false_alarm", "thumbnail"}] * 2
    assert max(rates.values()) == answer["moments"][0]["false_alarm"] == rates[answer["moments"][0]["time"]]
    assert answer["max"] == max(rates.values()) and "false_alarm" in answer["clip"]
