#!/usr/bin/env bash
# Throughput benchmark: egress-ids against its floors and a peer, on realistic captures.
#
#   bash bench/run.sh           npm mix 1 GiB + a recorded capture of real clients 1 GiB +
#                               small-packet mix 256 MiB + 2M-flow SYN flood
#   bash bench/run.sh --quick   smoke version: 8 MiB + 8 MiB + 4 MiB + 20k flows, 1 run, tshark optional
#
# The captures are written by bench/gen.rs (`bench-gen`) into a temp dir (removed on exit) from
# copies of the real flows in pcaps/. For each capture it times, page cache warm (one untimed
# read first), the median of RUNS runs each:
#   cat F >/dev/null                        the floor: reading the bytes
#   tcpdump -r F -w /dev/null               the libpcap floor: reading and writing every record
#   tshark ... (SNI and DNS names)          the peer, TSHARK_RUNS runs (slow: ~35 s for the 1 GiB
#                                           npm mix, ~22 s for the 256 MiB small mix on 1 core)
#   egress-ids replay --threads 1|2|4 -q --eve /dev/null F  (all event types, the default)
#   egress-ids replay --threads 1|2 --eve-types alert ...   (alerts only)
# The second capture is not generated: bench/record.sh records it from real clients (dig, curl
# over TLS to openssl s_server and over HTTP to python's http.server) in network namespaces
# (needs root; BENCH_RECORDED=FILE uses a capture of your own instead, BENCH_RECORDED=none skips).
# After the tables, the issue-14 targets (npm mix and recorded capture within 1.5x cat with
# --threads 1; small mix >= 2.8 Mpps with every event type, > 4 Mpps alerts only), each met or
# missed; for a missed one, when perf is installed, the flat profile of that replay.
# The machine's state heads the output: page cache (fincore of each capture before its runs),
# transparent hugepages, and the page cache's large folios (FileHugePages).
# With the npm mix also, when this build has `--rules`: the same `--threads 1` replay with the
# ET Open rules of bench/rules/et-open-simple.rules.gz loaded, and the load time alone (a
# 98-packet capture replayed with and without the rules); the paragraph after the table gives
# the total ratio and the ratio of the packet work (replay minus load) to the replay without rules.
# and prints a markdown table (seconds, Gbit/s, Mpps, peak RSS, ratio to cat) on stdout, to
# paste into bench/RESULTS.md. Progress goes to stderr. Each capture is also replayed once with
# the summary, whose alert count must be what the cloned C2 captures' .expected files say. Then
# the flood: one run of `egress-ids replay --threads 1 --flow-memcap 256MiB --eve /dev/null` over
# the SYN flood (without -q: the summary's eviction lines are shown), with its peak RSS. Options
# this build lacks (--threads, --flow-memcap) are left out with a note.
#
# Environment: RUNS (default 5; --quick 1), TSHARK_RUNS (default 1; 0 skips tshark), BENCH_RECORDED,
# BENCH_SIZE (npm mix, default 1GiB), BENCH_SMALL_SIZE (default 256MiB), BENCH_FLOOD_FLOWS
# (default 2000000), BENCH_TMPDIR (where captures go; default $TMPDIR or /tmp; needs ~1.5 GB),
# EGRESS_IDS (binary to measure; default: the release build of this tree), CARGO_TARGET_DIR.
# Needs tcpdump, GNU time (/usr/bin/time) and, unless --quick or TSHARK_RUNS=0, tshark:
# `bash scripts/install-deps.sh --bench`.
# egress-ids exit codes: 0 no alert, 1 alerts (both success), 2 error (failure).
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
  echo "bench/run.sh: $*" >&2
  exit 1
}

quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    -h | --help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown argument '$arg' (only --quick)" >&2; exit 2 ;;
  esac
done
if [ "$quick" -eq 1 ]; then
  runs=${RUNS:-1} npm_size=${BENCH_SIZE:-8MiB} small_size=${BENCH_SMALL_SIZE:-4MiB} record_mib=8
  flood_flows=${BENCH_FLOOD_FLOWS:-20000}
