//! `lint.function_call`: a call to a built-in function that cannot work: the wrong number of
//! arguments, a `format` string that does not fit its arguments, or a literal argument of a
//! type the function refuses. Each is a bug whatever the context holds at run time (GitHub
//! refuses such a workflow; actionlint reports it); the checks follow forgejo-runner's own
//! evaluator (`act/exprparser/functions.go`):
//!
//! - arity: `contains`, `startsWith`, `endsWith` take 2; `format` 1 or more; `join` 1 or 2;
//!   `toJSON`, `fromJSON` 1; `hashFiles` 1 or more; `success`, `always`, `cancelled`,
//!   `failure` none;
//! - `format` with a literal string: `{N}` needs an N-th argument after the string; `{}`,
//!   `{x}` and `{-1}` are invalid; a `{` never closed and a `}` that is not `}}` fail (`{{`
//!   and `}}` are the escapes);
//! - `fromJSON` of a literal: only a string holding valid JSON parses (a number, boolean or
//!   `null` is refused);
//! - `hashFiles` of a literal number, boolean or `null`: refused ("Non-string path").
use super::{Ctx, Rule, Sink};
use crate::lint::expr::{Expr, ExprKind};
use crate::report::code::code;

code!(
    CODE,
    "lint.function_call",
    Error,
    "A built-in function is called with the wrong number of arguments, a `format` string that does not fit its arguments, or a literal it refuses.",
    "Call the function as documented: e.g. `contains(haystack, needle)`, `format('{0} {1}', a, b)` with one argument per placeholder, `fromJSON('<valid JSON>')`."
);

pub static RULE: Rule = Rule { code: &CODE, check };

/// (name, least arguments, most arguments).
const ARITY: &[(&str, usize, usize)] = &[
    ("contains", 2, 2),
    ("startsWith", 2, 2),
    ("endsWith", 2, 2),
    ("format", 1, usize::MAX),
    ("join", 1, 2),
    ("toJSON", 1, 1),
    ("fromJSON", 1, 1),
    ("hashFiles", 1, usize::MAX),
    ("success", 0, 0),
    ("always", 0, 0),
    ("cancelled", 0, 0),
    ("failure", 0, 0),
];

fn count(n: usize) -> String {
    match n {
        0 => "no arguments".into(),
        1 => "1 argument".into(),
        n => format!("{n} arguments"),
    }
}

fn arity_text(min: usize, max: usize) -> String {
    match (min, max) {
        (a, b) if a == b => count(a),
        (a, usize::MAX) => format!("{a} or more arguments"),
        (a, b) => format!("{a} to {b} arguments"),
    }
}

/// Why `format(template, <args> more)` fails, following the runner's parser.
pub fn format_error(template: &str, args: usize) -> Option<String> {
    enum State {
        Text,
        Open(String),
        Close,
    }
    let mut state = State::Text;
    for c in template.chars() {
        state = match (state, c) {
            (State::Text, '{') => State::Open(String::new()),
            (State::Text, '}') => State::Close,
            (State::Text, _) => State::Text,
            (State::Open(i), '{') if i.is_empty() => State::Text,
            (State::Open(i), '}') => {
                let Ok(n) = i.parse::<i32>() else {
                    return Some(format!(
                        "`{{{i}}}` is not a placeholder (`{{0}}`, `{{1}}`, ...)"
                    ));
                };
                if n < 0 {
                    return Some(format!(
                        "`{{{i}}}` is not a placeholder (`{{0}}`, `{{1}}`, ...)"
                    ));
                }
                if usize::try_from(n).map_or(true, |n| n >= args) {
                    return Some(format!(
                        "`{{{n}}}` needs {} after the format string, and the call has {}",
                        count(usize::try_from(n).unwrap_or(0).saturating_add(1)),
                        count(args)
                    ));
                }
                State::Text
            }
            (State::Open(mut i), c) => {
                i.push(c);
                State::Open(i)
            }
            (State::Close, '}') => State::Text,
            (State::Close, _) => {
                return Some("a `}` that is not `}}` (write `}}` for a literal brace)".into());
            }
        };
    }
    match state {
        State::Text => None,
        State::Open(_) => Some("a `{` is never closed (write `{{` for a literal brace)".into()),
        State::Close => Some("a `}` that is not `}}` (write `}}` for a literal brace)".into()),
    }
}

fn literal_kind(e: &Expr) -> Option<&'static str> {
    let mut e = e;
    while let ExprKind::Group(inner) = &e.kind {
        e = inner;
    }
    match &e.kind {
        ExprKind::Number(_) => Some("a number"),
        ExprKind::Bool(_) => Some("a boolean"),
        ExprKind::Null => Some("null"),
        _ => None,
    }
}

fn string_literal(e: &Expr) -> Option<&str> {
    let mut e = e;
    while let ExprKind::Group(inner) = &e.kind {
        e = inner;
    }
    match &e.kind {
        ExprKind::String(s) => Some(s),
        _ => None,
    }
}

/// Why the call `name(args)` cannot work, or `None`.
fn call_error(name: &str, args: &[Expr]) -> Option<String> {
    let &(spelled, min, max) = ARITY
        .iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(name))?;
    if args.len() < min || args.len() > max {
        return Some(format!(
            "`{spelled}` takes {}, and is given {}",
            arity_text(min, max),
            count(args.len())
        ));
    }
    match spelled {
        "format" => {
            let template = string_literal(&args[0])?;
            format_error(template, args.len() - 1)
                .map(|why| format!("this `format` string does not fit its arguments: {why}"))
        }
        "fromJSON" => {
            if let Some(kind) = literal_kind(&args[0]) {
                return Some(format!("`fromJSON` parses a string, and is given {kind}"));
            }
            let text = string_literal(&args[0])?;
            serde_json::from_str::<serde_json::Value>(text)
                .err()
                .map(|e| format!("`fromJSON` is given text that is not JSON ({e})"))
        }
        "hashFiles" => args.iter().find_map(|a| {
            literal_kind(a)
                .map(|kind| format!("`hashFiles` takes path patterns, and is given {kind}"))
        }),
        _ => None,
    }
}

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    for site in &ctx.wf.sites {
        for e in site.parsed() {
            e.walk(|node| {
                if let ExprKind::Call { name, args, .. } = &node.kind
                    && let Some(why) = call_error(name, args)
                {
                    out.expr(&CODE, site.scalar, node.span, why);
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::format_error;

    #[test]
    fn format_strings_are_read_as_the_runner_reads_them() {
        assert_eq!(format_error("{0}-{1}", 2), None);
        assert_eq!(format_error("{{0}} {0}", 1), None);
        assert_eq!(format_error("}} {{", 0), None);
        assert_eq!(format_error("plain", 0), None);
        assert!(format_error("{1}", 1).is_some());
        assert!(format_error("{}", 1).is_some());
        assert!(format_error("{x}", 1).is_some());
        assert!(format_error("{-1}", 1).is_some());
        assert!(format_error("{0", 1).is_some());
        assert!(format_error("a } b", 0).is_some());
        assert!(format_error("a }", 0).is_some());
        assert!(format_error("{99999999999}", 1).is_some());
    }
}
