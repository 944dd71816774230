#!/usr/bin/env bash
# Stop a cluster started by scripts/ensure-ceph.sh: TERM exactly the PIDs recorded in DIR/pids (newest
# first), KILL any still alive after 15 s, then remove DIR. Nothing else is signalled.
set -euo pipefail
DIR=${1:?usage: scripts/stop-ceph.sh DIR (the CEPH_DIR that ensure-ceph.sh printed)}
if [ ! -f "$DIR/pids" ] || [ ! -f "$DIR/ceph.conf" ]; then
  echo "[stop-ceph] error: $DIR is not a folder made by ensure-ceph.sh (no pids or ceph.conf)" >&2
  exit 1
fi
mapfile -t PIDS < <(tac "$DIR/pids")
for pid in "${PIDS[@]}"; do
  kill -TERM "$pid" 2>/dev/null || true
done
for _ in $(seq 1 150); do
  alive=0
  for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
  [ $alive = 0 ] && break
  sleep 0.1
done
for pid in "${PIDS[@]}"; do
  if kill -0 "$pid" 2>/dev/null; then
    echo "[stop-ceph] pid $pid did not stop on TERM within 15 s: KILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
done
rm -rf "$DIR"
