//! `lint_workflows`: a workflow linter that understands Forgejo Actions.
//!
//! The driver reads each file (bounded), parses it with positions ([`crate::yaml`]), builds a
//! [`model::Workflow`] view, runs every rule of the one registry ([`rules::RULES`]) and
//! applies the policy's levels. Findings are data; a path that cannot be read is a
//! [`GateError`] (exit 2). Nothing here prints: [`render`] returns text.

pub mod config;
pub mod discover;
pub mod expr;
pub mod finding;
pub mod heredoc;
pub mod model;
pub mod render;
pub mod rules;
pub mod run;
pub mod shell;
pub mod source;
pub mod suppress;
pub mod taint;
pub mod untrusted;

pub use finding::{Finding, Level};

use crate::report::{Code, GateError, InputDigest, general};
use config::LintPolicy;
use rules::invalid_file::CODE as INVALID;
use std::path::{Path, PathBuf};

/// Every reason code (rule id) this gate can emit (registered in `registry::all_codes`).
pub fn codes() -> Vec<&'static Code> {
    let mut all: Vec<&'static Code> = vec![&INVALID];
    all.extend(rules::RULES.iter().map(|r| r.code));
    all.extend([
        &suppress::INVALID,
        &suppress::UNUSED,
        &suppress::DEPRECATED_ID,
    ]);
    all
}

/// One linted file.
#[derive(Debug, Clone)]
pub struct FileResult {
    pub path: String,
    pub findings: Vec<Finding>,
    /// The text, kept for code frames; `None` when the file was not readable as text.
    pub text: Option<String>,
    /// What was read, hashed; `None` when the run keeps no digests (hashing every file costs
    /// a few per cent of a lint run, and only `--format json` and `--record` write them).
    pub digest: Option<InputDigest>,
}

fn file_finding(name: &str, line: usize, col: usize, message: String) -> Finding {
    Finding {
        code: &INVALID,
        level: crate::report::Severity::Error,
        file: name.to_string(),
        line: line.max(1),
        col: col.max(1),
        len: 1,
        message,
        note: None,
    }
}

/// Lint workflow text. `name` is how the file is shown.
pub fn lint_text(name: &str, text: &str, policy: &LintPolicy) -> Vec<Finding> {
    lint_text_in(name, text, policy, None)
}

/// Lint workflow text of the repository at `repo` (where `uses: ./...` is read).
pub fn lint_text_in(
    name: &str,
    text: &str,
    policy: &LintPolicy,
    repo: Option<&Path>,
) -> Vec<Finding> {
    let doc = match crate::yaml::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let what = match e.kind {
                crate::yaml::YamlErrorKind::Syntax => "invalid YAML",
                crate::yaml::YamlErrorKind::TooDeep => "nested too deeply",
                crate::yaml::YamlErrorKind::TooManyNodes => "too many nodes",
                crate::yaml::YamlErrorKind::UnknownAlias => "unknown alias",
            };
            return vec![file_finding(
                name,
                e.pos.line,
                e.pos.col,
                format!("{what}: {}", e.message),
            )];
        }
    };
    let Some(root) = &doc.root else {
        return vec![file_finding(
            name,
            1,
            1,
            "the file is empty: a workflow needs `on:` and `jobs:`".into(),
        )];
    };
    let mut findings = Vec::new();
    if doc.document_count > 1 {
        findings.push(file_finding(
            name,
            1,
            1,
            format!(
                "the file holds {} YAML documents; a workflow is one document",
                doc.document_count
            ),
        ));
    }
    let src = source::Source::new(text);
    let wf = model::Workflow::build(root);
    let flow = taint::Flow::new(&wf);
    let ctx = rules::Ctx {
        src: &src,
        doc: &doc,
        wf: &wf,
        flow: &flow,
        policy,
        repo,
    };
    let mut sink = rules::Sink::new(name, &src);
    for rule in rules::RULES {
        (rule.check)(&ctx, &mut sink);
    }
    findings.extend(sink.findings);
    apply_levels(&mut findings, policy);
    findings
}

