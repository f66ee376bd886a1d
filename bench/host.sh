#!/usr/bin/env bash
# The cost of the eBPF process collector (src/host) on what it hooks: TCP connect+close to a local
# server over loopback, N times (default 50,000) per round, 7 rounds without and 7 with the
# collector running (drained every 10 ms), interleaved; the client closes abortively (SO_LINGER 0,
# a reset the server's accepted socket ends on), so no socket is left in TIME_WAIT and the rounds do not run short of ephemeral ports (with
# orderly closes they did: 20 to 78 µs per connection over five rounds of 10,000); median per-connection time of each, and the ratio,
# printed as markdown. Root. Builds `--example host-collector` in the dev profile (dependencies
# at opt-level 2; the kernel side, which is what each connect pays, is the same object).
#
#   bash bench/host.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-50000}
rounds=7
[ "$(id -u)" -eq 0 ] || { echo "bench/host.sh: needs root (the collector loads eBPF)" >&2; exit 2; }
cargo build -q --example host-collector
bin=target/debug/examples/host-collector
work=$(mktemp -d)
server_pid=""; coll_pid=""
cleanup() {
  [ -n "$coll_pid" ] && kill "$coll_pid" 2>/dev/null || true
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# The server: accepts and closes, on a port the kernel picks (written to $work/port).
python3 - "$work/port" <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(4096)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
while True:
    try:
        c, _ = s.accept()
    except OSError:  # the client's reset came first
        continue
    c.close()
PY
server_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")
# One round: N connect+close, microseconds per connection.
round() {
  python3 - "$port" "$n" <<'PY'
import socket, struct, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
linger0 = struct.pack("ii", 1, 0)
t = time.perf_counter()
for _ in range(n):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger0)
    s.connect(("127.0.0.1", port)); s.close()
print(f"{(time.perf_counter() - t) / n * 1e6:.2f}")
PY
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# Interleaved (without, with, without, ...), the collector started and stopped around each of its
# rounds: a drift of the machine over the run (sockets in TIME_WAIT, caches) falls on both sides.
start_collector() {
  rm -f "$work/in"; mkfifo "$work/in"
  "$bin" < "$work/in" > "$work/coll.out" 2> "$work/coll.err" &
  coll_pid=$!
  exec 3> "$work/in"
  for _ in $(seq 200); do grep -q ready "$work/coll.out" 2>/dev/null && break; sleep 0.05; done
  grep -q ready "$work/coll.out" || { cat "$work/coll.err" >&2; exit 1; }
}
stop_collector() {
  exec 3>&-
  wait "$coll_pid" || true
  coll_pid=""
}
: > "$work/without"; : > "$work/with"
for _ in $(seq $rounds); do
  round >> "$work/without"
  start_collector
  round >> "$work/with"
  stop_collector
done
without=$(median < "$work/without")
with=$(median < "$work/with")
echo "| TCP connect+close over loopback ($n per round, median of $rounds rounds) | µs per connection |"
echo "|---|---|"
echo "| without the collector | $without |"
echo "| with the collector | $with |"
echo "| ratio | $(awk -v a="$with" -v b="$without" 'BEGIN {printf "%.2f", a / b}') |"
echo
echo "rounds without: $(paste -sd' ' "$work/without"); with: $(paste -sd' ' "$work/with")"
echo
echo "collector, last round: $(tail -1 "$work/coll.err")"
