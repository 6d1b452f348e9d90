//! `lint_workflows` as a gate: discover the workflow files (or read one from standard
//! input), load the policy and the baseline, lint each file, filter the suppressed findings,
//! stream each file's output as it finishes, write the baseline when asked, and decide. The
//! binary's glue only turns flags into a [`Request`] and hands the decision on.
//! It sits above `lint` and `policy` (it reads the policy the linter is configured by).

use crate::lint::render::{Summary, github, sarif, text};
use crate::lint::{FileResult, discover, suppress};
use crate::report::{Decision, Gate, GateError, Location, Outcome, Reason, Severity, general};
use std::io::Write;
use std::path::{Path, PathBuf};

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

/// What one run is asked to do (the binary's flags).
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Files or folders, or `-` for standard input; empty: the discovered workflow folder.
    pub paths: &'a [PathBuf],
    pub format: OutputFormat,
    /// With `-`: the workflow's path in the repository.
    pub stdin_filename: Option<&'a Path>,
    pub policy: Option<&'a Path>,
    /// The clock, as RFC 3339.
    pub now: Option<&'a str>,
    /// The repository root.
    pub root: &'a Path,
    pub baseline: Option<&'a Path>,
    pub write_baseline: Option<&'a Path>,
    /// The decision is recorded (`--record`): it keeps every finding.
    pub record: bool,
}

/// How standard input is named when `--stdin-filename` is not given.
const STDIN_NAME: &str = "<stdin>";

/// Where the output goes while files finish.
pub struct Streamed<'a> {
    out: &'a mut dyn Write,
    format: OutputFormat,
    wrote_sarif_result: bool,
    sarif_open: bool,
}

impl<'a> Streamed<'a> {
    pub fn new(out: &'a mut dyn Write, format: OutputFormat) -> Self {
        Streamed {
            out,
            format,
            wrote_sarif_result: false,
            sarif_open: false,
        }
    }

    /// Close a SARIF document already begun, so that it stays valid JSON even when the run
    /// stopped at an unreadable file (the exit code says the run could not evaluate).
    pub fn close(&mut self) {
        if self.sarif_open {
            self.sarif_open = false;
            let tail = sarif::tail(self.wrote_sarif_result);
            let _ = self.write(&tail);
        }
    }

    pub fn write(&mut self, s: &str) -> Result<(), GateError> {
        if s.is_empty() {
            return Ok(());
        }
        self.out.write_all(s.as_bytes()).map_err(write_error)
    }

    pub fn flush(&mut self) -> Result<(), GateError> {
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
pub struct Counted {
    outcome: Outcome,
    files: usize,
    errors: usize,
    warnings: usize,
    suppressed: usize,
}

impl Counted {
    pub fn summary(&self) -> Summary<'_> {
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

fn inputs(req: &Request<'_>) -> Result<Inputs, GateError> {
    let dash = req.paths.iter().any(|p| p.as_os_str() == "-");
    let usage = |m: &str| GateError::new(&general::USAGE, m);
    if !dash {
        if req.stdin_filename.is_some() {
            return Err(usage(
                "--stdin-filename names the workflow read from standard input: give `-` as the path",
            ));
        }
        return discover::discover(req.paths, req.root).map(Inputs::Files);
    }
    if req.paths.len() != 1 {
        return Err(usage(
            "`-` reads one workflow from standard input and cannot be combined with other paths",
        ));
    }
    let Some(name) = &req.stdin_filename else {
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

/// Lint what `req` names, writing each file's output to `out` as it finishes, and decide.
pub fn evaluate(
    req: &Request<'_>,
    out: &mut Streamed<'_>,
) -> Result<(Decision, Counted), GateError> {
    let now = crate::clock::now_or(req.now)?;
    let policy = crate::policy::load(req.policy, req.root)?;
    let lint = &policy.policy.lint;
    let inputs = inputs(req)?;
    let folder = match &inputs {
        Inputs::Files(found) => found.folder.clone(),
        Inputs::Stdin(_) => None,
    };
    let mut d = Decision::new(Gate::LintWorkflows, String::new(), now);
    d.inputs.push(policy.digest.clone());
    match req.format {
        OutputFormat::Text => out.write(&text::head(folder.as_deref()))?,
        OutputFormat::Sarif => {
            out.write(&sarif::head())?;
            out.sarif_open = true;
        }
        OutputFormat::Json | OutputFormat::Github => {}
    }
    let baseline = match &req.baseline {
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
        writing: req.write_baseline.is_some(),
        renamed: &lint.renamed,
    };
    let format = req.format;
    let render = move |f: &FileResult| match format {
        OutputFormat::Text => text::file(f),
        OutputFormat::Sarif => sarif::file(f),
        OutputFormat::Github => github::file(f),
        OutputFormat::Json => String::new(),
    };
    // The per-file step, on the worker that linted the file while its text is there: the
    // suppressions filter, then the rendering. What the run-wide tally needs goes along.
    let per_file = |f: &mut FileResult| {
        let key = suppress::repo_path(std::path::Path::new(&f.path), req.root);
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
        full: req.format == OutputFormat::Json || req.record,
        errors: 0,
        warnings: 0,
    };
    let digests = kept.full;
    let mut files = 0usize;
    let mut emit = |f: FileResult, (chunk, filtered): (String, suppress::Filtered)| {
        files += 1;
        tally.add(&filtered);
        if kept.full
            && let Some(digest) = &f.digest
        {
            d.inputs.push(digest.clone());
        }
        kept.add(&mut d, f);
        out.file(&chunk)
    };
    match &inputs {
        Inputs::Stdin(name) => {
            let mut f =
                crate::lint::lint_reader(std::io::stdin().lock(), name, lint, Some(req.root))?;
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
                Some(req.root),
                digests,
                threads,
                per_file,
                &mut emit,
            )?;
        }
    }
    if let Some(path) = &req.write_baseline {
        write_baseline(path, &tally.baseline_text())?;
    }
    // Only a run over the whole workflow folder can tell that an entry for another file is
    // unused. Those findings are about the policy and the baseline: reported after the
    // workflows, not counted as linted files.
    let complete = req.paths.is_empty();
    let (policy_unused, baseline_unused) = tally.unused(&cfg, &policy.digest.source, complete);
    let mut extra = Vec::new();
    if !policy_unused.is_empty() {
        extra.push(FileResult {
            path: policy.digest.source.clone(),
            findings: policy_unused,
            text: None,
            digest: Some(policy.digest.clone()),
        });
    }
    if let (Some(b), false) = (&baseline, baseline_unused.is_empty()) {
        extra.push(FileResult {
            path: b.file.clone(),
            findings: baseline_unused,
            text: Some(b.text.clone()),
            digest: Some(b.digest.clone()),
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
