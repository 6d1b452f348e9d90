use crate::backup::format::{BACKUP_CLASSES, EXTENSIONS};
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
    f.finish(problems, KEYS);
}
