//! `lint_workflows` flags and glue: discover (or read standard input), lint, stream the
//! output as files finish, and the exit code, which never depends on the format.
use super::{CommonArgs, finish};
use crate::emit::Emitted;
use crate::env::Env;
use crate::lint::render::{Summary, github, sarif, text};
use crate::lint::{FileResult, discover, suppress};
use crate::report::{Decision, Gate, GateError, Location, Outcome, Reason, Severity, general};
use clap::Parser;
use std::io::Write;
use std::path::PathBuf;

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Code frames as files finish, then the verdict.
    Text,
    /// The decision document `forgejo-gates.decision/v1`.
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// `::error file=…` workflow commands.
    Github,
}

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

/// How standard input is named when `--stdin-filename` is not given.
const STDIN_NAME: &str = "<stdin>";

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
    let mut state = Streamed {
        out,
        format: args.format,
        wrote_sarif_result: false,
        sarif_open: false,
    };
    let result = evaluate(args, &mut state);
    // A SARIF document already begun is closed, so that it stays valid JSON even when the
    // run stops at an unreadable file (the exit code says the run could not evaluate).
    if state.sarif_open {
        let tail = sarif::tail(state.wrote_sarif_result);
        let _ = state.write(&tail);
    }
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

/// Where the output goes while files finish.
struct Streamed<'a> {
    out: &'a mut dyn Write,
    format: OutputFormat,
    wrote_sarif_result: bool,
    sarif_open: bool,
}

impl Streamed<'_> {
    fn write(&mut self, s: &str) -> Result<(), GateError> {
        if s.is_empty() {
            return Ok(());
        }
        self.out.write_all(s.as_bytes()).map_err(write_error)
    }

    fn flush(&mut self) -> Result<(), GateError> {
        self.out.flush().map_err(write_error)
    }

    /// One file's rendered chunk, written and flushed so that a reader sees it now.
    fn file(&mut self, chunk: &str) -> Result<(), GateError> {
        if chunk.is_empty() {
            return Ok(());
        }
        if self.format == OutputFormat::Sarif {
            let sep = sarif::separator(!self.wrote_sarif_result);
            self.write(sep)?;
            self.wrote_sarif_result = true;
        }
        self.write(chunk)?;
        self.flush()
    }
}

fn write_error(e: std::io::Error) -> GateError {
    GateError::new(&general::IO, format!("cannot write the output: {e}"))
}

/// Counts for the tail.
struct Counted {
    outcome: Outcome,
    files: usize,
    errors: usize,
    warnings: usize,
    suppressed: usize,
}

impl Counted {
    fn summary(&self) -> Summary<'_> {
        Summary {
            outcome: self.outcome.as_str(),
            files: self.files,
            errors: self.errors,
            warnings: self.warnings,
            suppressed: self.suppressed,
        }
    }
}

/// The files to lint: the paths, the discovered folder, or standard input (`-`).
enum Inputs {
    Files(discover::Discovery),
    Stdin(String),
}

fn inputs(args: &Args) -> Result<Inputs, GateError> {
    let dash = args.paths.iter().any(|p| p.as_os_str() == "-");
    let usage = |m: &str| GateError::new(&general::USAGE, m);
    if !dash {
        if args.stdin_filename.is_some() {
            return Err(usage(
                "--stdin-filename names the workflow read from standard input: give `-` as the path",
            ));
        }
        return discover::discover(&args.paths, &args.root).map(Inputs::Files);
    }
    if args.paths.len() != 1 {
        return Err(usage(
            "`-` reads one workflow from standard input and cannot be combined with other paths",
        ));
    }
    let Some(name) = &args.stdin_filename else {
        return Ok(Inputs::Stdin(STDIN_NAME.into()));
    };
    // The discovery rule for a name: Forgejo runs only `.yml`/`.yaml` files.
    let file_name = name.file_name().unwrap_or_default();
    if !discover::is_workflow_name(file_name) {
        return Err(usage(&format!(
            "--stdin-filename {}: Forgejo runs only files whose name ends in .yml or .yaml",
            name.display()
        )));
    }
    Ok(Inputs::Stdin(name.display().to_string()))
}

