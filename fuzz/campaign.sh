#!/usr/bin/env bash
# fuzz/campaign.sh [TARGET...]
#
# The fuzzing campaign of issue 10: seeds every corpus from the project's captures
# (fuzz/make-seeds.py), then runs each target (default: all) until it has executed RUNS inputs
# (default 10,000,000; engine_frames, the whole pipeline, ENGINE_RUNS, default 1,000,000), one
# target at a time, without sanitizer (-s none: the code under test forbids unsafe, but for the
# capture module's mapping, which no target reaches; capture_stream reads through its chunks). Prints one line per target: runs, seconds, exit code.
# A crash stops that target with libFuzzer's report and its input under fuzz/artifacts/.
# Needs cargo-fuzz (`cargo install cargo-fuzz`); RUSTC_BOOTSTRAP=1 lets it use the stable
# toolchain's -Z flags.
set -euo pipefail
cd "$(dirname "$0")"
RUNS=${RUNS:-10000000}
ENGINE_RUNS=${ENGINE_RUNS:-1000000}
command -v cargo-fuzz >/dev/null || { echo "fuzz/campaign.sh: cargo install cargo-fuzz" >&2; exit 2; }
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(tls_client_hello http_heads dns_message daemon_config decode_frame tcp_reassembly quic_initials engine_frames socks_handshake h2_frames rules_file capture_stream lockfile)
captures=(../pcaps/*.pcap ../tests/data/suricata-verify/*.pcap)
[ -d ../../shared/corpus/pcaps ] && captures+=(../../shared/corpus/pcaps/*)
python3 make-seeds.py corpus "${captures[@]}" >/dev/null
for t in "${targets[@]}"; do
  runs=$RUNS
  [ "$t" = engine_frames ] && runs=$ENGINE_RUNS
  mkdir -p "corpus/$t"
  log=$(mktemp)
  start=$SECONDS
  set +e
  RUSTC_BOOTSTRAP=1 cargo fuzz run -s none "$t" "corpus/$t" -- -runs="$runs" \
    -print_final_stats=1 >"$log" 2>&1
  code=$?
  set -e
  done_line=$(grep -E '^Done [0-9]+ runs' "$log" | tail -1 || true)
  echo "$t: ${done_line:-no 'Done' line} (wall $((SECONDS - start)) s, exit $code)"
  [ "$code" -eq 0 ] || { tail -40 "$log" >&2; rm -f "$log"; exit 1; }
  rm -f "$log"
done
