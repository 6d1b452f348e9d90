//! The `backup:` section of the policy: where backups live, how deeply they are verified,
//! how old and how small they may be, and how each class is taken and drilled.

use crate::model::backup_format::{BACKUP_CLASSES, EXTENSIONS};
use crate::yaml::{Fields, Node, Problems};
use std::collections::BTreeMap;

/// How deeply the backup artifact is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Headers and magic bytes (plus the sha256 of the whole file). Weaker: a backup cut off
    /// after its first bytes passes.
    Shallow,
    /// The default: the file is read to its last byte and must prove itself complete (streams
    /// end with their checksums, archives with their end marker, dumps with their completion
    /// mark, embedded checksums recomputed), in constant memory.
    Deep,
}

/// Where backups live and what makes one acceptable.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupPolicy {
    /// Backups must sit directly inside this absolute directory.
    pub root: String,
    /// A backup older than this is stale.
    pub max_age_hours: u64,
    /// A timestamp this far in the future is tolerated (clock skew); further is refused.
    pub max_future_skew_seconds: u64,
    /// The uid that must own the file (the backup script runs as root).
    pub owner_uid: u32,
    /// The exact permission bits the file must have.
    pub mode: u32,
    pub verify: Verify,
    /// An RDB file saved with `rdbchecksum no` (checksum zero) passes deep verification.
    pub allow_rdb_without_checksum: bool,
    /// Allowed extensions per backup class; `tar.gz` is every class's fallback.
    pub extensions: BTreeMap<String, Vec<String>>,
    /// A manifest beside the backup is always verified; `true` makes one required.
    pub require_manifest: bool,
    /// Backup classes whose backups need a passing drill record beside them.
    pub require_drill: Vec<String>,
    /// A backup smaller than this share of the module's previous one blocks (0 disables).
    pub min_size_ratio: f64,
    /// Per-module minimum size in bytes: a smaller backup blocks.
    pub min_size: BTreeMap<String, u64>,
    /// How `backup_before_apply` takes a backup, per class (absent: the built-in default).
    pub procedures: BTreeMap<String, ProcedurePolicy>,
    /// How `restore_drill` starts its scratch instance, per class.
    pub drill: BTreeMap<String, DrillPolicy>,
    /// The host directories a mount archive holds, per module (the module whose data it is).
    pub mounts: BTreeMap<String, Vec<String>>,
    /// The compose project the platform's containers belong to, when the manifest does not
    /// name one (`spec.compose.project`): containers are `<project>-<module>-1`.
    pub compose_project: String,
}

/// `backup.procedures.<class>`: how a backup of that class is taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcedurePolicy {
    /// argv prefix that enters the module's container (`{container}` is replaced by its
    /// name); `[]` runs on this host.
    pub exec: Vec<String>,
    /// argv of the dump, after `exec` (postgres: `pg_dumpall`; mount-archive classes: none).
    pub command: Vec<String>,
    /// postgres: argv of `psql` for the inventory, after `exec`.
    pub psql: Vec<String>,
    /// redis: argv of `redis-cli` (with its connection flags), after `exec`.
    pub cli: Vec<String>,
}

/// `backup.drill.<class>`: how the scratch instance of a drill is started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrillPolicy {
    /// argv prefix that runs the scratch instance's binaries; `[]`: this host's PATH.
    pub exec: Vec<String>,
}

/// The default `exec`: enter the module's container.
pub const DEFAULT_EXEC: &[&str] = &["docker", "exec", "-i", "{container}"];
/// Classes whose procedure runs a command; the others archive the module's mounts.
pub const COMMAND_CLASSES: &[&str] = &["postgres", "redis"];
/// Where `{container}` goes in an `exec` prefix.
pub const CONTAINER_PLACEHOLDER: &str = "{container}";

impl ProcedurePolicy {
    /// The built-in procedure of `class`.
    pub fn default_for(class: &str) -> ProcedurePolicy {
        let argv = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut p = ProcedurePolicy {
            exec: argv(DEFAULT_EXEC),
            command: Vec::new(),
            psql: Vec::new(),
            cli: Vec::new(),
        };
        match class {
            "postgres" => {
                p.command = argv(&["pg_dumpall", "-U", "postgres"]);
                p.psql = argv(&["psql", "-U", "postgres"]);
            }
            "redis" => p.cli = argv(&["redis-cli"]),
            _ => {}
        }
        p
    }
}

