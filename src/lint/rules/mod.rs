//! The rules, one per file, and the one ordered registry that runs them.
//!
//! Every rule is a `Rule { code, check }`: its id, default level, summary and help live in
//! its `Code` (`lint.<name>`), documented in `docs/rules/<name>.md` and
//! `docs/reasons/lint.md`. `lint.invalid_file` is raised by the driver before any rule runs.

pub mod dispatch_inputs;
pub mod duplicate_key;
pub mod expression;
pub mod gate_wiring;
pub mod ignored_by_forgejo;
pub mod invalid_file;
pub mod references;
pub mod runner_label;
pub mod schema;
pub mod template_injection;
pub mod unpinned_action;
pub mod untrusted_env_write;
// Checks the peers (actionlint, zizmor) have that matter on Forgejo.
pub mod container_credentials;
pub mod event_types;
pub mod function_call;
pub mod glob_pattern;
pub mod if_always_true;
pub mod insecure_commands;
pub mod matrix_exclude;
pub mod needs_outputs;
pub mod script_injection;
pub mod unpinned_image;
pub mod untrusted_checkout;

use super::finding::Finding;
use super::model::Workflow;
use super::source::Source;
use super::taint::Flow;
use crate::lint::config::LintPolicy;
use crate::report::Code;
use crate::yaml::{Document, Node};

/// What a rule sees.
pub struct Ctx<'a> {
    pub src: &'a Source<'a>,
    pub doc: &'a Document,
    pub wf: &'a Workflow<'a>,
    /// Where untrusted text flows in `wf`: one for all the rules that ask, built on first use.
    pub flow: &'a Flow<'a>,
    pub policy: &'a LintPolicy,
    /// The repository the workflow belongs to, when known: local actions and reusable
    /// workflows (`uses: ./...`) are read from it.
    pub repo: Option<&'a std::path::Path>,
}

pub struct Rule {
    pub code: &'static Code,
    pub check: fn(&Ctx<'_>, &mut Sink<'_>),
}

/// The registry, in the order rules run and are listed in the docs.
pub static RULES: &[&Rule] = &[
    &duplicate_key::RULE,
    &schema::RULE,
    &expression::RULE,
    &ignored_by_forgejo::RULE,
    &references::RULE,
    &runner_label::RULE,
    &dispatch_inputs::RULE,
    &template_injection::RULE,
    &untrusted_env_write::RULE,
    &unpinned_action::RULE,
    &gate_wiring::RULE,
    &untrusted_checkout::RULE,
    &script_injection::RULE,
    &container_credentials::RULE,
    &insecure_commands::RULE,
    &unpinned_image::RULE,
    &needs_outputs::RULE,
    &matrix_exclude::RULE,
    &event_types::RULE,
    &glob_pattern::RULE,
    &function_call::RULE,
    &if_always_true::RULE,
];

/// Collects findings for one file.
pub struct Sink<'a> {
    file: &'a str,
    src: &'a Source<'a>,
    pub findings: Vec<Finding>,
}

impl<'a> Sink<'a> {
    pub fn new(file: &'a str, src: &'a Source<'a>) -> Sink<'a> {
        Sink {
            file,
            src,
            findings: Vec::new(),
        }
    }

    pub fn at(
        &mut self,
        code: &'static Code,
        line: usize,
        col: usize,
        len: usize,
        message: impl Into<String>,
    ) -> &mut Finding {
        self.findings.push(Finding {
            code,
            level: code.severity,
            file: self.file.to_string(),
            line: line.max(1),
            col: col.max(1),
            len: len.max(1),
            message: message.into(),
            note: None,
        });
        let last = self.findings.len() - 1;
        &mut self.findings[last]
    }

    /// A finding on a node: a scalar is underlined up to the end of its first line.
    pub fn node(
        &mut self,
        code: &'static Code,
        node: &Node,
        message: impl Into<String>,
    ) -> &mut Finding {
        let (line, col) = (node.span.start.line, node.span.start.col);
        let len = match node.as_str() {
            Some(_) => {
                let rest = self
                    .src
                    .line(line)
                    .map_or(1, |l| l.chars().count().saturating_sub(col - 1));
                if node.span.end.line == line {
                    node.span.end.col.saturating_sub(col).clamp(1, rest.max(1))
                } else {
                    rest
                }
            }
            None => 1,
        };
        self.at(code, line, col, len, message)
    }

    /// A finding on bytes `span` of a scalar's value (an expression or part of one).
    pub fn expr(
        &mut self,
        code: &'static Code,
        scalar: &Node,
        span: super::expr::Span,
        message: impl Into<String>,
    ) -> &mut Finding {
        let (line, col) = self.src.scalar_pos(scalar, span.start);
        let text = scalar.as_str().unwrap_or("");
        let len = text
            .get(span.start..span.end)
            .map_or(1, |s| s.split('\n').next().unwrap_or("").chars().count());
        self.at(code, line, col, len, message)
    }
}

impl Finding {
    pub fn note(&mut self, note: impl Into<String>) -> &mut Finding {
        self.note = Some(note.into());
        self
    }
}

/// True for a value written as one `${{ }}` expression (anything may come of it).
pub fn is_expression(node: &Node) -> bool {
    node.as_str().is_some_and(super::expr::has_expression)
}
