//! A read-only view of a workflow over the YAML tree: triggers, dispatch inputs, jobs,
//! steps, and every `${{ }}` (plus every `if:`) with the job and step it belongs to. Rules
//! read this view and the tree; they never re-parse.

use super::expr::{self, ContextRef, Embedded, Expr, ExprError};
use crate::yaml::Node;
use std::borrow::Cow;
use std::collections::HashMap;

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
    /// Job id -> index of its first definition (ids are case-sensitive in `needs:`).
    job_ids: HashMap<&'a str, usize>,
    /// For each job, the indexes of the jobs in its `needs:` that exist.
    need_edges: Vec<Vec<usize>>,
    /// `sites[range]` of each `(job, step)`: they are contiguous, in file order.
    step_site_ranges: HashMap<(usize, usize), std::ops::Range<usize>>,
    /// Where the text of each site whose `exprs` were parsed lives (address and length of
    /// the scalar's text) -> the site, so [`Workflow::expressions`] does not parse it again.
    parsed_texts: HashMap<(usize, usize), usize>,
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
    /// The context accesses of each of [`Site::parsed`], found on first use for all the rules
    /// that read them.
    refs: std::cell::OnceCell<Vec<Vec<ContextRef>>>,
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

    /// Each of [`Site::parsed`] with its context accesses ([`expr::context_refs`]).
    pub fn parsed_refs(&self) -> impl Iterator<Item = (&Expr, &[ContextRef])> {
        let parsed = self.parsed();
        let refs = self
            .refs
            .get_or_init(|| parsed.iter().map(|e| expr::context_refs(e)).collect());
        parsed.into_iter().zip(refs.iter().map(Vec::as_slice))
    }
}

impl<'a> Job<'a> {
    /// The job's `container:` (named `None`) and each of its `services:` (named by its key),
    /// as the rules that look at images read them.
    pub fn containers(&self) -> impl Iterator<Item = (Option<&'a str>, &'a Node)> {
        let services = self
            .node
            .get("services")
            .and_then(Node::as_map)
            .unwrap_or(&[]);
        self.node
            .get("container")
            .map(|c| (None, c))
            .into_iter()
            .chain(
                services
                    .iter()
                    .map(|(k, v)| (Some(k.as_str().unwrap_or("?")), v)),
            )
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
        let mut parsed_texts = HashMap::new();
        let sites = collect_sites(root, &mut parsed_texts);
        let mut job_ids = HashMap::with_capacity(jobs.len());
        for (i, j) in jobs.iter().enumerate() {
            job_ids.entry(j.id).or_insert(i);
        }
        let need_edges = jobs
            .iter()
            .map(|j| {
                j.needs
                    .iter()
                    .filter_map(|(n, _)| job_ids.get(n).copied())
                    .collect()
            })
            .collect();
        let mut step_site_ranges: HashMap<(usize, usize), std::ops::Range<usize>> = HashMap::new();
        for (i, site) in sites.iter().enumerate() {
            if let (Some(j), Some(s)) = (site.job, site.step) {
                step_site_ranges
                    .entry((j, s))
                    .and_modify(|r| r.end = i + 1)
                    .or_insert(i..i + 1);
            }
        }
        Workflow {
            root,
            on,
            events,
            dispatch_inputs,
            call_inputs,
            jobs,
            sites,
            job_ids,
            need_edges,
            step_site_ranges,
            parsed_texts,
        }
    }

