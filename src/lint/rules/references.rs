//! `lint.references`: names that must exist do. `steps.<id>` of a step that exists earlier in
//! the job (and read through `.outputs`, `.outcome` or `.conclusion`), `needs.<job>` for a
//! job in `needs`, declared `inputs`, known `matrix` keys, `needs:` on existing jobs, no
//! dependency cycles and no duplicate step ids.
use super::{Ctx, Rule, Sink, is_expression};
use crate::lint::expr::{self, Segment};
use crate::report::code::code;
use crate::yaml::Node;

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

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    let wf = ctx.wf;
    let declared: Vec<&str> = wf
        .dispatch_inputs
        .iter()
        .chain(&wf.call_inputs)
        .map(|i| i.name)
        .collect();
    let has_input_triggers = wf.has_event("workflow_dispatch") || wf.has_event("workflow_call");
    for site in &wf.sites {
        for e in site.parsed() {
            for r in expr::context_refs(e) {
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
                        let pos = j.steps.iter().position(|s| {
                            s.id.is_some_and(|(sid, _)| sid.eq_ignore_ascii_case(id))
                        });
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
                        if !j.needs.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
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
                        if !declared.iter().any(|d| d.eq_ignore_ascii_case(name)) {
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
                        match matrix_keys(j.node) {
                            MatrixKeys::Unknown => {}
                            MatrixKeys::None => {
                                out.expr(&CODE, site.scalar, r.span, format!("job `{}` has no `strategy.matrix`, so `matrix.{name}` is empty", j.id));
                            }
                            MatrixKeys::Known(keys) => {
                                if !keys.iter().any(|k| k.eq_ignore_ascii_case(name)) {
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
        let mut seen: Vec<(&str, &Node)> = Vec::new();
        for step in &job.steps {
            if let Some((id, node)) = step.id {
                if is_expression(node) {
                    continue;
                }
                if let Some((_, first)) = seen.iter().find(|(s, _)| s.eq_ignore_ascii_case(id)) {
                    out.node(
                        &CODE,
                        node,
                        format!(
                            "step id `{id}` is used twice in job `{}` (first at line {})",
                            job.id, first.span.start.line
                        ),
                    );
                } else {
                    seen.push((id, node));
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
    Known(Vec<String>),
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
    MatrixKeys::Known(keys)
}

/// Report each dependency cycle once, on the first job of the cycle in file order.
fn cycles(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    let wf = ctx.wf;
    let n = wf.jobs.len();
    let edges: Vec<Vec<usize>> = wf
        .jobs
        .iter()
        .map(|j| {
            j.needs
                .iter()
                .filter_map(|(need, _)| wf.job_index(need))
                .collect()
        })
        .collect();
    // 0 = unvisited, 1 = on the stack, 2 = done. Iterative DFS.
    let mut state = vec![0u8; n];
    let mut reported = vec![false; n];
    for start in 0..n {
        if state[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&to) = edges[node].get(*next) {
                *next += 1;
                match state[to] {
                    0 => {
                        state[to] = 1;
                        stack.push((to, 0));
                    }
                    1 => {
                        let from = stack.iter().position(|(s, _)| *s == to).unwrap_or(0);
                        let members: Vec<usize> = stack[from..].iter().map(|(s, _)| *s).collect();
                        if members.iter().all(|m| !reported[*m]) {
                            let first = members.iter().copied().min().unwrap_or(to);
                            let names: Vec<&str> = members.iter().map(|m| wf.jobs[*m].id).collect();
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
                        for m in members {
                            reported[m] = true;
                        }
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                stack.pop();
            }
        }
    }
}