else
  runs=${RUNS:-5} npm_size=${BENCH_SIZE:-1GiB} small_size=${BENCH_SMALL_SIZE:-256MiB} record_mib=1024
  flood_flows=${BENCH_FLOOD_FLOWS:-2000000}
fi
tshark_runs=${TSHARK_RUNS:-1}
[[ "$runs" =~ ^[0-9]+$ ]] && [ "$runs" -ge 1 ] && [ "$runs" -le 100 ] || die "RUNS must be 1..100, not '$runs'"
[[ "$tshark_runs" =~ ^[0-9]+$ ]] && [ "$tshark_runs" -le 100 ] || die "TSHARK_RUNS must be 0..100, not '$tshark_runs'"
[[ "$flood_flows" =~ ^[0-9]+$ ]] && [ "$flood_flows" -ge 1 ] || die "BENCH_FLOOD_FLOWS must be a positive number"

command -v tcpdump >/dev/null || die "tcpdump is missing: bash scripts/install-deps.sh"
/usr/bin/time --version 2>&1 | grep -q GNU || die "GNU time (/usr/bin/time) is missing: bash scripts/install-deps.sh"
if [ "$tshark_runs" -gt 0 ] && ! command -v tshark >/dev/null; then
  [ "$quick" -eq 1 ] || die "tshark is missing: bash scripts/install-deps.sh --bench (or TSHARK_RUNS=0 to skip it)"
  echo "bench/run.sh: tshark is not installed; --quick skips it" >&2
  tshark_runs=0
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
echo "bench/run.sh: building egress-ids and bench-gen (release)" >&2
cargo build --release --locked --quiet --bin egress-ids --example bench-gen
bin=${EGRESS_IDS:-$CARGO_TARGET_DIR/release/egress-ids}
gen=$CARGO_TARGET_DIR/release/examples/bench-gen
[ -x "$bin" ] || die "no egress-ids binary at $bin"

tmp=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/egress-ids-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

has_flag() { "$bin" replay --help 2>&1 | grep -q -- "$1"; }
threads_ok=0 memcap_ok=0
has_flag --threads && threads_ok=1
has_flag --flow-memcap && memcap_ok=1

# run_once OKCODES CMD...: one timed run; prints "microseconds peak-RSS-KiB". Wall time from
# the nanosecond clock (GNU time's %e has only centiseconds), peak RSS from GNU time's %M.
run_once() {
  local ok=$1 t0 t1 rc=0
  shift
  t0=$(date +%s%N)
  /usr/bin/time -f '%e %M' -o "$tmp/time" "$@" >/dev/null 2>"$tmp/stderr" || rc=$?
  t1=$(date +%s%N)
  case " $ok " in
    *" $rc "*) ;;
    *) echo "bench/run.sh: '$*' failed (exit code $rc):" >&2
       tail -n 5 "$tmp/stderr" >&2
       exit 1 ;;
  esac
  echo "$(((t1 - t0) / 1000)) $(tail -n 1 "$tmp/time" | awk '{print $2}')"
}

median_col() { awk -v c="$1" '{print $c}' "$tmp/runs" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

# measure LABEL OKCODES N CMD...: N runs; appends "label|median µs|median RSS KiB|N" to $rows
# (default $tmp/rows).
measure() {
  local label=$1 ok=$2 n=$3 i
  shift 3
  echo "bench/run.sh:   $label ($n run(s))" >&2
  : >"$tmp/runs"
  for ((i = 0; i < n; i++)); do
    run_once "$ok" "$@" >>"$tmp/runs"
  done
  echo "$label|$(median_col 1)|$(median_col 2)|$n" >>"${rows:-$tmp/rows}"
}

# The rules of the rules rows: ET Open (BSD, sids 2000000-2799999), those egress-ids loads.
rules_ok=0 rules_n=0
if has_flag -- --rules && [ -f bench/rules/et-open-simple.rules.gz ]; then
  gunzip -c bench/rules/et-open-simple.rules.gz >"$tmp/et.rules"
  rules_n=$(grep -c '^alert' "$tmp/et.rules")
  rules_ok=1
fi

# row_us LABEL-PREFIX FILE: the median µs of the first row of FILE whose label starts so.
row_us() { awk -F'|' -v l="$1" 'index($1, l) == 1 { print $2; exit }' "$2"; }

# rules_report: the rules paragraph after the npm table.
rules_report() {
  local base with load_with load_without
  base=$(row_us "egress-ids \`--threads 1\`" "$tmp/rows")
  with=$(row_us "egress-ids \`--threads 1 --rules\`" "$tmp/rows")
  load_with=$(row_us "with" "$tmp/rows.load")
  load_without=$(row_us "without" "$tmp/rows.load")
  echo
  awk -v b="$base" -v w="$with" -v lw="$load_with" -v lo="$load_without" -v n="$rules_n" 'BEGIN {
    load = (lw - lo) / 1e6
    printf "**Rules.** %d ET Open rules (`--rules`): loading takes %.3f s (a 98-packet capture replayed in %.3f s with them, %.3f s without). ", n, load, lw / 1e6, lo / 1e6
    printf "The npm mix replays in %.3f s with them against %.3f s without: %.2fx in all, %.2fx for the packets (the replay minus the load).\n", w / 1e6, b / 1e6, w / b, (w / 1e6 - load) / (b / 1e6) }'
}

