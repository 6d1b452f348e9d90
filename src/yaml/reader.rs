//! Strict reading of a YAML mapping into typed values, collecting every problem with its
//! position instead of stopping at the first (the "raw, then checked" habit of cargo-deny).

use super::problems::Problems;
use super::yaml11::{self, Plain};
use super::{Node, Pos, STR_TAG, Style, Value};

// The typed readers of single values live here, beside `Fields`; the collector itself
// (`problems.rs`) is below both this file and the YAML 1.1 checks that push into it.
impl Problems {
    /// Whether the gates can read `node` as written: untagged, or a scalar tagged `!!str`
    /// (a string to every YAML reader). Any other tag changes what YAML 1.1 readers make of
    /// the value (`!!null stateless` is null to them), so it is a problem, never ignored.
    pub fn untagged(&mut self, node: &Node, what: &str) -> bool {
        match node.tag.as_deref() {
            None => true,
            Some(STR_TAG) if matches!(node.value, Value::Scalar { .. }) => true,
            Some(tag) => {
                self.push_once(
                    node.span.start,
                    format!(
                        "{what}: the tag `{}` changes how YAML 1.1 readers read this value; the gates refuse it: remove the tag",
                        yaml11::short_tag(tag),
                    ),
                );
                false
            }
        }
    }

