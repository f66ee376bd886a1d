#!/usr/bin/env bash
# make-captures.sh OUTDIR [SCENARIO...]
#
# Makes egress-ids' test captures from REAL clients (curl, dig, npm, node with node-fetch/axios)
# talking to REAL servers (dnsmasq, a python HTTP(S) server acting as the hosts, as a tiny npm
# registry, and as DNS over TLS and HTTPS in front of dnsmasq; a python SOCKS4/4a/5 proxy; a
# cleartext HTTP/2 server on hyper-h2), all inside two network namespaces made here and joined only to each other by a veth pair: "runner" (the CI runner, 10.77.0.2 /
# fd00:10:77::2) and "internet" (documentation addresses only: 192.0.2.0/24, 198.51.100.0/24,
# 203.0.113.0/24, 2001:db8::/32).
# Nothing touches the root namespace's network or any real external address.
#
# For each scenario it writes OUTDIR/<name>.pcap (tcpdump on the runner's veth) and
# OUTDIR/<name>.expected (the alerts egress-ids must raise, see pcaps/README.md), and checks the
# capture against the expected file (DNS queries for IOC names, TCP connections) with tcpdump -r.
#
# Must run as root. Before the namespaced part it needs the npm registry once, to fill a cache
# (node-fetch@2 + axios from fixtures/clients/package-lock.json, and the is-number tarball):
#   ${EGRESS_IDS_FIXTURES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/egress-ids-fixtures}
# Exits non-zero with a message naming the failed step.
#
# Sensor mode (tests/pcaps.rs uses it): with EGRESS_IDS_SENSOR_DIR=DIR and EGRESS_IDS_BIN=BINARY,
# `BINARY daemon --config DIR/egress-ids.toml` runs in the runner namespace for the whole session
# (stderr in DIR/daemon.log), beside a whole-session tcpdump (DIR/session.pcap). After the
# scenarios, a last step checks a signature reload: plain HTTP to builds.example-ci.net from
# local port 40001 (no alert), then the name is appended to DIR/signatures/ioc-domains.txt, the
# daemon gets SIGHUP, and the same request from local port 40002 must alert. Then the daemon gets
# SIGTERM; its exit status goes to DIR/daemon.exit.
set -euo pipefail

prog=make-captures
log() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }

ALL_SCENARIOS=(benign-registry ioc-sni npm-postinstall-ioc tls-ip-literal non-registry-tls
  node-http-ua dns-ioc-udp-tcp ipv6-ioc split-clienthello tls-port-8443 http-ip-host
  dns-fragmented-answer quic-ioc quic-v2 quic-retry quic-large-hello quic-ip-literal ech-hidden ech-grease
  dns-over-tls dns-over-https dns-over-quic
  socks-proxy h2c-node h2c-upgrade phantom-registry
  dns-cname-cloak http-methods
  lan-discovery
  sni-junk
  dns-every-kind)

