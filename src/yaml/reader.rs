//! Strict reading of a YAML mapping into typed values, collecting every problem with its
//! position instead of stopping at the first (the "raw, then checked" habit of cargo-deny).

use super::{Node, Pos, Style, Value};

/// One thing wrong with a YAML input, at a position.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub pos: Pos,
    pub message: String,
}

/// Every problem found while reading one file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Problems {
    pub items: Vec<Problem>,
}

impl Problems {
    pub fn push(&mut self, pos: Pos, message: impl Into<String>) {
        self.items.push(Problem {
            pos,
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// `file:line:col: message` lines, for an error message.
    pub fn render(&self, file: &str) -> String {
        self.items
            .iter()
            .map(|p| format!("{file}:{}:{}: {}", p.pos.line, p.pos.col, p.message))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A string scalar (plain or quoted). Booleans, numbers and nulls written plain are
    /// refused, so `name: 123` or `name: true` never turns into a string by accident.
    pub fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            Value::Scalar { text, style } => {
                if *style == Style::Plain && (node.is_null() || node.as_bool().is_some()) {
                    self.push(
                        node.span.start,
                        format!("{what}: expected a string, found `{text}`"),
                    );
                    return None;
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

    /// A non-negative whole number written plain.
    pub fn unsigned(&mut self, node: &Node, what: &str) -> Option<u64> {
        if let Value::Scalar {
            text,
            style: Style::Plain,
        } = &node.value
            && let Ok(n) = text.replace('_', "").parse::<u64>()
        {
            return Some(n);
        }
        self.push(
            node.span.start,
            format!("{what}: expected a whole number, found {}", describe(node)),
        );
        None
    }

    /// A sequence of strings.
    pub fn strings(&mut self, node: &Node, what: &str) -> Option<Vec<String>> {
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
    /// `None` (and a problem) when `node` is not a mapping.
    pub fn new(node: &'a Node, context: &str, problems: &mut Problems) -> Option<Fields<'a>> {
        match node.as_map() {
            Some(entries) => Some(Fields {
                entries,
                taken: vec![false; entries.len()],
                context: context.to_string(),
                pos: node.span.start,
            }),
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

    /// The value of `key`, marking it as known. A present-but-null value counts as absent.
    pub fn take(&mut self, key: &str) -> Option<&'a Node> {
        let mut found = None;
        for (i, (k, v)) in self.entries.iter().enumerate() {
            if k.as_str() == Some(key) {
                self.taken[i] = true;
                if found.is_none() && !v.is_null() {
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
