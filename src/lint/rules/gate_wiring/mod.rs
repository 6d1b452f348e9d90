//! `lint.gate_wiring`: a deploy workflow cannot reach the apply without the gates.
//!
//! The rule runs the workflow the way the runner would, on every path it can take: jobs in
//! `needs:` order with their `if:` conditions evaluated ([`cond`]), steps in order with their
//! `if:`, `continue-on-error` and shell, and each POSIX-shell `run:` script parsed and
//! interpreted ([`crate::lint::shell`]) with the runner's shell options. Each gate
//! invocation forks the path: it passes (exit 0) or it fails (1, 2, 127; the one-shot gate
//! also 3, `noop`). Every invocation of the apply command (policy `lint.gates.apply_command`)
//! is then checked on every path that reaches it: the scope gate must have passed, no gate
//! may have failed on the way, the one-shot gate must have passed on a stateful dispatch
//! (unless the scope gate's own `stateful` output said `false`), and its exit 3 must have
//! turned the apply off. What the rule cannot follow in a deploy workflow (a non-shell
//! `shell:` that mentions the commands, `eval`, a command name known only at run time, a
//! script read from a file or stdin, a local action or reusable workflow not in the
//! repository) is an error, not a pass; so is what would make a gate's name run another
//! program or its status not count (PATH and the other protected variables, `hash -p`, a
//! function named like a builtin, a `trap` not provably harmless), make a gate read
//! something other than what is applied (flags that replace its inputs, another working
//! directory), or write step outputs the model cannot read byte for byte.
//!
//! It also keeps the static checks: `continue-on-error` or a skippable `if:` on a gate step,
//! `environment:` (Forgejo ignores it), dispatch inputs pasted into a gate or apply script,
//! and the dispatch inputs' names and types as the gates read them.

mod cond;

use super::{Ctx, Rule, Sink};
use crate::lint::model::{Job, Step, Workflow};
use crate::lint::shell::{self, Span, exec};
use crate::lint::source::Source;
use crate::report::code::code;
use crate::yaml::Node;
use cond::{Lookup, Status, V};
use exec::{How, St, Val};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path as FsPath;

code!(
    CODE,
    "lint.gate_wiring",
    Error,
    "The deploy workflow can apply a change without the gates being able to stop it.",
    "Run the gates as blocking commands before the apply (set -e, no `||`, `!`, `&` or `if`; under set +e exit with their status), handle exit 3 of allow_one_shot_stateful_apply by turning the apply off, and pass dispatch inputs with --from-event or env:."
);

pub static RULE: Rule = Rule { code: &CODE, check };

/// Input names exactly as the gates read them from the event payload.
const GATE_INPUTS: &[&str] = &["module", "allow_stateful", "backup_ref", "stateful_confirm"];
/// Most commands followed in one workflow (over all its paths), so that no workflow makes
/// the linter slow.
const MAX_WORK: usize = 100_000;
/// Most paths kept at one point of a job.
const MAX_PATHS: usize = 128;
/// Deepest chain of local actions and reusable workflows followed.
const MAX_NESTING: usize = 8;
/// Largest local action or reusable workflow read.
const MAX_INCLUDED_BYTES: u64 = 1024 * 1024;
/// Commands that may name the gates or the apply as plain data.
const NON_EXEC: &[&str] = &[
    "echo", "printf", "which", "type", "hash", "grep", "test", "[", "cat", "tee", "ls",
];

/// Commands that write no file but those their arguments name (a named `$GITHUB_OUTPUT` is
/// seen by the interpreter): after them this
/// step's outputs are still what its redirections wrote. Every other program can append to
/// `$GITHUB_OUTPUT` (it is in its environment), so its step's outputs become unknown.
const DATA_ONLY: &[&str] = &[
    "echo", "printf", "which", "type", "hash", "grep", "test", "[", "ls", "cat", "tee", "true",
    "false", ":",
];

/// The path after a program that may have written the running step's outputs.
fn outputs_unknown(user: &Path) -> Path {
    let mut after = user.clone();
    let step = after.step.clone();
    after.outputs.retain(|(s, _), _| *s != step);
    after.unknown_out.insert(step);
    after
}

/// One path through a job: what has happened on it so far.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Path {
    job_ok: bool,
    scope: bool,
    oneshot: bool,
    /// The scope gate said the module is stateless (its `stateful` output is `false`).
    stateless: bool,
    /// A gate failed (or may have) and the path went on: the gate, where, and how.
    failed: Option<(String, String, String)>,
    /// The one-shot gate exited 3 on this path (where).
    noop: Option<String>,
    /// Step outputs known on this path: (step id, key) -> value.
    outputs: BTreeMap<(String, String), String>,
    /// Steps whose outputs are not known.
    unknown_out: BTreeSet<String>,
    /// The step running now (its lowercased id).
    step: String,
    /// The step in which the scope gate passed on this path: from then on that step's
    /// `stateful` output is the gate's alone.
    scope_step: Option<String>,
    /// How each output key was spelled when written: (step id, lowercased key) -> key.
    spelled: BTreeMap<(String, String), String>,
    /// Steps whose outputs stay unknown to their end: a program in the background may write
    /// them after anything the script writes later.
    wild_out: BTreeSet<String>,
}

impl Path {
    fn start() -> Path {
        Path {
            job_ok: true,
            scope: false,
            oneshot: false,
            stateless: false,
            failed: None,
            noop: None,
            outputs: BTreeMap::new(),
            unknown_out: BTreeSet::new(),
            step: String::new(),
            scope_step: None,
            spelled: BTreeMap::new(),
            wild_out: BTreeSet::new(),
        }
    }
}

impl Lookup for Path {
    fn get(&self, path: &str) -> V {
        let mut parts = path.splitn(4, '.');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("steps"), Some(id), Some("outputs"), Some(key)) => {
                match self.outputs.get(&(id.to_string(), key.to_string())) {
                    Some(v) => V::Str(v.clone()),
                    None if self.unknown_out.contains(id) => V::Unknown(None),
                    None => V::Str(String::new()),
                }
            }
            _ => V::Unknown(None),
        }
    }
}

/// A finding waiting to be written.
struct Pending {
    line: usize,
    col: usize,
    message: String,
    note: Option<String>,
}

/// The file a step belongs to: the workflow itself, or an included action/workflow whose
/// findings are reported at the `uses:` that included it.
#[derive(Clone, Copy)]
struct Doc<'d> {
    src: &'d Source<'d>,
    /// `None` for the workflow file; else the included file's name and the `uses:` node.
    included: Option<(&'d str, &'d Node)>,
}

impl Doc<'_> {
    /// Where a byte of a scalar is, for the finding and for messages.
    fn locate(&self, node: &Node, at: usize) -> (usize, usize, String) {
        let (l, c) = self.src.scalar_pos(node, at);
        match self.included {
            None => (l, c, format!("line {l}")),
            Some((file, uses)) => (
                uses.span.start.line,
                uses.span.start.col,
                format!("`{file}` line {l}"),
            ),
        }
    }
}

