#!/usr/bin/env bash
# Benchmark lint_workflows: one file as a whole process, files/s on the GitHub corpus copied
# 10 times (1,070 files), and peak memory. Targets: < 3 ms, >= 4,000 files/s, < 64 MiB.
# Then the worst cases we could construct for whole-workflow analyses, each a 1 MiB workflow
# (the default `lint.max_file_bytes`): a `needs:` chain of ~13,000 jobs, a fan where every job
# needs the 8 before it and reads one's outputs, ~13,000 jobs that each run a gate and the
# apply after a chain of needs, and one `run:` script with ~30,000 findings. Target: each
# well under 1 s of CPU time (linear time; a quadratic pass takes tens of seconds here).
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
# Worst cases: generated here, timed as whole processes (CPU time, so a busy machine shows
# less in the figure than in the wall clock).
def worst(kind, target=(1 << 20) - 64):  # just under the default limit
    head = ("on:\n  pull_request:\n  workflow_dispatch:\n    inputs:\n      allow_stateful:\n"
            "        type: boolean\njobs:\n")
    parts, size, i = [head], len(head), 0
    if kind == "findings":
        parts.append("  a:\n    runs-on: docker\n    steps:\n      - run: |\n")
        line = "          echo ${{ github.head_ref }}\n"
        while size + len(line) <= target:
            parts.append(line); size += len(line)
        return "".join(parts)
    while True:
        needs = f"    needs: [j{i-1}]\n" if i else ""
        if kind == "chain":
            job = f"  j{i}:\n    runs-on: docker\n{needs}    steps:\n      - run: make\n"
        elif kind == "fan":
            many = ",".join(f"j{k}" for k in range(max(0, i - 8), i))
            reads = f"      - run: echo ${{{{ needs.j{i-1}.outputs.x }}}}\n" if i else "      - run: make\n"
            job = f"  j{i}:\n    runs-on: docker\n    needs: [{many}]\n    steps:\n{reads}"
        else:  # apply
            job = (f"  j{i}:\n    runs-on: docker\n{needs}    steps:\n"
                   "      - run: auto_apply_scope\n      - run: platformctl apply\n")
        if size + len(job) > target:
            return "".join(parts)
        parts.append(job); size += len(job); i += 1
for kind in ["chain", "fan", "apply", "findings"]:
    path = os.path.join(work, f"worst-{kind}.yml")
    with open(path, "w") as f:
        f.write(worst(kind))
    best = None
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        try:
            subprocess.run([bin, path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=60)
        except subprocess.TimeoutExpired:
            print(f"worst case {kind}: over 60 s wall, stopped (not linear)")
            best = None
            break
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best = min(best or (cpu, wall), (cpu, wall))
    if best is None:
        continue
    print(f"worst case {kind} ({os.path.getsize(path) / 1048576:.2f} MiB): "
          f"best CPU {best[0]*1e3:.0f} ms, wall {best[1]*1e3:.0f} ms (target well under 1 s)")
PY
# Worst cases for lint.gate-wiring (every path of a deploy workflow is followed): a 1 MB deploy
# workflow whose steps each fork the paths, and one whose single script does. The rule refuses
# past 128 paths or 100,000 commands followed, so both must stay well under a second.
python3 - "$bin" "$work" <<'PY'
import os, subprocess, sys, time
bin, work = sys.argv[1], sys.argv[2]
def write(name, head, line):
    lines, i = list(head), 0
    while sum(len(l) + 1 for l in lines) < 1_000_000:
        lines += [l.format(i=i) for l in line]
        i += 1
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write("\n".join(lines + ["          platformctl apply web"]) + "\n")
    return path
head = ["on: workflow_dispatch", "jobs:", "  deploy:", "    runs-on: x", "    steps:"]
steps = write("deploy-steps.yml", head, [
    "      - if: github.event.inputs.x{i} == 'y'", "        run: |",
    "          if [ -n \"$V{i}\" ]; then auto_apply_scope --from-event || true; fi"])
script = write("deploy-script.yml", head + ["      - run: |"], [
    "          if [ -n \"$V{i}\" ]; then x{i}=1; auto_apply_scope --from-event; fi"])
for path in (steps, script):
    ts = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([bin, path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ts.append(time.perf_counter() - t)
    print(f"gate-wiring worst case {os.path.basename(path)} ({os.path.getsize(path)} bytes): "
          f"best {min(ts)*1e3:.1f} ms (target < 1000 ms)")
PY
