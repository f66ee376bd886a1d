#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit and integration tests (the integration tests
# capture real clients in network namespaces when run as root, and replay ../shared/corpus), the
# micro-benchmarks once each (`cargo test` runs them in test mode), and smoke runs of the
# throughput benchmark and (as root) the live benchmark (small generated captures, one run
# each: they build and start).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
# The module chain (tests/layers.rs): no module of src/ imports one that stands after it.
cargo test --locked --test layers -q
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --all-targets --locked
bash bench/run.sh --quick >/dev/null
# The live benchmark captures on a veth in a namespace of its own: root only.
if [ "$(id -u)" -eq 0 ]; then bash bench/live.sh --quick >/dev/null; fi
