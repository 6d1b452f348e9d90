//! The library's import graph has no cycle, between top-level modules and between files: a
//! lower layer never names a higher one, and no two files lean on each other.
//!
//! Every file under `src/` (but the binaries) defines a module: `src/canary/run.rs` is
//! `crate::canary::run`, `src/canary/mod.rs` is `crate::canary`, `src/lib.rs` the crate root;
//! `mod name { .. }` blocks are modules inside their file. The reader finds the paths the code
//! names: `use` trees (`use crate::{model::{Plan, event}, policy};`), paths in code
//! (`crate::clock::now()`, `$crate::report::code::Code` in a macro), paths relative to the
//! module (`super::`, `super::super::`, `self::`) and paths that start at a child module
//! (`run::check` in `canary/mod.rs`). Comments, strings and character literals are skipped,
//! so a doc link or a message does not count.
//!
//! Each path resolves to the file that defines the module it ends in (`crate::canary::run::
//! ApiOptions` to `src/canary/run.rs`). A name a module only imports (`pub use` or a private
//! `use`, which its children can reach) is followed to where it lives, when that can be
//! resolved (`crate::canary::PullRequest` to `src/model/pull_request.rs`); a glob or an
//! external name stays with the module that imports it. That gives two graphs:
//!
//! - files: an edge from each file to each other file it names, with the names it takes;
//! - top-level modules: the same edges between the top-level modules of both ends.
//!
//! Both must be acyclic, but for the edges [`parent_edge_exempt`] names (a child using what
//! its own parent module defines; `docs/architecture.md`, "Files"). When one is not, the test
//! names a loop, and behind each of its edges the names (files) that make it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// A node's edges: the nodes it names -> what makes each edge (the names a file takes, the
/// files behind a module edge).
type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

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

/// Whether `c` can be part of an identifier.
fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn skip_ws(code: &[char], mut i: usize) -> usize {
    while code.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    i
}

fn starts_with(code: &[char], i: usize, text: &str) -> bool {
    text.chars()
        .enumerate()
        .all(|(k, c)| code.get(i + k) == Some(&c))
}

/// The word that starts exactly at `i` (an identifier, or `$crate`), and where it ends; empty
/// when `i` is not the first character of a word.
fn word_at(code: &[char], i: usize) -> (String, usize) {
    if i > 0 && (ident_char(code[i - 1]) || code[i - 1] == '$') {
        return (String::new(), i);
    }
    if code.get(i) == Some(&'$') {
        let (word, end) = identifier_at(code, i + 1);
        return if word == "crate" && end == i + 6 {
            ("$crate".to_owned(), end)
        } else {
            (String::new(), i)
        };
    }
    if !code.get(i).is_some_and(|&c| ident_char(c)) {
        return (String::new(), i);
    }
    identifier_at(code, i)
}

/// `mod name { ... }` inside a file: its name and the characters of its body.
#[derive(Debug)]
struct InlineModule {
    name: String,
    open: usize,
    close: usize,
    /// Under `#[cfg(test)]`: the file's unit tests.
    test: bool,
}

fn inline_modules(code: &[char]) -> Vec<InlineModule> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < code.len() {
        let (word, after) = word_at(code, i);
        if word != "mod" {
            i = after.max(i + 1);
            continue;
        }
        let (name, end) = identifier_at(code, after);
        let open = skip_ws(code, end);
        if name.is_empty() || code.get(open) != Some(&'{') {
            i = after;
            continue;
        }
        let mut depth = 0usize;
        let mut close = code.len();
        for (k, &c) in code.iter().enumerate().skip(open) {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = k;
                        break;
                    }
                }
                _ => {}
            }
        }
        let before: String = code[..i]
            .iter()
            .rev()
            .take(64)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .filter(|c| !c.is_whitespace())
            .collect();
        let test = before
            .strip_suffix("pub")
            .unwrap_or(&before)
            .ends_with("#[cfg(test)]");
        found.push(InlineModule {
            name,
            open,
            close,
            test,
        });
        // Modules nested in this one are found as the scan goes on inside it.
        i = open + 1;
    }
    found
}

/// One leaf of a `use` tree: its path as written and the name it binds (none for a glob or
/// `as _`).
#[derive(Debug, PartialEq)]
struct UseLeaf {
    path: Vec<String>,
    binds: Option<String>,
}

