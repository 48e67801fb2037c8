# `make run` and `make test` each do their own set-up on a fresh machine: the virtual
# environment, the pinned dependencies and the checksum-verified weights.
PYTHON   ?= python3
VENV     := .venv
PY       := $(VENV)/bin/python
PORT     ?= 5000
BUCKET   := assets/resmem
IMAGE    ?= max-image-memorability
export PORT
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: run weights test test-unit test-integration test-container reference bench-single bench-explain lint clean

# The service's packages for `make run`; the test tools on top of them only for tests and benchmarks.
$(VENV)/.installed: requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements.txt -c constraints.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements-test.txt -c constraints.txt
	touch $@

# Fetch the resmem wheel (cached by sha256 under .cache/), convert it once, verify the result.
$(BUCKET)/md5sums.txt: $(VENV)/.installed md5sums.txt training/convert_resmem.py core/networks.py
	PYTHON=$(PY) bin/weights.sh
	touch $@  # verified now: newer than its prerequisites, so make skips this until one changes

weights: $(BUCKET)/md5sums.txt

run: weights
	$(VENV)/bin/gunicorn -c gunicorn.conf.py 'app:create_app()'

test: lint test-unit test-integration

lint: $(VENV)/.installed-test
	$(VENV)/bin/hadolint Dockerfile

test-unit: $(VENV)/.installed-test weights
	$(PY) -m pytest -q tests/unit

# The page test drives Debian's Chromium (Playwright never downloads a browser here).
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# Starts its own server on a free port, or tests the one at MAX_URL (e.g. a container).
test-integration: $(VENV)/.installed-test $(CHROMIUM) $(if $(MAX_URL),,weights)
	$(PY) -m pytest -q tests/integration

# Builds the image with podman from a local Debian base, runs it, tests it by URL.
test-container: $(VENV)/.installed-test $(CHROMIUM)
	IMAGE=$(IMAGE) .ci/container-test.sh

# Scores samples/ with the original PyTorch ResMem (own venv, CPU torch) for the golden values.
reference: weights
	.ci/reference.sh

# Latency and fidelity of the port against the original package, in one run on this machine.
IMAGES ?= samples
bench-single: $(VENV)/.installed-test weights
	test -x .venv-ref/bin/python || .ci/reference.sh
	$(PY) -m benchmarks.single_image --images $(IMAGES)

# Faithfulness (deletion test) and cost of each attribution method, in one run on this machine.
LIMIT ?= 0
bench-explain: $(VENV)/.installed-test weights
	$(PY) -m benchmarks.explain --images $(IMAGES) --limit $(LIMIT)

clean:
	rm -rf $(VENV) .venv-ref assets .pytest_cache
