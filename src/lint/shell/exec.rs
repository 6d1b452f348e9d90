//! An abstract interpreter for parsed scripts: it follows every path a script can take, with
//! the shell's own rules for `set -e` (and where `-e` is ignored: conditions, `!`, all but
//! the last of an `&&`/`||` list, background jobs), `pipefail`, `$?`/`PIPESTATUS`, `exit`,
//! subshells, functions and wrappers (`sudo`, `env`, `nice`, `timeout`, `xargs`, `exec`,
//! `bash -c`/`sh -c`), and `command`/`builtin` as the builtin they name. What would make the
//! model wrong is refused: a function named like a builtin, a `trap` that can change the
//! status, `shopt`s it does not follow, `hash -p`, `enable`, the variables of
//! [`PROTECTED_VARS`] set, and any use of the runner's output, environment and PATH files
//! other than a write whose bytes it knows.
//!
//! What a command does is the [`Host`]'s business: the interpreter hands it every command it
//! does not know itself, with the arguments' values where they are literal, and the host
//! answers with the possible outcomes. Whatever the interpreter cannot follow (`eval`, a
//! command name computed at run time, a script read from a file or from stdin, too many
//! paths) is reported to the host with [`Host::refuse`].

use super::ast::*;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Most states kept at one point of a script; more is refused as too complex.
pub const MAX_STATES: usize = 128;
/// Deepest chain of function calls and nested `sh -c`.
const MAX_CALLS: usize = 8;
/// Most literal words a `for` loop is unrolled over.
const MAX_UNROLL: usize = 32;

/// A word's value as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Val {
    Lit(String),
    /// A number other than 0 (a failure's exit status).
    Nonzero,
    Unknown,
}

/// An exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum St {
    Num(i64),
    Nonzero,
    Any,
}

impl St {
    fn is_zero(self) -> Option<bool> {
        match self {
            St::Num(n) => Some(n == 0),
            St::Nonzero => Some(false),
            St::Any => None,
        }
    }

    fn val(self) -> Val {
        match self {
            St::Num(n) => Val::Lit(n.to_string()),
            St::Nonzero => Val::Nonzero,
            St::Any => Val::Unknown,
        }
    }

    fn of(v: &Val) -> St {
        match v {
            Val::Lit(s) => s
                .trim()
                .parse::<i64>()
                .map_or(St::Any, |n| St::Num(n & 255)),
            Val::Nonzero => St::Nonzero,
            Val::Unknown => St::Any,
        }
    }
}

/// The shell's state on one path, plus the host's own (`user`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct State<U> {
    pub errexit: bool,
    pub pipefail: bool,
    /// The script changed its working directory (`cd`, `pushd`, `popd`) on this path.
    pub moved: bool,
    pub status: St,
    pub vars: BTreeMap<String, Val>,
    pub user: U,
}

/// Most variables whose values a path keeps; past it, new ones are unknown (which is what a
/// missing variable means), so a long script cannot make each state large.
pub const MAX_VARS: usize = 64;

impl<U> State<U> {
    /// Give `name` a value; an unknown value is kept as a missing variable.
    pub fn set(&mut self, name: &str, v: Val) {
        if v == Val::Unknown {
            self.vars.remove(name);
        } else if self.vars.len() < MAX_VARS || self.vars.contains_key(name) {
            self.vars.insert(name.to_string(), v);
        } else {
            self.vars.remove(name);
        }
    }

    pub fn new(errexit: bool, pipefail: bool, vars: BTreeMap<String, Val>, user: U) -> Self {
        State {
            errexit,
            pipefail,
            moved: false,
            status: St::Num(0),
            vars,
            user,
        }
    }
}

/// How a path left a piece of script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Flow {
    Next,
    Exit,
    Break,
    Continue,
    Return,
}

/// How a program is started, beside its arguments.
#[derive(Debug, Clone, Default)]
pub struct How {
    /// It runs in the background (`&`): nothing waits for it.
    pub background: bool,
    /// The script changed its working directory before it.
    pub moved: bool,
    /// Text handed to it other than its arguments: its heredoc bodies and here-strings, and
    /// the values assigned before it (`TOOL=x prog`), as far as they are literal.
    pub text: Vec<String>,
}

pub trait Host {
    type User: Clone + Ord + std::fmt::Debug;
    /// A command the interpreter does not model itself; `argv[0]` is literal. Returns the
    /// possible outcomes.
    fn run(
        &mut self,
        user: &Self::User,
        argv: &[Val],
        span: Span,
        how: &How,
    ) -> Vec<(Self::User, St)>;
    /// A line written to the step's output file (`None`: something not known) by the
    /// command at `span`.
    fn output(&mut self, user: &mut Self::User, kv: Option<(String, String)>, span: Span);
    /// Something the interpreter cannot follow.
    fn refuse(&mut self, span: Span, why: String);
    /// Called before each command; `false` when the host's work budget is spent (the
    /// command is then not followed, and the host is expected to have refused).
    fn tick(&mut self, span: Span) -> bool;
}

type Outs<U> = Vec<(State<U>, Flow)>;
/// Expanded words on one path: the state, the values, the last substitution's status.
type Expanded<U> = Vec<(State<U>, Vec<Val>, Option<St>)>;
/// A word being expanded: state, text so far (`None` once unknown), whether the word is a
/// lone non-zero status, the last substitution's status.
type Partial<U> = Vec<(State<U>, Option<String>, bool, Option<St>)>;
/// One expanded word per path.
type ExpandedWord<U> = Vec<(State<U>, Val, Option<St>)>;

pub struct Exec<'h, H: Host> {
    host: &'h mut H,
    funcs: BTreeMap<String, Rc<Command>>,
    calls: usize,
    background: usize,
    heredocs: Vec<Word>,
    refused_paths: bool,
    /// The host's work budget is spent: stop following the script.
    spent: bool,
    /// `echo` interprets backslash escapes (dash, the `sh` of the runners).
    echo_escapes: bool,
    /// The arguments of the function calls being followed (`"$@"`), innermost last; `None`
    /// once they are not known (`shift` by an unknown count, `set --`).
    positional: Vec<Option<Vec<Val>>>,
    /// Text handed to the command being run (see [`How::text`]).
    handed: Vec<String>,
}

/// Variables whose value decides which program a command name runs, what a shell runs
/// before a script, how words are split, or which files the runner and the gates read and
/// write: a deploy workflow may not set them.
pub const PROTECTED_VARS: &[&str] = &[
    "PATH",
    "BASH_ENV",
    "ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "IFS",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "GITHUB_EVENT_PATH",
    "FORGEJO_EVENT_PATH",
];

/// Whether a script or an `env:` may not set `name` (see [`PROTECTED_VARS`], the runner's
/// files of [`RUNNER_FILE_VARS`]; exported functions, `BASH_FUNC_<name>%%`, too).
pub fn protected_var(name: &str) -> bool {
    PROTECTED_VARS.contains(&name)
        || RUNNER_FILE_VARS.contains(&name)
        || name.starts_with("BASH_FUNC_")
}

/// The variables that hold the paths of the runner's files (outputs, environment, PATH).
pub const RUNNER_FILE_VARS: &[&str] = &[
    "GITHUB_OUTPUT",
    "FORGEJO_OUTPUT",
    "GITHUB_ENV",
    "FORGEJO_ENV",
    "GITHUB_PATH",
    "FORGEJO_PATH",
];

/// The step's output file: only modelled writes (`echo`/`printf` with `>>`) may name it.
const OUTPUT_FILE: &[&str] = &["GITHUB_OUTPUT", "FORGEJO_OUTPUT"];
/// The file of variables for the next steps.
const ENV_FILE: &[&str] = &["GITHUB_ENV", "FORGEJO_ENV"];
/// The file of folders put before PATH for the next steps.
const PATH_FILE: &[&str] = &["GITHUB_PATH", "FORGEJO_PATH"];

