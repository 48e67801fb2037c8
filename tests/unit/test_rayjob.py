"""Contract (no model): max-image-memorability-rayjob.yaml agrees with the Ray job it runs and with
Kubernetes.

Its pods are checked against the Kubernetes schemas, as max-image-memorability.yaml's are. The
RayJob around them is a KubeRay custom resource whose CRD schema is not available offline here,
so its fields are checked against the KubeRay v1 fields this manifest may use (RAYJOB below).
"""
import re
import shlex

import jsonschema
import kubernetes_validate
import pytest
import yaml

import config
import score
from collection.cluster import FETCH_CPUS
from tests.imagegen import ROOT

STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
GROUP = {"type": "object", "required": ["rayStartParams", "template"],
         "properties": {"rayStartParams": STRINGS, "template": {"type": "object"}}}
RAYJOB = {  # the KubeRay ray.io/v1 RayJob fields used, with their types (KubeRay's API reference)
    "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "ray.io/v1"}, "kind": {"const": "RayJob"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {"type": "object", "additionalProperties": False, "required": ["entrypoint", "rayClusterSpec"],
                 "properties": {
                     "entrypoint": {"type": "string"}, "shutdownAfterJobFinishes": {"type": "boolean"},
                     "ttlSecondsAfterFinished": {"type": "integer", "minimum": 0},
                     "backoffLimit": {"type": "integer", "minimum": 0},
                     "rayClusterSpec": {
                         "type": "object", "additionalProperties": False, "required": ["headGroupSpec"],
                         "properties": {
                             "rayVersion": {"type": "string"}, "headGroupSpec": GROUP,
                             "workerGroupSpecs": {"type": "array", "items": {
                                 **GROUP, "required": ["groupName", "rayStartParams", "template"],
                                 "properties": {**GROUP["properties"], "groupName": {"type": "string"},
                                                "replicas": {"type": "integer"}, "minReplicas": {"type": "integer"},
                                                "maxReplicas": {"type": "integer"}}}}}}}}}}


def rayjob():
    with open(ROOT / "max-image-memorability-rayjob.yaml") as manifest:
        return yaml.safe_load(manifest)


def groups():
    spec = rayjob()["spec"]["rayClusterSpec"]
    return [spec["headGroupSpec"]] + spec["workerGroupSpecs"]


def test_the_rayjob_has_kuberays_shape():
    jsonschema.validate(rayjob(), RAYJOB)


@pytest.mark.parametrize("group", [0, 1], ids=["head", "workers"])
def test_each_pod_template_is_valid_against_the_kubernetes_schemas(group):
    template = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "check"},
                "template": groups()[group]["template"]}
    kubernetes_validate.validate(template, kubernetes_validate.latest_version(), strict=True)


def test_the_ray_version_is_the_pinned_one_and_the_image_has_ray():
    pinned = re.search(r"^ray\[data\]==(\S+)", (ROOT / "requirements-ray.txt").read_text(), re.M).group(1)
    assert rayjob()["spec"]["rayClusterSpec"]["rayVersion"] == pinned
    for group in groups():
        for container in group["template"]["spec"]["containers"]:
            assert container["image"].split(":")[0].endswith("max-image-memorability-ray")
            assert container["workingDir"] == "/workspace"  # the Dockerfile's WORKDIR: the project
    assert "FROM serve AS ray" in (ROOT / "Dockerfile").read_text()


def test_the_entrypoint_is_a_score_command_whose_actor_fits_a_worker():
    command = shlex.split(rayjob()["spec"]["entrypoint"])
    assert command[:3] == ["python", "-m", "score"]
    args = score.parse_args(command[3:], config.settings())
    assert args.ray == "" and args.out.startswith("s3://")  # --ray alone: RAY_ADDRESS, set by KubeRay
    worker = groups()[1]["template"]["spec"]["containers"][0]["resources"]
    assert args.actor_cpus + FETCH_CPUS <= float(worker["requests"]["cpu"])  # an actor and a read task
    assert args.threads <= float(worker["limits"]["cpu"])
    assert groups()[0]["rayStartParams"]["num-cpus"] == "0"  # no actor on the head


def test_without_ray_the_command_says_how_to_install_it(tmp_path):
    """`make run`'s environment has no Ray: --ray exits 2 with the requirements file to install."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['ray'] = None; import score; "
            f"sys.exit(score.main(['samples', '--ray', '--out', {str(tmp_path / 'out')!r}]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "pip install -r requirements-ray.txt" in done.stderr and "Traceback" not in done.stderr