/// Read a `use` tree from `*j` (just after `use`, or inside a group), leaves into `out`.
fn use_tree(code: &[char], j: &mut usize, prefix: Vec<String>, out: &mut Vec<UseLeaf>) {
    let mut segments = prefix;
    loop {
        *j = skip_ws(code, *j);
        if starts_with(code, *j, "::") {
            *j += 2;
            continue;
        }
        match code.get(*j) {
            Some('{') => {
                *j += 1;
                loop {
                    *j = skip_ws(code, *j);
                    match code.get(*j) {
                        None => return,
                        Some('}') => {
                            *j += 1;
                            return;
                        }
                        Some(',') => *j += 1,
                        _ => {
                            let before = *j;
                            use_tree(code, j, segments.clone(), out);
                            if *j == before {
                                *j += 1;
                            }
                        }
                    }
                }
            }
            Some('*') => {
                *j += 1;
                segments.push("*".to_owned());
                out.push(UseLeaf {
                    path: segments,
                    binds: None,
                });
                return;
            }
            _ => {}
        }
        let (word, end) = word_at(code, *j);
        if word.is_empty() {
            return;
        }
        segments.push(word);
        *j = end;
        let next = skip_ws(code, end);
        if starts_with(code, next, "::") {
            *j = next + 2;
            continue;
        }
        // `a::b::{self, c}` binds `b`.
        if segments.last().is_some_and(|s| s == "self") {
            segments.pop();
        }
        let mut binds = segments.last().cloned();
        let (word, after_as) = identifier_at(code, next);
        if word == "as" {
            let (alias, end) = identifier_at(code, after_as);
            binds = (alias != "_").then_some(alias);
            *j = end;
        }
        out.push(UseLeaf {
            path: segments,
            binds,
        });
        return;
    }
}

/// A path in code from `*j`: its segments up to the first that is not followed by `::` and
/// a name (`crate::a::B::<T>` gives `crate`, `a`, `B`).
fn code_path(code: &[char], j: &mut usize) -> Vec<String> {
    let mut segments = Vec::new();
    loop {
        let (word, end) = word_at(code, *j);
        if word.is_empty() {
            return segments;
        }
        segments.push(word);
        *j = end;
        let next = skip_ws(code, end);
        if !starts_with(code, next, "::") {
            return segments;
        }
        let after = skip_ws(code, next + 2);
        if !code.get(after).is_some_and(|&c| ident_char(c) || c == '$') {
            return segments;
        }
        *j = after;
    }
}

/// Whether the word at `i` can start a path: not a segment after `::`, not a method or
/// field after `.`.
fn path_may_start_at(code: &[char], i: usize) -> bool {
    let mut k = i;
    while k > 0 && code[k - 1].is_whitespace() {
        k -= 1;
    }
    !(k > 0 && (code[k - 1] == '.' || (code[k - 1] == ':' && k > 1 && code[k - 2] == ':')))
}

/// What one file says: the module it defines, and the paths it names.
struct SourceFile {
    /// As the report names it: `src/canary/run.rs`.
    name: String,
    module: Vec<String>,
    code: Vec<char>,
    inline: Vec<InlineModule>,
}

impl SourceFile {
    /// The module the code at `i` is in (the file's, or an inline module inside it).
    fn module_at(&self, i: usize) -> Vec<String> {
        let mut module = self.module.clone();
        for m in &self.inline {
            if m.open < i && i < m.close {
                module.push(m.name.clone());
            }
        }
        module
    }

    /// Whether `i` is at the top level of the module it is in (not inside a function), where
    /// a `use` binds a name other modules can reach.
    fn at_module_level(&self, i: usize) -> bool {
        let innermost = self
            .inline
            .iter()
            .filter(|m| m.open < i && i < m.close)
            .map(|m| m.open + 1)
            .max()
            .unwrap_or(0);
        let mut depth = 0i64;
        for &c in &self.code[innermost..i] {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
        }
        depth == 0
    }

    /// The graph's node for the code at `i`: the file, or for its unit tests (a
    /// `#[cfg(test)]` module) a node of their own, `src/a.rs#tests`. Nothing in the library
    /// names a test module, so its edges cannot close a loop; they still count between
    /// top-level modules.
    fn node_at(&self, i: usize) -> String {
        match self
            .inline
            .iter()
            .find(|m| m.test && m.open < i && i < m.close)
        {
            Some(m) => format!("{}#{}", self.name, m.name),
            None => self.name.clone(),
        }
    }