impl Default for BackupPolicy {
    fn default() -> Self {
        let ext = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut extensions = BTreeMap::new();
        extensions.insert("postgres".into(), ext(&["sql.gz", "dump", "tar.gz"]));
        extensions.insert("redis".into(), ext(&["rdb", "tar.gz"]));
        extensions.insert("vault".into(), ext(&["snap", "tar.gz"]));
        extensions.insert("minio".into(), ext(&["tar.gz", "tar.zst"]));
        extensions.insert("filesystem".into(), ext(&["tar.gz", "tar.zst"]));
        extensions.insert("engine".into(), ext(&["tar.gz"]));
        extensions.insert("separate-root".into(), ext(&["tar.gz"]));
        BackupPolicy {
            root: "/opt/pdurlej-platform/backups".into(),
            max_age_hours: 6,
            max_future_skew_seconds: 300,
            owner_uid: 0,
            mode: 0o600,
            // Deep by default: a backup is proven complete, not only well-begun.
            verify: Verify::Deep,
            allow_rdb_without_checksum: false,
            extensions,
            require_manifest: true,
            require_drill: Vec::new(),
            min_size_ratio: 0.5,
            min_size: BTreeMap::new(),
            procedures: COMMAND_CLASSES
                .iter()
                .map(|c| (c.to_string(), ProcedurePolicy::default_for(c)))
                .collect(),
            drill: BTreeMap::new(),
            mounts: BTreeMap::new(),
            compose_project: "home-platform".into(),
        }
    }
}

impl BackupPolicy {
    /// Extensions allowed for a class; an unknown or absent class gets the fallback only.
    pub fn extensions_for(&self, class: Option<&str>) -> Vec<String> {
        class
            .and_then(|c| self.extensions.get(c))
            .cloned()
            .unwrap_or_else(|| vec!["tar.gz".to_string()])
    }

    /// The procedure of `class`: the policy's, else the built-in one.
    pub fn procedure(&self, class: &str) -> ProcedurePolicy {
        self.procedures
            .get(class)
            .cloned()
            .unwrap_or_else(|| ProcedurePolicy::default_for(class))
    }

    /// The drill settings of `class`: the policy's, else `exec: []` (this host's PATH).
    pub fn drill_for(&self, class: &str) -> DrillPolicy {
        self.drill
            .get(class)
            .cloned()
            .unwrap_or(DrillPolicy { exec: Vec::new() })
    }
}

const KEYS: &[&str] = &[
    "root",
    "max_age_hours",
    "max_future_skew_seconds",
    "owner_uid",
    "mode",
    "verify",
    "allow_rdb_without_checksum",
    "extensions",
    "require_manifest",
    "require_drill",
    "min_size_ratio",
    "min_size",
    "procedures",
    "drill",
    "mounts",
    "compose_project",
];

/// Classes a backup can be taken of (`separate-root` is manual only).
const TAKEN_CLASSES: &[&str] = &[
    "postgres",
    "redis",
    "vault",
    "minio",
    "filesystem",
    "engine",
];