# generate MIX SIZE-ARGS...: writes $tmp/<mix>.pcap; sets cap, cap_packets, cap_bytes, cap_gen_s,
# cap_alerts (alerts the cloned C2 captures expect).
generate() {
  local mix=$1 t0 t1
  shift
  cap=$tmp/$mix.pcap
  echo "bench/run.sh: generating the $mix mix ($*)" >&2
  t0=$(date +%s%N)
  "$gen" --mix "$mix" "$@" --out "$cap" 2>"$tmp/gen.log" || { cat "$tmp/gen.log" >&2; die "bench-gen failed"; }
  t1=$(date +%s%N)
  cat "$tmp/gen.log" >&2
  cap_gen_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", (b - a) / 1e9}')
  cap_packets=$(grep -o '[0-9]* packets' "$tmp/gen.log" | head -n 1 | awk '{print $1}') || true
  cap_alerts=$(grep -o 'expected alerts: [0-9a-z]*' "$tmp/gen.log" | awk '{print $3}') || true
  [ -n "$cap_packets" ] || die "bench-gen printed no packet count"
  cap_alerts=${cap_alerts:-unknown}
  cap_bytes=$(stat -c %s "$cap")
  cap_origin="generated in $cap_gen_s s"
}

# record: writes $tmp/recorded.pcap with bench/record.sh (real clients), or takes BENCH_RECORDED;
# sets what generate sets. Returns 1 (with a note) when there is no such capture in this run.
record() {
  local given=${BENCH_RECORDED:-} t0 t1
  cap_alerts=unknown
  if [ "$given" = none ]; then
    echo "Note: BENCH_RECORDED=none: no recorded capture in this run."
    return 1
  elif [ -n "$given" ]; then
    [ -f "$given" ] || die "BENCH_RECORDED=$given: no such file"
    cap=$given
    cap_origin="recorded elsewhere: $given"
  elif [ "$(id -u)" -ne 0 ]; then
    echo
    echo "Note: no recorded capture: bench/record.sh needs root (network namespaces)."
    return 1
  else
    cap=$tmp/recorded.pcap
    echo "bench/run.sh: recording $record_mib MiB of real clients (bench/record.sh)" >&2
    t0=$(date +%s%N)
    bash bench/record.sh "$cap" "$record_mib" 2>"$tmp/record.log" || { cat "$tmp/record.log" >&2; die "bench/record.sh failed"; }
    t1=$(date +%s%N)
    cat "$tmp/record.log" >&2
    cap_origin="recorded by bench/record.sh in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", (b - a) / 1e9}') s: $(grep -o '[0-9]* rounds' "$tmp/record.log" || echo '? rounds') of dig + curl (TLS, HTTP)"
  fi
  cap_bytes=$(stat -c %s "$cap")
  cap_packets=$(tcpdump -r "$cap" --count 2>/dev/null | grep -o '^[0-9]*' | head -n 1) || true
  [ -n "$cap_packets" ] || die "tcpdump could not count the packets of $cap"
}

