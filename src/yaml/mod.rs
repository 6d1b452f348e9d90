//! YAML with positions: a small node tree built from `saphyr-parser` events.
//!
//! Every gate and the linter read YAML through this module, so the YAML crate can be swapped
//! here alone. The tree keeps each node's line and column, reports duplicate keys instead of
//! silently keeping one, and bounds depth, node count and alias expansion so that no input can
//! make a gate run long or use unbounded memory.

mod problems;
mod reader;
pub mod yaml11;

pub use problems::Problems;
pub use reader::Fields;

use saphyr_parser::{Event, Parser, ScalarStyle, Span as SaphyrSpan};

/// Limits applied while building the tree. An input beyond any of them is rejected.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Maximum nesting of sequences and mappings.
    pub max_depth: usize,
    /// Maximum number of nodes after alias expansion.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 64,
            max_nodes: 200_000,
        }
    }
}

/// A position in the source: 1-based line and column, and the character offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
    pub offset: usize,
}

/// Where a node starts and ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: Pos,
    pub end: Pos,
}

impl Span {
    fn from_saphyr(span: SaphyrSpan) -> Span {
        let pos = |m: saphyr_parser::Marker| Pos {
            line: m.line(),
            col: m.col() + 1,
            offset: m.index(),
        };
        Span {
            start: pos(span.start),
            end: pos(span.end),
        }
    }
}

/// How a scalar was written; a quoted `"true"` is a string, a plain `true` a boolean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Quoted,
    Block,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar { text: String, style: Style },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
    /// True when this node was produced by expanding an alias (`*name`).
    pub from_alias: bool,
    /// The node's tag, resolved through the document's `%TAG` directives
    /// (`!!str` is `tag:yaml.org,2002:str`); `None` when the node has none.
    pub tag: Option<String>,
}

/// The tag that makes a scalar a string for every YAML reader (`!!str`).
pub const STR_TAG: &str = "tag:yaml.org,2002:str";
/// The tag that makes any scalar null for YAML 1.1 readers (`!!null`).
pub const NULL_TAG: &str = "tag:yaml.org,2002:null";
/// The boolean tag (`!!bool`).
pub const BOOL_TAG: &str = "tag:yaml.org,2002:bool";

/// A key that appeared twice in one mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateKey {
    pub key: String,
    pub first: Span,
    pub duplicate: Span,
}

/// A parsed YAML document and what was noticed while building it.
#[derive(Debug, Clone)]
pub struct Document {
    /// `None` for an empty document (a file with only comments or nothing).
    pub root: Option<Node>,
    pub duplicates: Vec<DuplicateKey>,
    /// How many documents the stream held (only the first is kept).
    pub document_count: usize,
    /// Where the second document starts, when there is one.
    pub second_document: Option<Pos>,
    /// Where each node that carries an anchor (`&name`) starts: at its first property (the
    /// anchor or the tag), so that the anchor's name can be read from the source.
    pub anchors: Vec<Pos>,
}

