#!/usr/bin/env bash
# Benchmarks for the dispatch gates (figures, not assertions), each paired with the reference
# tool for the same work in one hyperfine run on this machine:
#  1. a full decision of allow_one_shot_stateful_apply on the example platform (fixtures/:
#     minio-init, its plan, a fresh 0600 backup verified deep) as a whole process, against
#     `/bin/true` as a process (target: within 1.5x);
#  2. deep verification (the gate's decision on a large backup: decompression, format walk,
#     sha256) against `igzip -t` and `pigz -t` for a gzip'd tar and a gzip'd pg_dumpall dump,
#     each as one gzip member (`pigz -1`) and as one member per MiB (as backup_before_apply
#     writes them), and against `zstd -t` for a zstd'd tar (target: within 1.2x of igzip /
#     zstd), with the gate's peak memory (target: under 32 MiB).
# Usage: scripts/bench_dispatch.sh [SIZE_MIB]   (default 1024: each archive's content size)
# Environment: CARGO_TARGET_DIR is honoured; BENCH_BIN=DIR measures the binaries in DIR
# instead of building (e.g. a build of an older commit, for before/after figures); RUNS sets
# hyperfine's runs for the deep measures (default 5), DECISION_RUNS for the decision (default
# 1000); DECISION_ONLY=1 stops after the decision. The binaries are built statically linked
# for this CPU, as docs/workflows.md installs them, in target/<host>/release. Where the toolchain has the
# host's musl target (`rustup target add x86_64-unknown-linux-musl`), the decision is also
# measured with the gates built against musl (docs/dispatch.md, "A decision's start-up"), in
# target/<arch>-unknown-linux-musl/release (MUSL_BIN=DIR measures those instead; NO_MUSL=1
# skips them); libzstd and ISA-L are then compiled with musl-gcc (Debian: musl-tools).
# MUSL_BEFORE=DIR adds another musl build (e.g. of an older commit) to the decision's
# alternating runs, which set each run beside runs of the others made at the same moment.
# Installs the reference tools (Debian: isal, pigz, zstd, hyperfine) when missing and root.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
runs=${RUNS:-5}

missing=()
for tool in igzip:isal pigz:pigz zstd:zstd hyperfine:hyperfine; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "bench_dispatch: missing ${missing[*]}; install them (Debian packages: ${missing[*]})" >&2
    exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The flags of the dispatch gates' build (docs/workflows.md): statically linked, at a fixed
# address, for this CPU (`target-cpu=native`: the SIMD paths of zlib-rs and sha2 are chosen at
# compile time, so a decision runs none of their CPUID instructions; docs/dispatch.md, "A
# decision's start-up").
gate_flags="-C target-feature=+crt-static -C relocation-model=static -C target-cpu=native"

# The musl build of the decision, when the toolchain has the host's musl target and a C
# compiler for it (cc-rs looks for musl-gcc; the Debian package musl-tools has it).
musl=${MUSL_BIN:-}
musl_target="$(uname -m)-unknown-linux-musl"
if [ -z "$musl" ] && [ -z "${NO_MUSL:-}" ] && [ -z "${BENCH_BIN:-}" ] \
  && [ -d "$(rustc --print sysroot)/lib/rustlib/$musl_target/lib" ]; then
  if ! command -v musl-gcc >/dev/null && ! command -v "$(uname -m)-linux-musl-gcc" >/dev/null \
    && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends musl-tools >/dev/null
  fi
  if command -v musl-gcc >/dev/null || command -v "$(uname -m)-linux-musl-gcc" >/dev/null; then
    if RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }$gate_flags" \
      cargo build --quiet --release --locked --target "$musl_target" \
      --bin allow_one_shot_stateful_apply --bin auto_apply_scope; then
      musl="${CARGO_TARGET_DIR:-$PWD/target}/$musl_target/release"
    else
      echo "bench_dispatch: the musl build failed; only the glibc build is measured" >&2
    fi
  else
    echo "bench_dispatch: no musl-gcc (Debian: musl-tools); the musl build is not measured" >&2
  fi