struct Analysis<'a> {
    apply: &'a str,
    program: String,
    sub: Vec<String>,
    scope_gate: &'a str,
    one_shot_gate: &'a str,
    stateful: bool,
    repo: Option<&'a FsPath>,
    findings: Vec<Pending>,
    /// Top-level (job, step) that invoke a gate, and those that invoke the apply.
    gate_steps: BTreeSet<(usize, usize)>,
    apply_steps: BTreeSet<(usize, usize)>,
    /// Top-level (job, step) that name a gate in any form (`--version`, `--report-only`).
    named_steps: BTreeSet<(usize, usize)>,
    /// Where the one-shot gate can exit 3, and whether any such path ends its job well.
    noops: BTreeMap<String, (usize, usize, bool)>,
    /// The first gate of each job that has one: (gate, where).
    job_gate: BTreeMap<usize, (String, String)>,
    current: (usize, usize),
    nesting: usize,
    /// Top-level (job, step) that run on at least one path.
    visited: BTreeSet<(usize, usize)>,
    /// Commands followed so far (see [`MAX_WORK`]).
    work: usize,
    /// (line, message) of every finding pushed, so each is reported once.
    pushed: BTreeSet<(usize, String)>,
}

impl Analysis<'_> {
    fn push(&mut self, line: usize, col: usize, message: String, note: Option<&str>) {
        // A set, not a scan of the findings so far: a workflow can have thousands.
        if self.pushed.insert((line, message.clone())) {
            self.findings.push(Pending {
                line,
                col,
                message,
                note: note.map(str::to_string),
            });
        }
    }

    fn mentions(&self, text: &str) -> bool {
        text.contains(self.program.as_str())
            || text.contains(self.scope_gate)
            || text.contains(self.one_shot_gate)
    }

    fn is_apply(&self, args: &[Val]) -> bool {
        let Some(first) = self.sub.first() else {
            return true;
        };
        if args
            .iter()
            .any(|a| matches!(a, Val::Lit(t) if t == first || t.starts_with(&format!("{first}-"))))
        {
            return true;
        }
        // The subcommand is the first argument that is not an option: when it is not known,
        // it may be the apply.
        !matches!(
            args.iter()
                .find(|a| !matches!(a, Val::Lit(t) if t.starts_with('-'))),
            Some(Val::Lit(_)) | None
        )
    }

    fn check_apply(&mut self, p: &Path, line: usize, col: usize) {
        let apply = self.apply;
        if let Some((gate, at, how)) = &p.failed {
            let msg = format!("`{apply}` can run after `{gate}` ({at}) failed{how}");
            self.push(line, col, msg, Some("a gate counts only when its failure stops everything after it: do not negate it, `||` it, use it as a condition, background it, or go on under `set +e` without exiting with its status"));
        }
        if let Some(at) = &p.noop {
            let msg = format!(
                "`{apply}` can run after `{}` ({at}) exited 3 (`noop`): exit 3 must turn the apply off",
                self.one_shot_gate
            );
            self.push(line, col, msg, Some("write `apply=false` to $GITHUB_OUTPUT on exit 3 and give the apply step `if: steps.<id>.outputs.apply == 'true'`"));
        }
        if !p.job_ok {
            let msg = format!(
                "`{apply}` can run after a failed step: its step's `if:` lets it run after a failure"
            );
            self.push(line, col, msg, None);
        }
        // On a path where a gate failed, that is the finding; what did not pass follows from it.
        if p.failed.is_some() {
            return;
        }
        if !p.scope {
            let msg = format!(
                "`{apply}` can run without `{}` having passed before it (in this step, an earlier step of its job, or a job it needs)",
                self.scope_gate
            );
            self.push(line, col, msg, None);
        }
        if self.stateful && !p.oneshot && !p.stateless {
            let msg = format!(
                "a stateful dispatch can reach `{apply}` without `{}` having passed before it",
                self.one_shot_gate
            );
            self.push(line, col, msg, None);
        }
    }

    fn refuse(&mut self, line: usize, col: usize, at: &str, why: &str) {
        let msg =
            format!("{why} ({at}): in a deploy workflow, what this rule cannot follow is refused");
        self.push(
            line,
            col,
            msg,
            Some("write the commands out in a `run:` script with `shell: bash` or `sh`"),
        );
    }
}

/// The shell interpreter's view of one step's script.
struct StepHost<'h, 'a, 'd> {
    an: &'h mut Analysis<'a>,
    doc: Doc<'d>,
    node: &'d Node,
    /// The step runs in a `working-directory` (its own or a default).
    workdir: bool,
}

impl StepHost<'_, '_, '_> {
    fn at(&self, span: Span) -> (usize, usize, String) {
        self.doc.locate(self.node, span.start)
    }

    /// The path after a program that may have written the running step's outputs; in the
    /// scope gate's step after the gate, that may forge its `stateful` output.
    fn outputs_unknown(&mut self, user: &Path, span: Span) -> Path {
        if user.scope_step.as_ref() == Some(&user.step) {
            self.spoofable(span);
        }
        outputs_unknown(user)
    }

    /// Something after the scope gate in its step may write the step's `stateful` output.
    fn spoofable(&mut self, span: Span) {
        let (line, col, at) = self.at(span);
        let msg = format!(
            "the `stateful` output of `{}`'s step can be written by something other than the gate ({at}): a forged `false` skips `{}`",
            self.an.scope_gate, self.an.one_shot_gate
        );
        self.an.push(line, col, msg, Some("after the scope gate, write nothing to $GITHUB_OUTPUT in its step and run no program that could"));
    }

    /// A gate must read what is applied: the runner's own event, the workspace's policy and
    /// modules, the real clock, and be the gate the runner's PATH finds.
    fn gate_invocation(&mut self, gate: &str, name: &str, args: &[Val], how: &How, span: Span) {
        let (line, col, at) = self.at(span);
        if name.contains('/') {
            let why = format!(
                "`{name}` names the gate by a path, which is not provably the installed `{gate}`"
            );
            self.an.refuse(line, col, &at, &why);
        }
        if how.moved || self.workdir {
            let why = format!(
                "`{gate}` runs outside the workspace root (`cd` or `working-directory`), so it reads another `modules/` and `.forgejo/gates.yml`"
            );
            self.an.refuse(line, col, &at, &why);
        }
        let mut from_event = false;
        let mut usage_error = false;
        let mut i = 0;
        while i < args.len() {
            let Val::Lit(a) = &args[i] else {
                let why = format!(
                    "`{gate}` is given an argument known only at run time, which may replace a dispatch input, the policy or the event"
                );
                self.an.refuse(line, col, &at, &why);
                i += 1;
                continue;
            };
            let (flag, value) = match a.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v)),
                _ => (a.as_str(), None),
            };
            match flag {
                "--from-event" => {
                    let next_is_path = value.is_none()
                        && match args.get(i + 1) {
                            Some(Val::Lit(n)) => !n.starts_with('-'),
                            Some(_) => true,
                            None => false,
                        };
                    if value.is_some_and(|v| !v.is_empty()) || next_is_path {
                        let why = format!(
                            "`{gate} --from-event` is given a file: the gates must read the runner's own event"
                        );
                        self.an.refuse(line, col, &at, &why);
                        i += 1;
                    }
                    from_event = true;
                }
                // Their value is the next argument.
                "--record" | "--format" | "--plan" if value.is_none() => i += 1,
                "--record" | "--format" | "--plan" => {}
                "--module" | "--allow-stateful" | "--backup-ref" | "--stateful-confirm"
                | "--modules-dir" | "--policy" | "--now" | "--changed-files" => {
                    let why = format!(
                        "`{gate} {flag}` replaces what the gate reads (the dispatch, the modules, the policy or the clock) with something other than what is applied"
                    );
                    self.an.refuse(line, col, &at, &why);
                    if value.is_none() && flag != "--allow-stateful" {
                        i += 1;
                    }
                }
                "--fail-on-blocked" => {}
                // An option the gate does not have: it stops with a usage error (exit 2)
                // before reading anything, whatever follows.
                _ if flag.starts_with('-') => {
                    usage_error = true;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        if !from_event && !usage_error {
            let why = format!(
                "`{gate}` without `--from-event` does not read the dispatch from the runner's event"
            );
            self.an.refuse(line, col, &at, &why);
        }
    }
}

