//! SARIF 2.1.0, hand-written: only the parts code-scanning tools read. Streamed: [`head`]
//! (the tool and its rules), each file's results as its file is done ([`file`]), [`tail`].
//!
//! Each rule carries `helpUri`, its page as a path relative to this project's source tree
//! (`docs/rules/<rule>.md`, see [`help_uri`]); each result points at its rule by `ruleIndex`
//! and carries the region's text (`region.snippet`) and its whole line
//! (`contextRegion.snippet`). Columns count characters (`columnKind: unicodeCodePoints`).
use crate::lint::source::Lines;
use crate::lint::{FileResult, Finding, codes};
use crate::report::Severity;
use serde::Serialize;

#[derive(Serialize)]
struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Tool,
    column_kind: &'static str,
    results: Vec<SarifResult>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: String,
    information_uri: &'static str,
    rules: Vec<RuleDesc>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleDesc {
    id: &'static str,
    short_description: Text,
    help: Text,
    help_uri: String,
    default_configuration: Config,
}

#[derive(Serialize)]
struct Config {
    level: &'static str,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: Vec<Location>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: Physical,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Physical {
    artifact_location: Artifact,
    region: Region,
    #[serde(skip_serializing_if = "Option::is_none")]
    context_region: Option<ContextRegion>,
}

#[derive(Serialize)]
struct Artifact {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
    end_column: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    snippet: Option<Text>,
}

/// The whole line of the region, for readers that show context.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContextRegion {
    start_line: usize,
    end_line: usize,
    snippet: Text,
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A rule's page: `docs/rules/<rule>.md` (the id without `lint.`), relative to the root of
/// this project's source tree at the version in `tool.driver.version`. The project has no
/// fixed public address to make it absolute; `docs/lint.md` says so.
pub fn help_uri(id: &str) -> String {
    format!("docs/rules/{}.md", id.strip_prefix("lint.").unwrap_or(id))
}

/// Where the results go in the skeleton: everything before is [`head`], after is [`tail`].
const RESULTS: &str = "\"results\": []";

/// The document with no results, pretty-printed; split at [`RESULTS`].
fn skeleton() -> String {
    let all = codes();
    let rules = all
        .iter()
        .map(|c| RuleDesc {
            id: c.id,
            short_description: Text {
                text: c.summary.into(),
            },
            help: Text {
                text: c.help.into(),
            },
            help_uri: help_uri(c.id),
            default_configuration: Config {
                level: level(c.severity),
            },
        })
        .collect();
    let log = Log {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "lint_workflows",
                    version: env!("CARGO_PKG_VERSION").into(),
                    information_uri: "https://forgejo.org/docs/latest/user/actions/",
                    rules,
                },
            },
            column_kind: "unicodeCodePoints",
            results: Vec::new(),
        }],
    };
    serde_json::to_string_pretty(&log).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// The document up to the opening of the results array.
pub fn head() -> String {
    let doc = skeleton();
    let at = doc
        .find(RESULTS)
        .map_or(doc.len(), |i| i + RESULTS.len() - 1);
    doc[..at].to_string()
}

/// After the last result: `any` says whether a result was written.
pub fn tail(any: bool) -> String {
    let doc = skeleton();
    let at = doc
        .find(RESULTS)
        .map_or(doc.len(), |i| i + RESULTS.len() - 1);
    let mut out = String::new();
    if any {
        // The closing bracket on its own line, indented like the key.
        out.push('\n');
        out.push_str(&" ".repeat(RESULTS_INDENT - 2));
    }
    out.push_str(&doc[at..]);
    out.push('\n');
    out
}

/// How deep a result sits in the pretty-printed document.
const RESULTS_INDENT: usize = 8;

/// Separator before a file's results: `first` when none was written yet.
pub fn separator(first: bool) -> &'static str {
    if first { "\n" } else { ",\n" }
}

/// One file's results, pretty-printed at their depth and separated by commas; empty when the
/// file has none.
pub fn file(file: &FileResult) -> String {
    if file.findings.is_empty() {
        return String::new();
    }
    let all = codes();
    let lines = file.text.as_deref().map(Lines::new);
    let pad = " ".repeat(RESULTS_INDENT);
    let mut out = String::new();
    for f in &file.findings {
        let result = result(f, &all, lines.as_ref());
        let text = serde_json::to_string_pretty(&result)
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        if !out.is_empty() {
            out.push_str(",\n");
        }
        for (i, line) in text.lines().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&pad);
            out.push_str(line);
        }
    }
    out
}

fn result(f: &Finding, all: &[&crate::report::Code], lines: Option<&Lines<'_>>) -> SarifResult {
    let line = lines.and_then(|l| l.get(f.line.wrapping_sub(1)));
    let span = line.map(|l| {
        l.chars()
            .skip(f.col.saturating_sub(1))
            .take(f.len)
            .collect::<String>()
    });
    SarifResult {
        rule_id: f.code.id,
        rule_index: all.iter().position(|c| c.id == f.code.id).unwrap_or(0),
        level: level(f.level),
        message: Text {
            text: f.message.clone(),
        },
        locations: vec![Location {
            physical_location: Physical {
                artifact_location: Artifact {
                    uri: f.file.replace('\\', "/"),
                },
                region: Region {
                    start_line: f.line,
                    start_column: f.col,
                    end_column: f.col + f.len,
                    snippet: span.map(|text| Text { text }),
                },
                context_region: line.map(|l| ContextRegion {
                    start_line: f.line,
                    end_line: f.line,
                    snippet: Text {
                        text: l.to_string(),
                    },
                }),
            },
        }],
    }
}