[ $# -ge 1 ] || die "usage: $0 OUTDIR [SCENARIO...]  (scenarios: ${ALL_SCENARIOS[*]})"
OUTDIR=$1; shift
if [ $# -gt 0 ]; then SCENARIOS=("$@"); else SCENARIOS=("${ALL_SCENARIOS[@]}"); fi
for s in "${SCENARIOS[@]}"; do
  [[ " ${ALL_SCENARIOS[*]} " == *" $s "* ]] || die "unknown scenario '$s' (known: ${ALL_SCENARIOS[*]})"
done
[ "$(id -u)" -eq 0 ] || die "must run as root (it creates network namespaces and captures)"
for t in ip tcpdump dig dnsmasq openssl curl node npm python3 timeout; do
  command -v "$t" >/dev/null || die "'$t' not found (run scripts/install-deps.sh)"
done
mkdir -p "$OUTDIR" || die "cannot create $OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FIX=$HERE/fixtures
CACHE=${EGRESS_IDS_FIXTURES_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/egress-ids-fixtures}
PY=$(python3 -c 'import sys; print(sys.executable)')  # the real interpreter, not a pyenv shim
# aioquic (the QUIC client and server) lives in the venv scripts/install-deps.sh makes.
QUIC_PY=${EGRESS_IDS_VENV:-/opt/egress-ids/venv}/bin/python
"$QUIC_PY" -c 'import aioquic' 2>/dev/null || die "no aioquic in $QUIC_PY (run scripts/install-deps.sh)"
START=$SECONDS

# ---------------------------------------------------------------- address plan
RUN4=10.77.0.2;        RUN6=fd00:10:77::2        # the CI runner
GW4=192.0.2.1;         GW6=2001:db8::1           # the internet side of the veth
RES4=198.51.100.53;    RES6=2001:db8::53         # dnsmasq
RUN_MAC=02:00:0a:4d:00:02; INET_MAC=02:00:c0:00:02:01
declare -A HOST4=(
  [registry.npmjs.org]=203.0.113.10  [api.github.com]=203.0.113.11
  [pkg-validate.net]=203.0.113.20    [npm-health-check.io]=203.0.113.21
  [plain-crypto-js.net]=203.0.113.22 [axios-update-service.com]=203.0.113.23
  [github.com.evil-cdn.io]=203.0.113.30 [telemetry.example-cdn.net]=203.0.113.31
  [cdn.evil-mirror.net]=203.0.113.32 [builds.example-ci.net]=203.0.113.33
  [secret-c2.example-cdn.net]=203.0.113.40
  [dns.google]=203.0.113.53          [ci-cache.example-cdn.net]=203.0.113.34
  [socks.example-proxy.net]=198.51.100.80
  [x.pkg-validate.net]=203.0.113.24 [nodejs.org.evil-cdn.example]=203.0.113.25
)
# CNAME chains dnsmasq answers (alias -> target; the target is in HOST4, the alias gets a
# certificate SAN too): a benign-looking name into an IOC domain (CNAME cloaking), an
# allowlisted name out of the allowlist, and an allowlisted name into another allowlisted one.
declare -A CNAMES=([cdn.example-assets.com]=x.pkg-validate.net
  [nodejs.org]=nodejs.org.evil-cdn.example [cdn.jsdelivr.net]=api.github.com)
# An HTTPS record (RFC 9460) in AliasMode whose TargetName is the IOC name x.pkg-validate.net.
HTTPS_ALIAS=svc.example-assets.com
HTTPS_ALIAS_RDATA=000001780c706b672d76616c6964617465036e657400
declare -A HOST6=([axios-update-service.com]=2001:db8::23)
TLS_IP_LITERAL=203.0.113.7     # HTTPS by IP, no DNS, no SNI
HTTP_IP_LITERAL=203.0.113.9    # plain HTTP by IP, no DNS
IOC_DOMAINS=(pkg-validate.net npm-health-check.io plain-crypto-js.net axios-update-service.com)
SPLIT_MTU=200                  # MSS 160: curl's ~520-byte ClientHello takes 4 segments
# One name with many A records (not in HOST4: no certificate SAN, plain HTTP only). 68 answers
# make a 1139-byte DNS message: under glibc's EDNS0 limit of 1200 (so no TC, no retry over TCP),
# and over FRAG_MTU, so dnsmasq's UDP answer leaves the internet namespace as 3 IPv4 fragments.
MIRROR=mirror.example-cdn.net
MIRROR4=($(seq -f '203.0.113.%g' 100 167))
FRAG_MTU=576                   # the IPv4 minimum; fragments carry at most 552 bytes

# ---------------------------------------------------------------- cleanup
TAG=$$
RNS=eids-runner-$TAG
INS=eids-inet-$TAG
WORK=$(mktemp -d "${TMPDIR:-/tmp}/egress-ids-captures.XXXXXX")
BG_PIDS=()
cleanup() {
  local rc=$?
  set +e
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${BG_PIDS[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null
  done
  ip netns del "$RNS" 2>/dev/null
  ip netns del "$INS" 2>/dev/null
  rm -rf "/etc/netns/$RNS"
  rmdir /etc/netns 2>/dev/null
  if [ $rc -ne 0 ] && [ -z "${KEEP_WORK:-}" ]; then
    for f in "$WORK"/*.log; do [ -s "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done
  fi
  [ -n "${KEEP_WORK:-}" ] && log "work dir kept: $WORK" || rm -rf "$WORK"
  [ $rc -ne 0 ] && log "FAILED (exit $rc)"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- fixtures (root namespace; needs the npm registry once)
prepare_fixtures() {
  local cdir=$CACHE/clients
  mkdir -p "$cdir" "$CACHE/tarballs"
  if ! cmp -s "$FIX/clients/package-lock.json" "$cdir/package-lock.json" \
     || [ ! -f "$cdir/node_modules/node-fetch/package.json" ] || [ ! -f "$cdir/node_modules/axios/package.json" ]; then
    log "fixtures: npm ci node-fetch@2 + axios into $cdir (needs the npm registry)"
    cp "$FIX/clients/package.json" "$FIX/clients/package-lock.json" "$cdir/"
    (cd "$cdir" && timeout 180 npm ci --userconfig /dev/null --no-audit --no-fund --no-update-notifier \
       --loglevel=error >"$WORK/npm-ci.log" 2>&1) || { cat "$WORK/npm-ci.log" >&2; die "npm ci of the client fixtures failed"; }
  fi
  if [ ! -s "$CACHE/tarballs/is-number-7.0.0.tgz" ]; then
    log "fixtures: npm pack is-number@7.0.0 into $CACHE/tarballs (needs the npm registry)"
    (cd "$CACHE/tarballs" && timeout 120 npm pack --userconfig /dev/null --loglevel=error is-number@7.0.0 \
       >"$WORK/npm-pack.log" 2>&1) || { cat "$WORK/npm-pack.log" >&2; die "npm pack is-number@7.0.0 failed"; }
  fi
  # The phantom dependency the registry serves (phantom-registry), packed fresh (no network).
  (cd "$FIX/phantom/plain-crypto-js" && npm pack --userconfig /dev/null --loglevel=error \
     --pack-destination "$CACHE/tarballs" >"$WORK/npm-pack-phantom.log" 2>&1) \
     || { cat "$WORK/npm-pack-phantom.log" >&2; die "npm pack of fixtures/phantom/plain-crypto-js failed"; }
  # The postinstall fixture is packed fresh each run (no network needed).
  mkdir -p "$WORK/evil-proj/fixtures"
  (cd "$FIX/evil-postinstall" && npm pack --userconfig /dev/null --loglevel=error \
     --pack-destination "$WORK/evil-proj/fixtures" >"$WORK/npm-pack-evil.log" 2>&1) \
     || { cat "$WORK/npm-pack-evil.log" >&2; die "npm pack of fixtures/evil-postinstall failed"; }
  EVIL_TGZ=egress-ids-test-postinstall-1.0.0.tgz
  [ -s "$WORK/evil-proj/fixtures/$EVIL_TGZ" ] || die "npm pack did not produce $EVIL_TGZ"
}

make_certs() {
  local d=$WORK/tls san=""
  mkdir -p "$d"
  for h in "${!HOST4[@]}" "${!CNAMES[@]}"; do san+="DNS:$h,"; done
  san+="IP:$TLS_IP_LITERAL"
  {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
      -subj "/CN=egress-ids test CA" -keyout "$d/ca.key" -out "$d/ca.pem" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=egress-ids test server" \
      -keyout "$d/server.key" -out "$d/server.csr"
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$san" >"$d/ext.cnf"
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
      -days 30 -extfile "$d/ext.cnf" -out "$d/server.pem"
  } >"$WORK/openssl.log" 2>&1 || die "openssl could not make the test certificates (see $WORK/openssl.log)"
  CA=$d/ca.pem
}

# ---------------------------------------------------------------- namespaces
rx() { ip netns exec "$RNS" "$@"; }   # in the runner namespace
ix() { ip netns exec "$INS" "$@"; }   # in the internet namespace
# A client in the runner namespace, with a clean environment (no proxies, no rc files).
client() {
  ip netns exec "$RNS" env -i PATH="$PATH" HOME="$WORK/home" LANG=C.UTF-8 "$@"
}

write_resolv() {  # nameserver-address [extra resolver option]
  printf 'nameserver %s\noptions timeout:5 attempts:1%s\n' "$1" "${2:+ $2}" >"/etc/netns/$RNS/resolv.conf"
}

setup_ipv6() {  # idempotent; also after an MTU below 1280 removed IPv6 from the veth
  rx ip -6 addr replace "$RUN6/64" dev runner0 nodad
  rx ip -6 route replace "$GW6/128" dev runner0
  rx ip -6 route replace default via "$GW6" dev runner0
  rx ip -6 neigh replace "$GW6" lladdr "$INET_MAC" dev runner0 nud permanent
  ix ip -6 addr replace "$GW6/128" dev inet0 nodad
  ix ip -6 route replace fd00:10:77::/64 dev inet0
  ix ip -6 neigh replace "$RUN6" lladdr "$RUN_MAC" dev inet0 nud permanent
}

setup_netns() {
  ip netns add "$RNS" || die "ip netns add $RNS failed"
  ip netns add "$INS" || die "ip netns add $INS failed"
  local ns
  for ns in "$RNS" "$INS"; do
    # Quiet links: no router solicitations, no DAD, no link-local addresses, no ARP/ND
    # (static neighbours below), so captures hold only what the clients send.
    # MLD reports go out at once (interval 0), not seconds later into a capture.
    ip netns exec "$ns" sh -c 'for k in accept_ra=0 router_solicitations=0 accept_dad=0 dad_transmits=0 addr_gen_mode=1 \
        mldv1_unsolicited_report_interval=0 mldv2_unsolicited_report_interval=0; do
        for c in default all; do sysctl -qw net.ipv6.conf.$c.$k 2>/dev/null || true; done; done' 
    ip -n "$ns" link set lo up
  done
  # The veth pair is created directly inside the two namespaces: it never exists in the root one.
  ip -n "$RNS" link add runner0 address "$RUN_MAC" type veth peer name inet0 netns "$INS" address "$INET_MAC" \
    || die "cannot create the veth pair between $RNS and $INS"
  # No GSO/TSO super-packets: every captured TCP packet is one MSS-sized segment, as on a wire.
  rx ip link set runner0 gso_max_segs 1 || die "cannot set gso_max_segs on the veth (iproute2/kernel too old?)"
  ix ip link set inet0 gso_max_segs 1 || die "cannot set gso_max_segs on the veth (iproute2/kernel too old?)"
  rx ip link set runner0 up
  ix ip link set inet0 up
  rx ip addr add "$RUN4/24" dev runner0
  rx ip route add "$GW4/32" dev runner0
  rx ip route add default via "$GW4" dev runner0
  rx ip neigh replace "$GW4" lladdr "$INET_MAC" dev runner0 nud permanent
  ix ip addr add "$GW4/32" dev inet0
  ix ip route add 10.77.0.0/24 dev inet0
  ix ip neigh replace "$RUN4" lladdr "$RUN_MAC" dev inet0 nud permanent
  # Service addresses live on the internet namespace's loopback.
  local a
  for a in "$RES4" "$TLS_IP_LITERAL" "$HTTP_IP_LITERAL" $(printf '%s\n' "${HOST4[@]}" | sort -u) "${MIRROR4[@]}"; do
    ix ip addr add "$a/32" dev lo
  done
  for a in "$RES6" $(printf '%s\n' "${HOST6[@]}" | sort -u); do
    ix ip -6 addr add "$a/128" dev lo
  done
  setup_ipv6
  # Resolver config seen by `ip netns exec $RNS` (bind-mounted over /etc/*).
  mkdir -p "/etc/netns/$RNS"
  write_resolv "$RES4"
  printf '127.0.0.1 localhost\n::1 localhost\n' >"/etc/netns/$RNS/hosts"
  printf 'hosts: files dns\n' >"/etc/netns/$RNS/nsswitch.conf"
}

start_servers() {
  local args=() h
  # --host-record: dnsmasq answers for exactly these names, A (and AAAA where HOST6 has one);
  # --local: the other type gets NOERROR with no answer (not REFUSED), nothing is forwarded.
  for h in "${!HOST4[@]}"; do
    args+=("--host-record=$h,${HOST4[$h]}${HOST6[$h]:+,${HOST6[$h]}}" "--local=/$h/")
  done
  # An HTTPS record (RFC 9460) publishing an ECH configuration (config id 42, public name
  # cover.example-cdn.net) for secret-c2.example-cdn.net, made with a fresh X25519 key.
  ECH_RDATA=$("$QUIC_PY" "$FIX/ech_client.py" config --name cover.example-cdn.net --config-id 42 \
    --key-out "$WORK/ech.key") || die "ech_client.py could not make an ECH configuration"
  args+=("--dns-rr=secret-c2.example-cdn.net,65,$ECH_RDATA")
  for h in "${!CNAMES[@]}"; do args+=("--cname=$h,${CNAMES[$h]}" "--local=/$h/"); done
  args+=("--dns-rr=$HTTPS_ALIAS,65,$HTTPS_ALIAS_RDATA" "--local=/$HTTPS_ALIAS/")
  # A name in several --host-record lines gets all their addresses.
  for a in "${MIRROR4[@]}"; do args+=("--host-record=$MIRROR,$a"); done
  args+=("--local=/$MIRROR/")
  # Background jobs run `ip netns exec` directly (not through a shell function), so $! is the
  # server's own pid: ip execs the command.
  ip netns exec "$INS" dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --no-poll --bind-interfaces \
     --listen-address="$RES4" --listen-address="$RES6" --local-ttl=300 --user=root \
     --pid-file= --log-queries --log-facility="$WORK/dnsmasq.log" "${args[@]}" 2>"$WORK/dnsmasq.err.log" &
  BG_PIDS+=($!)
  ip netns exec "$INS" "$PY" "$FIX/servers.py" --cert "$WORK/tls/server.pem" --key "$WORK/tls/server.key" \
     --tarballs "$CACHE/tarballs" --dns-upstream "$RES4" --ready "$WORK/servers.ready" --lifetime 600 \
     >"$WORK/servers.log" 2>&1 &
  BG_PIDS+=($!)
  # aioquic: QUIC on UDP 443 (v1 and v2), 4443 (Retry first) and 853 (DNS over QUIC).
  ip netns exec "$INS" "$QUIC_PY" "$FIX/quic_peer.py" server --cert "$WORK/tls/server.pem" --key "$WORK/tls/server.key" \
     --resolver "$RES4" --listen "$TLS_IP_LITERAL" $(printf '%s\n' "${HOST4[@]}" | sort -u) --ready "$WORK/quic.ready" --lifetime 600 \
     >"$WORK/quic-server.log" 2>&1 &
  BG_PIDS+=($!)
  local i
  for i in $(seq 1 100); do
    [ -f "$WORK/servers.ready" ] && [ -f "$WORK/quic.ready" ] && ix dig +short +time=1 +tries=1 "@$RES4" registry.npmjs.org A 2>/dev/null | grep -q . \
      && ix dig +short +time=1 +tries=1 "@$RES6" axios-update-service.com AAAA 2>/dev/null | grep -q . && return 0
    sleep 0.1
  done
  die "servers did not come up in 10 s (dnsmasq/servers.py; see logs above)"
}

# ---------------------------------------------------------------- capture + checks
TPID=
start_capture() {  # name
  local pcap=$WORK/cap/$1.pcap i
  mkdir -p "$WORK/cap"
  ip netns exec "$RNS" tcpdump -i runner0 -U -Z root -w "$pcap" 2>"$WORK/tcpdump.log" &
  TPID=$!; BG_PIDS+=($TPID)
  for i in $(seq 1 100); do
    grep -q 'listening on' "$WORK/tcpdump.log" && { sleep 0.2; return 0; }
    kill -0 "$TPID" 2>/dev/null || die "tcpdump exited: $(cat "$WORK/tcpdump.log")"
    sleep 0.1
  done
  die "tcpdump did not start capturing within 10 s"
}

stop_capture() {
  sleep 1   # let FIN/ACKs and late answers arrive
  kill -INT "$TPID"
  local i
  for i in $(seq 1 50); do kill -0 "$TPID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$TPID" 2>/dev/null && die "tcpdump did not stop on SIGINT"
  wait "$TPID" || true
  grep -q 'packets captured' "$WORK/tcpdump.log" || die "tcpdump did not report its capture: $(cat "$WORK/tcpdump.log")"
  grep -q '^0 packets dropped by kernel' "$WORK/tcpdump.log" || die "tcpdump dropped packets: $(cat "$WORK/tcpdump.log")"
}

# DNS queries for IOC names in a capture, as the ioc-domain lines they must produce.
dns_ioc_lines() {  # pcap
  tcpdump -nn -t -r "$1" 'port 53' 2>/dev/null | awk -v iocs="${IOC_DOMAINS[*]}" '
    BEGIN { n = split(iocs, ioc, " ") }
    $3 == ">" && $4 ~ /\.53:$/ {
      if (!match($0, / (A|AAAA|[A-Z]+)\? [^ ]+ /)) next
      q = substr($0, RSTART + 1, RLENGTH - 2); sub(/^[A-Z]+\? /, "", q); sub(/\.$/, "", q); q = tolower(q)
      src = $2; sub(/\.[0-9]+$/, "", src); dst = $4; sub(/\.53:$/, "", dst)
      for (i = 1; i <= n; i++)
        if (q == ioc[i] || substr(q, length(q) - length(ioc[i])) == "." ioc[i])
          printf "ioc-domain\t%s\t%s\t%s\t53\n", q, src, dst
    }' | LC_ALL=C sort
}

# TCP connections opened in a capture: "src dst dport", one line per SYN.
tcp_syns() {  # pcap
  tcpdump -nn -t -r "$1" tcp 2>/dev/null | awk '$3 == ">" && /Flags \[S\],/ {
      s = $2; sub(/\.[0-9]+$/, "", s); d = $4; sub(/:$/, "", d); p = d; sub(/.*\./, "", p); sub(/\.[0-9]+$/, "", d)
      print s, d, p }' | LC_ALL=C sort
}

# Client payload segments sent before the server's first payload, on the first TCP flow to PORT.
segments_before_reply() {  # pcap port
  tcpdump -nn -t -r "$1" "tcp port $2" 2>/dev/null | awk -v port="$2" '
    $3 == ">" { len = $NF + 0; if (len == 0) next
      if ($4 ~ ("\\." port ":$")) n++; else { print n + 0; exit } }'
}

EXPECTED=()
expect() { EXPECTED+=("$(printf '%s\t' "$@" | sed 's/\t$//')"); }

# finish NAME "COMMENT" "EXPECTED TCP CONNECTIONS (src dst port; lines), or ANY-TO:ip:port"
finish() {
  local name=$1 comment=$2 flows=$3 pcap=$WORK/cap/$1.pcap exp
  exp=$WORK/cap/$name.expected
  {
    printf '%s\n' "$comment" | sed 's/^/# /'
    [ ${#EXPECTED[@]} -gt 0 ] && printf '%s\n' "${EXPECTED[@]}" | LC_ALL=C sort
  } >"$exp"
  EXPECTED=()
  # Check 1: ioc-domain lines for DNS queries == what the capture really holds.
  # (An answer chain's alert, indicator "alias -> ioc", is about the answer, not a query.)
  diff <(grep -v '^#' "$exp" | awk -F'\t' '$1 == "ioc-domain" && $5 == "53" && $2 !~ / -> /') <(dns_ioc_lines "$pcap") >"$WORK/diff.log" \
    || die "$name: DNS queries for IOC names in the capture differ from $name.expected:
$(cat "$WORK/diff.log")"
  # Check 2: the TCP connections are exactly the ones the expected file was written for.
  if [[ $flows == ANY-TO:* ]]; then
    local want=${flows#ANY-TO:}
    [ "$(tcp_syns "$pcap" | wc -l)" -ge 1 ] || die "$name: no TCP connection in the capture"
    tcp_syns "$pcap" | awk -v w="$want" '{ if ($2 ":" $3 != w) { print; bad = 1 } } END { exit bad }' >"$WORK/diff.log" \
      || die "$name: unexpected TCP connections: $(cat "$WORK/diff.log")"
  else
    diff <(printf '%s' "$flows" | sed '/^$/d' | LC_ALL=C sort) <(tcp_syns "$pcap") >"$WORK/diff.log" \
      || die "$name: TCP connections in the capture differ from the plan:
$(cat "$WORK/diff.log")"
  fi
  # Check 3: every DNS answer is NOERROR, and nothing but TCP/UDP was captured.
  if tcpdump -nn -t -r "$pcap" 'udp port 53 or tcp port 53' 2>/dev/null | grep -E ' (Refused|NXDomain|ServFail|FormErr|NotImp) ' >"$WORK/diff.log"; then
    die "$name: a DNS query was not answered NOERROR: $(cat "$WORK/diff.log")"
  fi
  tcpdump -nn -t -r "$pcap" 'not tcp and not udp' 2>/dev/null >"$WORK/diff.log"
  [ -s "$WORK/diff.log" ] && log "$name: warning: the capture holds packets other than TCP/UDP: $(head -3 "$WORK/diff.log")"
  cp "$pcap" "$OUTDIR/$name.pcap"
  cp "$exp" "$OUTDIR/$name.expected"
  log "$name: $(tcpdump -r "$pcap" 2>/dev/null | wc -l) packets, $(grep -vc '^#' "$exp" || true) expected alerts"
}

CURL=(curl -q -sS --fail --max-time 10 --noproxy '*' -o /dev/null)

# ---------------------------------------------------------------- scenarios
sc_benign-registry() {
  local reg=${HOST4[registry.npmjs.org]} proj=$WORK/benign-proj
  mkdir -p "$proj" "$WORK/home"
  printf '{"name":"benign-proj","version":"1.0.0","private":true}\n' >"$proj/package.json"
  : >"$WORK/empty-npmrc"; : >"$WORK/empty-npmrc-global"
  start_capture benign-registry
  client "${CURL[@]}" -4 --cacert "$CA" https://registry.npmjs.org/is-number || die "benign-registry: curl failed"
  (cd "$proj" && client timeout 60 npm install is-number@7.0.0 --registry=https://registry.npmjs.org/ \
     --cafile="$CA" --userconfig="$WORK/empty-npmrc" --globalconfig="$WORK/empty-npmrc-global" --cache="$WORK/npm-cache-benign" \
     --no-audit --no-fund --no-update-notifier --prefer-online --loglevel=warn >"$WORK/npm-benign.log" 2>&1) \
    || die "benign-registry: npm install is-number failed: $(cat "$WORK/npm-benign.log")"
  [ -f "$proj/node_modules/is-number/package.json" ] || die "benign-registry: is-number was not installed"
  stop_capture
  finish benign-registry "curl https://registry.npmjs.org/is-number, then a real npm install of is-number@7.0.0
from registry.npmjs.org (HTTPS). Only the allowlisted registry: no alerts." "ANY-TO:$reg:443"
}

sc_ioc-sni() {
  local ip=${HOST4[pkg-validate.net]}
  start_capture ioc-sni
  client "${CURL[@]}" -4 --cacert "$CA" https://pkg-validate.net/ || die "ioc-sni: curl failed"
  stop_capture
  expect ioc-domain pkg-validate.net "$RUN4" "$RES4" 53
  expect ioc-domain pkg-validate.net "$RUN4" "$ip" 443
  finish ioc-sni "curl -4 https://pkg-validate.net/ : one A query and one TLS flow, both name an IOC domain." \
    "$RUN4 $ip 443"
}

sc_npm-postinstall-ioc() {
  local ip=${HOST4[npm-health-check.io]} proj=$WORK/evil-proj
  mkdir -p "$WORK/home"
  printf '{"name":"victim-proj","version":"1.0.0","private":true}\n' >"$proj/package.json"
  : >"$WORK/empty-npmrc"; : >"$WORK/empty-npmrc-global"
  start_capture npm-postinstall-ioc
  (cd "$proj" && client NODE_EXTRA_CA_CERTS="$CA" timeout 60 npm install "./fixtures/$EVIL_TGZ" --offline \
     --userconfig="$WORK/empty-npmrc" --globalconfig="$WORK/empty-npmrc-global" --cache="$WORK/npm-cache-evil" \
     --no-audit --no-fund --no-update-notifier --foreground-scripts --loglevel=warn >"$WORK/npm-evil.log" 2>&1) \
    || die "npm-postinstall-ioc: npm install failed: $(cat "$WORK/npm-evil.log")"
  grep -q 'beacon 200' "$WORK/npm-evil.log" || die "npm-postinstall-ioc: the postinstall beacon did not get through: $(cat "$WORK/npm-evil.log")"
  stop_capture
  # Node's https.get with the default lookup asks for A and AAAA (getaddrinfo AF_UNSPEC).
  expect ioc-domain npm-health-check.io "$RUN4" "$RES4" 53
  expect ioc-domain npm-health-check.io "$RUN4" "$RES4" 53
  expect ioc-domain npm-health-check.io "$RUN4" "$ip" 443
  finish npm-postinstall-ioc "npm install ./fixtures/$EVIL_TGZ (--offline: npm itself uses no network); its
postinstall runs node setup.js, which GETs https://npm-health-check.io/v1/ping with Node's https
module: A + AAAA queries, then one TLS flow with the IOC SNI." "$RUN4 $ip 443"
}

sc_tls-ip-literal() {
  local ip=$TLS_IP_LITERAL
  start_capture tls-ip-literal
  client "${CURL[@]}" -k "https://$ip/" || die "tls-ip-literal: curl failed"
  stop_capture
  expect no-sni "$ip" "$RUN4" "$ip" 443
  expect direct-ip "$ip" "$RUN4" "$ip" 443
  finish tls-ip-literal "curl -k https://$ip/ : no DNS, and curl sends no SNI for an IP literal." "$RUN4 $ip 443"
}

sc_non-registry-tls() {
  local ip=${HOST4[github.com.evil-cdn.io]} gh=${HOST4[api.github.com]}
  start_capture non-registry-tls
  client "${CURL[@]}" -4 --cacert "$CA" https://github.com.evil-cdn.io/ || die "non-registry-tls: curl evil-cdn failed"
  client "${CURL[@]}" -4 --cacert "$CA" https://api.github.com/ || die "non-registry-tls: curl api.github.com failed"
  stop_capture
  expect non-registry-tls github.com.evil-cdn.io "$RUN4" "$ip" 443
  finish non-registry-tls "curl -4 https://github.com.evil-cdn.io/ (not github.com: label boundary) and
curl -4 https://api.github.com/ (allowlisted via github.com: no alert)." "$RUN4 $ip 443
$RUN4 $gh 443"
}

sc_node-http-ua() {
  local ip=${HOST4[telemetry.example-cdn.net]} reg=${HOST4[registry.npmjs.org]} out
  start_capture node-http-ua
  out=$(client NODE_PATH="$CACHE/clients/node_modules" timeout 20 node --dns-result-order=ipv4first \
        "$FIX/node-http-ua.js" 2>&1) || die "node-http-ua: client failed: $out"
  stop_capture
  local nf ax
  nf='node-fetch/1.0 (+https://github.com/bitinn/node-fetch)'   # node-fetch v2's fixed User-Agent
  ax="axios/$(node -p "require('$CACHE/clients/node_modules/axios/package.json').version")"
  # The User-Agent each client really sent, read back from the capture.
  tcpdump -nn -A -r "$WORK/cap/node-http-ua.pcap" 'tcp dst port 80' 2>/dev/null | grep -i '^User-Agent:' \
    | tr -d '\r' | sed 's/^[^:]*: //' >"$WORK/uas.log"
  grep -qxF "$nf" "$WORK/uas.log" || die "node-http-ua: no '$nf' User-Agent in the capture: $(cat "$WORK/uas.log")"
  grep -qxF "$ax" "$WORK/uas.log" || die "node-http-ua: no '$ax' User-Agent in the capture: $(cat "$WORK/uas.log")"
  grep -qxF "node" "$WORK/uas.log" || die "node-http-ua: built-in fetch did not send 'User-Agent: node': $(cat "$WORK/uas.log")"
  expect node-http-ua "$nf" "$RUN4" "$ip" 80
  expect node-http-ua "$ax" "$RUN4" "$ip" 80
  expect node-http-ua node "$RUN4" "$ip" 80
  finish node-http-ua "Plain HTTP GET http://telemetry.example-cdn.net/collect with node-fetch 2.7.0,
$ax and the built-in fetch (UA 'node'), then node-fetch to http://registry.npmjs.org/is-number
(allowlisted: no alert). Each request is its own TCP flow (the server closes)." "$RUN4 $ip 80
$RUN4 $ip 80
$RUN4 $ip 80
$RUN4 $reg 80"
}

sc_dns-ioc-udp-tcp() {
  start_capture dns-ioc-udp-tcp
  client dig +tries=1 +time=5 +short plain-crypto-js.net A | grep -qxF "${HOST4[plain-crypto-js.net]}" \
    || die "dns-ioc-udp-tcp: dig over UDP failed"
  client dig +tcp +tries=1 +time=5 +short axios-update-service.com A | grep -qxF "${HOST4[axios-update-service.com]}" \
    || die "dns-ioc-udp-tcp: dig over TCP failed"
  stop_capture
  expect ioc-domain plain-crypto-js.net "$RUN4" "$RES4" 53
  expect ioc-domain axios-update-service.com "$RUN4" "$RES4" 53
  finish dns-ioc-udp-tcp "dig plain-crypto-js.net A (UDP) and dig +tcp axios-update-service.com A (TCP). No TLS." \
    "$RUN4 $RES4 53"
}

sc_ipv6-ioc() {
  local ip=${HOST6[axios-update-service.com]}
  write_resolv "$RES6"
  start_capture ipv6-ioc
  client "${CURL[@]}" -6 --cacert "$CA" https://axios-update-service.com/ || die "ipv6-ioc: curl -6 failed"
  stop_capture
  write_resolv "$RES4"
  # curl 7.88 with -6 still resolves with A and AAAA queries (both over IPv6 here).
  expect ioc-domain axios-update-service.com "$RUN6" "$RES6" 53
  expect ioc-domain axios-update-service.com "$RUN6" "$RES6" 53
  expect ioc-domain axios-update-service.com "$RUN6" "$ip" 443
  finish ipv6-ioc "curl -6 https://axios-update-service.com/ with the resolver at $RES6: A and AAAA queries over
IPv6, then one TLS flow over IPv6 with the IOC SNI." "$RUN6 $ip 443"
}

sc_split-clienthello() {
  local ip=${HOST4[cdn.evil-mirror.net]} n
  rx ip link set runner0 mtu "$SPLIT_MTU"
  ix ip link set inet0 mtu "$SPLIT_MTU"
  start_capture split-clienthello
  client "${CURL[@]}" -4 --cacert "$CA" https://cdn.evil-mirror.net/ || die "split-clienthello: curl failed"
  stop_capture
  rx ip link set runner0 mtu 1500
  ix ip link set inet0 mtu 1500
  setup_ipv6   # an MTU below 1280 took IPv6 off the link
  n=$(segments_before_reply "$WORK/cap/split-clienthello.pcap" 443)
  [ "${n:-0}" -ge 3 ] || die "split-clienthello: ClientHello took only ${n:-0} segments (want >= 3)"
  expect non-registry-tls cdn.evil-mirror.net "$RUN4" "$ip" 443
  finish split-clienthello "veth MTU $SPLIT_MTU, no GSO: curl -4 https://cdn.evil-mirror.net/ sends its ClientHello in
segments of at most $((SPLIT_MTU - 52)) bytes (>= 3 of them). The SNI must be found across segments." "$RUN4 $ip 443"
}

sc_tls-port-8443() {
  local ip=${HOST4[builds.example-ci.net]}
  start_capture tls-port-8443
  client "${CURL[@]}" -4 --cacert "$CA" https://builds.example-ci.net:8443/ || die "tls-port-8443: curl failed"
  stop_capture
  expect non-registry-tls builds.example-ci.net "$RUN4" "$ip" 8443
  finish tls-port-8443 "curl -4 https://builds.example-ci.net:8443/ : TLS on a port other than 443." "$RUN4 $ip 8443"
}

sc_http-ip-host() {
  local ip=$HTTP_IP_LITERAL out
  start_capture http-ip-host
  out=$(client timeout 20 node "$FIX/http-ip-host.js" 2>&1) || die "http-ip-host: client failed: $out"
  stop_capture
  expect direct-ip "$ip" "$RUN4" "$ip" 80
  expect node-http-ua axios/1.7.9 "$RUN4" "$ip" 80
  finish http-ip-host "node http.request to http://$ip/beacon with User-Agent: axios/1.7.9, no DNS:
direct-ip (unresolved IP and an IP-literal Host, one flow: one alert) and node-http-ua." "$RUN4 $ip 80"
}

sc_dns-fragmented-answer() {
  local ip n frags
  # Every A record must be served, in one answer that fits glibc's 1200-byte EDNS0 buffer.
  n=$(ix dig +short +time=2 +tries=1 +bufsize=1200 +ignore "@$RES4" "$MIRROR" A | grep -c . || true)
  [ "$n" -eq ${#MIRROR4[@]} ] || die "dns-fragmented-answer: dnsmasq serves $n A records for $MIRROR (want ${#MIRROR4[@]})"
  rx ip link set runner0 mtu "$FRAG_MTU"
  ix ip link set inet0 mtu "$FRAG_MTU"
  # edns0: glibc advertises a 1200-byte UDP buffer; without it dnsmasq would truncate the answer at
  # 512 bytes and glibc would ask again over TCP, so curl's address would not come from fragments.
  write_resolv "$RES4" edns0
  start_capture dns-fragmented-answer
  ip=$(client "${CURL[@]}" -4 -w '%{remote_ip}' "http://$MIRROR/") || die "dns-fragmented-answer: curl failed"
  stop_capture
  write_resolv "$RES4"
  rx ip link set runner0 mtu 1500
  ix ip link set inet0 mtu 1500
  setup_ipv6   # an MTU below 1280 took IPv6 off the link
  [[ " ${MIRROR4[*]} " == *" $ip "* ]] || die "dns-fragmented-answer: curl connected to '$ip', not to an address of $MIRROR"
  local pcap=$WORK/cap/dns-fragmented-answer.pcap
  [ -z "$(tcpdump -nn -r "$pcap" 'tcp port 53' 2>/dev/null)" ] \
    || die "dns-fragmented-answer: DNS over TCP in the capture (the UDP answer was truncated?)"
  n=$(tcpdump -nn -t -r "$pcap" "udp dst port 53" 2>/dev/null | grep -c ' A? ' || true)
  [ "$n" -eq 1 ] || die "dns-fragmented-answer: $n A queries in the capture (want 1)"
  # The resolver's answer must be IPv4 fragments: one IP id, offset 0 with MF set, the last without.
  frags=$(tcpdump -nn -v -t -r "$pcap" "src host $RES4 and dst host $RUN4 and ((ip[6:2] & 0x3fff) != 0)" 2>/dev/null \
          | grep -c '^IP (.*, offset [0-9]*, flags \[' || true)
  tcpdump -nn -v -t -r "$pcap" "src host $RES4 and dst host $RUN4" 2>/dev/null | grep '^IP (' >"$WORK/frags.log" || true
  [ "$frags" -ge 2 ] || die "dns-fragmented-answer: the DNS answer was not fragmented ($frags fragments): $(cat "$WORK/frags.log")"
  grep -q 'offset 0, flags \[+\]' "$WORK/frags.log" && [ "$(grep -c ', offset [1-9][0-9]*, flags \[none\]' "$WORK/frags.log")" -eq 1 ] \
    && [ "$(sed 's/.*, id \([0-9]*\),.*/\1/' "$WORK/frags.log" | sort -u | wc -l)" -eq 1 ] \
    || die "dns-fragmented-answer: the fragments are not one whole datagram: $(cat "$WORK/frags.log")"
  finish dns-fragmented-answer "veth MTU $FRAG_MTU, resolv.conf 'options edns0': curl -4 http://$MIRROR/ (plain HTTP, no
--resolve). dnsmasq answers its A query with ${#MIRROR4[@]} addresses (${MIRROR4[0]}-${MIRROR4[-1]}) in one UDP
datagram sent as $frags IPv4 fragments; curl connects to one of them (dnsmasq shuffles the order). The
address was resolved (only through the fragments), the name is no IOC, curl's UA is not Node.js:
no alerts." "$RUN4 $ip 80"
}

# QUIC scenarios: aioquic's client in the runner namespace, aioquic's server in the internet one.
quic_client() {  # scenario args...
  local name=$1; shift
  client timeout 20 "$QUIC_PY" "$FIX/quic_peer.py" client --cafile "$CA" "$@" >"$WORK/quic-$name.log" 2>&1 \
    || die "$name: the QUIC client failed: $(cat "$WORK/quic-$name.log")"
  grep -q '^answer of' "$WORK/quic-$name.log" || die "$name: no answer over QUIC: $(cat "$WORK/quic-$name.log")"
}

# (After tcpdump, `grep -c >/dev/null`, never `grep -q`: grep -q stops reading at the first match,
# tcpdump then dies of SIGPIPE, and pipefail turns a found pattern into a failure.)

# Client datagrams to PORT that start with a long-header packet of VERSION (hex).
quic_long_headers() {  # pcap port version
  tcpdump -nn -t -r "$1" "udp dst port $2 and (udp[8] & 0xc0) = 0xc0 and udp[9:4] = 0x$3" 2>/dev/null | wc -l
}

sc_quic-ioc() {
  start_capture quic-ioc
  quic_client quic-ioc --host pkg-validate.net --port 443
  stop_capture
  # Python's getaddrinfo (AF_UNSPEC) asks for A and AAAA.
  expect ioc-domain pkg-validate.net "$RUN4" "$RES4" 53
  expect ioc-domain pkg-validate.net "$RUN4" "$RES4" 53
  expect ioc-domain pkg-validate.net "$RUN4" "${HOST4[pkg-validate.net]}" 443
  finish quic-ioc "aioquic client to pkg-validate.net, UDP 443, QUIC v1 (ALPN hq-interop): A and AAAA
queries, then the IOC name in the SNI of the encrypted Initial's ClientHello." ""
}

sc_quic-v2() {
  start_capture quic-v2
  quic_client quic-v2 --host telemetry.example-cdn.net --port 443 --v2
  stop_capture
  [ "$(quic_long_headers "$WORK/cap/quic-v2.pcap" 443 6b3343cf)" -ge 1 ] || die "quic-v2: no QUIC v2 packet in the capture"
  [ "$(quic_long_headers "$WORK/cap/quic-v2.pcap" 443 00000001)" -eq 0 ] || die "quic-v2: the client also sent QUIC v1"
  expect non-registry-tls telemetry.example-cdn.net "$RUN4" "${HOST4[telemetry.example-cdn.net]}" 443
  finish quic-v2 "aioquic client to telemetry.example-cdn.net, UDP 443, QUIC version 2 (RFC 9369: its own
salt, labels and packet types). A name outside the allowlist in the ClientHello." ""
}

sc_quic-retry() {
  local n
  start_capture quic-retry
  quic_client quic-retry --host cdn.evil-mirror.net --port 4443
  stop_capture
  # The server answered the first Initial with a Retry, so the client sent its hello twice.
  # Retry: long header, v1 type 3 (first byte 0xf?), from the server.
  n=$(tcpdump -nn -t -r "$WORK/cap/quic-retry.pcap" 'udp src port 4443 and (udp[8] & 0xf0) = 0xf0' 2>/dev/null | wc -l)
  [ "$n" -eq 1 ] || die "quic-retry: $n Retry packets from the server (want 1)"
  expect non-registry-tls cdn.evil-mirror.net "$RUN4" "${HOST4[cdn.evil-mirror.net]}" 4443
  finish quic-retry "aioquic client to cdn.evil-mirror.net, UDP 4443, where the server sends a Retry first: the
client sends its ClientHello again under keys from the Retry's connection ID. One flow, one alert." ""
}

sc_quic-large-hello() {
  local n
  start_capture quic-large-hello
  quic_client quic-large-hello --host npm-health-check.io --port 443 --pad 60
  stop_capture
  # v1 Initial: first byte 0xc?; the client sends Initials only until the server's hello arrives.
  n=$(tcpdump -nn -t -r "$WORK/cap/quic-large-hello.pcap" 'udp dst port 443 and (udp[8] & 0xf0) = 0xc0' 2>/dev/null | wc -l)
  [ "$n" -ge 2 ] || die "quic-large-hello: the ClientHello took $n Initial datagram(s) (want >= 2)"
  expect ioc-domain npm-health-check.io "$RUN4" "$RES4" 53
  expect ioc-domain npm-health-check.io "$RUN4" "$RES4" 53
  expect ioc-domain npm-health-check.io "$RUN4" "${HOST4[npm-health-check.io]}" 443
  finish quic-large-hello "aioquic client to npm-health-check.io offering 61 ALPN identifiers: a ClientHello of
~3 KB whose CRYPTO frames span $n Initial datagrams; the IOC SNI must be found across them." ""
}

sc_quic-ip-literal() {
  local ip=$TLS_IP_LITERAL
  start_capture quic-ip-literal
  quic_client quic-ip-literal --host "$ip" --port 443
  stop_capture
  expect no-sni "$ip" "$RUN4" "$ip" 443
  expect direct-ip "$ip" "$RUN4" "$ip" 443
  finish quic-ip-literal "aioquic client to https://$ip/ over QUIC: no DNS, and no SNI for an IP literal (the
certificate names the address): as tls-ip-literal, over UDP." ""
}

# ECH: pcaps/fixtures/ech_client.py builds RFC 9849 ClientHellos (no Debian client can).
sc_ech-hidden() {
  local ip=${HOST4[secret-c2.example-cdn.net]} rdata
  start_capture ech-hidden
  # A real dig asks for the HTTPS record, as an ECH client's resolver does; its answer (RFC 3597
  # generic form) is the configuration the client seals its inner hello to.
  rdata=$(client dig +short +unknownformat +tries=1 +time=5 secret-c2.example-cdn.net TYPE65 | sed 's/^\\# [0-9]* //; s/ //g')
  [ -n "$rdata" ] || die "ech-hidden: dig got no HTTPS record for secret-c2.example-cdn.net"
  client timeout 20 "$QUIC_PY" "$FIX/ech_client.py" connect --host secret-c2.example-cdn.net \
    --https-rdata-hex "$rdata" >"$WORK/ech-hidden.log" 2>&1 || die "ech-hidden: client failed: $(cat "$WORK/ech-hidden.log")"
  stop_capture
  # The receiver (a server without ECH) saw only the cover name.
  grep -q '^tls sni=cover.example-cdn.net$' "$WORK/servers.log" || die "ech-hidden: the server did not get the cover name"
  expect non-registry-tls cover.example-cdn.net "$RUN4" "$ip" 443
  expect hidden-destination secret-c2.example-cdn.net "$RUN4" "$ip" 443
  finish ech-hidden "dig secret-c2.example-cdn.net HTTPS (an ech parameter: config 42, public name
cover.example-cdn.net), then a ClientHello with real ECH to its address: the outer SNI is the
cover name (non-registry-tls), the inner one is sealed with HPKE. The name DNS resolved for the
address is outside the allowlist: hidden-destination names it." "$RUN4 $ip 443"
}

sc_ech-grease() {
  local ip=${HOST4[telemetry.example-cdn.net]}
  start_capture ech-grease
  client timeout 20 "$QUIC_PY" "$FIX/ech_client.py" connect --host telemetry.example-cdn.net --grease \
    >"$WORK/ech-grease.log" 2>&1 || die "ech-grease: client failed: $(cat "$WORK/ech-grease.log")"
  stop_capture
  expect non-registry-tls telemetry.example-cdn.net "$RUN4" "$ip" 443
  finish ech-grease "A ClientHello with GREASE ECH (random config id and bytes, as Chrome and Firefox send to
every server) to telemetry.example-cdn.net: its SNI is the name DNS resolved, so GREASE alone
raises no hidden-destination; the name itself is outside the allowlist." "$RUN4 $ip 443"
}

