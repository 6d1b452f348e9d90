//! `lint.references`: names that must exist do. `steps.<id>` of a step that exists earlier in
//! the job (and read through `.outputs`, `.outcome` or `.conclusion`), `needs.<job>` for a
//! job in `needs`, declared `inputs`, known `matrix` keys, `needs:` on existing jobs, no
//! dependency cycles and no duplicate step ids.
use super::{Ctx, Rule, Sink, is_expression};
use crate::lint::expr::Segment;
use crate::lint::model::strongly_connected;
use crate::report::code::code;
use crate::yaml::Node;
use std::collections::{HashMap, HashSet};

code!(
    CODE,
    "lint.references",
    Error,
    "A reference names something that does not exist where it is used (a step, a needed job, an input, a matrix key).",
    "Correct the name, declare it, or add the job to `needs:`; the message says which."
);

pub static RULE: Rule = Rule { code: &CODE, check };

fn seg_name(s: Option<&Segment>) -> Option<&str> {
    match s {
        Some(Segment::Name(n)) | Some(Segment::Index(n)) => Some(n),
        _ => None,
    }
}

/// Names looked up per job, built once so each reference is a hash lookup: a workflow with
/// thousands of steps, needs and references stays linear.
struct JobNames {
    /// Lowercased step id -> position of its first step.
    steps: HashMap<String, usize>,
    /// Lowercased `needs:` entries.
    needs: HashSet<String>,
    /// Lowercased matrix keys, computed when first asked.
    matrix: Option<MatrixKeys>,
}

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    let wf = ctx.wf;
    let declared: HashSet<String> = wf
        .dispatch_inputs
        .iter()
        .chain(&wf.call_inputs)
        .map(|i| i.name.to_ascii_lowercase())
        .collect();
    let mut names: Vec<JobNames> = wf
        .jobs
        .iter()
        .map(|j| {
            let mut steps = HashMap::new();
            for (i, s) in j.steps.iter().enumerate() {
                if let Some((id, _)) = s.id {
                    steps.entry(id.to_ascii_lowercase()).or_insert(i);
                }
            }
            JobNames {
                steps,
                needs: j
                    .needs
                    .iter()
                    .map(|(n, _)| n.to_ascii_lowercase())
                    .collect(),
                matrix: None,
            }
        })
        .collect();
    let has_input_triggers = wf.has_event("workflow_dispatch") || wf.has_event("workflow_call");
    for site in &wf.sites {
        for (_, refs) in site.parsed_refs() {
            for r in refs {
                let first = seg_name(r.path.first());
                let second = seg_name(r.path.get(1));
                match r.root.as_str() {
                    "steps" => {
                        let Some(id) = first else { continue };
                        let Some(j) = site.job.and_then(|j| wf.jobs.get(j)) else {
                            out.expr(
                                &CODE,
                                site.scalar,
                                r.span,
                                "the `steps` context only exists inside a job",
                            );
                            continue;
                        };
                        let pos = site
                            .job
                            .and_then(|ji| names.get(ji))
                            .and_then(|n| n.steps.get(&id.to_ascii_lowercase()).copied());
                        match (pos, site.step) {
                            (None, _) => {
                                out.expr(
                                    &CODE,
                                    site.scalar,
                                    r.span,
                                    format!("no step with id `{id}` in job `{}`", j.id),
                                );
                                continue;
                            }
                            (Some(p), Some(s)) if p >= s => {
                                out.expr(
                                    &CODE,
                                    site.scalar,
                                    r.span,
                                    format!("step `{id}` has not run yet here (it is step {} and this is step {})", p + 1, s + 1),
                                );
                                continue;
                            }
                            _ => {}
                        }
                        if let Some(prop) = second
                            && !matches!(
                                prop.to_ascii_lowercase().as_str(),
                                "outputs" | "outcome" | "conclusion"
                            )
                        {
                            out.expr(
                                &CODE,
                                site.scalar,
                                r.span,
                                format!("`steps.{id}.{prop}` is always empty: a step has only `outputs`, `outcome` and `conclusion`"),
                            )
                            .note(format!("did you mean `steps.{id}.outputs.{prop}`?"));
                        }
                    }
                    "needs" => {
                        let Some(name) = first else { continue };
                        let Some(j) = site.job.and_then(|j| wf.jobs.get(j)) else {
                            continue;
                        };
                        let listed = site
                            .job
                            .and_then(|ji| names.get(ji))
                            .is_some_and(|n| n.needs.contains(&name.to_ascii_lowercase()));
                        if !listed {
                            out.expr(
                                &CODE,
                                site.scalar,
                                r.span,
                                format!("job `{}` reads `needs.{name}` but `{name}` is not in its `needs:`", j.id),
                            );
                            continue;
                        }
                        if let Some(prop) = second
                            && !matches!(prop.to_ascii_lowercase().as_str(), "outputs" | "result")
                        {
                            out.expr(
                                &CODE,
                                site.scalar,
                                r.span,
                                format!("`needs.{name}.{prop}` is always empty: a needed job has only `outputs` and `result`"),
                            )
                            .note(format!("did you mean `needs.{name}.outputs.{prop}`?"));
                        }
                    }
                    "inputs" => {
                        let Some(name) = first else { continue };
                        if !declared.contains(&name.to_ascii_lowercase()) {
                            let msg = if has_input_triggers {
                                format!("input `{name}` is not declared")
                            } else {
                                format!(
                                    "input `{name}` is read but the workflow has no `workflow_dispatch` or `workflow_call` trigger"
                                )
                            };
                            out.expr(&CODE, site.scalar, r.span, msg);
                        }
                    }
                    "matrix" => {
                        let Some(name) = first else { continue };
                        let Some(j) = site.job.and_then(|j| wf.jobs.get(j)) else {
                            continue;
                        };
                        let Some(cached) = site.job.and_then(|ji| names.get_mut(ji)) else {
                            continue;
                        };
                        match cached.matrix.get_or_insert_with(|| matrix_keys(j.node)) {
                            MatrixKeys::Unknown => {}
                            MatrixKeys::None => {
                                out.expr(&CODE, site.scalar, r.span, format!("job `{}` has no `strategy.matrix`, so `matrix.{name}` is empty", j.id));
                            }
                            MatrixKeys::Known(keys, lower) => {
                                if !lower.contains(&name.to_ascii_lowercase()) {
                                    out.expr(
                                        &CODE,
                                        site.scalar,
                                        r.span,
                                        format!("`{name}` is not a key of job `{}`'s matrix", j.id),
                                    )
                                    .note(format!("matrix keys: {}", keys.join(", ")));
                                }
                            }
                        }
                    }
                    "jobs" => {
                        if let Some(name) = first
                            && wf.job_index(name).is_none()
                        {
                            out.expr(
                                &CODE,
                                site.scalar,
                                r.span,
                                format!("no job `{name}` in this workflow"),
                            );
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    for job in &wf.jobs {
        for (need, node) in &job.needs {
            if wf.job_index(need).is_none() {
                out.node(
                    &CODE,
                    node,
                    format!(
                        "job `{}` needs `{need}`, which is not a job in this workflow",
                        job.id
                    ),
                );
            }
        }
        let mut seen: HashMap<String, &Node> = HashMap::new();
        for step in &job.steps {
            if let Some((id, node)) = step.id {
                if is_expression(node) {
                    continue;
                }
                if let Some(first) = seen.get(&id.to_ascii_lowercase()) {
                    out.node(
                        &CODE,
                        node,
                        format!(
                            "step id `{id}` is used twice in job `{}` (first at line {})",
                            job.id, first.span.start.line
                        ),
                    );
                } else {
                    seen.insert(id.to_ascii_lowercase(), node);
                }
            }
        }
    }
    cycles(ctx, out);
}

enum MatrixKeys {
    /// Built from an expression: anything may be in it.
    Unknown,
    None,
    /// The keys as written, and lowercased for lookups.
    Known(Vec<String>, HashSet<String>),
}

fn matrix_keys(job: &Node) -> MatrixKeys {
    let Some(strategy) = job.get("strategy") else {
        return MatrixKeys::None;
    };
    let Some(matrix) = strategy.get("matrix") else {
        return if is_expression(strategy) {
            MatrixKeys::Unknown
        } else {
            MatrixKeys::None
        };
    };
    let Some(entries) = matrix.as_map() else {
        return MatrixKeys::Unknown;
    };
    let mut keys = Vec::new();
    for (k, v) in entries {
        match k.as_str() {
            Some("include") => match v.as_seq() {
                Some(items) => {
                    for item in items {
                        match item.as_map() {
                            Some(m) => keys
                                .extend(m.iter().filter_map(|(k, _)| k.as_str().map(String::from))),
                            None => return MatrixKeys::Unknown,
                        }
                    }
                }
                None => return MatrixKeys::Unknown,
            },
            Some("exclude") => {}
            Some(name) => keys.push(name.to_string()),
            None => return MatrixKeys::Unknown,
        }
    }
    let lower = keys.iter().map(|k| k.to_ascii_lowercase()).collect();
    MatrixKeys::Known(keys, lower)
}

/// Report each group of jobs that wait for each other once (a strongly connected component
/// of the needs graph, or a job that needs itself), on its first job in file order, with one
/// cycle through that job spelled out. O(jobs + needs).
fn cycles(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    let wf = ctx.wf;
    let edges: Vec<Vec<usize>> = (0..wf.jobs.len())
        .map(|j| wf.need_edges(j).to_vec())
        .collect();
    let sccs = strongly_connected(&edges);
    for members in &sccs.order {
        let first = members[0];
        let component = sccs.component[first];
        let cyclic = members.len() > 1 || edges[first].contains(&first);
        if !cyclic {
            continue;
        }
        // Breadth-first from `first` inside its component back to `first`: the shortest cycle
        // through it. Each component is searched once, so the whole pass stays linear.
        let mut parent: HashMap<usize, usize> = HashMap::new();
        let mut queue = std::collections::VecDeque::from([first]);
        let mut last = first;
        'search: while let Some(v) = queue.pop_front() {
            for &w in &edges[v] {
                if sccs.component[w] != component {
                    continue;
                }
                if w == first {
                    last = v;
                    break 'search;
                }
                if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(w) {
                    e.insert(v);
                    queue.push_back(w);
                }
            }
        }
        let mut path = vec![last];
        while let Some(&p) = parent.get(path.last().unwrap_or(&first)) {
            path.push(p);
        }
        path.reverse();
        let names: Vec<&str> = path.iter().map(|m| wf.jobs[*m].id).collect();
        out.node(
            &CODE,
            wf.jobs[first].key,
            format!(
                "jobs depend on each other in a cycle: {} -> {}",
                names.join(" -> "),
                names[0]
            ),
        );
    }
}