    fn line_at(&self, i: usize) -> usize {
        1 + self.code[..i].iter().filter(|&&c| c == '\n').count()
    }
}

/// The module path a file under `src/` defines; `None` for the binaries.
fn file_module(relative: &Path) -> Option<Vec<String>> {
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_str().map(str::to_owned))
        .collect::<Option<_>>()?;
    let (last, dirs) = parts.split_last()?;
    if dirs.first().is_some_and(|d| d == "bin") || (dirs.is_empty() && last == "main.rs") {
        return None;
    }
    let mut module = dirs.to_vec();
    match last.as_str() {
        "lib.rs" if dirs.is_empty() => {}
        "mod.rs" => {}
        other => module.push(other.strip_suffix(".rs")?.to_owned()),
    }
    Some(module)
}

/// A path a file names, made absolute (from the crate root), and the line it is on.
struct Named {
    file: String,
    line: usize,
    path: Vec<String>,
}

/// The crate as the reader sees it: its modules, the names their `use` items bind, and every
/// path its files name.
#[derive(Default)]
struct Crate {
    /// module -> the file that defines it (an inline module: the file it is in)
    modules: BTreeMap<Vec<String>, String>,
    /// module -> name a module-level `use` binds -> the absolute path it stands for
    bindings: BTreeMap<Vec<String>, BTreeMap<String, Vec<String>>>,
    named: Vec<Named>,
}

impl Crate {
    /// Read `(path under the crate, source)` pairs, e.g. `("src/canary/run.rs", "...")`.
    fn read(files: &[(String, String)]) -> Crate {
        let mut krate = Crate::default();
        let mut parsed = Vec::new();
        for (name, source) in files {
            let Some(relative) = name.strip_prefix("src/") else {
                panic!("{name} is not under src/");
            };
            let Some(module) = file_module(Path::new(relative)) else {
                continue;
            };
            let code: Vec<char> = code_only(source).chars().collect();
            let inline = inline_modules(&code);
            let file = SourceFile {
                name: name.clone(),
                module,
                code,
                inline,
            };
            krate.modules.insert(file.module.clone(), name.clone());
            for m in &file.inline {
                krate
                    .modules
                    .insert(file.module_at(m.open + 1), file.node_at(m.open + 1));
            }
            parsed.push(file);
        }
        for file in &parsed {
            krate.scan(file);
        }
        krate
    }