fn apply_levels(findings: &mut Vec<Finding>, policy: &LintPolicy) {
    use crate::report::Severity;
    findings.retain_mut(|f| {
        let Some(&level) = policy.levels.get(f.code.id) else {
            return true;
        };
        let Some(configured) = level.severity() else {
            return false;
        };
        // A finding its rule lowered to info (proved harmless) stays info unless the rule
        // is turned off: raising the rule must not raise what it proved.
        let lowered = f.level == Severity::Info && f.code.severity != Severity::Info;
        f.level = if lowered { Severity::Info } else { configured };
        true
    });
    findings.sort_by(|a, b| (a.line, a.col, a.code.id).cmp(&(b.line, b.col, b.code.id)));
    findings.dedup_by(|a, b| {
        a.line == b.line && a.col == b.col && a.code == b.code && a.message == b.message
    });
}

/// Lint raw bytes: binary and non-UTF-8 content are findings.
pub fn lint_bytes(name: &str, bytes: &[u8], policy: &LintPolicy) -> (Vec<Finding>, Option<String>) {
    lint_bytes_in(name, bytes, policy, None)
}

/// [`lint_bytes`] for a file of the repository at `repo`.
pub fn lint_bytes_in(
    name: &str,
    bytes: &[u8],
    policy: &LintPolicy,
    repo: Option<&Path>,
) -> (Vec<Finding>, Option<String>) {
    lint_owned_in(name, bytes.to_vec(), policy, repo)
}

/// [`lint_bytes_in`] taking the bytes it keeps as the text, so a file read is not copied.
fn lint_owned_in(
    name: &str,
    bytes: Vec<u8>,
    policy: &LintPolicy,
    repo: Option<&Path>,
) -> (Vec<Finding>, Option<String>) {
    if bytes.contains(&0) {
        return (
            vec![file_finding(
                name,
                1,
                1,
                "this is a binary file (it contains NUL bytes), not a workflow".into(),
            )],
            None,
        );
    }
    match String::from_utf8(bytes) {
        Ok(text) => (lint_text_in(name, &text, policy, repo), Some(text)),
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let good = &e.as_bytes()[..valid];
            let line = good.iter().filter(|b| **b == b'\n').count() + 1;
            (
                vec![file_finding(
                    name,
                    line,
                    1,
                    format!("the file is not UTF-8 text (invalid byte at offset {valid})"),
                )],
                None,
            )
        }
    }
}

/// Read and lint one file. A file too large is a finding; a file that cannot be read is an
/// error (exit 2).
pub fn lint_path(path: &Path, policy: &LintPolicy) -> Result<FileResult, GateError> {
    lint_path_in(path, policy, None)
}

/// [`lint_path`] for a file of the repository at `repo`.
pub fn lint_path_in(
    path: &Path,
    policy: &LintPolicy,
    repo: Option<&Path>,
) -> Result<FileResult, GateError> {
    lint_path_hashed(path, policy, repo, true)
}

/// [`lint_path_in`], with the file's digest only when `digest` is set.
pub(crate) fn lint_path_hashed(
    path: &Path,
    policy: &LintPolicy,
    repo: Option<&Path>,
    digest: bool,
) -> Result<FileResult, GateError> {
    let name = path.display().to_string();
    if let Some(link) = symlink_result(path, &name)? {
        return Ok(link);
    }
    let want = digest;
    let (findings, text, digest) = match crate::input::read_limited(
        path,
        policy.max_file_bytes,
        "workflow",
    ) {
        Ok(bytes) => {
            let digest = want.then(|| InputDigest::of("workflow", name.clone(), &bytes));
            let (f, t) = lint_owned_in(&name, bytes, policy, repo);
            (f, t, digest)
        }
        Err(e) if std::ptr::eq(e.code, &general::TOO_LARGE) => {
            let finding = file_finding(
                &name,
                1,
                1,
                format!(
                    "{}; raise `lint.max_file_bytes` in the policy if this is really a workflow",
                    e.message
                ),
            );
            let digest = want.then(|| InputDigest {
                name: "workflow".into(),
                source: name.clone(),
                sha256: String::new(),
                bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
            });
            (vec![finding], None, digest)
        }
        Err(e) => return Err(e),
    };
    Ok(FileResult {
        path: name,
        findings,
        text,
        digest,
    })
}

