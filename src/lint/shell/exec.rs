//! An abstract interpreter for parsed scripts: it follows every path a script can take, with
//! the shell's own rules for `set -e` (and where `-e` is ignored: conditions, `!`, all but
//! the last of an `&&`/`||` list, background jobs), `pipefail`, `$?`/`PIPESTATUS`, `exit`,
//! subshells, functions and wrappers (`sudo`, `env`, `command`, `nice`, `timeout`, `xargs`,
//! `exec`, `bash -c`/`sh -c`).
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

pub trait Host {
    type User: Clone + Ord + std::fmt::Debug;
    /// A command the interpreter does not model itself; `argv[0]` is literal. Returns the
    /// possible outcomes.
    fn run(
        &mut self,
        user: &Self::User,
        argv: &[Val],
        span: Span,
        background: bool,
    ) -> Vec<(Self::User, St)>;
    /// A line written to the step's output file (`None`: something not known).
    fn output(&mut self, user: &mut Self::User, kv: Option<(String, String)>);
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
}

/// Run `script` from `start`; returns every end state with how it ended (`Next` or `Exit`).
pub fn run<H: Host>(host: &mut H, script: &Script, start: State<H::User>) -> Outs<H::User> {
    let mut ex = Exec {
        host,
        funcs: BTreeMap::new(),
        calls: 0,
        background: 0,
        heredocs: script.heredocs.clone(),
        refused_paths: false,
        spent: false,
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
        let mut acc = vec![(st, Vec::new(), None)];
        for w in words {
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
        let mut out = Vec::new();
        for st in pre {
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
        let mut out = Vec::new();
        let mut refs: Vec<&Word> = assigns.iter().map(|(_, w)| w).collect();
        refs.extend(words.iter());
        for (mut s, vals, last) in self.expand(&refs, st) {
            let (avals, argv) = vals.split_at(assigns.len());
            if argv.is_empty() {
                for ((name, _), v) in assigns.iter().zip(avals) {
                    s.set(name, v.clone());
                }
                s.status = last.unwrap_or(St::Num(0));
                out.push((s, Flow::Next));
                continue;
            }
            self.output_writes(c, words, argv, &mut s);
            out.extend(self.invoke(argv, c.span, s, exempt));
        }
        out
    }

    /// Lines written to `$GITHUB_OUTPUT`/`$FORGEJO_OUTPUT` by this command.
    fn output_writes(&mut self, c: &Command, words: &[Word], argv: &[Val], s: &mut State<H::User>) {
        let is_out = |w: &Word| {
            w.parts
                .iter()
                .any(|p| matches!(p, Part::Var(n) if n == "GITHUB_OUTPUT" || n == "FORGEJO_OUTPUT"))
        };
        let redirected = c
            .redirects
            .iter()
            .any(|r| (r.op == ">>" || r.op == ">") && is_out(&r.target));
        if !redirected && !words.iter().any(is_out) {
            // A file named through another variable may be the output file under another name
            // (`f=$GITHUB_OUTPUT; echo k=v >> "$f"`): what this step wrote is no longer known.
            let through_variable = c.redirects.iter().any(|r| {
                (r.op == ">>" || r.op == ">")
                    && r.target.parts.iter().any(|p| matches!(p, Part::Var(_)))
            });
            if through_variable {
                self.host.output(&mut s.user, None);
            }
            return;
        }
        let name = match &argv[0] {
            Val::Lit(n) => n.as_str(),
            _ => "",
        };
        let text = match (redirected, name) {
            (true, "echo") => {
                let args: Vec<&Val> = argv[1..]
                    .iter()
                    .skip_while(|v| matches!(v, Val::Lit(a) if a == "-n" || a == "-e" || a == "-E"))
                    .collect();
                args.iter()
                    .map(|v| match v {
                        Val::Lit(t) => Some(t.clone()),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()
                    .map(|v| v.join(" "))
            }
            (true, "printf") => match argv.get(1..) {
                Some([Val::Lit(f)]) if !f.contains('%') => Some(f.replace("\\n", "\n")),
                _ => None,
            },
            _ => None,
        };
        match text {
            Some(t) => {
                for line in t.lines().filter(|l| !l.is_empty()) {
                    let kv = line
                        .split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()));
                    let known = kv.is_some();
                    self.host.output(&mut s.user, kv);
                    if !known {
                        break;
                    }
                }
            }
            None => self.host.output(&mut s.user, None),
        }
    }

    /// Run a command by its arguments' values.
    fn invoke(
        &mut self,
        argv: &[Val],
        span: Span,
        mut s: State<H::User>,
        exempt: bool,
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
            "set" => {
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
                                    Some(_) => {}
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
            _ if self.funcs.contains_key(name.as_str()) => {
                if self.calls >= MAX_CALLS {
                    self.host
                        .refuse(span, format!("function calls nest deeper than {MAX_CALLS}"));
                    s.status = St::Any;
                    return vec![(s, Flow::Next)];
                }
                let body = self.funcs[name.as_str()].clone();
                self.calls += 1;
                let outs = self.command(&body, s, exempt);
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
        let outcomes = self.host.run(&s.user, argv, span, self.background > 0);
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
        self.collect_funcs(&parsed.body);
        self.calls += 1;
        // Positions inside the literal script are not positions in the workflow: report
        // everything at the `sh -c` command.
        let mut body = parsed.body.clone();
        respan(&mut body, span);
        let outs = self.list(&body, inner, false);
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