    /// `path` as written in `module`, from the crate root; `None` when it does not start in
    /// this crate (`std::`, `clap::`, a local name).
    fn absolute(&self, module: &[String], path: &[String]) -> Option<Vec<String>> {
        let first = path.first()?.as_str();
        match first {
            "crate" | "$crate" => Some(path[1..].to_vec()),
            "self" => Some([module, &path[1..]].concat()),
            "super" => {
                let mut base = module.to_vec();
                let mut rest = path;
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop()?;
                    rest = &rest[1..];
                }
                Some([base.as_slice(), rest].concat())
            }
            _ => {
                let child = [module, &path[..1]].concat();
                self.modules
                    .contains_key(&child)
                    .then(|| [module, path].concat())
            }
        }
    }

    fn scan(&mut self, file: &SourceFile) {
        let code = &file.code;
        let mut i = 0;
        while i < code.len() {
            let (word, after) = word_at(code, i);
            if word.is_empty() {
                i += 1;
                continue;
            }
            let here = file.module_at(i);
            if word == "use" && code.get(skip_ws(code, after)) != Some(&'<') {
                let mut leaves = Vec::new();
                let mut j = after;
                use_tree(code, &mut j, Vec::new(), &mut leaves);
                let module_level = file.at_module_level(i);
                for leaf in leaves {
                    let Some(path) = self.absolute(&here, &leaf.path) else {
                        continue;
                    };
                    if let (Some(name), true) = (leaf.binds, module_level) {
                        self.bindings
                            .entry(here.clone())
                            .or_default()
                            .insert(name, path.clone());
                    }
                    self.named.push(Named {
                        file: file.node_at(i),
                        line: file.line_at(i),
                        path,
                    });
                }
                i = j.max(after);
                continue;
            }
            let next = skip_ws(code, after);
            if starts_with(code, next, "::") && path_may_start_at(code, i) {
                let mut j = i;
                let written = code_path(code, &mut j);
                if written.len() >= 2
                    && let Some(path) = self.absolute(&here, &written)
                {
                    self.named.push(Named {
                        file: file.node_at(i),
                        line: file.line_at(i),
                        path,
                    });
                }
                i = j.max(after);
                continue;
            }
            i = after;
        }
    }

    /// The module an absolute path ends in, after following imported names to where they
    /// live, and the name taken from it (the module's own name when the path is a module).
    fn resolve(&self, path: &[String], depth: usize) -> (Vec<String>, String) {
        let mut module: Vec<String> = Vec::new();
        for (k, segment) in path.iter().enumerate() {
            let child = [module.as_slice(), std::slice::from_ref(segment)].concat();
            if self.modules.contains_key(&child) {
                module = child;
                continue;
            }
            // A name this module imports: follow it (a bounded number of times, so that
            // `use a as b; use b as a;` cannot loop), else it stays with the importer.
            if depth < 16
                && let Some(target) = self.bindings.get(&module).and_then(|b| b.get(segment))
                && target.as_slice() != &path[..=k]
            {
                let followed = [target.as_slice(), &path[k + 1..]].concat();
                return self.resolve(&followed, depth + 1);
            }
            return (module, segment.clone());
        }
        let name = module.last().cloned().unwrap_or_else(|| "crate".to_owned());
        (module, name)
    }

    /// file -> (file it names -> the names it takes from it, with the line of each)
    fn file_graph(&self) -> Graph {
        let mut graph = Graph::new();
        for file in self.modules.values() {
            graph.entry(file.clone()).or_default();
        }
        for named in &self.named {
            // `use crate::{self}` names the crate itself, not its root file's items.
            if named.path.is_empty() {
                continue;
            }
            let (module, name) = self.resolve(&named.path, 0);
            let Some(target) = self.modules.get(&module) else {
                continue;
            };
            if *target != named.file {
                graph
                    .entry(named.file.clone())
                    .or_default()
                    .entry(target.clone())
                    .or_default()
                    .insert(format!("{name} (line {})", named.line));
            }
        }
        graph
    }
}

/// The top-level module a file belongs to (`src/report/code.rs`: `report`); `None` for the
/// crate root, which declares every module and names none.
fn top_level(node: &str) -> Option<String> {
    let file = node.split('#').next()?;
    let relative = file.strip_prefix("src/")?;
    if relative == "lib.rs" {
        return None;
    }
    let first = relative.split('/').next()?;
    Some(first.strip_suffix(".rs").unwrap_or(first).to_owned())
}

/// module -> (module it names -> files that name it), from the file graph.
fn module_graph(files: &Graph) -> Graph {
    let mut graph = Graph::new();
    for (from, edges) in files {
        let Some(from_module) = top_level(from) else {
            continue;
        };
        let out = graph.entry(from_module.clone()).or_default();
        for to in edges.keys() {
            if let Some(to_module) = top_level(to)
                && to_module != from_module
            {
                out.entry(to_module).or_default().insert(from.clone());
            }
        }
    }
    graph
}

/// Whether the file edge `from -> to` is a child using what its own parent module defines:
/// `from` is the file of `crate::a::b` (`a/b.rs` or `a/b/mod.rs`) and `to` is `a/mod.rs`,
/// the file of `crate::a`. That is the usual Rust layout: a module's `mod.rs` declares its
/// children, keeps what they share (a context type, a refusal type, the codes of the area)
/// and calls them; the children take what it keeps. Such an edge is left out of the file
/// graph, so a loop through it is not seen either: a `mod.rs` keeps only what its children
/// share. Nothing else is exempt: not a grandchild using `a/mod.rs`, not a parent using its
/// child, not a sibling, not the crate root, not a name the parent only re-exports (that
/// resolves to the file the item lives in, and the edge goes there).
fn parent_edge_exempt(from: &str, to: &str) -> bool {
    let (Some(child), Some(parent)) = (
        from.strip_prefix("src/")
            .and_then(|r| file_module(Path::new(r))),
        to.strip_prefix("src/")
            .and_then(|r| file_module(Path::new(r))),
    ) else {
        return false;
    };
    !parent.is_empty()
        && to.ends_with("/mod.rs")
        && child.len() == parent.len() + 1
        && child.starts_with(&parent)
}