    /// A string scalar (plain, quoted, or tagged `!!str`). A plain scalar that YAML 1.1
    /// readers take for something else (`no`, `on`, `~`, `0123`, `2026-05-17`) is refused, so
    /// `name: 123` or `restart: no` never turns into a string by accident.
    pub fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        self.text_as(node, what, &[])
    }

    /// Like [`Problems::string`], but plain scalars that YAML 1.1 resolves to one of `also`
    /// are accepted as their text (a date field reads `2026-12-31` as the date it is).
    pub fn text_as(&mut self, node: &Node, what: &str, also: &[Plain]) -> Option<String> {
        if !self.untagged(node, what) {
            return None;
        }
        match &node.value {
            Value::Scalar { text, style } => {
                if *style == Style::Plain && node.tag.is_none() {
                    let plain = yaml11::resolve_plain(text);
                    if plain != Plain::Str && !also.contains(&plain) {
                        self.push(
                            node.span.start,
                            format!(
                                "{what}: expected a string, found `{}`, which YAML 1.1 readers read as {}: quote it if you mean the text",
                                text.escape_debug(),
                                plain.describe()
                            ),
                        );
                        return None;
                    }
                }
                Some(text.clone())
            }
            _ => {
                self.push(
                    node.span.start,
                    format!("{what}: expected a string, found a {}", node.kind_name()),
                );
                None
            }
        }
    }

    /// A plain `true` or `false`; `yes`, `True`, `"true"` and the like are problems.
    pub fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        if !self.untagged(node, what) {
            return None;
        }
        let found = node.as_bool();
        if found.is_none() {
            self.push(
                node.span.start,
                format!(
                    "{what}: expected `true` or `false`, found {}",
                    describe(node)
                ),
            );
        }
        found
    }

    /// A non-negative whole number written plain, in decimal. YAML 1.1 reads `010` as the
    /// octal 8 and `1:30` as 90, so only plain decimals are taken, and a leading zero is refused.
    pub fn unsigned(&mut self, node: &Node, what: &str) -> Option<u64> {
        if !self.untagged(node, what) {
            return None;
        }
        if let Value::Scalar {
            text,
            style: Style::Plain,
        } = &node.value
            && node.tag.is_none()
            && yaml11::resolve_plain(text) == Plain::Int
        {
            let digits = text.strip_prefix('+').unwrap_or(text).replace('_', "");
            if digits.len() > 1 && digits.starts_with('0') {
                self.push(
                    node.span.start,
                    format!(
                        "{what}: `{}` has a leading zero, which YAML 1.1 readers read as an octal number: write it in decimal without one",
                        text.escape_debug()
                    ),
                );
                return None;
            }
            if let Ok(n) = digits.parse::<u64>() {
                return Some(n);
            }
        }
        self.push(
            node.span.start,
            format!("{what}: expected a whole number, found {}", describe(node)),
        );
        None
    }

    /// A sequence of strings.
    pub fn strings(&mut self, node: &Node, what: &str) -> Option<Vec<String>> {
        if !self.untagged(node, what) {
            return None;
        }
        let Some(items) = node.as_seq() else {
            self.push(
                node.span.start,
                format!("{what}: expected a list, found {}", describe(node)),
            );
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items {
            match self.string(item, what) {
                Some(s) => out.push(s),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// A string that must be one of `allowed`.
    pub fn one_of(&mut self, node: &Node, what: &str, allowed: &[&str]) -> Option<String> {
        let value = self.string(node, what)?;
        if allowed.contains(&value.as_str()) {
            Some(value)
        } else {
            self.push(
                node.span.start,
                format!(
                    "{what}: unknown value `{}`; expected one of: {}",
                    value.escape_debug(),
                    allowed.join(", ")
                ),
            );
            None
        }
    }
}

fn describe(node: &Node) -> String {
    match node.as_str() {
        Some(text) => format!("`{}`", text.escape_debug()),
        None => format!("a {}", node.kind_name()),
    }
}

/// The keys of one mapping, taken one by one; whatever is left at `finish` is unknown.
pub struct Fields<'a> {
    entries: &'a [(Node, Node)],
    taken: Vec<bool>,
    context: String,
    pos: Pos,
}

impl<'a> Fields<'a> {
    /// `None` (and a problem) when `node` is not a mapping. A tag on the mapping, and a key
    /// that YAML 1.1 readers do not read as the plain string the gates look up (a merge key
    /// `<<`, a tagged key, a sequence or mapping as a key), are problems: the gates never
    /// read a mapping whose keys could mean something else.
    pub fn new(node: &'a Node, context: &str, problems: &mut Problems) -> Option<Fields<'a>> {
        if !problems.untagged(node, context) {
            return None;
        }
        match node.as_map() {
            Some(entries) => {
                for (key, _) in entries {
                    if yaml11::is_merge_key(key) {
                        problems.push_once(
                            key.span.start,
                            format!(
                                "{context}: a merge key (`<<`) where the gates read: YAML 1.1 readers merge its mapping in, so write those keys out here instead"
                            ),
                        );
                    } else if !matches!(key.value, Value::Scalar { .. }) {
                        problems.push_once(
                            key.span.start,
                            format!(
                                "{context}: a {} used as a key; use a plain string key",
                                key.kind_name()
                            ),
                        );
                    } else {
                        problems.untagged(key, &format!("{context}: a key"));
                    }
                }
                Some(Fields {
                    entries,
                    taken: vec![false; entries.len()],
                    context: context.to_string(),
                    pos: node.span.start,
                })
            }
            None => {
                problems.push(
                    node.span.start,
                    format!("{context}: expected a mapping, found {}", describe(node)),
                );
                None
            }
        }
    }

    /// Where the mapping starts, for problems about a missing key.
    pub fn pos(&self) -> Pos {
        self.pos
    }

    pub fn context(&self) -> &str {
        &self.context
    }

    /// The value of `key`, marking it as known. A present-but-null value counts as absent,
    /// unless it is tagged: the caller then refuses the tag (`!!null stateless`).
    pub fn take(&mut self, key: &str) -> Option<&'a Node> {
        let mut found = None;
        for (i, (k, v)) in self.entries.iter().enumerate() {
            if k.as_str() == Some(key) {
                self.taken[i] = true;
                if found.is_none() && (!v.is_null() || v.tag.is_some()) {
                    found = Some(v);
                }
            }
        }
        found
    }

    /// Like `take`, but a missing key is a problem.
    pub fn require(&mut self, key: &str, problems: &mut Problems) -> Option<&'a Node> {
        let found = self.take(key);
        if found.is_none() {
            problems.push(
                self.pos,
                format!("{}: missing required key `{key}`", self.context),
            );
        }
        found
    }

    /// Report every key that was not taken.
    pub fn finish(self, problems: &mut Problems, known: &[&str]) {
        for (i, (k, _)) in self.entries.iter().enumerate() {
            if !self.taken[i] {
                let name = k.as_str().unwrap_or("<non-scalar key>");
                problems.push(
                    k.span.start,
                    format!(
                        "{}: unknown key `{}`; known keys: {}",
                        self.context,
                        name.escape_debug(),
                        known.join(", ")
                    ),
                );
            }
        }
    }

    /// Every key that was not taken, for readers that keep unknown keys (manifests).
    pub fn ignore_rest(self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse;

    #[test]
    fn unknown_keys_are_reported_with_their_line() {
        let root = parse("a: 1\nzz: 2\nyy: 3\n").unwrap().root.unwrap();
        let mut problems = Problems::default();
        let mut fields = Fields::new(&root, "policy", &mut problems).unwrap();
        fields.take("a");
        fields.finish(&mut problems, &["a"]);
        assert_eq!(problems.items.len(), 2);
        assert_eq!(problems.items[0].pos.line, 2);
        assert!(problems.items[0].message.contains("`zz`"));
        assert_eq!(problems.items[1].pos.line, 3);
    }

    #[test]
    fn strict_booleans() {
        let root = parse("a: yes\nb: \"true\"\nc: false\n")
            .unwrap()
            .root
            .unwrap();
        let mut problems = Problems::default();
        assert_eq!(problems.boolean(root.get("a").unwrap(), "a"), None);
        assert_eq!(problems.boolean(root.get("b").unwrap(), "b"), None);
        assert_eq!(problems.boolean(root.get("c").unwrap(), "c"), Some(false));
        assert_eq!(problems.items.len(), 2);
    }

    #[test]
    fn one_of_rejects_misspelling() {
        let root = parse("s: statefull\n").unwrap().root.unwrap();
        let mut problems = Problems::default();
        let got = problems.one_of(root.get("s").unwrap(), "s", &["stateless", "stateful"]);
        assert_eq!(got, None);
        assert!(problems.items[0].message.contains("statefull"));
    }
}