sc_dns-over-tls() {
  local name=registry.npmjs.org out
  start_capture dns-over-tls
  # dig +tls: DNS over TLS (RFC 7858) to the resolver's address on port 853, ALPN "dot", no SNI.
  out=$(client dig +tls +tries=1 +time=5 +short "@$RES4" "$name" A) || die "dns-over-tls: dig +tls failed: $out"
  stop_capture
  [ "$out" = "${HOST4[$name]}" ] || die "dns-over-tls: dig +tls answered '$out' (want ${HOST4[$name]})"
  [ -z "$(tcpdump -nn -r "$WORK/cap/dns-over-tls.pcap" 'port 53' 2>/dev/null)" ] \
    || die "dns-over-tls: plain DNS in the capture"
  expect dns-bypass "$RES4" "$RUN4" "$RES4" 853
  # dig sends no server name, and nobody resolved the resolver's address.
  expect no-sni "$RES4" "$RUN4" "$RES4" 853
  expect direct-ip "$RES4" "$RUN4" "$RES4" 853
  finish dns-over-tls "dig +tls @$RES4 $name A: DNS over TLS (port 853, ALPN dot, no SNI) to a resolver in front of
dnsmasq. dns-bypass (port 853), no-sni, and direct-ip (no DNS answer resolved $RES4)." "$RUN4 $RES4 853"
}

