"""Contract (no model): max-image-memorability-rayjob.yaml agrees with the Ray job it runs and with
Kubernetes.

Its pods, ServiceAccount and NetworkPolicy are checked against the Kubernetes schemas, as
max-image-memorability.yaml's are. The RayJob around them is a KubeRay custom resource whose CRD
schema is not available offline here, so its fields are checked against the KubeRay v1 fields
this manifest may use (RAYJOB below). The pods (head, workers and KubeRay's submitter) have the
serving pod's hardening (tests/unit/test_manifest.py), Ray's writes on emptyDirs, credentials
from a ServiceAccount rather than required keys, and a NetworkPolicy that admits only the job's
own pods to the head's ports.
"""
import posixpath
import re
import shlex

import jsonschema
import kubernetes_validate
import pytest
import yaml

import config
from collection import cli
from collection.cluster import FETCH_CPUS
from tests.imagegen import ROOT
from tests.unit.test_manifest import LOGS, disk_scratch, dockerfile_stages, hardening_gaps, mounted_volume, quantity

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
                     "submitterPodTemplate": {"type": "object"},
                     "rayClusterSpec": {
                         "type": "object", "additionalProperties": False, "required": ["headGroupSpec"],
                         "properties": {
                             "rayVersion": {"type": "string"}, "headGroupSpec": GROUP,
                             "workerGroupSpecs": {"type": "array", "items": {
                                 **GROUP, "required": ["groupName", "rayStartParams", "template"],
                                 "properties": {**GROUP["properties"], "groupName": {"type": "string"},
                                                "replicas": {"type": "integer"}, "minReplicas": {"type": "integer"},
                                                "maxReplicas": {"type": "integer"}}}}}}}}}}


ROLES = ("head", "workers", "submitter")
RAY_ROLES = ("head", "workers")
# The head's ports (its container's, by name) and who may connect to each: the Ray pods alone,
# and to the dashboard (the job API, which runs any code it is sent) KubeRay's submitter and
# operator too. Any other port (raylets, object managers, workers, metrics): the Ray pods alone.
HEAD_PORTS = {"gcs": (6379, {"ray"}), "client": (10001, {"ray"}), "dashboard": (8265, {"ray", "submitter", "operator"})}
KEY_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS")
# Ray's default object store, in /dev/shm: 30% of the memory free at start, within the cgroup's limit.
OBJECT_STORE_SHARE = 0.3


def documents():
    with open(ROOT / "max-image-memorability-rayjob.yaml") as manifest:
        return {doc["kind"]: doc for doc in yaml.safe_load_all(manifest)}


def rayjob():
    return documents()["RayJob"]


def groups():
    spec = rayjob()["spec"]["rayClusterSpec"]
    return [spec["headGroupSpec"]] + spec["workerGroupSpecs"]


def templates():
    """Each pod template of the job by role: the head's, the workers', KubeRay's submitter's."""
    return {"head": groups()[0]["template"], "workers": groups()[1]["template"],
            "submitter": rayjob()["spec"]["submitterPodTemplate"]}


def test_the_rayjob_has_kuberays_shape():
    jsonschema.validate(rayjob(), RAYJOB)


@pytest.mark.parametrize("role", ROLES)
def test_each_pod_template_is_valid_against_the_kubernetes_schemas(role):
    template = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "check"},
                "template": templates()[role]}
    kubernetes_validate.validate(template, kubernetes_validate.latest_version(), strict=True)


@pytest.mark.parametrize("kind", ["ServiceAccount", "NetworkPolicy"])
def test_each_other_resource_is_valid_against_the_kubernetes_schemas(kind):
    kubernetes_validate.validate(documents()[kind], kubernetes_validate.latest_version(), strict=True)


