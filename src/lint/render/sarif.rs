//! SARIF 2.1.0, hand-written: only the parts code-scanning tools read.
use super::Summary;
use crate::lint::codes;
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
struct Run {
    tool: Tool,
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
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

pub fn render(s: &Summary<'_>) -> String {
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
            default_configuration: Config {
                level: level(c.severity),
            },
        })
        .collect();
    let results = s
        .files
        .iter()
        .flat_map(|f| &f.findings)
        .map(|f| SarifResult {
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
                    },
                },
            }],
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
            results,
        }],
    };
    let mut text =
        serde_json::to_string_pretty(&log).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    text.push('\n');
    text
}