/// Why a YAML text could not be turned into a tree.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    pub kind: YamlErrorKind,
    pub message: String,
    pub pos: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YamlErrorKind {
    Syntax,
    TooDeep,
    TooManyNodes,
    UnknownAlias,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.pos.line, self.pos.col, self.message
        )
    }
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// A scalar that YAML reads as null: plain `null`, `~`, `Null`, `NULL` or nothing, untagged;
    /// or any scalar tagged `!!null` (YAML 1.1 readers make it null whatever its text).
    pub fn is_null(&self) -> bool {
        match self.tag.as_deref() {
            None => matches!(&self.value, Value::Scalar { text, style: Style::Plain }
                if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL")),
            Some(tag) => tag == NULL_TAG && matches!(self.value, Value::Scalar { .. }),
        }
    }

    /// A plain untagged scalar `true` or `false`, exactly (YAML 1.2 core schema, lowercase
    /// only), or `true`/`false` tagged `!!bool`. Any other tag makes it not a boolean
    /// (`!!str true` is a string). The manifest and policy readers refuse every tag but `!!str`
    /// before they ask.
    pub fn as_bool(&self) -> Option<bool> {
        match self.tag.as_deref() {
            None => {}
            Some(BOOL_TAG) => {
                return match self.as_str() {
                    Some("true") => Some(true),
                    Some("false") => Some(false),
                    _ => None,
                };
            }
            Some(_) => return None,
        }
        match &self.value {
            Value::Scalar {
                text,
                style: Style::Plain,
            } => match text.as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value for `key` in a mapping (first occurrence).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// A short name of the node's kind, for messages.
    pub fn kind_name(&self) -> &'static str {
        match &self.value {
            Value::Scalar { .. } if self.is_null() => "null",
            Value::Scalar { .. } => "scalar",
            Value::Seq(_) => "sequence",
            Value::Map(_) => "mapping",
        }
    }
}

/// Parse the first document of `src` into a tree, with default limits.
pub fn parse(src: &str) -> Result<Document, YamlError> {
    parse_with_limits(src, Limits::default())
}

/// An open sequence or mapping. Their children wait in two stacks shared by all open frames
/// (`open_items`, `open_entries`), from `start` on, and move into a vector of their exact size
/// when the frame ends: no vector per frame that grows (and reallocates) child by child.
enum Frame {
    Seq {
        start: usize,
        span: Span,
        anchor: usize,
        tag: Option<String>,
    },
    Map {
        start: usize,
        pending_key: Option<Node>,
        span: Span,
        anchor: usize,
        tag: Option<String>,
        /// Scalar key -> its first entry, so a duplicate is found in O(1) (a mapping of
        /// 20,000 jobs must not cost 200 million comparisons). Built only once the mapping
        /// has [`KEY_INDEX_FROM`] entries: a small mapping is scanned, without allocating.
        keys: Option<std::collections::HashMap<String, usize>>,
    },
}

/// Parse with explicit limits. Builds the tree without recursion, so depth is only bounded by
/// `limits.max_depth`, never by the stack.
pub fn parse_with_limits(src: &str, limits: Limits) -> Result<Document, YamlError> {
    let mut parser = Parser::new_from_str(src);
    let mut stack: Vec<Frame> = Vec::new();
    let mut open_items: Vec<Node> = Vec::new();
    let mut open_entries: Vec<(Node, Node)> = Vec::new();
    let mut anchors: std::collections::HashMap<usize, Node> = std::collections::HashMap::new();
    let mut duplicates = Vec::new();
    let mut root: Option<Node> = None;
    let mut document_count = 0usize;
    let mut second_document = None;
    let mut anchor_starts = Vec::new();
    let mut nodes = 0usize;
    let mut in_first_document = false;

    while let Some(next) = parser.next_event() {
        let (event, raw_span) = next.map_err(|e| YamlError {
            // The scanner bounds flow nesting itself; report that as depth, not syntax.
            kind: if e.info().contains("recursion limit") {
                YamlErrorKind::TooDeep
            } else {
                YamlErrorKind::Syntax
            },
            message: e.info().to_string(),
            pos: Pos {
                line: e.marker().line(),
                col: e.marker().col() + 1,
                offset: e.marker().index(),
            },
        })?;
        let span = Span::from_saphyr(raw_span);
        let finished: Option<(Node, usize)> = match event {
            Event::StreamStart | Event::Nothing => None,
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                document_count += 1;
                if document_count == 2 {
                    second_document = Some(span.start);
                }
                in_first_document = document_count == 1;
                None
            }
            Event::DocumentEnd => {
                in_first_document = false;
                None
            }
            _ if !in_first_document => {
                // Later documents are counted but not kept; callers decide whether they matter.
                // Still bound the work by the depth and node limits.
                nodes += 1;
                if nodes > limits.max_nodes {
                    return Err(too_many(span.start, limits));
                }
                None
            }
            Event::Alias(id) => {
                let Some(target) = anchors.get(&id) else {
                    return Err(YamlError {
                        kind: YamlErrorKind::UnknownAlias,
                        message: "alias refers to an unknown anchor".into(),
                        pos: span.start,
                    });
                };
                nodes = nodes.saturating_add(count_nodes(target));
                if nodes > limits.max_nodes {
                    return Err(too_many(span.start, limits));
                }
                let mut copy = target.clone();
                copy.from_alias = true;
                copy.span = span;
                Some((copy, 0))
            }
            Event::Scalar(text, style, anchor, tag) => {
                nodes += 1;
                if nodes > limits.max_nodes {
                    return Err(too_many(span.start, limits));
                }
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Style::Quoted,
                    _ => Style::Block,
                };
                Some((
                    Node {
                        value: Value::Scalar {
                            text: text.into_owned(),
                            style,
                        },
                        span,
                        from_alias: false,
                        tag: tag.map(|t| format!("{}{}", t.handle, t.suffix)),
                    },
                    anchor,
                ))
            }
            Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                nodes += 1;
                if nodes > limits.max_nodes {
                    return Err(too_many(span.start, limits));
                }
                if stack.len() >= limits.max_depth {
                    return Err(YamlError {
                        kind: YamlErrorKind::TooDeep,
                        message: format!("nesting deeper than {} levels", limits.max_depth),
                        pos: span.start,
                    });
                }
                let tag = tag.as_ref().map(|t| format!("{}{}", t.handle, t.suffix));
                if matches!(event, Event::SequenceStart(..)) {
                    stack.push(Frame::Seq {
                        start: open_items.len(),
                        span,
                        anchor,
                        tag,
                    });
                } else {
                    stack.push(Frame::Map {
                        start: open_entries.len(),
                        pending_key: None,
                        span,
                        anchor,
                        tag,
                        keys: None,
                    });
                }
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq {
                    start,
                    mut span,
                    anchor,
                    tag,
                }) => {
                    span.end = raw_end(raw_span, span);
                    Some((
                        Node {
                            value: Value::Seq(open_items.split_off(start)),
                            span,
                            from_alias: false,
                            tag,
                        },
                        anchor,
                    ))
                }
                Some(Frame::Map {
                    start,
                    mut span,
                    anchor,
                    tag,
                    ..
                }) => {
                    span.end = raw_end(raw_span, span);
                    Some((
                        Node {
                            value: Value::Map(open_entries.split_off(start)),
                            span,
                            from_alias: false,
                            tag,
                        },
                        anchor,
                    ))
                }
                None => None,
            },
        };
        let Some((node, anchor)) = finished else {
            continue;
        };
        if anchor != 0 {
            anchor_starts.push(node.span.start);
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { .. }) => open_items.push(node),
            Some(Frame::Map {
                start,
                pending_key,
                keys,
                ..
            }) => match pending_key.take() {
                None => *pending_key = Some(node),
                Some(key) => {
                    let entries = &open_entries[*start..];
                    if let Some(name) = key.as_str() {
                        let first = match keys {
                            Some(index) => index.get(name).copied(),
                            None => entries.iter().position(|(k, _)| k.as_str() == Some(name)),
                        };
                        match first.and_then(|i| entries.get(i)) {
                            Some((first, _)) => duplicates.push(DuplicateKey {
                                key: name.to_string(),
                                first: first.span,
                                duplicate: key.span,
                            }),
                            None => {
                                if let Some(index) = keys {
                                    index.insert(name.to_string(), entries.len());
                                }
                            }
                        }
                    }
                    open_entries.push((key, node));
                    let entries = &open_entries[*start..];
                    if keys.is_none() && entries.len() >= KEY_INDEX_FROM {
                        *keys = Some(key_index(entries));
                    }
                }
            },
        }
    }
    Ok(Document {
        root,
        duplicates,
        document_count,
        second_document,
        anchors: anchor_starts,
    })
}

