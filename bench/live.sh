#!/usr/bin/env bash
# Live-capture benchmark: alert latency of `egress-ids live` under tcpreplay load on a veth, and
# kernel drops at `tcpreplay --topspeed` next to tcpdump's on the same interface in the same run.
#
#   bash bench/live.sh           4 npm-mix captures of 64 MiB (25 C2 copies each: 250 alerts)
#   bash bench/live.sh --quick   smoke version: one 4 MiB capture, seconds
#
# Must run as root. Everything happens in a network namespace of its own (eids-bench-<pid>)
# holding both ends of a veth pair (eids-tx -> eids-rx, no addresses, IPv6 disabled: the kernel
# sends nothing on the link); the root namespace is not touched. An EXIT trap stops what the
# script started (by PID) and deletes the namespace, also on failure or Ctrl-C.
#
# Load: npm-mix captures from bench/gen.rs (`bench-gen --mix npm --c2 N --seed i`, one seed per
# capture so no 5-tuple recurs), whose cloned C2 callbacks raise alerts.
#
# 1. Latency: `egress-ids live --warmup 0 --eve FILE` captures on eids-rx while
#    `tcpreplay --mbps LIVE_MBPS` sends every capture once on eids-tx. A follower (python3,
#    inotify on FILE) stamps each alert line with CLOCK_REALTIME when the line is complete in
#    the file; latency = that stamp - the alert's `timestamp` (the kernel's capture time of its
#    packet, also CLOCK_REALTIME). Count, p50, p99, max, overall and per detection. The alert
#    count is checked against `egress-ids replay` of the same files. Run three times: with
#    --no-attribute --capture-threads 2 (AF_PACKET fanout), with --no-attribute (the baseline),
#    then as the default runs (root: with the process collector).
# 2. Drops: the same captures with `tcpreplay --topspeed --loop DROP_LOOPS`, once for each
#    capturer on eids-rx, same ring (LIVE_RING_MIB, 64), same snaplen (65535), not promiscuous:
#      egress-ids live --eve /dev/null --buffer-size 64MiB   (threads: one per core, the default;
#                                                             no -q: its summary has the counters)
#      egress-ids live --no-attribute --eve /dev/null --buffer-size 64MiB   (without the process
#                                                             collector, on by default as root)
#      egress-ids live --threads 1 --eve /dev/null --buffer-size 64MiB
#      tcpdump -p -s 65535 -B 65536 -w /dev/null
#      tcpdump ... --immediate-mode   (libpcap's TPACKET_V2 ring, as egress-ids' immediate mode)
#    and compares frames sent (tcpreplay's "Actual"), received and dropped by the kernel
#    (libpcap's counters: egress-ids' summary, tcpdump's exit lines), and frames lost before
#    any socket saw them (sent - received; the veth's own drop counters alongside).
# 3. Highest rate without kernel drops: `tcpreplay --pps R --limit R*RATE_SECS` over the same
#    captures for each step R of RATE_STEPS (bounded: at most RATE_SECS seconds a step, and a
#    capturer stops at its first step with drops; the step `topspeed` is the drop runs' load,
#    `--topspeed --loop DROP_LOOPS`), for
#      egress-ids live --no-attribute --capture-threads 1 --eve /dev/null --buffer-size 64MiB
#      egress-ids live --no-attribute --capture-threads 2 --eve /dev/null ...  (AF_PACKET fanout,
#                                                                   one 64 MiB ring per thread)
#      tcpdump -p -s 65535 -B 65536 -w /dev/null
#    and reports each one's highest step and tcpreplay's achieved pps there, and egress-ids'
#    as a ratio of tcpdump's, from the same run.
# Prints markdown on stdout (a section of bench/RESULTS.md, from level 3); progress on stderr.
#
# Environment: LIVE_SIZE (per capture, default 64MiB; --quick 4MiB), LIVE_CAPTURES (default 4;
# --quick 1), LIVE_C2 (C2 copies per capture, default 25; --quick 2), LIVE_MBPS (default 500;
# --quick 200), DROP_LOOPS (default 3; --quick 1), RATE_STEPS (pps steps, ascending, 'topspeed'
# allowed last; default "25000 50000 100000 200000 400000 topspeed"; --quick "20000 topspeed"),
# RATE_SECS (seconds of traffic a step, default 5; --quick 2), LIVE_RING_MIB (capture ring of every
# capturer in the drop runs, MiB; default 64), EGRESS_IDS (binary; default the release
# build of this tree), BENCH_TMPDIR (default $TMPDIR or /tmp), CARGO_TARGET_DIR.
# Needs ip (iproute2), tcpreplay, tcpdump, python3: `bash scripts/install-deps.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."

