//! Syntax tree of a POSIX/bash script as the gate-wiring rule needs it: commands with their
//! words (quoting removed, expansions kept as parts), redirections, heredoc bodies and the
//! byte span of each command in the script.

/// A half-open byte range into the script text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// A parsed script.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    pub body: List,
    /// Heredoc bodies, indexed by [`Redirect::heredoc`].
    pub heredocs: Vec<Word>,
}

/// Commands separated by `;`, `&` or newlines.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct List {
    pub items: Vec<AndOr>,
}

/// `a && b || c`, optionally run in the background (`&`).
#[derive(Debug, Clone, PartialEq)]
pub struct AndOr {
    pub first: Pipeline,
    /// Each following pipeline with `true` for `&&`, `false` for `||`.
    pub rest: Vec<(bool, Pipeline)>,
    pub background: bool,
}

/// `[!] a | b | c`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub bang: bool,
    pub cmds: Vec<Command>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub kind: CommandKind,
    pub redirects: Vec<Redirect>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CommandKind {
    /// Assignments, then the command's words (the first is the command name).
    Simple {
        assigns: Vec<(String, Word)>,
        words: Vec<Word>,
    },
    Brace(List),
    Subshell(List),
    /// `if c; then b; elif c; then b; else e; fi`.
    If {
        branches: Vec<(List, List)>,
        otherwise: Option<List>,
    },
    /// `while`/`until` loops.
    Loop {
        until: bool,
        cond: List,
        body: List,
    },
    /// `for var [in words]; do body; done` (also `select`); `words` is `None` without `in`
    /// and for the arithmetic `for ((...))`.
    For {
        var: String,
        words: Option<Vec<Word>>,
        body: List,
    },
    Case {
        word: Word,
        arms: Vec<(Vec<Word>, List)>,
    },
    Function {
        name: String,
        body: Box<Command>,
    },
    /// `(( ... ))`: its expansions.
    Arith(Word),
    /// `[[ ... ]]`: its words.
    Test(Vec<Word>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Redirect {
    /// The operator as written (`>`, `>>`, `<<`, `<<-`, `<<<`, `>&`, `&>`, ...), with the file
    /// descriptor written before it (`3>>`, `{fd}>`), if any.
    pub op: String,
    pub target: Word,
    /// For `<<`/`<<-`: the body's index in [`Script::heredocs`].
    pub heredoc: Option<usize>,
}

/// One shell word: its parts in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Word {
    pub parts: Vec<Part>,
    pub span: Span,
    /// Unquoted glob characters (`*`, `?`, `[...]`): the shell may replace the word by the
    /// names of matching files, so its value is a pattern, known only at run time.
    pub glob: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Text after quote removal and escapes.
    Lit(String),
    /// `$name`, `${name}`, `$?`, `${PIPESTATUS[0]}`.
    Var(String),
    /// `$(...)` or `` `...` ``.
    Subst(List),
    /// `<(...)` or `>(...)`.
    ProcSubst(List),
    /// Anything whose value is only known at run time (`${x:-y}`, `$((...))`, brace
    /// expansion, arrays), with the command substitutions inside it.
    Dynamic(Vec<List>),
}

impl Word {
    /// The word's text when it has no expansion at all.
    pub fn literal(&self) -> Option<String> {
        let mut s = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(t) => s.push_str(t),
                _ => return None,
            }
        }
        Some(s)
    }
}