pub(super) fn read(node: &Node, out: &mut BackupPolicy, problems: &mut Problems) {
    let Some(mut f) = Fields::new(node, "backup", problems) else {
        return;
    };
    if let Some(v) = f.take("root")
        && let Some(s) = problems.string(v, "backup.root")
    {
        if !s.starts_with('/')
            || s.contains("/../")
            || s.ends_with("/..")
            || !s.is_ascii()
            || s.len() < 2
        {
            problems.push(
                v.span.start,
                "backup.root: must be an absolute ASCII path without `..`, and not `/`",
            );
        } else {
            out.root = s.trim_end_matches('/').to_string();
        }
    }
    if let Some(v) = f.take("max_age_hours")
        && let Some(n) = problems.unsigned(v, "backup.max_age_hours")
    {
        if n == 0 || n > 24 * 30 {
            problems.push(
                v.span.start,
                "backup.max_age_hours: must be between 1 and 720",
            );
        } else {
            out.max_age_hours = n;
        }
    }
    if let Some(v) = f.take("max_future_skew_seconds")
        && let Some(n) = problems.unsigned(v, "backup.max_future_skew_seconds")
    {
        if n > 3600 {
            problems.push(v.span.start, "backup.max_future_skew_seconds: at most 3600");
        } else {
            out.max_future_skew_seconds = n;
        }
    }
    if let Some(v) = f.take("owner_uid")
        && let Some(n) = problems.unsigned(v, "backup.owner_uid")
    {
        match u32::try_from(n) {
            Ok(uid) => out.owner_uid = uid,
            Err(_) => problems.push(v.span.start, "backup.owner_uid: not a valid uid"),
        }
    }
    if let Some(v) = f.take("mode")
        && let Some(s) = problems.string(v, "backup.mode")
    {
        // Written as a quoted octal string ("0600") so YAML cannot read it as decimal 600.
        match u32::from_str_radix(s.trim_start_matches("0o"), 8) {
            Ok(m) if s.len() >= 3 && m <= 0o777 && m & 0o077 == 0 => out.mode = m,
            _ => problems.push(
                v.span.start,
                format!("backup.mode: `{}` is not an owner-only octal mode such as \"0600\" or \"0400\"", s.escape_debug()),
            ),
        }
    }
    if let Some(v) = f.take("verify")
        && let Some(s) = problems.one_of(v, "backup.verify", &["shallow", "deep"])
    {
        out.verify = if s == "deep" {
            Verify::Deep
        } else {
            Verify::Shallow
        };
    }
    if let Some(v) = f.take("allow_rdb_without_checksum")
        && let Some(b) = problems.boolean(v, "backup.allow_rdb_without_checksum")
    {
        out.allow_rdb_without_checksum = b;
    }
    if let Some(v) = f.take("extensions")
        && let Some(mut classes) = Fields::new(v, "backup.extensions", problems)
    {
        let mut map = BTreeMap::new();
        for class in BACKUP_CLASSES {
            if let Some(list_node) = classes.take(class)
                && let Some(list) =
                    problems.strings(list_node, &format!("backup.extensions.{class}"))
            {
                let mut ok = !list.is_empty();
                if list.is_empty() {
                    problems.push(
                        list_node.span.start,
                        format!("backup.extensions.{class}: must not be empty"),
                    );
                }
                for ext in &list {
                    if !EXTENSIONS.iter().any(|(e, _)| e == ext) {
                        ok = false;
                        let known: Vec<&str> = EXTENSIONS.iter().map(|(e, _)| *e).collect();
                        problems.push(
                            list_node.span.start,
                            format!(
                                "backup.extensions.{class}: unknown extension `{}`; known: {}",
                                ext.escape_debug(),
                                known.join(", ")
                            ),
                        );
                    }
                }
                if ok {
                    map.insert(class.to_string(), list);
                }
            }
        }
        classes.finish(problems, BACKUP_CLASSES);
        // Classes not named keep their defaults.
        for (class, list) in map {
            out.extensions.insert(class, list);
        }
    }
    if let Some(v) = f.take("require_manifest")
        && let Some(b) = problems.boolean(v, "backup.require_manifest")
    {
        out.require_manifest = b;
    }
    if let Some(v) = f.take("require_drill")
        && let Some(list) = problems.strings(v, "backup.require_drill")
    {
        let mut ok = true;
        for class in &list {
            if !TAKEN_CLASSES.contains(&class.as_str()) {
                ok = false;
                problems.push(
                    v.span.start,
                    format!(
                        "backup.require_drill: unknown class `{}`; known: {}",
                        class.escape_debug(),
                        TAKEN_CLASSES.join(", ")
                    ),
                );
            }
        }
        if ok {
            out.require_drill = list;
        }
    }
    if let Some(v) = f.take("min_size_ratio")
        && let Some(r) = ratio(v, problems)
    {
        out.min_size_ratio = r;
    }
    if let Some(v) = f.take("min_size")
        && let Some(modules) = v.as_map()
    {
        for (k, n) in modules {
            let Some(module) = module_key(k, "backup.min_size", problems) else {
                continue;
            };
            if let Some(bytes) = problems.unsigned(n, &format!("backup.min_size.{module}")) {
                out.min_size.insert(module, bytes);
            }
        }
    } else if let Some(v) = f_node_not_map(node, "min_size") {
        problems.push(
            v.span.start,
            "backup.min_size: expected a mapping of module: bytes",
        );
    }
    if let Some(v) = f.take("procedures")
        && let Some(mut classes) = Fields::new(v, "backup.procedures", problems)
    {
        for class in COMMAND_CLASSES {
            if let Some(p) = classes.take(class)
                && let Some(p) = procedure(p, class, problems)
            {
                out.procedures.insert(class.to_string(), p);
            }
        }
        // The other classes archive the module's mounts (`backup.mounts`): nothing to run.
        classes.finish(problems, COMMAND_CLASSES);
    }
    if let Some(v) = f.take("drill")
        && let Some(mut classes) = Fields::new(v, "backup.drill", problems)
    {
        for class in TAKEN_CLASSES {
            if let Some(d) = classes.take(class)
                && let Some(mut fields) = Fields::new(d, &format!("backup.drill.{class}"), problems)
            {
                if let Some(exec) = fields
                    .require("exec", problems)
                    .and_then(|e| argv(e, &format!("backup.drill.{class}.exec"), problems))
                {
                    out.drill.insert(class.to_string(), DrillPolicy { exec });
                }
                fields.finish(problems, &["exec"]);
            }
        }
        classes.finish(problems, TAKEN_CLASSES);
    }
    if let Some(v) = f.take("mounts")
        && let Some(modules) = v.as_map()
    {
        for (k, list) in modules {
            let Some(module) = module_key(k, "backup.mounts", problems) else {
                continue;
            };
            let what = format!("backup.mounts.{module}");
            let Some(paths) = problems.strings(list, &what) else {
                continue;
            };
            let mut ok = !paths.is_empty();
            if paths.is_empty() {
                problems.push(
                    list.span.start,
                    format!("{what}: must name at least one directory"),
                );
            }
            for p in &paths {
                if !clean_absolute(p) {
                    ok = false;
                    problems.push(
                        list.span.start,
                        format!(
                            "{what}: `{}` is not an absolute path without `.`, `..` or `//`",
                            p.escape_debug()
                        ),
                    );
                }
            }
            if ok {
                out.mounts.insert(module, paths);
            }
        }
    } else if let Some(v) = f_node_not_map(node, "mounts") {
        problems.push(
            v.span.start,
            "backup.mounts: expected a mapping of module: [directories]",
        );
    }
    if let Some(v) = f.take("compose_project")
        && let Some(s) = problems.string(v, "backup.compose_project")
    {
        if crate::model::ModuleId::parse(&s).is_ok() {
            out.compose_project = s;
        } else {
            problems.push(
                v.span.start,
                "backup.compose_project: lowercase letters, digits and `-`, as compose names projects",
            );
        }
    }
    f.finish(problems, KEYS);
}

