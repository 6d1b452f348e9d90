#!/usr/bin/env bash
# Benchmark lint_workflows: one file as a whole process, files/s on the GitHub corpus copied
# 10 times (1,070 files), and peak memory. Targets: < 3 ms, >= 4,000 files/s, < 64 MiB.
# Usage: scripts/bench_lint.sh [corpus-dir]   (default ../shared/corpus/github)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-../shared/corpus/github}"
[ -d "$corpus" ] || { echo "corpus folder $corpus is absent" >&2; exit 2; }
cargo build --release --quiet --bin lint_workflows
bin=target/release/lint_workflows
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for i in $(seq 1 10); do
  mkdir -p "$work/c$i"
  cp "$corpus"/*.y*ml "$work/c$i/"
done
copies=("$work"/c*/*.y*ml)
files=${#copies[@]}
all=("$corpus"/*.y*ml)
one="${all[0]}"
# Timing in Python: forking `date` around each run would cost more than the run itself.
python3 - "$bin" "$one" "$files" "$work" <<'PY'
import glob, os, resource, subprocess, sys, time
bin, one, files, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def timed(args, n):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ts.append(time.perf_counter() - t)
    return sorted(ts)
ts = timed([bin, one], 51)
print(f"one file ({os.path.basename(one)}), whole process: best {ts[0]*1e3:.2f} ms, "
      f"median {ts[25]*1e3:.2f} ms (target < 3 ms)")
dirs = sorted(glob.glob(os.path.join(work, "c*")))
ts = timed([bin, *dirs], 7)
print(f"{files} files in one process: median {ts[3]*1e3:.1f} ms = {files/ts[3]:.0f} files/s "
      f"on {os.cpu_count()} cores (target >= 4000)")
# ru_maxrss of the children so far: the largest of the runs above (KiB on Linux).
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"peak memory (max RSS of any run): {peak/1024:.1f} MiB (target < 64 MiB)")
PY
