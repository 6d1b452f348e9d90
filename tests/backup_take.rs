//! `backup_before_apply` at the process level, against a real PostgreSQL cluster (started by
//! the test on a private socket, as an unprivileged user when the tests run as root) and real
//! directories: exit codes, reason codes, the file, its manifest, and the gates' verdict on it.

mod common;

use common::{gate, run};
use forgejo_gates::backup::evidence::{self, BackupManifest, Inventory, PgDatabase, PgTable};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

const NOBODY: u32 = 65534;

fn euid() -> u32 {
    std::fs::metadata("/proc/self").unwrap().uid()
}

/// A throw-away cluster on a private socket, stopped when dropped (also when a test fails).
struct Cluster {
    dir: tempfile::TempDir,
}

impl Cluster {
    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
    fn socket(&self) -> String {
        self.dir.path().join("sock").display().to_string()
    }

    /// `cmd` as the cluster's owner: `nobody` when we are root (PostgreSQL refuses root).
    fn as_owner(program: &str) -> Command {
        if euid() == 0 {
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={NOBODY}"),
                &format!("--regid={NOBODY}"),
                "--clear-groups",
                program,
            ]);
            c
        } else {
            Command::new(program)
        }
    }

    fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        for sub in ["data", "sock"] {
            let p = dir.path().join(sub);
            std::fs::create_dir(&p).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700)).unwrap();
            if euid() == 0 {
                std::os::unix::fs::chown(&p, Some(NOBODY), Some(NOBODY)).unwrap();
            }
        }
        let cluster = Cluster { dir };
        let ok = Self::as_owner("initdb")
            .args(["-D", &cluster.data().display().to_string()])
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .output()
            .unwrap();
        assert!(
            ok.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&ok.stderr)
        );
        let log = cluster.dir.path().join("sock/log");
        let ok = Self::as_owner("pg_ctl")
            .args(["-D", &cluster.data().display().to_string(), "-w", "-l"])
            .arg(&log)
            .args([
                "-o",
                &format!(
                    "-k {} -c listen_addresses='' -c fsync=off",
                    cluster.socket()
                ),
                "start",
            ])
            .output()
            .unwrap();
        assert!(
            ok.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&ok.stderr)
        );
        cluster
    }

    fn sql(&self, db: &str, sql: &str) {
        let out = Command::new("psql")
            .args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                &self.socket(),
                "-U",
                "postgres",
                "-d",
                db,
                "-c",
                sql,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Self::as_owner("pg_ctl")
            .args([
                "-D",
                &self.data().display().to_string(),
                "-m",
                "immediate",
                "stop",
            ])
            .output();
    }
}

/// A backup root and a policy pointing there, the postgres procedure run on this host.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(procedures: &str, extra: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("backups");
        std::fs::create_dir(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700)).unwrap();
        let policy = format!(
            "backup:\n  root: {}\n  owner_uid: {}\n  verify: deep\n{procedures}{extra}",
            root.display(),
            euid()
        );
        std::fs::write(dir.path().join("policy.yml"), policy).unwrap();
        Setup { dir }
    }
    fn root(&self) -> PathBuf {
        self.dir.path().join("backups")
    }
    fn policy(&self) -> PathBuf {
        self.dir.path().join("policy.yml")
    }
    fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.root())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

fn pg_procedure(cluster: &Cluster, command: &str) -> String {
    let s = cluster.socket();
    format!(
        "  procedures:\n    postgres:\n      exec: []\n      command: {command}\n      psql: [psql, -h, \"{s}\", -U, postgres]\n"
    )
}

/// A policy whose postgres procedure runs `pg_dumpall` against `cluster` as `postgres`.
fn pg_dumpall_setup(cluster: &Cluster) -> Setup {
    pg_dumpall_setup_with(cluster, "")
}

/// [`pg_dumpall_setup`] with more of `pg_dumpall`'s arguments (`, --a, --b`).
fn pg_dumpall_setup_with(cluster: &Cluster, more: &str) -> Setup {
    let s = cluster.socket();
    Setup::new(
        &pg_procedure(
            cluster,
            &format!("[pg_dumpall, -h, \"{s}\", -U, postgres{more}]"),
        ),
        "",
    )
}

/// The manifest beside the backup file `reference`.
fn manifest_at(reference: &str) -> BackupManifest {
    let path = evidence::manifest_path(Path::new(reference));
    evidence::parse_manifest(&std::fs::read(path).unwrap()).unwrap()
}