prog=bench/live.sh
die() {
  echo "$prog: $*" >&2
  exit 1
}
log() { echo "$prog: $*" >&2; }

quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    -h | --help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "$prog: unknown argument '$arg' (only --quick)" >&2; exit 2 ;;
  esac
done
if [ "$quick" -eq 1 ]; then
  size=${LIVE_SIZE:-4MiB} ncaps=${LIVE_CAPTURES:-1} c2=${LIVE_C2:-2} mbps=${LIVE_MBPS:-200} loops=${DROP_LOOPS:-1}
  rates=${RATE_STEPS:-"20000 topspeed"} rate_secs=${RATE_SECS:-2}
else
  size=${LIVE_SIZE:-64MiB} ncaps=${LIVE_CAPTURES:-4} c2=${LIVE_C2:-25} mbps=${LIVE_MBPS:-500} loops=${DROP_LOOPS:-3}
  rates=${RATE_STEPS:-"25000 50000 100000 200000 400000 topspeed"} rate_secs=${RATE_SECS:-5}
fi
ring=${LIVE_RING_MIB:-64}
for step in $rates; do
  [[ "$step" =~ ^[0-9]+$ ]] || [ "$step" = topspeed ] || die "RATE_STEPS: '$step' is neither a number nor 'topspeed'"
done
for v in ncaps c2 mbps loops ring rate_secs; do
  if ! [[ "${!v}" =~ ^[0-9]+$ ]] || [ "${!v}" -lt 1 ] || [ "${!v}" -gt 100000 ]; then
    die "$v must be a number from 1 to 100000, not '${!v}'"
  fi
done
[ "$ncaps" -le 32 ] || die "LIVE_CAPTURES must be 1..32"

[ "$(id -u)" -eq 0 ] || die "must run as root (network namespace, packet capture)"
for t in ip tcpreplay tcpdump python3 timeout; do
  command -v "$t" >/dev/null || die "'$t' is missing: bash scripts/install-deps.sh"
done

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
log "building egress-ids and bench-gen (release)"
cargo build --release --locked --quiet --bin egress-ids --example bench-gen
bin=${EGRESS_IDS:-$CARGO_TARGET_DIR/release/egress-ids}
gen=$CARGO_TARGET_DIR/release/examples/bench-gen
[ -x "$bin" ] || die "no egress-ids binary at $bin"

