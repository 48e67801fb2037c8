# MAX Image Memorability: ResMem behind a REST API with Swagger UI, served by gunicorn.
#   docker build -t max-image-memorability . && docker run -p 5000:5000 max-image-memorability
FROM python:3.11-slim

# MAX convention: set both to download a published bucket tarball instead of converting the
# resmem wheel from PyPI during the build. Either way md5sums.txt is verified in the same layer.
# model_name is the bucket's folder under assets/ (training/export.py --tar names it).
ARG model_bucket=
ARG model_file=
ARG model_name=resmem

# tini is the init process: it forwards SIGTERM to gunicorn and reaps children.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini=0.19.* \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 max

WORKDIR /workspace
COPY requirements.txt constraints.txt ./
RUN pip install --no-cache-dir --disable-pip-version-check -r requirements.txt -c constraints.txt

# The same script `make weights` runs. The wheel cache is a cache mount: kept between builds,
# never part of the image.
COPY md5sums.txt ./
COPY bin/ bin/
COPY core/ core/
COPY training/ training/
RUN --mount=type=cache,target=/tmp/weights-cache \
    PYTHON=python WEIGHTS_CACHE=/tmp/weights-cache bin/weights.sh "$model_bucket" "$model_file"

COPY config.py app.py score.py gunicorn.conf.py ./
COPY api/ api/
COPY web/ web/
COPY samples/ samples/

# MODEL_PRECISION=lite-* converts the model on first start and keeps it here.
RUN mkdir -p .cache/models && chown max .cache/models
USER 1000:1000
ENV PORT=5000 TF_CPP_MIN_LOG_LEVEL=2 MODEL_BUCKET=assets/${model_name}
EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/model/metadata' % os.environ.get('PORT', '5000'), timeout=8)"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"]
