"""Contract (the tiny bucket): max-image-memorability.yaml agrees with the service it deploys."""
import kubernetes_validate
import pytest
import yaml

import config
from app import create_app
from core.tiers import TIERS
from tests.imagegen import ROOT

# Bytes: each served tier's peak resident set under 16 concurrent clients (`make bench`, docs/performance.md).
# The server with both outputs (MODEL_OUTPUTS' default): 2,159 MiB in fp32, 642 MiB in lite-int8.
MEASURED_PEAK_RSS = {"fp32": 2159 * 2**20, "bf16": 2159 * 2**20, "lite-int8": 642 * 2**20}
UNITS = {"Mi": 1024 ** 2, "Gi": 1024 ** 3}


def documents():
    with open(ROOT / "max-image-memorability.yaml") as manifest:
        return {doc["kind"]: doc for doc in yaml.safe_load_all(manifest)}


def container():
    return documents()["Deployment"]["spec"]["template"]["spec"]["containers"][0]


def env():
    return {e["name"]: e["value"] for e in container()["env"]}


@pytest.mark.parametrize("kind", ["Service", "Deployment", "HorizontalPodAutoscaler"])
def test_each_resource_is_valid_against_the_kubernetes_schemas(kind):
    version = kubernetes_validate.latest_version()
    kubernetes_validate.validate(documents()[kind], version, strict=True)  # raises on any error


def memory(text):
    return float(text[:-2]) * UNITS[text[-2:]]


def test_the_probes_ask_a_route_the_app_answers_on_the_container_port(model):
    spec = container()
    assert spec["ports"][0]["containerPort"] == config.settings().PORT
    client = create_app(model=model).test_client()
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        check = spec[probe]["httpGet"]
        assert check["port"] == "http"
        assert client.get(check["path"]).status_code == 200, probe


def test_pre_stop_drains_readiness_before_sigterm(model, tmp_path):
    """The preStop command creates DRAIN_FILE, which fails the readiness route, and it waits
    longer than the probe takes to notice; the grace period covers that and gunicorn's stop."""
    spec = container()
    command = spec["lifecycle"]["preStop"]["exec"]["command"]
    assert command[:2] == ["/bin/sh", "-c"] and f"touch {config.settings().DRAIN_FILE}" in command[2]
    sleep = int(command[2].rsplit("sleep", 1)[1])
    probe = spec["readinessProbe"]
    assert sleep > probe["periodSeconds"] * probe["failureThreshold"] + probe["timeoutSeconds"]
    pod = documents()["Deployment"]["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] >= sleep + 30  # gunicorn.conf.py's graceful_timeout
    drain = tmp_path / "draining"
    client = create_app(model=model, DRAIN_FILE=str(drain)).test_client()
    assert client.get(probe["httpGet"]["path"]).status_code == 200
    drain.touch()
    assert client.get(probe["httpGet"]["path"]).status_code == 503


def test_memory_is_sized_from_the_tiers_measured_resident_set():
    precision = env()["MODEL_PRECISION"]
    assert precision in TIERS
    resources = container()["resources"]
    assert memory(resources["requests"]["memory"]) >= MEASURED_PEAK_RSS[precision]
    assert memory(resources["limits"]["memory"]) > memory(resources["requests"]["memory"])


def test_the_autoscaler_and_the_service_point_at_the_deployment():
    docs = documents()
    name = docs["Deployment"]["metadata"]["name"]
    labels = docs["Deployment"]["spec"]["template"]["metadata"]["labels"]
    target = docs["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", name)
    assert docs["Service"]["spec"]["selector"].items() <= labels.items()
    assert env()["MODEL_THREADS"] == container()["resources"]["requests"]["cpu"]  # sized to the pod, not the node
