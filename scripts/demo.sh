#!/usr/bin/env bash
# The auto-apply job's gate decisions on the example platform in fixtures/, with the built-in
# default policy, as the workflow would run them. Exits non-zero if any gate answers other
# than the contract says it must on this machine.
set -uo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release --bins || exit 2
bin="${CARGO_TARGET_DIR:-$PWD/target}/release"
cd fixtures   # the example platform is a repository root: modules/ lives here

failures=0
step() {
  local want=$1 why=$2; shift 2
  printf '\n### %s\n$ %s\n' "$why" "$*"
  "$@"
  local got=$?
  printf '(exit %s, expected %s)\n' "$got" "$want"
  [ "$got" = "$want" ] || failures=$((failures + 1))
}

step 0 "A stateless module: eligible without a backup" \
  "$bin/auto_apply_scope" --from-event events/dispatch-web-app.json --fail-on-blocked
step 1 "The platform's real minio-init dispatch: blocked here, because this machine holds no such backup (fail closed)" \
  "$bin/auto_apply_scope" --from-event events/dispatch-minio-init.json --fail-on-blocked
step 1 "The one-shot gate on the same dispatch and its plan: deny, for the same reason" \
  "$bin/allow_one_shot_stateful_apply" --from-event events/dispatch-minio-init.json --plan plans/minio-init-exited.json
step 1 "A public-edge module stays manual" \
  "$bin/auto_apply_scope" --from-event events/dispatch-traefik.json
step 0 "A pull request's modules and their scopes (report only)" \
  "$bin/auto_apply_scope" --changed-files changed-files/pr-mixed.txt --report-only

if [ "$failures" -ne 0 ]; then
  echo "demo: $failures step(s) did not answer as expected" >&2
  exit 1
fi
echo
echo "demo: every gate answered as the contract says"