def test_the_ray_version_is_the_pinned_one_and_the_image_has_ray():
    pinned = re.search(r"^ray\[data\]==(\S+)", (ROOT / "requirements-ray.txt").read_text(), re.M).group(1)
    assert rayjob()["spec"]["rayClusterSpec"]["rayVersion"] == pinned
    for group in groups():
        for container in group["template"]["spec"]["containers"]:
            assert container["image"].split(":")[0].endswith("max-image-memorability-ray")
            assert container["workingDir"] == dockerfile_stages()["ray"]["workdir"]  # the project
    assert "FROM serve AS ray" in (ROOT / "Dockerfile").read_text()
    (submitter,) = templates()["submitter"]["spec"]["containers"]  # runs `ray job submit`
    assert submitter["image"] == groups()[0]["template"]["spec"]["containers"][0]["image"]


def test_the_entrypoint_is_a_score_command_whose_actor_fits_a_worker():
    command = shlex.split(rayjob()["spec"]["entrypoint"])
    assert command[:3] == ["python", "-m", "score"]
    args = cli.parse_args(command[3:], config.settings())
    assert args.ray == "" and args.out.startswith("s3://")  # --ray alone: RAY_ADDRESS, set by KubeRay
    worker = groups()[1]["template"]["spec"]["containers"][0]["resources"]
    assert args.actor_cpus + FETCH_CPUS <= float(worker["requests"]["cpu"])  # an actor and a read task
    assert args.threads <= float(worker["limits"]["cpu"])
    assert groups()[0]["rayStartParams"]["num-cpus"] == "0"  # no actor on the head


@pytest.mark.parametrize("role", ROLES)
def test_each_pod_runs_unprivileged_as_the_images_numeric_user(role):
    assert hardening_gaps(templates()[role]["spec"], dockerfile_stages()["ray"]["user"]) == []


@pytest.mark.parametrize("role", ROLES)
def test_what_ray_writes_is_on_emptydirs_within_the_ephemeral_storage_limit(role):
    """The root filesystem is read-only. Ray writes /tmp/ray (sessions, logs, sockets, spilled
    objects) and its object store in /dev/shm (traced with strace: a head, a worker and the
    driver of `score --ray` on the samples); HOME must be writable too (the image's is not), and
    the head writes the entrypoint's --summary-json. The project's runtimes stay the image's."""
    pod = templates()[role]["spec"]
    (spec,) = pod["containers"]
    variables = {e["name"]: e.get("value") for e in spec.get("env", [])}
    written = {"HOME": variables.get("HOME", "/home/max"), "tempfile's folder": variables.get("TMPDIR", "/tmp")}
    if role in RAY_ROLES:
        written["Ray's temp dir"] = "/tmp/ray"
    if role == "head":
        summary = cli.parse_args(shlex.split(rayjob()["spec"]["entrypoint"])[3:], config.settings()).summary_json
        written["the entrypoint's --summary-json"] = posixpath.dirname(summary)
    for what, path in written.items():
        volume = mounted_volume(pod, spec, path)
        assert volume is not None and "emptyDir" in volume, f"{what}: {path} is on the read-only root"
        assert volume["emptyDir"].get("medium") != "Memory" and "sizeLimit" in volume["emptyDir"], what
    resources = spec["resources"]
    limit, request = (quantity(resources[kind]["ephemeral-storage"]) for kind in ("limits", "requests"))
    assert request <= limit and limit >= disk_scratch(pod) + LOGS
    if role in RAY_ROLES:
        store = mounted_volume(pod, spec, "/dev/shm")
        assert store is not None and store.get("emptyDir", {}).get("medium") == "Memory", "/dev/shm"
        memory = quantity(resources["limits"]["memory"])
        assert OBJECT_STORE_SHARE * memory <= quantity(store["emptyDir"]["sizeLimit"]) <= memory
        settings = config.settings()
        for folder in (settings.MODEL_CACHE, settings.MODEL_BUCKET):
            assert mounted_volume(pod, spec, posixpath.join(spec["workingDir"], folder)) is None, folder