/// The postgres inventory in the manifest of the backup `r` took, which must have passed.
fn postgres_inventory(r: &common::Run) -> Vec<PgDatabase> {
    assert_eq!(r.code, 0, "{}", r.all());
    let m = manifest_at(r.stdout.lines().last().unwrap());
    let Inventory::Postgres { databases } = m.inventory else {
        panic!("not a postgres inventory: {:?}", m.inventory)
    };
    databases
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/modules")
}

fn take(setup: &Setup, modules: &Path, module: &str) -> common::Run {
    let out = setup.dir.path().join("github_output");
    run(gate("backup_before_apply")
        .args(["--module", module])
        .arg("--modules-dir")
        .arg(modules)
        .arg("--policy")
        .arg(setup.policy())
        .env("GITHUB_OUTPUT", &out))
}

fn scope(setup: &Setup, modules: &Path, module: &str, backup_ref: &str) -> common::Run {
    run(gate("auto_apply_scope")
        .args([
            "--module",
            module,
            "--allow-stateful",
            "--backup-ref",
            backup_ref,
        ])
        .args(["--stateful-confirm", "BACKUP_DONE_F3"])
        .arg("--modules-dir")
        .arg(modules)
        .arg("--policy")
        .arg(setup.policy()))
}

fn sha256_of(path: &Path) -> String {
    forgejo_gates::digest::sha256_hex(&std::fs::read(path).unwrap())
}

#[test]
fn a_postgres_backup_is_taken_verified_described_and_eligible() {
    let cluster = Cluster::start();
    cluster.sql("postgres", "CREATE DATABASE app");
    cluster.sql("postgres", "CREATE DATABASE \"shop's\"");
    cluster.sql(
        "app",
        "CREATE TABLE orders (id int); INSERT INTO orders SELECT generate_series(1, 1200);
         CREATE TABLE items (id int); INSERT INTO items VALUES (1), (2), (3);
         CREATE SCHEMA \"Odd schema\"; CREATE TABLE \"Odd schema\".\"tab\tle\" (x text);
         INSERT INTO \"Odd schema\".\"tab\tle\" VALUES ('secret-value');",
    );
    cluster.sql("shop's", "CREATE TABLE carts (id int);");
    let setup = pg_dumpall_setup(&cluster);
    let r = take(&setup, &fixtures(), "postgres");
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        !r.all().contains("secret-value"),
        "a backup's content was printed"
    );
    let reference = r.stdout.lines().last().unwrap();
    assert!(reference.starts_with(&format!("{}/postgres-", setup.root().display())));
    assert!(reference.ends_with(".sql.gz"), "{reference}");
    assert!(r.stdout.contains("info[backup.take.ok]"), "{}", r.stdout);
    let path = Path::new(reference);
    let meta = std::fs::metadata(path).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o600);
    let outputs = std::fs::read_to_string(setup.dir.path().join("github_output")).unwrap();
    assert!(
        outputs
            .lines()
            .any(|l| l == format!("backup_ref={reference}")),
        "{outputs}"
    );
    // Nothing else is left in the root: the file and its manifest.
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(
        setup.entries(),
        [name.clone(), format!("{name}.manifest.json")]
    );

    let manifest_path = evidence::manifest_path(path);
    assert_eq!(
        std::fs::metadata(&manifest_path).unwrap().mode() & 0o7777,
        0o600
    );
    let m = evidence::parse_manifest(&std::fs::read(&manifest_path).unwrap()).unwrap();
    assert_eq!(
        (m.module.as_str(), m.ref_module.as_str(), m.class.as_str()),
        ("postgres", "postgres", "postgres")
    );
    assert_eq!(m.procedure.as_str(), "pg_dumpall");
    assert_eq!(m.artifact, name);
    assert_eq!(m.size, meta.len());
    assert_eq!(m.sha256, sha256_of(path));
    assert!(
        m.tool_versions["pg_dumpall"].contains("PostgreSQL"),
        "{:?}",
        m.tool_versions
    );
    // psql says its version in the session that counts: the line `psql --version` prints.
    let psql_version = Command::new("psql").arg("--version").output().unwrap();
    assert_eq!(
        m.tool_versions["psql"],
        String::from_utf8_lossy(&psql_version.stdout).trim(),
    );
    let table = |schema: &str, name: &str, rows| PgTable {
        schema: schema.into(),
        name: name.into(),
        rows,
    };
    assert_eq!(
        m.inventory,
        Inventory::Postgres {
            databases: vec![
                PgDatabase {
                    name: "app".into(),
                    tables: vec![
                        table("Odd schema", "tab\tle", 1),
                        table("public", "items", 3),
                        table("public", "orders", 1200),
                    ]
                },
                PgDatabase {
                    name: "shop's".into(),
                    tables: vec![table("public", "carts", 0)]
                },
            ]
        }
    );
    // The dump is complete: gunzip it to its last byte and find pg_dumpall's completion line.
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap()),
        &mut text,
    )
    .unwrap();
    assert!(
        text.trim_end()
            .ends_with("PostgreSQL database cluster dump complete\n--"),
        "{}",
        &text[text.len().saturating_sub(200)..]
    );

    let gate_run = scope(&setup, &fixtures(), "postgres", reference);
    assert_eq!(gate_run.code, 0, "{}", gate_run.all());
    assert!(gate_run.stdout.contains("ELIGIBLE"), "{}", gate_run.stdout);
}

