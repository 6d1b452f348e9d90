//! Benchmark for `canary_required` (run by scripts/bench_canary.sh; prints figures, asserts
//! only the request count, never a time):
//! - a pull request with 3,000 changed files, one in each of 3,000 modules, read through the
//!   Forgejo API from a local mock server, with `--post-status`: the requests sent and the
//!   tool's own time (wall time minus the server's time spent answering), which includes
//!   reading the 3,000 modules' manifests at the base commit with git (every tenth module is
//!   stateful, so the upgrade evidence is checked too). The checkout is packed, as a fetched
//!   one is; a freshly committed one (every object a loose file) is measured too, for scale;
//! - parsing 1 MiB bodies.
//!
//! Beside each wall time, the CPU time the tool spent (its thread, plus the git processes it
//! ran): on a machine shared with other work, wall times grow with the load while CPU times
//! stay close to what a quiet machine would show.

#[path = "../tests/canary_mock.rs"]
mod mock;

use clap::Parser;
use forgejo_gates::cli::canary::{Args, run};
use mock::{Mock, Request, Response, files_page, pull};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const RUNS: usize = 30;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// The CPU time of the calling thread so far.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The CPU time (user and system) of the child processes waited for so far.
fn children_cpu() -> Duration {
    // SAFETY: an all-zero rusage is a valid value of the plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage for the duration of the call.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    assert_eq!(rc, 0, "getrusage");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Wall time and CPU time (this thread, and the child processes it ran) of `f`.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration, Duration, Duration) {
    let (cpu0, kids0) = (thread_cpu(), children_cpu());
    let t = Instant::now();
    let out = f();
    let wall = t.elapsed();
    let cpu = thread_cpu().saturating_sub(cpu0);
    let kids = children_cpu().saturating_sub(kids0);
    (out, wall, cpu, kids)
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/canary")
            .join(name),
    )
    .unwrap()
}

fn full_body() -> String {
    fixture("full-pack.md")
}

fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=b", "-c", "user.email=b@example.invalid"])
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A repository whose one commit holds `n` modules (every tenth stateful); its commit id.
fn platform(dir: &std::path::Path, n: usize) -> String {
    git(dir, &["init", "-q"]);
    for i in 0..n {
        let id = format!("m{i:04}");
        let m = dir.join("modules").join(&id);
        std::fs::create_dir_all(&m).unwrap();
        let runtime = if i % 10 == 0 {
            "statefulness: stateful\n    restore: runbook.md"
        } else {
            "statefulness: stateless"
        };
        std::fs::write(
            m.join("module.yaml"),
            format!("metadata:\n  name: {id}\nspec:\n  classes: []\n  runtime:\n    {runtime}\n"),
        )
        .unwrap();
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "base"]);
    git(dir, &["rev-parse", "HEAD"])
}