# table TITLE: the markdown table of $tmp/rows for the current capture.
table() {
  echo
  echo "### $1"
  echo
  echo "$cap_packets packets, $cap_bytes bytes ($cap_origin); median of the runs given; page cache warm ($cap_cache before the runs)."
  echo
  echo "| command | runs | seconds | Gbit/s | Mpps | peak RSS (MiB) | x cat |"
  echo "|---|---|---|---|---|---|---|"
  awk -F'|' -v bytes="$cap_bytes" -v pkts="$cap_packets" '
    NR == 1 { cat = $2 }
    { s = $2 / 1e6; if (s <= 0) s = 1e-6
      printf "| %s | %d | %.3f | %.2f | %.3f | %.1f | %.1f |\n", $1, $4, s, bytes * 8 / s / 1e9, pkts / s / 1e6, $3 / 1024, $2 / cat }' "$tmp/rows"
}

# check_alerts: one untimed replay with the summary; its alert count must be what the cloned C2
# captures expect.
check_alerts() {
  local rc=0 found
  "$bin" replay --eve /dev/null "$cap" >/dev/null 2>"$tmp/summary" || rc=$?
  [ "$rc" -le 1 ] || { cat "$tmp/summary" >&2; die "egress-ids failed on $cap (exit code $rc)"; }
  found=$(grep -o '[0-9]* alerts in' "$tmp/summary" | head -n 1 | awk '{print $1}')
  echo
  echo "egress-ids summary: \`$(head -n 1 "$tmp/summary" | sed 's/^egress-ids: //')\`"
  if [ "$cap_alerts" = "unknown" ]; then
    echo "(alerts: $found; no count is expected of this capture)"
  elif [ "$found" != "$cap_alerts" ]; then
    echo
    echo "**alert count: $found, but the cloned C2 captures expect $cap_alerts**"
    alert_mismatch=1
  else
    echo "(alerts: $found, as the cloned C2 captures expect)"
  fi
}

bench_capture() {
  local title=$1 file
  file=$cap
  : >"$tmp/rows"
  cat "$file" >/dev/null # warm the page cache (untimed)
  cap_cache=$(page_cache "$file")
  measure "\`cat\` (floor)" 0 "$runs" cat "$file"
  measure "\`tcpdump -r F -w /dev/null\` (libpcap floor)" 0 "$runs" tcpdump -r "$file" -w /dev/null
  if [ "$tshark_runs" -gt 0 ]; then
    measure "tshark, SNI + DNS names" 0 "$tshark_runs" tshark -r "$file" -T fields \
      -e tls.handshake.extensions_server_name -e dns.qry.name -Y 'tls.handshake.type==1 || dns'
  fi
  if [ "$threads_ok" -eq 1 ]; then
    measure "egress-ids \`--threads 1\`" "0 1" "$runs" "$bin" replay --threads 1 -q --eve /dev/null "$file"
    measure "egress-ids \`--threads 2\`" "0 1" "$runs" "$bin" replay --threads 2 -q --eve /dev/null "$file"
    measure "egress-ids \`--threads 4\`" "0 1" "$runs" "$bin" replay --threads 4 -q --eve /dev/null "$file"
    if [ "${2:-}" = rules ] && [ "$rules_ok" -eq 1 ]; then
      measure "egress-ids \`--threads 1 --rules\` ($rules_n rules)" "0 1" "$runs" "$bin" replay --threads 1 -q --rules "$tmp/et.rules" --eve /dev/null "$file"
      : >"$tmp/rows.load"
      rows=$tmp/rows.load measure "with the rules, pcaps/ioc-sni.pcap" "0 1" "$runs" "$bin" replay -q --rules "$tmp/et.rules" --eve /dev/null pcaps/ioc-sni.pcap
      rows=$tmp/rows.load measure "without, pcaps/ioc-sni.pcap" "0 1" "$runs" "$bin" replay -q --eve /dev/null pcaps/ioc-sni.pcap
    fi
    if has_flag --eve-types; then
      # Alerts only (Suricata users switch eve-log types the same way): no app-layer events built.
      measure "egress-ids \`--threads 1 --eve-types alert\`" "0 1" "$runs" "$bin" replay --threads 1 --eve-types alert -q --eve /dev/null "$file"
      measure "egress-ids \`--threads 2 --eve-types alert\`" "0 1" "$runs" "$bin" replay --threads 2 --eve-types alert -q --eve /dev/null "$file"
    fi
  else
    measure "egress-ids (single-threaded; no \`--threads\` in this build)" "0 1" "$runs" \
      "$bin" replay -q --eve /dev/null "$file"
  fi
  table "$title"
  if [ "${2:-}" = rules ] && [ "$rules_ok" -eq 1 ]; then rules_report; fi
  check_alerts
  # The file stays until the end (the targets may profile a replay of it); the temp dir goes then.
  keep_targets "$3"
}

