#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit and integration tests (the integration tests
# capture real clients in network namespaces when run as root, and replay ../shared/corpus), the
# micro-benchmarks once each (`cargo test` runs them in test mode), and a smoke run of the
# throughput benchmark (small generated captures, one run each: it builds and starts).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --all-targets --locked
bash bench/run.sh --quick >/dev/null