fi

if [ -n "${BENCH_BIN:-}" ]; then
  bin=$BENCH_BIN
else
  # The dispatch gates as docs/workflows.md installs them, with the flags above (a decision is
  # mostly process start-up). With `--target` the flags reach the target's crates only, so the
  # proc-macro crates still build; the binaries land in target/<host>/release, apart from a plain build's.
  host=$(rustc --print host-tuple)
  RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }$gate_flags" \
    cargo build --quiet --release --locked --target "$host" \
    --bin allow_one_shot_stateful_apply --bin auto_apply_scope
  bin="${CARGO_TARGET_DIR:-$PWD/target}/$host/release"
fi
work=$(mktemp -d /tmp/gates-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -m 0700 "$work/backups"
fixtures=$PWD/fixtures
uid=$(id -u)
now=2026-05-17T01:30:00Z
for verify in deep; do
  printf 'backup:\n  root: %s\n  owner_uid: %s\n  verify: %s\n' "$work/backups" "$uid" "$verify" \
    >"$work/policy-$verify.yml"
done

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine makes every figure noisier; compare ratios, not times)"
echo "== binaries: $bin ($(file -b "$bin/allow_one_shot_stateful_apply" | grep -o '[a-z-]* linked' | head -n 1))"

# `report JSON NAME_OF_GATE [REFERENCE...]`: each command's median wall time and mean CPU time (user +
# system, all threads), and the gate's ratio to each reference. On a shared machine the wall
# times of both sides stretch with the load; the CPU times less so.
report() {
  python3 - "$@" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
gate = next(r for r in results if r["command"] == sys.argv[2])
cpu = lambda r: r["user"] + r["system"]
unit, scale = ("ms", 1e3) if gate["median"] < 1 else ("s", 1)
only = sys.argv[3:]  # the references to compare with (default: every other command)
for r in results:
    if r is gate or (only and r["command"] not in only):
        continue
    print(f"   {gate['command']}: {gate['median'] * scale:.2f} {unit} (cpu {cpu(gate) * scale:.2f}); "
          f"{r['command']}: {r['median'] * scale:.2f} {unit} (cpu {cpu(r) * scale:.2f}); "
          f"ratio {gate['median'] / r['median']:.2f}x wall, {cpu(gate) / cpu(r):.2f}x cpu")
PY
}

# 1. A decision as a process against /bin/true.
python3 - "$work/backups/minio-20260517T010847Z.tar.gz" <<'PY'
import io, os, sys, tarfile
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w:gz") as t:
    data = os.urandom(64 * 1024)
    info = tarfile.TarInfo("data/bucket/object.bin"); info.size = len(data)
    t.addfile(info, io.BytesIO(data))
with open(sys.argv[1], "wb") as f:
    f.write(buf.getvalue())
os.chmod(sys.argv[1], 0o600)
# Its manifest, as backup_before_apply writes one (the built-in policy requires it), so the
# decision measured is the whole default one, the manifest's check included.
import hashlib, json
listing = hashlib.sha256(b"data/bucket/object.bin\t65536\n").hexdigest()
manifest = {
    "schema": "forgejo-gates.backup-manifest/v1", "module": "minio-init", "ref_module": "minio",
    "class": "minio", "procedure": "mount-archive", "artifact": os.path.basename(sys.argv[1]),
    "format": "tar.gz", "tool_versions": {}, "started_at": "2026-05-17T01:08:47Z",
    "finished_at": "2026-05-17T01:08:47Z", "size": len(buf.getvalue()),
    "sha256": hashlib.sha256(buf.getvalue()).hexdigest(),
    "inventory": {"kind": "archive", "files": 1, "bytes": 65536, "listing_sha256": listing},
}
with open(sys.argv[1] + ".manifest.json", "w") as f:
    json.dump(manifest, f)
