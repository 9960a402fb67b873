# The aimgen image (ghcr.io/aim-engine/aimgen, pushed by .github/workflows/release.yaml): an option for the
# model-cache init container, the prefetch Job and the chart's `helm test` Pod (cache.image / --cache-image); by
# default they run the aimgen bundle in the engine image (docs/cache.md). Small on purpose: no engine, no GPU libraries.
# Build from the repository root:  docker build -t <registry>/aimgen:0.1.0 .
# The base is pinned by its multi-arch index digest (the release builds linux/amd64 and linux/arm64 from it); bump
# tag and digest together.
FROM docker.io/library/python:3.12-slim-bookworm@sha256:782412e85d0f0984994c290652577d4018aff08145c85b262bb63dc0c7522254

LABEL org.opencontainers.image.title="aimgen" \
      org.opencontainers.image.description="aim-engine CLI: model cache prefetch, endpoint checks, offline validation" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV AIMGEN_DATA_DIR=/opt/aimgen \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp

WORKDIR /opt/aimgen
COPY pyproject.toml README.md ./
COPY generator/ generator/
COPY recipes/ recipes/
COPY schemas/ schemas/
COPY runtimes/ runtimes/

RUN python3 -m pip install --no-cache-dir "/opt/aimgen[cache]" \
    && aimgen --version

# The pods run as this UID (render/k8s.py); the image works for any UID since it writes only to /tmp and the cache.
USER 10001:10001
ENTRYPOINT ["aimgen"]
