#!/usr/bin/env bash
# Input benchmark (issue 14, item 1): how egress-ids should read a capture file, measured.
#
#   bash bench/input.sh           npm mix 1 GiB, 7 interleaved rounds
#   bash bench/input.sh --quick   8 MiB, 3 rounds (smoke run)
#
# On one bench-gen npm mix, page cache warm, each round runs (in this order, so that drift hits
# all alike) and the median of ROUNDS rounds is printed with its ratio to `cat`:
#   cat F >/dev/null                           read() of 128 KiB, the floor
#   dd if=F bs=1M of=/dev/null                 read() into one reused 1 MiB buffer
#   egress-ids replay --threads 1 F            the memory-mapped path (populate ahead, release behind)
#   egress-ids replay --threads 1 - < F        the same binary reading through read() into its
#                                              reused page-aligned 1 MiB chunks (the pipe path)
# with user and system seconds (GNU time), so that the kernel's share (copying for read(),
# page-table work for the mapping) is visible. Also the machine's memory state: transparent
# hugepages and the page cache's large folios (FileHugePages), which the mapping's cost depends on.
# Environment: ROUNDS, BENCH_TMPDIR, EGRESS_IDS (binary; default the release build), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "bench/input.sh: $*" >&2; exit 1; }
quick=0
case "${1:-}" in
  --quick) quick=1 ;;
  "") ;;
  *) die "unknown argument '$1' (only --quick)" ;;
esac
if [ "$quick" -eq 1 ]; then rounds=${ROUNDS:-3} size=8MiB; else rounds=${ROUNDS:-7} size=1GiB; fi
[[ "$rounds" =~ ^[0-9]+$ ]] && [ "$rounds" -ge 1 ] && [ "$rounds" -le 100 ] || die "ROUNDS must be 1..100"
/usr/bin/time --version 2>&1 | grep -q GNU || die "GNU time (/usr/bin/time) is missing: bash scripts/install-deps.sh"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release --locked --quiet --bin egress-ids --example bench-gen
bin=${EGRESS_IDS:-$CARGO_TARGET_DIR/release/egress-ids}
tmp=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/egress-ids-input.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
f=$tmp/npm.pcap
"$CARGO_TARGET_DIR/release/examples/bench-gen" --mix npm --size "$size" --out "$f" 2>"$tmp/gen.log" \
  || { cat "$tmp/gen.log" >&2; die "bench-gen failed"; }
cat "$f" >/dev/null
# one LABEL CMD...: appends "label wall user sys" (seconds) to $tmp/runs; exit codes 0 and 1
# (alerts) are success.
one() {
  local label=$1 t0 t1 rc=0
  shift
  t0=$(date +%s%N)
  /usr/bin/time -f '%U %S' -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err" || rc=$?
  t1=$(date +%s%N)
  [ "$rc" -le 1 ] || { cat "$tmp/err" >&2; die "$label failed (exit code $rc)"; }
  echo "$label $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", (b - a) / 1e9}') $(tail -n 1 "$tmp/time")" >>"$tmp/runs"
}
: >"$tmp/runs"
for ((i = 0; i < rounds; i++)); do
  echo "bench/input.sh: round $((i + 1)) of $rounds" >&2
  one cat cat "$f"
  one dd dd if="$f" bs=1M of=/dev/null status=none
  one mapped "$bin" replay --threads 1 -q --no-progress --eve /dev/null "$f"
  one read sh -c 'exec "$0" replay --threads 1 -q --no-progress --eve /dev/null - < "$1"' "$bin" "$f"
done
median() { awk -v l="$1" -v c="$2" '$1 == l {print $c}' "$tmp/runs" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
cat_s=$(median cat 2)
echo "## bench/input.sh$([ "$quick" -eq 0 ] || echo ' --quick') ($(date -u +%Y-%m-%d), git $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo
echo "$(grep -o '[0-9]* packets, [0-9]* bytes' "$tmp/gen.log" | head -n 1) (bench-gen npm mix); $rounds rounds interleaved, medians; page cache warm; transparent hugepages \`$(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo '?')\`, FileHugePages $(awk '/^FileHugePages:/ {printf "%.2f GiB", $2 / 1048576}' /proc/meminfo) of a page cache of $(awk '/^Cached:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo); load average $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "| reader | wall s | user s | system s | x cat |"
echo "|---|---|---|---|---|"
for l in cat dd mapped read; do
  case $l in
    cat) name='`cat F` (read() of 128 KiB)' ;;
    dd) name='`dd bs=1M` (read() into one 1 MiB buffer)' ;;
    mapped) name='egress-ids `--threads 1 F` (memory-mapped)' ;;
    read) name='egress-ids `--threads 1 - < F` (read() into 1 MiB chunks)' ;;
  esac
  w=$(median "$l" 2) u=$(median "$l" 3) s=$(median "$l" 4)
  echo "| $name | $w | $u | $s | $(awk -v a="$w" -v b="$cat_s" 'BEGIN {printf "%.2f", a / b}') |"
done
