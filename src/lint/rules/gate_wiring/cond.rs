//! `if:` conditions evaluated, not matched: a three-valued evaluator over the expression
//! tree. Values the linter cannot know (most contexts, `hashFiles`, `fromJSON`) are
//! `Unknown`, and a condition is only "false" when it is false whatever they are.
//!
//! Status functions follow the runner: a condition with none of `success()`, `failure()`,
//! `cancelled()`, `always()` is read as `success() && (condition)`.

use crate::lint::expr::{self, BinaryOp, Expr, ExprKind};

#[derive(Debug, Clone, PartialEq)]
pub enum V {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    /// Not known, but known to be truthy / falsy / neither.
    Unknown(Option<bool>),
}

impl V {
    pub fn truthy(&self) -> Option<bool> {
        match self {
            V::Null => Some(false),
            V::Bool(b) => Some(*b),
            V::Num(n) => Some(*n != 0.0 && !n.is_nan()),
            V::Str(s) => Some(!s.is_empty()),
            V::Unknown(t) => *t,
        }
    }

    fn num(&self) -> Option<f64> {
        match self {
            V::Null => Some(0.0),
            V::Bool(b) => Some(f64::from(u8::from(*b))),
            V::Num(n) => Some(*n),
            V::Str(s) if s.trim().is_empty() => Some(0.0),
            V::Str(s) => Some(s.trim().parse::<f64>().unwrap_or(f64::NAN)),
            V::Unknown(_) => None,
        }
    }

    /// The value as a string (how `${{ }}` renders it), when known.
    pub fn render(&self) -> Option<String> {
        match self {
            V::Null => Some(String::new()),
            V::Bool(b) => Some(b.to_string()),
            V::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => Some(format!("{}", *n as i64)),
            V::Num(n) => Some(n.to_string()),
            V::Str(s) => Some(s.clone()),
            V::Unknown(_) => None,
        }
    }
}

/// What the status functions return in the situation being asked about.
#[derive(Debug, Clone, Copy)]
pub struct Status {
    pub success: Option<bool>,
    pub failure: Option<bool>,
    pub cancelled: Option<bool>,
}

impl Status {
    /// Everything before succeeded.
    pub const OK: Status = Status {
        success: Some(true),
        failure: Some(false),
        cancelled: Some(false),
    };
    /// Something before failed or the run was cancelled (which of the two is not known).
    pub const FAILED: Status = Status {
        success: Some(false),
        failure: None,
        cancelled: None,
    };
}

/// Context values: a dotted, lowercased path (`steps.oneshot.outputs.apply`) to a value.
pub trait Lookup {
    fn get(&self, path: &str) -> V;
}

impl Lookup for () {
    fn get(&self, _: &str) -> V {
        V::Unknown(None)
    }
}

/// True when the tree calls a status function.
pub fn has_status_call(e: &Expr) -> bool {
    let mut found = false;
    e.walk(|n| {
        if ["success", "failure", "cancelled", "always"]
            .iter()
            .any(|f| n.is_call_to(f))
        {
            found = true;
        }
    });
    found
}

/// Whether an `if:` lets its step or job run: `Some(true)`/`Some(false)` when that holds
/// whatever is unknown, `None` otherwise. A condition that does not parse is `None`.
pub fn condition(text: Option<&str>, status: Status, ctx: &dyn Lookup) -> Option<bool> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return status.success;
    };
    let e = expr::parse_if(text).ok()?;
    let v = eval(&e, status, ctx).truthy();
    if has_status_call(&e) {
        v
    } else {
        match (status.success, v) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        }
    }
}

/// The value of a `${{ }}`-only string (`${{ steps.a.outputs.b }}`) or of a plain one.
pub fn value_of(text: &str, ctx: &dyn Lookup) -> V {
    let t = text.trim();
    if !t.contains("${{") {
        return V::Str(text.to_string());
    }
    match expr::find_expressions(text) {
        Ok(found)
            if found.len() == 1
                && found[0].span.start == text.len() - text.trim_start().len()
                && found[0].span.end == text.trim_end().len() =>
        {
            match &found[0].expr {
                Ok(e) => eval(e, Status::OK, ctx),
                Err(_) => V::Unknown(None),
            }
        }
        _ => V::Unknown(None),
    }
}

fn path_of(e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Context(c) => Some(c.to_ascii_lowercase()),
        ExprKind::Property { object, name, .. } => Some(format!(
            "{}.{}",
            path_of(object)?,
            name.to_ascii_lowercase()
        )),
        ExprKind::Index { object, index } => match &index.kind {
            ExprKind::String(k) => Some(format!("{}.{}", path_of(object)?, k.to_ascii_lowercase())),
            _ => None,
        },
        _ => None,
    }
}

