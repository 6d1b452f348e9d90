//! `lint.matrix_exclude`: a `strategy.matrix.exclude` entry that cannot mean what it says.
//!
//! - A key that is not an axis of the matrix (an error). forgejo-runner's matrix expansion
//!   (`act/model/workflow.go`, `GetMatrixes`) refuses the job ("Matrix exclude key ... does
//!   not match any key within the matrix"), as GitHub does; older runners ignored the key,
//!   so the entry excluded every combination its other keys matched.
//! - A value that no combination has (a warning): the entry excludes nothing. Values are
//!   compared as text, and only against axes written as lists of scalars.
//!
//! `include` entries may add keys that are no axis (that is how extra variables are given to
//! combinations), so they are not judged; neither is a matrix, axis or entry built by `${{ }}`.
use super::{Ctx, Rule, Sink, is_expression};
use crate::report::Severity;
use crate::report::code::code;
use crate::yaml::Node;

code!(
    CODE,
    "lint.matrix_exclude",
    Error,
    "A matrix `exclude` entry names a key that is no axis of the matrix, or a value no combination has.",
    "Use the axis names and values of the matrix in `exclude`; to add variables to combinations, use `include`."
);

pub static RULE: Rule = Rule { code: &CODE, check };

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    for job in &ctx.wf.jobs {
        let Some(matrix) = job.node.get("strategy").and_then(|s| s.get("matrix")) else {
            continue;
        };
        let Some(entries) = matrix.as_map() else {
            continue;
        };
        let mut axes: Vec<(&str, &Node)> = Vec::new();
        let mut exclude: Option<&Node> = None;
        for (k, v) in entries {
            match k.as_str() {
                Some("include") => {}
                Some("exclude") => exclude = Some(v),
                Some(name) => axes.push((name, v)),
                None => {}
            }
        }
        let Some(items) = exclude.and_then(Node::as_seq) else {
            continue;
        };
        let names: Vec<&str> = axes.iter().map(|(n, _)| *n).collect();
        for item in items {
            for (k, v) in item.as_map().unwrap_or(&[]) {
                let Some(key) = k.as_str() else { continue };
                let Some((_, axis)) = axes.iter().find(|(n, _)| *n == key) else {
                    out.node(
                        &CODE,
                        k,
                        format!(
                            "`{key}` is not an axis of job `{}`'s matrix: the runner refuses the job",
                            job.id
                        ),
                    )
                    .note(if names.is_empty() {
                        "the matrix has no axes".to_string()
                    } else {
                        format!("axes: {}", names.join(", "))
                    });
                    continue;
                };
                let (Some(value), Some(values)) = (v.as_str(), axis.as_seq()) else {
                    continue;
                };
                if is_expression(v)
                    || values
                        .iter()
                        .any(|a| a.as_str().is_none() || is_expression(a))
                {
                    continue;
                }
                if !values.iter().any(|a| a.as_str() == Some(value)) {
                    let f = out.node(
                        &CODE,
                        v,
                        format!(
                            "no combination has `{key}: {}`, so this entry excludes nothing",
                            value.escape_debug()
                        ),
                    );
                    f.level = Severity::Warning;
                }
            }
        }
    }
}