fn evaluate(args: &Args, out: &mut Streamed<'_>) -> Result<(Decision, Counted), GateError> {
    let now = crate::clock::now_or(args.now.as_deref())?;
    let policy = crate::policy::load(args.policy.as_deref(), &args.root)?;
    let lint = &policy.policy.lint;
    let inputs = inputs(args)?;
    let folder = match &inputs {
        Inputs::Files(found) => found.folder.clone(),
        Inputs::Stdin(_) => None,
    };
    let mut d = Decision::new(Gate::LintWorkflows, String::new(), now);
    d.inputs.push(policy.digest.clone());
    match args.format {
        OutputFormat::Text => out.write(&text::head(folder.as_deref()))?,
        OutputFormat::Sarif => {
            out.write(&sarif::head())?;
            out.sarif_open = true;
        }
        OutputFormat::Json | OutputFormat::Github => {}
    }
    let baseline = match &args.baseline {
        Some(path) => Some(suppress::baseline::load(path, &crate::lint::codes())?),
        None => None,
    };
    if let Some(b) = &baseline {
        d.inputs.push(b.digest.clone());
    }
    let cfg = suppress::Config {
        ignores: &lint.ignores,
        levels: &lint.levels,
        baseline: baseline.as_ref(),
        writing: args.write_baseline.is_some(),
    };
    let format = args.format;
    let render = move |f: &FileResult| match format {
        OutputFormat::Text => text::file(f),
        OutputFormat::Sarif => sarif::file(f),
        OutputFormat::Github => github::file(f),
        OutputFormat::Json => String::new(),
    };
    // The per-file step, on the worker that linted the file while its text is there: the
    // suppressions filter, then the rendering. What the run-wide tally needs goes along.
    let per_file = |f: &mut FileResult| {
        let key = suppress::repo_path(std::path::Path::new(&f.path), &args.root);
        let mut filtered = suppress::filter(
            &f.path,
            &key,
            std::mem::take(&mut f.findings),
            f.text.as_deref(),
            &cfg,
        );
        f.findings = filtered.take_findings();
        (render(f), filtered)
    };
    let mut tally = suppress::Tally::default();
    // The whole decision (every finding, every file's digest) is kept only where it is written
    // out: `--format json` and `--record`. Otherwise only what decides and what the step
    // outputs name (the error findings) is kept, so memory does not grow with the files.
    let mut kept = Kept {
        full: args.format == OutputFormat::Json || args.record.is_some(),
        errors: 0,
        warnings: 0,
    };
    let mut files = 0usize;
    let mut emit = |f: FileResult, (chunk, filtered): (String, suppress::Filtered)| {
        files += 1;
        tally.add(&filtered);
        if kept.full {
            d.inputs.push(f.digest.clone());
        }
        kept.add(&mut d, f);
        out.file(&chunk)
    };
    match &inputs {
        Inputs::Stdin(name) => {
            let mut f =
                crate::lint::lint_reader(std::io::stdin().lock(), name, lint, Some(&args.root))?;
            let done = per_file(&mut f);
            f.text = None;
            emit(f, done)?;
        }
        Inputs::Files(found) => {
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            // Threads pay off only for many files; a few stay on the main thread.
            let threads = if found.files.len() < 16 { 1 } else { threads };
            crate::lint::run::lint_each(
                &found.files,
                lint,
                Some(&args.root),
                threads,
                per_file,
                &mut emit,
            )?;
        }
    }
    if let Some(path) = &args.write_baseline {
        write_baseline(path, &tally.baseline_text())?;
    }
    // Only a run over the whole workflow folder can tell that an entry for another file is
    // unused. Those findings are about the policy and the baseline: reported after the
    // workflows, not counted as linted files.
    let complete = args.paths.is_empty();
    let (policy_unused, baseline_unused) = tally.unused(&cfg, &policy.digest.source, complete);
    let mut extra = Vec::new();
    if !policy_unused.is_empty() {
        extra.push(FileResult {
            path: policy.digest.source.clone(),
            findings: policy_unused,
            text: None,
            digest: policy.digest.clone(),
        });
    }
    if let (Some(b), false) = (&baseline, baseline_unused.is_empty()) {
        extra.push(FileResult {
            path: b.file.clone(),
            findings: baseline_unused,
            text: Some(b.text.clone()),
            digest: b.digest.clone(),
        });
    }
    for f in extra {
        out.file(&render(&f))?;
        kept.add(&mut d, f);
    }
    d.subject = match &folder {
        Some(f) => format!("{files} workflow file(s) in {f}"),
        None => format!("{files} workflow file(s)"),
    };
    d.checks_run = files * crate::lint::rules::RULES.len();
    d.fact("files", files.to_string());
    if let Some(folder) = &folder {
        d.fact("workflow_dir", folder.clone());
    }
    let (errors, warnings) = (kept.errors, kept.warnings);
    d.fact("errors", errors.to_string());
    d.fact("warnings", warnings.to_string());
    let suppressed = tally.suppressed();
    if suppressed > 0 {
        d.fact("suppressed", suppressed.to_string());
    }
    let decision = d.settle(Outcome::Pass, Outcome::Fail)?;
    let counted = Counted {
        outcome: decision.outcome,
        files,
        errors,
        warnings,
        suppressed,
    };
    Ok((decision, counted))
}

/// What the decision keeps of the findings, and the counts.
struct Kept {
    /// Every finding becomes a reason; else only the error-level ones.
    full: bool,
    errors: usize,
    warnings: usize,
}

impl Kept {
    /// One file's findings: counted, and made reasons of the decision.
    fn add(&mut self, d: &mut Decision, f: FileResult) {
        for x in f.findings {
            let severity = x.level;
            match severity {
                Severity::Error => self.errors += 1,
                Severity::Warning => self.warnings += 1,
                Severity::Info => {}
            }
            if !self.full && severity != Severity::Error {
                continue;
            }
            d.push(
                Reason::new(x.code, x.message)
                    .severity(severity)
                    .at(Location {
                        file: x.file,
                        line: x.line,
                        col: x.col,
                    }),
            );
        }
    }
}

/// Replace `path` with the baseline text, atomically (a temporary file in the same folder,
/// renamed over it), so that a failed write never leaves half a baseline.
fn write_baseline(path: &std::path::Path, text: &str) -> Result<(), GateError> {
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
