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
podman rm -f max-test >/dev/null 2>&1 || true
# No systemd here to time the HEALTHCHECK; it is run by hand below instead.
podman run -d --name max-test --health-interval=disable -p "$HOST_PORT:5000" "$IMAGE"
status=0
mkdir -p test-artifacts
MAX_URL="http://127.0.0.1:$HOST_PORT" .venv/bin/python -m pytest -q tests/integration || status=$?
# The score command inside the image, with its own model, on the sample photos (samples/ also
# holds LICENSES.md, which would rightly get an error row and exit status 1).
podman exec max-test sh -c 'python -m score samples/*.jpg --out /tmp/scores.csv --quiet' \
    && echo "python -m score in the image: every sample scored" || status=1
podman healthcheck run max-test && echo "HEALTHCHECK: healthy" || status=1
podman logs max-test > test-artifacts/container.log 2>&1 || true
grep -Eq '"POST /model/predict HTTP/1.1" 200 [0-9]+ms$' test-artifacts/container.log \
    && echo "access log: one line per request" || { echo "no access-log lines in the container log"; status=1; }
podman stop -t 30 max-test   # SIGTERM via tini; gunicorn stops gracefully
exit_code=$(podman inspect max-test --format '{{.State.ExitCode}}')
podman rm max-test >/dev/null
echo "container exit code after SIGTERM: $exit_code"
[ "$status" -eq 0 ] && [ "$exit_code" -eq 0 ]
