#!/usr/bin/env bash
# Benchmarks for taking and drilling a PostgreSQL backup (figures, not assertions), each paired
# in the same run with the reference tool doing the same work:
#  1. backup_before_apply (pg_dumpall, gzip, deep verification, fsync, inventory) against
#     `pg_dumpall` alone (to /dev/null) and against `pg_dumpall | gzip -L` into a file (L: the
#     level backup_before_apply compresses at), on the same cluster;
#  2. restore_drill (initdb, the file decompressed once: deep verification and psql -f read the
#     same pass; exact row counts) against `psql -f dump.sql` alone and `gzip -dc | psql -f -`,
#     each into a fresh, already running cluster, and against a restore by hand into a new
#     cluster (`initdb`, start, `psql -f`, stop: the work no drill can skip); every reference
#     server runs with the settings the drill gives its scratch cluster (read from the source).
# For each: wall time, throughput over the uncompressed dump size, CPU seconds of the whole
# work (the client processes and the PostgreSQL server processes that served them: stable
# on a busy machine, where wall time is not), and peak memory (maximum resident set of the
# client's process tree, from /usr/bin/time -v); then each figure's ratio to its reference,
# and the backup's floor: its CPU seconds over the cores, the least wall time its work allows.
# Usage: scripts/bench_backup.sh [SIZE_MIB]   (default 1024: the dump's uncompressed size)
#   BENCH_RUNS=N      pairs per measure (default 1); the median is printed
#   BENCH_NO_BUILD=1  use the release build already in ${CARGO_TARGET_DIR:-target}
#   BENCH_GZIP_LEVEL=L  the reference gzip level (default: the one the source tree uses)
#   BENCH_BASELINE_BIN=DIR  also time the backup_before_apply and restore_drill in DIR (e.g. a
#                     build of main), paired in the same run, as `...@base`
# Needs: initdb, postgres, psql, pg_dumpall, gzip on PATH; /usr/bin/time. Run as root or not (as
# root the clusters run as `nobody`).
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
runs=${BENCH_RUNS:-1}
# The level backup_before_apply compresses at (src/backup/take/gzip.rs, LEVEL).
level=$(sed -n 's/^pub const LEVEL: u32 = \([0-9]\);.*/\1/p' src/backup/take/gzip.rs 2>/dev/null || true)
level=${BENCH_GZIP_LEVEL:-${level:-6}}
[ "${BENCH_NO_BUILD:-}" = 1 ] || cargo build --quiet --release --bin backup_before_apply --bin restore_drill
bin="${CARGO_TARGET_DIR:-$PWD/target}/release"
base=${BENCH_BASELINE_BIN:-}
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
tick=$(getconf CLK_TCK)

# The settings restore_drill gives its scratch cluster (SERVER_SETTINGS in
# src/backup/drill/postgres.rs, read from there), so that every reference restores into the
# same kind of server as the drill: no durability, minimal WAL, no autovacuum.
drill_settings=()
while read -r setting; do drill_settings+=(-c "$setting"); done < <(
  sed -n '/^\/\/ settings-start/,/^\/\/ settings-end/ s/^ *"\([^"]*\)",$/\1/p' src/backup/drill/postgres.rs)
[ "${#drill_settings[@]}" -gt 0 ] || { echo "no SERVER_SETTINGS in src/backup/drill/postgres.rs" >&2; exit 1; }
echo "reference servers run with: ${drill_settings[*]}"

# A cluster in $work/$1 on a socket there, superuser $2, more server flags after; its postmaster
# pid is remembered for the cleanup and in $work/$1/pid.
start_cluster() {
  local dir="$work/$1" su=$2
  shift 2
  mkdir "$dir"
  [ "$(id -u)" = 0 ] && chown nobody:nogroup "$dir"
  (cd "$dir" && "${as_server[@]}" initdb -D "$dir/data" -U "$su" --auth=trust -E UTF8 --locale=C --no-sync >/dev/null)
  (cd "$dir" && exec "${as_server[@]}" postgres -D "$dir/data" -k "$dir" -c listen_addresses= "$@" >"$dir/log" 2>&1) &
  pids+=($!)
  echo $! >"$dir/pid"
  for _ in $(seq 600); do
    psql -X -q -h "$dir" -U "$su" -d postgres -c 'SELECT 1' >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "cluster $1 did not start" >&2
  exit 1
}

stop_cluster() {
  local pid
  pid=$(cat "$work/$1/pid")
  kill -INT "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  rm -rf "$work/$1"
}