/// pg_dumpall (15.14 and later) writes a random key on its `\restrict` and `\unrestrict`
/// lines; two dumps of the same data differ only there.
fn without_restrict_keys(dump: &[u8]) -> Vec<u8> {
    dump.split_inclusive(|b| *b == b'\n')
        .flat_map(|line| {
            if line.starts_with(b"\\restrict ") || line.starts_with(b"\\unrestrict ") {
                let word = line.iter().position(|b| *b == b' ').unwrap_or(line.len());
                &line[..word]
            } else {
                line
            }
        })
        .copied()
        .collect()
}

#[test]
fn a_dump_larger_than_a_block_is_gzipped_in_members_that_are_read_whole() {
    let cluster = Cluster::start();
    cluster.sql("postgres", "CREATE DATABASE app");
    // About 3.5 MiB of dump text: gzipped as several members on several threads.
    cluster.sql(
        "app",
        "CREATE TABLE big AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 90000) g",
    );
    let setup = pg_dumpall_setup(&cluster);
    let r = take(&setup, &fixtures(), "postgres");
    assert_eq!(r.code, 0, "{}", r.all());
    let path = PathBuf::from(r.stdout.lines().last().unwrap());
    let gz = std::fs::read(&path).unwrap();
    // Every member, in order, is exactly what pg_dumpall writes.
    let direct = Command::new("pg_dumpall")
        .args(["-h", &cluster.socket(), "-U", "postgres"])
        .output()
        .unwrap();
    assert!(direct.status.success());
    let mut whole = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&gz[..]), &mut whole)
        .unwrap();
    assert!(direct.stdout.len() > 3 << 20, "{}", direct.stdout.len());
    assert!(
        without_restrict_keys(&whole) == without_restrict_keys(&direct.stdout),
        "the gzip members do not hold the dump in order"
    );
    // The first member ends after 1 MiB: the file is more than one member.
    let mut first = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut first).unwrap();
    assert_eq!(first.len(), 1 << 20);
    // gzip itself reads it whole, and so did the gates (exit 0 above; the manifest's sha256).
    let t = Command::new("gzip").arg("-t").arg(&path).output().unwrap();
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
    let m =
        evidence::parse_manifest(&std::fs::read(evidence::manifest_path(&path)).unwrap()).unwrap();
    assert_eq!(m.sha256, sha256_of(&path));
    let gate_run = scope(&setup, &fixtures(), "postgres", &path.display().to_string());
    assert_eq!(gate_run.code, 0, "{}", gate_run.all());
}

#[test]
fn a_dump_that_fails_half_way_leaves_no_file_and_exits_2() {
    let cluster = Cluster::start();
    cluster.sql("postgres", "CREATE DATABASE app;");
    cluster.sql("app", "CREATE TABLE t AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 20000) g;");
    let s = cluster.socket();
    // pg_dumpall's output is cut after 64 KiB and the pipeline fails, as a dying dump does.
    let command = format!(
        "[sh, -c, \"pg_dumpall -h '{s}' -U postgres | head -c 65536; echo 'pg_dumpall: error: connection lost' >&2; exit 1\"]"
    );
    let setup = Setup::new(&pg_procedure(&cluster, &command), "");
    let r = take(&setup, &fixtures(), "postgres");
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.stderr.contains("error[backup.take.failed]"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("step `dump` failed"), "{}", r.stderr);
    assert!(
        r.stderr.contains("connection lost"),
        "the step's stderr is shown: {}",
        r.stderr
    );
    assert!(
        r.stdout.is_empty(),
        "no backup reference is printed: {}",
        r.stdout
    );
    assert_eq!(
        setup.entries(),
        Vec::<String>::new(),
        "nothing is left in the root"
    );
}