sc_dns-over-https() {
  local doh=${HOST4[dns.google]} target=ci-cache.example-cdn.net ip got n i
  ip=${HOST4[$target]}
  start_capture dns-over-https
  # curl resolves the DoH server's name with the system resolver, then the target's over DoH
  # (-4: an A query only), POSTed as application/dns-message to https://dns.google/dns-query.
  got=$(client "${CURL[@]}" -4 --cacert "$CA" --doh-url https://dns.google/dns-query -w '%{remote_ip}' \
        "http://$target/") || die "dns-over-https: curl --doh-url failed"
  stop_capture
  local pcap=$WORK/cap/dns-over-https.pcap
  [ "$got" = "$ip" ] || die "dns-over-https: curl connected to '$got' (want $ip)"
  tcpdump -nn -t -r "$pcap" 'port 53' 2>/dev/null | grep -c "$target" >/dev/null \
    && die "dns-over-https: $target was asked over plain DNS"
  tcpdump -nn -t -r "$pcap" 'udp port 53' 2>/dev/null | grep -c ' A? dns.google\. ' >/dev/null \
    || die "dns-over-https: no plain A query for dns.google"
  n=$(tcp_syns "$pcap" | grep -c " $doh 443\$" || true)
  [ "$n" -ge 1 ] || die "dns-over-https: no connection to the DoH server"
  local plan="$RUN4 $ip 80"
  for i in $(seq 1 "$n"); do
    # Each DoH connection: the SNI is a public DoH endpoint, and not a registry.
    expect dns-bypass dns.google "$RUN4" "$doh" 443
    expect non-registry-tls dns.google "$RUN4" "$doh" 443
    plan+=$'\n'"$RUN4 $doh 443"
  done
  expect direct-ip "$ip" "$RUN4" "$ip" 80
  finish dns-over-https "curl -4 --doh-url https://dns.google/dns-query http://$target/ : dns.google resolved over plain
DNS, then $n HTTPS connection(s) to it carry the DoH query for $target (dns-bypass by SNI, and
non-registry-tls). The plain HTTP flow to $ip follows an answer egress-ids cannot read:
direct-ip." "$plan"
}