os.chmod(sys.argv[1] + ".manifest.json", 0o600)
PY
# Each build's decision binary is measured from a fresh copy: how a binary's pages sit in
# the page cache (as written by the linker or `cp`, or read back in after eviction) moved a
# decision's CPU time by 13-15% on this machine, more than the changes being compared
# (docs/dispatch.md, "A decision's start-up"), so every build is measured in the same state.
fresh() {
  mkdir -p "$work/$1"
  cp "$2/allow_one_shot_stateful_apply" "$work/$1/"
  echo "$work/$1/allow_one_shot_stateful_apply"
}
decision=("$(fresh glibc "$bin")" --modules-dir "$fixtures/modules"
  --policy "$work/policy-deep.yml" --now "$now" --module minio-init --allow-stateful
  --backup-ref "$work/backups/minio-20260517T010847Z.tar.gz" --stateful-confirm BACKUP_DONE_F3
  --plan "$fixtures/plans/minio-init-exited.json")
# The same decision by the musl build: same flags, same files, another C library.
decision_musl=()
if [ -n "$musl" ]; then
  decision_musl=("$(fresh musl "$musl")" "${decision[@]:1}")
  echo "== musl binaries: $musl ($(file -b "$musl/allow_one_shot_stateful_apply" | grep -o '[a-z-]* linked' | head -n 1))"
