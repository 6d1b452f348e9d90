#!/usr/bin/env bash
# Mutation testing of the code that decides a yes, one area at a time:
#   dispatch  the dispatch gates, their entry points (gates/dispatch.rs) and their checks, the
#             backup reference grammar and artifact judgement, the plan and dispatch-input
#             readers, the changed-files reader, the decision log's replay comparison
#             (record/replay.rs), and what a result is handed on as (emit.rs: exit code,
#             --report-only, the record, the step outputs)
#   drill     the entry points of restore_drill and backup_before_apply (gates/restore_drill.rs,
#             gates/backup_before_apply.rs); their tests start PostgreSQL and Redis: slow
#   canary    the canary gate: rules from the policy, the body reader, the changed-file readers,
#             the comment, one run from flags to decision (run.rs) and its report on Forgejo
#             (publish.rs)
#   api       the Forgejo API client (client and retries, token, endpoints, pull requests, files,
#             statuses, comments) and the one mapping of a pull-request document to the model
#             (model/pull_request.rs)
#   lint      the gate-wiring rule of lint_workflows
# Usage: scripts/mutants.sh AREA [OUTPUT_DIR] [extra cargo-mutants args...]
# Needs cargo-mutants (`cargo install cargo-mutants --locked`). Figures: docs/mutation-testing.md.
# Each area is scoped to its code and to the test targets that exercise it, so that each
# mutant builds and links only what those tests need.
set -euo pipefail
cd "$(dirname "$0")/.."
area="${1:-}"
out="${2:-target/mutants/$area}"
shift 2 || shift $# || true
command -v cargo-mutants >/dev/null || cargo install cargo-mutants --locked
case "$area" in
  dispatch)
    files=(--file 'src/gates/**' --file 'src/backup/reference.rs' --file 'src/backup/artifact.rs'
      --file 'src/model/plan.rs' --file 'src/model/dispatch.rs' --file 'src/model/module_id.rs'
      --file 'src/model/changed_files.rs' --file 'src/record/replay.rs' --file 'src/emit.rs'
      --exclude 'src/gates/host.rs' --exclude 'src/gates/replay.rs'
      --exclude 'src/gates/restore_drill.rs' --exclude 'src/gates/backup_before_apply.rs'
      --exclude 'src/gates/lint_workflows.rs')
    tests=(--lib --test dispatch_scope --test one_shot --test precondition_oracle
      --test backup_formats --test pr_scope --test record_chain --test registry
      --test mutants_backup --test mutants_decisions)
    ;;
  drill)
    files=(--file 'src/gates/restore_drill.rs' --file 'src/gates/backup_before_apply.rs')
    tests=(--lib --test backup_drill --test backup_take --test backup_evidence)
    ;;
  canary)
    files=(--file 'src/canary/**' --file 'src/policy/canary.rs')
    tests=(--lib --test canary_api --test canary_cli --test canary_run --test canary_docs
      --test canary_module_evidence --test registry --test mutants_canary)
    ;;
  api)
    files=(--file 'src/forgejo/**' --file 'src/model/pull_request.rs')
    tests=(--lib --test canary_api --test canary_run --test canary_cli --test secrets_token)
    ;;
  lint)
    files=(--file 'src/lint/rules/gate_wiring/**' --file 'src/lint/shell/**')
    tests=(--lib --test lint_cli --test lint_fixtures --test mutants_lint
      --test workflows_gate_bypasses)
    ;;
  *)
    echo "usage: scripts/mutants.sh dispatch|drill|canary|api|lint [OUTPUT_DIR] [cargo-mutants args...]" >&2
    exit 2
    ;;
esac
mkdir -p "$out"
# Every mutant is a rebuild: without debug info, building and linking take much less time.
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-0}"
export CARGO_PROFILE_TEST_DEBUG="${CARGO_PROFILE_TEST_DEBUG:-0}"
# The test targets go to every cargo call (`--cargo-arg`), not only to `cargo test` (`--`):
# otherwise the build phase (`cargo test --no-run`) builds all ~30 test targets per mutant.
cargo_args=()
for t in "${tests[@]}"; do
  cargo_args+=("--cargo-arg=$t")
done
exec cargo mutants \
  --output "$out" \
  --no-shuffle \
  -j "${MUTANTS_JOBS:-1}" \
  --timeout-multiplier 3 \
  "${files[@]}" \
  "${cargo_args[@]}" \
  "$@"