sc_dns-over-quic() {
  local ip=${HOST4[dns.google]}
  start_capture dns-over-quic
  # DNS over QUIC (RFC 9250, ALPN doq, UDP 853) to dns.google, asking for an IOC name: the
  # query is encrypted, so no DNS detection can see it.
  quic_client dns-over-quic --host dns.google --port 853 --doq pkg-validate.net
  stop_capture
  grep -q '^doq query of' "$WORK/quic-server.log" || die "dns-over-quic: the DoQ server got no query"
  expect dns-bypass dns.google "$RUN4" "$ip" 853
  expect non-registry-tls dns.google "$RUN4" "$ip" 853
  finish dns-over-quic "aioquic's DoQ client (ALPN doq, UDP 853) to dns.google asks for pkg-validate.net inside QUIC:
dns-bypass (DoQ to a public DoH/DoQ name), and the name is outside the allowlist. The A/AAAA
queries for dns.google itself are plain and name no IOC." ""
}

sc_socks-proxy() {
  local proxy=${HOST4[socks.example-proxy.net]} p=socks.example-proxy.net:$SOCKS_PORT
  # CURL's --noproxy '*' would make curl ignore --socks*; the environment has no proxy anyway.
  local PCURL=(curl -q -sS --fail --max-time 10 -o /dev/null)
  start_tunnel_servers
  start_capture socks-proxy
  # --socks5: curl resolves the target itself and asks the proxy for its address.
  client "${PCURL[@]}" -4 --socks5 "$p" --cacert "$CA" https://pkg-validate.net/ || die "socks-proxy: curl --socks5 failed"
  # --socks5-hostname with RFC 1929 username/password: the proxy gets the name.
  client "${PCURL[@]}" -4 --socks5-hostname "$p" --proxy-user ci:secret --cacert "$CA" https://npm-health-check.io/ \
    || die "socks-proxy: curl --socks5-hostname failed"
  # --socks4a: the name after the user id; plain HTTP in the tunnel.
  client "${PCURL[@]}" -4 --socks4a "$p" http://plain-crypto-js.net/ || die "socks-proxy: curl --socks4a failed"
  # A name that is no IOC: only the TLS inside the tunnel (SNI outside the allowlist) alerts.
  client "${PCURL[@]}" -4 --socks5-hostname "$p" --cacert "$CA" https://github.com.evil-cdn.io/ \
    || die "socks-proxy: curl --socks5-hostname to github.com.evil-cdn.io failed"
  # An address no DNS answer gave (the proxy's own name was resolved): direct-ip on the target.
  client "${PCURL[@]}" -4 --socks5 "$p" "http://$HTTP_IP_LITERAL/" || die "socks-proxy: curl --socks5 to $HTTP_IP_LITERAL failed"
  stop_capture
  local pcap=$WORK/cap/socks-proxy.pcap
  # What the proxy was asked, read back from the capture: a SOCKS5 domain request and a SOCKS4a one.
  tcpdump -nn -A -r "$pcap" "tcp dst port $SOCKS_PORT" 2>/dev/null | grep -c 'npm-health-check.io' >/dev/null \
    || die "socks-proxy: no SOCKS request naming npm-health-check.io in the capture"
  tcpdump -nn -A -r "$pcap" "tcp dst port $SOCKS_PORT" 2>/dev/null | grep -c 'plain-crypto-js.net' >/dev/null \
    || die "socks-proxy: no SOCKS4a request naming plain-crypto-js.net in the capture"
  expect ioc-domain pkg-validate.net "$RUN4" "$RES4" 53
  expect ioc-domain pkg-validate.net "$RUN4" "$proxy" "$SOCKS_PORT"
  expect ioc-domain npm-health-check.io "$RUN4" "$proxy" "$SOCKS_PORT"
  expect ioc-domain plain-crypto-js.net "$RUN4" "$proxy" "$SOCKS_PORT"
  expect non-registry-tls github.com.evil-cdn.io "$RUN4" "$proxy" "$SOCKS_PORT"
  expect direct-ip "$HTTP_IP_LITERAL" "$RUN4" "$proxy" "$SOCKS_PORT"
  finish socks-proxy "curl -4 through a SOCKS proxy (fixtures/socks_proxy.py at $p, its name resolved by DNS):
--socks5 https://pkg-validate.net/ (curl resolves the IOC name: a DNS alert; the SOCKS target is
its resolved address, so no direct-ip; the TLS inside the tunnel names it: ioc-domain on the proxy flow);
--socks5-hostname --proxy-user https://npm-health-check.io/ (RFC 1929 auth, the SOCKS target is the IOC name);
--socks4a http://plain-crypto-js.net/ (the SOCKS4a target is the IOC name); --socks5-hostname
https://github.com.evil-cdn.io/ (no IOC: the SNI in the tunnel is outside the allowlist); --socks5
http://$HTTP_IP_LITERAL/ (a SOCKS5 address target no DNS answer gave, behind a proxy DNS did resolve:
direct-ip names the target). One alert per flow and detection." "$RUN4 $proxy $SOCKS_PORT
$RUN4 $proxy $SOCKS_PORT
$RUN4 $proxy $SOCKS_PORT
$RUN4 $proxy $SOCKS_PORT
$RUN4 $proxy $SOCKS_PORT"
}

