//! A read-only view of a workflow over the YAML tree: triggers, dispatch inputs, jobs,
//! steps, and every `${{ }}` (plus every `if:`) with the job and step it belongs to. Rules
//! read this view and the tree; they never re-parse.

use super::expr::{self, Embedded, Expr, ExprError};
use crate::yaml::Node;

pub struct Workflow<'a> {
    pub root: &'a Node,
    /// The `on:` value.
    pub on: Option<&'a Node>,
    /// Each event name with the node that names it and its configuration (if any).
    pub events: Vec<Event<'a>>,
    /// `on.workflow_dispatch.inputs`.
    pub dispatch_inputs: Vec<Input<'a>>,
    /// `on.workflow_call.inputs`.
    pub call_inputs: Vec<Input<'a>>,
    pub jobs: Vec<Job<'a>>,
    pub sites: Vec<Site<'a>>,
}

pub struct Event<'a> {
    pub name: &'a str,
    pub name_node: &'a Node,
    pub config: Option<&'a Node>,
}

pub struct Input<'a> {
    pub name: &'a str,
    pub key: &'a Node,
    pub node: &'a Node,
    /// The declared `type`, when written as a string.
    pub kind: Option<&'a str>,
}

pub struct Job<'a> {
    pub id: &'a str,
    pub key: &'a Node,
    pub node: &'a Node,
    /// `needs:` entries with their nodes.
    pub needs: Vec<(&'a str, &'a Node)>,
    pub steps: Vec<Step<'a>>,
}

pub struct Step<'a> {
    pub node: &'a Node,
    pub id: Option<(&'a str, &'a Node)>,
    pub uses: Option<&'a Node>,
    pub run: Option<&'a Node>,
    pub if_: Option<&'a Node>,
    pub continue_on_error: Option<&'a Node>,
    pub env: Option<&'a Node>,
}

impl Step<'_> {
    pub fn run_text(&self) -> Option<&str> {
        self.run.and_then(Node::as_str)
    }
}

/// Where an expression (or an `if:`) sits.
pub struct Site<'a> {
    pub scalar: &'a Node,
    pub job: Option<usize>,
    pub step: Option<usize>,
    /// The key whose value holds the scalar (`run`, `if`, an env name, ...).
    pub key: &'a str,
    /// True when `key` is a direct key of the job or step mapping (so `if` is a condition).
    pub direct: bool,
    /// The parsed expressions, or why the text could not be split into expressions.
    pub exprs: Result<Vec<Embedded>, ExprError>,
    /// For a job or step `if:`: the whole condition, parsed (then `exprs` is empty).
    pub bare_if: Option<Result<Expr, ExprError>>,
}

impl Site<'_> {
    pub fn is_run(&self) -> bool {
        self.step.is_some() && self.direct && self.key == "run"
    }

    pub fn is_if(&self) -> bool {
        self.direct && self.key == "if"
    }

    /// Every parsed expression with the offset its spans are relative to (always the
    /// scalar text).
    pub fn parsed(&self) -> Vec<&Expr> {
        let mut out = Vec::new();
        if let Ok(found) = &self.exprs {
            out.extend(found.iter().filter_map(|e| e.expr.as_ref().ok()));
        }
        if let Some(Ok(e)) = &self.bare_if {
            out.push(e);
        }
        out
    }
}

impl<'a> Workflow<'a> {
    pub fn build(root: &'a Node) -> Workflow<'a> {
        let on = root.get("on");
        let mut events = Vec::new();
        if let Some(on) = on {
            match &on.value {
                crate::yaml::Value::Scalar { text, .. } => events.push(Event {
                    name: text,
                    name_node: on,
                    config: None,
                }),
                crate::yaml::Value::Seq(items) => {
                    for item in items {
                        if let Some(name) = item.as_str() {
                            events.push(Event {
                                name,
                                name_node: item,
                                config: None,
                            });
                        }
                    }
                }
                crate::yaml::Value::Map(entries) => {
                    for (k, v) in entries {
                        if let Some(name) = k.as_str() {
                            events.push(Event {
                                name,
                                name_node: k,
                                config: (!v.is_null()).then_some(v),
                            });
                        }
                    }
                }
            }
        }
        let inputs_of = |event: &str| -> Vec<Input<'a>> {
            let mut out = Vec::new();
            let inputs = events
                .iter()
                .find(|e| e.name == event)
                .and_then(|e| e.config)
                .and_then(|c| c.get("inputs"))
                .and_then(Node::as_map);
            for (k, v) in inputs.unwrap_or(&[]) {
                if let Some(name) = k.as_str() {
                    out.push(Input {
                        name,
                        key: k,
                        node: v,
                        kind: v.get("type").and_then(Node::as_str),
                    });
                }
            }
            out
        };
        let dispatch_inputs = inputs_of("workflow_dispatch");
        let call_inputs = inputs_of("workflow_call");
        let mut jobs = Vec::new();
        for (k, v) in root.get("jobs").and_then(Node::as_map).unwrap_or(&[]) {
            let Some(id) = k.as_str() else { continue };
            let mut needs = Vec::new();
            match v.get("needs") {
                Some(n) if n.as_seq().is_some() => {
                    for item in n.as_seq().unwrap_or(&[]) {
                        if let Some(s) = item.as_str() {
                            needs.push((s, item));
                        }
                    }
                }
                Some(n) => {
                    if let Some(s) = n.as_str().filter(|_| !n.is_null()) {
                        needs.push((s, n));
                    }
                }
                None => {}
            }
            let mut steps = Vec::new();
            for s in v.get("steps").and_then(Node::as_seq).unwrap_or(&[]) {
                let id = s
                    .get("id")
                    .and_then(|n| n.as_str().filter(|_| !n.is_null()).map(|t| (t, n)));
                steps.push(Step {
                    node: s,
                    id,
                    uses: s.get("uses"),
                    run: s.get("run"),
                    if_: s.get("if"),
                    continue_on_error: s.get("continue-on-error"),
                    env: s.get("env"),
                });
            }
            jobs.push(Job {
                id,
                key: k,
                node: v,
                needs,
                steps,
            });
        }
        let sites = collect_sites(root);
        Workflow {
            root,
            on,
            events,
            dispatch_inputs,
            call_inputs,
            jobs,
            sites,
        }
    }