def test_credentials_come_from_the_service_account_and_no_key_is_required():
    """The Ray pods run as a ServiceAccount a workload identity can be bound to (its projected
    token readable through fsGroup); a Secret of keys is optional, and no key is written here.
    The submitter reads no storage: no account, no Secret."""
    account = documents()["ServiceAccount"]
    assert account["automountServiceAccountToken"] is False
    for role in ROLES:
        pod = templates()[role]["spec"]
        (spec,) = pod["containers"]
        keys = [e["name"] for e in spec.get("env", []) if e["name"] in KEY_VARIABLES]
        assert not keys, f"{role}: {keys} in the manifest"
        if role == "submitter":
            assert "serviceAccountName" not in pod and "envFrom" not in spec
            continue
        assert pod["serviceAccountName"] == account["metadata"]["name"]
        assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsGroup"]
        for source in spec.get("envFrom", []):
            assert source.get("secretRef", {}).get("optional") is True, source


def selects(selector, labels):
    """Whether a label selector (non-empty, matchLabels alone) selects pods labelled ``labels``."""
    return (bool(selector.get("matchLabels")) and "matchExpressions" not in selector
            and selector["matchLabels"].items() <= labels.items())


def peer_kind(peer, labels):
    """Who a NetworkPolicy peer admits: "ray" (the job's Ray pods), "submitter", "operator" (the
    KubeRay operator's pods in one named namespace), or what it is if anything else."""
    if set(peer) == {"podSelector"}:  # this namespace
        if selects(peer["podSelector"], labels["head"]) and selects(peer["podSelector"], labels["workers"]) \
                and not selects(peer["podSelector"], labels["submitter"]):
            return "ray"
        if selects(peer["podSelector"], labels["submitter"]) and not selects(peer["podSelector"], labels["head"]):
            return "submitter"
    if set(peer) == {"namespaceSelector", "podSelector"} \
            and set(peer["namespaceSelector"].get("matchLabels", {})) == {"kubernetes.io/metadata.name"} \
            and peer["podSelector"].get("matchLabels") == {"app.kubernetes.io/component": "kuberay-operator"}:
        return "operator"
    return f"something else: {peer}"


def admitted(policy, number, name, labels):
    """The kinds of peers ``policy`` admits to the port ``number`` (named ``name``)."""
    kinds = set()
    for rule in policy.get("ingress", []):
        ports = rule.get("ports")
        if ports is None or any(p.get("port") in (number, name) and p.get("protocol", "TCP") == "TCP" for p in ports):
            if rule.get("from"):
                kinds |= {peer_kind(peer, labels) for peer in rule["from"]}
            else:  # no peers: from anywhere
                kinds.add("anyone")
    return kinds


def test_the_network_policy_admits_only_the_jobs_pods_to_the_heads_ports():
    """It selects the head and the workers by the label the templates give them: KubeRay's own
    ray.io/cluster names the RayCluster it makes for the job, <job>-<random suffix>."""
    policy = documents()["NetworkPolicy"]["spec"]
    labels = {role: templates()[role]["metadata"]["labels"] for role in ROLES}
    assert selects(policy["podSelector"], labels["head"]) and selects(policy["podSelector"], labels["workers"])
    assert not any(key.startswith("ray.io/") for key in policy["podSelector"]["matchLabels"])
    assert "Ingress" in policy["policyTypes"]
    head = {port["name"]: port["containerPort"] for port in templates()["head"]["spec"]["containers"][0]["ports"]}
    for name, (number, allowed) in HEAD_PORTS.items():
        assert head[name] == number
        assert admitted(policy, number, name, labels) == allowed, name
    assert admitted(policy, 8080, "metrics", labels) == {"ray"}  # any other port


def test_without_ray_the_command_says_how_to_install_it(tmp_path):
    """`make run`'s environment has no Ray: --ray exits 2 with the requirements file to install."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['ray'] = None; from collection import cli; "
            f"sys.exit(cli.main(['samples', '--ray', '--out', {str(tmp_path / 'out')!r}]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "pip install -r requirements-ray.txt" in done.stderr and "Traceback" not in done.stderr
