#!/usr/bin/env bash
# Benchmarks for taking and drilling a PostgreSQL backup (figures, not assertions):
#  1. backup_before_apply (pg_dumpall, gzip in-process, deep verification, inventory) against
#     `pg_dumpall > /dev/null` alone, on the same cluster;
#  2. restore_drill (initdb, psql -f from the decompressed stream, exact row counts) against
#     `psql -f dump.sql` alone into a fresh, already running cluster;
#  each with wall time, throughput over the uncompressed dump size, and peak memory (maximum
#  resident set of the process tree, from /usr/bin/time -v).
# Usage: scripts/bench_backup.sh [SIZE_MIB]   (default 1024: the dump's uncompressed size)
# Needs: initdb, postgres, psql, pg_dumpall on PATH; /usr/bin/time. Run as root or not (as root
# the clusters run as `nobody`).
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
[ "${BENCH_NO_BUILD:-}" = 1 ] || cargo build --quiet --release --bin backup_before_apply --bin restore_drill
bin="${CARGO_TARGET_DIR:-$PWD/target}/release"
work=$(mktemp -d /tmp/gates-bench-backup.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.2; done; done
  rm -rf "$work"
}
trap cleanup EXIT

as_server=()
if [ "$(id -u)" = 0 ]; then as_server=(setpriv --reuid=nobody --regid=nogroup --clear-groups); fi

# A cluster in $work/$1 on a socket there, superuser $2; its pid is remembered for the cleanup.
start_cluster() {
  local dir="$work/$1" su=$2
  mkdir "$dir"
  [ "$(id -u)" = 0 ] && chown nobody:nogroup "$dir"
  (cd "$dir" && "${as_server[@]}" initdb -D "$dir/data" -U "$su" --auth=trust -E UTF8 --locale=C --no-sync >/dev/null)
  (cd "$dir" && exec "${as_server[@]}" postgres -D "$dir/data" -k "$dir" -c listen_addresses= -c fsync=off >"$dir/log" 2>&1) &
  pids+=($!)
  for _ in $(seq 600); do
    psql -X -q -h "$dir" -U "$su" -d postgres -c 'SELECT 1' >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "cluster $1 did not start" >&2
  exit 1
}

# `measure NAME CMD...`: wall seconds and peak RSS (KiB) of CMD's process tree.
measure() {
  local name=$1; shift
  /usr/bin/time -v -o "$work/time-$name" "$@" >"$work/out-$name" 2>&1 || {
    echo "$name failed:" >&2; tail -20 "$work/out-$name" >&2; exit 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time-$name" |
    awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time-$name")
  echo "$name $wall $rss" >>"$work/results"
}

echo "== source cluster with a ~${size_mib} MiB dump"
start_cluster src postgres
src="$work/src"
# ~105 bytes of dump text per row.
rows=$(( size_mib * 1024 * 1024 / 105 ))
psql -X -q -h "$src" -U postgres -c "CREATE DATABASE bench"
psql -X -q -h "$src" -U postgres -d bench -v ON_ERROR_STOP=1 -c "
  CREATE TABLE big (id bigint, payload text);
  INSERT INTO big SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, $rows) g;
  CREATE TABLE small (id int PRIMARY KEY, name text);
  INSERT INTO small SELECT g, 'n' || g FROM generate_series(1, 1000) g;"

root="$work/backups"
mkdir -m 700 "$root"
cat >"$work/policy.yml" <<EOF
backup:
  root: $root
  owner_uid: $(id -u)
  verify: deep
  procedures:
    postgres:
      exec: []
      command: [pg_dumpall, -h, "$src", -U, postgres]
      psql: [psql, -h, "$src", -U, postgres]
EOF

echo "== 1. pg_dumpall alone, then backup_before_apply"
measure pg_dumpall pg_dumpall -h "$src" -U postgres --no-sync -f /dev/null
measure backup_before_apply "$bin/backup_before_apply" --module postgres \
  --modules-dir fixtures/modules --policy "$work/policy.yml"
backup=$(tail -n 1 "$work/out-backup_before_apply")
dump_bytes=$(gzip -dc "$backup" | wc -c)
gz_bytes=$(stat -c %s "$backup")

echo "== 2. psql -f alone into a running cluster, then restore_drill"
gzip -dc "$backup" >"$work/dump.sql"
chmod 644 "$work/dump.sql"
# Another superuser name, as the drill uses: the dump creates the role `postgres` itself.
start_cluster target bench_target
measure psql_f psql -X -q -v ON_ERROR_STOP=1 -h "$work/target" -U bench_target -d postgres -f "$work/dump.sql"
rm -f "$work/dump.sql"
measure restore_drill "$bin/restore_drill" --backup-ref "$backup" --module postgres \
  --modules-dir fixtures/modules --policy "$work/policy.yml"
grep -q 'PASS' "$work/out-restore_drill" || { cat "$work/out-restore_drill"; exit 1; }

echo
echo "dump: $dump_bytes bytes uncompressed ($rows rows in bench.big), $gz_bytes bytes as sql.gz"
echo "machine: $(nproc) cores, shared with other builds while this ran"
printf '%-22s %10s %12s %14s\n' "command" "wall (s)" "MiB/s" "peak RSS (MiB)"
while read -r name wall rss; do
  awk -v n="$name" -v w="$wall" -v r="$rss" -v b="$dump_bytes" \
    'BEGIN { printf "%-22s %10.2f %12.1f %14.1f\n", n, w, (w > 0 ? b / 1048576 / w : 0), r / 1024 }'
done <"$work/results"
