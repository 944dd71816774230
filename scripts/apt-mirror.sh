#!/usr/bin/env bash
# Prints the Debian mirror this machine's apt already uses, so no script has to name one: the first
# 'URIs:' of <apt dir>/sources.list.d/*.sources, else the first 'deb' line of <apt dir>/sources.list.
# Usage: apt-mirror.sh [apt dir, default /etc/apt]. Exits 1 with a clear message when there is none.
set -euo pipefail
apt_dir=${1:-/etc/apt}
for f in "$apt_dir"/sources.list.d/*.sources; do
  [ -r "$f" ] || continue
  uri=$(awk 'tolower($1) == "uris:" && NF > 1 { print $2; exit }' "$f")
  [ -n "$uri" ] && { echo "$uri"; exit 0; }
done
if [ -r "$apt_dir/sources.list" ]; then
  # Drop an options group ("[arch=amd64 signed-by=...]") before taking the URI.
  uri=$(sed -n -E 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p' \
    "$apt_dir/sources.list" | head -n 1)
  [ -n "$uri" ] && { echo "$uri"; exit 0; }
fi
echo "[apt-mirror] error: no Debian mirror in apt's sources: no 'URIs:' in $apt_dir/sources.list.d/*.sources" \
  "and no 'deb' line in $apt_dir/sources.list; add the mirror this machine may use there" >&2
exit 1
