# Every image of the stack, one target per service (docker compose builds them; by hand:
# docker build --target uploader -t motostack-uploader .). Build context: the repository root.
# Each image holds a venv with its own pinned dependency group from pyproject.toml, common/ and its own
# package, world-readable, so that any uid can run it; nothing needs a home directory.
ARG PYTHON_IMAGE=python:3.12-slim

FROM ${PYTHON_IMAGE} AS base
# The one pin of pip (the Makefile reads it from here): `pip install --group` needs pip >= 25.1.
ARG PIP_VERSION=26.0.1
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app
WORKDIR /app
# Dependencies first, so that editing the source does not reinstall them.
COPY pyproject.toml ./
RUN python3 -m venv /opt/venv \
    && pip install --quiet "pip==${PIP_VERSION}" \
    && useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --uid 10001 motostack

# The `moto` service: Moto's S3 API behind our gateway, on port 5000 inside the compose network.
FROM base AS moto
RUN pip install --quiet --group moto && chmod -R a+rX /opt/venv
COPY common/ common/
COPY moto_gateway/ moto_gateway/
# /state: the state folder (a named volume in compose), created here so that the volume belongs to the
# service's user when Docker first fills it from the image.
RUN chmod -R a+rX /app && mkdir -p /state && chown 10001:10001 /state
USER 10001:10001
ENV GATEWAY_HOST=0.0.0.0 GATEWAY_PORT=5000
EXPOSE 5000
# The healthcheck lives in docker-compose.yml (one place for every service).
CMD ["python", "-m", "moto_gateway"]

# The `exporter` service: mirrors every bucket into EXPORT_DIR (/data, bind-mounted from the host). It
# starts as root only to read the owner of /data, then runs as that uid:gid for good (docker/run-as-owner.sh),
# so the mirror belongs to whoever owns the host folder; HOST_UID / HOST_GID override that owner.
FROM base AS exporter
RUN pip install --quiet --group exporter && chmod -R a+rX /opt/venv
COPY common/ common/
COPY exporter/ exporter/
COPY docker/run-as-owner.sh /usr/local/bin/run-as-owner
RUN chmod -R a+rX /app && chmod 0755 /usr/local/bin/run-as-owner \
    && mkdir -p /data && chown 10001:10001 /data
ENV EXPORT_DIR=/data HEALTH_HOST=127.0.0.1 HEALTH_PORT=8081
ENTRYPOINT ["run-as-owner"]
CMD ["python", "-m", "exporter"]

# The `uploader` service: the presign service and its upload page, served by gunicorn on port 8000.
FROM base AS uploader
RUN pip install --quiet --group uploader && chmod -R a+rX /opt/venv
COPY common/ common/
COPY uploader/ uploader/
# The console names each object's file in the host mirror with the exporter's own naming rule.
COPY exporter/__init__.py exporter/naming.py exporter/
RUN chmod -R a+rX /app
USER 10001:10001
EXPOSE 8000
# For `docker run` on its own; docker-compose.yml declares the same probe.
HEALTHCHECK --interval=5s --timeout=5s --retries=5 --start-period=60s \
    CMD ["python", "-m", "common.probe", "http://127.0.0.1:8000/healthz"]
# gunicorn binds 0.0.0.0:8000 (uploader/gunicorn.conf.py) and calls the app factory once before forking.
CMD ["gunicorn", "-c", "uploader/gunicorn.conf.py", "uploader:create_app()"]

# The `sample-client` tool (profile "tools"): `seed` / `unseed` the sample objects, as a user's own
# container would: plain boto3, configured by AWS_ENDPOINT_URL and the usual AWS_* variables only.
FROM base AS sample-client
RUN pip install --quiet --group sample-client && chmod -R a+rX /opt/venv
COPY sample_client/ sample_client/
RUN chmod -R a+rX /app
USER 10001:10001
ENTRYPOINT ["python", "-m", "sample_client"]
CMD ["--help"]
