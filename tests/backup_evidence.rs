//! The dispatch gates' use of the backup tools' records, at the process level: a manifest
//! beside the backup must describe exactly that file, module and class; a drill record must be
//! for that file, passed and not older than it; policy keys make either required; a backup
//! much smaller than the previous one blocks unless a dated exception allows it.
//! Backups are taken with `backup_before_apply` (mount archives of temp directories).

mod common;

use common::{gate, run};
use forgejo_gates::backup::evidence;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

fn euid() -> u32 {
    std::fs::metadata("/proc/self").unwrap().uid()
}

struct Platform {
    dir: tempfile::TempDir,
}

impl Platform {
    /// A backup root, and two modules of class filesystem (`files`, `other`) sharing one
    /// mount directory, listed in the policy.
    fn new(policy_extra: &str) -> Platform {
        let dir = tempfile::tempdir().unwrap();
        let p = Platform { dir };
        std::fs::create_dir(p.root()).unwrap();
        std::fs::set_permissions(p.root(), std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::create_dir_all(p.mount()).unwrap();
        let modules = p.modules();
        for (name, class) in [
            ("files", "filesystem"),
            ("other", "filesystem"),
            ("cache", "redis"),
        ] {
            std::fs::create_dir_all(modules.join(name)).unwrap();
            std::fs::write(
                modules.join(name).join("module.yaml"),
                format!("metadata:\n  name: {name}\nspec:\n  classes: []\n  runtime:\n    statefulness: stateful\n    backup_class: {class}\n    restore: runbook.md#restore\n"),
            )
            .unwrap();
            std::fs::write(modules.join(name).join("runbook.md"), "# Restore\n").unwrap();
        }
        p.set_policy(policy_extra);
        p
    }
    fn set_policy(&self, extra: &str) {
        let policy = format!(
            "backup:\n  root: {}\n  owner_uid: {}\n  verify: deep\n  mounts:\n    files: [{}]\n    other: [{}]\n{extra}",
            self.root().display(),
            euid(),
            self.mount().display(),
            self.mount().display(),
        );
        std::fs::write(self.dir.path().join("policy.yml"), policy).unwrap();
    }
    fn root(&self) -> PathBuf {
        self.dir.path().join("backups")
    }
    fn mount(&self) -> PathBuf {
        self.dir.path().join("data")
    }
    fn modules(&self) -> PathBuf {
        self.dir.path().join("modules")
    }
    fn fill(&self, bytes: usize) {
        // Incompressible-ish content, so the archive's size follows the data's.
        let mut v = Vec::with_capacity(bytes);
        let mut x: u32 = 2463534242;
        for _ in 0..bytes {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            v.push(x as u8);
        }
        std::fs::write(self.mount().join("blob"), v).unwrap();
    }
    fn take(&self, module: &str, now: &str) -> String {
        let r = run(gate("backup_before_apply")
            .args(["--module", module, "--now", now])
            .arg("--modules-dir")
            .arg(self.modules())
            .arg("--policy")
            .arg(self.dir.path().join("policy.yml")));
        assert_eq!(r.code, 0, "{}", r.all());
        r.stdout.lines().last().unwrap().to_string()
    }
    fn scope(&self, module: &str, backup_ref: &str, now: &str) -> common::Run {
        run(gate("auto_apply_scope")
            .args([
                "--module",
                module,
                "--allow-stateful",
                "--backup-ref",
                backup_ref,
            ])
            .args(["--stateful-confirm", "BACKUP_DONE_F3", "--now", now])
            .arg("--modules-dir")
            .arg(self.modules())
            .arg("--policy")
            .arg(self.dir.path().join("policy.yml")))
    }
}

const T0: &str = "2026-01-10T21:00:00Z";
const T1: &str = "2026-01-10T22:00:00Z";
const LATER: &str = "2026-01-10T22:10:00Z";

fn edit_json(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mode = std::fs::metadata(path).unwrap().mode();
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn sha256_of(path: &str) -> String {
    forgejo_gates::digest::sha256_hex(&std::fs::read(path).unwrap())
}

/// A drill record as `restore_drill` writes it, for `backup`.
fn drill(backup: &str, outcome: &str, finished: &str, sha: &str) {
    let name = Path::new(backup)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let ok = outcome == "pass";
    let record = serde_json::json!({
        "schema": evidence::DRILL_SCHEMA,
        "artifact": name,
        "backup_sha256": sha,
        "module": "files",
        "class": "filesystem",
        "outcome": outcome,
        "started_at": "2026-01-10T21:59:00Z",
        "finished_at": finished,
        "scratch": "scratch directory",
        "tool_versions": {},
        "comparison": [ { "item": "archive listing", "expected": "a", "restored": if ok { "a" } else { "b" }, "ok": ok } ]
    });
    let path = evidence::drill_path(Path::new(backup));
    let _ = std::fs::remove_file(&path);
    evidence::write_json(&path, &record, false).unwrap();
}

fn blocked_with(r: &common::Run, code: &str) {
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stdout.contains(&format!("error[{code}]")),
        "{code} expected: {}",
        r.stdout
    );
}

#[test]
fn a_matching_manifest_is_reported_and_a_missing_one_blocks_unless_the_policy_waives_it() {
    let p = Platform::new("");
    p.fill(4000);
    let b = p.take("files", T1);
    let r = p.scope("files", &b, LATER);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("info[backup.manifest.ok]"),
        "{}",
        r.stdout
    );
    // The built-in policy requires one: without it nothing shows the file was taken by its
    // class's procedure (an unrelated archive under the module's name passed before).
    std::fs::remove_file(evidence::manifest_path(Path::new(&b))).unwrap();
    blocked_with(&p.scope("files", &b, LATER), "backup.manifest.missing");
    p.set_policy("  require_manifest: false\n");
    let r = p.scope("files", &b, LATER);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("info[backup.manifest.absent]"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_manifest_for_another_file_module_or_class_blocks() {
    let p = Platform::new("");
    p.fill(4000);
    let b = p.take("files", T1);
    let m = evidence::manifest_path(Path::new(&b));
    // Another file's hash (still a well-formed manifest).
    edit_json(&m, |v| v["sha256"] = "0".repeat(64).into());
    let r = p.scope("files", &b, LATER);
    blocked_with(&r, "backup.manifest.mismatch");
    assert!(
        r.stdout.contains(&sha256_of(&b)),
        "names the file's real hash: {}",
        r.stdout
    );
    // Taken for another module: the other module's manifest placed beside this backup.
    let other = p.take("other", "2026-01-10T21:30:00Z");
    std::fs::remove_file(&m).unwrap();
    std::fs::copy(evidence::manifest_path(Path::new(&other)), &m).unwrap();
    std::fs::set_permissions(&m, std::fs::Permissions::from_mode(0o600)).unwrap();
    blocked_with(&p.scope("files", &b, LATER), "backup.manifest.mismatch");
    // A broken manifest blocks even when not required.
    std::fs::write(&m, b"{\"schema\": 1}").unwrap();
    blocked_with(&p.scope("files", &b, LATER), "backup.manifest.invalid");
    // A link planted as the manifest is never followed.
    std::fs::remove_file(&m).unwrap();
    std::os::unix::fs::symlink(evidence::manifest_path(Path::new(&other)), &m).unwrap();
    blocked_with(&p.scope("files", &b, LATER), "backup.manifest.invalid");
}

#[test]
fn a_manifest_is_never_said_to_match_a_file_the_artifact_check_refused() {
    let p = Platform::new("");
    p.fill(4000);
    let b = p.take("files", T1);
    // The file's mode is refused, so the gates learn no sha256 or size of it: the manifest
    // beside it cannot be compared, and must not be reported as matching.
    std::fs::set_permissions(&b, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = p.scope("files", &b, LATER);
    blocked_with(&r, "backup.manifest.mismatch");
    assert!(
        !r.stdout.contains("backup.manifest.ok"),
        "a manifest said to match a file nobody hashed: {}",
        r.stdout
    );
    assert!(
        r.stdout.contains("sha256 and size are not known"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_required_drill_must_be_for_this_file_passed_and_not_older_than_it() {
    let p = Platform::new("  require_drill: [filesystem]\n");
    p.fill(4000);
    let b = p.take("files", T1);
    blocked_with(&p.scope("files", &b, LATER), "backup.drill.missing");
    let sha = sha256_of(&b);
    drill(&b, "pass", "2026-01-10T22:01:00Z", &sha);
    let r = p.scope("files", &b, LATER);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("info[backup.drill.ok]"), "{}", r.stdout);
    // A drill record of another file does not satisfy the gate.
    drill(&b, "pass", "2026-01-10T22:01:00Z", &"ab".repeat(32));
    blocked_with(&p.scope("files", &b, LATER), "backup.drill.mismatch");
    drill(&b, "fail", "2026-01-10T22:01:00Z", &sha);
    let r = p.scope("files", &b, LATER);
    blocked_with(&r, "backup.drill.failed");
    assert!(
        r.stdout.contains("archive listing: expected a, restored b"),
        "{}",
        r.stdout
    );
    drill(&b, "pass", "2026-01-10T21:59:30Z", &sha);
    blocked_with(&p.scope("files", &b, LATER), "backup.drill.stale");
    // Not required for this class: a failed drill still blocks, an absent one does not.
    p.set_policy("  require_drill: [postgres]\n");
    drill(&b, "fail", "2026-01-10T22:01:00Z", &sha);
    blocked_with(&p.scope("files", &b, LATER), "backup.drill.failed");
    std::fs::remove_file(evidence::drill_path(Path::new(&b))).unwrap();
    assert_eq!(p.scope("files", &b, LATER).code, 0);
}

#[test]
fn a_backup_much_smaller_than_the_previous_one_blocks_naming_both_sizes() {
    let p = Platform::new("");
    p.fill(200_000);
    let first = p.take("files", T0);
    let first_size = std::fs::metadata(&first).unwrap().len();
    p.fill(1000);
    let second = p.take("files", T1);
    let second_size = std::fs::metadata(&second).unwrap().len();
    let r = p.scope("files", &second, LATER);
    blocked_with(&r, "backup.size.shrunk");
    assert!(
        r.stdout.contains(&format!("{second_size} bytes"))
            && r.stdout.contains(&format!("{first_size} bytes")),
        "both sizes are named: {}",
        r.stdout
    );
    // A dated, explained exception lets it pass, and says so.
    p.set_policy("exceptions:\n  - module: files\n    allow_small_backup: true\n    reason: the scratch uploads were purged on purpose\n    expires: 2026-01-31\n");
    let r = p.scope("files", &second, LATER);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("warning[backup.size.excepted]"),
        "{}",
        r.stdout
    );
    // An expired one does not.
    p.set_policy("exceptions:\n  - module: files\n    allow_small_backup: true\n    reason: the scratch uploads were purged on purpose\n    expires: 2026-01-09\n");
    blocked_with(&p.scope("files", &second, LATER), "backup.size.shrunk");
    // The ratio can be turned off; a per-module minimum still applies.
    p.set_policy(&format!(
        "  min_size_ratio: 0\n  min_size:\n    files: {}\n",
        second_size + 1
    ));
    blocked_with(
        &p.scope("files", &second, LATER),
        "backup.size.below_minimum",
    );
    // The first backup of a module has nothing to be compared with.
    p.set_policy("");
    let r = p.scope("files", &first, "2026-01-10T21:10:00Z");
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("info[backup.size.ok]"), "{}", r.stdout);
}

#[test]
fn the_one_shot_gate_checks_the_manifest_too() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let p = Platform::new("");
    let data = p.dir.path().join("minio-data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("object"), b"bucket").unwrap();
    let policy = p.dir.path().join("policy.yml");
    let text = std::fs::read_to_string(&policy).unwrap();
    std::fs::write(
        &policy,
        text.replace(
            "  mounts:\n",
            &format!("  mounts:\n    minio: [{}]\n", data.display()),
        ),
    )
    .unwrap();
    let r = run(gate("backup_before_apply")
        .args(["--module", "minio-init", "--now", T1])
        .arg("--modules-dir")
        .arg(fixtures.join("modules"))
        .arg("--policy")
        .arg(&policy));
    assert_eq!(r.code, 0, "{}", r.all());
    let b = r.stdout.lines().last().unwrap().to_string();
    let one_shot = || {
        run(gate("allow_one_shot_stateful_apply")
            .args([
                "--module",
                "minio-init",
                "--allow-stateful",
                "--backup-ref",
                &b,
            ])
            .args(["--stateful-confirm", "BACKUP_DONE_F3", "--now", LATER])
            .arg("--plan")
            .arg(fixtures.join("plans/minio-init-exited.json"))
            .arg("--modules-dir")
            .arg(fixtures.join("modules"))
            .arg("--policy")
            .arg(&policy))
    };
    let r = one_shot();
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("info[backup.manifest.ok]"),
        "{}",
        r.stdout
    );
    edit_json(&evidence::manifest_path(Path::new(&b)), |v| {
        v["class"] = "filesystem".into()
    });
    let r = one_shot();
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stdout.contains("error[backup.manifest.mismatch]"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_taken_backup_is_recorded_and_its_outputs_written() {
    let p = Platform::new("");
    p.fill(2000);
    let log = p.dir.path().join("decisions.log");
    let outputs = p.dir.path().join("outputs");
    let r = run(gate("backup_before_apply")
        .args(["--module", "files", "--format", "json"])
        .arg("--modules-dir")
        .arg(p.modules())
        .arg("--policy")
        .arg(p.dir.path().join("policy.yml"))
        .arg("--record")
        .arg(&log)
        .env("FORGEJO_OUTPUT", &outputs));
    assert_eq!(r.code, 0, "{}", r.all());
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["gate"], "backup_before_apply");
    assert_eq!(doc["outcome"], "pass");
    let reference = doc["facts"]["backup_ref"].as_str().unwrap().to_string();
    assert!(Path::new(&reference).is_file());
    let lines = std::fs::read_to_string(&log).unwrap();
    assert_eq!(lines.lines().count(), 1);
    assert!(lines.contains(&reference), "{lines}");
    let out = std::fs::read_to_string(&outputs).unwrap();
    assert!(
        out.lines().any(|l| l == format!("backup_ref={reference}")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l == format!("backup_sha256={}", sha256_of(&reference))),
        "{out}"
    );
}
