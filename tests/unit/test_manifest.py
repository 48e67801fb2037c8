"""Contract (the tiny bucket): max-image-memorability.yaml agrees with the service it deploys.

Besides the schemas, probes and sizes, the hardening: a numeric non-root user (the image's),
RuntimeDefault seccomp, no privilege escalation, no capability, no API token, a read-only root
with every path the server writes on an emptyDir sized for the uploads, and a NetworkPolicy.
The helpers here serve tests/unit/test_rayjob.py's pods too.
"""
import posixpath
import re
import runpy

import kubernetes_validate
import pytest
import yaml

import config
from app import create_app
from core.model.tiers import TIERS
from tests.imagegen import ROOT

# Bytes: each served tier's resident set, a server as `make run` starts it after its first request (docs/deployment.md).
# The server with both outputs (MODEL_OUTPUTS' default): 2,159 MiB in fp32, 642 MiB in lite-int8.
MEASURED_PEAK_RSS = {"fp32": 2159 * 2**20, "bf16": 2159 * 2**20, "lite-int8": 642 * 2**20}
UNITS = {"Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3}
# Bytes of a container's logs on the node: the kubelet's default rotation, containerLogMaxFiles 5 x
# containerLogMaxSize 10Mi. They count against the pod's ephemeral-storage limit.
LOGS = 5 * 10 * 2**20


def documents():
    with open(ROOT / "max-image-memorability.yaml") as manifest:
        return {doc["kind"]: doc for doc in yaml.safe_load_all(manifest)}


def pod():
    return documents()["Deployment"]["spec"]["template"]["spec"]


def container():
    return pod()["containers"][0]


def env():
    return {e["name"]: e["value"] for e in container()["env"]}


def container_settings():
    """The settings the container runs with: config.py's defaults and the manifest's env."""
    return config.Settings.from_env(env())


def tempdir():
    """tempfile's folder in the container (TMPDIR, else /tmp): where werkzeug spools uploads."""
    return env().get("TMPDIR", "/tmp")


@pytest.mark.parametrize("kind", ["Service", "Deployment", "NetworkPolicy", "HorizontalPodAutoscaler"])
def test_each_resource_is_valid_against_the_kubernetes_schemas(kind):
    version = kubernetes_validate.latest_version()
    kubernetes_validate.validate(documents()[kind], version, strict=True)  # raises on any error


def quantity(text):
    """Bytes of a Kubernetes quantity in binary units (512Mi, 4Gi) or plain bytes."""
    text = str(text)
    return float(text[:-2]) * UNITS[text[-2:]] if text[-2:] in UNITS else float(text)


memory = quantity


def dockerfile_stages():
    """Each stage of the Dockerfile by name: its user (the last USER, "uid:gid") and WORKDIR,
    inherited from the stage it is built on where it sets none."""
    stages = {}
    for block in re.split(r"^FROM ", (ROOT / "Dockerfile").read_text(), flags=re.M)[1:]:
        base, _, name = block.split("\n", 1)[0].partition(" AS ")
        stage = dict(stages.get(base.strip(), {"user": "0:0", "workdir": "/"}))
        for instruction, value in re.findall(r"^(USER|WORKDIR) (\S+)", block, flags=re.M):
            stage[instruction.lower()] = value
        stages[name.strip() or base.strip()] = stage
    return stages


def hardening_gaps(pod, user):
    """What ``pod`` (a pod spec) lacks of the hardening every pod of the manifests has: the
    image's numeric non-root ``user`` ("uid:gid"; numeric, so the kubelet can check
    runAsNonRoot), RuntimeDefault seccomp and no API token; in each container no privilege
    escalation, no capability and a read-only root filesystem. Empty when it lacks nothing."""
    uid, gid = (int(part) for part in user.split(":"))
    security = pod.get("securityContext", {})
    wanted = {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": gid, "seccompProfile": {"type": "RuntimeDefault"}}
    gaps = [f"pod {key}: {security.get(key)!r}" for key, value in wanted.items() if security.get(key) != value]
    if uid == 0:
        gaps.append("the image runs as root")
    if pod.get("automountServiceAccountToken") is not False:
        gaps.append("pod automountServiceAccountToken")
    for spec in pod.get("initContainers", []) + pod["containers"]:
        own = spec.get("securityContext", {})
        wanted = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}
        gaps += [f"{spec['name']} {key}: {own.get(key)!r}" for key, value in wanted.items() if own.get(key) != value]
        overrides = ("privileged", "runAsUser", "runAsGroup", "runAsNonRoot")  # nothing overrides the pod's
        gaps += [f"{spec['name']} {key}: {own[key]!r}" for key in overrides
                 if key in own and own[key] != security.get(key, False)]
    return gaps


def mounted_volume(pod, spec, path):
    """The volume of ``pod`` that container ``spec`` writes ``path`` to (its nearest mount at or
    above ``path``, not read-only), or None: on the root filesystem, or read-only."""
    mounts = [mount for mount in spec.get("volumeMounts", [])
              if (path + "/").startswith(mount["mountPath"].rstrip("/") + "/")]
    if not mounts:
        return None
    mount = max(mounts, key=lambda mount: len(mount["mountPath"]))
    return None if mount.get("readOnly") else {v["name"]: v for v in pod["volumes"]}[mount["name"]]


def disk_scratch(pod):
    """Bytes of the pod's emptyDirs on the node's disk (their sizeLimits): ephemeral storage."""
    return sum(quantity(volume["emptyDir"]["sizeLimit"]) for volume in pod.get("volumes", [])
               if "emptyDir" in volume and volume["emptyDir"].get("medium") != "Memory")


def test_the_pod_runs_unprivileged_as_the_images_numeric_user():
    assert hardening_gaps(pod(), dockerfile_stages()["serve"]["user"]) == []


def test_every_path_the_server_writes_is_on_an_emptydir():
    """The root filesystem is read-only: what the server writes at run time (traced with strace
    under predict, video, explain and /metrics requests) must be on a volume. MODEL_CACHE must
    not be: it holds the image's runtimes (its digest memo is skipped where it cannot be written)."""
    settings, spec, variables = container_settings(), container(), env()
    written = {
        "DRAIN_FILE (preStop)": posixpath.dirname(settings.DRAIN_FILE),
        "tempfile's folder: the spooled uploads, gunicorn's heartbeat file": tempdir(),
        # The image's own home (useradd --create-home ... max) is on the root filesystem.
        "HOME: gunicorn's control socket ($HOME/.gunicorn/), ~/.cache": variables.get("HOME", "/home/max"),
    }
    for what, path in written.items():
        volume = mounted_volume(pod(), spec, path)
        assert volume is not None and "emptyDir" in volume, f"{what}: {path} is on the read-only root"
        assert volume["emptyDir"].get("medium") != "Memory", f"{what}: uploads would count as memory"
        assert "sizeLimit" in volume["emptyDir"], what
    touched = re.search(r"touch (\S+)", spec["lifecycle"]["preStop"]["exec"]["command"][2]).group(1)
    assert mounted_volume(pod(), spec, posixpath.dirname(touched)) is not None
    workdir = spec.get("workingDir", dockerfile_stages()["serve"]["workdir"])
    for folder in (settings.MODEL_CACHE, settings.MODEL_BUCKET):
        assert mounted_volume(pod(), spec, posixpath.join(workdir, folder)) is None, f"a volume hides {folder}"


def test_ephemeral_storage_holds_every_thread_spooling_an_upload_at_its_limit():
    """werkzeug spools each file part over 500 KiB to tempfile's folder, and a request is first
    received whole into a spool of the worker's (api/worker.py), so a request in a thread holds
    its body twice at most. At most WORKER_THREADS requests are in threads, MAX_HEAVY_REQUESTS of
    them videos (MAX_VIDEO_BYTES), the rest images (MAX_CONTENT_LENGTH); those still being
    received hold WORKER_THREADS x MAX_CONTENT_LENGTH + MAX_VIDEO_BYTES together. A pod past an
    emptyDir's sizeLimit is evicted: it must hold the worst case."""
    settings = container_settings()
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["threads"] == config.settings().WORKER_THREADS
    scratch = mounted_volume(pod(), container(), tempdir())
    assert scratch is not None and "emptyDir" in scratch, f"{tempdir()} is not on an emptyDir"
    from api.passes import heavy_limit

    heavy = min(heavy_limit(settings), settings.WORKER_THREADS)
    in_threads = 2 * (heavy * settings.MAX_VIDEO_BYTES
                      + (settings.WORKER_THREADS - heavy) * settings.MAX_CONTENT_LENGTH)
    receiving = settings.WORKER_THREADS * settings.MAX_CONTENT_LENGTH + settings.MAX_VIDEO_BYTES
    assert quantity(scratch["emptyDir"]["sizeLimit"]) >= in_threads + receiving
    resources = container()["resources"]
    limit, request = (quantity(resources[kind]["ephemeral-storage"]) for kind in ("limits", "requests"))
    assert limit >= disk_scratch(pod()) + LOGS
    assert settings.WORKER_THREADS * settings.MAX_CONTENT_LENGTH <= request <= limit


def test_the_network_policy_admits_the_http_port_alone_and_no_egress():
    """Ingress from anywhere (the Service, its NodePort, Prometheus, the probes) on the server's
    port only; no egress, since the server opens no connection."""
    docs = documents()
    policy = docs["NetworkPolicy"]["spec"]
    labels = docs["Deployment"]["spec"]["template"]["metadata"]["labels"]
    selector = policy["podSelector"]
    assert selector["matchLabels"] and selector["matchLabels"].items() <= labels.items()
    assert "matchExpressions" not in selector
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    (rule,) = policy["ingress"]
    assert "from" not in rule
    port = container()["ports"][0]
    assert rule["ports"] == [{"port": port["name"], "protocol": "TCP"}]
    assert docs["Service"]["spec"]["ports"][0]["targetPort"] == port["name"]
    assert policy.get("egress", []) == []


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