# CPU ticks used so far by a cluster: its postmaster, every live child, every reaped one.
server_ticks() {
  local pm total=0 p
  pm=$(cat "$work/$1/pid")
  for p in "$pm" $(pgrep -P "$pm" || true); do
    # utime stime cutime cstime: fields 14-17 (after the command name, which may hold spaces).
    total=$((total + $(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13 + $14 + $15}' || echo 0)))
  done
  echo "$total"
}

# `measure NAME CLUSTER CMD...`: wall seconds, CPU seconds (CMD's process tree plus what
# CLUSTER's server spent meanwhile; `-` for none) and peak RSS (KiB) of CMD's process tree.
measure() {
  local name=$1 cluster=$2
  shift 2
  local before=0 after=0
  [ "$cluster" = - ] || before=$(server_ticks "$cluster")
  /usr/bin/time -v -o "$work/time-$name" "$@" >"$work/out-$name" 2>&1 || {
    echo "$name failed:" >&2; tail -20 "$work/out-$name" >&2; exit 1; }
  # The server reaps its backends a moment after the client is gone.
  [ "$cluster" = - ] || { sleep 0.5; after=$(server_ticks "$cluster"); }
  local wall rss cpu
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time-$name" |
    awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time-$name")
  cpu=$(awk -F': ' -v s=$(( after - before )) -v t="$tick" \
    '/User time|System time/ {c += $2} END {printf "%.2f", c + s / t}' "$work/time-$name")
  echo "$name $wall $cpu $rss" >>"$work/results"
}

echo "== source cluster with a ~${size_mib} MiB dump"
start_cluster src postgres -c fsync=off
src="$work/src"
# ~105 bytes of dump text per row.
rows=$(( size_mib * 1024 * 1024 / 105 ))
psql -X -q -h "$src" -U postgres -c "CREATE DATABASE bench"
psql -X -q -h "$src" -U postgres -d bench -v ON_ERROR_STOP=1 -c "
  CREATE TABLE big (id bigint, payload text);
  INSERT INTO big SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, $rows) g;
  CREATE TABLE small (id int PRIMARY KEY, name text);
  INSERT INTO small SELECT g, 'n' || g FROM generate_series(1, 1000) g;"
# Hint bits set and statistics taken once, so that no measure pays for them.
psql -X -q -h "$src" -U postgres -d bench -c "VACUUM ANALYZE"

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

echo "== 1. pg_dumpall alone, pg_dumpall | gzip -$level, backup_before_apply (x$runs, paired)"
backup=
base_backup=
for i in $(seq "$runs"); do
  measure "pg_dumpall#$i" src pg_dumpall -h "$src" -U postgres --no-sync -f /dev/null
  measure "pg_dumpall|gzip#$i" src bash -o pipefail -c \
    "pg_dumpall -h '$src' -U postgres | gzip -$level >'$work/ref.sql.gz'"
  rm -f "$work/ref.sql.gz"
  # The name holds the second it was taken: runs take longer than that, so names differ.
  measure "backup_before_apply#$i" src "$bin/backup_before_apply" --module postgres \
    --modules-dir fixtures/modules --policy "$work/policy.yml"
  b=$(tail -n 1 "$work/out-backup_before_apply#$i")
  [ -z "$backup" ] && backup=$b || rm -f "$b" "$b.manifest.json"
  if [ -n "$base" ]; then
    measure "backup_before_apply@base#$i" src "$base/backup_before_apply" --module postgres \
      --modules-dir fixtures/modules --policy "$work/policy.yml"
    b=$(tail -n 1 "$work/out-backup_before_apply@base#$i")
    [ -z "$base_backup" ] && base_backup=$b || rm -f "$b" "$b.manifest.json"
  fi
done
dump_bytes=$(gzip -dc "$backup" | wc -c)
gz_bytes=$(stat -c %s "$backup")

echo "== 2. psql -f alone, gzip -dc | psql -f -, restore_drill (x$runs, paired)"
gzip -dc "$backup" >"$work/dump.sql"
cp "$backup" "$work/dump.sql.gz"
chmod 644 "$work/dump.sql" "$work/dump.sql.gz"
# A restore by hand into a new cluster, the work a drill cannot skip: initdb, start the server
# (the drill's settings), `psql -f`, immediate stop. Its CPU includes the server's (a child).
cat >"$work/fresh_restore.sh" <<'EOF_FRESH'
set -euo pipefail
dir=$1 dump=$2
shift 2
mkdir "$dir"
[ "$(id -u)" = 0 ] && chown nobody:nogroup "$dir"
as_server=()
[ "$(id -u)" = 0 ] && as_server=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
cd "$dir"
"${as_server[@]}" initdb -D "$dir/data" -U bench_target --auth=trust -E UTF8 --locale=C --no-sync >/dev/null
"${as_server[@]}" postgres -D "$dir/data" -k "$dir" -c listen_addresses= "$@" >"$dir/log" 2>&1 &
pm=$!
# Immediate stop and removal, as the drill does; also when a step failed.
trap 'kill -QUIT "$pm" 2>/dev/null || true; wait "$pm" 2>/dev/null || true; rm -rf "$dir"' EXIT
until psql -X -q -h "$dir" -U bench_target -d postgres -c 'SELECT 1' >/dev/null 2>&1; do
  kill -0 "$pm" || exit 1
  sleep 0.05
done
psql -X -q -v ON_ERROR_STOP=1 -h "$dir" -U bench_target -d postgres -f "$dump"
EOF_FRESH
for i in $(seq "$runs"); do
  measure "initdb+psql_-f#$i" - bash "$work/fresh_restore.sh" "$work/fresh" "$work/dump.sql" \
    "${drill_settings[@]}"
  # Another superuser name, as the drill uses: the dump creates the role `postgres` itself.
  start_cluster target bench_target "${drill_settings[@]}"
  measure "psql_-f#$i" target psql -X -q -v ON_ERROR_STOP=1 -h "$work/target" -U bench_target \
    -d postgres -f "$work/dump.sql"
  stop_cluster target
  start_cluster target bench_target "${drill_settings[@]}"
  measure "gzip_-dc|psql#$i" target bash -o pipefail -c \
    "gzip -dc '$work/dump.sql.gz' | psql -X -q -v ON_ERROR_STOP=1 -h '$work/target' -U bench_target -d postgres -f -"
  stop_cluster target
  measure "restore_drill#$i" - "$bin/restore_drill" --backup-ref "$backup" --module postgres \
    --modules-dir fixtures/modules --policy "$work/policy.yml"
  grep -q 'PASS' "$work/out-restore_drill#$i" || { cat "$work/out-restore_drill#$i"; exit 1; }
  if [ -n "$base" ]; then
    measure "restore_drill@base#$i" - "$base/restore_drill" --backup-ref "$base_backup" \
      --module postgres --modules-dir fixtures/modules --policy "$work/policy.yml"
    grep -q 'PASS' "$work/out-restore_drill@base#$i" || { cat "$work/out-restore_drill@base#$i"; exit 1; }
  fi
done
rm -f "$work/dump.sql" "$work/dump.sql.gz"

echo
echo "dump: $dump_bytes bytes uncompressed ($rows rows in bench.big), $gz_bytes bytes as sql.gz (level $level)"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; shared with other work unless said otherwise"
echo "figures: medians of $runs run(s); CPU s = client process tree + the server's processes meanwhile"
# Median per measure name (the part before '#').
median() {
  awk -v n="$1" -v col="$2" '{ split($1, a, "#"); if (a[1] == n) print $col }' "$work/results" |
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
row() {
  local name=$1 ref=$2 wall cpu rss rwall rcpu
  wall=$(median "$name" 2); cpu=$(median "$name" 3); rss=$(median "$name" 4)
  if [ -n "$ref" ]; then rwall=$(median "$ref" 2); rcpu=$(median "$ref" 3); else rwall=0; rcpu=0; fi
  awk -v n="$name" -v w="$wall" -v c="$cpu" -v r="$rss" -v b="$dump_bytes" -v rw="$rwall" -v rc="$rcpu" -v ref="$ref" \
    'BEGIN {
       ratio = (rw > 0 ? sprintf("%.2fx / %.2fx  (vs %s)", w / rw, c / rc, ref) : "reference")
       printf "%-26s %9.2f %9.1f %9.2f %9.1f   %s\n", n, w, (w > 0 ? b / 1048576 / w : 0), c, r / 1024, ratio
     }'
}
printf '%-26s %9s %9s %9s %9s   %s\n' "measure" "wall s" "MiB/s" "CPU s" "RSS MiB" "ratio wall / CPU"
row pg_dumpall ""
row "pg_dumpall|gzip" pg_dumpall
row backup_before_apply pg_dumpall
row backup_before_apply "pg_dumpall|gzip"
# The least wall time the backup's CPU allows on this machine's cores (every core busy from its
# first instant to its last): where the ratio above is close to this one, only less work can
# lower it; where it is far above, the time is lost waiting (docs/backup.md, "Speed").
awk -v c="$(median backup_before_apply 3)" -v w="$(median pg_dumpall 2)" -v n="$(nproc)" \
  'BEGIN { f = c / n; printf "%-26s %9.2f %9s %9s %9s   %.2fx  (its CPU s on %d cores, vs pg_dumpall)\n", "backup_before_apply floor", f, "", "", "", (w > 0 ? f / w : 0), n }'
row "psql_-f" ""
row "gzip_-dc|psql" "psql_-f"
row "initdb+psql_-f" "psql_-f"
row restore_drill "psql_-f"
row restore_drill "gzip_-dc|psql"
row restore_drill "initdb+psql_-f"
if [ -n "$base" ]; then
  echo "baseline build ($base), same run:"
  row "backup_before_apply@base" pg_dumpall
  row "restore_drill@base" "psql_-f"
fi
