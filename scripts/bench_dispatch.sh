#!/usr/bin/env bash
# Benchmarks for the dispatch gates (figures, not assertions):
#  1. median wall time of a full dispatch decision (auto_apply_scope on the real minio-init
#     dispatch, with a fresh 0600 backup) as a whole process, against spawning a trivial
#     binary that exits at once, on this machine, in this run;
#  2. deep verification throughput on a generated gzip'd tar (default 1 GiB) against
#     `gzip -t` on the same file, and the gate's peak memory.
# Usage: scripts/bench_dispatch.sh [SIZE_MIB]   (default 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
cargo build --quiet --release --bins
work=$(mktemp -d /tmp/gates-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
export WORK="$work" SIZE_MIB="$size_mib" BIN="${CARGO_TARGET_DIR:-$PWD/target}/release" MODULES="$PWD/fixtures/modules"
python3 - <<'PY'
import os, subprocess, time, statistics, resource, tarfile, gzip, io, random, shutil

work, bin_dir, modules = os.environ["WORK"], os.environ["BIN"], os.environ["MODULES"]
size = int(os.environ["SIZE_MIB"]) * 1024 * 1024
root = os.path.join(work, "backups"); os.mkdir(root, 0o700)
uid = os.stat(root).st_uid

def policy(verify):
    p = os.path.join(work, f"policy-{verify}.yml")
    with open(p, "w") as f:
        f.write(f"backup:\n  root: {root}\n  owner_uid: {uid}\n  verify: {verify}\n")
    return p

def median_ms(cmd, runs=200):
    for _ in range(10):
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)

# 1. Decision latency vs a trivial binary.
trivial_src = os.path.join(work, "trivial.rs")
open(trivial_src, "w").write("fn main() {}\n")
trivial = os.path.join(work, "trivial")
subprocess.run(["rustc", "-O", "-o", trivial, trivial_src], check=True)
small = os.path.join(root, "minio-20260517T010847Z.tar.gz")
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w:gz") as t:
    data = os.urandom(64 * 1024)
    info = tarfile.TarInfo("data/bucket/object.bin"); info.size = len(data)
    t.addfile(info, io.BytesIO(data))
open(small, "wb").write(buf.getvalue()); os.chmod(small, 0o600)
decision = [os.path.join(bin_dir, "auto_apply_scope"), "--modules-dir", modules,
            "--policy", policy("shallow"), "--now", "2026-05-17T01:30:00Z",
            "--module", "minio-init", "--allow-stateful", "--backup-ref", small,
            "--stateful-confirm", "BACKUP_DONE_F3", "--fail-on-blocked"]
rc = subprocess.run(decision, stdout=subprocess.DEVNULL).returncode
assert rc == 0, f"the benchmark decision must be eligible, got exit {rc}"
t_trivial = median_ms([trivial])
t_decision = median_ms(decision)
print(f"decision: median {t_decision:.2f} ms per full dispatch decision (process), "
      f"trivial binary {t_trivial:.2f} ms, ratio {t_decision / t_trivial:.2f}x (target <= 2x)")

# 2. Deep verification on a large gzip'd tar.
big = os.path.join(root, "minio-20260517T010000Z.tar.gz")
t0 = time.perf_counter()
rng = random.Random(7)
words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))) for _ in range(4096)]
chunk = b" ".join(rng.choice(words) for _ in range(200_000))[: 1024 * 1024]
with open(big, "wb") as raw:
    with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1) as gz:
        with tarfile.open(fileobj=gz, mode="w|") as t:
            per_file = 64 * 1024 * 1024
            n = max(1, size // per_file)
            for i in range(n):
                info = tarfile.TarInfo(f"data/part-{i:04}.bin"); info.size = per_file
                class Gen(io.RawIOBase):
                    def __init__(self): self.left = per_file; self.k = i
                    def readable(self): return True
                    def readinto(self, b):
                        if self.left == 0: return 0
                        m = min(len(b), self.left, len(chunk))
                        off = (self.k * 7919) % (len(chunk) - m + 1)
                        b[:m] = chunk[off:off + m]; self.k += 1; self.left -= m
                        return m
                t.addfile(info, io.BufferedReader(Gen(), 1 << 20))
os.chmod(big, 0o600)
compressed = os.path.getsize(big)
print(f"archive: {size / 2**20:.0f} MiB of tar content, {compressed / 2**20:.0f} MiB gzip'd "
      f"(made in {time.perf_counter() - t0:.1f} s)")

def timed(cmd):
    t = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    return time.perf_counter() - t, r.returncode, int(r.stderr.strip().splitlines()[-1])

deep = [os.path.join(bin_dir, "auto_apply_scope"), "--modules-dir", modules,
        "--policy", policy("deep"), "--now", "2026-05-17T01:30:00Z",
        "--module", "minio-init", "--allow-stateful", "--backup-ref", big,
        "--stateful-confirm", "BACKUP_DONE_F3"]
subprocess.run(["cat", big], stdout=subprocess.DEVNULL)  # warm the page cache for both
g = [timed(["gzip", "-t", big]) for _ in range(3)]
d = [timed(deep) for _ in range(3)]
assert all(rc == 0 for _, rc, _ in g), "gzip -t failed"
assert all(rc == 0 for _, rc, _ in d), "deep verification did not pass"
g_t = statistics.median(x for x, _, _ in g); d_t = statistics.median(x for x, _, _ in d)
peak = max(m for _, _, m in d)
print(f"deep: gzip -t {g_t:.2f} s ({compressed / g_t / 2**20:.0f} MiB/s compressed), "
      f"gate deep verify + sha256 {d_t:.2f} s ({compressed / d_t / 2**20:.0f} MiB/s), "
      f"speed-up {g_t / d_t:.2f}x (target >= 1x)")
print(f"deep: gate peak RSS {peak / 1024:.1f} MiB (target < 32 MiB)")
PY