impl exec::Host for StepHost<'_, '_, '_> {
    type User = Path;

    fn run(&mut self, user: &Path, argv: &[Val], span: Span, how: &How) -> Vec<(Path, St)> {
        let background = how.background;
        let Val::Lit(name) = &argv[0] else {
            return vec![(self.outputs_unknown(user, span), St::Any)];
        };
        let base = name.rsplit('/').next().unwrap_or(name);
        let args = &argv[1..];
        let lit = |t: &str| args.iter().any(|a| matches!(a, Val::Lit(x) if x == t));
        let (line, col, at) = self.at(span);
        if base == self.an.program && self.an.is_apply(args) {
            self.an.apply_steps.insert(self.an.current);
            self.an.check_apply(user, line, col);
            return vec![(user.clone(), St::Any)];
        }
        let scope = base == self.an.scope_gate;
        if scope || base == self.an.one_shot_gate {
            self.an.named_steps.insert(self.an.current);
            if ["--version", "-V", "--help", "-h"].iter().any(|o| lit(o))
                || (scope && lit("--report-only"))
            {
                return vec![(user.clone(), St::Any)];
            }
            let gate = base.to_string();
            self.gate_invocation(&gate, name, args, how, span);
            self.an.gate_steps.insert(self.an.current);
            self.an
                .job_gate
                .entry(self.an.current.0)
                .or_insert_with(|| (gate.clone(), at.clone()));
            let mut ok = user.clone();
            // The gates write their own outputs: none of this step's is known any more.
            ok.unknown_out.insert(ok.step.clone());
            let mut failed = ok.clone();
            if background {
                failed.failed = Some((gate, at, ": it runs in the background".into()));
                return vec![(failed, St::Num(0))];
            }
            failed.failed = Some((gate.clone(), at.clone(), String::new()));
            let mut out = Vec::new();
            for v in [1, 2, 127] {
                out.push((failed.clone(), St::Num(v)));
            }
            if scope {
                ok.scope = true;
                ok.scope_step = Some(ok.step.clone());
                for stateful in ["true", "false"] {
                    let mut k = ok.clone();
                    k.outputs
                        .insert((k.step.clone(), "stateful".into()), stateful.into());
                    k.stateless = stateful == "false";
                    out.push((k, St::Num(0)));
                }
            } else {
                ok.oneshot = true;
                out.push((ok.clone(), St::Num(0)));
                let mut noop = ok;
                noop.oneshot = false;
                noop.noop = Some(at.clone());
                self.an.noops.entry(at).or_insert((line, col, false));
                out.push((noop, St::Num(3)));
            }
            return out;
        }
        // Any other command given the gates' or the apply's name may run it (`trap`,
        // `ssh`, `su -c`, `find -exec`, `watch`, ...): only plain data commands may.
        if !NON_EXEC.contains(&base) && base != self.an.program {
            let names = [
                self.an.program.as_str(),
                self.an.scope_gate,
                self.an.one_shot_gate,
            ];
            let named = args
                .iter()
                .filter_map(|a| match a {
                    Val::Lit(t) => Some(t.as_str()),
                    _ => None,
                })
                .chain(how.text.iter().map(String::as_str))
                .find_map(|t| names.into_iter().find(|n| t.contains(n)));
            if let Some(n) = named {
                let why = format!(
                    "`{base}` is given `{n}` and may run it in a way this rule cannot follow"
                );
                self.an.refuse(line, col, &at, &why);
            }
        }
        // `tee` and `cat` write only the files they are given; a file name not known here may
        // be the output file under another name (`tee -a "$f"`).
        let names_known = args.iter().all(|a| matches!(a, Val::Lit(_)));
        if DATA_ONLY.contains(&base) && (names_known || !matches!(base, "tee" | "cat")) {
            return vec![(user.clone(), St::Any)];
        }
        // Any other program inherits $GITHUB_OUTPUT and may write this step's outputs; in
        // the background, at any time until the step ends.
        let mut after = self.outputs_unknown(user, span);
        if background {
            after.wild_out.insert(after.step.clone());
        }
        vec![(after, St::Any)]
    }

    fn output(&mut self, user: &mut Path, kv: Option<(String, String)>, span: Span) {
        let step = user.step.clone();
        if user.scope_step.as_ref() == Some(&step)
            && kv
                .as_ref()
                .is_none_or(|(k, _)| k.trim().eq_ignore_ascii_case("stateful"))
        {
            self.spoofable(span);
        }
        // The runner keeps keys as written and `steps.<id>.outputs.<key>` finds one of those
        // that match ignoring case: two spellings of one key make its value unknown, and so
        // does anything written after a background program that may still be writing.
        let key = kv.as_ref().map(|(k, _)| k.clone());
        let conflict = key.as_ref().is_some_and(|k| {
            user.spelled
                .get(&(step.clone(), k.to_ascii_lowercase()))
                .is_some_and(|old| old != k)
        });
        match kv {
            Some((k, v)) if !conflict && !user.wild_out.contains(&step) => {
                let lower = k.to_ascii_lowercase();
                user.spelled.insert((step.clone(), lower.clone()), k);
                user.outputs.insert((step, lower), v);
            }
            _ => {
                user.outputs.retain(|(s, _), _| *s != step);
                user.unknown_out.insert(step);
            }
        }
    }

    fn refuse(&mut self, span: Span, why: String) {
        let (line, col, at) = self.at(span);
        self.an.refuse(line, col, &at, &why);
    }

    fn tick(&mut self, span: Span) -> bool {
        self.an.work += 1;
        if self.an.work == MAX_WORK {
            let why =
                format!("the workflow needs more than {MAX_WORK} commands followed to analyse");
            self.refuse(span, why);
        }
        self.an.work < MAX_WORK
    }
}

/// A runner file's variable named other than as `$NAME` or `${NAME}` (`${GITHUB_ENV:-x}`,
/// `n=GITHUB_ENV; ${!n}`), or any indirect expansion: the interpreter would see only a value
/// known at run time, not which file is written. Returns the byte offset and why.
fn hidden_runner_file(text: &str) -> Option<(usize, String)> {
    let word_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for name in exec::RUNNER_FILE_VARS {
        for (at, _) in text.match_indices(name) {
            let (before, after) = (&text[..at], &text[at + name.len()..]);
            if before.ends_with(word_char) || after.starts_with(word_char) {
                continue;
            }
            let plain = before.ends_with('$') || (before.ends_with("${") && after.starts_with('}'));
            if !plain {
                return Some((
                    at,
                    format!(
                        "`{name}` is named other than as `${name}`: which file the script writes is not followed"
                    ),
                ));
            }
        }
    }
    text.find("${!").map(|at| {
        (
            at,
            "an indirect expansion (`${!name}`) reads a variable chosen at run time".to_string(),
        )
    })
}

