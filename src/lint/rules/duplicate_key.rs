//! `lint.duplicate_key`: a mapping names the same key twice; YAML parsers disagree on which
//! one wins, so what runs is not what the reader sees.
use super::{Ctx, Rule, Sink};
use crate::report::code::code;

code!(
    CODE,
    "lint.duplicate_key",
    Error,
    "A key appears twice in the same mapping.",
    "Remove or merge one of the two; which one a parser keeps is not something to rely on."
);

pub static RULE: Rule = Rule { code: &CODE, check };

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    for dup in &ctx.doc.duplicates {
        let len = dup.key.chars().count();
        out.at(
            &CODE,
            dup.duplicate.start.line,
            dup.duplicate.start.col,
            len,
            format!(
                "duplicate key `{}` (first at line {})",
                dup.key, dup.first.start.line
            ),
        );
    }
}