sc_h2c-node() {
  local ip=${HOST4[npm-health-check.io]} out
  start_tunnel_servers
  start_capture h2c-node
  out=$(client timeout 20 node --dns-result-order=ipv4first "$FIX/h2c-node.js" "http://npm-health-check.io:$H2C_PORT" 2>&1) \
    || die "h2c-node: client failed: $out"
  [[ $out == *"status 200"* ]] || die "h2c-node: no 200 from the h2c server: $out"
  stop_capture
  tcpdump -nn -A -r "$WORK/cap/h2c-node.pcap" "tcp dst port $H2C_PORT" 2>/dev/null | grep -c 'PRI \* HTTP/2.0' >/dev/null \
    || die "h2c-node: the client did not send the HTTP/2 preface"
  # Node's lookup asks for A and AAAA (getaddrinfo AF_UNSPEC), as in npm-postinstall-ioc.
  expect ioc-domain npm-health-check.io "$RUN4" "$RES4" 53
  expect ioc-domain npm-health-check.io "$RUN4" "$RES4" 53
  expect ioc-domain npm-health-check.io "$RUN4" "$ip" "$H2C_PORT"
  expect node-http-ua node "$RUN4" "$ip" "$H2C_PORT"
  finish h2c-node "node http2.connect('http://npm-health-check.io:$H2C_PORT') (prior knowledge: the preface, then
HPACK-coded HEADERS) to fixtures/h2c_server.py, one POST /beacon with user-agent 'node': the A and AAAA
queries, then ioc-domain (:authority) and node-http-ua on the HTTP/2 flow." "$RUN4 $ip $H2C_PORT"
}

sc_h2c-upgrade() {
  local ip=${HOST4[axios-update-service.com]} u=http://axios-update-service.com:$H2C_PORT
  start_tunnel_servers
  start_capture h2c-upgrade
  client "${CURL[@]}" -4 --http2 "$u/first" -o /dev/null "$u/second" || die "h2c-upgrade: curl --http2 failed"
  stop_capture
  local pcap=$WORK/cap/h2c-upgrade.pcap
  tcpdump -nn -A -r "$pcap" "tcp src port $H2C_PORT" 2>/dev/null | grep -c 'HTTP/1.1 101 Switching Protocols' >/dev/null \
    || die "h2c-upgrade: the server did not answer 101"
  tcpdump -nn -A -r "$pcap" "tcp dst port $H2C_PORT" 2>/dev/null | grep -c 'PRI \* HTTP/2.0' >/dev/null \
    || die "h2c-upgrade: curl did not send the HTTP/2 preface after the 101"
  expect ioc-domain axios-update-service.com "$RUN4" "$RES4" 53
  expect ioc-domain axios-update-service.com "$RUN4" "$ip" "$H2C_PORT"
  finish h2c-upgrade "curl -4 --http2 $u/first $u/second: GET /first as HTTP/1.1 with Upgrade: h2c,
answered 101 by fixtures/h2c_server.py; then the preface, and GET /second as HTTP/2 stream 3 on the same
connection. The A query and the Host/:authority name the IOC (one alert per flow)." "$RUN4 $ip $H2C_PORT"
}