/// Names a function may not take: the builtins and keywords of the shell, the commands this
/// interpreter or the rule interprets (wrappers, shells, data commands), and the hook bash
/// runs for a command it does not find. A function of such a name changes what the command
/// does while the model keeps reading it as the command.
const RESERVED_FUNCTION_NAMES: &[&str] = &[
    ".",
    ":",
    "[",
    "alias",
    "bg",
    "bind",
    "break",
    "builtin",
    "caller",
    "cd",
    "command",
    "compgen",
    "complete",
    "compopt",
    "continue",
    "declare",
    "dirs",
    "disown",
    "echo",
    "enable",
    "eval",
    "exec",
    "exit",
    "export",
    "false",
    "fc",
    "fg",
    "getopts",
    "hash",
    "help",
    "history",
    "jobs",
    "kill",
    "let",
    "local",
    "logout",
    "mapfile",
    "popd",
    "printf",
    "pushd",
    "pwd",
    "read",
    "readarray",
    "readonly",
    "return",
    "set",
    "shift",
    "shopt",
    "source",
    "suspend",
    "test",
    "times",
    "trap",
    "true",
    "type",
    "typeset",
    "ulimit",
    "umask",
    "unalias",
    "unset",
    "wait",
    "command_not_found_handle",
    "sudo",
    "doas",
    "env",
    "nice",
    "timeout",
    "xargs",
    "stdbuf",
    "ionice",
    "nohup",
    "setsid",
    "time",
    "bash",
    "sh",
    "dash",
    "zsh",
    "ksh",
    "ash",
    "cat",
    "tee",
    "grep",
    "ls",
    "which",
];

/// Signals whose trap cannot hide a failure: the action runs when the script ends or is
/// interrupted, and leaves the exit status alone unless it exits itself.
const HARMLESS_TRAP_SIGNALS: &[&str] = &[
    "EXIT", "SIGEXIT", "0", "INT", "SIGINT", "2", "TERM", "SIGTERM", "15", "HUP", "SIGHUP", "1",
];
/// Commands a harmless trap action may run.
const HARMLESS_TRAP_COMMANDS: &[&str] = &["echo", "printf", "rm", "true", ":", "cat", "ls"];
/// `shopt` options that change only which file names a pattern matches, or make `set -e`
/// stricter.
const HARMLESS_SHOPT: &[&str] = &[
    "nullglob",
    "dotglob",
    "globstar",
    "failglob",
    "nocaseglob",
    "inherit_errexit",
];

/// The special file a word names through its variable, if any.
fn file_var(w: &Word) -> Option<&'static str> {
    w.parts.iter().find_map(|p| match p {
        Part::Var(n) => OUTPUT_FILE
            .iter()
            .chain(ENV_FILE)
            .chain(PATH_FILE)
            .find(|v| **v == n.as_str())
            .copied(),
        _ => None,
    })
}

