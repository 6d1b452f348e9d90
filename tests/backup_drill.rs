//! `restore_drill` end to end, with real servers: a PostgreSQL cluster and a Redis server are
//! started on private sockets, backed up with their own tools, verified by the gates, then
//! restored by the drill into a second, throw-away instance and compared with the manifest.
//! Archives (filesystem, and the mount-archive fallback of vault and minio) are made with the
//! system's `tar`. Every test states the exit code and reason code it expects.

mod common;
#[path = "support/servers.rs"]
mod servers;

use forgejo_gates::backup::evidence::{
    self, BackupManifest, DrillOutcome, Inventory, PgDatabase, PgTable, Procedure, RedisDb,
};
use servers::{PgCluster, RedisServer, gunzip, gzip, listing};
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

const CONFIRM: &str = "BACKUP_DONE_F3";

/// A backup root, a policy that points there (deep verification), the example modules, and
/// a private TMPDIR so that the drill's scratch directories can be seen to be removed.
struct Site {
    tmp: tempfile::TempDir,
    backups: PathBuf,
    policy: PathBuf,
    modules: PathBuf,
    scratch_tmp: PathBuf,
}

impl Site {
    fn new() -> Site {
        Site::with_policy("")
    }

    /// `extra`: more lines inside the policy's `backup:` section.
    fn with_policy(extra: &str) -> Site {
        let tmp = tempfile::Builder::new().prefix("drill").tempdir().unwrap();
        // The drill's scratch directory must be reachable by `nobody` when run as root.
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let backups = tmp.path().join("backups");
        std::fs::create_dir(&backups).unwrap();
        std::fs::set_permissions(&backups, std::fs::Permissions::from_mode(0o700)).unwrap();
        let uid = std::fs::metadata(&backups).unwrap().uid();
        let scratch_tmp = tmp.path().join("scratch-tmp");
        std::fs::create_dir(&scratch_tmp).unwrap();
        std::fs::set_permissions(&scratch_tmp, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let policy = tmp.path().join("policy.yml");
        std::fs::write(
            &policy,
            format!(
                "backup:\n  root: {}\n  owner_uid: {uid}\n  verify: deep\n{extra}",
                backups.display()
            ),
        )
        .unwrap();
        Site {
            modules: Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/modules"),
            tmp,
            backups,
            policy,
            scratch_tmp,
        }
    }

    /// Write `bytes` as `<module>-<now - 60 s>.<ext>`, mode 0600.
    fn backup(&self, ref_module: &str, ext: &str, bytes: &[u8]) -> PathBuf {
        self.backup_at(ref_module, -60, ext, bytes)
    }

    fn backup_at(&self, ref_module: &str, offset: i64, ext: &str, bytes: &[u8]) -> PathBuf {
        let t = time::OffsetDateTime::now_utc() + time::Duration::seconds(offset);
        let stamp = t
            .format(time::macros::format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .unwrap();
        let path = self.backups.join(format!("{ref_module}-{stamp}.{ext}"));
        std::fs::write(&path, bytes).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    /// `dump` (pg_dumpall's text), gzipped, as the postgres module's backup, with a manifest
    /// that says `inventory`.
    fn postgres_backup(&self, dump: &[u8], inventory: Inventory) -> PathBuf {
        let backup = self.backup("postgres", "sql.gz", &gzip(dump));
        write_manifest(
            &backup,
            "postgres",
            "postgres",
            Procedure::PgDumpall,
            inventory,
        );
        backup
    }

    fn drill(&self, backup: &Path, module: &str) -> common::Run {
        self.drill_with(backup, module, &[])
    }

    fn drill_with(&self, backup: &Path, module: &str, env: &[(&str, &str)]) -> common::Run {
        let mut cmd = common::gate("restore_drill");
        cmd.arg("--backup-ref")
            .arg(backup)
            .args(["--module", module, "--modules-dir"])
            .arg(&self.modules)
            .arg("--policy")
            .arg(&self.policy)
            .env("TMPDIR", &self.scratch_tmp)
            .current_dir(self.tmp.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let run = common::run(&mut cmd);
        assert_eq!(
            std::fs::read_dir(&self.scratch_tmp).unwrap().count(),
            0,
            "the drill left its scratch directory behind:\n{}",
            run.all()
        );
        run
    }

    /// `auto_apply_scope` on a stateful dispatch of `module` with `backup`.
    fn scope(&self, module: &str, backup: &Path) -> common::Run {
        common::run(
            common::gate("auto_apply_scope")
                .args(["--module", module, "--allow-stateful", "--backup-ref"])
                .arg(backup)
                .args(["--stateful-confirm", CONFIRM, "--modules-dir"])
                .arg(&self.modules)
                .arg("--policy")
                .arg(&self.policy)
                .current_dir(self.tmp.path()),
        )
    }
}

fn sha256_file(path: &Path) -> String {
    forgejo_gates::digest::sha256_hex(&std::fs::read(path).unwrap())
}

/// The manifest `backup_before_apply` would write for `backup`, with `inventory`.
fn write_manifest(
    backup: &Path,
    module: &str,
    class: &str,
    procedure: Procedure,
    inventory: Inventory,
) {
    let name = backup.file_name().unwrap().to_str().unwrap().to_string();
    let (ref_module, _, format) = forgejo_gates::backup::reference::split_name(&name).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let m = BackupManifest {
        schema: evidence::MANIFEST_SCHEMA.into(),
        module: module.into(),
        ref_module: ref_module.into(),
        class: class.into(),
        procedure,
        artifact: name.clone(),
        format: format.into(),
        tool_versions: BTreeMap::new(),
        started_at: now,
        finished_at: now,
        size: std::fs::metadata(backup).unwrap().len(),
        sha256: sha256_file(backup),
        inventory,
    };
    evidence::validate_manifest(&m).unwrap();
    evidence::write_json(&evidence::manifest_path(backup), &m, true).unwrap();
}

fn drill_record(backup: &Path) -> evidence::DrillRecord {
    let path = evidence::drill_path(backup);
    let mode = std::fs::metadata(&path)
        .unwrap_or_else(|e| panic!("no drill record at {}: {e}", path.display()))
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the drill record must be private");
    evidence::parse_drill(&std::fs::read(&path).unwrap()).unwrap()
}

fn assert_reason(run: &common::Run, code: i32, reason: &str) {
    assert_eq!(run.code, code, "{}", run.all());
    assert!(
        run.all().contains(&format!("[{reason}]")),
        "expected reason {reason}:\n{}",
        run.all()
    );
}

// ---------------------------------------------------------------- PostgreSQL

/// A cluster with two user databases, two schemas, an awkward table name, and an empty
/// database; returns the cluster and the inventory of what was put in it.
fn populated_cluster() -> (PgCluster, Inventory) {
    let pg = PgCluster::start();
    pg.sql("postgres", "CREATE ROLE app_owner LOGIN");
    pg.sql("postgres", "CREATE DATABASE app OWNER app_owner");
    pg.sql("postgres", "CREATE DATABASE shop");
    pg.sql("postgres", "CREATE DATABASE empty");
    pg.sql(
        "app",
        "CREATE TABLE orders (id int PRIMARY KEY, note text);
         INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, 1200) g;
         CREATE TABLE users (id int, name text);
         INSERT INTO users VALUES (1, 'tab\there'), (2, E'new\\nline'), (3, 'pipe|quote''s');
         ALTER TABLE orders OWNER TO app_owner;",
    );
    pg.sql(
        "shop",
        r#"CREATE SCHEMA billing;
         CREATE TABLE billing."Invoices|2026" (n int);
         INSERT INTO billing."Invoices|2026" SELECT generate_series(1, 7);
         CREATE TABLE public.empty_table (x int);"#,
    );
    let t = |schema: &str, name: &str, rows: u64| PgTable {
        schema: schema.into(),
        name: name.into(),
        rows,
    };
    let inventory = Inventory::Postgres {
        databases: vec![
            PgDatabase {
                name: "app".into(),
                tables: vec![t("public", "orders", 1200), t("public", "users", 3)],
            },
            PgDatabase {
                name: "empty".into(),
                tables: vec![],
            },
            PgDatabase {
                name: "shop".into(),
                tables: vec![
                    t("billing", "Invoices|2026", 7),
                    t("public", "empty_table", 0),
                ],
            },
        ],
    };
    (pg, inventory)
}

#[test]
fn postgres_backup_passes_deep_verification_and_restores_into_a_second_cluster() {
    let site = Site::new();
    let (pg, inventory) = populated_cluster();
    let backup = site.postgres_backup(&pg.dumpall(), inventory);

    let scope = site.scope("postgres", &backup);
    assert_eq!(scope.code, 0, "{}", scope.all());
    assert!(scope.stdout.contains("ELIGIBLE"), "{}", scope.stdout);
    assert!(
        scope.stdout.contains("completion line found (deep)"),
        "{}",
        scope.stdout
    );

    let run = site.drill(&backup, "postgres");
    assert_reason(&run, 0, "drill.restored");
    let record = drill_record(&backup);
    assert_eq!(record.outcome, DrillOutcome::Pass);
    assert_eq!(record.backup_sha256, sha256_file(&backup));
    assert_eq!(record.module, "postgres");
    assert_eq!(record.class, "postgres");
    assert_eq!(
        record.artifact,
        backup.file_name().unwrap().to_str().unwrap()
    );
    let items: Vec<(&str, &str)> = record
        .comparison
        .iter()
        .map(|c| (c.item.as_str(), c.restored.as_str()))
        .collect();
    for want in [
        ("database app", "present"),
        ("app.public.orders rows", "1200"),
        ("app.public.users rows", "3"),
        ("database empty", "present"),
        ("shop.billing.Invoices|2026 rows", "7"),
        ("shop.public.empty_table rows", "0"),
    ] {
        assert!(items.contains(&want), "{want:?} not in {items:?}");
    }
    assert!(record.tool_versions.contains_key("psql"), "{record:?}");
    // The source cluster is untouched by the drill (the drill used its own).
    assert_eq!(pg.sql("app", "SELECT count(*) FROM orders").trim(), "1200");
}

/// Remove `n` data lines of `table`'s COPY block; the dump stays complete and well-formed.
fn drop_rows(sql: &[u8], table: &str, n: usize) -> Vec<u8> {
    let text = String::from_utf8(sql.to_vec()).unwrap();
    let header = format!("COPY {table} ");
    let mut out = String::new();
    let mut skipping = 0;
    let mut found = false;
    for line in text.split_inclusive('\n') {
        if skipping > 0 && !line.starts_with("\\.") {
            skipping -= 1;
            continue;
        }
        if line.starts_with(&header) {
            skipping = n;
            found = true;
        }
        out.push_str(line);
    }
    assert!(found, "no COPY block for {table}");
    out.into_bytes()
}

#[test]
fn a_dump_edited_to_lose_rows_fails_the_drill_naming_the_table() {
    let site = Site::new();
    let (pg, inventory) = populated_cluster();
    let edited = drop_rows(&pg.dumpall(), "public.orders", 5);
    let backup = site.postgres_backup(&edited, inventory);
    // Still a complete, well-formed dump: the gates' deep verification accepts it.
    let scope = site.scope("postgres", &backup);
    assert_eq!(scope.code, 0, "{}", scope.all());

    let run = site.drill(&backup, "postgres");
    assert_reason(&run, 1, "drill.content_differs");
    assert!(
        run.stdout
            .contains("app.public.orders rows: the manifest says 1200, the restore has 1195"),
        "{}",
        run.stdout
    );
    let record = drill_record(&backup);
    assert_eq!(record.outcome, DrillOutcome::Fail);
    let failed: Vec<&str> = record
        .comparison
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.item.as_str())
        .collect();
    assert_eq!(failed, ["app.public.orders rows"]);
}

#[test]
fn a_dump_cut_at_a_statement_boundary_fails_although_it_loads() {
    let site = Site::new();
    let (pg, inventory) = populated_cluster();
    let sql = pg.dumpall();
    let text = String::from_utf8(sql).unwrap();
    // Cut right before the `shop` database: every statement before it is whole.
    let cut = text
        .find("\\connect shop")
        .expect("the dump connects to shop");
    let backup = site.postgres_backup(&text.as_bytes()[..cut], inventory);
    // The gates' deep verification (which the drill runs first) already refuses it: the
    // completion line pg_dumpall writes last is missing.
    let run = site.drill(&backup, "postgres");
    assert_reason(&run, 1, "drill.backup_unreadable");
    assert!(run.stdout.contains("stopped part-way"), "{}", run.stdout);
}

/// Damage that the deep check finds only at the end of the file (the drill reads the file
/// once, checking it while restoring it: a small dump is held whole before its cluster is
/// ready, so psql never sees it; a large one has gone through psql by then, see
/// `damage_found_after_psql_read_the_streamed_text_still_fails_as_unreadable`): the drill
/// fails as unreadable, never as restored, and counts nothing.
fn damage_found_after_the_restore(damage: impl Fn(&mut Vec<u8>), what: &str) {
    let site = Site::new();
    let (pg, inventory) = populated_cluster();
    let mut file = gzip(&pg.dumpall());
    damage(&mut file);
    // The text still decompresses whole, completion line included: psql loads all of it.
    let text = String::from_utf8_lossy(&gunzip_lenient(&file)).into_owned();
    assert!(
        text.contains("-- PostgreSQL database cluster dump complete"),
        "{what}: the damage must leave the text whole"
    );
    let backup = site.backup("postgres", "sql.gz", &file);
    // The manifest describes these very bytes, so only the deep check can refuse them.
    write_manifest(
        &backup,
        "postgres",
        "postgres",
        Procedure::PgDumpall,
        inventory,
    );
    let run = site.drill(&backup, "postgres");
    assert_reason(&run, 1, "drill.backup_unreadable");
    assert!(
        !run.all().contains("[drill.restored]"),
        "{what}: {}",
        run.all()
    );
    let record = drill_record(&backup);
    assert_eq!(record.outcome, DrillOutcome::Fail, "{what}");
    assert!(record.comparison.is_empty(), "{what}: rows were counted");
    assert_eq!(record.backup_sha256, sha256_file(&backup), "{what}");
}

/// What a lenient reader (no CRC check, trailing bytes ignored) gets out of a gzip file.
fn gunzip_lenient(file: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    let _ = flate2::read::GzDecoder::new(file).read_to_end(&mut out);
    out
}

#[test]
fn a_wrong_crc_in_the_last_member_fails_the_drill_as_unreadable() {
    damage_found_after_the_restore(
        |f| {
            let at = f.len() - 8;
            f[at] ^= 0x55;
        },
        "wrong CRC-32",
    );
}

#[test]
fn bytes_after_the_last_member_fail_the_drill_as_unreadable() {
    damage_found_after_the_restore(
        |f| f.extend_from_slice(b"trailing garbage"),
        "trailing bytes",
    );
}

/// What `populated_cluster` holds, as the drill compares it.
fn populated_tables() -> forgejo_gates::backup::drill::postgres::Tables {
    let mut t = forgejo_gates::backup::drill::postgres::Tables::new();
    let table = |schema: &str, name: &str| (schema.to_string(), name.to_string());
    t.insert(
        "app".into(),
        BTreeMap::from([
            (table("public", "orders"), 1200),
            (table("public", "users"), 3),
        ]),
    );
    t.insert("empty".into(), BTreeMap::new());
    t.insert(
        "shop".into(),
        BTreeMap::from([
            (table("billing", "Invoices|2026"), 7),
            (table("public", "empty_table"), 0),
        ]),
    );
    t
}

/// The drill as the library runs it, holding at most `spool_limit` bytes of SQL text while
/// its cluster starts: 0 streams every byte through psql's pipe (the path a large dump
/// takes once the cluster is ready), where the gate's default holds a small dump whole.
fn drill_in_process(file: &[u8], spool_limit: u64) -> forgejo_gates::backup::drill::Drilled {
    use forgejo_gates::backup::drill::{self, compare::Expected};
    use forgejo_gates::model::backup_format::Format;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("postgres.sql.gz");
    std::fs::write(&path, file).unwrap();
    let opened = std::fs::File::open(&path).unwrap();
    let expected = Expected::Postgres(populated_tables());
    let preparing = drill::Preparing::start(Format::SqlGz, expected.clone(), Vec::new());
    drill::run(
        &drill::Request {
            file: &opened,
            format: Format::SqlGz,
            expected: &expected,
            spool_limit,
        },
        preparing,
    )
    .expect("the drill runs")
}

#[test]
fn a_dump_streamed_through_psql_s_pipe_restores_as_one_held_whole() {
    let (pg, _) = populated_cluster();
    let file = gzip(&pg.dumpall());
    for limit in [0, 100, forgejo_gates::backup::drill::SPOOL_LIMIT] {
        let drilled = drill_in_process(&file, limit);
        assert!(drilled.passed(), "spool limit {limit}: {drilled:?}");
        assert_eq!(
            drilled.sha256,
            forgejo_gates::digest::sha256_hex(&file),
            "spool limit {limit}"
        );
        assert!(
            drilled
                .comparison
                .iter()
                .any(|c| c.item == "app.public.orders rows" && c.restored == "1200"),
            "spool limit {limit}: {:?}",
            drilled.comparison
        );
    }
}

#[test]
fn damage_found_after_psql_read_the_streamed_text_still_fails_as_unreadable() {
    // Every byte goes through psql before the check reaches the CRC at the very end.
    let (pg, _) = populated_cluster();
    let mut file = gzip(&pg.dumpall());
    let at = file.len() - 8;
    file[at] ^= 0x55;
    let drilled = drill_in_process(&file, 0);
    assert!(
        matches!(
            drilled.failure,
            Some(forgejo_gates::backup::drill::Failure::Unreadable(_))
        ),
        "{drilled:?}"
    );
    assert!(
        drilled.comparison.is_empty(),
        "rows were counted: {drilled:?}"
    );
    assert!(!drilled.passed());
}

#[test]
fn a_dump_that_psql_rejects_fails_with_psql_s_message() {
    let site = Site::new();
    let (pg, inventory) = populated_cluster();
    let text = String::from_utf8(pg.dumpall()).unwrap();
    // A statement that fails, in the middle of a complete dump.
    let broken = text.replacen(
        "CREATE TABLE public.users",
        "SELECT 1/0;\nCREATE TABLE public.users",
        1,
    );
    assert_ne!(broken, text);
    let backup = site.postgres_backup(broken.as_bytes(), inventory);
    let run = site.drill(&backup, "postgres");
    assert_reason(&run, 1, "drill.restore_failed");
    assert!(run.stdout.contains("division by zero"), "{}", run.stdout);
}

#[test]
fn a_manifest_for_another_file_fails_before_any_restore() {
    let site = Site::new();
    let (pg, inventory) = populated_cluster();
    let dump = gzip(&pg.dumpall());
    let backup = site.backup("postgres", "sql.gz", &dump);
    write_manifest(
        &backup,
        "postgres",
        "postgres",
        Procedure::PgDumpall,
        inventory,
    );
    // The file is replaced after its manifest was written (same name, other bytes).
    // Other bytes that are still a complete dump: a comment before the completion line.
    let text = String::from_utf8(gunzip(&dump)).unwrap();
    let end = text
        .rfind("--\n-- PostgreSQL database cluster dump complete")
        .expect("pg_dumpall's completion line");
    let other = format!("{}-- replaced\n{}", &text[..end], &text[end..]).into_bytes();
    std::fs::write(&backup, gzip(&other)).unwrap();
    let run = site.drill(&backup, "postgres");
    assert_reason(&run, 1, "drill.manifest_mismatch");
    assert!(
        run.stdout.contains("the file changed after the manifest"),
        "{}",
        run.stdout
    );
    let record = drill_record(&backup);
    assert_eq!(record.outcome, DrillOutcome::Fail);
    assert_eq!(record.backup_sha256, sha256_file(&backup));
}

#[test]
fn a_backup_without_a_manifest_cannot_be_drilled() {
    let site = Site::new();
    let backup = site.backup(
        "postgres",
        "sql.gz",
        &gzip(b"--\n-- PostgreSQL database cluster dump complete\n--\n"),
    );
    let run = site.drill(&backup, "postgres");
    assert_reason(&run, 2, "drill.manifest_missing");
    assert!(!evidence::drill_path(&backup).exists());
}

#[test]
fn without_the_server_tools_the_drill_could_not_run_and_writes_no_record() {
    let site = Site::new();
    let (pg, inventory) = populated_cluster();
    let backup = site.postgres_backup(&pg.dumpall(), inventory);
    let empty = site.tmp.path().join("empty-bin");
    std::fs::create_dir(&empty).unwrap();
    let run = site.drill_with(&backup, "postgres", &[("PATH", empty.to_str().unwrap())]);
    assert_reason(&run, 2, "drill.could_not_run");
    assert!(run.all().contains("not on PATH"), "{}", run.all());
    assert!(!evidence::drill_path(&backup).exists());
}

#[test]
fn a_drill_for_another_module_is_refused() {
    let site = Site::new();
    let (pg, inventory) = populated_cluster();
    let backup = site.postgres_backup(&pg.dumpall(), inventory);
    // The file name says postgres; redis is not covered by it.
    let run = site.drill(&backup, "redis");
    assert_reason(&run, 2, "backup.ref.wrong_module");
}

// ---------------------------------------------------------------- Redis

fn populated_redis() -> (RedisServer, Inventory) {
    let r = RedisServer::start();
    for i in 0..25 {
        r.cmd(0, &["SET", &format!("session:{i}"), "x"]);
    }
    r.cmd(0, &["HSET", "user:1", "name", "a", "mail", "b"]);
    r.cmd(0, &["RPUSH", "queue", "1", "2", "3"]);
    r.cmd(3, &["SET", "other", "y"]);
    r.cmd(3, &["SADD", "tags", "a", "b"]);
    let inventory = Inventory::Redis {
        databases: vec![RedisDb { db: 0, keys: 27 }, RedisDb { db: 3, keys: 2 }],
    };
    (r, inventory)
}

#[test]
fn redis_rdb_restores_into_a_scratch_server_with_the_same_keys() {
    let site = Site::new();
    let (r, inventory) = populated_redis();
    let backup = site.backup("redis", "rdb", &r.save());
    write_manifest(&backup, "redis", "redis", Procedure::RedisBgsave, inventory);
    let scope = site.scope("redis", &backup);
    assert_eq!(scope.code, 0, "{}", scope.all());

    let run = site.drill(&backup, "redis");
    assert_reason(&run, 0, "drill.restored");
    let record = drill_record(&backup);
    assert_eq!(record.outcome, DrillOutcome::Pass);
    let items: Vec<(&str, &str)> = record
        .comparison
        .iter()
        .map(|c| (c.item.as_str(), c.restored.as_str()))
        .collect();
    assert_eq!(items, [("db0 keys", "27"), ("db3 keys", "2")]);
}

#[test]
fn redis_keys_missing_from_the_rdb_fail_the_drill_naming_the_database() {
    let site = Site::new();
    let (r, _) = populated_redis();
    let backup = site.backup("redis", "rdb", &r.save());
    // The manifest counted one key more in db3 than the file holds.
    let inventory = Inventory::Redis {
        databases: vec![RedisDb { db: 0, keys: 27 }, RedisDb { db: 3, keys: 3 }],
    };
    write_manifest(&backup, "redis", "redis", Procedure::RedisBgsave, inventory);
    let run = site.drill(&backup, "redis");
    assert_reason(&run, 1, "drill.content_differs");
    assert!(
        run.stdout
            .contains("db3 keys: the manifest says 3, the restore has 2"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_damaged_rdb_is_refused_by_the_scratch_server() {
    let site = Site::new();
    let (r, inventory) = populated_redis();
    let mut rdb = r.save();
    // Flip a byte in the middle: the magic and the EOF marker are intact, the checksum is not.
    let mid = rdb.len() / 2;
    rdb[mid] ^= 0x55;
    let backup = site.backup("redis", "rdb", &rdb);
    write_manifest(&backup, "redis", "redis", Procedure::RedisBgsave, inventory);
    let run = site.drill(&backup, "redis");
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.all().contains("[drill.restore_failed]")
            || run.all().contains("[drill.backup_unreadable]"),
        "{}",
        run.all()
    );
}

// ---------------------------------------------------------------- archives

/// A data directory like a mount: nested files, an empty file, a relative link inside.
fn data_tree(root: &Path) {
    std::fs::create_dir_all(root.join("db/sub")).unwrap();
    std::fs::write(root.join("db/a.bin"), vec![7u8; 70_000]).unwrap();
    std::fs::write(root.join("db/sub/b.txt"), b"hello\n").unwrap();
    std::fs::write(root.join("empty"), b"").unwrap();
    std::fs::write(root.join("tab\tname"), b"x").unwrap();
    std::os::unix::fs::symlink("db/sub/b.txt", root.join("link")).unwrap();
}

fn archive_inventory(root: &Path) -> Inventory {
    let mut entries = listing(root);
    let files = entries.len() as u64;
    let bytes = entries.iter().map(|(_, s)| *s).sum();
    Inventory::Archive {
        files,
        bytes,
        listing_sha256: evidence::listing_sha256(&mut entries),
    }
}

/// `tar -C root -c .` compressed with `compress` (`-z` or `--zstd`).
fn tar_of(root: &Path, compress: &str) -> Vec<u8> {
    let out = Command::new("tar")
        .arg("-C")
        .arg(root)
        .args([compress, "-cf", "-", "."])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `gated`: the module is one the scope gate lets through (vault is kept manual by its class).
fn archive_round_trip(module: &str, class: &str, ext: &str, compress: &str, gated: bool) {
    let site = Site::new();
    let data = site.tmp.path().join("data");
    data_tree(&data);
    let backup = site.backup(module, ext, &tar_of(&data, compress));
    write_manifest(
        &backup,
        module,
        class,
        Procedure::MountArchive,
        archive_inventory(&data),
    );
    if gated {
        let scope = site.scope(module, &backup);
        assert_eq!(scope.code, 0, "{}", scope.all());
    }
    let run = site.drill(&backup, module);
    assert_reason(&run, 0, "drill.restored");
    let record = drill_record(&backup);
    assert_eq!(record.outcome, DrillOutcome::Pass);
    let files = record
        .comparison
        .iter()
        .find(|c| c.item == "files")
        .unwrap();
    assert_eq!(files.restored, "4", "{record:?}");
}

#[test]
fn a_filesystem_archive_restores_into_a_scratch_directory() {
    // The fixtures have no module of class filesystem; traefik's mounts are archived the same way.
    let site = Site::new();
    let data = site.tmp.path().join("data");
    data_tree(&data);
    let modules = site.tmp.path().join("modules");
    std::fs::create_dir_all(modules.join("files")).unwrap();
    std::fs::write(
        modules.join("files/module.yaml"),
        "metadata:\n  name: files\nspec:\n  classes: []\n  runtime:\n    statefulness: stateful\n    backup_class: filesystem\n    restore: runbook.md\n",
    )
    .unwrap();
    std::fs::write(modules.join("files/runbook.md"), "# Restore\n").unwrap();
    let site = Site { modules, ..site };
    let backup = site.backup("files", "tar.gz", &tar_of(&data, "-z"));
    write_manifest(
        &backup,
        "files",
        "filesystem",
        Procedure::MountArchive,
        archive_inventory(&data),
    );
    let run = site.drill(&backup, "files");
    assert_reason(&run, 0, "drill.restored");
    assert_eq!(drill_record(&backup).outcome, DrillOutcome::Pass);
}

#[test]
fn a_backup_older_than_the_policy_s_age_limit_can_still_be_drilled() {
    // The age limit (6 h by default) is the dispatch gates' business when a backup is used; a
    // drill proves that an old backup restores, so a five-year-old one is drilled, not refused.
    let site = Site::new();
    let data = site.tmp.path().join("data");
    data_tree(&data);
    let backup = site.backup_at(
        "minio",
        -5 * 365 * 24 * 3600,
        "tar.gz",
        &tar_of(&data, "-z"),
    );
    write_manifest(
        &backup,
        "minio",
        "minio",
        Procedure::MountArchive,
        archive_inventory(&data),
    );
    let scope = site.scope("minio", &backup);
    assert!(scope.all().contains("backup.ref.stale"), "{}", scope.all());
    let run = site.drill(&backup, "minio");
    assert_reason(&run, 0, "drill.restored");
    assert_eq!(drill_record(&backup).outcome, DrillOutcome::Pass);
}

#[test]
fn vault_mount_archive_fallback_restores() {
    archive_round_trip("vault", "vault", "tar.gz", "-z", false);
}

#[test]
fn minio_mount_archive_fallback_restores_from_zstd() {
    archive_round_trip("minio", "minio", "tar.zst", "--zstd", true);
}

#[test]
fn an_archive_missing_a_file_of_its_manifest_fails() {
    let site = Site::new();
    let data = site.tmp.path().join("data");
    data_tree(&data);
    let inventory = archive_inventory(&data);
    std::fs::remove_file(data.join("db/sub/b.txt")).unwrap();
    let backup = site.backup("minio", "tar.gz", &tar_of(&data, "-z"));
    write_manifest(
        &backup,
        "minio",
        "minio",
        Procedure::MountArchive,
        inventory,
    );
    let run = site.drill(&backup, "minio");
    assert_reason(&run, 1, "drill.content_differs");
    assert!(
        run.stdout
            .contains("files: the manifest says 4, the restore has 3"),
        "{}",
        run.stdout
    );
}

/// A minio archive in the site's backup root, with the manifest `backup_before_apply --module
/// <manifest_module>` would write beside it.
fn minio_archive_with_manifest_of(site: &Site, manifest_module: &str) -> PathBuf {
    let data = site.tmp.path().join("data");
    if !data.exists() {
        data_tree(&data);
    }
    let backup = site.backup("minio", "tar.gz", &tar_of(&data, "-z"));
    write_manifest(
        &backup,
        manifest_module,
        "minio",
        Procedure::MountArchive,
        archive_inventory(&data),
    );
    backup
}

#[test]
fn a_manifest_taken_for_another_module_fails_the_drill_as_it_blocks_the_gates() {
    // The gates take a manifest for the dispatched module or for the module whose data the
    // file is (`minio` for `minio-init`), nothing else; the drill reads it the same way, for an
    // ordinary module as for a sidecar. The file and inventory match: only `module` is wrong.
    for (manifest_module, drilled) in [
        ("web-app", "minio"),
        ("minio-init", "minio"),
        ("web-app", "minio-init"),
    ] {
        let site = Site::new();
        let backup = minio_archive_with_manifest_of(&site, manifest_module);
        if drilled == "minio" {
            let scope = site.scope(drilled, &backup);
            assert_eq!(scope.code, 1, "{}", scope.all());
            assert!(
                scope.all().contains("[backup.manifest.mismatch]"),
                "{}",
                scope.all()
            );
        }
        let run = site.drill(&backup, drilled);
        assert_reason(&run, 1, "drill.manifest_mismatch");
        assert!(
            run.stdout
                .contains(&format!("the manifest is of module `{manifest_module}`")),
            "{manifest_module} drilled as {drilled}: {}",
            run.stdout
        );
        assert!(run.stdout.contains("(2 checks, "), "{}", run.stdout);
        assert_eq!(drill_record(&backup).outcome, DrillOutcome::Fail);
    }
}

#[test]
fn a_sidecar_is_drilled_with_its_own_manifest_or_with_its_data_module_s() {
    // minio-init's data lives in minio (`backup_ref_modules: [minio]`): its backup is a file
    // `minio-<stamp>.tar.gz`, whose manifest was taken for minio-init or for minio itself.
    for manifest_module in ["minio-init", "minio"] {
        let site = Site::new();
        let backup = minio_archive_with_manifest_of(&site, manifest_module);
        let run = site.drill(&backup, "minio-init");
        assert_reason(&run, 0, "drill.restored");
        assert!(run.stdout.contains("(3 checks, "), "{}", run.stdout);
        let record = drill_record(&backup);
        assert_eq!(record.outcome, DrillOutcome::Pass);
        assert_eq!(record.module, "minio-init");
    }
}

#[test]
fn a_backup_path_that_is_a_symbolic_link_is_not_followed() {
    // A complete backup with a matching manifest, but reached through a link planted at the
    // backup's name: the drill must not restore (and vouch for) whatever the link points at.
    let site = Site::new();
    let elsewhere = site.tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let real = minio_archive_with_manifest_of(&site, "minio");
    let moved = elsewhere.join(real.file_name().unwrap());
    std::fs::rename(&real, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &real).unwrap();
    let run = site.drill(&real, "minio");
    assert_reason(&run, 2, "backup.artifact.symlink");
    assert!(!evidence::drill_path(&real).exists());
}

/// A gzip'd tar of raw entries: (name, type flag, link target, content).
fn raw_tar(entries: &[(&str, u8, &str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, kind, link, data) in entries {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..108].copy_from_slice(b"0000644\0");
        h[108..116].copy_from_slice(b"0000000\0");
        h[116..124].copy_from_slice(b"0000000\0");
        h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
        h[136..148].copy_from_slice(b"15000000000\0");
        h[148..156].copy_from_slice(b"        ");
        h[156] = *kind;
        h[157..157 + link.len()].copy_from_slice(link.as_bytes());
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        let sum: u32 = h.iter().map(|b| *b as u32).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    gzip(&out)
}

fn unsafe_archive_is_refused(entries: &[(&str, u8, &str, &[u8])], what: &str) {
    let site = Site::new();
    let backup = site.backup("minio", "tar.gz", &raw_tar(entries));
    let inventory = Inventory::Archive {
        files: 1,
        bytes: 1,
        listing_sha256: "0".repeat(64),
    };
    write_manifest(
        &backup,
        "minio",
        "minio",
        Procedure::MountArchive,
        inventory,
    );
    let run = site.drill(&backup, "minio");
    assert_reason(&run, 1, "drill.archive_unsafe");
    assert!(run.stdout.contains(what), "{}", run.stdout);
    // Nothing was written next to the scratch directory either.
    assert!(!site.tmp.path().join("evil").exists());
    assert!(!site.scratch_tmp.join("evil").exists());
}

#[test]
fn archive_members_that_climb_out_are_refused() {
    unsafe_archive_is_refused(
        &[("ok", b'0', "", b"x"), ("../../evil", b'0', "", b"x")],
        "../../evil",
    );
}

#[test]
fn archive_members_with_absolute_paths_are_refused() {
    unsafe_archive_is_refused(&[("/tmp/evil", b'0', "", b"x")], "/tmp/evil");
}

#[test]
fn archive_links_pointing_outside_are_refused() {
    unsafe_archive_is_refused(
        &[("ok", b'0', "", b"x"), ("ln", b'2', "../../etc", b"")],
        "ln",
    );
    // Each archive also holds a file with data: one without is refused before any unpacking.
    unsafe_archive_is_refused(
        &[("ok", b'0', "", b"x"), ("d/ln", b'2', "/etc/passwd", b"")],
        "d/ln",
    );
    unsafe_archive_is_refused(
        &[("ok", b'0', "", b"x"), ("hard", b'1', "../x", b"")],
        "hard",
    );
}

#[test]
fn archive_device_files_are_refused() {
    unsafe_archive_is_refused(&[("ok", b'0', "", b"x"), ("dev", b'3', "", b"")], "device");
    unsafe_archive_is_refused(&[("ok", b'0', "", b"x"), ("fifo", b'6', "", b"")], "FIFO");
}

// Every tar reader (GNU tar, Go's archive/tar, Python's tarfile) must restore the tree the
// drill measured: a member list that a restore could turn into another tree is refused.

#[test]
fn archive_paths_that_occur_twice_are_refused() {
    // A file, then a link of the same name: a restore ends with the link, the drill counted
    // the file.
    unsafe_archive_is_refused(
        &[("a", b'0', "", b"x"), ("a", b'2', "b", b"")],
        "occurs twice",
    );
    // Two files, then a hard link that replaces the first with the second.
    unsafe_archive_is_refused(
        &[
            ("a", b'0', "", b"x"),
            ("b", b'0', "", b"y"),
            ("a", b'1', "b", b""),
        ],
        "occurs twice",
    );
    // One path spelled two ways; a file then a directory.
    unsafe_archive_is_refused(
        &[("a", b'0', "", b"x"), ("./a", b'0', "", b"yy")],
        "occurs twice",
    );
    unsafe_archive_is_refused(
        &[("a", b'0', "", b"x"), ("a", b'5', "", b"")],
        "occurs twice",
    );
}

#[test]
fn archive_hard_links_must_name_an_earlier_regular_file() {
    // GNU tar fails on a missing target and on one that comes later; the drill passed both.
    for entries in [
        &[("ok", b'0', "", &b"x"[..]), ("h", b'1', "missing", b"")][..],
        &[("h", b'1', "later", b""), ("later", b'0', "", b"x")],
        &[("d/f", b'0', "", b"x"), ("h", b'1', "d", b"")],
        &[
            ("f", b'0', "", b"x"),
            ("s", b'2', "f", b""),
            ("h", b'1', "s", b""),
        ],
    ] {
        unsafe_archive_is_refused(entries, "which is not an earlier regular file");
    }
}

#[test]
fn archive_members_that_go_through_a_link_member_are_refused() {
    // A directory, a link of its name to `.`, then a file under it: GNU tar restores `f` and
    // the link, the drill listed `d/f`.
    unsafe_archive_is_refused(
        &[
            ("d", b'5', "", b""),
            ("d", b'2', ".", b""),
            ("d/f", b'0', "", b"x"),
        ],
        "occurs twice",
    );
    unsafe_archive_is_refused(
        &[
            ("ok", b'0', "", b"x"),
            ("d", b'2', "sub", b""),
            ("d/f", b'0', "", b"x"),
        ],
        "goes through the link member \"d\"",
    );
    // The link after the member it is a prefix of.
    unsafe_archive_is_refused(
        &[("d/f", b'0', "", b"x"), ("d", b'2', ".", b"")],
        "occurs twice",
    );
}

#[test]
fn archive_symlinks_that_leave_only_through_another_link_are_refused() {
    // Each target stays inside read lexically; through the link `x` (to `.`), they do not.
    for entries in [
        &[
            ("ok", b'0', "", &b"x"[..]),
            ("x", b'2', ".", b""),
            ("esc", b'2', "x/..", b""),
        ][..],
        &[
            ("ok", b'0', "", b"x"),
            ("esc", b'2', "x/..", b""),
            ("x", b'2', ".", b""),
        ],
        &[
            ("ok", b'0', "", b"x"),
            ("x", b'2', ".", b""),
            ("esc2", b'2', "x/x/x/x/x/../../../../../etc/passwd", b""),
        ],
    ] {
        unsafe_archive_is_refused(entries, "through the link member \"x\"");
    }
}

#[test]
fn a_failed_drill_of_an_archive_readers_restore_differently_keeps_the_gate_blocked() {
    // The gates' deep check passes this archive; only the drill sees the second `a`, and its
    // record then blocks the dispatch that said ELIGIBLE before.
    let site = Site::new();
    let backup = site.backup(
        "minio",
        "tar.gz",
        &raw_tar(&[("a", b'0', "", b"x"), ("a", b'2', "b", b"")]),
    );
    let mut listing = vec![(b"a".to_vec(), 1u64)];
    let inventory = Inventory::Archive {
        files: 1,
        bytes: 1,
        listing_sha256: evidence::listing_sha256(&mut listing),
    };
    write_manifest(
        &backup,
        "minio",
        "minio",
        Procedure::MountArchive,
        inventory,
    );
    assert_eq!(site.scope("minio", &backup).code, 0);
    let run = site.drill(&backup, "minio");
    assert_reason(&run, 1, "drill.archive_unsafe");
    assert_reason(&site.scope("minio", &backup), 1, "backup.drill.failed");
}

#[test]
fn archives_that_tar_readers_read_differently_fail_the_drill_as_unreadable() {
    // A pax header setting `size` twice: the drill's reader took the first and read the next
    // header (an absolute path) as data, GNU tar, Go and Python restore it.
    use common::backup::{USTAR_POSIX, tar_member, tar_of_parts, tar_pax};
    let file = |name: &[u8], data: &[u8]| tar_member(name, b'0', b"", USTAR_POSIX, b"", data);
    let tar = tar_of_parts(&[
        file(b"a", b"x"),
        tar_pax(&[("size", b"1024"), ("size", b"0")]),
        file(b"b", b""),
        file(b"/tmp/evil", b"x"),
        vec![0u8; 1024],
    ]);
    let site = Site::new();
    let backup = site.backup("minio", "tar.gz", &gzip(&tar));
    let mut listing = vec![(b"a".to_vec(), 1u64), (b"b".to_vec(), 0)];
    let inventory = Inventory::Archive {
        files: 2,
        bytes: 1,
        listing_sha256: evidence::listing_sha256(&mut listing),
    };
    write_manifest(
        &backup,
        "minio",
        "minio",
        Procedure::MountArchive,
        inventory,
    );
    let run = site.drill(&backup, "minio");
    assert_reason(&run, 1, "drill.backup_unreadable");
    assert!(run.stdout.contains("sets `size` twice"), "{}", run.stdout);
}

#[test]
fn an_archive_every_reader_restores_the_same_passes() {
    // `./` spellings, a directory member after its file, a hard link to an earlier file, a
    // link to a link: one tree for every reader. The hard link is a second file as a restore
    // makes it; symbolic links are not created.
    let site = Site::new();
    let backup = site.backup(
        "minio",
        "tar.gz",
        &raw_tar(&[
            ("./", b'5', "", b""),
            ("./d/f", b'0', "", b"x"),
            ("./d", b'5', "", b""),
            ("./h", b'1', "d/f", b""),
            ("./d/l", b'2', "f", b""),
            ("./l2", b'2', "d/l", b""),
        ]),
    );
    let mut listing = vec![(b"d/f".to_vec(), 1u64), (b"h".to_vec(), 1)];
    let inventory = Inventory::Archive {
        files: 2,
        bytes: 2,
        listing_sha256: evidence::listing_sha256(&mut listing),
    };
    write_manifest(
        &backup,
        "minio",
        "minio",
        Procedure::MountArchive,
        inventory,
    );
    let run = site.drill(&backup, "minio");
    assert_reason(&run, 0, "drill.restored");
}

#[test]
fn a_hard_link_is_counted_as_the_file_a_restore_makes_of_it() {
    // GNU tar restores `h` as a second name of `ok`; a manifest that lists only `ok` does not
    // describe what comes back (the drill passed it, counting the restored tree without `h`).
    let site = Site::new();
    let backup = site.backup(
        "minio",
        "tar.gz",
        &raw_tar(&[("ok", b'0', "", b"12345"), ("h", b'1', "ok", b"")]),
    );
    let mut listing = vec![(b"ok".to_vec(), 5u64)];
    let inventory = Inventory::Archive {
        files: 1,
        bytes: 5,
        listing_sha256: evidence::listing_sha256(&mut listing),
    };
    write_manifest(
        &backup,
        "minio",
        "minio",
        Procedure::MountArchive,
        inventory,
    );
    let run = site.drill(&backup, "minio");
    assert_reason(&run, 1, "drill.content_differs");
    assert!(
        run.stdout
            .contains("files: the manifest says 1, the restore has 2"),
        "{}",
        run.stdout
    );
}

// ---------------------------------------------------------------- with backup_before_apply

impl Site {
    /// `backup_before_apply --module M`; returns the run and the printed reference.
    fn take(&self, module: &str) -> (common::Run, PathBuf) {
        let run = common::run(
            common::gate("backup_before_apply")
                .args(["--module", module, "--modules-dir"])
                .arg(&self.modules)
                .arg("--policy")
                .arg(&self.policy)
                .current_dir(self.tmp.path()),
        );
        assert_eq!(run.code, 0, "backup_before_apply failed:\n{}", run.all());
        let reference = PathBuf::from(run.stdout.lines().last().unwrap());
        (run, reference)
    }
}

fn pg_procedure(pg: &PgCluster) -> String {
    let s = pg.socket().display();
    format!(
        "  procedures:\n    postgres:\n      exec: []\n      command: [pg_dumpall, -h, \"{s}\", -U, postgres]\n      psql: [psql, -h, \"{s}\", -U, postgres]\n"
    )
}

#[test]
fn postgres_end_to_end_backup_before_apply_then_restore_drill() {
    let (pg, inventory) = populated_cluster();
    let site = Site::with_policy(&pg_procedure(&pg));
    let (_, backup) = site.take("postgres");
    // backup_before_apply counted the same rows the test put in.
    let manifest =
        evidence::parse_manifest(&std::fs::read(evidence::manifest_path(&backup)).unwrap())
            .unwrap();
    assert_eq!(manifest.inventory, inventory);
    let scope = site.scope("postgres", &backup);
    assert_eq!(scope.code, 0, "{}", scope.all());

    let run = site.drill(&backup, "postgres");
    assert_reason(&run, 0, "drill.restored");
    let record = drill_record(&backup);
    assert_eq!(record.outcome, DrillOutcome::Pass);
    assert_eq!(record.backup_sha256, manifest.sha256);
}

/// A module of `class` whose data is the directory `mount`, backed up as a mount archive.
fn mount_site(module: &str, class: &str, mount: &Path) -> Site {
    let site = Site::with_policy(&format!(
        "  mounts:\n    {module}:\n      - {}\n",
        mount.display()
    ));
    let modules = site.tmp.path().join("modules");
    std::fs::create_dir_all(modules.join(module)).unwrap();
    std::fs::write(
        modules.join(module).join("module.yaml"),
        format!("metadata:\n  name: {module}\nspec:\n  classes: []\n  runtime:\n    statefulness: stateful\n    backup_class: {class}\n    restore: runbook.md\n"),
    )
    .unwrap();
    std::fs::write(modules.join(module).join("runbook.md"), "# Restore\n").unwrap();
    Site { modules, ..site }
}

fn mount_end_to_end(module: &str, class: &str) {
    let data = tempfile::tempdir().unwrap();
    data_tree(data.path());
    let site = mount_site(module, class, data.path());
    let (_, backup) = site.take(module);
    let scope = site.scope(module, &backup);
    assert_eq!(scope.code, 0, "{}", scope.all());
    let run = site.drill(&backup, module);
    assert_reason(&run, 0, "drill.restored");
    let record = drill_record(&backup);
    assert_eq!(record.outcome, DrillOutcome::Pass);
    let files = record
        .comparison
        .iter()
        .find(|c| c.item == "files")
        .unwrap();
    assert_eq!(
        (files.expected.as_str(), files.restored.as_str()),
        ("4", "4")
    );
}

#[test]
fn long_names_and_long_link_targets_written_by_backup_before_apply_pass_the_gate_and_drill() {
    // backup_before_apply writes GNU headers: names and link targets over 100 bytes go in
    // long-name (`L`) and long-link (`K`) members, which the gates' walk and the drill read.
    let data = tempfile::tempdir().unwrap();
    data_tree(data.path());
    let deep_dir = data.path().join("n".repeat(90)).join("m".repeat(90));
    std::fs::create_dir_all(&deep_dir).unwrap();
    std::fs::write(deep_dir.join("f".repeat(80)), b"long").unwrap();
    let target = format!("{}/{}/{}", "n".repeat(90), "m".repeat(90), "f".repeat(80));
    std::os::unix::fs::symlink(&target, data.path().join("long-link")).unwrap();
    let site = mount_site("files", "filesystem", data.path());
    let (_, backup) = site.take("files");
    let scope = site.scope("files", &backup);
    assert_eq!(scope.code, 0, "{}", scope.all());
    let run = site.drill(&backup, "files");
    assert_reason(&run, 0, "drill.restored");
    let record = drill_record(&backup);
    let files = record
        .comparison
        .iter()
        .find(|c| c.item == "files")
        .unwrap();
    assert_eq!(
        (files.expected.as_str(), files.restored.as_str()),
        ("5", "5")
    );
}

#[test]
fn filesystem_end_to_end_mount_archive() {
    mount_end_to_end("files", "filesystem");
}

#[test]
fn vault_end_to_end_mount_archive_fallback() {
    mount_end_to_end("vault", "vault");
}

#[test]
fn minio_end_to_end_mount_archive_fallback() {
    mount_end_to_end("minio", "minio");
}

#[test]
fn redis_end_to_end_mount_archive_of_the_data_directory() {
    let (r, _) = populated_redis();
    r.save();
    let site = mount_site("cache", "redis", r.dir.path());
    let (_, backup) = site.take("cache");
    assert!(
        backup.to_str().unwrap().ends_with(".tar.gz"),
        "{}",
        backup.display()
    );
    let run = site.drill(&backup, "cache");
    assert_reason(&run, 0, "drill.restored");
}

// ---------------------------------------------------------------- the gates require the drill

#[test]
fn with_require_drill_the_gate_accepts_only_this_file_s_passing_drill() {
    let (pg, _) = populated_cluster();
    let site = Site::with_policy(&format!(
        "{}  require_drill: [postgres]\n",
        pg_procedure(&pg)
    ));
    let (_, first) = site.take("postgres");
    // Not drilled yet: the gate asks for the drill.
    let scope = site.scope("postgres", &first);
    assert_reason(&scope, 1, "backup.drill.missing");

    let run = site.drill(&first, "postgres");
    assert_reason(&run, 0, "drill.restored");
    let scope = site.scope("postgres", &first);
    assert_eq!(scope.code, 0, "{}", scope.all());
    assert!(scope.stdout.contains("ELIGIBLE"), "{}", scope.stdout);

    // A second backup (one second later, so another name), with the first one's passing
    // drill record copied beside it: the record is for another file.
    pg.sql("app", "INSERT INTO orders VALUES (5000, 'late')");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (_, second) = site.take("postgres");
    assert_ne!(first, second);
    std::fs::copy(evidence::drill_path(&first), evidence::drill_path(&second)).unwrap();
    let scope = site.scope("postgres", &second);
    assert_reason(&scope, 1, "backup.drill.mismatch");

    // Its own drill, and the gate says yes.
    let run = site.drill(&second, "postgres");
    assert_reason(&run, 0, "drill.restored");
    let scope = site.scope("postgres", &second);
    assert_eq!(scope.code, 0, "{}", scope.all());
}

#[test]
fn a_failed_drill_record_blocks_the_gate_even_when_no_drill_is_required() {
    let site = Site::new();
    let (pg, inventory) = populated_cluster();
    let edited = drop_rows(&pg.dumpall(), "public.orders", 1);
    let backup = site.postgres_backup(&edited, inventory);
    assert_eq!(site.scope("postgres", &backup).code, 0);
    let run = site.drill(&backup, "postgres");
    assert_reason(&run, 1, "drill.content_differs");
    let scope = site.scope("postgres", &backup);
    assert_reason(&scope, 1, "backup.drill.failed");
}

/// A restored database may set its own `statement_timeout` (pg_dumpall carries `ALTER DATABASE
/// ... SET`; the dump clears it for its own session, so the restore is whole): the drill's
/// counts must not be cancelled by it. One million rows take far more than 1 ms to count.
#[test]
fn a_restored_database_s_own_statement_timeout_does_not_cancel_the_drill_s_counts() {
    let site = Site::new();
    let pg = PgCluster::start();
    pg.sql("postgres", "CREATE DATABASE app");
    pg.sql(
        "app",
        "CREATE TABLE items (id int); INSERT INTO items SELECT generate_series(1, 1000000);",
    );
    pg.sql(
        "postgres",
        "ALTER DATABASE app SET statement_timeout = '1ms'; \
         ALTER DATABASE app SET lock_timeout = '1ms'",
    );
    let backup = site.postgres_backup(
        &pg.dumpall(),
        Inventory::Postgres {
            databases: vec![PgDatabase {
                name: "app".into(),
                tables: vec![PgTable {
                    schema: "public".into(),
                    name: "items".into(),
                    rows: 1_000_000,
                }],
            }],
        },
    );
    let run = site.drill(&backup, "postgres");
    assert_eq!(run.code, 0, "{}", run.stdout);
}

/// A restored database can set its own `search_path` (`ALTER DATABASE ... SET`, which
/// pg_dumpall carries) ahead of `pg_catalog`, with a `count(*)` of its own there. The drill's
/// counts must still be PostgreSQL's: here the dump lost 5 rows of `orders` and the database's
/// own `count(*)` says 1200 for every table, as the manifest does.
#[test]
fn a_restored_database_s_own_count_function_cannot_answer_for_the_drill() {
    let site = Site::new();
    let (pg, inventory) = populated_cluster();
    pg.sql(
        "app",
        "CREATE SCHEMA evil;
         CREATE FUNCTION evil.keep(bigint) RETURNS bigint LANGUAGE sql AS 'SELECT $1';
         CREATE AGGREGATE evil.count(*) (SFUNC = evil.keep, STYPE = bigint, INITCOND = '1200');",
    );
    pg.sql(
        "postgres",
        "ALTER DATABASE app SET search_path = evil, pg_catalog, public",
    );
    // The database's own count answers 1200 for any table (checked on the source).
    assert_eq!(pg.sql("app", "SELECT count(*) FROM users").trim(), "1200");
    let Inventory::Postgres { mut databases } = inventory else {
        unreachable!()
    };
    for table in &mut databases[0].tables {
        table.rows = 1200;
    }
    let edited = drop_rows(&pg.dumpall(), "public.orders", 5);
    let backup = site.postgres_backup(&edited, Inventory::Postgres { databases });

    let run = site.drill(&backup, "postgres");
    assert_reason(&run, 1, "drill.content_differs");
    assert!(
        run.stdout
            .contains("app.public.orders rows: the manifest says 1200, the restore has 1195"),
        "{}",
        run.stdout
    );
}
