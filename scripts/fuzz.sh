#!/usr/bin/env bash
# Fuzz every target in fuzz/ for SECONDS_PER_TARGET (default 60), starting from the committed
# corpus in fuzz/corpus/<target>/, with the dictionary fuzz/dicts/<target>.dict where there is
# one. New inputs go to target/fuzz-corpus/<target>/ (not the
# committed corpus; run with FUZZ_GROW=1 to grow fuzz/corpus/ and minimise it afterwards).
# A crash, a leak, a timeout (10 s per input) or more than 2 GiB of memory fails the run, and
# the reproducer is left in fuzz/artifacts/<target>/.
#
# cargo-fuzz needs nightly features; on a stable toolchain RUSTC_BOOTSTRAP=1 enables them.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
shift || true
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cd fuzz
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
echo "== fuzz: building ${#targets[@]} target(s)"
# cargo-fuzz has no --locked; fetching with it first fails if fuzz/Cargo.lock is stale, so
# the build below uses exactly the committed versions.
cargo fetch --locked
# The C libraries (libzstd, and ISA-L, which compresses backups) are built without ASan:
# isal-sys links its configure checks with -static, which GCC refuses beside
# -fsanitize=address (cc passes that on from -Zsanitizer). The Rust code stays instrumented.
export CFLAGS="${CFLAGS:-} -fno-sanitize=address"
cargo fuzz build -O
status=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  if [ "${FUZZ_GROW:-0}" = 1 ]; then
    dirs=("corpus/$t")
  else
    work="../target/fuzz-corpus/$t"
    mkdir -p "$work"
    dirs=("$work" "corpus/$t")
  fi
  # A dictionary of the keys and syntax a target's reader knows, where there is one: without
  # it the fuzzer spends most of its time guessing key names one byte at a time.
  dict=()
  if [ -f "dicts/$t.dict" ]; then
    dict=("-dict=dicts/$t.dict")
  fi
  echo "== fuzz: $t for ${secs}s"
  if ! cargo fuzz run -O "$t" "${dirs[@]}" -- \
      -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 "${dict[@]}" 2>"../target/fuzz-$t.log"; then
    echo "!! fuzz: $t FAILED; see target/fuzz-$t.log and fuzz/artifacts/$t/"
    tail -n 40 "../target/fuzz-$t.log"
    status=1
  fi
  grep -E '^stat::(number_of_executed_units|peak_rss_mb)|cov:' "../target/fuzz-$t.log" | tail -n 3 || true
  if [ "${FUZZ_GROW:-0}" = 1 ]; then
    # Keep the committed corpus small: one input per covered edge (hit counts and value
    # profiles ignored), which is what `cargo fuzz cmin` does with fewer features.
    min="$(mktemp -d)"
    cargo fuzz run -O "$t" "$min" "corpus/$t" -- -merge=1 -use_counters=0 -use_value_profile=0 \
      >/dev/null 2>&1 && rm -rf "corpus/$t" && mv "$min" "corpus/$t"
  fi
done
exit "$status"
