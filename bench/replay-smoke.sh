#!/usr/bin/env bash
# Replay throughput on the repository's own captures, against `cat` of the same files in the same
# run (the floor: reading the bytes). Small inputs, so this measures per-packet cost, not disk.
# The realistic 1 GiB npm-install mix, tcpdump/tshark peers and thread scaling come with the
# "parallel pipeline" issue.
#
#   bash bench/replay-smoke.sh [ROUNDS]     (default 100 copies of every capture, 5 runs each)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-100}
runs=5
cargo build --release --quiet
bin=target/release/egress-ids
inputs=(pcaps/*.pcap)
[ -d ../shared/corpus/pcaps ] && inputs+=(../shared/corpus/pcaps/*.pcap ../shared/corpus/pcaps/*.pcapng)
list=()
for _ in $(seq "$rounds"); do list+=("${inputs[@]}"); done
bytes=$(cat "${list[@]}" | wc -c)

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# Seconds one run of "$@" takes (stdout and stderr discarded; exit status ignored: 1 means alerts).
seconds() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || true
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
}
time_runs() { for _ in $(seq $runs); do seconds "$@"; done | median; }

cat_s=$(time_runs cat "${list[@]}")
ids_s=$(time_runs "$bin" replay -q --eve /dev/null "${list[@]}")
packets=$($bin replay --eve /dev/null "${list[@]}" 2>&1 >/dev/null | awk '/packets \(/ {print $2; exit}' || true)

awk -v b="$bytes" -v p="$packets" -v c="$cat_s" -v e="$ids_s" -v n="${#list[@]}" 'BEGIN {
  printf "input: %d files, %d bytes, %d packets (median of 5 runs each)\n", n, b, p
  printf "%-22s %8s %10s %10s %8s\n", "command", "seconds", "Gbit/s", "Mpps", "x cat"
  printf "%-22s %8.3f %10.2f %10s %8.1f\n", "cat (floor)", c, b*8/c/1e9, "-", 1
  printf "%-22s %8.3f %10.2f %10.3f %8.1f\n", "egress-ids replay", e, b*8/e/1e9, p/e/1e6, e/c
}'
