#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit and integration tests (the integration tests
# capture real clients in network namespaces when run as root, and replay ../shared/corpus).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --all-targets --locked