/// `continue-on-error` (or any boolean-ish key): `Some(true)` when it can be on.
fn may_be_on(node: Option<&Node>, p: &Path) -> bool {
    let Some(n) = node else { return false };
    if n.is_null() {
        return false;
    }
    let Some(t) = n.as_str() else { return true };
    if t.contains("${{") {
        // The runner evaluates the expression and takes its truthiness: any non-empty
        // string, `'false'` and `'no'` included, is on.
        return cond::value_of(t, p).truthy() != Some(false);
    }
    // A plain value is read as an expression: only `false`, `0` and nothing are off.
    !matches!(t.trim(), "false" | "0" | "")
}

fn shell_of<'n>(step: &'n Node, job: Option<&'n Node>, root: Option<&'n Node>) -> Option<&'n Node> {
    default_of("shell", step, job, root)
}

/// A `run:` setting (`shell`, `working-directory`): the step's, else the job's or the
/// workflow's `defaults.run`.
fn default_of<'n>(
    key: &str,
    step: &'n Node,
    job: Option<&'n Node>,
    root: Option<&'n Node>,
) -> Option<&'n Node> {
    step.get(key)
        .or_else(|| {
            job.and_then(|j| j.get("defaults"))
                .and_then(|d| d.get("run"))
                .and_then(|r| r.get(key))
        })
        .or_else(|| {
            root.and_then(|r| r.get("defaults"))
                .and_then(|d| d.get("run"))
                .and_then(|r| r.get(key))
        })
}

fn env_of(nodes: &[Option<&Node>], p: &Path) -> BTreeMap<String, Val> {
    let mut vars = BTreeMap::new();
    for n in nodes.iter().flatten() {
        for (k, v) in n.as_map().unwrap_or(&[]) {
            let Some(name) = k.as_str() else { continue };
            let val = match v.as_str() {
                Some(t) => match cond::value_of(t, p).render() {
                    Some(s) => Val::Lit(s),
                    None => Val::Unknown,
                },
                None => Val::Unknown,
            };
            match val {
                Val::Unknown => vars.remove(name),
                v => vars.insert(name.to_string(), v),
            };
        }
    }
    vars
}

/// What the steps of a job (or of a composite action) see around them.
#[derive(Clone, Copy)]
struct Frame<'d> {
    doc: Doc<'d>,
    root: Option<&'d Node>,
    job: Option<&'d Node>,
    /// Prefix of step ids inside an included action.
    ns: &'d str,
}