#[test]
fn a_dump_that_exits_0_but_is_not_a_dump_fails_verification() {
    let setup = Setup::new(
        "  procedures:\n    postgres:\n      exec: []\n      command: [printf, 'hello']\n      psql: [psql]\n",
        "",
    );
    let r = take(&setup, &fixtures(), "postgres");
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("step `verify` failed"), "{}", r.stderr);
    assert!(r.stderr.contains("backup.artifact.format"), "{}", r.stderr);
    assert_eq!(setup.entries(), Vec::<String>::new());
}

#[test]
fn a_dump_cut_short_by_a_pipeline_that_exits_0_fails_verification() {
    let cluster = Cluster::start();
    cluster.sql("postgres", "CREATE DATABASE app;");
    cluster.sql(
        "app",
        "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 120000) g;",
    );
    let s = cluster.socket();
    // Several members are written (and read back) before the cut; `head` exits 0, and so
    // does the pipeline: only the missing completion line tells.
    let command = format!("[sh, -c, \"pg_dumpall -h '{s}' -U postgres | head -c 3500000\"]");
    let setup = Setup::new(&pg_procedure(&cluster, &command), "");
    let r = take(&setup, &fixtures(), "postgres");
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("step `verify` failed"), "{}", r.stderr);
    assert!(
        r.stderr.contains("backup.artifact.incomplete"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert_eq!(setup.entries(), Vec::<String>::new());
}

/// The cut lands right after rows that spell pg_dumpall's last lines: the text ends as a
/// complete dump does, psql loads it (end of input ends a COPY), the row counts even match
/// (the table's rows all came before the cut), and only what pg_dumpall writes after the
/// data (here the last database's primary key) is lost. pg_dumpall 15.14 and later end every
/// section with `\unrestrict <key>`, which COPY data cannot hold: the backup is refused.
#[test]
fn a_dump_cut_inside_copy_rows_that_spell_the_completion_line_fails_verification() {
    let cluster = Cluster::start();
    cluster.sql("postgres", "CREATE DATABASE zzz");
    cluster.sql(
        "zzz",
        "CREATE TABLE keyed (id int PRIMARY KEY); INSERT INTO keyed VALUES (1);
         CREATE TABLE notes (t text);
         INSERT INTO notes VALUES (''), ('--'), ('-- PostgreSQL database cluster dump complete'), ('--');",
    );
    let s = cluster.socket();
    // `sed` prints up to the first completion line (the rows') and the `--` after it, then
    // quits: exit 0, as `head` does.
    let command = format!(
        "[sh, -c, \"pg_dumpall -h '{s}' -U postgres | sed '/^-- PostgreSQL database cluster dump complete$/{{n;q}}'\"]"
    );
    let setup = Setup::new(&pg_procedure(&cluster, &command), "");
    let r = take(&setup, &fixtures(), "postgres");
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("step `verify` failed"), "{}", r.stderr);
    assert!(
        r.stderr.contains("backup.artifact.incomplete"),
        "{}",
        r.stderr
    );
    assert_eq!(setup.entries(), Vec::<String>::new());
}