NS=eids-bench-$$
TX=eids-tx
RX=eids-rx
BG_PIDS=()
tmp=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/egress-ids-live-bench.XXXXXX")
cleanup() {
  local rc=$? p
  set +e
  for p in "${BG_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${BG_PIDS[@]}"; do
    for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  ip netns del "$NS" 2>/dev/null
  rm -rf "$tmp"
  [ "$rc" -eq 0 ] || log "FAILED (exit $rc)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

nsx() { ip netns exec "$NS" "$@"; }

# forget PID: drops PID from the processes the trap stops.
forget() {
  local keep=() p
  for p in "${BG_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  BG_PIDS=("${keep[@]}")
}

# wait_line FILE NEEDLE SECS PID: waits for a line with NEEDLE in FILE while PID lives.
wait_line() {
  local i
  for ((i = 0; i < $3 * 20; i++)); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    kill -0 "$4" 2>/dev/null || { cat "$1" >&2; die "process $4 exited before printing '$2'"; }
    sleep 0.05
  done
  cat "$1" >&2
  die "no '$2' within $3 s"
}

# stop PID SIGNAL SECS: signals PID and waits at most SECS for it; returns its exit code.
stop() {
  local pid=$1 i rc=0
  kill "-$2" "$pid" 2>/dev/null || true
  for ((i = 0; i < $3 * 20; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$pid" 2>/dev/null && die "process $pid did not exit within $3 s of SIG$2"
  wait "$pid" || rc=$?
  forget "$pid"
  return "$rc"
}

# veth_drops: frames the veth pair dropped (either end, either direction).
veth_drops() {
  local n=0 dev c
  for dev in "$TX" "$RX"; do
    for c in rx_dropped tx_dropped; do n=$((n + $(nsx cat "/sys/class/net/$dev/statistics/$c"))); done
  done
  echo "$n"
}

# replay ARGS...: tcpreplay on the sending end (bounded); sets sent, rate_mbps, rate_pps.
replay() {
  timeout 900 ip netns exec "$NS" tcpreplay -i "$TX" "$@" >"$tmp/tcpreplay.out" 2>&1 \
    || { cat "$tmp/tcpreplay.out" >&2; die "tcpreplay $* failed"; }
  sent=$(awk '/Actual:/ {print $2; exit}' "$tmp/tcpreplay.out")
  rate_mbps=$(awk '/Rated:/ {for (i = 1; i <= NF; i++) if ($(i) ~ /^Mbps/) {v = $(i - 1); gsub(",", "", v); print v; exit}}' "$tmp/tcpreplay.out")
  rate_pps=$(awk '/Rated:/ {for (i = 1; i <= NF; i++) if ($(i) ~ /^pps/) {v = $(i - 1); gsub(",", "", v); print v; exit}}' "$tmp/tcpreplay.out")
  [ -n "$sent" ] || { cat "$tmp/tcpreplay.out" >&2; die "tcpreplay printed no 'Actual:' line"; }
  failed=$(awk '/Failed packets:/ {print $3; exit}' "$tmp/tcpreplay.out")
  [ "${failed:-0}" -eq 0 ] || log "note: tcpreplay reports $failed failed packets"
}

# ---------------------------------------------------------------- namespace and veth
log "namespace $NS, veth $TX -> $RX"
ip netns add "$NS"
nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$NS" link set lo up
# `name` spelled out: iproute2 reads a bare "tx..." as an abbreviation of txqueuelen.
ip -n "$NS" link add name "$TX" mtu 65535 type veth peer name "$RX" mtu 65535
ip -n "$NS" link set "$TX" up
ip -n "$NS" link set "$RX" up

# ---------------------------------------------------------------- load
caps=()
packets=0 bytes=0 expected=0
for ((i = 1; i <= ncaps; i++)); do
  f=$tmp/load-$i.pcap
  "$gen" --mix npm --size "$size" --c2 "$c2" --seed "$i" --out "$f" 2>"$tmp/gen.log" \
    || { cat "$tmp/gen.log" >&2; die "bench-gen failed"; }
  cat "$tmp/gen.log" >&2
  n=$(grep -o '[0-9]* packets' "$tmp/gen.log" | head -n 1 | awk '{print $1}')
  a=$(grep -o 'expected alerts: [0-9]*' "$tmp/gen.log" | awk '{print $3}')
  if [ -z "$n" ] || [ -z "$a" ]; then die "bench-gen printed no packet or alert count"; fi
  packets=$((packets + n)) expected=$((expected + a)) bytes=$((bytes + $(stat -c %s "$f")))
  caps+=("$f")
done
rc=0
"$bin" replay --eve "$tmp/replay.json" "${caps[@]}" >/dev/null 2>"$tmp/replay.err" || rc=$?
[ "$rc" -le 1 ] || { cat "$tmp/replay.err" >&2; die "egress-ids replay failed (exit code $rc)"; }
replay_alerts=$(grep -c '"event_type":"alert"' "$tmp/replay.json" || true)

# ---------------------------------------------------------------- the follower
cat >"$tmp/follow.py" <<'EOF'
# follow.py EVE OUT READY: appends "<visible ns>\t<alert line>" to OUT for every alert line of
# the growing file EVE, stamped with CLOCK_REALTIME when the line is complete in the file.
# Woken by inotify (IN_MODIFY); polls every millisecond when inotify is unavailable. SIGTERM:
# one last read, then exit.
import ctypes, os, select, signal, sys, time

eve, out_path, ready = sys.argv[1:4]
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)

mode, ino = "poll 1 ms", -1
try:
    libc = ctypes.CDLL(None, use_errno=True)
    ino = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    if ino >= 0 and libc.inotify_add_watch(ino, eve.encode(), 0x00000002) >= 0:  # IN_MODIFY
        mode = "inotify"
    elif ino >= 0:
        os.close(ino)
        ino = -1
except OSError:
    ino = -1

f = open(eve, "rb")
out = open(out_path, "w")
with open(ready, "w") as r:
    r.write(mode + "\n")
pending = b""
while True:
    last = stop
    if ino >= 0:
        if select.select([ino], [], [], 0.05)[0]:
            try:
                os.read(ino, 65536)
            except BlockingIOError:
                pass
    else:
        time.sleep(0.001)
    while True:
        chunk = f.read(1 << 20)
        if not chunk:
            break
        now = time.time_ns()
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if b'"event_type":"alert"' in line:
                out.write(f"{now}\t{line.decode()}\n")
    out.flush()
    if last:
        break
EOF

# ---------------------------------------------------------------- 1. latency
# The latency table of one run's seen.tsv (argv[1]).
cat >"$tmp/latency.py" <<'EOF'
import calendar, json, sys, time
rows = {}
for line in open(sys.argv[1]):
    seen, text = line.rstrip("\n").split("\t", 1)
    e = json.loads(text)
    ts = e["timestamp"]  # 2026-03-31T12:00:00.123456+0000, always UTC here
    whole, frac = ts[:19], ts[20:26]
    assert ts[26:] == "+0000", ts
    t_ns = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) * 10**9 + int(frac) * 1000
    lat_ms = (int(seen) - t_ns) / 1e6
    det = e["alert"]["metadata"]["detection"][0]
    rows.setdefault("all", []).append(lat_ms)
    rows.setdefault(det, []).append(lat_ms)

def pct(v, p):  # nearest rank
    v = sorted(v)
    return v[max(0, min(len(v) - 1, -(-len(v) * p // 100) - 1))]

print("| alerts of | count | p50 (ms) | p99 (ms) | max (ms) | min (ms) |")
print("|---|---|---|---|---|---|")
for det in ["all"] + sorted(k for k in rows if k != "all"):
    v = rows[det]
    print(f"| {det} | {len(v)} | {pct(v, 50):.3f} | {pct(v, 99):.3f} | {max(v):.3f} | {min(v):.3f} |")
if not rows:
    print("| all | 0 | - | - | - | - |")
EOF
# One latency run: `egress-ids live ... FLAGS` while tcpreplay sends every capture once; leaves
# $tmp/latencyTAG.md, the capture and attribution lines, the alert count, tcpreplay's rates.
latency_run() {
  local tag=$1; shift
  log "latency$tag: ${#caps[@]} capture(s), $packets packets, at $mbps Mbit/s"
  local eve=$tmp/live$tag.json
  : >"$eve"
  rm -f "$tmp/follow.ready"
  # Not through nsx: `ip netns exec` execs the program, so $! is egress-ids itself.
  ip netns exec "$NS" "$bin" live -i "$RX" --warmup 0 "$@" --eve "$eve" 2>"$tmp/live$tag.err" &
  local sensor=$!
  BG_PIDS+=("$sensor")
  wait_line "$tmp/live$tag.err" "capturing on $RX" 10 "$sensor"
  python3 "$tmp/follow.py" "$eve" "$tmp/seen$tag.tsv" "$tmp/follow.ready" &
  local follower=$!
  BG_PIDS+=("$follower")
  wait_line "$tmp/follow.ready" "" 10 "$follower"
  follow_mode=$(cat "$tmp/follow.ready")
  replay --mbps "$mbps" "${caps[@]}"
  lat_sent=$sent lat_rate_mbps=$rate_mbps lat_rate_pps=$rate_pps
  sleep 1 # idle: the sensor flushes what it holds
  local rc=0
  stop "$sensor" TERM 60 || rc=$?
  [ "$rc" -eq 0 ] || { cat "$tmp/live$tag.err" >&2; die "egress-ids live exited $rc"; }
  stop "$follower" TERM 10 || die "the follower failed"
  lat_capture=$(grep -o "capture $RX: .*" "$tmp/live$tag.err" || echo "capture $RX: (no summary line)")
  live_alerts=$(grep -c '"event_type":"alert"' "$eve" || true)
  # Process attribution: its state and, at the stop, what the join did.
  lat_attr=$(grep -o "process attribution: .*" "$tmp/live$tag.err" | paste -sd';' - || true)
  python3 "$tmp/latency.py" "$tmp/seen$tag.tsv" >"$tmp/latency$tag.md"
}
# Process attribution is on by default where the collector starts (root here): the same load
# without it first, the baseline of this run.
# Two capture threads (AF_PACKET fanout; an idle ring holds the merge stage back by up to its
# 50 ms lag), without the collector: compared with the baseline below.
latency_run "-fanout" --no-attribute --capture-threads 2
fan_alerts=$live_alerts fan_capture=$lat_capture
fan_sent=$lat_sent fan_mbps=$lat_rate_mbps fan_pps=$lat_rate_pps
latency_run "-noattr" --no-attribute
base_alerts=$live_alerts base_capture=$lat_capture base_attr=$lat_attr
base_sent=$lat_sent base_mbps=$lat_rate_mbps base_pps=$lat_rate_pps
latency_run ""

# ---------------------------------------------------------------- 2. drops at --topspeed
# drop_run LABEL READY-NEEDLE STOP-SIGNAL CMD...: one capturer during a replay with
# ${replay_args[@]} (--topspeed --loop DROP_LOOPS unless set); appends a row
# "label|sent|Mbit/s|pps|received|dropped|ifdropped|veth drops" to $drops_file ($tmp/drops).
drop_run() {
  local label=$1 needle=$2 sig=$3 pid rc=0 recv drop ifdrop vd0 vd1
  shift 3
  log "drops: $label"
  vd0=$(veth_drops)
  ip netns exec "$NS" "$@" >"$tmp/cap.out" 2>"$tmp/cap.err" &
  pid=$!
  BG_PIDS+=("$pid")
  wait_line "$tmp/cap.err" "$needle" 10 "$pid"
  replay "${replay_args[@]}" "${caps[@]}"
  sleep 1
  stop "$pid" "$sig" 60 || rc=$?
  [ "$rc" -eq 0 ] || { cat "$tmp/cap.err" >&2; die "$label exited $rc"; }
  vd1=$(veth_drops)
  if grep -q "capture $RX:" "$tmp/cap.err"; then
    read -r recv drop ifdrop < <(grep -o "capture $RX: .*" "$tmp/cap.err" | awk '{print $3, $9, $16}')
  else
    recv=$(awk '/packets received by filter/ {print $1}' "$tmp/cap.err")
    drop=$(awk '/packets dropped by kernel/ {print $1}' "$tmp/cap.err")
    ifdrop=$(awk '/packets dropped by interface/ {print $1}' "$tmp/cap.err")
  fi
  if [ -z "$recv" ] || [ -z "$drop" ]; then
    cat "$tmp/cap.err" >&2
    die "$label printed no kernel counters"
  fi
  echo "$label|$sent|$rate_mbps|$rate_pps|$recv|$drop|${ifdrop:-0}|$((vd1 - vd0))" >>"$drops_file"
}
replay_args=(--topspeed --loop "$loops")
drops_file=$tmp/drops
: >"$tmp/drops"
# Without -q: the summary at exit carries the kernel's counters (-q would hide them).
drop_run "\`egress-ids live --eve /dev/null --buffer-size ${ring}MiB\`" "capturing on $RX" TERM \
  "$bin" live -i "$RX" --eve /dev/null --buffer-size "${ring}MiB"
# The same without the process collector (on by default where it starts: root here).
drop_run "\`egress-ids live --no-attribute --eve /dev/null --buffer-size ${ring}MiB\`" "capturing on $RX" TERM \
  "$bin" live -i "$RX" --no-attribute --eve /dev/null --buffer-size "${ring}MiB"
# The same with one worker thread (the faster setting on two cores, bench/RESULTS.md).
drop_run "\`egress-ids live --threads 1 --eve /dev/null --buffer-size ${ring}MiB\`" "capturing on $RX" TERM \
  "$bin" live -i "$RX" --threads 1 --eve /dev/null --buffer-size "${ring}MiB"
drop_run "\`tcpdump -p -s 65535 -B $((ring * 1024)) -w /dev/null\`" "listening on $RX" INT \
  tcpdump -i "$RX" -p -s 65535 -B $((ring * 1024)) -w /dev/null
drop_run "\`tcpdump -p -s 65535 -B $((ring * 1024)) --immediate-mode -w /dev/null\`" "listening on $RX" INT \
  tcpdump -i "$RX" -p -s 65535 -B $((ring * 1024)) --immediate-mode -w /dev/null

# ---------------------------------------------------------------- 3. highest rate without drops
# rate_search LABEL READY-NEEDLE STOP-SIGNAL CMD...: the capturer at each step of $rates, up to
# its first step with kernel drops; appends "label|best step|its pps|first step with drops" to
# $tmp/rates.
rate_search() {
  local label=$1 best=none best_pps=0 first_drop=none step s pps recv drop
  for step in $rates; do
    if [ "$step" = topspeed ]; then
      replay_args=(--topspeed --loop "$loops")
    else
      replay_args=(--pps "$step" --limit "$((step * rate_secs))")
    fi
    drops_file=$tmp/rate.step
    : >"$drops_file"
    drop_run "$@"
    IFS='|' read -r _ s _ pps recv drop _ _ <"$drops_file"
    if [ "$drop" -eq 0 ]; then
      best=$step best_pps=$pps
    else
      first_drop="$step: $drop of $s dropped"
      break
    fi
  done
  echo "$label|$best|$best_pps|$first_drop" >>"$tmp/rates"
}
: >"$tmp/rates"
rate_search "\`egress-ids live --capture-threads 1\`" "capturing on $RX" TERM \
  "$bin" live -i "$RX" --no-attribute --capture-threads 1 --eve /dev/null --buffer-size "${ring}MiB"
rate_search "\`egress-ids live --capture-threads 2\`" "capturing on $RX" TERM \
  "$bin" live -i "$RX" --no-attribute --capture-threads 2 --eve /dev/null --buffer-size "${ring}MiB"
rate_search "\`tcpdump -w /dev/null\`" "listening on $RX" INT \
  tcpdump -i "$RX" -p -s 65535 -B $((ring * 1024)) -w /dev/null

# ---------------------------------------------------------------- report
mode=""
[ "$quick" -eq 0 ] || mode=" --quick"
echo "### bench/live.sh$mode ($(date -u +%Y-%m-%d))"
echo
echo "- CPU: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) cores; RAM $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
# shellcheck source=/dev/null
echo "- OS: $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
echo "- $("$bin" --version 2>/dev/null | head -n 1) (git $(git rev-parse --short HEAD 2>/dev/null || echo '?')), $(rustc --version 2>/dev/null || echo 'rustc ?'), release build"
echo "- tools: $(tcpreplay --version 2>&1 | head -n 1), $(tcpdump --version 2>&1 | head -n 1), $(tcpdump --version 2>&1 | sed -n 2p)"
echo "- link: veth pair in a namespace of its own, MTU 65535, no addresses, IPv6 off"
echo "- load: $ncaps npm-mix capture(s) from \`bench-gen --mix npm --size $size --c2 $c2 --seed 1..$ncaps\`: $packets packets, $bytes bytes, $expected alerts expected"
echo
echo "#### Alert latency: packet timestamp to line in the EVE file"
echo
echo "\`egress-ids live -i $RX --warmup 0 --eve FILE\` (all event types, default threads: $(nproc) here) while \`tcpreplay -i $TX --mbps $mbps\` sends the captures once: $lat_sent frames at $lat_rate_mbps Mbit/s, $lat_rate_pps pps (tcpreplay's \"Rated\")."
echo
cat "$tmp/latency.md"
echo
echo "- alerts: $live_alerts in live, $replay_alerts in \`egress-ids replay\` of the same files ($expected expected by bench-gen)"
echo "- $lat_capture"
echo "- ${lat_attr:-process attribution: (no line in the log)}"
echo
echo "The baseline of the same run, before it: \`egress-ids live -i $RX --warmup 0 --no-attribute --eve FILE\`, the same captures: $base_sent frames at $base_mbps Mbit/s, $base_pps pps."
echo
cat "$tmp/latency-noattr.md"
echo
echo "- alerts: $base_alerts in live; $base_capture"
echo "- ${base_attr:-process attribution: none (--no-attribute)}"
echo
echo "With two capture threads, \`egress-ids live -i $RX --warmup 0 --no-attribute --capture-threads 2 --eve FILE\` (AF_PACKET fanout, a thread and a shard per ring), the same captures: $fan_sent frames at $fan_mbps Mbit/s, $fan_pps pps."
echo
cat "$tmp/latency-fanout.md"
echo
echo "- alerts: $fan_alerts in live; $fan_capture"
echo "- measurement: the follower ($follow_mode) stamps a line with CLOCK_REALTIME once the line is complete in the file; the \`timestamp\` is the kernel's capture time (CLOCK_REALTIME, microseconds). Resolution: the follower's wake-up after the write, tens of microseconds on an idle core, more when both cores are busy (it competes with tcpreplay and the sensor)."
echo
echo "#### Drops at \`tcpreplay --topspeed --loop $loops\`, same interface, same run"
echo
echo "Each capturer alone on $RX, $ring MiB ring, snaplen 65535, not promiscuous; the same $ncaps capture(s) $loops time(s) each. Received and dropped are libpcap's kernel counters (received includes dropped); lost before the socket = sent - received (veth drop counters of both ends alongside)."
echo
echo "| capturing on $RX | frames sent | Mbit/s | pps | received by the kernel | dropped by the kernel (ring full) | dropped by the interface | lost before the socket (veth drops) | dropped + lost, % of sent |"
echo "|---|---|---|---|---|---|---|---|---|"
awk -F'|' '{ lost = $2 - $5; pct = ($2 > 0) ? 100 * ($6 + lost) / $2 : 0
  printf "| %s | %d | %s | %s | %d | %d | %d | %d (%d) | %.2f |\n", $1, $2, $3, $4, $5, $6, $7, lost, $8, pct }' "$tmp/drops"
echo
echo "#### Highest rate without kernel drops, same interface, same run"
echo
echo "Steps of \`tcpreplay --pps R --limit R*$rate_secs\` (at most $rate_secs s of traffic a step; \`topspeed\`: \`--topspeed --loop $loops\`, as in the drop runs) over the same capture(s): $rates. Each capturer alone on $RX, $ring MiB ring (egress-ids --capture-threads 2: one $ring MiB ring per thread), snaplen 65535, not promiscuous; it stops at its first step with kernel drops. \"pps\" is what tcpreplay achieved at the highest clean step (its \"Rated\" line), which may fall short of the step on this machine."
echo
echo "| capturing on $RX | highest step without kernel drops | pps achieved there | first step with drops | vs tcpdump (pps) |"
echo "|---|---|---|---|---|"
tcpdump_pps=$(awk -F'|' 'NR == 3 {print $3}' "$tmp/rates")
awk -F'|' -v t="$tcpdump_pps" '{ ratio = (t > 0) ? sprintf("%.2f", $3 / t) : "-"
  printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, ratio }' "$tmp/rates"
[ "$live_alerts" -eq "$replay_alerts" ] || log "note: live raised $live_alerts alerts, replay $replay_alerts (drops? see the capture line)"
