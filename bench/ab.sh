#!/usr/bin/env bash
# A/B benchmark: two egress-ids binaries on the same generated captures, runs interleaved
# (A, B, A, B, ...) so that drift of the machine hits both alike. For a change that must not
# cost speed (a refactor), A is the build before it and B the build after.
#
#   bash bench/ab.sh A_BINARY B_BINARY          npm mix 1 GiB, small-packet mix 256 MiB, flood 500k
#   bash bench/ab.sh --quick A_BINARY B_BINARY  8 MiB, 4 MiB, 20k flows, 3 rounds (smoke run)
#
# For each capture and setting (--threads 1 and 2, every event type and --eve-types alert) it
# prints the median wall time of ROUNDS runs (default 11) of each binary, the `cat` floor of the
# same capture measured in the same rounds, and B/A: the ratio of the medians, with the spread
# of the per-round ratios (min..max) so that noise can be told from a change. Captures come
# from bench/gen.rs (`bench-gen`) in a temp dir removed on exit; page cache warm.
# Environment: ROUNDS, BENCH_TMPDIR, CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
die() {
  echo "bench/ab.sh: $*" >&2
  exit 1
}
quick=0
if [ "${1:-}" = "--quick" ]; then
  quick=1
  shift
fi
[ $# -eq 2 ] || die "usage: bash bench/ab.sh [--quick] A_BINARY B_BINARY"
a=$1 b=$2
[ -x "$a" ] || die "$a is not an executable"
[ -x "$b" ] || die "$b is not an executable"
if [ "$quick" -eq 1 ]; then
  rounds=${ROUNDS:-3} npm=8MiB small=4MiB flood=20000
else
  rounds=${ROUNDS:-11} npm=1GiB small=256MiB flood=500000
fi
[[ "$rounds" =~ ^[0-9]+$ ]] && [ "$rounds" -ge 1 ] && [ "$rounds" -le 100 ] || die "ROUNDS must be 1..100"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release --locked --quiet --example bench-gen
gen=$CARGO_TARGET_DIR/release/examples/bench-gen
tmp=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/egress-ids-ab.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT

# secs CMD...: wall seconds of one run; exit codes 0 and 1 (alerts) are success.
secs() {
  local t0 t1 rc=0
  t0=$(date +%s%N)
  "$@" >/dev/null 2>"$tmp/err" || rc=$?
  t1=$(date +%s%N)
  [ "$rc" -le 1 ] || { cat "$tmp/err" >&2; die "failed ($rc): $*"; }
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f\n", (b - a) / 1e9}'
}

echo "# bench/ab.sh ($(date -u +%Y-%m-%d)), $rounds rounds, A = $a, B = $b"
echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -r)"
echo
echo "| capture | setting | cat floor (s) | A median (s) | B median (s) | B/A | per-round B/A min..max |"
echo "|---|---|---|---|---|---|---|"
for mix in npm small synflood; do
  case $mix in
    npm) args=(--size "$npm") ;;
    small) args=(--size "$small") ;;
    synflood) args=(--flows "$flood") ;;
  esac
  cap=$tmp/$mix.pcap
  "$gen" --mix "$mix" "${args[@]}" --out "$cap" 2>"$tmp/gen.log" || { cat "$tmp/gen.log" >&2; die "bench-gen failed"; }
  cat "$cap" >/dev/null
  settings=("--threads 1" "--threads 2" "--threads 1 --eve-types alert" "--threads 2 --eve-types alert")
  [ "$mix" = synflood ] && settings=("--threads 1")
  for setting in "${settings[@]}"; do
    : >"$tmp/rounds"
    for ((i = 0; i < rounds; i++)); do
      # shellcheck disable=SC2086
      ta=$(secs "$a" replay -q $setting --eve /dev/null "$cap")
      # shellcheck disable=SC2086
      tb=$(secs "$b" replay -q $setting --eve /dev/null "$cap")
      tc=$(secs cat "$cap")
      echo "$tc $ta $tb" >>"$tmp/rounds"
    done
    python3 - "$tmp/rounds" "$mix" "$setting" <<'PY'
import statistics, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
c, a, b = (statistics.median(r[i] for r in rows) for i in range(3))
ratios = [r[2] / r[1] for r in rows]
print(f"| {sys.argv[2]} | `{sys.argv[3]}` | {c:.3f} | {a:.3f} | {b:.3f} | {b / a:.3f} | {min(ratios):.2f}..{max(ratios):.2f} |")
PY
  done
done
