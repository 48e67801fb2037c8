"""max-image-memorability.yaml agrees with the service it deploys."""
import yaml

import config
from app import create_app
from tests.imagegen import ROOT

MEASURED_PEAK_RSS = 1.94e9  # bytes, fp32 under 16 concurrent clients (README, "Speed")
UNITS = {"Mi": 1024 ** 2, "Gi": 1024 ** 3}


def documents():
    with open(ROOT / "max-image-memorability.yaml") as manifest:
        return {doc["kind"]: doc for doc in yaml.safe_load_all(manifest)}


def memory(text):
    return float(text[:-2]) * UNITS[text[-2:]]


def test_the_probes_ask_a_route_the_app_answers_on_the_container_port(resmem):
    docs = documents()
    container = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"][0]["containerPort"] == config.PORT
    client = create_app(model=resmem).test_client()
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        check = container[probe]["httpGet"]
        assert check["port"] == "http"
        assert client.get(check["path"]).status_code == 200, probe


def test_memory_is_sized_from_the_measured_resident_set():
    resources = documents()["Deployment"]["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert memory(resources["requests"]["memory"]) >= MEASURED_PEAK_RSS
    assert memory(resources["limits"]["memory"]) > memory(resources["requests"]["memory"])


def test_the_autoscaler_and_the_service_point_at_the_deployment():
    docs = documents()
    name = docs["Deployment"]["metadata"]["name"]
    labels = docs["Deployment"]["spec"]["template"]["metadata"]["labels"]
    target = docs["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", name)
    assert docs["Service"]["spec"]["selector"].items() <= labels.items()
    cpu = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
    threads = {e["name"]: e["value"] for e in docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert threads["TF_INTRA_OP_THREADS"] == cpu  # TensorFlow sized to the pod, not the node
