#!/usr/bin/env bash
# The auto-apply job's gate decisions on the example platform in fixtures/, as the workflow
# would run them: first with the built-in default policy, then the whole yes path of a
# stateful one-shot (backup taken, drilled, dispatched) with a policy that points the backup
# root at a temporary directory, next to the cases that block. Exits non-zero if any answer
# differs from the contract's.
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

# The yes path, on this machine: minio-init is covered by minio's backup. The policy points
# the backup root at a temporary directory and says which host directory holds minio's data
# (with Docker, the directory behind the container's mount); it requires a manifest and a
# passing restore drill for minio backups.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -m 0700 "$work/backups"
mkdir -p "$work/minio-data/.minio.sys" "$work/minio-data/bucket"
printf '{"version":"1"}' > "$work/minio-data/.minio.sys/format.json"
head -c 300000 /dev/urandom > "$work/minio-data/bucket/object.bin"
cat > "$work/policy.yml" <<YAML
backup:
  root: $work/backups
  owner_uid: $(id -u)
  require_manifest: true
  require_drill: [minio]
  mounts:
    minio: [$work/minio-data]
  procedures:
    postgres: { exec: [], command: [pg_dumpall, -h, $work/no-server], psql: [psql, -h, $work/no-server] }
YAML
policy=(--policy "$work/policy.yml")

take() { "$bin/backup_before_apply" "$@" | tee "$work/take.out"; return "${PIPESTATUS[0]}"; }
step 0 "Take minio-init's backup (minio's data, archived), verified deep, with its manifest; the reference is the last line" \
  take --module minio-init "${policy[@]}"
ref=$(tail -n 1 "$work/take.out")
step 0 "Restore it into a scratch directory and compare with the manifest; the drill record goes beside it" \
  "$bin/restore_drill" --backup-ref "$ref" --module minio-init "${policy[@]}"
step 0 "The dispatch with that reference: eligible" \
  "$bin/auto_apply_scope" --module minio-init --allow-stateful --backup-ref "$ref" \
  --stateful-confirm BACKUP_DONE_F3 "${policy[@]}" --fail-on-blocked
step 0 "The one-shot gate on the same dispatch and its plan: allow" \
  "$bin/allow_one_shot_stateful_apply" --module minio-init --allow-stateful --backup-ref "$ref" \
  --stateful-confirm BACKUP_DONE_F3 --plan plans/minio-init-exited.json "${policy[@]}"

# What blocks.
cp "$ref.drill.json" "$work/drill-of-first.json" || exit 2
sleep 1   # backups are named to the second, and never overwritten
rm "$work/minio-data/bucket/object.bin"   # the data is gone: the next backup is tiny
step 0 "A backup of the emptied data is taken (and is well-formed)" \
  take --module minio-init "${policy[@]}"
small=$(tail -n 1 "$work/take.out")
install -m 0600 "$work/drill-of-first.json" "$small.drill.json" || exit 2
step 1 "The first backup's drill record placed beside it does not satisfy the gate (backup.drill.mismatch)" \
  "$bin/auto_apply_scope" --module minio-init --allow-stateful --backup-ref "$small" \
  --stateful-confirm BACKUP_DONE_F3 "${policy[@]}"
rm -f "$small.drill.json"
step 0 "Drilled, it restores and matches its own (tiny) manifest" \
  "$bin/restore_drill" --backup-ref "$small" --module minio-init "${policy[@]}"
step 1 "Much smaller than minio's previous backup: blocked, naming both sizes (backup.size.shrunk)" \
  "$bin/auto_apply_scope" --module minio-init --allow-stateful --backup-ref "$small" \
  --stateful-confirm BACKUP_DONE_F3 "${policy[@]}"
step 2 "A dump that fails (no server to dump): exit 2, and nothing is left in the backup root" \
  "$bin/backup_before_apply" --module postgres "${policy[@]}"
printf 'backup root now holds: %s\n' "$(ls "$work/backups" | tr '\n' ' ')"

if [ "$failures" -ne 0 ]; then
  echo "demo: $failures step(s) did not answer as expected" >&2
  exit 1
fi
echo
echo "demo: every gate answered as the contract says"