    /// The `${{ }}` of `text`, as [`expr::find_expressions`] finds them: the parse made while
    /// building when `text` is the very text of a scalar of this tree (the same bytes in
    /// memory, so the same expressions), else a new parse.
    pub fn expressions(&self, text: &str) -> Result<Cow<'_, [Embedded]>, ExprError> {
        let key = (text.as_ptr() as usize, text.len());
        if let Some(Ok(found)) = self.parsed_texts.get(&key).map(|&i| &self.sites[i].exprs) {
            return Ok(Cow::Borrowed(found));
        }
        expr::find_expressions(text).map(Cow::Owned)
    }

    pub fn has_event(&self, name: &str) -> bool {
        self.events.iter().any(|e| e.name == name)
    }

    pub fn job_index(&self, id: &str) -> Option<usize> {
        self.job_ids.get(id).copied()
    }

    /// The jobs in `job`'s `needs:` that exist, as indexes.
    pub fn need_edges(&self, job: usize) -> &[usize] {
        self.need_edges.get(job).map_or(&[], Vec::as_slice)
    }

    /// Every job `job` waits for, directly or not (cycles are tolerated). O(jobs + needs).
    pub fn needs_closure(&self, job: usize) -> Vec<usize> {
        let mut seen = vec![false; self.jobs.len()];
        let mut todo = vec![job];
        let mut out = Vec::new();
        while let Some(j) = todo.pop() {
            for &n in self.need_edges(j) {
                if !seen[n] {
                    seen[n] = true;
                    out.push(n);
                    todo.push(n);
                }
            }
        }
        out
    }

    /// For every job, whether some job it waits for (directly or not) is `marked`: one pass
    /// over the needs graph, O(jobs + needs), however many jobs ask. A job in a cycle waits
    /// for itself.
    pub fn needs_any(&self, marked: &[bool]) -> Vec<bool> {
        let sccs = strongly_connected(&self.need_edges);
        let mut below = vec![false; sccs.count];
        // Components come out needs-first, so every component a job needs is done.
        for members in &sccs.order {
            let c = sccs.component[members[0]];
            let cyclic = members.len() > 1 || self.need_edges(members[0]).contains(&members[0]);
            let mut any = cyclic && members.iter().any(|&m| marked.get(m) == Some(&true));
            for &m in members {
                for &n in self.need_edges(m) {
                    let d = sccs.component[n];
                    if d != c && (marked.get(n) == Some(&true) || below[d]) {
                        any = true;
                    }
                }
            }
            below[c] = any;
        }
        (0..self.jobs.len())
            .map(|j| below[sccs.component[j]])
            .collect()
    }

    /// Sites inside one step (an index lookup, not a scan).
    pub fn step_sites(&self, job: usize, step: usize) -> impl Iterator<Item = &Site<'a>> {
        let range = self
            .step_site_ranges
            .get(&(job, step))
            .cloned()
            .unwrap_or(0..0);
        self.sites[range].iter()
    }
}

/// Strongly connected components of a graph given as adjacency lists.
pub struct Components {
    /// Component number of each node.
    pub component: Vec<usize>,
    /// The members of each component, in an order where every component comes after all the
    /// components its nodes point to (for `needs:` edges: the needed jobs first).
    pub order: Vec<Vec<usize>>,
    pub count: usize,
}