/// `node.<key>` when it is present, not null and not a mapping (for a problem).
fn f_node_not_map<'a>(node: &'a Node, key: &str) -> Option<&'a Node> {
    node.get(key)
        .filter(|v| !v.is_null() && v.as_map().is_none())
}

fn module_key(k: &Node, what: &str, problems: &mut Problems) -> Option<String> {
    let name = problems.string(k, what)?;
    if crate::model::ModuleId::parse(&name).is_err() {
        problems.push(
            k.span.start,
            format!("{what}: `{}` is not a module id", name.escape_debug()),
        );
        return None;
    }
    Some(name)
}

/// A share between 0 and 1, written plain (`0.5`, `0`, `1`).
fn ratio(v: &Node, problems: &mut Problems) -> Option<f64> {
    let text = match &v.value {
        crate::yaml::Value::Scalar {
            text,
            style: crate::yaml::Style::Plain,
        } => text.as_str(),
        _ => "",
    };
    let digits_dot = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.bytes().filter(|b| *b == b'.').count() <= 1;
    match text.parse::<f64>() {
        Ok(r) if digits_dot && (0.0..=1.0).contains(&r) => Some(r),
        _ => {
            problems.push(
                v.span.start,
                "backup.min_size_ratio: expected a number between 0 and 1, such as 0.5 (0 disables the check)",
            );
            None
        }
    }
}

