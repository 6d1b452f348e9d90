//! The library's module graph has no cycle: a lower layer never names a higher one.
//!
//! Every file under `src/` belongs to a top-level module (`src/report/code.rs` to `report`,
//! `src/clock.rs` to `clock`). A path that names another top-level module (`crate::policy`,
//! `use crate::{model::Plan, report}`, `$crate::report` in a macro) is an edge from the file's
//! module to that one. Comments, strings and character literals are skipped, so a doc link or
//! a message does not count. The graph of edges must be acyclic; when it is not, the test
//! names the cycle and the files behind each of its edges. `docs/architecture.md` describes
//! the layers this order gives.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Edges that still close a cycle, each with the move that removes it. Keep this empty: an
/// entry is a debt with a named owner, not a way to accept a new cycle.
const KNOWN_EXCEPTIONS: &[(&str, &str, &str)] = &[];

/// Files that are not part of the library's layering: the crate root declares every module
/// and the binaries sit above all of them (they use the crate by name, not `crate::`).
fn layered_module(relative: &Path) -> Option<String> {
    let mut parts = relative.components();
    let first = parts.next()?.as_os_str().to_str()?;
    if first == "lib.rs" || first == "bin" || first == "main.rs" {
        return None;
    }
    Some(first.strip_suffix(".rs").unwrap_or(first).to_owned())
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The source with comments, string literals and character literals blanked out (replaced
/// by spaces), so only code is searched for paths.
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0usize;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
        } else if (c == 'r' || (c == 'b' && next == Some('r')))
            && !chars
                .get(i.wrapping_sub(1))
                .is_some_and(|p| i > 0 && (p.is_alphanumeric() || *p == '_'))
            && raw_string_hashes(&chars, if c == 'b' { i + 1 } else { i }).is_some()
        {
            let start = if c == 'b' { i + 1 } else { i };
            let hashes = raw_string_hashes(&chars, start).unwrap_or(0);
            // r, hashes, opening quote
            let mut j = start + 1 + hashes + 1;
            while j < chars.len() {
                if chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            for &skipped in &chars[i..j.min(chars.len())] {
                blank(&mut out, skipped);
            }
            i = j;
        } else if c == '"' {
            blank(&mut out, c);
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
            if i < chars.len() {
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{1F600}', '"') or a lifetime ('a).
            let literal_end = if next == Some('\\') {
                chars[i + 2..]
                    .iter()
                    .position(|&q| q == '\'')
                    .map(|p| i + 2 + p + 1)
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 3)
            } else {
                None
            };
            match literal_end {
                Some(end) => {
                    for &skipped in &chars[i..end] {
                        blank(&mut out, skipped);
                    }
                    i = end;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// At `chars[start] == 'r'`: the number of `#` before the opening quote of a raw string.
fn raw_string_hashes(chars: &[char], start: usize) -> Option<usize> {
    if chars.get(start) != Some(&'r') {
        return None;
    }
    let hashes = chars[start + 1..].iter().take_while(|&&c| c == '#').count();
    (chars.get(start + 1 + hashes) == Some(&'"')).then_some(hashes)
}

fn identifier_at(chars: &[char], mut i: usize) -> (String, usize) {
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    let start = i;
    while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
        i += 1;
    }
    (chars[start..i].iter().collect(), i)
}

/// The top-level modules a file's code names through `crate::`.
fn referenced_modules(code: &str) -> BTreeSet<String> {
    let chars: Vec<char> = code.chars().collect();
    let mut found = BTreeSet::new();
    let needle: Vec<char> = "crate".chars().collect();
    let mut i = 0;
    while i + needle.len() <= chars.len() {
        let word_start = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if !(word_start && chars[i..i + needle.len()] == needle[..]) {
            i += 1;
            continue;
        }
        let mut j = i + needle.len();
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        if !(chars.get(j) == Some(&':') && chars.get(j + 1) == Some(&':')) {
            i += needle.len();
            continue;
        }
        j += 2;
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        if chars.get(j) == Some(&'{') {
            // `crate::{a::b, c, d::{e, f}}`: the first segment of every top-level item.
            let mut depth = 0usize;
            let mut expect_item = true;
            while j < chars.len() {
                match chars[j] {
                    '{' => {
                        depth += 1;
                        expect_item = depth == 1;
                        j += 1;
                    }
                    '}' => {
                        depth -= 1;
                        j += 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' => {
                        expect_item = depth == 1;
                        j += 1;
                    }
                    c if c.is_whitespace() => j += 1,
                    _ if expect_item => {
                        let (name, end) = identifier_at(&chars, j);
                        if !name.is_empty() && name != "self" {
                            found.insert(name);
                        }
                        expect_item = false;
                        j = end.max(j + 1);
                    }
                    _ => j += 1,
                }
            }
        } else {
            let (name, end) = identifier_at(&chars, j);
            if !name.is_empty() && name != "self" {
                found.insert(name);
            }
            j = end;
        }
        i = j.max(i + 1);
    }
    found
}

/// module -> (module it names -> files that name it)
type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

fn module_graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    assert!(
        files.len() > 20,
        "expected the library's sources under {}, found {} files",
        src.display(),
        files.len()
    );
    let mut graph = Graph::new();
    for file in files {
        let relative = file.strip_prefix(src).expect("file under src");
        let Some(module) = layered_module(relative) else {
            continue;
        };
        let source =
            fs::read_to_string(&file).unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
        let edges = graph.entry(module.clone()).or_default();
        for target in referenced_modules(&code_only(&source)) {
            if target != module {
                edges
                    .entry(target)
                    .or_default()
                    .insert(format!("src/{}", relative.display()));
            }
        }
    }
    graph
}

/// Strongly connected components with more than one module (Tarjan's algorithm).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        components: Vec<Vec<String>>,
    }
    fn visit<'g>(state: &mut State<'g>, node: &'g str) {
        let next = state.index.len();
        state.index.insert(node, next);
        state.low.insert(node, next);
        state.stack.push(node);
        state.on_stack.insert(node);
        let targets: Vec<&'g str> = state
            .graph
            .get(node)
            .map(|edges| edges.keys().map(String::as_str).collect())
            .unwrap_or_default();
        for target in targets {
            if !state.index.contains_key(target) {
                visit(state, target);
                let low = state.low[node].min(state.low[target]);
                state.low.insert(node, low);
            } else if state.on_stack.contains(target) {
                let low = state.low[node].min(state.index[target]);
                state.low.insert(node, low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = Vec::new();
            while let Some(member) = state.stack.pop() {
                state.on_stack.remove(member);
                component.push(member.to_owned());
                if member == node {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                state.components.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for node in graph.keys() {
        if !state.index.contains_key(node.as_str()) {
            visit(&mut state, node);
        }
    }
    state.components
}

/// One concrete loop inside a component, `a -> b -> ... -> a`, found breadth-first so it is
/// the shortest loop through the component's first module.
fn one_loop(graph: &Graph, component: &[String]) -> Vec<String> {
    let members: BTreeSet<&str> = component.iter().map(String::as_str).collect();
    let start = component[0].as_str();
    let mut previous: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for target in graph.get(node).into_iter().flat_map(|e| e.keys()) {
            let target = target.as_str();
            if !members.contains(target) {
                continue;
            }
            if target == start {
                let mut path = vec![start.to_owned()];
                let mut at = node;
                while at != start {
                    path.push(at.to_owned());
                    at = previous[at];
                }
                path.push(start.to_owned());
                path.reverse();
                return path;
            }
            if !previous.contains_key(target) {
                previous.insert(target, node);
                queue.push_back(target);
            }
        }
    }
    unreachable!("a strongly connected component has a loop through each member")
}

fn describe(graph: &Graph, component: &[String]) -> String {
    let path = one_loop(graph, component);
    let mut text = format!(
        "cycle among {{{}}}: {}\n",
        component.join(", "),
        path.join(" -> ")
    );
    for pair in path.windows(2) {
        let files = &graph[&pair[0]][&pair[1]];
        let files: Vec<&str> = files.iter().map(String::as_str).collect();
        text.push_str(&format!(
            "  {} -> {} named in: {}\n",
            pair[0],
            pair[1],
            files.join(", ")
        ));
    }
    let members: BTreeSet<&String> = component.iter().collect();
    text.push_str("  every edge inside it:\n");
    for from in component {
        for (to, files) in &graph[from] {
            if members.contains(to) {
                let files: Vec<&str> = files.iter().map(String::as_str).collect();
                text.push_str(&format!("    {from} -> {to}: {}\n", files.join(", ")));
            }
        }
    }
    text
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn the_library_module_graph_has_no_cycle() {
    let mut graph = module_graph(&src_dir());
    for (from, to, why) in KNOWN_EXCEPTIONS {
        let removed = graph.get_mut(*from).and_then(|edges| edges.remove(*to));
        assert!(
            removed.is_some(),
            "the known exception {from} -> {to} ({why}) no longer exists: remove it from \
             KNOWN_EXCEPTIONS"
        );
    }
    let found = cycles(&graph);
    let report: String = found.iter().map(|c| describe(&graph, c)).collect();
    assert!(
        found.is_empty(),
        "the module graph under src/ has {} cycle(s); a lower layer names a higher one \
         (see docs/architecture.md):\n{report}",
        found.len()
    );
}

#[test]
fn the_reader_sees_every_form_of_a_crate_path() {
    let code = code_only(
        "use crate::report::Code;\n\
         use crate::{\n    model::{Plan, event},\n    policy,\n    self,\n};\n\
         fn f() -> crate :: clock::Now { $crate::digest::x() }\n\
         // crate::commented\n\
         /* crate::blocked /* nested crate::deeper */ */\n\
         const S: &str = \"crate::quoted\";\n\
         const R: &str = r#\"crate::raw \"# ;\n\
         const C: char = '\"'; fn g<'a>(x: &'a str) { crate::after_quote::y(x) }\n\
         fn h() { mycrate::not_this(); }\n",
    );
    let found: Vec<String> = referenced_modules(&code).into_iter().collect();
    assert_eq!(
        found,
        [
            "after_quote",
            "clock",
            "digest",
            "model",
            "policy",
            "report"
        ]
    );
}

#[test]
fn a_cycle_is_found_and_named_with_its_files() {
    let mut graph = Graph::new();
    let mut edge = |from: &str, to: &str, file: &str| {
        graph
            .entry(from.to_owned())
            .or_default()
            .entry(to.to_owned())
            .or_default()
            .insert(file.to_owned());
    };
    edge("report", "gates", "src/report/mod.rs");
    edge("gates", "report", "src/gates/scope.rs");
    edge("gates", "model", "src/gates/scope.rs");
    edge("cli", "gates", "src/cli/scope.rs");
    let found = cycles(&graph);
    assert_eq!(found, vec![vec!["gates".to_owned(), "report".to_owned()]]);
    let text = describe(&graph, &found[0]);
    assert!(text.contains("gates -> report -> gates"), "{text}");
    assert!(
        text.contains("report -> gates named in: src/report/mod.rs"),
        "{text}"
    );
}
