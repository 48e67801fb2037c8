"""Contract (the tiny bucket): max-image-memorability-kserve.yaml, the service as a KServe
InferenceService's custom predictor: valid against the InferenceService schema (the kserve SDK's
models, in .venv-clients: tests/oip/kserve_schema.py) and its pod against Kubernetes' own; the
pod of max-image-memorability.yaml field for field, but for the probes, which ask the Open
Inference Protocol's health routes and mean the same."""
import json
import subprocess

import kubernetes_validate
import yaml

import config
from app import create_app
from tests.imagegen import ROOT
from tests.unit.test_manifest import container, dockerfile_stages, documents, hardening_gaps, pod

MANIFEST = ROOT / "max-image-memorability-kserve.yaml"
CLIENTS = ROOT / ".venv-clients" / "bin" / "python"
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
# The predictor's own fields (KServe's ComponentExtensionSpec), beside those of a Kubernetes PodSpec.
KSERVE_FIELDS = {"minReplicas", "maxReplicas", "scaleMetric", "scaleTarget", "containerConcurrency", "timeout"}


def inference_service():
    (doc,) = yaml.safe_load_all(MANIFEST.read_text())
    return doc


def predictor():
    return inference_service()["spec"]["predictor"]


def predictor_pod():
    return {key: value for key, value in predictor().items() if key not in KSERVE_FIELDS}


def test_it_is_valid_against_the_inference_service_schema():
    assert CLIENTS.exists(), f"{CLIENTS} is missing: `make .venv-clients/.installed` makes it"
    done = subprocess.run([str(CLIENTS), str(ROOT / "tests" / "oip" / "kserve_schema.py"), str(MANIFEST)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_the_checker_finds_what_is_wrong(tmp_path):
    """The schema check is not a rubber stamp: a misspelt field, a wrong type and a missing name fail it."""
    text = MANIFEST.read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("runAsGroup", "runAsGrop").replace("- name: kserve-container", "- nom: x")
                   .replace("minReplicas: 1", "minReplicas: one"))
    done = subprocess.run([str(CLIENTS), str(ROOT / "tests" / "oip" / "kserve_schema.py"), str(bad)],
                          capture_output=True, text=True, timeout=120)
    found = "\n".join(json.loads(done.stdout))
    assert "runAsGrop: no such field" in found and "nom: no such field" in found
    assert "minReplicas: 'one' is not int" in found and "name\n  Field required" in found


def test_its_pod_is_valid_against_the_kubernetes_schemas():
    as_pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "predictor"}, "spec": predictor_pod()}
    kubernetes_validate.validate(as_pod, kubernetes_validate.latest_version(), strict=True)


def test_it_runs_the_deployments_pod_with_the_protocols_probes():
    mine, theirs = predictor_pod(), pod()
    for key in ("securityContext", "automountServiceAccountToken", "terminationGracePeriodSeconds", "volumes"):
        assert mine[key] == theirs[key], key
    (spec,) = mine["containers"]
    assert spec["name"] == "kserve-container"
    for key in ("image", "imagePullPolicy", "securityContext", "env", "volumeMounts", "resources", "lifecycle"):
        assert spec[key] == container()[key], key
    assert spec["ports"] == [{"containerPort": container()["ports"][0]["containerPort"], "protocol": "TCP"}]
    for probe in PROBES:
        ours, deployment = dict(spec[probe]), dict(container()[probe])
        assert ours.pop("httpGet") == {"path": {"/ready": "/v2/health/ready", "/live": "/v2/health/live"}[
            deployment.pop("httpGet")["path"]], "port": config.settings().PORT}
        assert ours == deployment, probe
    assert hardening_gaps(mine, dockerfile_stages()["serve"]["user"]) == []


def test_it_scales_as_the_deployment_does():
    autoscaler = documents()["HorizontalPodAutoscaler"]["spec"]
    assert (predictor()["minReplicas"], predictor()["maxReplicas"]) == (autoscaler["minReplicas"],
                                                                        autoscaler["maxReplicas"])
    target = autoscaler["metrics"][0]["resource"]
    assert (predictor()["scaleMetric"], predictor()["scaleTarget"]) == (target["name"],
                                                                        target["target"]["averageUtilization"])
    annotations = inference_service()["metadata"]["annotations"]
    assert annotations["serving.kserve.io/deploymentMode"] == "RawDeployment"


def test_the_probes_are_answered_and_readiness_drains(model, tmp_path):
    (spec,) = predictor()["containers"]
    drain = tmp_path / "draining"
    client = create_app(model=model, DRAIN_FILE=str(drain)).test_client()
    for probe in PROBES:
        assert client.get(spec[probe]["httpGet"]["path"]).status_code == 200, probe
    command = spec["lifecycle"]["preStop"]["exec"]["command"][2]
    assert f"touch {config.settings().DRAIN_FILE}" in command
    drain.touch()
    assert client.get(spec["readinessProbe"]["httpGet"]["path"]).status_code == 503
    assert client.get(spec["livenessProbe"]["httpGet"]["path"]).status_code == 200
