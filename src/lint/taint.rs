//! Where untrusted text flows inside one workflow: from the event and free-text inputs into
//! `env:` at workflow, job and step level, into step outputs (a `run:` script that writes an
//! untrusted value to `$GITHUB_OUTPUT`/`$FORGEJO_OUTPUT`, or an action given untrusted
//! input), into job `outputs:` and from there into `needs.<job>.outputs.<name>` of the jobs
//! that wait for it. Built once per workflow in one pass over the jobs in `needs:` order, so
//! it is linear in the workflow's size; rules ask [`Flow::why`] about each context access.
//!
//! What it does not follow: values passed through files, `$GITHUB_ENV` (that write is
//! already an error, `lint.untrusted_env_write`), reusable-workflow outputs, and an action's own
//! code. Unknown is not treated as safe where it matters: an output whose name cannot be read
//! from the writing line taints every output of the step.

use super::expr::{self, ContextRef, Expr, ExprKind, Segment};
use super::model::{Workflow, strongly_connected};
use super::untrusted::untrusted;
use crate::yaml::Node;
use std::collections::HashMap;

/// One `env:` mapping: lowercased name -> (name as written, why it is untrusted).
type Scope = HashMap<String, (String, Option<String>)>;

/// The outputs of a step or a job.
#[derive(Default)]
struct Outputs {
    /// Every output is untrusted (the name could not be read), and why.
    any: Option<String>,
    /// Lowercased output name -> why it is untrusted.
    named: HashMap<String, String>,
}

impl Outputs {
    fn get(&self, name: Option<&str>) -> Option<String> {
        match name {
            Some(n) => self.named.get(n).cloned().or_else(|| self.any.clone()),
            None => self
                .any
                .clone()
                .or_else(|| self.named.values().next().cloned()),
        }
    }
}

/// What the workflow's `env:`, step outputs and job outputs carry, for [`Flow::why`]. Built
/// on the first question that needs it: only accesses to `env`, `steps` and `needs` do, so a
/// workflow whose expressions read none of them never pays for the tables.
pub struct Flow<'w> {
    wf: &'w Workflow<'w>,
    tables: std::cell::OnceCell<Tables<'w>>,
}

impl<'w> Flow<'w> {
    /// The flow of `wf`; nothing is computed until it is asked.
    pub fn new(wf: &'w Workflow<'w>) -> Flow<'w> {
        Flow {
            wf,
            tables: std::cell::OnceCell::new(),
        }
    }

    /// Why the value read by `r` at a place (a job and a step, either absent at workflow or
    /// job level) is untrusted, or `None`.
    pub fn why(&self, r: &ContextRef, job: Option<usize>, step: Option<usize>) -> Option<String> {
        match r.root.as_str() {
            "env" | "steps" | "needs" => self
                .tables
                .get_or_init(|| Tables::build(self.wf))
                .why(r, job, step),
            _ => untrusted(r, self.wf),
        }
    }
}

/// The tables of a [`Flow`], built in one pass over the jobs in `needs:` order.
struct Tables<'w> {
    wf: &'w Workflow<'w>,
    env_workflow: Scope,
    env_job: Vec<Scope>,
    env_step: Vec<Vec<Scope>>,
    step_outputs: Vec<Vec<Outputs>>,
    job_outputs: Vec<Outputs>,
    /// Per job: lowercased step id -> step position.
    step_ids: Vec<HashMap<String, usize>>,
    /// Lowercased job id -> index.
    job_ids: HashMap<String, usize>,
}

const OUTPUT_FILES: &[&str] = &["GITHUB_OUTPUT", "FORGEJO_OUTPUT"];

