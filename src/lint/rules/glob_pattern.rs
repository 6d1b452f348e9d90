//! `lint.glob_pattern`: a `branches`, `tags` or `paths` filter (and their `-ignore` forms)
//! holding a pattern Forgejo cannot compile. Forgejo matches these filters with the runner's
//! `workflowpattern` package (`modules/actions/workflows.go`), which turns each pattern into
//! a regular expression; when one pattern of a filter fails, Forgejo gives up on the whole
//! filter and the event never starts the workflow. So an invalid pattern silently turns the
//! trigger off: an error.
//!
//! What does not compile, read from that package: empty brackets `[]`; a bracket that is not
//! closed; a character in brackets other than `A-z` and `0-9`; a range that is not between
//! two such characters in order (`[z-a]`, `[a-]`); a `\` at the end; and a `+` or `?` right
//! after another repetition (`**+`, `a++`, `a?+`; a single `?` after one is allowed, it makes
//! the repetition lazy), which the regular expression compiler refuses.
use super::{Ctx, Rule, Sink, is_expression};
use crate::report::code::code;
use crate::yaml::Node;

code!(
    CODE,
    "lint.glob_pattern",
    Error,
    "A `branches`/`tags`/`paths` filter holds a pattern Forgejo cannot compile, so the event never starts the workflow.",
    "Fix the pattern: brackets hold only letters, digits and ranges such as `[0-9]`; escape special characters with `\\`."
);

pub static RULE: Rule = Rule { code: &CODE, check };

const FILTERS: &[&str] = &[
    "branches",
    "branches-ignore",
    "tags",
    "tags-ignore",
    "paths",
    "paths-ignore",
];

fn in_class(c: u8) -> bool {
    c.is_ascii_digit() || (b'A'..=b'z').contains(&c)
}

/// Why Forgejo's pattern compiler refuses `pattern` (after a leading `!`), or `None`.
pub fn pattern_error(raw: &str) -> Option<String> {
    let p = raw.strip_prefix('!').unwrap_or(raw).as_bytes();
    let mut pos = 0;
    // The last token written was a repetition, and whether a lazy `?` may still follow it.
    let (mut repeated, mut lazy_ok) = (false, false);
    while pos < p.len() {
        match p[pos] {
            b'*' => {
                pos += if p.get(pos + 1) == Some(&b'*') {
                    if p.get(pos + 2) == Some(&b'/') { 3 } else { 2 }
                } else {
                    1
                };
                (repeated, lazy_ok) = (true, true);
            }
            b'+' | b'?' if pos > 0 => {
                let c = p[pos] as char;
                if repeated && c == '?' && lazy_ok {
                    lazy_ok = false;
                } else if repeated {
                    return Some(format!("`{c}` at position {pos} repeats a repetition"));
                } else {
                    (repeated, lazy_ok) = (true, true);
                }
                pos += 1;
            }
            b'[' => {
                pos += 1;
                if p.get(pos) == Some(&b']') {
                    return Some(format!("empty brackets `[]` at position {pos}"));
                }
                let start = pos;
                while pos < p.len() && p[pos] != b']' {
                    if p[pos] == b'-' {
                        if pos <= start || pos + 1 >= p.len() {
                            return Some(format!("invalid range at position {pos}"));
                        }
                        let (a, b) = (p[pos - 1], p[pos + 1]);
                        let range = |lo: u8, hi: u8| {
                            (lo..=hi).contains(&a) && (lo..=hi).contains(&b) && a <= b
                        };
                        if !range(b'A', b'z') && !range(b'0', b'9') {
                            return Some(format!(
                                "range at position {pos} is not between two letters or two digits in order"
                            ));
                        }
                        pos += 2;
                    } else {
                        if !in_class(p[pos]) {
                            return Some(format!(
                                "`{}` at position {pos}: brackets may hold only letters, digits and ranges",
                                String::from_utf8_lossy(&p[pos..=pos])
                            ));
                        }
                        pos += 1;
                    }
                }
                if pos >= p.len() {
                    return Some("a `[` is never closed by `]`".into());
                }
                pos += 1;
                repeated = false;
            }
            b'\\' => {
                if pos + 1 >= p.len() {
                    return Some("the pattern ends with `\\`".into());
                }
                pos += 2;
                repeated = false;
            }
            _ => {
                pos += 1;
                repeated = false;
            }
        }
    }
    None
}

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    for event in &ctx.wf.events {
        if !matches!(event.name, "push" | "pull_request" | "pull_request_target") {
            continue;
        }
        for (k, v) in event.config.and_then(Node::as_map).unwrap_or(&[]) {
            let Some(filter) = k.as_str().filter(|f| FILTERS.contains(f)) else {
                continue;
            };
            let items: Vec<&Node> = match v.as_seq() {
                Some(items) => items.iter().collect(),
                None => vec![v],
            };
            for item in items {
                let Some(text) = item.as_str() else { continue };
                if item.is_null() || is_expression(item) {
                    continue;
                }
                if let Some(why) = pattern_error(text) {
                    out.node(
                        &CODE,
                        item,
                        format!(
                            "`{}` in `{}.{filter}` does not compile: {why}",
                            text.escape_debug(),
                            event.name
                        ),
                    )
                    .note(format!(
                        "Forgejo then ignores the whole `{filter}` filter as unmatched: `{}` never starts this workflow",
                        event.name
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::pattern_error;

    #[test]
    fn patterns_compile_as_forgejo_compiles_them() {
        for ok in [
            "main",
            "releases/**",
            "**/*.md",
            "v[0-9]+.[0-9]+",
            "feature/*",
            "!docs/**",
            "a?",
            "**?",
            "*?",
            "[A-z]",
            "\\[x\\]",
            "+lead",
            "?lead",
        ] {
            assert_eq!(pattern_error(ok), None, "{ok}");
        }
        for bad in [
            "[]", "[a", "v[.]", "[z-a]", "[-a]", "[a-]", "x\\", "a++", "**+", "a?+", "*??", "[a-b",
        ] {
            assert!(pattern_error(bad).is_some(), "{bad}");
        }
    }
}
