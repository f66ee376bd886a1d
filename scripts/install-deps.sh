#!/usr/bin/env bash
# Installs what egress-ids' tests and capture scripts need on a fresh Debian machine with Rust.
# Idempotent: skips apt when every tool is already present.
set -euo pipefail
need=()
command -v tcpdump  >/dev/null || need+=(tcpdump)
command -v dig      >/dev/null || need+=(dnsutils)
command -v dnsmasq  >/dev/null || need+=(dnsmasq-base)
command -v openssl  >/dev/null || need+=(openssl)
command -v ip       >/dev/null || need+=(iproute2)
command -v node     >/dev/null || need+=(nodejs)
command -v npm      >/dev/null || need+=(npm)
command -v curl     >/dev/null || need+=(curl)
command -v python3  >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "install-deps: installing ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