fn names(r: &ContextRef) -> Vec<Option<String>> {
    r.path
        .iter()
        .map(|s| match s {
            Segment::Name(n) | Segment::Index(n) => Some(n.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// The context accesses whose *text* reaches the result of `e`: accesses under a comparison,
/// `!`, or a function that returns a boolean or a hash (`contains`, `startsWith`, `endsWith`,
/// `hashFiles`, the status functions) cannot carry attacker text and are left out.
pub fn text_refs(e: &Expr) -> Vec<ContextRef> {
    let mut out = Vec::new();
    let mut stack = vec![e];
    while let Some(node) = stack.pop() {
        match &node.kind {
            ExprKind::Not(_) => {}
            ExprKind::Binary { op, lhs, rhs, .. } => {
                if matches!(op, expr::BinaryOp::And | expr::BinaryOp::Or) {
                    stack.push(lhs);
                    stack.push(rhs);
                }
            }
            ExprKind::Call { name, args, .. } => {
                let boolean = [
                    "contains",
                    "startswith",
                    "endswith",
                    "hashfiles",
                    "success",
                    "always",
                    "failure",
                    "cancelled",
                ]
                .iter()
                .any(|f| f.eq_ignore_ascii_case(name));
                if !boolean {
                    stack.extend(args.iter());
                }
            }
            ExprKind::Context(_)
            | ExprKind::Property { .. }
            | ExprKind::Index { .. }
            | ExprKind::Filter { .. } => out.extend(expr::context_refs(node)),
            ExprKind::Group(inner) => stack.push(inner),
            _ => {}
        }
    }
    out.sort_by_key(|r| (r.span.start, r.span.end));
    out
}

impl<'w> Tables<'w> {
    fn build(wf: &'w Workflow<'w>) -> Tables<'w> {
        let mut job_ids = HashMap::new();
        for (i, j) in wf.jobs.iter().enumerate() {
            job_ids.entry(j.id.to_ascii_lowercase()).or_insert(i);
        }
        let step_ids = wf
            .jobs
            .iter()
            .map(|j| {
                let mut ids = HashMap::new();
                for (i, s) in j.steps.iter().enumerate() {
                    if let Some((id, _)) = s.id {
                        ids.entry(id.to_ascii_lowercase()).or_insert(i);
                    }
                }
                ids
            })
            .collect();
        let mut flow = Tables {
            wf,
            env_workflow: Scope::new(),
            env_job: wf.jobs.iter().map(|_| Scope::new()).collect(),
            env_step: wf
                .jobs
                .iter()
                .map(|j| j.steps.iter().map(|_| Scope::new()).collect())
                .collect(),
            step_outputs: wf
                .jobs
                .iter()
                .map(|j| j.steps.iter().map(|_| Outputs::default()).collect())
                .collect(),
            job_outputs: wf.jobs.iter().map(|_| Outputs::default()).collect(),
            step_ids,
            job_ids,
        };
        flow.env_workflow = flow.scope(wf.root.get("env"), None, None);
        let edges: Vec<Vec<usize>> = (0..wf.jobs.len())
            .map(|j| wf.need_edges(j).to_vec())
            .collect();
        // Needed jobs first, so their outputs are known when a job reads them.
        for members in strongly_connected(&edges).order {
            for j in members {
                let job = &wf.jobs[j];
                flow.env_job[j] = flow.scope(job.node.get("env"), Some(j), None);
                for s in 0..job.steps.len() {
                    flow.env_step[j][s] = flow.scope(job.steps[s].env, Some(j), Some(s));
                    flow.step_outputs[j][s] = flow.outputs_of_step(j, s);
                }
                flow.job_outputs[j] = flow.outputs_of_job(j);
            }
        }
        flow
    }

    /// Why the value of `text` (a string that may hold `${{ }}`) is untrusted, at a place.
    fn text_why(&self, text: &str, job: Option<usize>, step: Option<usize>) -> Option<String> {
        let found = self.wf.expressions(text).ok()?;
        for emb in found.iter() {
            let Ok(e) = &emb.expr else { continue };
            for r in text_refs(e) {
                if let Some(why) = self.why(&r, job, step) {
                    return Some(format!("`{}`: {why}", r.dotted()));
                }
            }
        }
        None
    }

    fn scope(&self, node: Option<&Node>, job: Option<usize>, step: Option<usize>) -> Scope {
        let mut scope = Scope::new();
        let Some(node) = node else { return scope };
        if let Some(text) = node.as_str() {
            // `env: ${{ fromJSON(...) }}`: every name may come from it.
            if let Some(why) = self.text_why(text, job, step) {
                let line = node.span.start.line;
                scope.insert(
                    "*".into(),
                    (
                        "*".into(),
                        Some(format!("`env` (line {line}) is built from {why}")),
                    ),
                );
            }
            return scope;
        }
        for (k, v) in node.as_map().unwrap_or(&[]) {
            let Some(name) = k.as_str() else { continue };
            let why = v
                .as_str()
                .and_then(|t| self.text_why(t, job, step))
                .map(|w| format!("`{name}` is set at line {} from {w}", v.span.start.line));
            scope.insert(name.to_ascii_lowercase(), (name.to_string(), why));
        }
        scope
    }

    /// The `env:` scopes visible at a place, innermost first.
    fn scopes(&self, job: Option<usize>, step: Option<usize>) -> Vec<&Scope> {
        let mut out = Vec::new();
        if let (Some(j), Some(s)) = (job, step)
            && let Some(scope) = self.env_step.get(j).and_then(|v| v.get(s))
        {
            out.push(scope);
        }
        if let Some(scope) = job.and_then(|j| self.env_job.get(j)) {
            out.push(scope);
        }
        out.push(&self.env_workflow);
        out
    }

    fn env_why(
        &self,
        name: Option<&str>,
        job: Option<usize>,
        step: Option<usize>,
    ) -> Option<String> {
        let scopes = self.scopes(job, step);
        match name {
            Some(n) => {
                for scope in &scopes {
                    if let Some((_, why)) = scope.get(n) {
                        return why.clone();
                    }
                    if let Some((_, why)) = scope.get("*") {
                        return why.clone();
                    }
                }
                None
            }
            None => scopes
                .iter()
                .flat_map(|s| s.values())
                .find_map(|(_, why)| why.clone()),
        }
    }

    /// [`Flow::why`], once the tables are built (and while they are: a scope may read an
    /// earlier one).
    fn why(&self, r: &ContextRef, job: Option<usize>, step: Option<usize>) -> Option<String> {
        let path = names(r);
        let seg = |i: usize| path.get(i).cloned().flatten();
        match r.root.as_str() {
            "env" => self.env_why(seg(0).as_deref(), job, step),
            "steps" => {
                let j = job?;
                let before = step.unwrap_or(usize::MAX);
                let visible = |i: usize| i < before;
                let outputs_of = |i: usize| -> Option<String> {
                    let outputs = self.step_outputs.get(j)?.get(i)?;
                    match (path.get(1), seg(1).as_deref()) {
                        (None, _) | (Some(None), _) => outputs.get(None),
                        (_, Some("outputs")) => outputs.get(seg(2).as_deref()),
                        _ => None,
                    }
                };
                match seg(0) {
                    Some(id) => {
                        let i = *self.step_ids.get(j)?.get(&id)?;
                        visible(i).then(|| outputs_of(i)).flatten()
                    }
                    None => (0..self.step_outputs.get(j)?.len())
                        .filter(|&i| visible(i))
                        .find_map(outputs_of),
                }
            }
            "needs" => {
                let j = job?;
                let outputs_of = |i: usize| -> Option<String> {
                    let outputs = self.job_outputs.get(i)?;
                    match (path.get(1), seg(1).as_deref()) {
                        (None, _) | (Some(None), _) => outputs.get(None),
                        (_, Some("outputs")) => outputs.get(seg(2).as_deref()),
                        _ => None,
                    }
                };
                match seg(0) {
                    Some(name) => outputs_of(*self.job_ids.get(&name)?),
                    None => self.wf.need_edges(j).iter().find_map(|&i| outputs_of(i)),
                }
            }
            _ => untrusted(r, self.wf),
        }
    }

    /// Untrusted outputs of step `s` of job `j`.
    fn outputs_of_step(&self, j: usize, s: usize) -> Outputs {
        let step = &self.wf.jobs[j].steps[s];
        let mut out = Outputs::default();
        let at = |line: usize| step.node.span.start.line.max(line);
        if step.uses.is_some() {
            // An action's outputs are whatever its code makes of its inputs.
            for (k, v) in step.node.get("with").and_then(Node::as_map).unwrap_or(&[]) {
                if let Some(why) = v.as_str().and_then(|t| self.text_why(t, Some(j), Some(s))) {
                    out.any = Some(format!(
                        "the action at line {} is given input `{}` from {why}",
                        at(k.span.start.line),
                        k.as_str().unwrap_or("?")
                    ));
                    break;
                }
            }
            return out;
        }
        let Some(script) = step.run_text() else {
            return out;
        };
        if !OUTPUT_FILES.iter().any(|f| script.contains(f)) {
            return out;
        }
        // The innermost definition of the exact (case-sensitive) name is the one the shell
        // sees; looked up per expansion, never copied per step.
        let scopes = self.scopes(Some(j), Some(s));
        let var_why = |name: &str| -> Option<&str> {
            let key = name.to_ascii_lowercase();
            scopes
                .iter()
                .filter_map(|scope| scope.get(&key))
                .find(|(written, _)| written == name)
                .and_then(|(_, why)| why.as_deref())
        };
        let run_line = step.run.map_or(0, |n| n.span.start.line);
        let mut untrusted_elsewhere: Option<String> = None;
        for (i, line) in script.split('\n').enumerate() {
            let source = self.text_why(line, Some(j), Some(s)).or_else(|| {
                shell_vars(line).into_iter().find_map(|name| {
                    let why = var_why(name)?;
                    Some(format!("`${name}`: {why}"))
                })
            });
            let writes = OUTPUT_FILES.iter().any(|f| line.contains(f));
            match (source, writes) {
                (Some(why), true) => {
                    let why = format!(
                        "the script at line {} writes it to the step's outputs from {why}",
                        run_line + i
                    );
                    match output_name(line) {
                        Some(name) => {
                            out.named.entry(name.to_ascii_lowercase()).or_insert(why);
                        }
                        None => out.any = out.any.take().or(Some(why)),
                    }
                }
                (Some(why), false) => {
                    untrusted_elsewhere.get_or_insert(format!(
                        "the script at line {} handles {why}, and writes the step's outputs",
                        run_line + i
                    ));
                }
                (None, true) if output_name(line).is_none() => {
                    // A block written at once (`} >> "$GITHUB_OUTPUT"`): its lines are above.
                    if let Some(why) = &untrusted_elsewhere {
                        out.any = out.any.take().or(Some(why.clone()));
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Untrusted `outputs:` of job `j`.
    fn outputs_of_job(&self, j: usize) -> Outputs {
        let job = &self.wf.jobs[j];
        let mut out = Outputs::default();
        let after_all = Some(job.steps.len());
        for (k, v) in job
            .node
            .get("outputs")
            .and_then(Node::as_map)
            .unwrap_or(&[])
        {
            let (Some(name), Some(text)) = (k.as_str(), v.as_str()) else {
                continue;
            };
            if let Some(why) = self.text_why(text, Some(j), after_all) {
                out.named.insert(
                    name.to_ascii_lowercase(),
                    format!(
                        "output `{name}` of job `{}` is set at line {} from {why}",
                        job.id, v.span.start.line
                    ),
                );
            }
        }
        out
    }
}

/// The shell variables a line expands (`$NAME`, `${NAME}`, also `${NAME:-x}`), in order: a
/// lookup per expansion, so many variables and many lines stay linear.
pub fn shell_vars(line: &str) -> Vec<&str> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        let start = if bytes.get(i + 1) == Some(&b'{') {
            i + 2
        } else {
            i + 1
        };
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
            end += 1;
        }
        if end > start && !bytes[start].is_ascii_digit() {
            out.push(&line[start..end]);
        }
        i = end.max(i + 1);
    }
    out
}

/// The output name written on a line such as `echo "name=value" >> "$GITHUB_OUTPUT"` or
/// `echo "name<<EOF"`: the first `word=` or `word<<` that starts a word or a quoted string.
fn output_name(line: &str) -> Option<&str> {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts = i == 0 || matches!(bytes[i - 1], b' ' | b'"' | b'\'' | b'\t');
        if starts && (bytes[i].is_ascii_alphabetic() || bytes[i] == b'_') {
            let mut e = i;
            while e < bytes.len()
                && (bytes[e].is_ascii_alphanumeric() || matches!(bytes[e], b'_' | b'-'))
            {
                e += 1;
            }
            let rest = &line[e..];
            if rest.starts_with('=') || rest.starts_with("<<") {
                return Some(&line[i..e]);
            }
            i = e.max(i + 1);
            continue;
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::output_name;

    #[test]
    fn shell_variables_are_read_from_a_line() {
        assert_eq!(
            super::shell_vars(r#"echo "$A ${B} ${C:-x} $1 $$ $D_E""#),
            vec!["A", "B", "C", "D_E"]
        );
    }

    #[test]
    fn output_names_are_read_from_the_writing_line() {
        assert_eq!(
            output_name(r#"echo "title=$T" >> "$GITHUB_OUTPUT""#),
            Some("title")
        );
        assert_eq!(
            output_name("echo body<<EOF >> $FORGEJO_OUTPUT"),
            Some("body")
        );
        assert_eq!(
            output_name("printf '%s\\n' \"x-y=$V\" >> $GITHUB_OUTPUT"),
            Some("x-y")
        );
        assert_eq!(output_name(r#"} >> "$GITHUB_OUTPUT""#), None);
    }
}