/// Tarjan's algorithm, iterative (a chain of 100,000 jobs must not overflow the stack):
/// O(nodes + edges).
pub fn strongly_connected(edges: &[Vec<usize>]) -> Components {
    const NONE: usize = usize::MAX;
    let n = edges.len();
    let mut index = vec![NONE; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut component = vec![NONE; n];
    let mut order: Vec<Vec<usize>> = Vec::new();
    let mut next = 0usize;
    for start in 0..n {
        if index[start] != NONE {
            continue;
        }
        // (node, position of the next edge to follow)
        let mut call: Vec<(usize, usize)> = vec![(start, 0)];
        index[start] = next;
        low[start] = next;
        next += 1;
        stack.push(start);
        on_stack[start] = true;
        while let Some(&mut (v, ref mut e)) = call.last_mut() {
            if let Some(&w) = edges[v].get(*e) {
                *e += 1;
                if w >= n {
                    continue;
                }
                if index[w] == NONE {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            call.pop();
            if let Some(&(parent, _)) = call.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let c = order.len();
                let mut members = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component[w] = c;
                    members.push(w);
                    if w == v {
                        break;
                    }
                }
                members.sort_unstable();
                order.push(members);
            }
        }
    }
    let count = order.len();
    Components {
        component,
        order,
        count,
    }
}

/// The sites of the tree at `root`, in file order; `parsed` receives each site whose `exprs`
/// were parsed, keyed by where its text lives.
fn collect_sites<'a>(root: &'a Node, parsed: &mut HashMap<(usize, usize), usize>) -> Vec<Site<'a>> {
    let mut sites = Vec::new();
    let mut visit = |node, job, step, key, direct, sites: &mut Vec<Site<'a>>| {
        walk(node, job, step, key, direct, sites, parsed);
    };
    for (k, v) in root.as_map().unwrap_or(&[]) {
        let key = k.as_str().unwrap_or("");
        if key == "jobs"
            && let Some(jobs) = v.as_map()
        {
            for (ji, (_, job)) in jobs.iter().enumerate() {
                let Some(entries) = job.as_map() else {
                    visit(job, Some(ji), None, "", false, &mut sites);
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
                                        visit(sv, Some(ji), Some(si), skey, true, &mut sites);
                                    }
                                }
                                None => visit(step, Some(ji), Some(si), "", false, &mut sites),
                            }
                        }
                    } else {
                        visit(jv, Some(ji), None, jkey, true, &mut sites);
                    }
                }
            }
        } else {
            visit(v, None, None, key, false, &mut sites);
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
    parsed: &mut HashMap<(usize, usize), usize>,
) {
    let mut stack = vec![(node, key, direct)];
    while let Some((n, key, direct)) = stack.pop() {
        match &n.value {
            crate::yaml::Value::Scalar { text, .. } => {
                let is_if = direct && key == "if" && job.is_some();
                let has = expr::has_expression(text);
                if !has && !is_if {
                    continue;
                }
                // An `if:` is parsed whole, so `${{ a }} && b` (always true) is caught.
                let bare_if = (is_if && !text.trim().is_empty() && !n.is_null())
                    .then(|| expr::parse_if(text));
                if has && !is_if {
                    parsed.insert((text.as_ptr() as usize, text.len()), sites.len());
                }
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
                    refs: std::cell::OnceCell::new(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn workflow(text: &str) -> crate::yaml::Document {
        crate::yaml::parse(text).expect("yaml")
    }

    #[test]
    fn components_group_cycles_and_come_needs_first() {
        // 0 -> 1 -> 2 -> 1, 3 -> 3, 4 alone
        let edges = vec![vec![1], vec![2], vec![1], vec![3], vec![]];
        let c = strongly_connected(&edges);
        assert_eq!(c.component[1], c.component[2]);
        assert_ne!(c.component[0], c.component[1]);
        let pos = |n: usize| c.order.iter().position(|m| m.contains(&n)).unwrap();
        assert!(pos(1) < pos(0), "{:?}", c.order);
        assert_eq!(c.count, 4);
    }

    #[test]
    fn needs_any_follows_the_whole_closure_in_one_pass() {
        let doc = workflow(
            "on: push\njobs:\n  gate: {runs-on: x, steps: [{run: a}]}\n  mid: {needs: gate, runs-on: x, steps: [{run: a}]}\n  late: {needs: [mid], runs-on: x, steps: [{run: a}]}\n  free: {runs-on: x, steps: [{run: a}]}\n  loop1: {needs: loop2, runs-on: x, steps: [{run: a}]}\n  loop2: {needs: loop1, runs-on: x, steps: [{run: a}]}\n",
        );
        let wf = Workflow::build(doc.root.as_ref().unwrap());
        let marked: Vec<bool> = wf
            .jobs
            .iter()
            .map(|j| j.id == "gate" || j.id == "loop2")
            .collect();
        let got: Vec<(&str, bool)> = wf
            .jobs
            .iter()
            .map(|j| j.id)
            .zip(wf.needs_any(&marked))
            .collect();
        assert_eq!(
            got,
            vec![
                ("gate", false),
                ("mid", true),
                ("late", true),
                ("free", false),
                ("loop1", true),
                ("loop2", true),
            ]
        );
        let late = wf.job_index("late").unwrap();
        let mut closure = wf.needs_closure(late);
        closure.sort_unstable();
        assert_eq!(closure, vec![0, 1]);
    }
}
