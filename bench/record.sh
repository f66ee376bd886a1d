#!/usr/bin/env bash
# record.sh OUT [SIZE_MIB]: records a capture of REAL clients at scale, for bench/run.sh's
# "capture it did not generate" rows (issue 14): an npm-install-like session -- dig lookups of
# registry names, then curl downloading tarballs over TLS (openssl s_server -WWW) and plain HTTP
# (python3 -m http.server), many files per connection as npm does -- repeated until tcpdump's file
# reaches SIZE_MIB (default 1024) MiB, at most 4000 rounds.
#
# Everything runs in two network namespaces made here and joined only to each other by a veth
# pair: "runner" (10.88.0.2) and "registry" (documentation addresses 203.0.113.10 and
# 198.51.100.53). Segmentation offload is turned off on the pair (gso_max_segs 1), so the wire
# carries MTU-sized packets as a physical link would, not 64 KiB super-packets. Must run as root;
# needs ip, tcpdump, dig, dnsmasq, openssl, curl, python3 (scripts/install-deps.sh).
set -euo pipefail
prog=bench/record.sh
die() { echo "$prog: $*" >&2; exit 1; }
[ $# -ge 1 ] || die "usage: $0 OUT.pcap [SIZE_MIB]"
out=$1 size_mib=${2:-1024}
[[ "$size_mib" =~ ^[0-9]+$ ]] && [ "$size_mib" -ge 1 ] || die "SIZE_MIB must be a positive number, not '$size_mib'"
[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces, capture)"
for t in ip tcpdump dig dnsmasq openssl curl python3; do
  command -v "$t" >/dev/null || die "'$t' is missing: bash scripts/install-deps.sh"
done
out=$(realpath -m "$out")
tag=$$
RNS=eids-rec-r$tag INS=eids-rec-i$tag
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  ip netns del "$RNS" 2>/dev/null || true
  ip netns del "$INS" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip netns add "$RNS"
ip netns add "$INS"
ip link add rec-r$tag netns "$RNS" type veth peer name rec-i$tag netns "$INS"
rx() { ip netns exec "$RNS" "$@"; }
ix() { ip netns exec "$INS" "$@"; }
rx ip link set lo up
ix ip link set lo up
rx ip link set rec-r$tag gso_max_segs 1 up
ix ip link set rec-i$tag gso_max_segs 1 up
rx ip addr add 10.88.0.2/16 dev rec-r$tag
ix ip addr add 203.0.113.10/32 dev rec-i$tag
ix ip addr add 198.51.100.53/32 dev rec-i$tag
rx ip route add 203.0.113.0/24 dev rec-r$tag
rx ip route add 198.51.100.0/24 dev rec-r$tag
ix ip route add 10.88.0.0/16 dev rec-i$tag

# The registry's files: tarballs of 2 KiB to 2 MiB (most small, as in a lockfile).
mkdir -p "$tmp/www"
python3 - "$tmp/www" <<'PY'
import os, random, sys
random.seed(14)
d = sys.argv[1]
for i in range(120):
    size = int(2048 * (1024 ** (random.random() ** 2)))  # 2 KiB .. 2 MiB, skewed small
    with open(os.path.join(d, f"pkg-{i}.tgz"), "wb") as f:
        f.write(random.randbytes(size))
PY
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=registry.npmjs.org \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
# The public registry's name, answered here with a documentation address.
printf 'address=/registry.npmjs.org/203.0.113.10\naddress=/mirror.example/203.0.113.10\n' >"$tmp/dnsmasq.conf"
# Started with `ip netns exec` itself (not through a shell function), so that $! is the
# server's own pid (ip netns exec execs it) and a signal reaches it.
ip netns exec "$INS" dnsmasq --no-daemon --conf-file="$tmp/dnsmasq.conf" --listen-address=198.51.100.53 \
  --bind-interfaces --no-resolv --no-hosts --log-facility=/dev/null --pid-file= 2>/dev/null &
pids+=($!)
(cd "$tmp/www" && exec ip netns exec "$INS" openssl s_server -quiet -WWW -accept 443 \
  -cert "$tmp/cert.pem" -key "$tmp/key.pem" >/dev/null 2>&1) &
pids+=($!)
(cd "$tmp/www" && exec ip netns exec "$INS" python3 -m http.server 80 --bind 203.0.113.10 \
  >/dev/null 2>&1) &
pids+=($!)
for i in $(seq 1 50); do
  rx curl -sk -o /dev/null https://203.0.113.10/pkg-0.tgz 2>/dev/null \
    && rx curl -s -o /dev/null http://203.0.113.10/pkg-0.tgz 2>/dev/null && break
  [ "$i" -lt 50 ] || die "the servers did not come up"
  sleep 0.1
done

ip netns exec "$RNS" tcpdump -i rec-r$tag -s 0 -B 65536 -U -w "$out" 2>"$tmp/tcpdump.log" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
for i in $(seq 1 50); do grep -q listening "$tmp/tcpdump.log" && break; sleep 0.1; done

limit=$((size_mib * 1024 * 1024))
rounds=0
while [ "$rounds" -lt 4000 ]; do
  rounds=$((rounds + 1))
  # One "npm ci" round: lookups, then tarballs over one TLS connection, a few over HTTP.
  for n in registry.npmjs.org mirror.example registry.npmjs.org; do
    rx dig +short +tries=1 +time=1 @198.51.100.53 "$n" >/dev/null
  done
  fetches=()
  for j in $(seq 1 12); do
    fetches+=(-o /dev/null "https://registry.npmjs.org/pkg-$(( (rounds * 7 + j * 13) % 120 )).tgz")
  done
  rx curl -sk --resolve registry.npmjs.org:443:203.0.113.10 "${fetches[@]}" || true
  rx curl -s -o /dev/null "http://203.0.113.10/pkg-$((rounds % 120)).tgz" || true
  [ "$(stat -c %s "$out" 2>/dev/null || echo 0)" -lt "$limit" ] || break
done
sleep 0.2
kill -INT "$tcpdump_pid"
wait "$tcpdump_pid" 2>/dev/null || true
echo "$prog: $out: $(stat -c %s "$out") bytes after $rounds rounds; $(grep -E 'captured|dropped' "$tmp/tcpdump.log" | tr '\n' ' ')" >&2
