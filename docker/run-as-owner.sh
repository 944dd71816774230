#!/bin/sh
# The exporter's entrypoint. Started as root only long enough to read who owns the mirror folder
# (EXPORT_DIR, bind-mounted from the host), it becomes that uid:gid for good, with no supplementary group
# and no capability (none to regain either: empty bounding set, no_new_privs), before the exporter touches
# anything: the mirror's files belong to the folder's owner, whatever uid that is, with or without a
# passwd entry, root included when the folder came with a clone root made. HOST_UID / HOST_GID override
# the owner. Started as another user (docker run --user), it changes nothing.
set -eu
folder="${EXPORT_DIR:-/data}"
if [ "$(id -u)" != 0 ]; then
    exec "$@"
fi
if [ ! -d "$folder" ]; then
    echo "exporter: EXPORT_DIR=$folder is not a folder; mount the host folder for the mirror there" >&2
    exit 2
fi
uid="${HOST_UID:-$(stat -c %u "$folder")}"
gid="${HOST_GID:-$(stat -c %g "$folder")}"
# The clone's own mirror folder holds its marker (.gitkeep): root owns it when root cloned, and mirroring as
# root is then what that user asked for. Without the marker, a root-owned folder is one Docker made.
if [ "$uid" = 0 ] && [ -z "${HOST_UID:-}" ] && [ ! -e "$folder/.gitkeep" ]; then
    echo "exporter: the mirror folder (EXPORT_DIR_HOST on the host, default ./moto_export) belongs to root," \
        "most likely because Docker created it when it was missing; give it to your user on the host" \
        "(sudo chown -R \"\$(id -u):\$(id -g)\" moto_export) and start again, or set HOST_UID=0 HOST_GID=0" \
        "to mirror as root" >&2
    exit 2
fi
export HOME=/nonexistent
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs -- "$@"
