# The Django app image, used by both the `migrate` job and the `app` service.
# Build with `docker compose build` (BuildKit): the host's CA bundle reaches pip
# as a build secret, for networks that intercept TLS, and is not kept in any layer.
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

RUN useradd --system --uid 10001 --user-group --home-dir /srv/app --no-create-home --shell /usr/sbin/nologin app

COPY requirements/base.lock /tmp/base.lock
RUN --mount=type=secret,id=pip_ca_bundle,required=false \
    --mount=type=cache,target=/root/.cache/pip \
    set -eu; \
    if [ -s /run/secrets/pip_ca_bundle ]; then export PIP_CERT=/run/secrets/pip_ca_bundle; fi; \
    python3 -m venv "$VIRTUAL_ENV"; \
    pip install --quiet --require-hashes --no-deps -r /tmp/base.lock; \
    rm /tmp/base.lock

WORKDIR /srv/app
COPY compose/app-entrypoint.sh /usr/local/bin/app-entrypoint.sh
COPY config/ config/
COPY app/ app/
RUN python -m compileall -q app

USER app
EXPOSE 8000
ENTRYPOINT ["app-entrypoint.sh"]
CMD ["serve"]
