#!/usr/bin/env bash
# Installs what egress-ids' tests and capture scripts need on a fresh Debian machine with Rust.
# Idempotent: skips apt when every tool is already present.
#
#   bash scripts/install-deps.sh           tests, capture scripts, `bench/run.sh --quick`
#   bash scripts/install-deps.sh --bench   also tshark, the peer that bench/run.sh measures
set -euo pipefail
bench=0
for arg in "$@"; do
  case "$arg" in
    --bench) bench=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "install-deps: unknown argument '$arg' (only --bench)" >&2; exit 2 ;;
  esac
done
need=()
command -v tcpdump  >/dev/null || need+=(tcpdump)
command -v dig      >/dev/null || need+=(dnsutils)
command -v dnsmasq  >/dev/null || need+=(dnsmasq-base)
# dhclient: tests/not_egress.rs makes real DHCP and DHCPv6 exchanges.
command -v dhclient >/dev/null || need+=(isc-dhcp-client)
command -v openssl  >/dev/null || need+=(openssl)
command -v ip       >/dev/null || need+=(iproute2)
command -v node     >/dev/null || need+=(nodejs)
command -v npm      >/dev/null || need+=(npm)
command -v curl     >/dev/null || need+=(curl)
# jq: tests/inventory.rs runs the seed's check-phantom-deps.sh and build-package-inventory.sh,
# which read package-lock.json with jq.
command -v jq       >/dev/null || need+=(jq)
# python3-yaml (PyYAML, for /usr/bin/python3): tests/data/lockfiles/names.py, the independent
# reading of yarn berry's and pnpm's lockfiles that tests/inventory.rs compares with ours.
/usr/bin/python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
# nftables: tests/attribution.rs masquerades a stand-in container's namespace, as docker does.
command -v nft      >/dev/null || need+=(nftables)
command -v python3  >/dev/null || need+=(python3)
# python3-venv: the venv below, which holds aioquic (QUIC client and server of pcaps/ and tests/).
/usr/bin/python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
# libpcap's headers and linker name: the live sensor links libpcap (the pcap crate).
[ -e /usr/include/pcap/pcap.h ] || need+=(libpcap-dev)
# tcpreplay: the live tests and the latency benchmark replay pcaps onto a veth.
command -v tcpreplay >/dev/null || need+=(tcpreplay)
# python3-h2 (hyper-h2, for Debian's /usr/bin/python3): pcaps/fixtures/h2c_server.py, the cleartext
# HTTP/2 server (prior knowledge and Upgrade: h2c) of the h2c capture scenarios.
/usr/bin/python3 -c 'import h2' 2>/dev/null || need+=(python3-h2)
# clang: build.rs compiles the eBPF process collector (src/host/bpf/collector.bpf.c) to a BPF
# object; nothing else is needed to build it (kernel types come from a committed header relocated
# by CO-RE, the loader is aya, pure Rust: no libbpf, libelf or kernel headers).
command -v clang    >/dev/null || need+=(clang)
# redis-server (and redis-cli, in redis-tools): tests/redis.rs runs the Redis output against a
# real server, with TLS and ACL users (Debian's build has TLS).
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli    >/dev/null || need+=(redis-tools)
# GNU time (peak RSS for bench/run.sh; `time` alone is the shell keyword).
[ -x /usr/bin/time ]         || need+=(time)
if [ "$bench" -eq 1 ]; then
  command -v tshark >/dev/null || need+=(tshark)
  # perf: bench/run.sh profiles a replay that misses its target and prints where the time goes.
  command -v perf >/dev/null || need+=(linux-perf)
fi
# fincore (util-linux): bench/run.sh reports how much of each capture the page cache holds.
command -v fincore >/dev/null || need+=(util-linux)
# python3-yaml (PyYAML, for Debian's /usr/bin/python3): tests/delivery/shipping.rs parses
# contrib/shipping/filebeat.yml.
/usr/bin/python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
# groff and man-db: tests/delivery/manual.rs and scripts/package-test.sh render the generated man pages.
command -v groff >/dev/null || need+=(groff)
command -v man   >/dev/null || need+=(man-db)
# dpkg-dev (dpkg-shlibdeps): cargo-deb finds the package's library dependencies with it.
command -v dpkg-shlibdeps >/dev/null || need+=(dpkg-dev)
# lintian: scripts/package-test.sh checks the Debian package with it (about 4 s here; the
# install is large, about 130 packages, but only once).
command -v lintian >/dev/null || need+=(lintian)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "install-deps: installing ${need[*]}" >&2
  $SUDO apt-get update -qq
  case " ${need[*]} " in
    # Answer wireshark-common's question (may non-root users capture?) before apt asks it.
    *" tshark "*)
      echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections ;;
  esac
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# cargo-deb (crates.io): scripts/package.sh builds the Debian package with it. Pinned; 3.8.0
# builds with the toolchain here (it needs Rust 1.85).
if ! cargo deb --version 2>/dev/null | grep -qx 'cargo-deb 3.8.0'; then
  echo "install-deps: installing cargo-deb 3.8.0" >&2
  cargo install --locked --version 3.8.0 cargo-deb
fi

# aioquic (PyPI; Debian has none): the real QUIC client and server of pcaps/make-captures.sh.
venv=${EGRESS_IDS_VENV:-/opt/egress-ids/venv}
if ! "$venv/bin/python" -c 'import aioquic' 2>/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "install-deps: installing aioquic into $venv" >&2
  $SUDO /usr/bin/python3 -m venv "$venv"
  $SUDO "$venv/bin/pip" install -q --disable-pip-version-check aioquic==1.2.0
fi