fn clean_absolute(p: &str) -> bool {
    p.starts_with('/')
        && p.len() > 1
        && !p.ends_with('/')
        && p[1..]
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

/// An argv: a list of non-empty strings without NUL (it is never given to a shell).
fn argv(v: &Node, what: &str, problems: &mut Problems) -> Option<Vec<String>> {
    let list = problems.strings(v, what)?;
    if list.iter().any(|a| a.is_empty() || a.contains('\0')) {
        problems.push(
            v.span.start,
            format!("{what}: an argument is empty or holds a NUL"),
        );
        return None;
    }
    Some(list)
}

fn procedure(node: &Node, class: &str, problems: &mut Problems) -> Option<ProcedurePolicy> {
    let context = format!("backup.procedures.{class}");
    let mut fields = Fields::new(node, &context, problems)?;
    let mut p = ProcedurePolicy::default_for(class);
    let mut ok = true;
    let runs_command = COMMAND_CLASSES.contains(&class);
    let mut known = vec!["exec"];
    if let Some(e) = fields.take("exec") {
        match argv(e, &format!("{context}.exec"), problems) {
            Some(list) => p.exec = list,
            None => ok = false,
        }
    }
    if runs_command {
        let keys: &[&str] = if class == "redis" {
            &["cli"]
        } else {
            &["command", "psql"]
        };
        known.extend_from_slice(keys);
        let mut slots = [
            ("command", &mut p.command),
            ("psql", &mut p.psql),
            ("cli", &mut p.cli),
        ];
        for (key, slot) in slots.iter_mut().filter(|(k, _)| keys.contains(k)) {
            let key = *key;
            if let Some(c) = fields.take(key) {
                match argv(c, &format!("{context}.{key}"), problems) {
                    Some(list) if !list.is_empty() => **slot = list,
                    Some(_) => {
                        ok = false;
                        problems.push(c.span.start, format!("{context}.{key}: must not be empty"));
                    }
                    None => ok = false,
                }
            }
        }
    }
    for a in p.command.iter().chain(&p.psql).chain(&p.cli) {
        if a.contains(CONTAINER_PLACEHOLDER) {
            ok = false;
            problems.push(
                fields.pos(),
                format!("{context}: `{{container}}` belongs in `exec`, not in the command"),
            );
        }
    }
    fields.finish(problems, &known);
    ok.then_some(p)
}

#[cfg(test)]
mod tests {
    use crate::policy::parse;

    #[test]
    fn the_backup_evidence_keys_are_read() {
        let text = r#"
backup:
  require_manifest: true
  require_drill: [postgres, filesystem]
  min_size_ratio: 0.25
  min_size: { postgres: 1048576 }
  procedures:
    postgres: { exec: [], command: [pg_dumpall, -h, /tmp/s], psql: [psql, -h, /tmp/s] }
  drill:
    postgres: { exec: [] }
  mounts: { minio: [/srv/minio/data] }
exceptions:
  - module: postgres
    allow_small_backup: true
    reason: truncated on purpose, ticket 142
    expires: 2026-12-31
"#;
        let p = parse(text, "p.yml").unwrap();
        let b = &p.backup;
        assert!(b.require_manifest);
        assert_eq!(b.require_drill, ["postgres", "filesystem"]);
        assert_eq!(b.min_size_ratio, 0.25);
        assert_eq!(b.min_size["postgres"], 1_048_576);
        let pg = b.procedure("postgres");
        assert!(pg.exec.is_empty());
        assert_eq!(pg.command, ["pg_dumpall", "-h", "/tmp/s"]);
        assert_eq!(pg.psql, ["psql", "-h", "/tmp/s"]);
        assert!(b.drill_for("postgres").exec.is_empty());
        assert_eq!(b.mounts["minio"], ["/srv/minio/data"]);
        assert!(p.exceptions[0].allow_small_backup);
        assert!(p.exceptions[0].allow_classes.is_empty());
    }

    #[test]
    fn the_default_procedure_enters_the_container() {
        let b = crate::policy::BackupPolicy::default();
        assert_eq!(
            b.procedure("postgres").exec,
            ["docker", "exec", "-i", "{container}"]
        );
        // A manifest is required by default; drills are not (they need the engine's tools).
        assert!(b.require_manifest);
        assert!(b.require_drill.is_empty());
    }

    #[test]
    fn wrong_backup_evidence_keys_are_errors() {
        for bad in [
            "backup: { require_manifest: yes }",
            "backup: { require_drill: [mysql] }",
            "backup: { require_drill: [separate-root] }",
            "backup: { min_size_ratio: 1.5 }",
            "backup: { min_size_ratio: \"0.5\" }",
            "backup: { min_size_ratio: -0.1 }",
            "backup: { min_size_ratio: .nan }",
            "backup: { min_size: { postgres: big } }",
            "backup: { min_size: { Postgres: 1 } }",
            "backup: { min_size: 5 }",
            "backup: { procedures: { postgres: { command: [] } } }",
            "backup: { procedures: { postgres: { command: [\"\"] } } }",
            "backup: { procedures: { postgres: { command: [docker, \"{container}\"] } } }",
            "backup: { procedures: { postgres: { exec: docker } } }",
            "backup: { procedures: { postgres: { shell: x } } }",
            "backup: { procedures: { filesystem: { exec: [] } } }",
            "backup: { drill: { postgres: {} } }",
            "backup: { drill: { postgres: { exec: [], x: 1 } } }",
            "backup: { mounts: { minio: [data] } }",
            "backup: { mounts: { minio: [/srv/../etc] } }",
            "backup: { mounts: { minio: [] } }",
            "backup: { compose_project: Home }",
            "exceptions: [{ module: postgres, allow_small_backup: maybe, reason: a long enough reason, expires: 2026-12-31 }]",
            "exceptions: [{ module: postgres, reason: a long enough reason, expires: 2026-12-31 }]",
        ] {
            assert!(parse(bad, "p.yml").is_err(), "accepted: {bad}");
        }
    }
}