impl Analysis<'_> {
    fn cap(&mut self, v: &mut Vec<Path>, line: usize, col: usize, at: &str) {
        v.sort();
        v.dedup();
        if v.len() > MAX_PATHS {
            v.truncate(MAX_PATHS);
            // Refused: stop following the workflow.
            self.work = self.work.max(MAX_WORK);
            self.refuse(
                line,
                col,
                at,
                &format!("the job has more than {MAX_PATHS} paths to follow"),
            );
        }
    }

    /// Run steps from each entry path; returns the end paths.
    fn steps(
        &mut self,
        fr: Frame<'_>,
        steps: &[&Node],
        entry: Vec<Path>,
        top: Option<usize>,
    ) -> Vec<Path> {
        let mut paths = entry;
        for (si, step) in steps.iter().enumerate() {
            if self.work >= MAX_WORK {
                break;
            }
            if let Some(j) = top {
                self.current = (j, si);
            }
            let id = step.get("id").and_then(Node::as_str).map_or_else(
                || format!("#{}{si}", fr.ns),
                |s| format!("{}{}", fr.ns, s.to_ascii_lowercase()),
            );
            let if_text = step.get("if").and_then(Node::as_str);
            let coe = step.get("continue-on-error");
            let mut next = Vec::new();
            let parsed = prepare(step);
            for p in paths {
                let status = if p.job_ok { Status::OK } else { Status::FAILED };
                let runs = if step.get("if").is_some_and(|n| !n.is_null()) {
                    cond::condition(if_text, status, &p)
                } else {
                    status.success
                };
                if runs != Some(true) {
                    next.push(p.clone());
                }
                if runs == Some(false) {
                    continue;
                }
                if let Some(j) = top {
                    self.visited.insert((j, si));
                }
                let coe_on = may_be_on(coe, &p);
                let mut p = p;
                p.step = id.clone();
                for (mut q, ok) in self.step(fr, step, &parsed, p) {
                    q.step = String::new();
                    match ok {
                        Some(true) => next.push(q),
                        _ if coe_on => next.push(q),
                        Some(false) => {
                            q.job_ok = false;
                            next.push(q);
                        }
                        None => {
                            next.push(q.clone());
                            q.job_ok = false;
                            next.push(q);
                        }
                    }
                }
            }
            let (line, col, at) = fr.doc.locate(step, 0);
            self.cap(&mut next, line, col, &at);
            paths = next;
        }
        paths
    }

    /// One step on one path: the paths out and whether the step succeeded.
    fn step(
        &mut self,
        fr: Frame<'_>,
        step: &Node,
        parsed: &Option<Result<shell::Script, shell::ShellError>>,
        p: Path,
    ) -> Vec<(Path, Option<bool>)> {
        self.protected_env(fr, step);
        if let Some(run) = step.get("run") {
            let text = run.as_str().unwrap_or("");
            let shell = shell_of(step, fr.job, fr.root).map(|n| n.as_str().unwrap_or("?").trim());
            let (errexit, pipefail) = match shell {
                None => (true, false),
                Some("bash") => (true, true),
                Some("sh") => (true, false),
                Some(other) => {
                    if self.mentions(text) {
                        let (line, col, at) = fr.doc.locate(run, 0);
                        let why = format!(
                            "a `shell: {other}` script names the gates or the apply and cannot be analysed"
                        );
                        self.refuse(line, col, &at, &why);
                    }
                    return vec![(p, None)];
                }
            };
            let script = match parsed {
                Some(Ok(s)) => s,
                Some(Err(e)) => {
                    let (line, col, at) = fr.doc.locate(run, e.offset);
                    let why = format!("the script does not parse as shell: {}", e.message);
                    self.refuse(line, col, &at, &why);
                    return vec![(p, None)];
                }
                None => return vec![(p, None)],
            };
            if let Some((at, why)) = hidden_runner_file(text) {
                let (line, col, at) = fr.doc.locate(run, at);
                self.refuse(line, col, &at, &why);
            }
            let vars = env_of(
                &[
                    fr.root.and_then(|r| r.get("env")),
                    fr.job.and_then(|j| j.get("env")),
                    step.get("env"),
                ],
                &p,
            );
            let start = exec::State::new(errexit, pipefail, vars, p);
            let mut host = StepHost {
                an: self,
                doc: fr.doc,
                node: run,
                workdir: default_of("working-directory", step, fr.job, fr.root).is_some(),
            };
            // Only bash's `echo` leaves backslashes alone; the default shell may be `sh`.
            let echo_escapes = shell != Some("bash");
            return exec::run(&mut host, script, start, echo_escapes)
                .into_iter()
                .map(|(s, _)| {
                    let ok = match s.status {
                        St::Num(n) => Some(n == 0),
                        St::Nonzero => Some(false),
                        St::Any => None,
                    };
                    (s.user, ok)
                })
                .collect();
        }
        if let Some(uses) = step.get("uses")
            && let Some(target) = uses.as_str()
            && target.starts_with("./")
        {
            return self.local_action(fr, uses, target, p);
        }
        // A remote action is assumed not to apply, unless it is handed the commands' names.
        if let Some(uses) = step.get("uses")
            && let Some(with) = step.get("with").and_then(Node::as_map)
        {
            for (k, v) in with {
                if v.as_str().is_some_and(|t| self.mentions(t)) {
                    let (line, col, at) = fr.doc.locate(k, 0);
                    let why = format!(
                        "the action `{}` is given text that names the gates or the apply, and may run it in a way this rule cannot follow",
                        uses.as_str().unwrap_or("?")
                    );
                    self.refuse(line, col, &at, &why);
                }
            }
        }
        vec![(p, None)]
    }

    /// `env:` of the workflow, the job or the step that sets a variable which decides which
    /// program a name runs, what a shell runs first, or where the gates read the event.
    fn protected_env(&mut self, fr: Frame<'_>, step: &Node) {
        for env in [
            fr.root.and_then(|r| r.get("env")),
            fr.job.and_then(|j| j.get("env")),
            fr.job
                .and_then(|j| j.get("container"))
                .and_then(|c| c.get("env")),
            step.get("env"),
        ]
        .into_iter()
        .flatten()
        {
            for (k, _) in env.as_map().unwrap_or(&[]) {
                let Some(name) = k.as_str() else { continue };
                if exec::protected_var(name) {
                    let (line, col, at) = fr.doc.locate(k, 0);
                    let why = format!(
                        "`env:` sets `{name}`, which changes which programs run or what the gates read"
                    );
                    self.refuse(line, col, &at, &why);
                }
            }
        }
    }

    /// A local action: composite ones are followed, others refused.
    fn local_action(
        &mut self,
        fr: Frame<'_>,
        uses: &Node,
        target: &str,
        mut p: Path,
    ) -> Vec<(Path, Option<bool>)> {
        let (line, col, at) = fr.doc.locate(uses, 0);
        let outer = p.step.clone();
        let inside = !std::path::Path::new(target)
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir));
        let found = self.repo.filter(|_| inside).and_then(|r| {
            ["action.yml", "action.yaml"]
                .iter()
                .map(|f| r.join(target).join(f))
                .find(|f| f.is_file())
        });
        let Some(file) = found else {
            let why = format!("the local action `{target}` is not in the repository");
            self.refuse(line, col, &at, &why);
            return vec![(p, None)];
        };
        if self.nesting >= MAX_NESTING {
            self.refuse(
                line,
                col,
                &at,
                &format!("local actions nest deeper than {MAX_NESTING}"),
            );
            return vec![(p, None)];
        }
        let text = match crate::input::read_limited(&file, MAX_INCLUDED_BYTES, "action")
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
        {
            Some(t) => t,
            None => {
                let why = format!("the local action `{target}` cannot be read");
                self.refuse(line, col, &at, &why);
                return vec![(p, None)];
            }
        };
        let doc = match crate::yaml::parse(&text) {
            Ok(d) => d,
            Err(e) => {
                let why = format!(
                    "the local action `{target}` is not valid YAML: {}",
                    e.message
                );
                self.refuse(line, col, &at, &why);
                return vec![(p, None)];
            }
        };
        let Some(root) = doc.root.as_ref() else {
            self.refuse(
                line,
                col,
                &at,
                &format!("the local action `{target}` is empty"),
            );
            return vec![(p, None)];
        };
        let runs = root.get("runs");
        let using = runs.and_then(|r| r.get("using")).and_then(Node::as_str);
        if using != Some("composite") {
            let why = format!(
                "the local action `{target}` runs `{}` code this rule cannot analyse",
                using.unwrap_or("unknown")
            );
            self.refuse(line, col, &at, &why);
            return vec![(p, None)];
        }
        let steps: Vec<&Node> = runs
            .and_then(|r| r.get("steps"))
            .and_then(Node::as_seq)
            .map(|s| s.iter().collect())
            .unwrap_or_default();
        let src = Source::new(&text);
        let name = file
            .strip_prefix(self.repo.unwrap_or(FsPath::new("")))
            .unwrap_or(&file)
            .display()
            .to_string();
        let ns = format!("{outer}/");
        let inner = Frame {
            doc: Doc {
                src: &src,
                included: Some((&name, fr.doc.included.map_or(uses, |(_, u)| u))),
            },
            root: None,
            job: None,
            ns: &ns,
        };
        self.nesting += 1;
        p.step = String::new();
        let entry_ok = p.job_ok;
        let ends = self.steps(inner, &steps, vec![p], None);
        self.nesting -= 1;
        ends.into_iter()
            .map(|mut q| {
                let ok = q.job_ok || !entry_ok;
                q.job_ok = entry_ok;
                q.outputs.retain(|(s, _), _| !s.starts_with(&ns));
                q.unknown_out.retain(|s| !s.starts_with(&ns));
                q.unknown_out.insert(outer.clone());
                (q, Some(ok))
            })
            .collect()
    }
}

/// Parse a step's script once, before it runs on each path.
fn prepare(step: &Node) -> Option<Result<shell::Script, shell::ShellError>> {
    let script = step.get("run")?.as_str()?;
    Some(shell::parse(script))
}

/// Jobs in an order where each comes after the jobs it needs (jobs in a cycle are left out:
/// Forgejo never runs them).
fn job_order(wf: &Workflow<'_>) -> Vec<usize> {
    let n = wf.jobs.len();
    let index: BTreeMap<&str, usize> = wf.jobs.iter().enumerate().map(|(i, j)| (j.id, i)).collect();
    let needs: Vec<Vec<usize>> = wf
        .jobs
        .iter()
        .map(|j| {
            j.needs
                .iter()
                .filter_map(|(s, _)| index.get(s).copied())
                .collect()
        })
        .collect();
    let mut indeg: Vec<usize> = needs.iter().map(Vec::len).collect();
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (j, ns) in needs.iter().enumerate() {
        for &k in ns {
            users[k].push(j);
        }
    }
    let mut ready: Vec<usize> = (0..n).filter(|&j| indeg[j] == 0).rev().collect();
    let mut order = Vec::with_capacity(n);
    while let Some(j) = ready.pop() {
        order.push(j);
        for &u in &users[j] {
            indeg[u] -= 1;
            if indeg[u] == 0 {
                ready.push(u);
            }
        }
    }
    order
}

/// Project a job's end path to what a job that needs it inherits.
fn inherited(p: &Path) -> Path {
    Path {
        job_ok: true,
        scope: p.scope,
        oneshot: p.oneshot,
        stateless: p.stateless,
        failed: p.failed.clone(),
        noop: p.noop.clone(),
        outputs: BTreeMap::new(),
        unknown_out: BTreeSet::new(),
        step: String::new(),
        scope_step: None,
        spelled: BTreeMap::new(),
        wild_out: BTreeSet::new(),
    }
}