/// Read one workflow from `reader` (standard input) and lint it as the file `name` of the
/// repository at `repo`. More than `max_file_bytes` is a finding, as for a file; a read that
/// fails is an error (exit 2).
pub fn lint_reader(
    reader: impl std::io::Read,
    name: &str,
    policy: &LintPolicy,
    repo: Option<&Path>,
) -> Result<FileResult, GateError> {
    let source = format!("stdin:{name}");
    match crate::input::read_stream(reader, policy.max_file_bytes, "workflow", "standard input") {
        Ok(bytes) => {
            let digest = InputDigest::of("workflow", source, &bytes);
            let (findings, text) = lint_owned_in(name, bytes, policy, repo);
            Ok(FileResult {
                path: name.to_string(),
                findings,
                text,
                digest: Some(digest),
            })
        }
        Err(e) if std::ptr::eq(e.code, &general::TOO_LARGE) => Ok(FileResult {
            path: name.to_string(),
            findings: vec![file_finding(
                name,
                1,
                1,
                format!(
                    "{}; raise `lint.max_file_bytes` in the policy if this is really a workflow",
                    e.message
                ),
            )],
            text: None,
            digest: Some(InputDigest {
                name: "workflow".into(),
                source,
                sha256: String::new(),
                bytes: policy.max_file_bytes.saturating_add(1),
            }),
        }),
        Err(e) => Err(e),
    }
}

/// A symbolic link is what git stores: a blob holding the target's path. Forgejo reads that
/// text as the workflow (and finds no workflow in it); the file it points to is never run.
/// Following the link would lint a file Forgejo does not run, so the link is a finding.
fn symlink_result(path: &Path, name: &str) -> Result<Option<FileResult>, GateError> {
    let meta = std::fs::symlink_metadata(path)
        .map_err(|e| GateError::new(&general::IO, format!("cannot read {name}: {e}")))?;
    if !meta.file_type().is_symlink() {
        return Ok(None);
    }
    let target = std::fs::read_link(path)
        .map_err(|e| GateError::new(&general::IO, format!("cannot read {name}: {e}")))?;
    let target = target.to_string_lossy().into_owned();
    let finding = file_finding(
        name,
        1,
        1,
        format!(
            "this is a symbolic link (to `{}`): git stores the link's text, not the file it points to, so Forgejo never runs that file as this workflow; copy the workflow here instead",
            target.escape_debug()
        ),
    );
    Ok(Some(FileResult {
        path: name.to_string(),
        findings: vec![finding],
        text: None,
        digest: Some(InputDigest::of(
            "workflow",
            name.to_string(),
            target.as_bytes(),
        )),
    }))
}

/// Lint many files on up to `threads` threads, keeping the input order. The first file that
/// cannot be read stops the run with its error.
pub fn lint_paths(
    paths: &[PathBuf],
    policy: &LintPolicy,
    threads: usize,
) -> Result<Vec<FileResult>, GateError> {
    lint_paths_in(paths, policy, threads, None)
}

/// [`lint_paths`] for files of the repository at `repo`.
pub fn lint_paths_in(
    paths: &[PathBuf],
    policy: &LintPolicy,
    threads: usize,
    repo: Option<&Path>,
) -> Result<Vec<FileResult>, GateError> {
    let threads = threads.clamp(1, 8).min(paths.len().max(1));
    if threads == 1 {
        return paths
            .iter()
            .map(|p| lint_path_in(p, policy, repo))
            .collect();
    }
    let chunk = paths.len().div_ceil(threads);
    let results: Vec<Result<Vec<FileResult>, GateError>> = std::thread::scope(|s| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|p| lint_path_in(p, policy, repo))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(GateError::new(
                        &general::IO,
                        "a linter thread stopped unexpectedly",
                    ))
                })
            })
            .collect()
    });
    let mut all = Vec::with_capacity(paths.len());
    for r in results {
        all.extend(r?);
    }
    Ok(all)
}
