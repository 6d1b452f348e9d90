#!/usr/bin/env bash
# Mutation testing of the code that decides a yes: the dispatch gates and their checks, the
# backup reference grammar and artifact judgement, the plan and dispatch-input readers.
# Usage: scripts/mutants.sh [OUTPUT_DIR] [extra cargo-mutants args...]
# Needs cargo-mutants (`cargo install cargo-mutants --locked`). Figures: docs/mutation-testing.md.
# Slow on 2 cores (about 13 s per mutant): scoped to the decision code and to the test targets
# that exercise it, so that each mutant builds and links only what those tests need.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/mutants}"
shift || true
command -v cargo-mutants >/dev/null || cargo install cargo-mutants --locked
mkdir -p "$out"
exec cargo mutants \
  --output "$out" \
  --no-shuffle \
  -j "${MUTANTS_JOBS:-1}" \
  --timeout-multiplier 3 \
  --file 'src/gates/**' \
  --file 'src/backup/reference.rs' \
  --file 'src/backup/artifact.rs' \
  --file 'src/model/plan.rs' \
  --file 'src/model/dispatch.rs' \
  --file 'src/model/module_id.rs' \
  --exclude 'src/gates/host.rs' \
  --exclude 'src/gates/replay.rs' \
  "$@" \
  -- --lib --test dispatch_scope --test one_shot --test precondition_oracle \
     --test backup_formats --test pr_scope --test record_chain --test registry \
     --test mutants_backup --test mutants_decisions