fn merge(a: &Path, b: &Path) -> Path {
    Path {
        job_ok: true,
        scope: a.scope || b.scope,
        oneshot: a.oneshot || b.oneshot,
        stateless: a.stateless || b.stateless,
        failed: a.failed.clone().or_else(|| b.failed.clone()),
        noop: a.noop.clone().or_else(|| b.noop.clone()),
        outputs: BTreeMap::new(),
        unknown_out: BTreeSet::new(),
        step: String::new(),
        scope_step: None,
        spelled: BTreeMap::new(),
        wild_out: BTreeSet::new(),
    }
}

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    let names = &ctx.policy.gates;
    let mut words = names.apply_command.split_whitespace().map(str::to_string);
    let program = words.next().unwrap_or_default();
    let mut an = Analysis {
        apply: &names.apply_command,
        program,
        sub: words.collect(),
        scope_gate: &names.scope_gate,
        one_shot_gate: &names.one_shot_gate,
        stateful: false,
        repo: ctx.repo,
        findings: Vec::new(),
        gate_steps: BTreeSet::new(),
        apply_steps: BTreeSet::new(),
        named_steps: BTreeSet::new(),
        noops: BTreeMap::new(),
        job_gate: BTreeMap::new(),
        current: (0, 0),
        nesting: 0,
        visited: BTreeSet::new(),
        work: 0,
        pushed: BTreeSet::new(),
    };
    let wf = ctx.wf;
    let local_uses = wf.jobs.iter().any(|j| {
        j.steps.iter().any(|s| {
            s.uses
                .and_then(Node::as_str)
                .is_some_and(|u| u.starts_with("./"))
        }) || j
            .node
            .get("uses")
            .and_then(Node::as_str)
            .is_some_and(|u| u.starts_with("./"))
    });
    if !(an.mentions(ctx.src.text)
        || an.scripts_spell_a_name(wf)
        || an.expressions_spell_a_name(ctx.src.text)
        || (local_uses && an.includes_mention(ctx)))
    {
        return;
    }
    an.stateful = wf
        .dispatch_inputs
        .iter()
        .any(|i| i.name == "allow_stateful")
        || ["allow_stateful", "allow-stateful"].iter().any(|w| {
            wf.jobs.iter().any(|j| {
                j.steps
                    .iter()
                    .any(|s| s.run_text().is_some_and(|t| t.contains(w)))
            })
        });
    let doc = Doc {
        src: ctx.src,
        included: None,
    };
    let mut ends: Vec<Option<Vec<Path>>> = vec![None; wf.jobs.len()];
    let mut after_failure: BTreeMap<usize, &Node> = BTreeMap::new();
    let mut gate_above: Vec<Option<usize>> = vec![None; wf.jobs.len()];
    for j in job_order(wf) {
        let job = &wf.jobs[j];
        let entry = entry_paths(&mut an, wf, j, &ends, &mut gate_above, &mut after_failure);
        let fr = Frame {
            doc,
            root: Some(wf.root),
            job: Some(job.node),
            ns: "",
        };
        let steps: Vec<&Node> = job.steps.iter().map(|s| s.node).collect();
        let mut end = if let Some(uses) = job.node.get("uses") {
            reusable(&mut an, fr, uses, entry, j)
        } else {
            an.steps(fr, &steps, entry, Some(j))
        };
        for p in &end {
            if p.job_ok
                && let Some(at) = &p.noop
                && let Some(n) = an.noops.get_mut(at)
            {
                n.2 = true;
            }
        }
        if may_be_on(job.node.get("continue-on-error"), &Path::start()) {
            if an.job_gate.contains_key(&j)
                && let Some((k, _)) = job.node.as_map().and_then(|m| {
                    m.iter()
                        .find(|(k, _)| k.as_str() == Some("continue-on-error"))
                })
            {
                let msg = format!(
                    "job `{}` runs a gate with `continue-on-error`, so its `no` does not stop the jobs that need it",
                    job.id
                );
                an.push(k.span.start.line, k.span.start.col, msg, None);
            }
            for p in &mut end {
                p.job_ok = true;
            }
        }
        ends[j] = Some(end);
    }
    // A job that can run after a failed gate job and leads to the apply.
    let leads_to_apply = applying_and_above(&an, wf);
    for (j, if_node) in &after_failure {
        if leads_to_apply[*j] {
            let msg = format!(
                "job `{}` can run after a job it needs failed (its `if:`), so a failed gate does not stop it",
                wf.jobs[*j].id
            );
            an.push(if_node.span.start.line, if_node.span.start.col, msg, None);
        }
    }
    for (at, (line, col, handled)) in an.noops.clone() {
        if !handled {
            let msg = format!(
                "exit 3 (`noop`) of `{}` ({at}) fails the job instead of turning the apply off",
                an.one_shot_gate
            );
            an.push(line, col, msg, Some("capture the exit code (`set +e; ...; rc=$?`), write `apply=false` on 3, exit with anything but 0 and 3"));
        }
    }
    // A step that names the apply program but no path reaches: its wiring is broken (an
    // `if:` on an output no step writes, a gate step deleted from under it).
    for (j, job) in wf.jobs.iter().enumerate() {
        for (si, step) in job.steps.iter().enumerate() {
            if let Some(run) = step.run
                && an.work < MAX_WORK
                && !an.visited.contains(&(j, si))
                && run
                    .as_str()
                    .is_some_and(|t| t.contains(an.program.as_str()))
                && !ends[j].as_ref().is_none_or(Vec::is_empty)
            {
                let at = step.if_.unwrap_or(run);
                let msg = format!(
                    "this step names `{}` but no path through the job reaches it (check its `if:` and the steps it reads)",
                    an.program
                );
                an.push(at.span.start.line, at.span.start.col, msg, None);
            }
        }
    }
    static_checks(&mut an, ctx, out);
    for f in an.findings {
        let len = ctx
            .src
            .line(f.line)
            .map_or(1, |l| l.chars().count().saturating_sub(f.col - 1).max(1));
        let finding = out.at(&CODE, f.line, f.col, len, f.message);
        if let Some(n) = f.note {
            finding.note(n);
        }
    }
}

/// Every word of every simple command in a list, command substitutions included, with
/// whether it is a command name (the first word).
fn all_words<'l>(l: &'l shell::List, out: &mut Vec<(&'l shell::Word, bool)>) {
    use shell::{CommandKind as K, Part};
    fn word<'l>(w: &'l shell::Word, name: bool, out: &mut Vec<(&'l shell::Word, bool)>) {
        out.push((w, name));
        for p in &w.parts {
            match p {
                Part::Subst(l) | Part::ProcSubst(l) => all_words(l, out),
                Part::Dynamic(ls) => ls.iter().for_each(|l| all_words(l, out)),
                _ => {}
            }
        }
    }
    fn cmd<'l>(c: &'l shell::Command, out: &mut Vec<(&'l shell::Word, bool)>) {
        for r in &c.redirects {
            word(&r.target, false, out);
        }
        match &c.kind {
            K::Simple { assigns, words } => {
                for (_, w) in assigns {
                    word(w, false, out);
                }
                for (i, w) in words.iter().enumerate() {
                    word(w, i == 0, out);
                }
            }
            K::Brace(l) | K::Subshell(l) => all_words(l, out),
            K::If {
                branches,
                otherwise,
            } => {
                for (a, b) in branches {
                    all_words(a, out);
                    all_words(b, out);
                }
                if let Some(o) = otherwise {
                    all_words(o, out);
                }
            }
            K::Loop { cond, body, .. } => {
                all_words(cond, out);
                all_words(body, out);
            }
            K::For { words, body, .. } => {
                for w in words.iter().flatten() {
                    word(w, false, out);
                }
                all_words(body, out);
            }
            K::Case { word: w, arms } => {
                word(w, false, out);
                for (_, b) in arms {
                    all_words(b, out);
                }
            }
            K::Function { body, .. } => cmd(body, out),
            K::Arith(w) => word(w, false, out),
            K::Test(ws) => ws.iter().for_each(|w| word(w, false, out)),
        }
    }
    for item in &l.items {
        for p in std::iter::once(&item.first).chain(item.rest.iter().map(|(_, p)| p)) {
            for c in &p.cmds {
                cmd(c, out);
            }
        }
    }
}