fn loose_eq(a: &V, b: &V) -> Option<bool> {
    match (a, b) {
        (V::Unknown(_), _) | (_, V::Unknown(_)) => None,
        (V::Str(x), V::Str(y)) => Some(x.eq_ignore_ascii_case(y)),
        (V::Null, V::Null) => Some(true),
        (V::Bool(x), V::Bool(y)) => Some(x == y),
        _ => {
            let (x, y) = (a.num()?, b.num()?);
            Some(x == y)
        }
    }
}

fn compare(a: &V, b: &V) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (V::Unknown(_), _) | (_, V::Unknown(_)) => None,
        (V::Str(x), V::Str(y)) => Some(x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase())),
        _ => a.num()?.partial_cmp(&b.num()?),
    }
}

/// `format(fmt, args...)` as the runner does it: `{N}` is the N-th argument, `{{` and `}}`
/// are braces; `None` for a malformed format (the runner fails the expression).
fn format_string(fmt: &str, args: &[String]) -> Option<String> {
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut n = String::new();
                for d in chars.by_ref() {
                    if d == '}' {
                        break;
                    }
                    n.push(d);
                }
                out.push_str(args.get(n.trim().parse::<usize>().ok()?)?);
            }
            '}' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

pub fn eval(e: &Expr, st: Status, ctx: &dyn Lookup) -> V {
    let unknown = V::Unknown(None);
    match &e.kind {
        ExprKind::Null => V::Null,
        ExprKind::Bool(b) => V::Bool(*b),
        ExprKind::Number(n) => V::Num(*n),
        ExprKind::String(s) => V::Str(s.clone()),
        ExprKind::Context(_) | ExprKind::Property { .. } | ExprKind::Index { .. } => {
            match path_of(e) {
                Some(p) => ctx.get(&p),
                None => unknown,
            }
        }
        ExprKind::Filter { .. } => unknown,
        ExprKind::Group(inner) => eval(inner, st, ctx),
        ExprKind::Not(inner) => match eval(inner, st, ctx).truthy() {
            Some(b) => V::Bool(!b),
            None => unknown,
        },
        ExprKind::Call { name, args, .. } => {
            let n = name.to_ascii_lowercase();
            let opt = |b: Option<bool>| b.map_or(V::Unknown(None), V::Bool);
            match n.as_str() {
                "success" => opt(st.success),
                "failure" => opt(st.failure),
                "cancelled" => opt(st.cancelled),
                "always" => V::Bool(true),
                "format" if !args.is_empty() => {
                    let parts: Option<Vec<String>> =
                        args.iter().map(|a| eval(a, st, ctx).render()).collect();
                    parts
                        .and_then(|p| format_string(&p[0], &p[1..]))
                        .map_or(unknown, V::Str)
                }
                "contains" | "startswith" | "endswith" if args.len() == 2 => {
                    let a = eval(&args[0], st, ctx).render();
                    let b = eval(&args[1], st, ctx).render();
                    match (a, b) {
                        (Some(a), Some(b)) => {
                            let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
                            V::Bool(match n.as_str() {
                                "contains" => a.contains(&b),
                                "startswith" => a.starts_with(&b),
                                _ => a.ends_with(&b),
                            })
                        }
                        _ => unknown,
                    }
                }
                _ => unknown,
            }
        }
        ExprKind::Binary { op, lhs, rhs, .. } => {
            let a = eval(lhs, st, ctx);
            match op {
                BinaryOp::And | BinaryOp::Or => {
                    let and = *op == BinaryOp::And;
                    match a.truthy() {
                        Some(t) if t != and => a,
                        Some(_) => eval(rhs, st, ctx),
                        None => {
                            let b = eval(rhs, st, ctx);
                            // Unknown `a`: the result is `a` or `b`.
                            match b.truthy() {
                                Some(tb) if Some(tb) == a.truthy() => V::Unknown(Some(tb)),
                                Some(false) if and => V::Unknown(Some(false)),
                                Some(true) if !and => V::Unknown(Some(true)),
                                _ => unknown,
                            }
                        }
                    }
                }
                _ => {
                    let b = eval(rhs, st, ctx);
                    let r = match op {
                        BinaryOp::Eq => loose_eq(&a, &b),
                        BinaryOp::Ne => loose_eq(&a, &b).map(|x| !x),
                        BinaryOp::Lt => compare(&a, &b).map(|o| o.is_lt()),
                        BinaryOp::Le => compare(&a, &b).map(|o| o.is_le()),
                        BinaryOp::Gt => compare(&a, &b).map(|o| o.is_gt()),
                        _ => compare(&a, &b).map(|o| o.is_ge()),
                    };
                    r.map_or(unknown, V::Bool)
                }
            }
        }
    }
}
