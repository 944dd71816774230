#!/usr/bin/env bash
# A throwaway single-node Ceph with its S3 gateway (radosgw) on loopback, for tests and for trying the
# stack against a real S3 engine: one monitor, one memstore OSD (data in RAM), radosgw; no cephx.
#
#   scripts/ensure-ceph.sh [DIR]   install Debian's packages if missing (as root), start the cluster under DIR
#                                  (default: a new temp folder) on free ports, print KEY=value lines:
#                                  CEPH_DIR, S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
#                                  AWS_REGION. The PIDs it started are in DIR/pids, one a line.
#   scripts/stop-ceph.sh DIR       TERM exactly those PIDs, remove DIR.
#
# Progress goes to stderr, the KEY=value lines to stdout (eval-able). On failure it stops what it started,
# removes DIR, prints the reason and the end of the failing daemon's log, and exits 1.
# CEPH_ACCESS_KEY / CEPH_SECRET_KEY choose the S3 credentials; CEPH_BIND radosgw's address (127.0.0.1);
# CEPH_REGION (default us-east-1) becomes the zonegroup's API name, the only region RGW accepts as a
# bucket's LocationConstraint.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PACKAGES=(radosgw ceph-mon ceph-osd ceph-common)
ACCESS_KEY=${CEPH_ACCESS_KEY:-test}
SECRET_KEY=${CEPH_SECRET_KEY:-test-secret-key}
REGION=${CEPH_REGION:-us-east-1}
# radosgw's address; 127.0.0.1 unless you need containers to reach it (e.g. the docker0 address).
BIND=${CEPH_BIND:-127.0.0.1}
say() { echo "[ensure-ceph] $*" >&2; }

install_packages() {
  local missing=()
  for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian's ${PACKAGES[*]} (missing: ${missing[*]})"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >&2
  else
    say "error: ${missing[*]} missing; install them (Debian: sudo apt-get install --no-install-recommends ${PACKAGES[*]})"
    exit 1
  fi
}

free_ports() {  # N distinct free loopback ports, one a line
  python3 - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print("\n".join(str(s.getsockname()[1]) for s in socks))
EOF
}

install_packages
DIR=${1:-$(mktemp -d "${TMPDIR:-/tmp}/ceph.XXXXXX")}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
: >"$DIR/pids"
export CEPH_CONF="$DIR/ceph.conf"

fail() {
  trap - ERR
  say "error: $1"
  [ -n "${2:-}" ] && [ -f "$2" ] && tail -n 15 "$2" | sed 's/^/[ensure-ceph]   /' >&2
  "$HERE/stop-ceph.sh" "$DIR" >&2 || true
  exit 1
}
# Any other failing command stops what was started, too.
set -E
trap 'fail "a step failed (line $LINENO: $BASH_COMMAND)"' ERR
start_daemon() {  # LOG COMMAND...: run in the foreground mode of Ceph, in the background of this shell
  local log=$1; shift
  "$@" >"$log" 2>&1 &
  echo $! >>"$DIR/pids"
  echo $!
}
wait_for() {  # SECONDS PID WHAT LOG COMMAND...: retry COMMAND until it succeeds while PID lives
  local seconds=$1 pid=$2 what=$3 log=$4; shift 4
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || fail "$what: the daemon (pid $pid) exited" "$log"
    [ $SECONDS -lt $deadline ] || fail "$what: not ready within $seconds s" "$log"
    sleep 0.3
  done
}

mapfile -t PORTS < <(free_ports 3)
MON_V2=${PORTS[0]} MON_V1=${PORTS[1]} RGW_PORT=${PORTS[2]}
FSID=$(python3 -c 'import uuid; print(uuid.uuid4())')
OSD_UUID=$(python3 -c 'import uuid; print(uuid.uuid4())')
MON_ADDR="[v2:127.0.0.1:$MON_V2,v1:127.0.0.1:$MON_V1]"
mkdir -p "$DIR/mon/a" "$DIR/rgw" "$DIR/run" "$DIR/log"

