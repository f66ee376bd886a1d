#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit and integration tests (the integration tests
# capture real clients in network namespaces when run as root, and replay ../shared/corpus), the
# micro-benchmarks once each (`cargo test` runs them in test mode), and smoke runs of the
# throughput benchmark and (as root) the live benchmark (small generated captures, one run
# each: they build and start).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
# rust-version in Cargo.toml is what the locked dependencies need (clippy checks our own code
# against it with incompatible_msrv).
bash scripts/check-rust-version.sh
# The module chain (tests/layers.rs): no module of src/ imports one that stands after it.
cargo test --locked --test layers -q
cargo clippy --workspace --all-targets --locked -- -D warnings
# The developer docs (every item, private ones included) build without a broken link.
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --document-private-items --locked -q
cargo test --workspace --all-targets --locked
# The fuzz targets (their own workspace, not run here) still build against the crates' API.
cargo check --manifest-path fuzz/Cargo.toml --bins --locked
bash bench/run.sh --quick >/dev/null
# The A/B benchmark (bench/run.sh just built the release binary): the build against itself.
release=${CARGO_TARGET_DIR:-target}/release/egress-ids
bash bench/ab.sh --quick "$release" "$release" >/dev/null
# The Debian package of that release binary, installed into scratch roots (dpkg -x, dpkg --root).
bash scripts/package-test.sh
# The live benchmark captures on a veth in a namespace of its own: root only.
if [ "$(id -u)" -eq 0 ]; then bash bench/live.sh --quick >/dev/null; fi