fn read_crate(src: &Path) -> Crate {
    let mut paths = Vec::new();
    rust_files(src, &mut paths);
    assert!(
        paths.len() > 20,
        "expected the library's sources under {}, found {} files",
        src.display(),
        paths.len()
    );
    let files: Vec<(String, String)> = paths
        .iter()
        .map(|path| {
            let relative = path.strip_prefix(src).expect("file under src");
            let source = fs::read_to_string(path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            (format!("src/{}", relative.display()), source)
        })
        .collect();
    Crate::read(&files)
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

/// A loop in `component` and every edge inside it, each with its labels (`takes` for the
/// names behind a file edge, `named in` for the files behind a module edge).
fn describe(graph: &Graph, component: &[String], labels: &str) -> String {
    let path = one_loop(graph, component);
    let mut text = format!(
        "cycle among {{{}}}:\n  {}\n",
        component.join(", "),
        path.join(" -> ")
    );
    for pair in path.windows(2) {
        let names: Vec<&str> = graph[&pair[0]][&pair[1]]
            .iter()
            .map(String::as_str)
            .collect();
        text.push_str(&format!(
            "  {} -> {} {labels}: {}\n",
            pair[0],
            pair[1],
            names.join(", ")
        ));
    }
    if component.len() > 2 {
        let members: BTreeSet<&String> = component.iter().collect();
        text.push_str("  every edge inside it:\n");
        for from in component {
            for (to, names) in &graph[from] {
                if members.contains(to) {
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    text.push_str(&format!("    {from} -> {to}: {}\n", names.join(", ")));
                }
            }
        }
    }
    text
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_two_files_of_the_library_name_each_other_in_a_loop() {
    let mut graph = read_crate(&src_dir()).file_graph();
    for (from, edges) in &mut graph {
        edges.retain(|to, _| !parent_edge_exempt(from, to));
    }
    let found = cycles(&graph);
    let report: String = found.iter().map(|c| describe(&graph, c, "takes")).collect();
    assert!(
        found.is_empty(),
        "{} cycle(s) between files under src/: move the item both sides need to where it \
         belongs (a lower module, or beside the code that produces it), see \
         docs/architecture.md:\n{report}",
        found.len()
    );
}

#[test]
fn the_library_module_graph_has_no_cycle() {
    let graph = module_graph(&read_crate(&src_dir()).file_graph());
    let found = cycles(&graph);
    let report: String = found
        .iter()
        .map(|c| describe(&graph, c, "named in"))
        .collect();
    assert!(
        found.is_empty(),
        "the module graph under src/ has {} cycle(s); a lower layer names a higher one \
         (see docs/architecture.md):\n{report}",
        found.len()
    );
}

/// A crate from `(file, source)` pairs, for the reader's own tests.
fn crate_of(files: &[(&str, &str)]) -> Crate {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(name, source)| ((*name).to_owned(), (*source).to_owned()))
        .collect();
    Crate::read(&files)
}

/// The edges of `graph` as `from -> to: labels` lines.
fn edges(graph: &Graph) -> Vec<String> {
    graph
        .iter()
        .flat_map(|(from, edges)| {
            edges.iter().map(move |(to, labels)| {
                let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
                format!("{from} -> {to}: {}", labels.join(", "))
            })
        })
        .collect()
}

#[test]
fn the_reader_sees_every_form_of_a_crate_path_and_skips_comments_and_literals() {
    let krate = crate_of(&[
        (
            "src/lib.rs",
            "pub mod a; pub mod report; pub mod model; pub mod policy; pub mod clock; pub mod digest; pub mod after_quote;",
        ),
        (
            "src/a.rs",
            "use crate::report::Code;\n\
             use crate::{\n    model::{Plan, event},\n    policy,\n    self,\n};\n\
             fn f() -> crate :: clock::Now { $crate::digest::x() }\n\
             // crate::commented\n\
             /* crate::blocked /* nested crate::deeper */ */\n\
             const S: &str = \"crate::quoted\";\n\
             const R: &str = r#\"crate::raw \"# ;\n\
             const C: char = '\"'; fn g<'a>(x: &'a str) { crate::after_quote::y(x) }\n\
             fn h() { mycrate::not_this(); std::crate_like::x(); x.report::<u8>(); }\n",
        ),
        ("src/report.rs", ""),
        ("src/model.rs", "pub mod event;"),
        ("src/model/event.rs", ""),
        ("src/policy.rs", ""),
        ("src/clock.rs", ""),
        ("src/digest.rs", ""),
        ("src/after_quote.rs", ""),
    ]);
    assert_eq!(
        edges(&krate.file_graph()),
        [
            "src/a.rs -> src/after_quote.rs: y (line 12)",
            "src/a.rs -> src/clock.rs: Now (line 7)",
            "src/a.rs -> src/digest.rs: x (line 7)",
            "src/a.rs -> src/model.rs: Plan (line 2)",
            "src/a.rs -> src/model/event.rs: event (line 2)",
            "src/a.rs -> src/policy.rs: policy (line 2)",
            "src/a.rs -> src/report.rs: Code (line 1)",
        ]
    );
}

#[test]
fn super_self_child_and_nested_paths_resolve_to_the_file_of_their_module() {
    let krate = crate_of(&[
        ("src/lib.rs", "pub mod gates; pub mod paths;"),
        ("src/paths.rs", "pub fn check_path() {}"),
        (
            "src/gates/mod.rs",
            "pub mod checks; pub mod scope;\n\
             pub struct Request;\n\
             pub fn run() { checks::size::run(); self::scope::of(); }\n",
        ),
        ("src/gates/checks/mod.rs", "pub mod size;"),
        (
            "src/gates/checks/size.rs",
            "use super::super::{Request, scope::{self, Scope}};\n\
             use crate::gates::checks::size as me;\n\
             fn f() { super::super::super::paths::check_path(); }\n\
             mod tests {\n    use super::*;\n    use super::super::SIBLING;\n}\n",
        ),
        ("src/gates/scope.rs", "pub struct Scope; pub fn of() {}"),
    ]);
    assert_eq!(
        edges(&krate.file_graph()),
        [
            "src/gates/checks/size.rs -> src/gates/checks/mod.rs: SIBLING (line 6)",
            "src/gates/checks/size.rs -> src/gates/mod.rs: Request (line 1)",
            "src/gates/checks/size.rs -> src/gates/scope.rs: Scope (line 1), scope (line 1)",
            "src/gates/checks/size.rs -> src/paths.rs: check_path (line 3)",
            "src/gates/mod.rs -> src/gates/checks/size.rs: run (line 3)",
            "src/gates/mod.rs -> src/gates/scope.rs: of (line 3)",
        ]
    );
}

#[test]
fn an_imported_name_is_followed_to_where_it_lives_when_it_can_be() {
    let krate = crate_of(&[
        ("src/lib.rs", "pub mod canary; pub mod model;"),
        (
            "src/model/mod.rs",
            "pub mod pull_request; pub use pull_request::PullRequest;",
        ),
        ("src/model/pull_request.rs", "pub struct PullRequest;"),
        (
            "src/canary/mod.rs",
            "pub mod run; pub mod publish;\n\
             pub use crate::model::PullRequest;\n\
             use crate::model::*;\n\
             pub use run::Options as RunOptions;\n\
             fn local() { use crate::model::pull_request::PullRequest as Hidden; }\n",
        ),
        ("src/canary/run.rs", "pub struct Options;"),
        (
            "src/canary/publish.rs",
            "use super::{PullRequest, RunOptions, Glob, Hidden};\n",
        ),
    ]);
    let graph = krate.file_graph();
    let from_publish: Vec<String> = edges(&graph)
        .into_iter()
        .filter(|e| e.starts_with("src/canary/publish.rs"))
        .collect();
    // The re-exports are followed through two files; a name the parent only has through a
    // glob, or imports inside a function, stays with the parent.
    assert_eq!(
        from_publish,
        [
            "src/canary/publish.rs -> src/canary/mod.rs: Glob (line 1), Hidden (line 1)",
            "src/canary/publish.rs -> src/canary/run.rs: Options (line 1)",
            "src/canary/publish.rs -> src/model/pull_request.rs: PullRequest (line 1)",
        ]
    );
}

#[test]
fn only_a_child_using_its_own_parent_is_exempt() {
    assert!(parent_edge_exempt("src/canary/run.rs", "src/canary/mod.rs"));
    assert!(parent_edge_exempt(
        "src/gates/checks/mod.rs",
        "src/gates/mod.rs"
    ));
    assert!(parent_edge_exempt(
        "src/gates/checks/size.rs",
        "src/gates/checks/mod.rs"
    ));
    // The other way, a grandparent, a sibling, the crate root, a top-level file module.
    assert!(!parent_edge_exempt(
        "src/canary/mod.rs",
        "src/canary/run.rs"
    ));
    assert!(!parent_edge_exempt(
        "src/gates/checks/size.rs",
        "src/gates/mod.rs"
    ));
    assert!(!parent_edge_exempt(
        "src/canary/run.rs",
        "src/canary/publish.rs"
    ));
    assert!(!parent_edge_exempt("src/clock.rs", "src/lib.rs"));
    assert!(!parent_edge_exempt(
        "src/canary/mod.rs",
        "src/report/mod.rs"
    ));
}

#[test]
fn a_cycle_is_found_and_named_with_what_makes_each_edge() {
    let mut graph = Graph::new();
    let mut edge = |from: &str, to: &str, label: &str| {
        graph
            .entry(from.to_owned())
            .or_default()
            .entry(to.to_owned())
            .or_default()
            .insert(label.to_owned());
    };
    edge(
        "src/canary/publish.rs",
        "src/canary/run.rs",
        "ApiOptions (line 9)",
    );
    edge(
        "src/canary/run.rs",
        "src/canary/publish.rs",
        "client (line 30)",
    );
    edge(
        "src/canary/run.rs",
        "src/canary/publish.rs",
        "report (line 31)",
    );
    edge(
        "src/canary/run.rs",
        "src/report/mod.rs",
        "Decision (line 11)",
    );
    edge("src/cli/canary.rs", "src/canary/run.rs", "check (line 7)");
    let found = cycles(&graph);
    assert_eq!(
        found,
        vec![vec![
            "src/canary/publish.rs".to_owned(),
            "src/canary/run.rs".to_owned()
        ]]
    );
    let text = describe(&graph, &found[0], "takes");
    assert!(
        text.contains("src/canary/publish.rs -> src/canary/run.rs -> src/canary/publish.rs"),
        "{text}"
    );
    assert!(
        text.contains(
            "src/canary/run.rs -> src/canary/publish.rs takes: client (line 30), report (line 31)"
        ),
        "{text}"
    );
}

#[test]
fn a_module_edge_names_the_files_behind_it() {
    let krate = crate_of(&[
        ("src/lib.rs", "pub mod report; pub mod gates;"),
        (
            "src/report/mod.rs",
            "pub mod code; use crate::gates::REGISTRY;",
        ),
        ("src/report/code.rs", ""),
        (
            "src/gates/mod.rs",
            "pub mod scope; pub const REGISTRY: u8 = 0;",
        ),
        ("src/gates/scope.rs", "use crate::report::code::Code;"),
    ]);
    let graph = module_graph(&krate.file_graph());
    let found = cycles(&graph);
    assert_eq!(found, vec![vec!["gates".to_owned(), "report".to_owned()]]);
    let text = describe(&graph, &found[0], "named in");
    assert!(text.contains("gates -> report -> gates"), "{text}");
    assert!(
        text.contains("gates -> report named in: src/gates/scope.rs"),
        "{text}"
    );
}

#[test]
fn a_files_unit_tests_are_a_node_of_their_own_and_inline_modules_are_not() {
    let krate = crate_of(&[
        ("src/lib.rs", "pub mod lint; pub mod report;"),
        (
            "src/lint/mod.rs",
            "pub mod rules; pub fn lint_text() { rules::run(); }",
        ),
        (
            "src/lint/rules.rs",
            "pub fn run() {}\n\
             pub mod codes {\n    use crate::report::Code;\n}\n\
             #[cfg(test)]\nmod tests {\n    use crate::lint::lint_text;\n}\n",
        ),
        ("src/report.rs", "pub struct Code;"),
    ]);
    assert_eq!(
        edges(&krate.file_graph()),
        [
            "src/lint/mod.rs -> src/lint/rules.rs: run (line 1)",
            "src/lint/rules.rs -> src/report.rs: Code (line 3)",
            "src/lint/rules.rs#tests -> src/lint/mod.rs: lint_text (line 7)",
        ]
    );
    // Nothing names a test module, so a test driving its whole area closes no loop.
    assert!(cycles(&krate.file_graph()).is_empty());
}
