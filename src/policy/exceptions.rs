//! The `exceptions:` section of the policy: dated, explained permissions for one module, with
//! their expiry and use reported.

use crate::model::manifest::RISK_CLASSES;
use crate::yaml::{Fields, Node, Problems};
use time::Date;

/// A dated, explained permission for one module: to auto-apply despite a manual class
/// (`allow_classes`), or to pass a backup much smaller than its previous one or its minimum
/// (`allow_small_backup`, e.g. after a database was emptied on purpose).
#[derive(Debug, Clone, PartialEq)]
pub struct Exception {
    pub module: String,
    pub allow_classes: Vec<String>,
    pub allow_small_backup: bool,
    pub reason: String,
    /// Last day (UTC) on which the exception applies.
    pub expires: Date,
    /// Line in the policy file, for messages.
    pub line: usize,
}

/// The furthest an exception's `expires` may lie ahead: an exception that ends in ten years
/// is not dated in any sense that matters, so beyond this it does not apply.
pub const MAX_DAYS_AHEAD: i64 = 366;

impl Exception {
    /// Whether the exception applies on `today`: not expired, and not dated further ahead than
    /// [`MAX_DAYS_AHEAD`].
    pub fn applies_on(&self, today: Date) -> bool {
        today <= self.expires && !self.too_far_ahead(today)
    }

    /// Whether `expires` lies more than [`MAX_DAYS_AHEAD`] days after `today`.
    pub fn too_far_ahead(&self, today: Date) -> bool {
        (self.expires - today).whole_days() > MAX_DAYS_AHEAD
    }
}

/// Why a reason explains nothing, if it does not: it must hold two different words of two or
/// more letters or digits that are not placeholders, and ten such characters in all.
fn empty_reason(reason: &str) -> Option<&'static str> {
    use crate::folded::{EMPTY_WORDS, PLACEHOLDER_MARKERS};
    let words: Vec<String> = reason
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 2)
        .filter(|w| {
            !PLACEHOLDER_MARKERS.contains(&w.as_str()) && !EMPTY_WORDS.contains(&w.as_str())
        })
        .collect();
    let letters: usize = words
        .iter()
        .map(|w| w.chars().filter(|c| c.is_alphanumeric()).count())
        .sum();
    let mut distinct = words.clone();
    distinct.sort();
    distinct.dedup();
    if letters < 10 {
        Some("say why, in at least 10 letters or digits that are not placeholders")
    } else if distinct.len() < 2 {
        Some("say why, in words (at least two different ones)")
    } else {
        None
    }
}

const KEYS: &[&str] = &[
    "module",
    "allow_classes",
    "allow_small_backup",
    "reason",
    "expires",
];

pub(super) fn read(node: &Node, problems: &mut Problems) -> Vec<Exception> {
    if !problems.untagged(node, "exceptions") {
        return Vec::new();
    }
    let Some(items) = node.as_seq() else {
        problems.push(node.span.start, "exceptions: expected a list");
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        let Some(mut f) = Fields::new(item, "exceptions[]", problems) else {
            continue;
        };
        let module = f
            .require("module", problems)
            .and_then(|v| problems.string(v, "exceptions[].module"));
        if let Some(m) = &module
            && crate::model::ModuleId::parse(m).is_err()
        {
            problems.push(
                item.span.start,
                format!(
                    "exceptions[].module: `{}` is not a valid module id",
                    m.escape_debug()
                ),
            );
        }
        let allow_small_backup = f
            .take("allow_small_backup")
            .and_then(|v| problems.boolean(v, "exceptions[].allow_small_backup"))
            .unwrap_or(false);
        let classes_node = if allow_small_backup {
            f.take("allow_classes")
        } else {
            f.require("allow_classes", problems)
        };
        let classes = match classes_node {
            None if allow_small_backup => Some(Vec::new()),
            None => None,
            Some(v) => (|| {
                let list = problems.strings(v, "exceptions[].allow_classes")?;
                let mut ok = !list.is_empty();
                if list.is_empty() {
                    problems.push(
                        v.span.start,
                        "exceptions[].allow_classes: must name at least one class",
                    );
                }
                for c in &list {
                    if !RISK_CLASSES.contains(&c.as_str()) {
                        ok = false;
                        problems.push(
                            v.span.start,
                            format!(
                                "exceptions[].allow_classes: unknown class `{}`; known: {}",
                                c.escape_debug(),
                                RISK_CLASSES.join(", ")
                            ),
                        );
                    }
                }
                ok.then_some(list)
            })(),
        };
        let reason = f.require("reason", problems).and_then(|v| {
            let s = problems.string(v, "exceptions[].reason")?;
            if let Some(why) = empty_reason(&s) {
                problems.push(v.span.start, format!("exceptions[].reason: {why}"));
                None
            } else {
                Some(s)
            }
        });
        let expires = f.require("expires", problems).and_then(|v| {
            // Plain, YAML 1.1 reads it as the date it is; quoted, as its text: the same date.
            let s = problems.text_as(
                v,
                "exceptions[].expires",
                &[crate::yaml::yaml11::Plain::Timestamp],
            )?;
            let format = time::macros::format_description!("[year]-[month]-[day]");
            match Date::parse(&s, &format) {
                Ok(d) => Some(d),
                Err(_) => {
                    problems.push(
                        v.span.start,
                        format!(
                            "exceptions[].expires: `{}` is not a date like 2026-12-31",
                            s.escape_debug()
                        ),
                    );
                    None
                }
            }
        });
        f.finish(problems, KEYS);
        if let (Some(module), Some(allow_classes), Some(reason), Some(expires)) =
            (module, classes, reason, expires)
        {
            out.push(Exception {
                module,
                allow_classes,
                allow_small_backup,
                reason,
                expires,
                line: item.span.start.line,
            });
        }
    }
    out
}
