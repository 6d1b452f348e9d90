//! `lint_workflows` flags and glue: discover, lint, render, exit code.
use super::{CommonArgs, Emitted, finish};
use crate::env::Env;
use crate::lint::render::{Summary, github, sarif, text};
use crate::lint::{FileResult, Level, discover, lint_paths_in};
use crate::report::{Decision, Gate, GateError, Location, Outcome, Reason, Severity};
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
}

struct Linted {
    decision: Decision,
    files: Vec<FileResult>,
    folder: Option<String>,
}

pub fn run(args: &Args, env: &dyn Env) -> Emitted {
    let result = evaluate(args);
    let common = CommonArgs {
        format: if args.format == "json" {
            crate::render::Format::Json
        } else {
            crate::render::Format::Text
        },
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
    let files = lint_paths_in(&found.files, &policy.policy.lint, threads, Some(&args.root))?;
    let subject = match &found.folder {
        Some(f) => format!("{} workflow file(s) in {f}", files.len()),
        None => format!("{} workflow file(s)", files.len()),
    };
    let mut d = Decision::new(Gate::LintWorkflows, subject, now);
    d.inputs.push(policy.digest.clone());
    for f in &files {
        d.inputs.push(f.digest.clone());
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
    d.checks_run = files.len() * crate::lint::rules::RULES.len();
    d.fact("files", files.len().to_string());
    if let Some(folder) = &found.folder {
        d.fact("workflow_dir", folder.clone());
    }
    let count = |s: Severity| d.reasons.iter().filter(|r| r.severity == s).count();
    let (e, w) = (count(Severity::Error), count(Severity::Warning));
    d.fact("errors", e.to_string());
    d.fact("warnings", w.to_string());
    let decision = d.settle(Outcome::Pass, Outcome::Fail)?;
    Ok(Linted {
        decision,
        files,
        folder: found.folder,
    })
}