sc_phantom-registry() {
  local reg=${HOST4[registry.npmjs.org]} proj=$WORK/phantom-proj served
  mkdir -p "$proj" "$WORK/home"
  printf '{"name":"phantom-proj","version":"1.0.0","private":true}\n' >"$proj/package.json"
  : >"$WORK/empty-npmrc"; : >"$WORK/empty-npmrc-global"
  start_capture phantom-registry
  (cd "$proj" && client timeout 60 npm install is-number@7.0.0 plain-crypto-js@4.2.1 --registry=http://registry.npmjs.org/ \
     --userconfig="$WORK/empty-npmrc" --globalconfig="$WORK/empty-npmrc-global" --cache="$WORK/npm-cache-phantom" \
     --no-audit --no-fund --no-update-notifier --prefer-online --loglevel=warn >"$WORK/npm-phantom.log" 2>&1) \
    || die "phantom-registry: npm install failed: $(cat "$WORK/npm-phantom.log")"
  [ -f "$proj/node_modules/plain-crypto-js/package.json" ] || die "phantom-registry: plain-crypto-js was not installed"
  stop_capture
  # What the registry served over plain HTTP (the receiver decides): each package's metadata and
  # tarball, each request on its own connection (the server closes).
  served=$(grep -c '^http:80 .*"GET /plain-crypto-js\(/-/plain-crypto-js-4.2.1.tgz\)\? HTTP/1.1" 200' "$WORK/servers.log" || true)
  [ "$served" = 2 ] || die "phantom-registry: the registry served plain-crypto-js $served times, not 2: $(grep '^http:80' "$WORK/servers.log" | tail -5)"
  expect phantom-dependency plain-crypto-js "$RUN4" "$reg" 80
  expect phantom-dependency plain-crypto-js "$RUN4" "$reg" 80
  finish phantom-registry "npm install is-number@7.0.0 plain-crypto-js@4.2.1 from a registry reached over plain
HTTP (http://registry.npmjs.org/, as an internal mirror would be): metadata and tarball of each, each
request its own connection. Replayed with --inventory fixtures/known-packages.txt (phantom-registry.args),
which names is-number only: plain-crypto-js raises phantom-dependency on both of its flows." "$RUN4 $reg 80
$RUN4 $reg 80
$RUN4 $reg 80
$RUN4 $reg 80"
}

sc_sni-junk() {
  local ip=${HOST4[pkg-validate.net]} reg=${HOST4[registry.npmjs.org]} out
  local client_py=$HERE/../tests/data/sni/junk_hello_client.py
  start_capture sni-junk
  # No real client sends junk in server_name: a raw ClientHello from Python's stdlib. Names in
  # hex: pkg-validate.net + NUL, + BEL "junk", + ff fe (not UTF-8), clean; the registry + NUL.
  out=$(client timeout 30 "$PY" "$client_py" pkg-validate.net 443 \
        706b672d76616c69646174652e6e657400 706b672d76616c69646174652e6e6574076a756e6b \
        706b672d76616c69646174652e6e6574fffe 706b672d76616c69646174652e6e6574 2>&1) \
    || die "sni-junk: client failed: $out"
  out+=$'\n'$(client timeout 30 "$PY" "$client_py" registry.npmjs.org 443 \
        72656769737472792e6e706d6a732e6f726700 2>&1) || die "sni-junk: client failed: $out"
  stop_capture
  # The server's TLS stack (Python's ssl: OpenSSL) refuses a NUL with unrecognized_name (112).
  [ "$(grep -c 'REPLY alert 2 112$' <<<"$out")" = 2 ] || die "sni-junk: the NUL names were not refused: $out"
  grep -q '^NAME 706b672d76616c69646174652e6e6574 REPLY server_hello$' <<<"$out" \
    || die "sni-junk: the clean name got no ServerHello: $out"
  expect ioc-domain pkg-validate.net "$RUN4" "$RES4" 53
  local i
  for i in 1 2 3 4; do expect ioc-domain pkg-validate.net "$RUN4" "$ip" 443; done
  expect non-registry-tls registry.npmjs.org "$RUN4" "$reg" 443
  finish sni-junk "tests/data/sni/junk_hello_client.py (Python stdlib, raw ClientHello): server_name
pkg-validate.net followed by a NUL, by BEL + junk, by bytes ff fe, then clean (to pkg-validate.net),
and registry.npmjs.org followed by a NUL (to the registry). The server refuses both NULs with an
unrecognized_name alert. Every name is logged as sent (sni_invalid on the four with junk) and
matched on its longest valid prefix: ioc-domain pkg-validate.net four times; the registry's name
with junk is not the registry: non-registry-tls." "$RUN4 $ip 443
$RUN4 $ip 443
$RUN4 $ip 443
$RUN4 $ip 443
$RUN4 $reg 443"
}

sc_dns-cname-cloak() {
  local alias=cdn.example-assets.com ip=${HOST4[x.pkg-validate.net]} chain
  chain="$alias -> ${CNAMES[$alias]}"
  start_capture dns-cname-cloak
  # dig shows the chain the resolver really gave; curl then follows it over HTTPS and HTTP.
  rx dig +short +time=2 +tries=1 "$alias" A >"$WORK/cname-dig.txt" || die "dns-cname-cloak: dig failed"
  [ "$(tr '\n' ' ' <"$WORK/cname-dig.txt")" = "${CNAMES[$alias]}. $ip " ] \
    || die "dns-cname-cloak: dnsmasq did not answer the CNAME chain: $(cat "$WORK/cname-dig.txt")"
  client "${CURL[@]}" -4 --cacert "$CA" "https://$alias/" || die "dns-cname-cloak: curl https failed"
  client "${CURL[@]}" -4 "http://$alias/" || die "dns-cname-cloak: curl http failed"
  # An HTTPS record aliasing a benign name to the IOC name (no address: only the DNS flow).
  rx dig +short +time=2 +tries=1 "$HTTPS_ALIAS" HTTPS >"$WORK/cname-dig.txt" || die "dns-cname-cloak: dig HTTPS failed"
  grep -q ' x.pkg-validate.net.$' "$WORK/cname-dig.txt" \
    || die "dns-cname-cloak: dnsmasq did not answer the HTTPS alias: $(cat "$WORK/cname-dig.txt")"
  # An allowlisted name aliased out of the allowlist, and one aliased into another allowlisted.
  local out=${HOST4[nodejs.org.evil-cdn.example]} inside=${HOST4[api.github.com]}
  client "${CURL[@]}" -4 --cacert "$CA" https://nodejs.org/ || die "dns-cname-cloak: curl nodejs.org failed"
  client "${CURL[@]}" -4 --cacert "$CA" https://cdn.jsdelivr.net/ || die "dns-cname-cloak: curl cdn.jsdelivr.net failed"
  stop_capture
  # Three DNS flows (dig, then each curl), each answered with the chain; the TLS flow (SNI: the
  # alias, which is outside the allowlist too) and the HTTP flow (Host: the alias) to the
  # address the chain resolved; the HTTPS alias's DNS flow.
  local n
  for n in 1 2 3; do expect ioc-domain "$chain" "$RUN4" "$RES4" 53; done
  expect ioc-domain "$chain" "$RUN4" "$ip" 443
  expect non-registry-tls "$alias" "$RUN4" "$ip" 443
  expect ioc-domain "$chain" "$RUN4" "$ip" 80
  expect ioc-domain "$HTTPS_ALIAS -> ${CNAMES[$alias]}" "$RUN4" "$RES4" 53
  # nodejs.org's server is not the registry: its chain left the allowlist. cdn.jsdelivr.net's
  # stayed inside it: nothing.
  expect non-registry-tls "nodejs.org -> ${CNAMES[nodejs.org]}" "$RUN4" "$out" 443
  finish dns-cname-cloak "dig, curl https:// and curl http:// to cdn.example-assets.com, which dnsmasq answers with
a CNAME to the IOC name x.pkg-validate.net (CNAME cloaking): every DNS answer, the TLS flow and the
HTTP flow name the chain. dig HTTPS svc.example-assets.com: an AliasMode record whose target is the
IOC name. curl https://nodejs.org/ (allowlisted) answered with a CNAME out of the allowlist: not the
registry. curl https://cdn.jsdelivr.net/ answered with a CNAME to api.github.com: allowlisted
throughout, no alert." "$RUN4 $ip 443
$RUN4 $ip 80
$RUN4 $out 443
$RUN4 $inside 443"
}

sc_http-methods() {
  local ip=${HOST4[npm-health-check.io]} host=npm-health-check.io
  start_capture http-methods
  # WebDAV with curl -X; the receiving server answers any method (servers.py answers 501 to
  # methods it does not know: curl --fail is not used, the request is what matters).
  local m
  for m in PROPFIND MKCOL; do
    client curl -q -sS --max-time 10 --noproxy '*' -o /dev/null -4 -X "$m" "http://$host/" \
      || die "http-methods: curl -X $m failed"
  done
  stop_capture
  expect ioc-domain "$host" "$RUN4" "$RES4" 53
  expect ioc-domain "$host" "$RUN4" "$RES4" 53
  expect ioc-domain "$host" "$RUN4" "$ip" 80
  expect ioc-domain "$host" "$RUN4" "$ip" 80
  finish http-methods "curl -X PROPFIND and curl -X MKCOL to http://npm-health-check.io/ (an IOC name): WebDAV
methods are HTTP requests, judged by their Host like a GET." "$RUN4 $ip 80
$RUN4 $ip 80"
}

sc_lan-discovery() {
  # A LAN host (10.77.0.3, on the internet end of the veth: one link, as an office LAN) runs
  # tests/data/lan/responder.py, which answers mDNS, LLMNR and NBNS and logs what it got.
  local lan=10.77.0.3 rlog=$WORK/lan-responder.log out
  ix ip addr add "$lan/24" brd + noprefixroute dev inet0
  rx ip neigh replace "$lan" lladdr "$INET_MAC" dev runner0 nud permanent
  rx ip route replace 224.0.0.0/4 dev runner0
  ip netns exec "$INS" "$PY" "$HERE/../tests/data/lan/responder.py" "$lan" 30 >"$rlog" 2>&1 &
  local rpid=$!; BG_PIDS+=($rpid)
  wait_for_log "$rlog" 'responder ready' 10 || die "lan-discovery: the responder did not start: $(cat "$rlog")"
  sleep 1.5   # its IGMP membership reports (sent twice) go out before the capture starts
  start_capture lan-discovery
  # The answer to a multicast query comes from the host's own address (RFC 6762 legacy unicast):
  # dig's socket is connected to the group, so the runner's kernel refuses it (ICMP port
  # unreachable) and dig times out after 1 s. Only what went over the link matters.
  client dig +tries=1 +time=1 -p 5353 @224.0.0.251 pkg-validate.net A >/dev/null || true
  client dig +tries=1 +time=2 +short -p 5353 "@$lan" pkg-validate.net A | grep -qxF "$lan" \
    || die "lan-discovery: no unicast mDNS answer"
  client dig +tries=1 +time=1 -p 5355 @224.0.0.252 pkg-validate.net A >/dev/null || true
  out=$(client "$PY" "$HERE/../tests/data/lan/nbns_query.py" 10.77.0.255 WPAD pkg-validate.net) \
    || die "lan-discovery: the NBNS query failed: $out"
  [ "$out" = "ANSWER $lan $lan" ] || die "lan-discovery: no NBNS answer: $out"
  stop_capture
  kill "$rpid" 2>/dev/null; wait "$rpid" 2>/dev/null || true
  rx ip route del 224.0.0.0/4 dev runner0
  rx ip neigh del "$lan" dev runner0
  ix ip addr del "$lan/24" dev inet0
  # The receiver decides: the responder got each query once and answered it.
  [ "$(grep -c '^RECV mdns .* pkg-validate.net$' "$rlog")" = 2 ] \
    && [ "$(grep -c '^RECV llmnr .* pkg-validate.net$' "$rlog")" = 1 ] \
    && [ "$(grep -c '^RECV nbns .* WPAD<00>.pkg-validate.net$' "$rlog")" = 1 ] \
    && [ "$(grep -c '^SENT ' "$rlog")" = 4 ] || die "lan-discovery: the responder did not get what was asked: $(cat "$rlog")"
  finish lan-discovery "LAN name discovery from the runner to a LAN host (10.77.0.3, tests/data/lan/responder.py):
dig -p 5353 @224.0.0.251 pkg-validate.net (mDNS multicast), dig -p 5353 @10.77.0.3 pkg-validate.net
(mDNS unicast), dig -p 5355 @224.0.0.252 pkg-validate.net (LLMNR), and an NBNS broadcast name query for
WPAD with the NetBIOS scope pkg-validate.net (tests/data/lan/nbns_query.py), each answered by the host.
Not egress: no alert at all, whatever the names (before issue 16 these were 4 ioc-domain alerts)." ""
}

# DNS messages of every kind, against tests/data/dns_kinds/server.py on a resolver address of
# its own (dnsmasq neither answers TKEY queries nor knows TSIG): the server logs every message it
# read and answers TKEY with a TKEY and a TSIG, any other unknown type with 4 bytes of data.
sc_dns-every-kind() {
  local srv=198.51.100.54 ioc=pkg-validate.net i n
  local key=hmac-sha256:ci-update-key:c2VjcmV0LXRzaWcta2V5LWZvci10aGUtdGVzdHMtb25seQ==
  ix ip addr add "$srv/32" dev lo || die "dns-every-kind: cannot add $srv"
  ip netns exec "$INS" "$PY" "$HERE/../tests/data/dns_kinds/server.py" "$srv" "$ioc=${HOST4[$ioc]}" \
     >"$WORK/dns-kinds.log" 2>&1 &
  BG_PIDS+=($!)
  for i in $(seq 1 100); do grep -q 'server ready' "$WORK/dns-kinds.log" && break; sleep 0.1; done
  grep -q 'server ready' "$WORK/dns-kinds.log" || die "dns-every-kind: the DNS server did not start: $(cat "$WORK/dns-kinds.log")"
  start_capture dns-every-kind
  client dig "@$srv" +tries=1 +time=5 +short -y "$key" "$ioc" A | grep -qxF "${HOST4[$ioc]}" \
    || die "dns-every-kind: TSIG-signed dig over UDP failed"
  client dig "@$srv" +tcp +tries=1 +time=5 +short -y "$key" "$ioc" A | grep -qxF "${HOST4[$ioc]}" \
    || die "dns-every-kind: TSIG-signed dig over TCP failed"
  client dig "@$srv" +tries=1 +time=5 +noall +answer -t TKEY 3141592653.sig-dc1.ad.example | awk '$4 == "TKEY" { f = 1 } END { exit !f }' \
    || die "dns-every-kind: the TKEY query got no TKEY answer"
  client dig "@$srv" +tries=1 +time=5 +short -t TYPE65400 blob.example-ci.net | grep -qxF '\# 4 DEADBEEF' \
    || die "dns-every-kind: the TYPE65400 query got no answer"
  stop_capture
  n=$(grep -c '^MSG ' "$WORK/dns-kinds.log" || true)
  [ "$n" = 4 ] || die "dns-every-kind: the server read $n messages, not 4: $(cat "$WORK/dns-kinds.log")"
  n=$(grep -c "^MSG .* $ioc 1 .*250" "$WORK/dns-kinds.log" || true)
  [ "$n" = 2 ] || die "dns-every-kind: the server read $n TSIG-signed IOC queries, not 2"
  expect ioc-domain "$ioc" "$RUN4" "$srv" 53
  expect ioc-domain "$ioc" "$RUN4" "$srv" 53
  finish dns-every-kind "dig -y hmac-sha256:... pkg-validate.net A over UDP and over TCP (TSIG-signed, with an EDNS
cookie), dig -t TKEY (answered with a TKEY record and a TSIG) and dig -t TYPE65400 (answered with
4 bytes of unknown-type data), all to $srv (tests/data/dns_kinds/server.py). The signed IOC
queries raise ioc-domain; every message is logged with its TKEY/TSIG/OPT/65400 records." "$RUN4 $srv 53"
}

