//! `<modules-dir>/<id>/module.yaml`: only the fields the gates use are read, strictly.

use super::backup_format::BACKUP_CLASSES;
use super::{MANIFEST_INVALID, MANIFEST_MISSING, ModuleId};
use crate::digest::sha256_hex;
use crate::report::general::TOO_COMPLEX;
use crate::report::{GateError, InputDigest};
use crate::yaml::{self, Fields, Node, Problems};
use std::path::{Path, PathBuf};

/// Risk classes a module may carry.
pub const RISK_CLASSES: &[&str] = &[
    "security-sensitive",
    "public-edge",
    "auth",
    "secret-bearing",
];

pub const MAX_MANIFEST_BYTES: u64 = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statefulness {
    Stateless,
    Stateful,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedState {
    Running,
    ExitedSuccess,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub id: ModuleId,
    pub dir: PathBuf,
    pub classes: Vec<String>,
    pub statefulness: Statefulness,
    /// False when `spec.runtime.statefulness` was absent (and so taken as stateful).
    pub statefulness_declared: bool,
    pub expected_state: ExpectedState,
    pub restart: Option<String>,
    pub backup_class: Option<String>,
    pub backup_ref_modules: Vec<String>,
    pub restore: Option<String>,
    /// `spec.compose.project`: the compose project the module's containers run in, which
    /// names them `<project>-<service>-<n>`.
    pub compose_project: Option<String>,
    pub digest: InputDigest,
}

impl Manifest {
    pub fn is_stateful(&self) -> bool {
        self.statefulness == Statefulness::Stateful
    }

    /// A stateful one-shot: runs to completion once (`exited-success`) and never restarts.
    pub fn is_one_shot(&self) -> bool {
        self.expected_state == ExpectedState::ExitedSuccess
            && self.restart.as_deref().is_none_or(|r| r == "no")
    }

    /// Modules whose backups cover this one: its `backup_ref_modules`, or itself.
    pub fn backup_modules(&self) -> Vec<String> {
        if self.backup_ref_modules.is_empty() {
            vec![self.id.to_string()]
        } else {
            self.backup_ref_modules.clone()
        }
    }
}

pub fn path_for(modules_dir: &Path, id: &ModuleId) -> PathBuf {
    modules_dir.join(id.as_str()).join("module.yaml")
}

/// Load and check a module's manifest.
pub fn load(modules_dir: &Path, id: &ModuleId) -> Result<Manifest, GateError> {
    let text = read(modules_dir, id)?;
    from_text(&text, modules_dir, id)
}

/// Read a module's manifest text: a regular file (not a link), at most `MAX_MANIFEST_BYTES`,
/// UTF-8. Kept apart from [`from_text`] so that a decision can record what it read.
pub fn read(modules_dir: &Path, id: &ModuleId) -> Result<String, GateError> {
    let path = path_for(modules_dir, id);
    let display = path.display().to_string();
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => {
            return Err(GateError::new(
                &MANIFEST_INVALID,
                format!("{display} is not a regular file"),
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(GateError::new(
                &MANIFEST_MISSING,
                format!("module `{id}` has no manifest at {display}"),
            ));
        }
        Err(e) => {
            return Err(GateError::new(
                &MANIFEST_MISSING,
                format!("cannot read {display}: {e}"),
            ));
        }
    }
    let bytes = crate::input::read_limited(&path, MAX_MANIFEST_BYTES, "manifest")?;
    String::from_utf8(bytes)
        .map_err(|_| GateError::new(&MANIFEST_INVALID, format!("{display} is not UTF-8")))
}

/// Check manifest text read from `<modules_dir>/<id>/module.yaml`.
pub fn from_text(text: &str, modules_dir: &Path, id: &ModuleId) -> Result<Manifest, GateError> {
    let display = path_for(modules_dir, id).display().to_string();
    let digest = InputDigest {
        name: format!("manifest:{id}"),
        source: display.clone(),
        sha256: sha256_hex(text.as_bytes()),
        bytes: text.len() as u64,
    };
    parse(text, &display, id, modules_dir.join(id.as_str()), digest)
}

const RUNTIME_RESTART: &[&str] = &["no", "always", "on-failure", "unless-stopped"];

pub fn parse(
    text: &str,
    display: &str,
    id: &ModuleId,
    dir: PathBuf,
    digest: InputDigest,
) -> Result<Manifest, GateError> {
    let doc = yaml::parse(text).map_err(|e| {
        let code = match e.kind {
            yaml::YamlErrorKind::TooDeep | yaml::YamlErrorKind::TooManyNodes => &TOO_COMPLEX,
            _ => &MANIFEST_INVALID,
        };
        GateError::new(
            code,
            format!("{display}:{}:{}: {}", e.pos.line, e.pos.col, e.message),
        )
    })?;
    let mut problems = Problems::of_duplicates(&doc);
    let mut manifest = Manifest {
        id: id.clone(),
        dir,
        classes: Vec::new(),
        statefulness: Statefulness::Stateful,
        statefulness_declared: false,
        expected_state: ExpectedState::Running,
        restart: None,
        backup_class: None,
        backup_ref_modules: Vec::new(),
        restore: None,
        compose_project: None,
        digest,
    };
    match &doc.root {
        None => problems.push(Default::default(), "the manifest is empty"),
        Some(root) => read_root(root, id, &mut manifest, &mut problems),
    }
    // After the fields, so that a tag or key they refused is said once, with the field's name.
    yaml::yaml11::document_problems(text, &doc, &mut problems);
    if problems.is_empty() {
        Ok(manifest)
    } else {
        Err(GateError::new(
            &MANIFEST_INVALID,
            format!(
                "{display}: {} problem(s) in the manifest",
                problems.items.len()
            ),
        )
        .with_details(problems.render(display).lines().map(String::from).collect()))
    }
}

fn read_root(root: &Node, id: &ModuleId, m: &mut Manifest, problems: &mut Problems) {
    let Some(mut top) = Fields::new(root, "manifest", problems) else {
        return;
    };
    if let Some(mut meta) = top
        .require("metadata", problems)
        .and_then(|meta| Fields::new(meta, "metadata", problems))
    {
        {
            if let Some(node) = meta.require("name", problems)
                && let Some(name) = problems.string(node, "metadata.name")
                && name != id.as_str()
            {
                problems.push(
                    node.span.start,
                    format!(
                        "metadata.name `{}` does not equal the module directory `{id}`",
                        name.escape_debug()
                    ),
                );
            }
            meta.ignore_rest();
        }
    }
    let Some(spec_node) = top.take("spec") else {
        top.ignore_rest();
        return;
    };
    top.ignore_rest();
    let Some(mut spec) = Fields::new(spec_node, "spec", problems) else {
        return;
    };
    if let Some(compose) = spec.take("compose") {
        read_compose(compose, m, problems);
    }
    if let Some(node) = spec.take("classes")
        && problems.untagged(node, "spec.classes")
        && let Some(list) = node.as_seq()
    {
        for item in list {
            if let Some(c) = problems.one_of(item, "spec.classes", RISK_CLASSES)
                && !m.classes.contains(&c)
            {
                m.classes.push(c);
            }
        }
    } else if let Some(node) = spec_node
        .get("classes")
        .filter(|n| !n.is_null() && n.tag.is_none())
    {
        problems.strings(node, "spec.classes");
    }
    let Some(runtime_node) = spec.take("runtime") else {
        spec.ignore_rest();
        return;
    };
    spec.ignore_rest();
    let Some(mut rt) = Fields::new(runtime_node, "spec.runtime", problems) else {
        return;
    };
    if let Some(node) = rt.take("statefulness")
        && let Some(s) = problems.one_of(
            node,
            "spec.runtime.statefulness",
            &["stateless", "stateful"],
        )
    {
        m.statefulness_declared = true;
        m.statefulness = if s == "stateless" {
            Statefulness::Stateless
        } else {
            Statefulness::Stateful
        };
    }
    if let Some(node) = rt.take("expected_state")
        && let Some(s) = problems.one_of(
            node,
            "spec.runtime.expected_state",
            &["running", "exited-success"],
        )
    {
        m.expected_state = if s == "running" {
            ExpectedState::Running
        } else {
            ExpectedState::ExitedSuccess
        };
    }
    if let Some(node) = rt.take("restart") {
        if let yaml::Value::Scalar {
            text,
            style: yaml::Style::Plain,
        } = &node.value
            && node.tag.is_none()
            && yaml::yaml11::resolve_plain(text) == yaml::yaml11::Plain::Bool(false)
        {
            problems.push(
                node.span.start,
                format!(
                    "spec.runtime.restart: a bare `{}` is the boolean false to YAML 1.1 readers, not a restart policy: write \"no\" quoted",
                    text.escape_debug()
                ),
            );
        } else if let Some(s) = problems.string(node, "spec.runtime.restart") {
            let base = s.split(':').next().unwrap_or_default();
            if RUNTIME_RESTART.contains(&base) && (base == "on-failure" || s == base) {
                m.restart = Some(s);
            } else {
                problems.push(
                    node.span.start,
                    format!(
                        "spec.runtime.restart: unknown value `{}`; expected one of: {}",
                        s.escape_debug(),
                        RUNTIME_RESTART.join(", ")
                    ),
                );
            }
        }
    }
    if let Some(node) = rt.take("backup_class") {
        m.backup_class = problems.one_of(node, "spec.runtime.backup_class", BACKUP_CLASSES);
    }
    if let Some(node) = rt.take("backup_ref_modules")
        && let Some(list) = problems.strings(node, "spec.runtime.backup_ref_modules")
    {
        for item in list {
            if ModuleId::parse(&item).is_err() {
                problems.push(
                    node.span.start,
                    format!(
                        "spec.runtime.backup_ref_modules: `{}` is not a valid module id",
                        item.escape_debug()
                    ),
                );
            } else if !m.backup_ref_modules.contains(&item) {
                m.backup_ref_modules.push(item);
            }
        }
    }
    if let Some(node) = rt.take("restore")
        && let Some(s) = problems.string(node, "spec.runtime.restore")
    {
        if s.trim().is_empty() {
            problems.push(node.span.start, "spec.runtime.restore: must not be empty");
        } else {
            m.restore = Some(s);
        }
    }
    // A module whose data has a backup class, or lives in another module's backups, holds
    // data: declared stateless as well, it says two things, and the gates believed the one
    // that needs no backup.
    if m.statefulness == Statefulness::Stateless
        && (m.backup_class.is_some() || !m.backup_ref_modules.is_empty())
    {
        problems.push(
            runtime_node.span.start,
            "spec.runtime: `statefulness: stateless` contradicts `backup_class`/`backup_ref_modules` (a module with a backup holds data): declare it stateful, or remove the backup fields",
        );
    }
    rt.ignore_rest();
}

/// `spec.compose`: only `project` is read; it must be a compose project name, which compose
/// writes in lowercase letters, digits, `-` and `_`, starting with a letter or digit. A
/// `compose` that is not a mapping belongs to the platform and is ignored (the gates read no
/// project from it, so no container can be shown to be the module's own).
fn read_compose(node: &Node, m: &mut Manifest, problems: &mut Problems) {
    if node.as_map().is_none() {
        return;
    }
    let Some(mut compose) = Fields::new(node, "spec.compose", problems) else {
        return;
    };
    if let Some(node) = compose.take("project")
        && let Some(project) = problems.string(node, "spec.compose.project")
    {
        let valid = project
            .bytes()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && project
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_');
        if valid {
            m.compose_project = Some(project);
        } else {
            problems.push(
                node.span.start,
                format!(
                    "spec.compose.project: `{}` is not a compose project name (lowercase letters, digits, `-` and `_`, starting with a letter or digit)",
                    project.escape_debug()
                ),
            );
        }
    }
    compose.ignore_rest();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Manifest, GateError> {
        let id = ModuleId::parse("m").unwrap();
        from_text(text, Path::new("modules"), &id)
    }

    #[test]
    fn the_compose_project_is_read_strictly() {
        let m =
            read("metadata: {name: m}\nspec:\n  compose: {project: home-platform, file: c.yml}\n")
                .unwrap();
        assert_eq!(m.compose_project.as_deref(), Some("home-platform"));
        for bad in ["Home", "-x", "a b", "\"\"", "yes", "!!null x"] {
            let text = format!("metadata: {{name: m}}\nspec:\n  compose: {{project: {bad}}}\n");
            let err = read(&text).unwrap_err();
            assert!(
                err.details.join("\n").contains("spec.compose.project"),
                "{bad}: {err:?}"
            );
        }
        // A compose that is not a mapping is the platform's business: no project is read.
        let m = read("metadata: {name: m}\nspec:\n  compose: compose.yaml\n").unwrap();
        assert_eq!(m.compose_project, None);
    }
}