#[test]
fn bench_canary() {
    let all: Vec<String> = (0..3000)
        .map(|i| format!("modules/m{:04}/compose.yaml", i))
        .collect();
    let repo = tempfile::tempdir().unwrap();
    let base = platform(repo.path(), 3000);
    let mut answer: serde_json::Value = serde_json::from_str(&pull(
        7,
        &fixture("full-pack-with-evidence.md"),
        &["tier/full"],
    ))
    .unwrap();
    answer["base"]["sha"] = serde_json::json!(base);
    let answer = answer.to_string();
    let m = Mock::start(
        move |req: &Request| match (req.method.as_str(), req.path()) {
            ("GET", "/api/v1/repos/o/r/pulls/7") => Response::json(200, answer.clone()),
            ("GET", "/api/v1/repos/o/r/pulls/7/files") => {
                let p: usize = req.query("page").and_then(|v| v.parse().ok()).unwrap_or(1);
                let chunk: Vec<String> = all.iter().skip((p - 1) * 50).take(50).cloned().collect();
                Response::json(200, files_page(&chunk)).with_header("X-Total-Count", "3000")
            }
            ("POST", _) => Response::json(201, r#"{"id": 1}"#),
            _ => Response::json(404, r#"{"message": "not found"}"#),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yml");
    std::fs::write(&policy, "version: 1\n").unwrap();
    let mut env = BTreeMap::new();
    env.insert("GITHUB_API_URL".to_string(), m.api());
    env.insert("GITHUB_REPOSITORY".to_string(), "o/r".to_string());
    env.insert("GITHUB_TOKEN".to_string(), "bench-token".to_string());
    let args = Args::parse_from([
        "canary_required",
        "--forgejo",
        "--pr",
        "7",
        "--post-status",
        "--policy",
        policy.to_str().unwrap(),
        "--repo-dir",
        repo.path().to_str().unwrap(),
        "--now",
        "2026-05-17T00:00:00Z",
    ]);
    let measure = |runs: usize, label: &str| {
        let mut walls = Vec::new();
        let mut tools = Vec::new();
        let mut servers = Vec::new();
        let mut cpus = Vec::new();
        let mut threads = Vec::new();
        let mut gits = Vec::new();
        let mut requests = 0;
        for i in 0..runs + 2 {
            m.reset();
            let (out, wall, cpu, kids) = timed(|| run(&args, &env));
            assert_eq!(out.exit, 0, "{}{}", out.stdout, out.stderr);
            assert!(
                out.stdout.contains("canary.evidence.complete"),
                "the evidence rule ran: {}",
                out.stdout
            );
            requests = m.requests().len();
            assert_eq!(requests, 1 + 60 + 1, "1 PR + 60 pages + 1 status");
            let server = *m.server_time.lock().unwrap();
            if i >= 2 {
                walls.push(wall);
                servers.push(server);
                tools.push(wall.saturating_sub(server));
                cpus.push(cpu + kids);
                threads.push(cpu);
                gits.push(kids);
            }
        }
        println!(
            "canary_required API mode, 3,000 changed files, --post-status, {label} ({runs} runs, medians):"
        );
        println!("  requests:            {requests} (1 pull request + 60 file pages + 1 status)");
        println!("  wall time:           {}", ms(median(walls)));
        println!("  server time:         {}", ms(median(servers)));
        println!(
            "  tool's own time:     {}  (budget 50 ms)",
            ms(median(tools))
        );
        println!(
            "  tool's CPU time:     {}  (its thread {}, the git processes it ran {})",
            ms(median(cpus)),
            ms(median(threads)),
            ms(median(gits))
        );
    };
    // A freshly committed checkout: every module's folder and manifest a loose object file.
    measure(RUNS / 3, "loose objects (a fresh commit)");
    // As a checkout fetched by CI is: one pack.
    git(repo.path(), &["gc", "--quiet"]);
    measure(RUNS, "packed (a fetched checkout)");
}

#[test]
fn bench_body() {
    // Four 1 MiB bodies: list items (the common shape of evidence), top-level paragraphs
    // with bold lines, sub-headings and HTML comments (the slowest path of the section
    // reader), placeholders, inline and block HTML, entities and invisible characters (what
    // the renderer hides), and the real full example repeated (many known sections, many
    // status lines).
    let policy = forgejo_gates::policy::canary::CanaryPolicy::default();
    let known = policy.sections(forgejo_gates::policy::canary::Tier::Full);
    let shapes = [
        (
            "list items",
            "- a line of runtime evidence with `code`, **bold** and a [link](https://example.invalid)\n",
        ),
        (
            "paragraphs",
            "**Detail**\nA paragraph of evidence with **bold**, `code` <!-- a note --> and text.\n\n#### Sub-heading\n\n",
        ),
        (
            "html and invisibles",
            "- TODO - \u{3164} evidence\u{200B} with <span>inline html</span>&nbsp;<!-- c --> and [TBD]\n\n<div>\n<p>&#x200B; a block &hellip;</p>\n</div>\n\n",
        ),
        ("full example repeated", ""),
    ];
    println!("body parse, 1 MiB bodies ({RUNS} runs, medians; budget 10 ms):");
    for (shape, filler) in shapes {
        let mut big = full_body();
        let unit = if filler.is_empty() {
            format!("\n{}", full_body())
        } else {
            filler.to_string()
        };
        while big.len() + unit.len() <= 1024 * 1024 {
            big.push_str(&unit);
        }
        let mut parses = Vec::new();
        let mut parse_cpus = Vec::new();
        let mut found = (0, 0);
        for i in 0..RUNS + 2 {
            let (parsed, d, cpu, _) =
                timed(|| forgejo_gates::canary::body::parse(&big, &known, &policy.placeholders));
            found = (parsed.sections.len(), parsed.status.len());
            if i >= 2 {
                parses.push(d);
                parse_cpus.push(cpu);
            }
        }
        // The Markdown parser alone, for scale: what the gate adds on top of it.
        let mut baseline = Vec::new();
        let mut baseline_cpus = Vec::new();
        for i in 0..RUNS + 2 {
            let (events, d, cpu, _) = timed(|| {
                pulldown_cmark::Parser::new_ext(&big, forgejo_gates::canary::body::OPTIONS)
                    .into_offset_iter()
                    .count()
            });
            std::hint::black_box(events);
            if i >= 2 {
                baseline.push(d);
                baseline_cpus.push(cpu);
            }
        }
        println!(
            "  {shape:<22} {} bytes, {} sections, {} status lines: {} (CPU {})  (pulldown-cmark alone {}, CPU {})",
            big.len(),
            found.0,
            found.1,
            ms(median(parses)),
            ms(median(parse_cpus)),
            ms(median(baseline)),
            ms(median(baseline_cpus))
        );
    }
}