# The SOCKS proxy and the h2c server, started once, on every address of the internet namespace.
SOCKS_PORT=1080
H2C_PORT=8080
TUNNEL_SERVERS=
start_tunnel_servers() {
  [ -n "$TUNNEL_SERVERS" ] && return 0
  /usr/bin/python3 -c 'import h2' 2>/dev/null || die "python3-h2 is missing for /usr/bin/python3 (run scripts/install-deps.sh)"
  local hosts=() h i
  for h in "${!HOST4[@]}"; do hosts+=(--host "$h=${HOST4[$h]}"); done
  ip netns exec "$INS" "$PY" "$FIX/socks_proxy.py" --port "$SOCKS_PORT" "${hosts[@]}" \
     --ready "$WORK/socks.ready" --lifetime 600 >"$WORK/socks.log" 2>&1 &
  BG_PIDS+=($!)
  ip netns exec "$INS" /usr/bin/python3 "$FIX/h2c_server.py" --port "$H2C_PORT" \
     --ready "$WORK/h2c.ready" --lifetime 600 >"$WORK/h2c.log" 2>&1 &
  BG_PIDS+=($!)
  for i in $(seq 1 100); do
    [ -f "$WORK/socks.ready" ] && [ -f "$WORK/h2c.ready" ] && { TUNNEL_SERVERS=1; return 0; }
    sleep 0.1
  done
  die "the SOCKS proxy or the h2c server did not come up in 10 s"
}

# ---------------------------------------------------------------- sensor mode
SENSOR_DIR=${EGRESS_IDS_SENSOR_DIR:-}
SENSOR_PID= SESSION_PID=
wait_for_log() {  # file needle seconds
  local i
  for i in $(seq 1 $(($3 * 10))); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

start_sensor() {
  [ -n "$SENSOR_DIR" ] || return 0
  local bin=${EGRESS_IDS_BIN:?EGRESS_IDS_SENSOR_DIR needs EGRESS_IDS_BIN, the egress-ids binary}
  [ -f "$SENSOR_DIR/egress-ids.toml" ] || die "sensor mode: $SENSOR_DIR/egress-ids.toml is missing"
  ip netns exec "$RNS" tcpdump -i runner0 -U -Z root -w "$SENSOR_DIR/session.pcap" 2>"$SENSOR_DIR/session-tcpdump.log" &
  SESSION_PID=$!; BG_PIDS+=($SESSION_PID)
  wait_for_log "$SENSOR_DIR/session-tcpdump.log" 'listening on' 10 || die "session tcpdump did not start"
  ip netns exec "$RNS" "$bin" daemon --config "$SENSOR_DIR/egress-ids.toml" 2>"$SENSOR_DIR/daemon.log" &
  SENSOR_PID=$!; BG_PIDS+=($SENSOR_PID)
  wait_for_log "$SENSOR_DIR/daemon.log" 'capturing on' 20 || die "the daemon did not start capturing: $(cat "$SENSOR_DIR/daemon.log")"
  sleep 0.2
  log "sensor: daemon pid $SENSOR_PID capturing on runner0"
}

sensor_reload_step() {
  [ -n "$SENSOR_DIR" ] || return 0
  local url=http://builds.example-ci.net/
  client "${CURL[@]}" -4 --local-port 40001 "$url" || die "reload step: first curl failed"
  sleep 0.5
  printf 'builds.example-ci.net\n' >>"$SENSOR_DIR/signatures/ioc-domains.txt"
  kill -HUP "$SENSOR_PID"
  wait_for_log "$SENSOR_DIR/daemon.log" 'signatures reloaded' 10 || die "the daemon did not report the reload: $(cat "$SENSOR_DIR/daemon.log")"
  date +%s.%N >"$SENSOR_DIR/reloaded.at"
  client "${CURL[@]}" -4 --local-port 40002 "$url" || die "reload step: second curl failed"
  log "sensor: signature reload step done"
}

stop_sensor() {
  [ -n "$SENSOR_DIR" ] || return 0
  sleep 1   # let FIN/ACKs arrive
  kill -TERM "$SENSOR_PID"
  local rc=0 i
  for i in $(seq 1 300); do kill -0 "$SENSOR_PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$SENSOR_PID" 2>/dev/null && die "the daemon did not stop within 30 s of SIGTERM"
  wait "$SENSOR_PID" || rc=$?
  echo "$rc" >"$SENSOR_DIR/daemon.exit"
  kill -INT "$SESSION_PID"
  for i in $(seq 1 50); do kill -0 "$SESSION_PID" 2>/dev/null || break; sleep 0.1; done
  wait "$SESSION_PID" || true
  log "sensor: daemon exited $rc; session capture $(tcpdump -r "$SENSOR_DIR/session.pcap" 2>/dev/null | wc -l) packets"
}

# ---------------------------------------------------------------- main
log "preparing fixtures"
prepare_fixtures
make_certs
log "namespaces $RNS (runner) and $INS (internet)"
setup_netns
start_servers
start_sensor
for s in "${SCENARIOS[@]}"; do
  log "scenario $s"
  "sc_$s"
done
sensor_reload_step
stop_sensor
log "done: ${#SCENARIOS[@]} scenario(s) in $OUTDIR, $((SECONDS - START)) s"