#[test]
fn a_file_changed_while_the_dump_runs_fails_verification() {
    let setup = Setup::new("", "");
    let root = setup.root();
    // A dump that, half-way, waits until the backup file holds a few members and the
    // read-back had time to pass its start, changes one early byte of it (as another
    // process with the owner's rights could), and then ends as a complete dump.
    let script = setup.dir.path().join("dump.sh");
    std::fs::write(
        &script,
        format!(
            r#"set -e
printf -- '--\n-- PostgreSQL database cluster dump\n--\n\nSET x = 1;\nCOPY t (a) FROM stdin;\n'
head -c 4000000 /dev/urandom | od -An -tx1
f=$(ls {root}/.backup_before_apply-*/*.sql.gz)
while [ "$(stat -c %s "$f")" -lt 1000000 ]; do sleep 0.05; done
sleep 1
printf 'X' | dd of="$f" bs=1 seek=100 conv=notrunc 2>/dev/null
head -c 1000000 /dev/urandom | od -An -tx1
printf -- '\\.\n\n--\n-- PostgreSQL database cluster dump complete\n--\n\n'
"#,
            root = root.display()
        ),
    )
    .unwrap();
    let procedures = format!(
        "  procedures:\n    postgres:\n      exec: []\n      command: [sh, {}]\n      psql: [\"true\"]\n",
        script.display()
    );
    std::fs::write(
        setup.policy(),
        format!(
            "backup:\n  root: {}\n  owner_uid: {}\n  verify: deep\n{procedures}",
            root.display(),
            euid()
        ),
    )
    .unwrap();
    let r = take(&setup, &fixtures(), "postgres");
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("step `verify` failed"), "{}", r.stderr);
    assert!(r.stderr.contains("backup.artifact.format"), "{}", r.stderr);
    assert!(
        r.stderr.contains("changed after it was read back")
            && r.stderr.contains("bytes from offset 0 had BLAKE3 digest"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert_eq!(setup.entries(), Vec::<String>::new());
}

/// A module directory with one filesystem-class module.
fn filesystem_module(dir: &Path, name: &str, class: &str) -> PathBuf {
    let modules = dir.join("modules");
    std::fs::create_dir_all(modules.join(name)).unwrap();
    std::fs::write(
        modules.join(name).join("module.yaml"),
        format!("metadata:\n  name: {name}\nspec:\n  classes: []\n  runtime:\n    statefulness: stateful\n    backup_class: {class}\n    restore: runbook.md#restore\n"),
    )
    .unwrap();
    std::fs::write(modules.join(name).join("runbook.md"), "# Restore\n").unwrap();
    modules
}

#[test]
fn a_filesystem_backup_archives_the_mounts_and_lists_them() {
    let data = tempfile::tempdir().unwrap();
    let mount = data.path().join("appdata");
    std::fs::create_dir_all(mount.join("uploads")).unwrap();
    std::fs::write(mount.join("uploads/a.bin"), vec![7u8; 5000]).unwrap();
    std::fs::write(mount.join("config.json"), b"{\"k\": 1}").unwrap();
    let setup = Setup::new(
        "",
        &format!("  mounts:\n    files:\n      - {}\n", mount.display()),
    );
    let modules = filesystem_module(setup.dir.path(), "files", "filesystem");
    let r = take(&setup, &modules, "files");
    assert_eq!(r.code, 0, "{}", r.all());
    let reference = r.stdout.lines().last().unwrap();
    assert!(reference.ends_with(".tar.gz"), "{reference}");
    let m = manifest_at(reference);
    assert_eq!(m.procedure.as_str(), "mount-archive");
    // The listing, computed here from the archive itself.
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(reference).unwrap(),
    ));
    let mut listing = Vec::new();
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        if e.header().entry_type().is_file() {
            listing.push((e.path_bytes().into_owned(), e.header().size().unwrap()));
        }
    }
    assert_eq!(listing.len(), 2);
    assert_eq!(
        m.inventory,
        Inventory::Archive {
            files: 2,
            bytes: 5008,
            listing_sha256: evidence::listing_sha256(&mut listing)
        }
    );
    let gate_run = scope(&setup, &modules, "files", reference);
    assert_eq!(gate_run.code, 0, "{}", gate_run.all());
}

#[test]
fn a_sidecar_is_backed_up_through_its_ref_module() {
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("object"), b"bucket data").unwrap();
    let setup = Setup::new(
        "",
        &format!("  mounts:\n    minio: [{}]\n", data.path().display()),
    );
    let r = take(&setup, &fixtures(), "minio-init");
    assert_eq!(r.code, 0, "{}", r.all());
    let reference = r.stdout.lines().last().unwrap();
    let name = Path::new(reference)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with("minio-2") && name.ends_with(".tar.gz"),
        "{name}"
    );
    let m = manifest_at(reference);
    assert_eq!(
        (m.module.as_str(), m.ref_module.as_str(), m.class.as_str()),
        ("minio-init", "minio", "minio")
    );
}

#[test]
fn what_cannot_be_backed_up_is_refused_with_exit_2() {
    let setup = Setup::new("", "");
    let modules = filesystem_module(setup.dir.path(), "legacy", "separate-root");
    let r = take(&setup, &modules, "legacy");
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.stderr.contains("error[backup.take.refused]") && r.stderr.contains("by hand"),
        "{}",
        r.stderr
    );
    // A mount-archive class without mounts in the policy.
    let r = take(&setup, &fixtures(), "minio");
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("backup.mounts.minio"), "{}", r.stderr);
    // A module without a backup class.
    let r = take(&setup, &fixtures(), "web-app");
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("backup_class"), "{}", r.stderr);
    assert_eq!(setup.entries(), Vec::<String>::new());
}

/// A throw-away Redis server on a private socket, stopped when dropped.
struct Redis {
    dir: tempfile::TempDir,
}

impl Redis {
    fn socket(&self) -> String {
        self.dir.path().join("r.sock").display().to_string()
    }
    fn start(extra: &[&str]) -> Redis {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let r = Redis { dir };
        let ok = Cluster::as_owner("redis-server")
            .args([
                "--port",
                "0",
                "--unixsocket",
                &r.socket(),
                "--unixsocketperm",
                "777",
            ])
            .arg("--dir")
            .arg(r.dir.path())
            .args(["--save", "", "--daemonize", "yes", "--pidfile"])
            .arg(r.dir.path().join("pid"))
            .arg("--logfile")
            .arg(r.dir.path().join("log"))
            .args(extra)
            .output()
            .unwrap();
        assert!(
            ok.status.success(),
            "redis-server: {}",
            String::from_utf8_lossy(&ok.stderr)
        );
        for _ in 0..100 {
            if Path::new(&r.socket()).exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        r
    }
    fn cli(&self, args: &[&str]) {
        let out = Command::new("redis-cli")
            .args(["-s", &self.socket()])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "redis-cli: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        for _ in 0..50 {
            if let Ok(pid) = std::fs::read_to_string(self.dir.path().join("pid")) {
                let _ = Command::new("kill").arg(pid.trim()).output();
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

#[test]
fn a_redis_backup_is_an_rdb_dump_with_keys_per_database() {
    let redis = Redis::start(&[]);
    redis.cli(&["SET", "a", "secret-value"]);
    redis.cli(&["SET", "b", "2"]);
    redis.cli(&["-n", "3", "SET", "c", "3"]);
    let setup = Setup::new(
        &format!(
            "  procedures:\n    redis:\n      exec: []\n      cli: [redis-cli, -s, \"{}\"]\n",
            redis.socket()
        ),
        "",
    );
    let modules = filesystem_module(setup.dir.path(), "cache", "redis");
    let r = take(&setup, &modules, "cache");
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(!r.all().contains("secret-value"));
    let reference = r.stdout.lines().last().unwrap();
    assert!(reference.ends_with(".rdb"), "{reference}");
    let m = manifest_at(reference);
    assert_eq!(m.procedure.as_str(), "redis-bgsave");
    assert_eq!(
        m.inventory,
        Inventory::Redis {
            databases: vec![
                evidence::RedisDb { db: 0, keys: 2 },
                evidence::RedisDb { db: 3, keys: 1 }
            ]
        }
    );
    let gate_run = scope(&setup, &modules, "cache", reference);
    assert_eq!(gate_run.code, 0, "{}", gate_run.all());
}

#[test]
fn a_password_protected_redis_is_archived_from_its_mounts_or_refused() {
    let redis = Redis::start(&["--requirepass", "hunter2-secret"]);
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("dump.rdb"), b"REDIS0010").unwrap();
    let procedure = format!(
        "  procedures:\n    redis:\n      exec: []\n      cli: [redis-cli, -s, \"{}\"]\n",
        redis.socket()
    );
    let setup = Setup::new(&procedure, "");
    let modules = filesystem_module(setup.dir.path(), "cache", "redis");
    let r = take(&setup, &modules, "cache");
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.stderr.contains("error[backup.take.refused]") && r.stderr.contains("NOAUTH"),
        "{}",
        r.stderr
    );
    assert_eq!(setup.entries(), Vec::<String>::new());
    let setup = Setup::new(
        &procedure,
        &format!("  mounts:\n    cache: [{}]\n", data.path().display()),
    );
    let modules = filesystem_module(setup.dir.path(), "cache", "redis");
    let r = take(&setup, &modules, "cache");
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.lines().last().unwrap().ends_with(".tar.gz"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("RDB dump skipped"), "{}", r.stdout);
    assert!(!r.all().contains("hunter2"), "{}", r.all());
}

/// A database may set its own search_path ahead of `pg_catalog`, with a `count(*)` of its own
/// there (here one that answers 1200 for any table): the inventory must still hold
/// PostgreSQL's counts, or the drill would compare the restore with numbers the database made up.
/// Checked in the database psql starts in (`postgres`), the first it counts by `-d` (`app`) and
/// one it `\connect`s to (`shop`).
#[test]
fn the_inventory_counts_with_postgres_own_count_whatever_the_database_s_search_path() {
    let cluster = Cluster::start();
    cluster.sql("postgres", "CREATE DATABASE app");
    cluster.sql("postgres", "CREATE DATABASE shop");
    for db in ["app", "shop", "postgres"] {
        cluster.sql(
            db,
            "CREATE TABLE items (id int); INSERT INTO items VALUES (1), (2), (3);
             CREATE SCHEMA evil;
             CREATE FUNCTION evil.keep(bigint) RETURNS bigint LANGUAGE sql AS 'SELECT $1';
             CREATE AGGREGATE evil.count(*) (SFUNC = evil.keep, STYPE = bigint, INITCOND = '1200');",
        );
        cluster.sql(
            "postgres",
            &format!("ALTER DATABASE {db} SET search_path = evil, pg_catalog, public"),
        );
    }
    let setup = pg_dumpall_setup(&cluster);
    let databases = postgres_inventory(&take(&setup, &fixtures(), "postgres"));
    for db in ["app", "shop", "postgres"] {
        let counted = databases.iter().find(|d| d.name == db).unwrap();
        let items: Vec<(&str, &str, u64)> = counted
            .tables
            .iter()
            .map(|t| (t.schema.as_str(), t.name.as_str(), t.rows))
            .collect();
        assert_eq!(items, [("public", "items", 3)], "{db}");
    }
}

/// A database or role may set its own `statement_timeout` (here 1 ms, `ALTER DATABASE ... SET`,
/// which pg_dumpall carries): `pg_dump` clears it for its own session, so the dump is whole, and
/// the inventory's counts must not be cancelled where the dump was not. One million rows take
/// far more than 1 ms to count.
#[test]
fn a_database_s_own_statement_timeout_does_not_cancel_the_inventory_s_counts() {
    let cluster = Cluster::start();
    cluster.sql("postgres", "CREATE DATABASE app");
    // The timeout must let pg_dump's own first queries through (it clears the timeout only
    // after them: at 1 ms a loaded machine cancelled pg_dumpall itself, and the test failed
    // for pg_dump's sake), and still cancel a count that kept it: 5,000,000 rows take a
    // single-worker count well past 100 ms.
    cluster.sql(
        "app",
        "CREATE TABLE items (id int); INSERT INTO items SELECT generate_series(1, 5000000);",
    );
    cluster.sql(
        "postgres",
        "ALTER DATABASE app SET statement_timeout = '100ms'; \
         ALTER DATABASE app SET lock_timeout = '100ms'",
    );
    let setup = pg_dumpall_setup(&cluster);
    let databases = postgres_inventory(&take(&setup, &fixtures(), "postgres"));
    let app = databases.iter().find(|d| d.name == "app").unwrap();
    let items: Vec<(&str, &str, u64)> = app
        .tables
        .iter()
        .map(|t| (t.schema.as_str(), t.name.as_str(), t.rows))
        .collect();
    assert_eq!(items, [("public", "items", 5_000_000)]);
}

/// A database's name is data: quotes, backslashes, newlines, a leading `-`, psql's own
/// syntax (`-`, `-reuse-previous=on`, `:variables`, backquotes, double quotes) and what libpq
/// would read as connection options. Each database is counted in itself: every one holds the
/// same table (made from `template1`) with a different number of rows, so counts taken in
/// the wrong database, or the same database twice, do not match. `pg_dumpall` itself refuses
/// a name with a newline, so that one is counted by the inventory alone, then dropped.
#[test]
fn databases_with_hostile_names_are_each_counted_in_their_own_database() {
    let cluster = Cluster::start();
    let names = [
        "shop's",
        "back\\slash",
        "new\nline",
        "-",
        "-reuse-previous=on",
        "host=/nonexistent port=1",
        "dbname=postgres",
        "dq\"quote\"\"s\"",
        ":VERSION_NAME :'x' `id` :\"y\"",
        " spaced\t",
        "-d postgres",
        "\\'\\\\''\"",
        "é",
    ];
    let ident = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let (schema, table) = ("Odd \"schema\"\n", "t'a\\ble");
    cluster.sql(
        "template1",
        &format!(
            "CREATE SCHEMA {}; CREATE TABLE {}.{} (x int);",
            ident(schema),
            ident(schema),
            ident(table)
        ),
    );
    for name in names {
        cluster.sql(
            "template1",
            &format!("INSERT INTO {}.{} VALUES (1)", ident(schema), ident(table)),
        );
        cluster.sql("postgres", &format!("CREATE DATABASE {}", ident(name)));
    }
    let mut expected: Vec<PgDatabase> = names
        .iter()
        .zip(1u64..)
        .map(|(name, rows)| PgDatabase {
            name: name.to_string(),
            tables: vec![PgTable {
                schema: schema.into(),
                name: table.into(),
                rows,
            }],
        })
        .collect();
    // template1, where every database's table came from, holds it too: pg_dumpall dumps
    // what a template holds, so the inventory counts it.
    expected.push(PgDatabase {
        name: "template1".into(),
        tables: vec![PgTable {
            schema: schema.into(),
            name: table.into(),
            rows: names.len() as u64,
        }],
    });
    expected.sort_by(|a, b| a.name.cmp(&b.name));
    let s = cluster.socket();
    let psql: Vec<String> = ["psql", "-h", &s, "-U", "postgres"]
        .map(String::from)
        .into();
    let counted = forgejo_gates::backup::take::postgres::inventory(&[], "", &psql).unwrap();
    assert_eq!(counted.databases, expected);

    cluster.sql("postgres", &format!("DROP DATABASE {}", ident("new\nline")));
    expected.retain(|d| d.name != "new\nline");
    let setup = pg_dumpall_setup(&cluster);
    let r = take(&setup, &fixtures(), "postgres");
    assert_eq!(r.code, 0, "{}", r.all());
    let reference = r.stdout.lines().last().unwrap();
    let m = manifest_at(reference);
    assert_eq!(
        m.inventory,
        Inventory::Postgres {
            databases: expected
        }
    );
}

/// pg_dumpall leaves out every database that does not accept connections
/// (`datallowconn = false`), data and all, and still exits 0; the inventory skipped such a
/// database too, so the backup said yes without it and a drill had nothing to miss. The
/// backup must refuse, name the database, and leave nothing behind.
#[test]
fn a_database_that_accepts_no_connections_fails_the_backup_instead_of_being_left_out() {
    let cluster = Cluster::start();
    cluster.sql("postgres", "CREATE DATABASE app");
    cluster.sql("app", "CREATE TABLE items AS SELECT 1 AS id");
    cluster.sql("postgres", "CREATE DATABASE \"closed\nbooks\"");
    cluster.sql("closed\nbooks", "CREATE TABLE precious AS SELECT 1 AS id");
    cluster.sql(
        "postgres",
        "ALTER DATABASE \"closed\nbooks\" ALLOW_CONNECTIONS false",
    );
    let setup = pg_dumpall_setup(&cluster);
    let r = take(&setup, &fixtures(), "postgres");
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.stderr.contains("error[backup.take.failed]"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("step `inventory` failed"), "{}", r.stderr);
    assert!(
        r.stderr.contains("\"closed\\nbooks\"") && r.stderr.contains("ALLOW_CONNECTIONS"),
        "the database and what to do are named: {}",
        r.stderr
    );
    assert!(r.stdout.is_empty(), "no backup reference: {}", r.stdout);
    assert_eq!(setup.entries(), Vec::<String>::new(), "nothing is left");
}

/// `restore_drill` on `reference` with `setup`'s policy.
fn drill(setup: &Setup, reference: &str) -> common::Run {
    run(gate("restore_drill")
        .args(["--backup-ref", reference, "--module", "postgres"])
        .arg("--modules-dir")
        .arg(fixtures())
        .arg("--policy")
        .arg(setup.policy()))
}

/// pg_dumpall dumps what template databases hold (`template1`, and any marked
/// `IS_TEMPLATE`) like any other data; the inventory skipped them, so a dump that left one
/// out (here by `--exclude-database`, which exits 0) passed the drill: neither side counted
/// it. Both sides count them now: the full backup drills clean, the one without the
/// template fails its drill naming it.
#[test]
fn template_databases_are_counted_so_a_dump_without_one_fails_the_drill() {
    let cluster = Cluster::start();
    cluster.sql("template1", "CREATE TABLE seeded AS SELECT 1 AS id");
    cluster.sql("postgres", "CREATE DATABASE tmpl");
    cluster.sql(
        "tmpl",
        "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 2) g",
    );
    cluster.sql("postgres", "ALTER DATABASE tmpl IS_TEMPLATE true");

    let whole = pg_dumpall_setup(&cluster);
    let r = take(&whole, &fixtures(), "postgres");
    let databases = postgres_inventory(&r);
    let reference = r.stdout.lines().last().unwrap().to_string();
    let held: Vec<(&str, Vec<(&str, u64)>)> = databases
        .iter()
        .map(|d| {
            let tables = d.tables.iter().map(|t| (t.name.as_str(), t.rows)).collect();
            (d.name.as_str(), tables)
        })
        .collect();
    // `template1` is listed because it holds a table (like `postgres`, only then).
    assert_eq!(
        held,
        [
            ("template1", vec![("seeded", 1)]),
            ("tmpl", vec![("seeded", 1), ("t", 2)]),
        ]
    );
    let d = drill(&whole, &reference);
    assert_eq!(d.code, 0, "{}", d.all());

    let without = pg_dumpall_setup_with(&cluster, ", --exclude-database=tmpl");
    let r = take(&without, &fixtures(), "postgres");
    assert_eq!(r.code, 0, "the dump itself exits 0: {}", r.all());
    let reference = r.stdout.lines().last().unwrap().to_string();
    let d = drill(&without, &reference);
    assert_eq!(d.code, 1, "{}", d.all());
    assert!(d.all().contains("[drill.content_differs]"), "{}", d.all());
    assert!(d.stdout.contains("database tmpl"), "{}", d.stdout);
}
