# Steward's own image: `serve`, `worker` and the CLI, from the locked dependencies (uv.lock), as a non-root user.
# Settings come from the environment (STEWARD_*, secrets as STEWARD_<NAME>_FILE); see deploy/compose.yaml.
# BASE must provide Python 3.11 with venv, and git (the worker clones and pushes on its side of the sandbox);
# git is installed from Debian's packages when the base lacks it.
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}
ARG UV_VERSION=0.13.9
USER root
ENV LANG=C.UTF-8 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    UV_NATIVE_TLS=1 UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1
RUN if ! command -v git >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends git ca-certificates \
      && rm -rf /var/lib/apt/lists/*; fi \
 && python3 -m venv /opt/uv && /opt/uv/bin/pip install --no-cache-dir "uv==${UV_VERSION}" \
 && groupadd --system --gid 10001 steward-app \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/steward --no-create-home steward-app \
 && mkdir -p /var/lib/steward && chown 10001:10001 /var/lib/steward
WORKDIR /opt/steward
# Dependencies first, in their own layer: a change to Steward's code reuses it.
COPY pyproject.toml uv.lock README.md ./
RUN /opt/uv/bin/uv sync --locked --no-dev --no-install-project --python python3
COPY app app
COPY jobs jobs
COPY sandbox sandbox
COPY policies policies
COPY app.yml LICENSE ./
RUN /opt/uv/bin/uv sync --locked --no-dev --no-editable --python python3 \
 && rm -rf /root/.cache
ENV PATH=/opt/steward/.venv/bin:$PATH HOME=/var/lib/steward STEWARD_DATA_DIR=/var/lib/steward \
    PIP_CERT= UV_NATIVE_TLS=
USER 10001:10001
WORKDIR /var/lib/steward
EXPOSE 8000
ENTRYPOINT ["steward"]
CMD ["--help"]
# Never `app=steward`: that label marks sandboxes, which the worker reaps when their owner is gone.
LABEL app=steward-service org.opencontainers.image.title="Steward" org.opencontainers.image.licenses="Apache-2.0"