# page_cache FILE: how much of FILE the page cache holds (fincore), for the table's head.
page_cache() {
  if command -v fincore >/dev/null; then
    fincore -b -n -o RES,SIZE "$1" 2>/dev/null | awk '{printf "page cache holds %d of its %d bytes", $1, $2}'
  else
    echo "page cache: fincore not installed"
  fi
}

# keep_targets NAME: remembers the rows the targets judge, for the capture called NAME.
keep_targets() {
  local name=$1 cat t1 alert
  cat=$(row_us "\`cat\`" "$tmp/rows")
  t1=$(row_us "egress-ids \`--threads 1\`" "$tmp/rows")
  alert=$(row_us "egress-ids \`--threads 1 --eve-types alert\`" "$tmp/rows")
  echo "$name|$cat|$t1|${alert:-0}|$cap_packets|$cap" >>"$tmp/targets"
}

# judge NAME WHAT LIMIT-KIND LIMIT: one target line; a missed one gets the profile of its replay.
# LIMIT-KIND is xcat (at most LIMIT times cat, --threads 1, every event type), mpps (at least
# LIMIT Mpps, every event type) or alert-mpps (at least LIMIT Mpps, --eve-types alert).
judge() {
  local name=$1 what=$2 kind=$3 limit=$4 line verdict args
  line=$(awk -F'|' -v n="$name" '$1 == n' "$tmp/targets")
  [ -n "$line" ] || { echo "- $what: not measured in this run"; return; }
  verdict=$(echo "$line" | awk -F'|' -v k="$kind" -v l="$limit" '{
    if (k == "xcat") { v = $3 / $2; ok = v <= l; printf "%.2fx cat (%.3f s vs %.3f s)", v, $3 / 1e6, $2 / 1e6 }
    else { us = (k == "mpps") ? $3 : $4; v = $5 / us; ok = v >= l; printf "%.2f Mpps (%.3f s)", v, us / 1e6 }
    printf "|%d", ok }')
  if [ "${verdict##*|}" -eq 1 ]; then
    echo "- $what: **met**, ${verdict%|*}"
    return
  fi
  echo "- $what: **missed**, ${verdict%|*}"
  args=(--threads 1)
  [ "$kind" != alert-mpps ] || args+=(--eve-types alert)
  local file
  file=$(echo "$line" | awk -F'|' '{print $6}')
  if command -v perf >/dev/null && [ -f "$file" ]; then
    perf record -q -o "$tmp/perf.data" "$bin" replay "${args[@]}" -q --eve /dev/null "$file" >/dev/null 2>&1 || true
    echo
    echo "  Where the time goes (\`perf record\`, flat, symbols over 2 %):"
    echo
    perf report -i "$tmp/perf.data" --no-children --sort dso,sym --percent-limit 2 --stdio 2>/dev/null \
      | awk '/^ +[0-9.]+%/ {sub(/^ +/, ""); printf "  - %s\n", $0}' | head -n 15
    echo
  else
    echo "  (no profile: perf is not installed, \`bash scripts/install-deps.sh --bench\`)"
  fi
}