/// From this many entries on, a mapping's scalar keys are looked up in a hash index instead
/// of a scan of the entries (the scan allocates nothing; the index keeps the check linear).
const KEY_INDEX_FROM: usize = 16;

/// Each scalar key of `entries` -> the first entry that has it.
fn key_index(entries: &[(Node, Node)]) -> std::collections::HashMap<String, usize> {
    let mut index = std::collections::HashMap::with_capacity(entries.len() * 2);
    for (i, (k, _)) in entries.iter().enumerate() {
        if let Some(name) = k.as_str() {
            index.entry(name.to_string()).or_insert(i);
        }
    }
    index
}

fn raw_end(end_event: SaphyrSpan, start: Span) -> Pos {
    let end = Span::from_saphyr(end_event).end;
    if end.offset >= start.start.offset {
        end
    } else {
        start.end
    }
}

fn too_many(pos: Pos, limits: Limits) -> YamlError {
    YamlError {
        kind: YamlErrorKind::TooManyNodes,
        message: format!(
            "more than {} nodes (after expanding aliases); is this an alias bomb?",
            limits.max_nodes
        ),
        pos,
    }
}

fn count_nodes(node: &Node) -> usize {
    // Iterative, so a deep tree cannot overflow the stack.
    let mut count = 0usize;
    let mut todo = vec![node];
    while let Some(n) = todo.pop() {
        count += 1;
        match &n.value {
            Value::Scalar { .. } => {}
            Value::Seq(items) => todo.extend(items.iter()),
            Value::Map(entries) => {
                for (k, v) in entries {
                    todo.push(k);
                    todo.push(v);
                }
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_line_and_column_of_values() {
        let doc = parse("a: 1\nb:\n  c: hello\n").unwrap();
        let root = doc.root.unwrap();
        let c = root.get("b").unwrap().get("c").unwrap();
        assert_eq!(c.as_str(), Some("hello"));
        assert_eq!((c.span.start.line, c.span.start.col), (3, 6));
    }

    #[test]
    fn reports_duplicate_keys_with_both_positions() {
        let doc = parse("a: 1\nb: 2\na: 3\n").unwrap();
        assert_eq!(doc.duplicates.len(), 1);
        assert_eq!(doc.duplicates[0].key, "a");
        assert_eq!(doc.duplicates[0].first.start.line, 1);
        assert_eq!(doc.duplicates[0].duplicate.start.line, 3);
    }

    #[test]
    fn duplicate_keys_are_found_in_small_and_large_mappings_alike() {
        // Keys k0..k39, then k3 again (first seen while the mapping was scanned), k30 again
        // (first seen after the index was built), and "k5" quoted (the same key as k5).
        let mut text: String = (0..40).map(|i| format!("k{i}: {i}\n")).collect();
        text.push_str("k3: x\nk30: y\n\"k5\": z\n");
        let doc = parse(&text).unwrap();
        let found: Vec<(&str, usize, usize)> = doc
            .duplicates
            .iter()
            .map(|d| (d.key.as_str(), d.first.start.line, d.duplicate.start.line))
            .collect();
        assert_eq!(found, [("k3", 4, 41), ("k30", 31, 42), ("k5", 6, 43)]);
        // The same in a mapping below the index size, and none in distinct keys.
        let doc = parse("a: 1\nb: 2\nc: 3\nb: 4\na: 5\n").unwrap();
        let found: Vec<(&str, usize)> = doc
            .duplicates
            .iter()
            .map(|d| (d.key.as_str(), d.first.start.line))
            .collect();
        assert_eq!(found, [("b", 2), ("a", 1)]);
        let distinct: String = (0..100).map(|i| format!("k{i}: {i}\n")).collect();
        assert!(parse(&distinct).unwrap().duplicates.is_empty());
    }

    #[test]
    fn quoted_true_is_not_a_boolean() {
        let doc = parse("a: \"true\"\nb: true\nc: True\n").unwrap();
        let root = doc.root.unwrap();
        assert_eq!(root.get("a").unwrap().as_bool(), None);
        assert_eq!(root.get("b").unwrap().as_bool(), Some(true));
        assert_eq!(root.get("c").unwrap().as_bool(), None);
    }

    #[test]
    fn tags_decide_what_a_scalar_is() {
        let doc = parse("a: !!str true\nb: !!bool true\nc: !!null x\nd: !!str ~\ne: !foo true\n")
            .unwrap();
        let root = doc.root.unwrap();
        let get = |k: &str| root.get(k).unwrap();
        assert_eq!(get("a").as_bool(), None);
        assert!(!get("a").is_null());
        assert_eq!(get("b").as_bool(), Some(true));
        assert!(get("c").is_null());
        assert!(!get("d").is_null());
        assert_eq!(get("e").as_bool(), None);
        assert_eq!(get("a").tag.as_deref(), Some(STR_TAG));
    }

    #[test]
    fn rejects_alias_bomb() {
        let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            src.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
                p = i - 1
            ));
        }
        let err = parse(&src).unwrap_err();
        assert_eq!(err.kind, YamlErrorKind::TooManyNodes);
    }

    #[test]
    fn rejects_deep_nesting_without_overflowing() {
        let src = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let err = parse(&src).unwrap_err();
        assert_eq!(err.kind, YamlErrorKind::TooDeep);
        let block: String = (0..200)
            .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
            .collect();
        let err = parse(&block).unwrap_err();
        assert_eq!(err.kind, YamlErrorKind::TooDeep);
    }

    #[test]
    fn empty_input_has_no_root() {
        let doc = parse("# only a comment\n").unwrap();
        assert!(doc.root.is_none());
    }

    #[test]
    fn syntax_error_has_a_position() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert_eq!(err.kind, YamlErrorKind::Syntax);
        assert!(err.pos.line >= 1);
    }

    #[test]
    fn counts_documents() {
        let doc = parse("a: 1\n---\nb: 2\n").unwrap();
        assert_eq!(doc.document_count, 2);
        assert!(doc.root.unwrap().get("a").is_some());
    }
}