impl Analysis<'_> {
    /// Whether a script names the apply program or a gate in a way the file's text does not
    /// show: a word that is one of the names once quotes and escapes are removed
    /// (`$'\\x70latformctl'`), or a pattern that may match one (`platfor*ctl`): any pattern
    /// as a command name, elsewhere one with at least four characters that are not pattern
    /// characters (so that `rm -f *` does not make a deploy workflow).
    fn scripts_spell_a_name(&self, wf: &Workflow<'_>) -> bool {
        let names = [self.program.as_str(), self.scope_gate, self.one_shot_gate];
        wf.jobs.iter().flat_map(|j| &j.steps).any(|step| {
            let Some(Ok(script)) = step.run_text().map(shell::parse) else {
                return false;
            };
            let mut words = Vec::new();
            all_words(&script.body, &mut words);
            words.extend(script.heredocs.iter().map(|w| (w, false)));
            words.iter().any(|(w, is_name)| {
                let text: String = w
                    .parts
                    .iter()
                    .filter_map(|p| match p {
                        shell::Part::Lit(t) => Some(t.as_str()),
                        _ => None,
                    })
                    .collect();
                let base = text.rsplit('/').next().unwrap_or(&text);
                let specific =
                    *is_name || base.chars().filter(|c| !"*?[]!".contains(*c)).count() >= 4;
                names
                    .iter()
                    .any(|n| text.contains(n) || (w.glob && specific && exec::glob(base, n)))
            })
        })
    }

    /// Whether an expression of the file whose value is known without any context
    /// (`${{ format('{0}ctl', 'platform') }}`) names the apply program or a gate.
    fn expressions_spell_a_name(&self, text: &str) -> bool {
        let Ok(found) = crate::lint::expr::find_expressions(text) else {
            return false;
        };
        found.iter().filter_map(|e| e.expr.as_ref().ok()).any(|e| {
            cond::eval(e, Status::OK, &())
                .render()
                .is_some_and(|t| self.mentions(&t))
        })
    }

    /// Whether a local action or reusable workflow the file uses names the gates or the apply.
    fn includes_mention(&self, ctx: &Ctx<'_>) -> bool {
        let Some(repo) = self.repo else {
            // Without the repository (text linted alone) the file is judged by its own text.
            return false;
        };
        ctx.wf.jobs.iter().any(|j| {
            j.steps
                .iter()
                .filter_map(|s| s.uses.and_then(Node::as_str))
                .chain(j.node.get("uses").and_then(Node::as_str))
                .filter(|u| u.starts_with("./") && !u.contains(".."))
                .any(|u| {
                    let base = repo.join(u);
                    [base.join("action.yml"), base.join("action.yaml"), base]
                        .iter()
                        .filter(|f| f.is_file())
                        .any(|f| {
                            crate::input::read_limited(f, MAX_INCLUDED_BYTES, "action")
                                .map_or(true, |b| self.mentions(&String::from_utf8_lossy(&b)))
                        })
                })
        })
    }
}

/// The paths a job starts with, from the jobs it needs and its `if:`.
fn entry_paths<'w>(
    an: &mut Analysis<'_>,
    wf: &'w Workflow<'w>,
    j: usize,
    ends: &[Option<Vec<Path>>],
    gate_above: &mut [Option<usize>],
    after_failure: &mut BTreeMap<usize, &'w Node>,
) -> Vec<Path> {
    let job: &Job<'_> = &wf.jobs[j];
    let if_node = job.node.get("if").filter(|n| !n.is_null());
    let if_text = if_node.and_then(Node::as_str);
    let needs: Vec<usize> = job
        .needs
        .iter()
        .filter_map(|(s, _)| wf.job_index(s))
        .collect();
    // Jobs come in `needs:` order, so every job this one needs already knows the gate job
    // above it: one step per need, instead of walking the whole closure for every job.
    // A gate in a job it needs directly comes first, as in a walk of the closure.
    let above = needs
        .iter()
        .copied()
        .find(|k| an.job_gate.contains_key(k))
        .or_else(|| {
            needs
                .iter()
                .find_map(|k| gate_above.get(*k).copied().flatten())
        });
    if let Some(slot) = gate_above.get_mut(j) {
        *slot = above;
    }
    if needs.is_empty() {
        return match cond::condition(if_text, Status::OK, &()) {
            Some(false) => Vec::new(),
            _ => vec![Path::start()],
        };
    }
    let mut out = Vec::new();
    if cond::condition(if_text, Status::OK, &()) != Some(false) {
        // Every needed job succeeded: any combination of their good ends.
        let mut acc = vec![Path::start()];
        for k in &needs {
            let oks: Vec<Path> = ends[*k]
                .iter()
                .flatten()
                .filter(|p| p.job_ok)
                .map(inherited)
                .collect();
            let mut next = Vec::new();
            for a in &acc {
                for b in &oks {
                    next.push(merge(a, b));
                }
            }
            next.sort();
            next.dedup();
            next.truncate(MAX_PATHS);
            acc = next;
        }
        out.extend(acc);
    }
    if if_node.is_some() && cond::condition(if_text, Status::FAILED, &()) != Some(false) {
        // A needed job failed or was cancelled, and this job runs anyway.
        let upstream_gate = above.and_then(|k| an.job_gate.get(&k).cloned());
        let mut p = Path::start();
        if let Some((gate, at)) = upstream_gate {
            p.failed = Some((
                gate,
                at,
                format!(
                    ": job `{}` has an `if:` that runs it after a job it needs failed",
                    job.id
                ),
            ));
        }
        if let Some(n) = if_node {
            after_failure.insert(j, n);
        }
        out.push(p);
    }
    out
}

