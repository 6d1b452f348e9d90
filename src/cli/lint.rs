//! `lint_workflows` flags and glue: discover, lint, render, exit code.
use super::{CommonArgs, Emitted, finish};
use crate::env::Env;
use crate::lint::render::{Summary, github, sarif, text};
use crate::lint::{FileResult, Level, discover, lint_paths_in, suppress};
use crate::report::{Decision, Gate, GateError, Location, Outcome, Reason, Severity, general};
use clap::Parser;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "lint_workflows",
    version = crate::version::LONG,
    about = "Are these workflow files valid for Forgejo Actions, safe, and wired so that the gates cannot be bypassed? pass (0), fail (1), could not evaluate (2).",
    after_help = super::AFTER_HELP
)]
pub struct Args {
    /// Workflow files or folders [default: the first existing of .forgejo/workflows,
    /// .gitea/workflows, .github/workflows, as Forgejo chooses].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format; never changes the exit code.
    #[arg(long, value_name = "text|json|sarif|github", default_value = "text", value_parser = ["text", "json", "sarif", "github"])]
    pub format: String,
    /// Policy file [default: .forgejo/gates.yml when present, else the built-in policy].
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Append the decision to this hash-chained log.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// The clock, as RFC 3339 (for tests and replays) [default: the system clock].
    #[arg(long, value_name = "RFC3339", allow_hyphen_values = true)]
    pub now: Option<String>,
    /// The repository root, where the workflow folder and the default policy are looked for.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub root: PathBuf,
    /// Do not report the findings recorded in this baseline file (see --write-baseline).
    #[arg(long, value_name = "FILE", conflicts_with = "write_baseline")]
    pub baseline: Option<PathBuf>,
    /// Record every finding a baseline may hold in FILE (replacing it), and report the run
    /// as if they were recorded. `lint.gate-wiring` and `lint.invalid-file` are never recorded.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
}

struct Linted {
    decision: Decision,
    /// The workflows, then the policy and the baseline when they have findings.
    files: Vec<FileResult>,
    linted: usize,
    suppressed: usize,
    folder: Option<String>,
}

pub fn run(args: &Args, env: &dyn Env) -> Emitted {
    let result = evaluate(args);
    let common = CommonArgs {
        format: if args.format == "json" {
            "json"
        } else {
            "text"
        }
        .into(),
        policy: args.policy.clone(),
        now: args.now.clone(),
        record: args.record.clone(),
    };
    let (decision, rest) = match result {
        Ok(l) => (Ok(l.decision.clone()), Some(l)),
        Err(e) => (Err(e), None),
    };
    let mut emitted = finish(Gate::LintWorkflows, decision, &common, false, env);
    if let Some(l) = rest {
        let summary = Summary {
            files: &l.files,
            linted: l.linted,
            suppressed: l.suppressed,
            folder: l.folder.as_deref(),
            outcome: l.decision.outcome.as_str(),
        };
        match args.format.as_str() {
            "text" => emitted.stdout = text::render(&summary),
            "sarif" => emitted.stdout = sarif::render(&summary),
            "github" => emitted.stdout = github::render(&summary),
            _ => {}
        }
    }
    emitted
}

fn evaluate(args: &Args) -> Result<Linted, GateError> {
    let now = crate::clock::now_or(args.now.as_deref())?;
    let policy = crate::policy::load(args.policy.as_deref(), &args.root)?;
    let found = discover::discover(&args.paths, &args.root)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Threads pay off only for many files; one file stays on the main thread.
    let threads = if found.files.len() < 16 { 1 } else { threads };
    let baseline = match &args.baseline {
        Some(path) => Some(suppress::baseline::load(path)?),
        None => None,
    };
    let mut files = lint_paths_in(&found.files, &policy.policy.lint, threads, Some(&args.root))?;
    let lint_config = &policy.policy.lint;
    let cfg = suppress::Config {
        ignores: &lint_config.ignores,
        levels: &lint_config.levels,
        baseline: baseline.as_ref(),
        writing: args.write_baseline.is_some(),
    };
    let mut tally = suppress::Tally::default();
    for f in &mut files {
        let key = suppress::repo_path(std::path::Path::new(&f.path), &args.root);
        let filtered = suppress::filter(
            &key,
            std::mem::take(&mut f.findings),
            f.text.as_deref(),
            &cfg,
        );
        f.findings = filtered.findings();
        tally.add(&filtered);
    }
    if let Some(path) = &args.write_baseline {
        write_baseline(path, &tally.baseline_text())?;
    }
    // Only a run over the whole workflow folder can tell that an entry for another file is
    // unused.
    let complete = args.paths.is_empty();
    let (policy_unused, baseline_unused) = tally.unused(&cfg, &policy.digest.source, complete);
    let subject = match &found.folder {
        Some(f) => format!("{} workflow file(s) in {f}", files.len()),
        None => format!("{} workflow file(s)", files.len()),
    };
    let mut d = Decision::new(Gate::LintWorkflows, subject, now);
    d.inputs.push(policy.digest.clone());
    if let Some(b) = &baseline {
        d.inputs.push(b.digest.clone());
    }
    let linted = files.len();
    if !policy_unused.is_empty() {
        files.push(FileResult {
            path: policy.digest.source.clone(),
            findings: policy_unused,
            text: None,
            digest: policy.digest.clone(),
        });
    }
    if let (Some(b), false) = (&baseline, baseline_unused.is_empty()) {
        files.push(FileResult {
            path: b.file.clone(),
            findings: baseline_unused,
            text: Some(b.text.clone()),
            digest: b.digest.clone(),
        });
    }
    for (i, f) in files.iter().enumerate() {
        if i < linted {
            d.inputs.push(f.digest.clone());
        }
        for x in &f.findings {
            let severity = match x.level {
                Level::Error => Severity::Error,
                Level::Warning => Severity::Warning,
                _ => Severity::Info,
            };
            d.push(
                Reason::new(x.code, x.message.clone())
                    .severity(severity)
                    .at(Location {
                        file: x.file.clone(),
                        line: x.line,
                        col: x.col,
                    }),
            );
        }
    }
    d.checks_run = linted * crate::lint::rules::RULES.len();
    d.fact("files", linted.to_string());
    if let Some(folder) = &found.folder {
        d.fact("workflow_dir", folder.clone());
    }
    let count = |s: Severity| d.reasons.iter().filter(|r| r.severity == s).count();
    let (e, w) = (count(Severity::Error), count(Severity::Warning));
    d.fact("errors", e.to_string());
    d.fact("warnings", w.to_string());
    if tally.suppressed() > 0 {
        d.fact("suppressed", tally.suppressed().to_string());
    }
    let decision = d.settle(Outcome::Pass, Outcome::Fail)?;
    Ok(Linted {
        decision,
        files,
        linted,
        suppressed: tally.suppressed(),
        folder: found.folder,
    })
}

/// Replace `path` with the baseline text, atomically (a temporary file in the same folder,
/// renamed over it), so that a failed write never leaves half a baseline.
fn write_baseline(path: &std::path::Path, text: &str) -> Result<(), GateError> {
    use std::io::Write;
    let fail = |e: &dyn std::fmt::Display| {
        GateError::new(
            &general::IO,
            format!("cannot write the baseline {}: {e}", path.display()),
        )
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| fail(&e))?;
    tmp.write_all(text.as_bytes()).map_err(|e| fail(&e))?;
    tmp.as_file().sync_all().map_err(|e| fail(&e))?;
    tmp.persist(path).map_err(|e| fail(&e.error))?;
    Ok(())
}
