//! `lint_workflows` flags and glue: the flags become a [`Request`] for the library's
//! [`lint_workflows::evaluate`], which streams the output as files finish; the decision is
//! handed on, and the format's own tail printed. The exit code never depends on the format.
use super::{CommonArgs, finish};
use crate::emit::Emitted;
use crate::env::Env;
use crate::gates::lint_workflows::{self, OutputFormat, Request, Streamed};
use crate::lint::render::text;
use crate::report::Gate;
use clap::Parser;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "lint_workflows",
    version = crate::version::LONG,
    about = "Are these workflow files valid for Forgejo Actions, safe, and wired so that the gates cannot be bypassed? pass (0), fail (1), could not evaluate (2).",
    after_help = super::AFTER_HELP
)]
pub struct Args {
    /// Workflow files or folders, or `-` for one workflow on standard input [default: the
    /// first existing of .forgejo/workflows, .gitea/workflows, .github/workflows, as Forgejo
    /// chooses].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format; never changes the exit code.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// With `-`: the path of the workflow read from standard input, as it is in the
    /// repository (shown in messages; it must be a .yml or .yaml name, as Forgejo requires).
    #[arg(long, value_name = "PATH")]
    pub stdin_filename: Option<PathBuf>,
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
    /// as if they were recorded. `lint.gate_wiring` and `lint.invalid_file` are never recorded.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
}

/// Run and return everything printed (the whole standard output in `stdout`).
pub fn run(args: &Args, env: &dyn Env) -> Emitted {
    let mut out = Vec::new();
    let mut emitted = run_to(args, env, &mut out);
    emitted.stdout = String::from_utf8_lossy(&out).into_owned();
    emitted
}

/// Run, writing standard output to `out` as files finish (the returned `stdout` is empty).
pub fn run_to(args: &Args, env: &dyn Env, out: &mut dyn Write) -> Emitted {
    let common = CommonArgs {
        format: if args.format == OutputFormat::Json {
            crate::render::Format::Json
        } else {
            crate::render::Format::Text
        },
        policy: args.policy.clone(),
        now: args.now.clone(),
        record: args.record.clone(),
    };
    let request = Request {
        paths: &args.paths,
        format: args.format,
        stdin_filename: args.stdin_filename.as_deref(),
        policy: args.policy.as_deref(),
        now: args.now.as_deref(),
        root: &args.root,
        baseline: args.baseline.as_deref(),
        write_baseline: args.write_baseline.as_deref(),
        record: args.record.is_some(),
    };
    let mut state = Streamed::new(out, args.format);
    let result = lint_workflows::evaluate(&request, &mut state);
    state.close();
    let (decision, summary) = match result {
        Ok((d, s)) => (Ok(d), Some(s)),
        Err(e) => (Err(e), None),
    };
    let mut emitted = finish(Gate::LintWorkflows, decision, &common, false, env);
    if let Some(s) = summary
        && args.format != OutputFormat::Json
    {
        // The gate's generic text is replaced by the format's own tail (already written).
        emitted.stdout = match args.format {
            OutputFormat::Text => text::tail(&s.summary()),
            _ => String::new(),
        };
    }
    let rest = std::mem::take(&mut emitted.stdout);
    if let Err(e) = state.write(&rest).and_then(|()| state.flush()) {
        emitted
            .stderr
            .push_str(&crate::render::text::error(Gate::LintWorkflows.name(), &e));
        emitted.exit = crate::report::exit::COULD_NOT_EVALUATE;
    }
    emitted
}
