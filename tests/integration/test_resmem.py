"""Fidelity (ResMem): the served ResMem over HTTP against the original package's golden scores
(`make reference`), and explain = predict on real photos. The contract tests of the same routes
run on the tiny bucket (test_api.py, test_explain.py)."""
import pytest
import requests

from tests.imagegen import REFERENCE, sample_bytes
from tests.integration.test_api import predict, scores


def test_metadata_names_resmem_and_its_licence(resmem_url):
    meta = requests.get(f"{resmem_url}/model/metadata", timeout=10).json()
    assert meta["id"] == "resmem" and meta["name"] == "ResMem"
    assert "resmem==1.1.6" in meta["source"]
    assert "Non-commercial" in meta["license"] and "noncommercial purposes only" in meta["license"]


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
