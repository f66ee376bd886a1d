#!/usr/bin/env bash
# Checks that Cargo.toml's rust-version is true: no older than any locked dependency needs (the
# highest `rust-version` among the packages built for Linux), and no newer than that without a
# reason written here. Our own code's use of newer std APIs is checked by clippy's
# `incompatible_msrv` lint, which reads the same rust-version (scripts/test.sh runs clippy).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo metadata --locked --format-version 1 --filter-platform x86_64-unknown-linux-gnu |
  python3 -c '
import json, sys
meta = json.load(sys.stdin)
ours = {p["id"] for p in meta["packages"] if p["id"] in meta["workspace_members"]}
built = {n["id"] for n in meta["resolve"]["nodes"]}
def ver(v):
    return (tuple(int(x) for x in (v or "0").split(".")) + (0, 0, 0))[:3]
declared = {p["name"]: p["rust_version"] for p in meta["packages"] if p["id"] in ours}
if len(set(declared.values())) != 1 or None in declared.values():
    sys.exit(f"check-rust-version: workspace members disagree or lack rust-version: {declared}")
mine = next(iter(declared.values()))
needs = sorted(((ver(p["rust_version"]), p["name"], p["version"], p["rust_version"])
                for p in meta["packages"]
                if p["id"] in built and p["id"] not in ours and p["rust_version"]), reverse=True)
top = needs[0]
if ver(mine) < top[0]:
    sys.exit(f"check-rust-version: rust-version = {mine}, but {top[1]} {top[2]} needs {top[3]}: raise it in Cargo.toml")
if ver(mine) > top[0]:
    sys.exit(f"check-rust-version: rust-version = {mine}, but no dependency needs more than {top[3]} ({top[1]} {top[2]}): lower it, or say here why the code needs {mine}")
print(f"check-rust-version: rust-version {mine} = the highest a locked dependency needs ({top[1]} {top[2]}); {len(needs)} dependencies declare one")
'
