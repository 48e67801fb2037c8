"""Contract (the tiny bucket): a trained bucket is served by MODEL_BUCKET through the same
ModelWrapper and API."""
import requests

from core.model.bucket import open_bucket
from core.model.checksums import read_md5sums
from tests.imagegen import sample_bytes
from tests.server_process import running_server
from tests.settings import open_model
from tests.training.conftest import facts


def test_the_service_serves_a_trained_bucket_converting_its_runtime_in_a_child(bucket, tmp_path):
    cache = tmp_path / "models"  # empty: the server converts its fp32 runtime at start, in a child
    with running_server(MODEL_BUCKET=bucket, MODEL_CACHE=cache, MODEL_OUTPUTS="memorability") as (url, _):
        metadata = requests.get(f"{url}/model/metadata", timeout=10).json()
        response = requests.post(f"{url}/model/predict", timeout=60,
                                 files=[("image", ("coffee.jpg", sample_bytes("coffee.jpg"), "image/jpeg"))])
        explained = requests.post(f"{url}/model/explain", timeout=60,
                                  files={"image": ("coffee.jpg", sample_bytes("coffee.jpg"), "image/jpeg")})
    f = facts(bucket)
    (served,) = metadata["outputs"]
    assert {k: served[k] for k in ("id", "name", "license")} == {k: f[k] for k in ("id", "name", "license")}
    assert response.status_code == 200
    (score,) = [p["memorability"] for p in response.json()["predictions"]]
    (folder,) = [path for path in cache.iterdir() if path.is_dir()]  # and digests.json beside it
    assert folder.name == f"memnet-{open_bucket(bucket).weights_md5}"
    assert {"openvino.xml", "openvino.bin"} <= set(read_md5sums(folder / "md5sums.txt"))
    tuned = open_model(MODEL_BUCKET=str(bucket), MODEL_PRECISION="tf-fp32")
    expected = tuned.predict([sample_bytes("coffee.jpg")])[0]["memorability"]
    assert abs(score - expected) < 1e-6
    assert explained.status_code == 200 and abs(explained.json()["memorability"] - expected) < 1e-6