/// A job that calls a reusable workflow: local ones in the repository are followed.
fn reusable(
    an: &mut Analysis<'_>,
    fr: Frame<'_>,
    uses: &Node,
    entry: Vec<Path>,
    j: usize,
) -> Vec<Path> {
    let (line, col, at) = fr.doc.locate(uses, 0);
    let Some(target) = uses.as_str().filter(|t| t.starts_with("./")) else {
        return entry
            .into_iter()
            .flat_map(|p| {
                let mut bad = p.clone();
                bad.job_ok = false;
                [p, bad]
            })
            .collect();
    };
    let inside = !std::path::Path::new(target)
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir));
    let file = an
        .repo
        .filter(|_| inside)
        .map(|r| r.join(target))
        .filter(|f| f.is_file());
    let text = file
        .as_ref()
        .and_then(|f| crate::input::read_limited(f, MAX_INCLUDED_BYTES, "workflow").ok())
        .and_then(|b| String::from_utf8(b).ok());
    let Some(text) = text else {
        let why = format!("the reusable workflow `{target}` is not in the repository");
        an.refuse(line, col, &at, &why);
        return entry;
    };
    if an.nesting >= MAX_NESTING {
        an.refuse(
            line,
            col,
            &at,
            &format!("reusable workflows nest deeper than {MAX_NESTING}"),
        );
        return entry;
    }
    let Ok(doc) = crate::yaml::parse(&text) else {
        an.refuse(
            line,
            col,
            &at,
            &format!("the reusable workflow `{target}` is not valid YAML"),
        );
        return entry;
    };
    let Some(root) = doc.root.as_ref() else {
        return entry;
    };
    let wf = Workflow::build(root);
    let src = Source::new(&text);
    let inner_doc = Doc {
        src: &src,
        included: Some((target, fr.doc.included.map_or(uses, |(_, u)| u))),
    };
    an.nesting += 1;
    let mut ends: Vec<Option<Vec<Path>>> = vec![None; wf.jobs.len()];
    let mut after = BTreeMap::new();
    let mut gate_above: Vec<Option<usize>> = vec![None; wf.jobs.len()];
    let order = job_order(&wf);
    for k in &order {
        let mut e = entry_paths(an, &wf, *k, &ends, &mut gate_above, &mut after);
        if wf.jobs[*k].needs.is_empty() {
            // The called workflow's first jobs start where the caller's job starts.
            e = entry
                .iter()
                .flat_map(|p| e.iter().map(move |q| merge(p, q)))
                .collect();
        }
        let ns = format!("{target}#");
        let fr2 = Frame {
            doc: inner_doc,
            root: Some(root),
            job: Some(wf.jobs[*k].node),
            ns: &ns,
        };
        let steps: Vec<&Node> = wf.jobs[*k].steps.iter().map(|s| s.node).collect();
        an.current = (j, usize::MAX);
        let end = an.steps(fr2, &steps, e, None);
        ends[*k] = Some(end);
    }
    an.nesting -= 1;
    // The caller's job succeeds when every called job does.
    let mut acc = vec![Path::start()];
    for k in order {
        let mut next = Vec::new();
        for a in &acc {
            for b in ends[k].iter().flatten() {
                let mut m = merge(a, b);
                m.job_ok = a.job_ok && b.job_ok;
                next.push(m);
            }
        }
        next.sort();
        next.dedup();
        next.truncate(MAX_PATHS);
        acc = next;
    }
    acc
}

/// For every job, whether it applies or some job that applies waits for it (directly or
/// not): one walk up the `needs:` edges from all the applying jobs at once, O(jobs + needs).
fn applying_and_above(an: &Analysis<'_>, wf: &Workflow<'_>) -> Vec<bool> {
    let mut seen = vec![false; wf.jobs.len()];
    let mut todo: Vec<usize> = Vec::new();
    for &(j, _) in &an.apply_steps {
        if let Some(s) = seen.get_mut(j)
            && !*s
        {
            *s = true;
            todo.push(j);
        }
    }
    while let Some(j) = todo.pop() {
        for &n in wf.need_edges(j) {
            if !seen[n] {
                seen[n] = true;
                todo.push(n);
            }
        }
    }
    seen
}

fn static_checks(an: &mut Analysis<'_>, ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    let wf = ctx.wf;
    for &(j, s) in &an.gate_steps.clone() {
        let Some(step) = wf.jobs.get(j).and_then(|job| job.steps.get(s)) else {
            continue;
        };
        soft_gate(an, step);
    }
    for &(j, s) in &an.named_steps.clone() {
        if wf.jobs.get(j).and_then(|job| job.steps.get(s)).is_some() {
            pasted_inputs(out, wf, j, s);
        }
    }
    for &(j, s) in &an.apply_steps.clone() {
        if wf.jobs.get(j).and_then(|job| job.steps.get(s)).is_some() {
            pasted_inputs(out, wf, j, s);
        }
    }
    let with_env = applying_and_above(an, wf);
    for j in (0..wf.jobs.len()).filter(|&j| with_env[j]) {
        if let Some((k, _)) = wf.jobs[j]
            .node
            .as_map()
            .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some("environment")))
        {
            let msg = format!(
                "job `{}` relies on `environment:`, which Forgejo ignores: it protects nothing",
                wf.jobs[j].id
            );
            an.push(
                k.span.start.line,
                k.span.start.col,
                msg,
                Some("the gates in the job are the protection; remove `environment:`"),
            );
        }
    }
    if !an.apply_steps.is_empty() || !an.gate_steps.is_empty() {
        dispatch_input_names(an, wf);
    }
}

fn soft_gate(an: &mut Analysis<'_>, step: &Step<'_>) {
    if let Some(c) = step.continue_on_error
        && may_be_on(Some(c), &Path::start())
    {
        let msg =
            "a gate step has `continue-on-error`, so its `no` does not stop the apply".to_string();
        an.push(c.span.start.line, c.span.start.col, msg, None);
    }
    if let Some(i) = step.if_
        && !i.is_null()
        && cond::condition(i.as_str(), Status::OK, &()) != Some(true)
    {
        let msg = "a gate step has an `if:` that can skip it; when it is skipped, nothing stops the apply".to_string();
        an.push(i.span.start.line, i.span.start.col, msg, None);
    }
}

fn pasted_inputs(out: &mut Sink<'_>, wf: &Workflow<'_>, job: usize, step: usize) {
    let Some(run) = wf.jobs[job].steps[step].run else {
        return;
    };
    for site in wf.step_sites(job, step).filter(|s| s.is_run()) {
        for (_, refs) in site.parsed_refs() {
            for r in refs {
                let d = r.dotted();
                let is_input = r.root == "inputs"
                    || (crate::lint::untrusted::github_alias(&r.root)
                        && d.split_once('.')
                            .is_some_and(|(_, rest)| rest.starts_with("event.inputs")));
                if is_input {
                    out.expr(&CODE, run, r.span, format!("`{d}` is pasted into a gate or apply script"))
                        .note("let the gate read the event payload (`--from-event`), or pass the value through `env:`");
                }
            }
        }
    }
}

fn dispatch_input_names(an: &mut Analysis<'_>, wf: &Workflow<'_>) {
    let norm = |s: &str| s.to_ascii_lowercase().replace(['-', '_'], "");
    for input in &wf.dispatch_inputs {
        let (line, col) = (input.key.span.start.line, input.key.span.start.col);
        if let Some(expected) = GATE_INPUTS.iter().find(|g| norm(g) == norm(input.name))
            && input.name != *expected
        {
            an.push(line, col, format!("dispatch input `{}` must be named `{expected}`: that is the name the gates read", input.name), None);
        }
        match input.name {
            "allow_stateful" if input.kind != Some("boolean") => {
                an.push(
                    line,
                    col,
                    "dispatch input `allow_stateful` must have `type: boolean`".into(),
                    None,
                );
            }
            "backup_ref" | "stateful_confirm" => {
                if let Some((k, _)) = input
                    .node
                    .as_map()
                    .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some("default")))
                {
                    an.push(k.span.start.line, k.span.start.col, format!("dispatch input `{}` must have no `default`: a default confirms nothing", input.name), None);
                }
            }
            _ => {}
        }
    }
}