    pub fn has_event(&self, name: &str) -> bool {
        self.events.iter().any(|e| e.name == name)
    }

    pub fn job_index(&self, id: &str) -> Option<usize> {
        self.jobs.iter().position(|j| j.id == id)
    }

    /// Every job `job` waits for, directly or not (cycles are tolerated).
    pub fn needs_closure(&self, job: usize) -> Vec<usize> {
        let mut seen = vec![false; self.jobs.len()];
        let mut todo = vec![job];
        let mut out = Vec::new();
        while let Some(j) = todo.pop() {
            let Some(jj) = self.jobs.get(j) else { continue };
            for (need, _) in &jj.needs {
                if let Some(n) = self.job_index(need)
                    && !seen[n]
                {
                    seen[n] = true;
                    out.push(n);
                    todo.push(n);
                }
            }
        }
        out
    }

    /// Sites inside one step.
    pub fn step_sites(&self, job: usize, step: usize) -> impl Iterator<Item = &Site<'a>> {
        self.sites
            .iter()
            .filter(move |s| s.job == Some(job) && s.step == Some(step))
    }
}

fn collect_sites(root: &Node) -> Vec<Site<'_>> {
    let mut sites = Vec::new();
    for (k, v) in root.as_map().unwrap_or(&[]) {
        let key = k.as_str().unwrap_or("");
        if key == "jobs"
            && let Some(jobs) = v.as_map()
        {
            for (ji, (_, job)) in jobs.iter().enumerate() {
                let Some(entries) = job.as_map() else {
                    walk(job, Some(ji), None, "", false, &mut sites);
                    continue;
                };
                for (jk, jv) in entries {
                    let jkey = jk.as_str().unwrap_or("");
                    if jkey == "steps"
                        && let Some(steps) = jv.as_seq()
                    {
                        for (si, step) in steps.iter().enumerate() {
                            match step.as_map() {
                                Some(se) => {
                                    for (sk, sv) in se {
                                        let skey = sk.as_str().unwrap_or("");
                                        walk(sv, Some(ji), Some(si), skey, true, &mut sites);
                                    }
                                }
                                None => walk(step, Some(ji), Some(si), "", false, &mut sites),
                            }
                        }
                    } else {
                        walk(jv, Some(ji), None, jkey, true, &mut sites);
                    }
                }
            }
        } else {
            walk(v, None, None, key, false, &mut sites);
        }
    }
    sites
}

/// Collect sites below `node` (iteratively: the tree may be 64 levels deep).
fn walk<'a>(
    node: &'a Node,
    job: Option<usize>,
    step: Option<usize>,
    key: &'a str,
    direct: bool,
    sites: &mut Vec<Site<'a>>,
) {
    let mut stack = vec![(node, key, direct)];
    while let Some((n, key, direct)) = stack.pop() {
        match &n.value {
            crate::yaml::Value::Scalar { text, .. } => {
                let is_if = direct && key == "if" && job.is_some();
                let has = text.contains("${{");
                if !has && !is_if {
                    continue;
                }
                // An `if:` is parsed whole, so `${{ a }} && b` (always true) is caught.
                let bare_if = (is_if && !text.trim().is_empty() && !n.is_null())
                    .then(|| expr::parse_if(text));
                sites.push(Site {
                    scalar: n,
                    job,
                    step,
                    key,
                    direct,
                    exprs: if has && !is_if {
                        expr::find_expressions(text)
                    } else {
                        Ok(Vec::new())
                    },
                    bare_if,
                });
            }
            crate::yaml::Value::Seq(items) => {
                for item in items.iter().rev() {
                    stack.push((item, key, false));
                }
            }
            crate::yaml::Value::Map(entries) => {
                for (k, v) in entries.iter().rev() {
                    stack.push((v, k.as_str().unwrap_or(""), false));
                }
            }
        }
    }
}
