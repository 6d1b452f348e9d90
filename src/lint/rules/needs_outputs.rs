//! `lint.needs_outputs`: `needs.<job>.outputs.<name>` where job `<job>` declares no output
//! `<name>` in its `outputs:`. The runner gives an undeclared output as the empty string, so
//! the reference is always empty: a misspelled name, or an output that was removed or never
//! declared (a step output is not a job output until the job maps it). Names are compared
//! without case, as the runner does. Jobs that call a reusable workflow (`uses:`) get their
//! outputs from that workflow and are not judged; neither are `outputs` built by `${{ }}`.
//! Whether `<job>` is in `needs:` at all is `lint.references`'. The outputs a reusable
//! workflow declares (`on.workflow_call.outputs.<name>.value: ${{ jobs.<job>.outputs.<name> }}`)
//! are checked the same way.
use super::{Ctx, Rule, Sink, is_expression};
use crate::lint::expr::Segment;
use crate::report::code::code;
use crate::yaml::Node;
use std::collections::{HashMap, HashSet};

code!(
    CODE,
    "lint.needs_outputs",
    Error,
    "`needs.<job>.outputs.<name>` names an output the job does not declare, so it is always empty.",
    "Declare the output in the job's `outputs:` (`name: ${{ steps.<id>.outputs.<name> }}`), or correct the name."
);

pub static RULE: Rule = Rule { code: &CODE, check };

/// The declared output names of each job (lowercased), or `None` where they cannot be known.
fn declared(job: &Node) -> Option<(Vec<String>, HashSet<String>)> {
    if job.get("uses").is_some() {
        return None;
    }
    let Some(outputs) = job.get("outputs") else {
        return Some((Vec::new(), HashSet::new()));
    };
    if outputs.is_null() {
        return Some((Vec::new(), HashSet::new()));
    }
    if is_expression(outputs) {
        return None;
    }
    let entries = outputs.as_map()?;
    let names: Vec<String> = entries
        .iter()
        .filter_map(|(k, _)| k.as_str().map(String::from))
        .collect();
    let lower = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    Some((names, lower))
}

fn name_of(s: Option<&Segment>) -> Option<&str> {
    match s {
        Some(Segment::Name(n) | Segment::Index(n)) => Some(n),
        _ => None,
    }
}

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    let wf = ctx.wf;
    let outputs: Vec<Option<(Vec<String>, HashSet<String>)>> =
        wf.jobs.iter().map(|j| declared(j.node)).collect();
    let mut by_lower: HashMap<String, usize> = HashMap::new();
    for (i, j) in wf.jobs.iter().enumerate() {
        by_lower.entry(j.id.to_ascii_lowercase()).or_insert(i);
    }
    for site in &wf.sites {
        for (_, refs) in site.parsed_refs() {
            for r in refs {
                // `needs` inside a job; `jobs` in `on.workflow_call.outputs.*.value`.
                let wanted = match r.root.as_str() {
                    "needs" => site.job.is_some(),
                    "jobs" => site.job.is_none(),
                    _ => false,
                };
                if !wanted {
                    continue;
                }
                let (Some(job), Some(prop), Some(name)) = (
                    name_of(r.path.first()),
                    name_of(r.path.get(1)),
                    name_of(r.path.get(2)),
                ) else {
                    continue;
                };
                if !prop.eq_ignore_ascii_case("outputs") {
                    continue;
                }
                // Job ids are matched as `needs:` matches them (exactly), then without case.
                let Some(i) = wf
                    .job_index(job)
                    .or_else(|| by_lower.get(&job.to_ascii_lowercase()).copied())
                else {
                    continue;
                };
                let Some(Some((names, lower))) = outputs.get(i) else {
                    continue;
                };
                if lower.contains(&name.to_ascii_lowercase()) {
                    continue;
                }
                let f = out.expr(
                    &CODE,
                    site.scalar,
                    r.span,
                    format!(
                        "job `{}` declares no output `{name}`, so `{}` is always empty",
                        wf.jobs[i].id,
                        r.dotted()
                    ),
                );
                if names.is_empty() {
                    f.note(format!("job `{}` has no `outputs:` at all", wf.jobs[i].id));
                } else {
                    f.note(format!("its outputs: {}", names.join(", ")));
                }
            }
        }
    }
}