/// The literal text of a word's parts (expansions left out).
fn lit_text(w: &Word) -> String {
    w.parts
        .iter()
        .filter_map(|p| match p {
            Part::Lit(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// What a command writes to a file, as far as the rule can know its bytes.
enum Written {
    Text(String),
    /// The bytes depend on values known only at run time.
    Unknown,
    /// The command's own way of writing is not modelled (why).
    Unmodelled(String),
}

/// Run `script` from `start`; returns every end state with how it ended (`Next` or `Exit`).
/// `echo_escapes`: the shell's `echo` interprets backslash escapes (dash, for `shell: sh`).
pub fn run<H: Host>(
    host: &mut H,
    script: &Script,
    start: State<H::User>,
    echo_escapes: bool,
) -> Outs<H::User> {
    let mut ex = Exec {
        host,
        funcs: BTreeMap::new(),
        calls: 0,
        background: 0,
        heredocs: script.heredocs.clone(),
        refused_paths: false,
        spent: false,
        echo_escapes,
        positional: Vec::new(),
        handed: Vec::new(),
    };
    ex.collect_funcs(&script.body);
    ex.list(&script.body, start, false)
}

fn dedup<U: Ord>(v: &mut Outs<U>) {
    v.sort();
    v.dedup();
}

fn literal_of(w: &Word) -> Option<String> {
    w.literal()
}

impl<H: Host> Exec<'_, H> {
    fn collect_funcs(&mut self, l: &List) {
        for item in &l.items {
            for p in std::iter::once(&item.first).chain(item.rest.iter().map(|(_, p)| p)) {
                for c in &p.cmds {
                    self.collect_cmd(c);
                }
            }
        }
    }

    fn collect_cmd(&mut self, c: &Command) {
        match &c.kind {
            CommandKind::Function { name, body } => {
                if RESERVED_FUNCTION_NAMES.contains(&name.as_str()) {
                    self.host.refuse(
                        c.span,
                        format!("a function named `{name}` replaces the command of that name"),
                    );
                }
                self.funcs.insert(name.clone(), Rc::new((**body).clone()));
                self.collect_cmd(body);
            }
            CommandKind::Brace(l) | CommandKind::Subshell(l) => self.collect_funcs(l),
            CommandKind::If {
                branches,
                otherwise,
            } => {
                for (c, b) in branches {
                    self.collect_funcs(c);
                    self.collect_funcs(b);
                }
                if let Some(o) = otherwise {
                    self.collect_funcs(o);
                }
            }
            CommandKind::Loop { cond, body, .. } => {
                self.collect_funcs(cond);
                self.collect_funcs(body);
            }
            CommandKind::For { body, .. } => self.collect_funcs(body),
            CommandKind::Case { arms, .. } => {
                for (_, b) in arms {
                    self.collect_funcs(b);
                }
            }
            _ => {}
        }
    }

    fn cap(&mut self, v: &mut Outs<H::User>, span: Span) {
        dedup(v);
        if v.len() > MAX_STATES {
            v.truncate(MAX_STATES);
            // Refused: following the rest would only cost time.
            self.spent = true;
            if !self.refused_paths {
                self.refused_paths = true;
                self.host.refuse(
                    span,
                    format!("the script has more than {MAX_STATES} paths to follow"),
                );
            }
        }
    }

    pub fn list(&mut self, l: &List, st: State<H::User>, exempt: bool) -> Outs<H::User> {
        let mut states: Outs<H::User> = vec![(st, Flow::Next)];
        for item in &l.items {
            if self.spent {
                break;
            }
            let mut next = Vec::new();
            for (s, f) in states {
                if f != Flow::Next {
                    next.push((s, f));
                    continue;
                }
                next.extend(self.and_or(item, s, exempt));
            }
            let span = item.first.cmds.first().map(|c| c.span).unwrap_or_default();
            self.cap(&mut next, span);
            states = next;
        }
        states
    }

    fn and_or(&mut self, item: &AndOr, st: State<H::User>, exempt: bool) -> Outs<H::User> {
        if item.background {
            // The job runs beside the script: its status is not waited for, and nothing it
            // changes in the shell is seen; only what the host records survives.
            let saved = st.clone();
            self.background += 1;
            let fg = AndOr {
                background: false,
                ..item.clone()
            };
            let outs = self.and_or(&fg, st, true);
            self.background -= 1;
            let mut r: Outs<H::User> = outs
                .into_iter()
                .map(|(s, _)| {
                    let mut k = saved.clone();
                    k.user = s.user;
                    k.status = St::Num(0);
                    (k, Flow::Next)
                })
                .collect();
            dedup(&mut r);
            return r;
        }
        let n = item.rest.len();
        let mut outs = self.pipeline(&item.first, st, exempt || n > 0);
        for (i, (and, p)) in item.rest.iter().enumerate() {
            let last_exempt = exempt || i + 1 < n;
            let mut next = Vec::new();
            for (s, f) in outs {
                if f != Flow::Next {
                    next.push((s, f));
                    continue;
                }
                match s.status.is_zero() {
                    Some(z) if z == *and => next.extend(self.pipeline(p, s, last_exempt)),
                    Some(_) => next.push((s, f)),
                    None => {
                        let mut ok = s.clone();
                        ok.status = St::Num(0);
                        let mut bad = s;
                        bad.status = St::Nonzero;
                        let (run, skip) = if *and { (ok, bad) } else { (bad, ok) };
                        next.push((skip, Flow::Next));
                        next.extend(self.pipeline(p, run, last_exempt));
                    }
                }
            }
            let span = p.cmds.first().map(|c| c.span).unwrap_or_default();
            self.cap(&mut next, span);
            outs = next;
        }
        outs
    }

    fn pipeline(&mut self, p: &Pipeline, st: State<H::User>, exempt: bool) -> Outs<H::User> {
        let exempt_inner = exempt || p.bang;
        let mut outs: Outs<H::User>;
        let checked;
        if p.cmds.len() == 1 {
            let c = &p.cmds[0];
            checked = matches!(
                c.kind,
                CommandKind::Simple { .. }
                    | CommandKind::Subshell(_)
                    | CommandKind::Arith(_)
                    | CommandKind::Test(_)
            );
            outs = self.command(c, st, exempt_inner);
            for (s, f) in &mut outs {
                if *f == Flow::Next {
                    s.set("PIPESTATUS[0]", s.status.val());
                }
            }
        } else {
            checked = true;
            // Every part runs in a subshell; the shell keeps only the statuses.
            let saved_vars = st.vars.clone();
            let (errexit, pipefail) = (st.errexit, st.pipefail);
            let mut parts: Vec<(State<H::User>, Vec<St>)> = vec![(st, Vec::new())];
            for c in &p.cmds {
                let mut next = Vec::new();
                for (s, sts) in parts {
                    let base = s.clone();
                    for (o, _) in self.command(c, s, exempt_inner) {
                        let mut k = base.clone();
                        k.user = o.user;
                        let mut sts = sts.clone();
                        sts.push(o.status);
                        next.push((k, sts));
                    }
                }
                next.sort();
                next.dedup();
                if next.len() > MAX_STATES {
                    next.truncate(MAX_STATES);
                }
                parts = next;
            }
            outs = Vec::new();
            for (mut s, sts) in parts {
                s.vars = saved_vars.clone();
                s.errexit = errexit;
                s.pipefail = pipefail;
                let last = sts.last().copied().unwrap_or(St::Num(0));
                s.status = if pipefail {
                    let mut r = St::Num(0);
                    for x in &sts {
                        r = match (r, *x) {
                            (_, St::Num(n)) if n != 0 => St::Num(n),
                            (_, St::Nonzero) => St::Nonzero,
                            (St::Num(0), St::Any) => St::Any,
                            (r, _) => r,
                        };
                    }
                    r
                } else {
                    last
                };
                for (i, x) in sts.iter().enumerate() {
                    s.set(&format!("PIPESTATUS[{i}]"), x.val());
                }
                outs.push((s, Flow::Next));
            }
        }
        let mut r = Vec::new();
        for (mut s, f) in outs {
            if f != Flow::Next {
                r.push((s, f));
                continue;
            }
            if p.bang {
                s.status = match s.status.is_zero() {
                    Some(true) => St::Num(1),
                    Some(false) => St::Num(0),
                    None => St::Any,
                };
            }
            if exempt_inner || !checked || !s.errexit {
                r.push((s, f));
                continue;
            }
            match s.status.is_zero() {
                Some(true) => r.push((s, f)),
                Some(false) => r.push((s, Flow::Exit)),
                None => {
                    let mut ok = s.clone();
                    ok.status = St::Num(0);
                    r.push((ok, Flow::Next));
                    s.status = St::Nonzero;
                    r.push((s, Flow::Exit));
                }
            }
        }
        r
    }

    /// Expand words, running their substitutions; one result per path.
    fn expand(&mut self, words: &[&Word], st: State<H::User>) -> Expanded<H::User> {
        self.expand_from(words, st, 0)
    }

    /// [`Self::expand`], where `"$@"` makes several values only from the word `splat_from`
    /// on (before it: assignments, one value each).
    fn expand_from(
        &mut self,
        words: &[&Word],
        st: State<H::User>,
        splat_from: usize,
    ) -> Expanded<H::User> {
        let mut acc = vec![(st, Vec::new(), None)];
        for (k, w) in words.iter().enumerate() {
            // `"$@"` in a function: its arguments, one word each (when none of them would be
            // split or matched as a pattern, so that `$@` unquoted means the same).
            if k >= splat_from
                && let [Part::Var(n)] = w.parts.as_slice()
                && n == "@"
                && let Some(Some(args)) = self.positional.last()
                && args.iter().all(
                    |a| matches!(a, Val::Lit(t) if !t.contains([' ', '\t', '\n', '*', '?', '['])),
                )
            {
                for (_, vals, _) in &mut acc {
                    vals.extend(args.iter().cloned());
                }
                continue;
            }
            let mut next = Vec::new();
            for (s, vals, last) in acc {
                for (s2, v, l) in self.expand_word(w, s) {
                    let mut vals = vals.clone();
                    vals.push(v);
                    next.push((s2, vals, l.or(last)));
                }
            }
            next.sort();
            next.dedup();
            next.truncate(MAX_STATES);
            acc = next;
        }
        acc
    }

    fn subst(&mut self, l: &List, st: &State<H::User>) -> Vec<(H::User, St)> {
        // A command substitution does not inherit `set -e` in bash.
        let mut inner = st.clone();
        inner.errexit = false;
        self.list(l, inner, false)
            .into_iter()
            .map(|(s, _)| (s.user, s.status))
            .collect()
    }

    fn expand_word(&mut self, w: &Word, st: State<H::User>) -> ExpandedWord<H::User> {
        let mut acc: Partial<H::User> = vec![(st, Some(String::new()), false, None)];
        for part in &w.parts {
            let mut next = Vec::new();
            for (s, text, nonzero, last) in acc {
                match part {
                    Part::Lit(t) => {
                        next.push((s, text.map(|x| x + t), nonzero, last));
                    }
                    Part::Var(name) => {
                        let v = if name == "?" {
                            s.status.val()
                        } else {
                            s.vars.get(name).cloned().unwrap_or(Val::Unknown)
                        };
                        match v {
                            Val::Lit(t) => next.push((s, text.map(|x| x + &t), nonzero, last)),
                            Val::Nonzero => {
                                let only = w.parts.len() == 1;
                                next.push((s, None, only, last));
                            }
                            Val::Unknown => next.push((s, None, false, last)),
                        }
                    }
                    Part::Subst(l) | Part::ProcSubst(l) => {
                        for (u, status) in self.subst(l, &s) {
                            let mut k = s.clone();
                            k.user = u;
                            next.push((k, None, false, Some(status)));
                        }
                    }
                    Part::Dynamic(ls) => {
                        let mut cur = vec![(s, last)];
                        for l in ls {
                            let mut n2 = Vec::new();
                            for (s, _) in cur {
                                for (u, status) in self.subst(l, &s) {
                                    let mut k = s.clone();
                                    k.user = u;
                                    n2.push((k, Some(status)));
                                }
                            }
                            cur = n2;
                        }
                        for (s, l) in cur {
                            next.push((s, None, false, l));
                        }
                    }
                }
            }
            next.sort();
            next.dedup();
            next.truncate(MAX_STATES);
            acc = next;
        }
        acc.into_iter()
            .map(|(s, t, nz, l)| {
                let v = match (t, nz) {
                    (Some(t), _) => Val::Lit(t),
                    (None, true) => Val::Nonzero,
                    (None, false) => Val::Unknown,
                };
                (s, v, l)
            })
            .collect()
    }

    fn redirect_words(&self, c: &Command) -> Vec<Word> {
        let mut ws: Vec<Word> = c.redirects.iter().map(|r| r.target.clone()).collect();
        for r in &c.redirects {
            if let Some(h) = r.heredoc.and_then(|i| self.heredocs.get(i)) {
                ws.push(h.clone());
            }
        }
        ws
    }

    fn command(&mut self, c: &Command, mut st: State<H::User>, exempt: bool) -> Outs<H::User> {
        if self.spent || !self.host.tick(c.span) {
            self.spent = true;
            st.status = St::Any;
            return vec![(st, Flow::Next)];
        }
        // Redirection targets and heredoc bodies are expanded first (their substitutions run).
        let rws: Vec<Word> = self.redirect_words(c);
        let mut pre = Vec::new();
        if rws.is_empty() {
            pre.push(st);
        } else {
            let refs: Vec<&Word> = rws.iter().collect();
            for (s, _, _) in self.expand(&refs, st) {
                pre.push(s);
            }
        }
        if !matches!(c.kind, CommandKind::Simple { .. }) {
            for r in &c.redirects {
                if let Some(var) = file_var(&r.target) {
                    self.host.refuse(
                        c.span,
                        format!("`${var}` is written by a compound command (`{{ ...; }}`, a loop, a subshell): only a plain `echo`/`printf ... >> \"${var}\"` is followed"),
                    );
                }
            }
        }
        let mut out = Vec::new();
        for mut st in pre {
            if !matches!(c.kind, CommandKind::Simple { .. })
                && c.redirects.iter().any(writes_unknown_file)
            {
                self.host.output(&mut st.user, None, c.span);
            }
            out.extend(self.command_body(c, st, exempt));
        }
        out
    }

    fn command_body(&mut self, c: &Command, st: State<H::User>, exempt: bool) -> Outs<H::User> {
        match &c.kind {
            CommandKind::Simple { assigns, words } => self.simple(c, assigns, words, st, exempt),
            CommandKind::Brace(l) => self.list(l, st, exempt),
            CommandKind::Subshell(l) => {
                let saved = st.clone();
                self.list(l, st, exempt)
                    .into_iter()
                    .map(|(s, _)| {
                        let mut k = saved.clone();
                        k.user = s.user;
                        k.status = s.status;
                        (k, Flow::Next)
                    })
                    .collect()
            }
            CommandKind::If {
                branches,
                otherwise,
            } => {
                let mut pending = vec![st];
                let mut out = Vec::new();
                for (cond, body) in branches {
                    let mut no = Vec::new();
                    for s in pending {
                        for (s, f) in self.list(cond, s, true) {
                            if f != Flow::Next {
                                out.push((s, f));
                                continue;
                            }
                            match s.status.is_zero() {
                                Some(true) => out.extend(self.list(body, s, exempt)),
                                Some(false) => no.push(s),
                                None => {
                                    out.extend(self.list(body, s.clone(), exempt));
                                    no.push(s);
                                }
                            }
                        }
                    }
                    pending = no;
                }
                for mut s in pending {
                    match otherwise {
                        Some(e) => out.extend(self.list(e, s, exempt)),
                        None => {
                            s.status = St::Num(0);
                            out.push((s, Flow::Next));
                        }
                    }
                }
                self.cap(&mut out, c.span);
                out
            }
            CommandKind::Loop { until, cond, body } => {
                let mut out = Vec::new();
                for (s, f) in self.list(cond, st, true) {
                    if f != Flow::Next {
                        out.push((s, f));
                        continue;
                    }
                    let enter = s.status.is_zero().map(|z| z != *until);
                    if enter != Some(true) {
                        let mut k = s.clone();
                        k.status = St::Num(0);
                        out.push((k, Flow::Next));
                    }
                    if enter != Some(false) {
                        out.extend(self.loop_iteration(body, s, exempt));
                    }
                }
                self.cap(&mut out, c.span);
                out
            }
            CommandKind::For { var, words, body } => {
                if protected_var(var) {
                    self.host.refuse(c.span, format!("the loop sets `{var}`"));
                }
                let mut out = Vec::new();
                let values: Option<Vec<String>> = words
                    .as_ref()
                    .and_then(|ws| ws.iter().map(literal_of).collect::<Option<Vec<_>>>())
                    .filter(|v| v.len() <= MAX_UNROLL);
                match values {
                    Some(values) => {
                        let mut cur = vec![(st, Flow::Next)];
                        for v in values {
                            let mut next = Vec::new();
                            for (mut s, f) in cur {
                                if f != Flow::Next {
                                    next.push((s, f));
                                    continue;
                                }
                                s.set(var, Val::Lit(v.clone()));
                                next.extend(self.loop_iteration(body, s, exempt));
                            }
                            self.cap(&mut next, c.span);
                            cur = next;
                        }
                        out.extend(cur);
                    }
                    None => {
                        let ws: Vec<&Word> = words.iter().flatten().collect();
                        for (mut s, _, _) in self.expand(&ws, st) {
                            let mut zero = s.clone();
                            zero.status = St::Num(0);
                            out.push((zero, Flow::Next));
                            s.set(var, Val::Unknown);
                            out.extend(self.loop_iteration(body, s, exempt));
                        }
                    }
                }
                self.cap(&mut out, c.span);
                out
            }
            CommandKind::Case { word, arms } => {
                let mut out = Vec::new();
                for (s, v, _) in self.expand_word(word, st) {
                    let mut pending = vec![s];
                    for (pats, body) in arms {
                        let mut no = Vec::new();
                        for s in pending {
                            let mut m = Some(false);
                            for p in pats {
                                let r = match (&v, p.literal()) {
                                    (Val::Lit(t), Some(pat)) => Some(glob(&pat, t)),
                                    (Val::Nonzero, Some(pat)) if pat == "0" => Some(false),
                                    (Val::Nonzero, Some(pat))
                                        if pat.bytes().all(|b| b.is_ascii_digit()) =>
                                    {
                                        None
                                    }
                                    (_, Some(pat)) if pat == "*" => Some(true),
                                    _ => None,
                                };
                                m = match (m, r) {
                                    (Some(true), _) | (_, Some(true)) => Some(true),
                                    (Some(false), Some(false)) => Some(false),
                                    _ => None,
                                };
                            }
                            match m {
                                Some(true) => out.extend(self.list(body, s, exempt)),
                                Some(false) => no.push(s),
                                None => {
                                    out.extend(self.list(body, s.clone(), exempt));
                                    no.push(s);
                                }
                            }
                        }
                        pending = no;
                    }
                    for mut s in pending {
                        s.status = St::Num(0);
                        out.push((s, Flow::Next));
                    }
                }
                self.cap(&mut out, c.span);
                out
            }
            CommandKind::Function { .. } => {
                let mut s = st;
                s.status = St::Num(0);
                vec![(s, Flow::Next)]
            }
            CommandKind::Arith(w) => self
                .expand_word(w, st)
                .into_iter()
                .map(|(mut s, _, _)| {
                    s.status = St::Any;
                    (s, Flow::Next)
                })
                .collect(),
            CommandKind::Test(ws) => {
                let refs: Vec<&Word> = ws.iter().collect();
                self.expand(&refs, st)
                    .into_iter()
                    .map(|(mut s, vals, _)| {
                        s.status = test(&vals);
                        (s, Flow::Next)
                    })
                    .collect()
            }
        }
    }

    fn loop_iteration(&mut self, body: &List, st: State<H::User>, exempt: bool) -> Outs<H::User> {
        self.list(body, st, exempt)
            .into_iter()
            .map(|(s, f)| match f {
                Flow::Break | Flow::Continue => (s, Flow::Next),
                f => (s, f),
            })
            .collect()
    }

    fn simple(
        &mut self,
        c: &Command,
        assigns: &[(String, Word)],
        words: &[Word],
        st: State<H::User>,
        exempt: bool,
    ) -> Outs<H::User> {
        self.check_words(c, assigns, words);
        let mut out = Vec::new();
        let mut refs: Vec<&Word> = assigns.iter().map(|(_, w)| w).collect();
        refs.extend(words.iter());
        // Text handed to the command besides its arguments.
        let mut handed: Vec<String> = assigns.iter().map(|(_, w)| lit_text(w)).collect();
        for r in &c.redirects {
            if r.op.ends_with("<<<") {
                handed.push(lit_text(&r.target));
            }
            if let Some(h) = r.heredoc.and_then(|i| self.heredocs.get(i)) {
                handed.push(lit_text(h));
            }
        }
        for (mut s, vals, last) in self.expand_from(&refs, st, assigns.len()) {
            let (avals, argv) = vals.split_at(assigns.len());
            if argv.is_empty() {
                for ((name, _), v) in assigns.iter().zip(avals) {
                    s.set(name, v.clone());
                }
                s.status = last.unwrap_or(St::Num(0));
                out.push((s, Flow::Next));
                continue;
            }
            self.file_writes(c, argv, &mut s);
            self.log_commands(c, argv, &mut s);
            let saved = std::mem::replace(&mut self.handed, handed.clone());
            out.extend(self.invoke(argv, c.span, s, exempt));
            self.handed = saved;
        }
        out
    }

    /// What a simple command's words say before they are expanded: assignments to the
    /// protected variables, a command name that is a pattern, the special files named
    /// other than as a redirection's target, variables set by the declaring builtins.
    fn check_words(&mut self, c: &Command, assigns: &[(String, Word)], words: &[Word]) {
        for (name, w) in assigns {
            if protected_var(name) {
                self.host.refuse(
                    c.span,
                    format!(
                        "`{name}` is assigned: it changes which programs run or what they read"
                    ),
                );
            }
            if let Some(var) = file_var(w) {
                self.host.refuse(
                    c.span,
                    format!(
                        "`${var}` is copied into `{name}`: writes through the copy are not followed"
                    ),
                );
            }
        }
        if words.first().is_some_and(|w| w.glob) {
            self.host.refuse(
                c.span,
                "the command name is a pattern (unquoted `*`, `?` or `[...]`): the program it runs is known only at run time".into(),
            );
        }
        for w in words {
            if let Some(var) = file_var(w) {
                self.host.refuse(
                    c.span,
                    format!("`${var}` is handed to a command: only a plain `echo`/`printf ... >> \"${var}\"` is followed"),
                );
            }
        }
        for r in &c.redirects {
            if r.heredoc.is_some() || r.op.ends_with("<<<") {
                let body = r.heredoc.and_then(|i| self.heredocs.get(i)).cloned();
                if let Some(var) = file_var(&r.target).or_else(|| body.as_ref().and_then(file_var))
                {
                    self.host.refuse(
                        c.span,
                        format!("`${var}` is handed to a command as text: only a plain `echo`/`printf ... >> \"${var}\"` is followed"),
                    );
                }
            }
        }
        // The builtins that set variables by name (after `command`/`builtin`).
        let mut k = 0;
        while words
            .get(k)
            .and_then(Word::literal)
            .is_some_and(|n| n == "command" || n == "builtin")
        {
            k += 1;
        }
        let Some(name) = words.get(k).and_then(Word::literal) else {
            return;
        };
        if !matches!(
            name.as_str(),
            "export"
                | "declare"
                | "typeset"
                | "local"
                | "readonly"
                | "read"
                | "mapfile"
                | "readarray"
                | "getopts"
                | "printf"
                | "let"
        ) {
            return;
        }
        // `printf` sets a variable only with `-v NAME`.
        let operands: Vec<&Word> = if name == "printf" {
            match words.get(k + 1).and_then(Word::literal).as_deref() {
                Some("-v") => words.get(k + 2).into_iter().collect(),
                _ => Vec::new(),
            }
        } else {
            words[k + 1..].iter().collect()
        };
        for w in operands {
            let first = match w.parts.first() {
                Some(Part::Lit(t)) => t.clone(),
                _ if name == "read" => continue,
                _ => {
                    self.host.refuse(
                        c.span,
                        format!("`{name}` is given a variable name known only at run time"),
                    );
                    continue;
                }
            };
            if matches!(name.as_str(), "declare" | "typeset" | "local")
                && first.starts_with('-')
                && first.contains('n')
            {
                self.host.refuse(
                    c.span,
                    format!("`{name} -n` makes a name refer to another variable"),
                );
            }
            let var: String = first
                .chars()
                .take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '_' || *ch == '%')
                .collect();
            if protected_var(&var) {
                self.host.refuse(
                    c.span,
                    format!(
                        "`{name}` sets `{var}`: it changes which programs run or what they read"
                    ),
                );
            }
        }
    }

    /// The lines this command writes to the step's output file and to the files of the
    /// next steps' variables and PATH.
    fn file_writes(&mut self, c: &Command, argv: &[Val], s: &mut State<H::User>) {
        // `exec` without a command keeps its redirections open for the rest of the script:
        // a later `>&3` or plain output may go to a file named at run time, after the
        // script's own writes.
        if matches!(argv, [Val::Lit(n)] if n == "exec")
            && c.redirects.iter().any(writes_unknown_file)
        {
            self.host.refuse(
                c.span,
                "`exec` keeps a file named at run time open for the rest of the script: what is written through it is not followed".into(),
            );
        }
        for r in &c.redirects {
            let Some(var) = file_var(&r.target) else {
                // A file named through another value may be the output file under another
                // name: what this step wrote is no longer known.
                if writes_unknown_file(r) {
                    self.host.output(&mut s.user, None, c.span);
                }
                continue;
            };
            if r.heredoc.is_some() || r.op.ends_with("<<<") {
                // Refused in `check_words`.
                continue;
            }
            if PATH_FILE.contains(&var) {
                self.host.refuse(
                    c.span,
                    format!("`${var}` is written: it puts folders before PATH, so a gate's name can run another program"),
                );
                continue;
            }
            if r.op != ">>" {
                self.host.refuse(
                    c.span,
                    format!(
                        "`{}` to `${var}` is not a write this rule follows: use `>>`",
                        r.op
                    ),
                );
                continue;
            }
            let written = if self.background > 0 {
                Written::Unmodelled(
                    "a background job writes it, in an order with the script's later writes that is not known".into(),
                )
            } else {
                self.written(argv)
            };
            if ENV_FILE.contains(&var) {
                match written {
                    Written::Text(t) => {
                        for line in t.lines().filter(|l| !l.is_empty()) {
                            let key: String = line
                                .split(['=', '<'])
                                .next()
                                .unwrap_or("")
                                .trim()
                                .to_string();
                            if line.contains("<<") || protected_var(&key) {
                                self.host.refuse(
                                    c.span,
                                    format!("`${var}` is given `{key}`, which changes which programs the next steps run or what they read"),
                                );
                            }
                        }
                    }
                    Written::Unknown => self.host.refuse(
                        c.span,
                        format!("what is written to `${var}` is known only at run time, so it may set PATH or BASH_ENV for the next steps"),
                    ),
                    Written::Unmodelled(why) => self.host.refuse(
                        c.span,
                        format!("what is written to `${var}` is not known: {why}"),
                    ),
                }
                continue;
            }
            match written {
                Written::Text(t) => {
                    for line in t.lines().filter(|l| !l.is_empty()) {
                        let kv = line
                            .split_once('=')
                            .filter(|(k, _)| !k.contains("<<"))
                            .map(|(k, v)| (k.to_string(), v.to_string()));
                        let known = kv.is_some();
                        self.host.output(&mut s.user, kv, c.span);
                        if !known {
                            break;
                        }
                    }
                }
                Written::Unknown => self.host.output(&mut s.user, None, c.span),
                Written::Unmodelled(why) => self.host.refuse(
                    c.span,
                    format!("what is written to `${var}` is not known: {why}"),
                ),
            }
        }
    }

    /// Workflow commands an `echo`/`printf` prints to the step's log, which the runner
    /// honours always: `::set-output name=K::V` sets an output, `::set-env` and `::add-path`
    /// change the next steps' environment and PATH (refused). A line known only at run time
    /// may be any of them: the step's outputs become unknown.
    fn log_commands(&mut self, c: &Command, argv: &[Val], s: &mut State<H::User>) {
        if !matches!(&argv[0], Val::Lit(n) if n == "echo" || n == "printf") {
            return;
        }
        // Printed to a file, not to the log.
        let to_file = c.redirects.iter().any(|r| {
            let op = r.op.trim_start_matches('1');
            matches!(op, ">" | ">>" | ">|" | "&>" | "&>>")
                && r.target
                    .literal()
                    .is_none_or(|t| t != "/dev/stdout" && t != "/dev/stderr")
        });
        if to_file {
            return;
        }
        if let CommandKind::Simple { words, .. } = &c.kind
            && words.iter().any(|w| {
                let t = lit_text(w);
                t.contains("::set-env") || t.contains("::add-path")
            })
        {
            self.host.refuse(
                c.span,
                "`::set-env`/`::add-path` printed to the log changes the next steps' environment or PATH (the runner honours them)".into(),
            );
        }
        match self.written(argv) {
            Written::Text(t) => {
                for line in t.lines() {
                    let line = line.trim_start();
                    if let Some(rest) = line.strip_prefix("::set-output name=") {
                        let kv = rest
                            .split_once("::")
                            .map(|(k, v)| (k.to_string(), v.to_string()));
                        self.host.output(&mut s.user, kv, c.span);
                    } else if line.starts_with("::set-env") || line.starts_with("::add-path") {
                        self.host.refuse(
                            c.span,
                            "`::set-env`/`::add-path` printed to the log changes the next steps' environment or PATH (the runner honours them)".into(),
                        );
                    }
                }
            }
            Written::Unknown => self.host.output(&mut s.user, None, c.span),
            Written::Unmodelled(_) => {
                let text: Vec<&str> = argv[1..]
                    .iter()
                    .filter_map(|v| match v {
                        Val::Lit(t) => Some(t.as_str()),
                        _ => None,
                    })
                    .collect();
                if text.iter().any(|t| t.contains("::")) || text.len() + 1 < argv.len() {
                    self.host.output(&mut s.user, None, c.span);
                }
            }
        }
    }

    /// The bytes `echo` or `printf` writes, when this rule can know them.
    fn written(&self, argv: &[Val]) -> Written {
        let name = match &argv[0] {
            Val::Lit(n) => n.as_str(),
            _ => "",
        };
        let args = &argv[1..];
        let lits: Option<Vec<&str>> = args
            .iter()
            .map(|v| match v {
                Val::Lit(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        match name {
            "echo" => {
                if let Some(Val::Lit(a)) = args.first()
                    && a.starts_with('-')
                    && a.len() > 1
                {
                    return Written::Unmodelled(format!("`echo {a}` may take it as an option"));
                }
                let Some(lits) = lits else {
                    return Written::Unknown;
                };
                if self.echo_escapes && lits.iter().any(|t| t.contains('\\')) {
                    return Written::Unmodelled(
                        "the `echo` of `sh` turns backslash escapes into other bytes".into(),
                    );
                }
                Written::Text(format!("{}\n", lits.join(" ")))
            }
            "printf" => {
                let Some(Val::Lit(fmt)) = args.first() else {
                    return Written::Unmodelled(
                        "the `printf` format is known only at run time".into(),
                    );
                };
                if fmt == "%s\\n" {
                    return match lits {
                        Some(l) if l.len() > 1 => {
                            Written::Text(l[1..].iter().map(|t| format!("{t}\n")).collect())
                        }
                        Some(_) => Written::Text("\n".into()),
                        None => Written::Unknown,
                    };
                }
                if args.len() > 1 || fmt.contains('%') || fmt.starts_with('-') {
                    return Written::Unmodelled(format!(
                        "the `printf` format `{fmt}` is not one this rule models (a format without `%` and arguments, or `%s\\n`)"
                    ));
                }
                let text = fmt.replace("\\n", "\n");
                if text.contains('\\') {
                    return Written::Unmodelled(format!(
                        "the `printf` format `{fmt}` has escapes other than `\\n`"
                    ));
                }
                if !text.ends_with('\n') {
                    return Written::Unmodelled(format!(
                        "the `printf` format `{fmt}` does not end its line"
                    ));
                }
                Written::Text(text)
            }
            _ => Written::Unmodelled(format!("`{name}` writes bytes this rule does not model")),
        }
    }

    /// Run a command by its arguments' values.
    fn invoke(
        &mut self,
        argv: &[Val],
        span: Span,
        s: State<H::User>,
        exempt: bool,
    ) -> Outs<H::User> {
        self.invoke_as(argv, span, s, exempt, true)
    }

    /// Run a command; `funcs`: a function of that name is called (not after `command` or
    /// `builtin`, which go to the builtin or the program).
    fn invoke_as(
        &mut self,
        argv: &[Val],
        span: Span,
        mut s: State<H::User>,
        exempt: bool,
        funcs: bool,
    ) -> Outs<H::User> {
        let Val::Lit(name) = &argv[0] else {
            self.host.refuse(
                span,
                "the command name is only known at run time (a variable or a substitution)".into(),
            );
            s.status = St::Any;
            return vec![(s, Flow::Next)];
        };
        let args = &argv[1..];
        let lit = |i: usize| match args.get(i) {
            Some(Val::Lit(t)) => Some(t.as_str()),
            _ => None,
        };
        let base = name.rsplit('/').next().unwrap_or(name);
        match name.as_str() {
            "command" | "builtin" => {
                // The builtin (or, for `command`, the program) of that name, never a function.
                let mut i = 0;
                while let Some(o) = lit(i).filter(|o| o.starts_with('-') && *o != "-") {
                    if o == "--" {
                        i += 1;
                        break;
                    }
                    if name == "command" && (o.contains('v') || o.contains('V')) {
                        s.status = St::Any;
                        return vec![(s, Flow::Next)];
                    }
                    if name == "builtin" || !o[1..].chars().all(|c| c == 'p') {
                        self.host.refuse(
                            span,
                            format!("`{name} {o}` is not an option this rule follows"),
                        );
                        s.status = St::Any;
                        return vec![(s, Flow::Next)];
                    }
                    i += 1;
                }
                if i >= args.len() {
                    s.status = St::Num(0);
                    return vec![(s, Flow::Next)];
                }
                self.invoke_as(&args[i..], span, s, exempt, false)
            }
            "trap" => {
                let mut i = usize::from(lit(0) == Some("--"));
                if args.is_empty() || matches!(lit(0), Some("-p" | "-l" | "-P")) {
                    s.status = St::Num(0);
                    return vec![(s, Flow::Next)];
                }
                let action = args.get(i).cloned().unwrap_or(Val::Unknown);
                i += 1;
                let signals = &args[i.min(args.len())..];
                let reset = matches!(&action, Val::Lit(a) if a == "-") || signals.is_empty();
                let known_signals = signals.iter().all(|v| {
                    matches!(v, Val::Lit(t) if HARMLESS_TRAP_SIGNALS.contains(&t.to_ascii_uppercase().as_str()))
                });
                let harmless = matches!(&action, Val::Lit(a) if harmless_trap_action(a));
                if !(reset || known_signals && harmless) {
                    self.host.refuse(
                        span,
                        "`trap` sets an action this rule cannot prove harmless: it can change the exit status or run commands where the rule does not follow them (only `trap - SIG`, or plain `echo`/`printf`/`rm`/`cat`/`ls`/`true` on EXIT, INT, TERM or HUP)".into(),
                    );
                }
                s.status = St::Num(0);
                vec![(s, Flow::Next)]
            }
            "shopt" => {
                let (mut on, mut off, mut o) = (false, false, false);
                let mut names = Vec::new();
                for v in args {
                    match v {
                        Val::Lit(a) if a.starts_with('-') && a.len() > 1 => {
                            for ch in a[1..].chars() {
                                match ch {
                                    's' => on = true,
                                    'u' => off = true,
                                    'o' => o = true,
                                    'p' | 'q' => {}
                                    _ => {
                                        self.host.refuse(
                                            span,
                                            format!(
                                                "`shopt -{ch}` is not an option this rule follows"
                                            ),
                                        );
                                    }
                                }
                            }
                        }
                        Val::Lit(a) => names.push(a.clone()),
                        _ => {
                            self.host
                                .refuse(span, "`shopt` with options known only at run time".into());
                            s.status = St::Any;
                            return vec![(s, Flow::Next)];
                        }
                    }
                }
                if on || off {
                    for n in &names {
                        match (o, n.as_str()) {
                            (true, "errexit") => s.errexit = on,
                            (true, "pipefail") => s.pipefail = on,
                            (true, _) => {}
                            (false, n) if HARMLESS_SHOPT.contains(&n) => {}
                            (false, n) => self.host.refuse(
                                span,
                                format!("`shopt {} {n}` changes how the shell runs commands in a way this rule does not model", if on { "-s" } else { "-u" }),
                            ),
                        }
                    }
                }
                s.status = if on || off { St::Num(0) } else { St::Any };
                vec![(s, Flow::Next)]
            }
            "hash" => {
                let binds = args.iter().any(|v| match v {
                    Val::Lit(a) => a.starts_with('-') && a.contains('p'),
                    _ => true,
                });
                if binds {
                    self.host.refuse(
                        span,
                        "`hash -p` (or options known only at run time) binds a command name to another program".into(),
                    );
                }
                s.status = St::Any;
                vec![(s, Flow::Next)]
            }
            "shift" => {
                if let Some(top) = self.positional.last_mut() {
                    let n = match args.first() {
                        None => Some(1),
                        Some(Val::Lit(t)) => t.parse::<usize>().ok(),
                        Some(_) => None,
                    };
                    *top = match (top.take(), n) {
                        (Some(mut v), Some(n)) if n <= v.len() => {
                            v.drain(..n);
                            Some(v)
                        }
                        _ => None,
                    };
                }
                s.status = St::Any;
                vec![(s, Flow::Next)]
            }
            "alias"
                if args
                    .iter()
                    .any(|a| !matches!(a, Val::Lit(t) if !t.contains('='))) =>
            {
                self.host.refuse(
                    span,
                    "`alias` gives a command name another meaning (`sh` expands aliases in scripts)"
                        .into(),
                );
                s.status = St::Any;
                vec![(s, Flow::Next)]
            }
            "enable" => {
                self.host.refuse(
                    span,
                    "`enable` turns shell builtins off or loads new ones".into(),
                );
                s.status = St::Any;
                vec![(s, Flow::Next)]
            }
            "cd" | "pushd" | "popd" => {
                s.moved = true;
                s.status = St::Any;
                vec![(s, Flow::Next)]
            }
            "set" => {
                // `set -- ...` (or `set` with operands) replaces the function's arguments.
                if args
                    .iter()
                    .any(|a| !matches!(a, Val::Lit(t) if t.starts_with(['-', '+'])))
                    && let Some(top) = self.positional.last_mut()
                {
                    *top = None;
                }
                let mut i = 0;
                while i < args.len() {
                    let Val::Lit(a) = &args[i] else {
                        self.host
                            .refuse(span, "`set` with options known only at run time".into());
                        break;
                    };
                    let on = a.starts_with('-');
                    if a == "--" || (!on && !a.starts_with('+')) {
                        break;
                    }
                    let flags = &a[1..];
                    for (k, ch) in flags.char_indices() {
                        match ch {
                            'e' => s.errexit = on,
                            'k' if on => self.host.refuse(
                                span,
                                "`set -k` makes assignments anywhere in a command its environment (`gate PATH=...`)".into(),
                            ),
                            'o' => {
                                let opt = if k + 1 < flags.len() {
                                    None
                                } else {
                                    i += 1;
                                    lit(i)
                                };
                                match opt {
                                    Some("errexit") => s.errexit = on,
                                    Some("pipefail") => s.pipefail = on,
                                    Some("keyword") if on => self.host.refuse(
                                        span,
                                        "`set -o keyword` makes assignments anywhere in a command its environment (`gate PATH=...`)".into(),
                                    ),
                                    Some(_) => {}
                                    None if i < args.len() => self.host.refuse(
                                        span,
                                        "`set -o` with an option known only at run time".into(),
                                    ),
                                    None => {}
                                }
                            }
                            _ => {}
                        }
                    }
                    i += 1;
                }
                s.status = St::Num(0);
                vec![(s, Flow::Next)]
            }
            "exit" | "return" => {
                if let Some(v) = args.first() {
                    s.status = St::of(v);
                }
                let f = if name == "exit" {
                    Flow::Exit
                } else {
                    Flow::Return
                };
                vec![(s, f)]
            }
            "break" => vec![(s, Flow::Break)],
            "continue" => vec![(s, Flow::Continue)],
            "true" | ":" => {
                s.status = St::Num(0);
                vec![(s, Flow::Next)]
            }
            "false" => {
                s.status = St::Num(1);
                vec![(s, Flow::Next)]
            }
            "[" | "test" => {
                let mut a = args.to_vec();
                if name == "[" {
                    if a.last() != Some(&Val::Lit("]".into())) {
                        s.status = St::Num(2);
                        return vec![(s, Flow::Next)];
                    }
                    a.pop();
                }
                s.status = test(&a);
                vec![(s, Flow::Next)]
            }
            "eval" => {
                self.host
                    .refuse(span, "`eval` runs a script built at run time".into());
                s.status = St::Any;
                vec![(s, Flow::Next)]
            }
            "source" | "." => {
                self.host.refuse(
                    span,
                    format!("`{name}` runs a script file this rule does not read"),
                );
                s.status = St::Any;
                vec![(s, Flow::Next)]
            }
            "exec" => {
                if args.is_empty() {
                    s.status = St::Num(0);
                    return vec![(s, Flow::Next)];
                }
                let mut i = 0;
                while matches!(lit(i), Some(o) if o.starts_with('-')) {
                    i += if lit(i) == Some("-a") { 2 } else { 1 };
                }
                if i >= args.len() {
                    s.status = St::Num(0);
                    return vec![(s, Flow::Next)];
                }
                // The shell is replaced: the command's status is the script's.
                self.external(&args[i..], span, s)
                    .into_iter()
                    .map(|(s, _)| (s, Flow::Exit))
                    .collect()
            }
            _ if funcs && self.funcs.contains_key(name.as_str()) => {
                if self.calls >= MAX_CALLS {
                    self.host
                        .refuse(span, format!("function calls nest deeper than {MAX_CALLS}"));
                    s.status = St::Any;
                    return vec![(s, Flow::Next)];
                }
                let body = self.funcs[name.as_str()].clone();
                self.calls += 1;
                self.positional.push(Some(args.to_vec()));
                let outs = self.command(&body, s, exempt);
                self.positional.pop();
                self.calls -= 1;
                outs.into_iter()
                    .map(|(s, f)| match f {
                        Flow::Return | Flow::Break | Flow::Continue => (s, Flow::Next),
                        f => (s, f),
                    })
                    .collect()
            }
            _ => {
                let _ = base;
                self.external(argv, span, s)
            }
        }
    }

    /// A program (not a builtin or function): wrappers are unwrapped, shells with a literal
    /// script are followed, everything else goes to the host.
    fn external(&mut self, argv: &[Val], span: Span, mut s: State<H::User>) -> Outs<H::User> {
        let Val::Lit(name) = &argv[0] else {
            self.host.refuse(
                span,
                "the command name is only known at run time (a variable or a substitution)".into(),
            );
            s.status = St::Any;
            return vec![(s, Flow::Next)];
        };
        let base = name.rsplit('/').next().unwrap_or(name).to_string();
        let args = &argv[1..];
        if matches!(base.as_str(), "env" | "sudo" | "doas") {
            // Their `NAME=value` arguments set the wrapped command's environment, and
            // `-C`/`-D`/`--chdir` its directory.
            for a in args {
                let Val::Lit(a) = a else { continue };
                if let Some((n, _)) = a.split_once('=')
                    && !n.starts_with('-')
                    && protected_var(n)
                {
                    self.host.refuse(
                        span,
                        format!(
                            "`{base}` sets `{n}`: it changes which programs run or what they read"
                        ),
                    );
                }
                if a == "-C" || a == "-D" || a.starts_with("--chdir") {
                    s.moved = true;
                }
            }
        }
        if let Some(skip) = wrapper_skip(&base, args) {
            match skip {
                Wrapped::At(i) if i < args.len() => {
                    let mut inner: Vec<Val> = args[i..].to_vec();
                    if base == "xargs" {
                        inner.push(Val::Unknown);
                    }
                    return self.external(&inner, span, s);
                }
                Wrapped::At(_) | Wrapped::NoExec => {
                    s.status = St::Any;
                    return vec![(s, Flow::Next)];
                }
                Wrapped::Unknown => {
                    self.host.refuse(
                        span,
                        format!("`{base}` is given options this rule cannot follow"),
                    );
                    s.status = St::Any;
                    return vec![(s, Flow::Next)];
                }
            }
        }
        if matches!(
            base.as_str(),
            "bash" | "sh" | "dash" | "zsh" | "ksh" | "ash"
        ) {
            return self.shell(&base, args, span, s);
        }
        let how = How {
            background: self.background > 0,
            moved: s.moved,
            text: self.handed.clone(),
        };
        let outcomes = self.host.run(&s.user, argv, span, &how);
        outcomes
            .into_iter()
            .map(|(u, st)| {
                let mut k = s.clone();
                k.user = u;
                k.status = st;
                (k, Flow::Next)
            })
            .collect()
    }

    /// `bash -c 'script'` and friends.
    fn shell(
        &mut self,
        base: &str,
        args: &[Val],
        span: Span,
        mut s: State<H::User>,
    ) -> Outs<H::User> {
        let (mut errexit, mut pipefail) = (false, false);
        let mut script = None;
        let mut i = 0;
        let mut has_c = false;
        while i < args.len() {
            let Val::Lit(a) = &args[i] else { break };
            if a == "--" || !(a.starts_with('-') || a.starts_with('+')) {
                break;
            }
            let on = a.starts_with('-');
            if a.starts_with("--") {
                i += 1;
                continue;
            }
            for ch in a[1..].chars() {
                match ch {
                    'e' => errexit = on,
                    'c' => has_c = true,
                    'o' => {
                        i += 1;
                        if let Some(Val::Lit(o)) = args.get(i) {
                            match o.as_str() {
                                "pipefail" => pipefail = on,
                                "errexit" => errexit = on,
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
            i += 1;
        }
        if has_c {
            script = Some(args.get(i).cloned().unwrap_or(Val::Unknown));
        }
        let text = match script {
            Some(Val::Lit(t)) => t,
            Some(_) => {
                self.host
                    .refuse(span, format!("`{base} -c` runs a script built at run time"));
                s.status = St::Any;
                return vec![(s, Flow::Next)];
            }
            None => {
                let why = if i < args.len() {
                    format!("`{base}` runs a script file this rule does not read")
                } else {
                    format!("`{base}` reads its script from standard input (text made at run time)")
                };
                self.host.refuse(span, why);
                s.status = St::Any;
                return vec![(s, Flow::Next)];
            }
        };
        let parsed = match super::parse(&text) {
            Ok(p) => p,
            Err(e) => {
                self.host.refuse(
                    span,
                    format!("the `{base} -c` script does not parse: {}", e.message),
                );
                s.status = St::Any;
                return vec![(s, Flow::Next)];
            }
        };
        if self.calls >= MAX_CALLS {
            self.host
                .refuse(span, format!("`{base} -c` nests deeper than {MAX_CALLS}"));
            s.status = St::Any;
            return vec![(s, Flow::Next)];
        }
        let saved = s.clone();
        let mut inner = s;
        inner.errexit = errexit;
        inner.pipefail = pipefail;
        inner.vars.retain(|k, _| !k.starts_with("PIPESTATUS"));
        let saved_docs = std::mem::replace(&mut self.heredocs, parsed.heredocs.clone());
        let saved_funcs = std::mem::take(&mut self.funcs);
        // Positions inside the literal script are not positions in the workflow: report
        // everything at the `sh -c` command.
        let mut body = parsed.body.clone();
        respan(&mut body, span);
        self.collect_funcs(&body);
        self.calls += 1;
        let saved_echo = std::mem::replace(&mut self.echo_escapes, base != "bash");
        let outs = self.list(&body, inner, false);
        self.echo_escapes = saved_echo;
        self.calls -= 1;
        self.funcs = saved_funcs;
        self.heredocs = saved_docs;
        outs.into_iter()
            .map(|(o, _)| {
                let mut k = saved.clone();
                k.user = o.user;
                k.status = o.status;
                (k, Flow::Next)
            })
            .collect()
    }
}

/// A redirection that writes to a file whose name is not literal (a copy of the output
/// file's path, for all the rule knows).
fn writes_unknown_file(r: &Redirect) -> bool {
    let op = r.op.trim_start_matches(|c: char| c.is_ascii_digit());
    let op = op.rsplit('}').next().unwrap_or(op);
    if !op.contains('>') {
        return false;
    }
    let dup = op.ends_with('&')
        && r.target
            .literal()
            .is_some_and(|t| t == "-" || t.bytes().all(|b| b.is_ascii_digit()));
    !dup && r.target.literal().is_none()
}

/// A trap action that cannot change the script's status or run anything the rule follows:
/// plain commands of [`HARMLESS_TRAP_COMMANDS`] with no substitution and no redirection to
/// a file named at run time.
fn harmless_trap_action(text: &str) -> bool {
    let Ok(script) = super::parse(text) else {
        return false;
    };
    script.body.items.iter().all(|item| {
        !item.background
            && std::iter::once(&item.first)
                .chain(item.rest.iter().map(|(_, p)| p))
                .all(|p| {
                    p.cmds.iter().all(|c| match &c.kind {
                        CommandKind::Simple { assigns, words } => {
                            assigns.is_empty()
                                && words
                                    .first()
                                    .and_then(Word::literal)
                                    .is_some_and(|n| HARMLESS_TRAP_COMMANDS.contains(&n.as_str()))
                                && words.iter().all(|w| {
                                    !w.glob
                                        && w.parts
                                            .iter()
                                            .all(|p| matches!(p, Part::Lit(_) | Part::Var(_)))
                                })
                                && c.redirects.iter().all(|r| r.target.literal().is_some())
                        }
                        _ => false,
                    })
                })
    })
}

fn respan(l: &mut List, span: Span) {
    for item in &mut l.items {
        for p in std::iter::once(&mut item.first).chain(item.rest.iter_mut().map(|(_, p)| p)) {
            for c in &mut p.cmds {
                respan_cmd(c, span);
            }
        }
    }
}

fn respan_cmd(c: &mut Command, span: Span) {
    c.span = span;
    match &mut c.kind {
        CommandKind::Simple { assigns, words } => {
            for w in words.iter_mut().chain(assigns.iter_mut().map(|(_, w)| w)) {
                for p in &mut w.parts {
                    match p {
                        Part::Subst(l) | Part::ProcSubst(l) => respan(l, span),
                        Part::Dynamic(ls) => ls.iter_mut().for_each(|l| respan(l, span)),
                        _ => {}
                    }
                }
            }
        }
        CommandKind::Brace(l) | CommandKind::Subshell(l) => respan(l, span),
        CommandKind::If {
            branches,
            otherwise,
        } => {
            for (a, b) in branches {
                respan(a, span);
                respan(b, span);
            }
            if let Some(o) = otherwise {
                respan(o, span);
            }
        }
        CommandKind::Loop { cond, body, .. } => {
            respan(cond, span);
            respan(body, span);
        }
        CommandKind::For { body, .. } => respan(body, span),
        CommandKind::Case { arms, .. } => arms.iter_mut().for_each(|(_, b)| respan(b, span)),
        CommandKind::Function { body, .. } => respan_cmd(body, span),
        CommandKind::Arith(_) | CommandKind::Test(_) => {}
    }
}

enum Wrapped {
    /// The wrapped command starts at this argument.
    At(usize),
    /// The wrapper does not run a command (`command -v`).
    NoExec,
    /// Options the rule does not know.
    Unknown,
}

/// For a wrapper program, where the command it runs starts.
fn wrapper_skip(base: &str, args: &[Val]) -> Option<Wrapped> {
    // Options that take a value, per wrapper.
    let valued: &[&str] = match base {
        "sudo" | "doas" => &[
            "-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "-R",
        ],
        "env" => &["-u", "-C", "-S", "--unset", "--chdir"],
        "nice" => &["-n", "--adjustment"],
        "timeout" => &["-s", "-k", "--signal", "--kill-after"],
        "xargs" => &[
            "-I",
            "-L",
            "-n",
            "-P",
            "-d",
            "-E",
            "-s",
            "-a",
            "--arg-file",
            "--delimiter",
        ],
        "stdbuf" => &["-i", "-o", "-e"],
        "ionice" => &["-c", "-n", "-p"],
        "command" | "nohup" | "setsid" | "time" | "builtin" => &[],
        _ => return None,
    };
    let mut i = 0;
    while i < args.len() {
        let Val::Lit(a) = &args[i] else {
            return Some(Wrapped::Unknown);
        };
        if a == "--" {
            i += 1;
            break;
        }
        if base == "env" && a.contains('=') && !a.starts_with('-') {
            i += 1;
            continue;
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        if base == "command" && (a.contains('v') || a.contains('V')) {
            return Some(Wrapped::NoExec);
        }
        if base == "env" && (a == "-S" || a.starts_with("--split-string")) {
            return Some(Wrapped::Unknown);
        }
        let takes = valued.iter().any(|v| a == v);
        i += if takes { 2 } else { 1 };
    }
    if base == "timeout" {
        // The duration comes before the command.
        i += 1;
    }
    Some(Wrapped::At(i))
}

/// `test`/`[`/`[[` on known values; `Any` when the outcome depends on what is not known.
fn test(args: &[Val]) -> St {
    let r = |b: bool| St::Num(i64::from(!b));
    if let Some(Val::Lit(bang)) = args.first()
        && bang == "!"
        && args.len() > 1
    {
        return match test(&args[1..]) {
            St::Num(0) => St::Num(1),
            St::Num(_) => St::Num(0),
            x => x,
        };
    }
    let lit = |v: &Val| match v {
        Val::Lit(s) => Some(s.clone()),
        _ => None,
    };
    match args {
        [] => St::Num(1),
        [x] => match x {
            Val::Lit(s) => r(!s.is_empty()),
            Val::Nonzero => St::Num(0),
            Val::Unknown => St::Any,
        },
        [Val::Lit(op), x] if op == "-n" || op == "-z" => match x {
            Val::Lit(s) => r(s.is_empty() == (op == "-z")),
            Val::Nonzero => r(op == "-n"),
            Val::Unknown => St::Any,
        },
        [a, Val::Lit(op), b] => {
            let num = |v: &Val| match v {
                Val::Lit(s) => s.trim().parse::<i64>().ok().map(Some),
                Val::Nonzero => Some(None),
                Val::Unknown => None,
            };
            match op.as_str() {
                "=" | "==" | "!=" => {
                    let eq = match (lit(a), lit(b)) {
                        (Some(x), Some(y)) => Some(if op == "=" { x == y } else { glob(&y, &x) }),
                        _ => match (a, b) {
                            (Val::Nonzero, Val::Lit(z)) | (Val::Lit(z), Val::Nonzero)
                                if z == "0" =>
                            {
                                Some(false)
                            }
                            _ => None,
                        },
                    };
                    match eq {
                        Some(e) => r(if op == "!=" { !e } else { e }),
                        None => St::Any,
                    }
                }
                "-eq" | "-ne" | "-lt" | "-le" | "-gt" | "-ge" => match (num(a), num(b)) {
                    (Some(Some(x)), Some(Some(y))) => r(match op.as_str() {
                        "-eq" => x == y,
                        "-ne" => x != y,
                        "-lt" => x < y,
                        "-le" => x <= y,
                        "-gt" => x > y,
                        _ => x >= y,
                    }),
                    (Some(None), Some(Some(0))) | (Some(Some(0)), Some(None)) => {
                        match op.as_str() {
                            "-eq" => r(false),
                            "-ne" => r(true),
                            _ => St::Any,
                        }
                    }
                    _ => St::Any,
                },
                _ => St::Any,
            }
        }
        _ => St::Any,
    }
}

/// Shell pattern matching (`*`, `?`, `[...]`) on whole strings.
pub fn glob(pat: &str, s: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let t: Vec<char> = s.chars().collect();
    // Iterative matcher with one backtrack point for `*` (linear in practice).
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '[' => {
                    if let Some(end) = p[pi + 1..].iter().position(|&c| c == ']') {
                        let set = &p[pi + 1..pi + 1 + end];
                        let (neg, set) = match set.first() {
                            Some('!' | '^') => (true, &set[1..]),
                            _ => (false, set),
                        };
                        let mut hit = false;
                        let mut k = 0;
                        while k < set.len() {
                            if k + 2 < set.len() && set[k + 1] == '-' {
                                hit |= set[k] <= t[ti] && t[ti] <= set[k + 2];
                                k += 3;
                            } else {
                                hit |= set[k] == t[ti];
                                k += 1;
                            }
                        }
                        if hit != neg {
                            pi += end + 2;
                            ti += 1;
                            continue;
                        }
                    } else if t[ti] == '[' {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
                c if c == t[ti] => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}