# The machine and tool versions, as the head of the markdown.
describe_machine() {
  local mode="" tshark_v=""
  [ "$quick" -eq 0 ] || mode=" --quick"
  [ "$tshark_runs" -eq 0 ] || tshark_v=", $(tshark --version 2>/dev/null | head -n 1 | sed 's/ (Git.*//')"
  echo "## bench/run.sh$mode ($(date -u +%Y-%m-%d))"
  echo
  echo "- CPU: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) cores; RAM $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "- OS: $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
  echo "- $("$bin" --version 2>/dev/null | head -n 1) (git $(git rev-parse --short HEAD 2>/dev/null || echo '?')), $(rustc --version 2>/dev/null || echo 'rustc ?'), release build"
  echo "- tools: $(tcpdump --version 2>&1 | head -n 1), $(tcpdump --version 2>&1 | sed -n 2p)$tshark_v, $(cat --version | head -n 1)"
  echo "- memory state at the start: transparent hugepages \`$(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo '?')\`; page cache $(awk '/^Cached:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), of which large folios (FileHugePages) $(awk '/^FileHugePages:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo); free $(awk '/^MemFree:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo); load average $(cut -d' ' -f1-3 /proc/loadavg)"
  if [ "$threads_ok" -eq 0 ]; then
    echo
    echo "Note: this egress-ids has no \`--threads\` option yet; one single-threaded row replaces the threads 1/2 rows."
  fi
  if [ "$tshark_runs" -eq 0 ]; then
    echo
    echo "Note: tshark skipped (not installed, or TSHARK_RUNS=0)."
  fi
}

alert_mismatch=0
describe_machine
: >"$tmp/targets"
generate npm --size "$npm_size"
bench_capture "npm mix ($npm_size): registry handshakes, tarball and bulk downloads, C2 callbacks" rules npm
if record; then
  bench_capture "recorded capture ($record_mib MiB): real dig and curl (TLS and HTTP), not generated" "" recorded
fi
generate small --size "$small_size"
bench_capture "small-packet mix ($small_size): DNS exchanges and TLS/HTTP handshakes only" "" small

echo
echo "### Targets (issue 14)"
echo
judge npm "npm mix, \`--threads 1\`, within 1.5x \`cat\`" xcat 1.5
judge recorded "recorded capture, \`--threads 1\`, within 1.5x \`cat\`" xcat 1.5
judge small "small mix, every event type, >= 2.8 Mpps on one core" mpps 2.8
judge small "small mix, \`--eve-types alert\`, > 4 Mpps on one core" alert-mpps 4
rm -f "$tmp/npm.pcap" "$tmp/recorded.pcap" "$tmp/small.pcap"

# The flood: one run, flow table under pressure.
generate synflood --flows "$flood_flows"
flags=()
echo
echo "### SYN flood: $cap_packets SYNs, one flow each ($cap_bytes bytes)"
echo
if [ "$threads_ok" -eq 1 ]; then flags+=(--threads 1); else echo "Note: no \`--threads\` in this build; run without it."; fi
if [ "$memcap_ok" -eq 1 ]; then flags+=(--flow-memcap 256MiB); else echo "Note: no \`--flow-memcap\` in this build; run without it (no flow memory cap)."; fi
echo
echo "bench/run.sh:   egress-ids on the flood (1 run)" >&2
rc=0
t0=$(date +%s%N)
/usr/bin/time -f '%e %M' -o "$tmp/time" "$bin" replay "${flags[@]}" --eve /dev/null "$cap" >/dev/null 2>"$tmp/flood.err" || rc=$?
t1=$(date +%s%N)
[ "$rc" -le 1 ] || { cat "$tmp/flood.err" >&2; die "egress-ids failed on the flood (exit code $rc)"; }
echo "\`egress-ids replay ${flags[*]:+${flags[*]} }--eve /dev/null F\` (summary kept, no \`-q\`): $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e9}') s, peak RSS $(tail -n 1 "$tmp/time" | awk '{printf "%.1f", $2 / 1024}') MiB."
echo
echo "- summary: \`$(head -n 1 "$tmp/flood.err" | sed 's/^egress-ids: //')\`"
if grep -qi evict "$tmp/flood.err"; then
  grep -i evict "$tmp/flood.err" | sed 's/^ */- eviction: `/; s/$/`/'
else
  echo "- eviction: (no line containing 'evict' in the summary)"
fi
rm -f "$cap"
[ "$alert_mismatch" -eq 0 ] || die "egress-ids' alert count differs from what the cloned C2 captures expect (see above)"
