#!/usr/bin/env bash
# Replays every capture in pcaps/ and ../shared/corpus/pcaps/ with one egress-ids binary and writes
# each capture's EVE output to DIR/<set>/<name>.json, so two builds can be compared with `diff -r`:
#
#   bash scripts/eve-snapshot.sh BINARY DIR [THREADS]
#
# A refactor that must not change behaviour is checked by snapshotting the binary before and after
# and diffing the two directories. THREADS defaults to 1 (the output is the same at any count).
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: bash scripts/eve-snapshot.sh BINARY DIR [THREADS]" >&2
  exit 2
fi
bin=$1 out=$2 threads=${3:-1}
cd "$(dirname "$0")/.."
[ -x "$bin" ] || { echo "eve-snapshot: $bin is not an executable" >&2; exit 2; }
mkdir -p "$out"
count=0
for set in pcaps ../shared/corpus/pcaps; do
  [ -d "$set" ] || { echo "eve-snapshot: $set is absent, skipped" >&2; continue; }
  name=$(basename "$(dirname "$set")")-$(basename "$set")
  [ "$set" = pcaps ] && name=pcaps
  mkdir -p "$out/$name"
  for pcap in "$set"/*.pcap "$set"/*.pcapng; do
    [ -e "$pcap" ] || continue
    base=$(basename "$pcap")
    rc=0
    # Every setting but the thread count is the default.
    "$bin" replay -q --threads "$threads" --eve "$out/$name/$base.json" "$pcap" \
      2>"$out/$name/$base.stderr" || rc=$?
    # 0 = no alert, 1 = alerts: both are normal; anything else is kept in the .rc file.
    echo "$rc" >"$out/$name/$base.rc"
    count=$((count + 1))
  done
done
echo "eve-snapshot: $count captures replayed into $out" >&2