fi
for argv_name in decision decision_musl; do
  declare -n argv_ref=$argv_name
  [ ${#argv_ref[@]} -gt 0 ] || continue
  rc=0
  "${argv_ref[@]}" >/dev/null || rc=$?
  if [ "$rc" != 0 ]; then
    echo "the benchmark decision ($argv_name) must be allow (exit 0), got exit $rc" >&2
    exit 1
  fi
done
echo
echo "== decision: allow_one_shot_stateful_apply (allow, backup verified deep) vs /bin/true"
musl_args=()
[ ${#decision_musl[@]} -eq 0 ] || musl_args=(-n decision-musl "${decision_musl[*]}")
hyperfine -N --style none --warmup 50 --runs "${DECISION_RUNS:-1000}" --export-json "$work/decision.json" \
  -n /bin/true /bin/true -n decision "${decision[*]}" "${musl_args[@]}" >/dev/null
report "$work/decision.json" decision /bin/true
[ ${#decision_musl[@]} -eq 0 ] || report "$work/decision.json" decision-musl /bin/true
# CPU time and page faults per run, which the load moves less than wall time (when perf is
# installed and allowed to count).
if command -v perf >/dev/null && perf stat -e task-clock true >/dev/null 2>&1; then
  for cmd in /bin/true decision decision-musl; do
    argv=(/bin/true)
    [ "$cmd" = decision ] && argv=("${decision[@]}")
    if [ "$cmd" = decision-musl ]; then
      [ ${#decision_musl[@]} -gt 0 ] || continue
      argv=("${decision_musl[@]}")
    fi
    perf stat -x, -r "${DECISION_RUNS:-1000}" -e task-clock,page-faults "${argv[@]}" 2>&1 >/dev/null \
      | awk -F, -v name="$cmd" '$3 == "task-clock" { ms = $1 } $3 == "page-faults" { pf = $1 }
          END { printf "   %s: %.3f ms task-clock, %d page faults (perf stat, mean)\n", name, ms, pf }'
  done
fi
# The same decisions again, one run of each in turn (a fresh order each round) for as many
# rounds: each run's CPU time (user + system, from wait4) is set beside the runs of the others
# made at the same moment, so a change in the machine's load moves every command alike.
# MUSL_BEFORE=DIR adds a second musl build (e.g. of an older commit) to the same rounds.
decision_before=()
[ -z "${MUSL_BEFORE:-}" ] || decision_before=("$(fresh musl-before "$MUSL_BEFORE")" "${decision[@]:1}")
python3 - "${DECISION_RUNS:-1000}" "${decision[*]}" "${decision_musl[*]}" "${decision_before[*]}" <<'PY'
import os, random, shlex, statistics, sys
rounds = int(sys.argv[1])
cmds = [("/bin/true", ["/bin/true"])] + [
    (name, shlex.split(line))
    for name, line in zip(("decision", "decision-musl", "decision-musl-before"), sys.argv[2:])
    if line
]
cpu = {name: [] for name, _ in cmds}
devnull = os.open(os.devnull, os.O_WRONLY)
for _ in range(rounds):
    random.shuffle(cmds)
    for name, argv in cmds:
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
        _, status, usage = os.wait4(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{name} exited with {os.waitstatus_to_exitcode(status)} in the alternating runs")
        cpu[name].append((usage.ru_utime + usage.ru_stime) * 1e3)
true = statistics.median(cpu["/bin/true"])
print(f"   alternating, {rounds} rounds: /bin/true {true:.3f} ms CPU (median, process and exec)")
for name, times in cpu.items():
    if name != "/bin/true":
        print(f"   {name}: {statistics.median(times):.3f} ms CPU, {statistics.median(times) / true:.2f}x")
PY
[ -z "${DECISION_ONLY:-}" ] || exit 0

# 2. Deep verification of large archives. The content is text-like (words drawn from a fixed
# list), compressed at the level backup jobs use for speed (gzip -1, zstd -3).
echo
echo "== making ${size_mib} MiB archives (tar.gz, sql.gz, tar.zst)"
python3 - "$size_mib" "$work" <<'PY'
import io, random, sys, tarfile
size, work = int(sys.argv[1]) * 1024 * 1024, sys.argv[2]
rng = random.Random(7)
words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9)))
         for _ in range(4096)]
text = b" ".join(rng.choice(words) for _ in range(200_000))[: 1024 * 1024]

def pieces(total, k):
    while total:
        m = min(total, 64 * 1024)
        off = (k * 7919) % (len(text) - m + 1)
        yield text[off:off + m]
        k += 1
        total -= m

class Stream(io.RawIOBase):
    def __init__(self, it): self.it, self.rest = it, b""
    def readable(self): return True
    def readinto(self, b):
        if not self.rest:
            self.rest = next(self.it, b"")
        m = min(len(b), len(self.rest))
        b[:m] = self.rest[:m]
        self.rest = self.rest[m:]
        return m

per_file = 64 * 1024 * 1024
with open(f"{work}/data.tar", "wb") as raw, tarfile.open(fileobj=raw, mode="w|") as t:
    for i in range(max(1, size // per_file)):
        info = tarfile.TarInfo(f"data/part-{i:04}.bin")
        info.size = per_file
        t.addfile(info, io.BufferedReader(Stream(pieces(per_file, i)), 1 << 20))
with open(f"{work}/dump.sql", "wb") as out:
    out.write(b"--\n-- PostgreSQL database cluster dump\n--\n\nSET default_transaction_read_only = off;\n\n"
              b"COPY public.items (id, body) FROM stdin;\n")
    row = 0
    for p in pieces(size * 96 // 104, 3):
        out.write(b"".join(b"%07d\t%s\n" % (row + i, p[i * 96:(i + 1) * 96]) for i in range(len(p) // 96)))
        row += len(p) // 96
    out.write(b"\\.\n\n--\n-- PostgreSQL database cluster dump complete\n--\n\n")
PY
tgz=$work/backups/minio-20260517T010000Z.tar.gz
tzst=$work/backups/minio-20260517T010001Z.tar.zst
sqlgz=$work/backups/postgres-20260517T010002Z.sql.gz
# The same content with one gzip member per MiB of input, as backup_before_apply writes its
# backups (it compresses each member with ISA-L; pigz -1 here): the gate inflates them one
# after the other on one thread, as a one-member file (docs/dispatch.md, "Speed").
tgz_members=$work/backups/minio-20260517T010003Z.tar.gz
sqlgz_members=$work/backups/postgres-20260517T010004Z.sql.gz
pigz -1 -c "$work/data.tar" >"$tgz"
zstd -q -3 -T0 -c "$work/data.tar" >"$tzst"
pigz -1 -c "$work/dump.sql" >"$sqlgz"
split -b 1M --filter='pigz -1 -c' "$work/data.tar" >"$tgz_members"
split -b 1M --filter='pigz -1 -c' "$work/dump.sql" >"$sqlgz_members"
rm "$work/data.tar" "$work/dump.sql"
chmod 0600 "$tgz" "$tzst" "$sqlgz" "$tgz_members" "$sqlgz_members"
ls -l "$tgz" "$tzst" "$sqlgz" "$tgz_members" "$sqlgz_members" | awk '{printf "   %s: %.0f MiB\n", $NF, $5 / 1048576}'

# The gate on one backup: auto_apply_scope deciding a dispatch of MODULE with that reference
# (the same backup checks as the one-shot gate, without a plan). It must pass, deep.
gate() {
  echo "$bin/auto_apply_scope --modules-dir $fixtures/modules --policy $work/policy-deep.yml --now $now --module $1 --allow-stateful --backup-ref $2 --stateful-confirm BACKUP_DONE_F3"
}
deep() {
  local name=$1 module=$2 file=$3 reference=$4
  local cmd
  cmd=$(gate "$module" "$file")
  # shellcheck disable=SC2086 # the command is split on spaces on purpose (no path has one)
  /usr/bin/time -f %M -o "$work/rss" $cmd --format json >"$work/out.json" || {
    echo "the gate refused the $name backup:" >&2; cat "$work/out.json" >&2; exit 1; }
  if ! grep -q '"code": "backup.artifact.ok"' "$work/out.json"; then
    echo "the $name backup was not verified:" >&2; cat "$work/out.json" >&2; exit 1
  fi
  echo
  echo "== deep verification, $name ($(du -m "$file" | cut -f1) MiB): peak memory $(($(cat "$work/rss") / 1024)) MiB"
  cat "$file" >/dev/null   # the same page cache for every command
  local refs=()
  for r in $reference; do refs+=(-n "$r -t" "$r -t $file"); done
  hyperfine -N --style none --warmup 1 --runs "$runs" --export-json "$work/$name.json" \
    "${refs[@]}" -n gate "$cmd" >/dev/null
  report "$work/$name.json" gate
  # The critical path: the CPU time of the gate's busiest thread (decompression and the format
  # walk; the sha256 is on the other core) against the first reference's, from perf's samples
  # per thread. The load stretches wall times; it moves these much less.
  if command -v perf >/dev/null && perf record -q -e cpu-clock -o "$work/perf.data" -- true >/dev/null 2>&1; then
    local first=${reference%% *}
    local ours theirs
    # shellcheck disable=SC2086 # split on spaces on purpose, as above
    ours=$(busiest $cmd)
    theirs=$(busiest "$first" -t "$file")
    python3 -c 'import sys; g, r = (int(a) / 499 for a in sys.argv[1:3]); print(f"   busiest thread (perf, cpu-clock): gate {g:.2f} s; {sys.argv[3]} -t {r:.2f} s; ratio {g / r:.2f}x")' \
      "$ours" "$theirs" "$first"
  fi
}
# Samples (499 per CPU second) of the busiest thread of a command.
busiest() {
  perf record -q -e cpu-clock -F 499 -o "$work/perf.data" -- "$@" >/dev/null 2>&1
  perf report -i "$work/perf.data" --sort pid --stdio -F sample,pid 2>/dev/null \
    | awk '!/^#/ && NF && $1 > max { max = $1 } END { print max + 0 }'
}
deep tar.gz minio-init "$tgz" "igzip pigz"
deep sql.gz postgres "$sqlgz" "igzip pigz"
deep members.tar.gz minio-init "$tgz_members" "igzip pigz"
deep members.sql.gz postgres "$sqlgz_members" "igzip pigz"
deep tar.zst minio-init "$tzst" "zstd"
