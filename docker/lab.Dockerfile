# The lab's one image: the project installed with Debian's Python 3.11 and Chromium. compose.yaml
# runs it with different commands: the web servers (docker/web.py), the URL2PNG workers
# (lab worker: pyppeteer on Debian's Chromium), the lab's emulator (python -m emulator) and the
# sample pages (python -m lab.pages.server).
#
#   podman build -f docker/lab.Dockerfile -t localhost/decoupling-lab [--build-arg BASE_IMAGE=...] .
#
# BASE_IMAGE: any Debian bookworm image; docker/build-base.sh makes one (localhost/debian-base)
# where no registry can be reached. The build context is the checkout (.dockerignore keeps it to
# the sources). Layers go from the least to the most often changed: Debian's packages, then the
# Python dependencies (from pyproject.toml alone), then the lab's code, so a code change rebuilds
# only the last, small layer.
ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim
FROM ${BASE_IMAGE}

ENV DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DEFAULT_TIMEOUT=120

# procps: ps and pgrep (the worker's health check, container.top()); curl: the health checks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3 python3-venv ca-certificates curl procps chromium fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

# pip behind a TLS-inspecting proxy needs the host's CA bundle: the lab copies it to
# docker/certs/host-ca.crt before building (docker/certs/ is otherwise empty and never committed).
COPY docker/certs/ /opt/lab/certs/
COPY pyproject.toml /src/pyproject.toml
RUN python3 -m venv /opt/lab/venv \
 && if [ -s /opt/lab/certs/host-ca.crt ]; then export PIP_CERT=/opt/lab/certs/host-ca.crt; fi \
 && /opt/lab/venv/bin/python -c "import tomllib; print('\n'.join(tomllib.load(open('/src/pyproject.toml', 'rb'))['project']['dependencies']))" >/tmp/requirements.txt \
 && /opt/lab/venv/bin/pip install -q -r /tmp/requirements.txt 'setuptools>=68' wheel \
 && rm /tmp/requirements.txt

COPY lab /src/lab
COPY emulator /src/emulator
RUN /opt/lab/venv/bin/pip install -q --no-deps --no-build-isolation /src \
 && rm -rf /src/build /src/*.egg-info
COPY docker/web.py docker/worker.sh /opt/lab/
RUN chmod 755 /opt/lab/worker.sh

ENV PATH=/opt/lab/venv/bin:$PATH \
    LAB_STATE_DIR=/var/lib/lab
WORKDIR /var/lib/lab
CMD ["lab", "--help"]