cat >"$CEPH_CONF" <<EOF
[global]
fsid = $FSID
mon_host = $MON_ADDR
public_network = 127.0.0.0/8
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
# With auth none the daemons must not insist on secure mode (radosgw loops on -13 otherwise).
ms_mon_client_mode = crc secure
ms_bind_ipv6 = false
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000
mon_data_avail_warn = 2
mon_data_avail_crit = 1
run_dir = $DIR/run
admin_socket = $DIR/run/\$name.asok
log_file = $DIR/log/\$name.log
pid_file = $DIR/run/\$name.pid

[mon]
mon_data = $DIR/mon/\$id

[osd]
osd_data = $DIR/osd/\$id
osd_objectstore = memstore
memstore_device_bytes = 4294967296
osd_class_dir = /usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)/rados-classes

[client.rgw.a]
rgw_data = $DIR/rgw
rgw_frontends = beast endpoint=$BIND:$RGW_PORT
rgw_thread_pool_size = 64
EOF

say "monitor on 127.0.0.1:$MON_V2, data in $DIR"
monmaptool --create --clobber --fsid "$FSID" --addv a "$MON_ADDR" "$DIR/monmap" >/dev/null
ceph-mon --mkfs -i a --monmap "$DIR/monmap" >"$DIR/log/mkfs-mon.out" 2>&1 || fail "ceph-mon --mkfs failed" "$DIR/log/mkfs-mon.out"
MON_PID=$(start_daemon "$DIR/log/mon.out" ceph-mon -f -i a)
wait_for 30 "$MON_PID" "monitor" "$DIR/log/mon.a.log" timeout 5 ceph mon stat

OSD_ID=$(timeout 20 ceph osd new "$OSD_UUID") || fail "ceph osd new failed" "$DIR/log/mon.a.log"
mkdir -p "$DIR/osd/$OSD_ID"
ceph-osd -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" >"$DIR/log/mkfs-osd.out" 2>&1 \
  || fail "ceph-osd --mkfs failed" "$DIR/log/mkfs-osd.out"
OSD_PID=$(start_daemon "$DIR/log/osd.out" ceph-osd -f -i "$OSD_ID")
osd_up() { timeout 5 ceph osd stat -f json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["num_up_osds"] >= 1 and d["num_in_osds"] >= 1 else 1)'; }
wait_for 60 "$OSD_PID" "OSD" "$DIR/log/osd.$OSD_ID.log" osd_up

# radosgw-admin creates the default zone and zonegroup as radosgw would; the user and the zonegroup's API
# name (what RGW compares a CreateBucket LocationConstraint with) are set before radosgw starts.
timeout 60 radosgw-admin user create --uid=test --display-name=test --access-key="$ACCESS_KEY" \
  --secret-key="$SECRET_KEY" >"$DIR/log/user.out" 2>&1 || fail "cannot create the S3 user" "$DIR/log/user.out"
if [ "$REGION" != default ]; then
  timeout 30 radosgw-admin zonegroup modify --rgw-zonegroup=default --api-name="$REGION" \
    >"$DIR/log/zonegroup.out" 2>&1 || fail "cannot set the zonegroup's API name to $REGION" "$DIR/log/zonegroup.out"
fi
say "radosgw on $BIND:$RGW_PORT"
RGW_PID=$(start_daemon "$DIR/log/rgw.out" radosgw -f -n client.rgw.a)
rgw_answers() { python3 -c "import urllib.request as u; u.urlopen('http://$BIND:$RGW_PORT/', timeout=3)"; }
wait_for 60 "$RGW_PID" "radosgw" "$DIR/log/client.rgw.a.log" rgw_answers

say "ready after ${SECONDS} s"
cat <<EOF
CEPH_DIR=$DIR
S3_ENDPOINT_URL=http://$BIND:$RGW_PORT
AWS_ACCESS_KEY_ID=$ACCESS_KEY
AWS_SECRET_ACCESS_KEY=$SECRET_KEY
AWS_REGION=$REGION
EOF
