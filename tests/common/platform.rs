//! The example platform in `fixtures/`, with a backup root in a temporary directory and a
//! policy pointing at it (the only change from the built-in policy).

use super::{Run, gate, run};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// 21 minutes after the real dispatch's backup was taken.
pub const NOW: &str = "2026-05-17T01:30:00Z";
pub const REAL_BACKUP: &str = "minio-20260517T010847Z.tar.gz";
pub const CONFIRM: &str = "BACKUP_DONE_F3";

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub struct Platform {
    pub tmp: TempDir,
    pub backups: PathBuf,
    pub policy: PathBuf,
    pub modules: PathBuf,
}

impl Platform {
    pub fn new() -> Platform {
        Platform::with_policy_extra("")
    }

    /// `extra` is appended to the test policy (more top-level sections). The policy does not
    /// require a backup manifest (the built-in one does): these tests exercise the other
    /// checks on hand-made backups; tests/backup_evidence.rs takes real ones, with manifests.
    pub fn with_policy_extra(extra: &str) -> Platform {
        let tmp = tempfile::Builder::new().prefix("gates").tempdir().unwrap();
        let backups = tmp.path().join("backups");
        std::fs::create_dir(&backups).unwrap();
        std::fs::set_permissions(&backups, std::fs::Permissions::from_mode(0o700)).unwrap();
        let uid = std::fs::metadata(&backups).unwrap().uid();
        let policy = tmp.path().join("policy.yml");
        std::fs::write(
            &policy,
            format!(
                "backup:\n  root: {}\n  owner_uid: {uid}\n  require_manifest: false\n{extra}",
                backups.display()
            ),
        )
        .unwrap();
        Platform {
            tmp,
            backups,
            policy,
            modules: fixtures().join("modules"),
        }
    }

    /// Use a private copy of the fixture modules (to edit them); returns its path.
    pub fn copy_modules(&mut self) -> PathBuf {
        fn copy(from: &Path, to: &Path) {
            std::fs::create_dir_all(to).unwrap();
            for entry in std::fs::read_dir(from).unwrap() {
                let entry = entry.unwrap();
                let target = to.join(entry.file_name());
                if entry.file_type().unwrap().is_dir() {
                    copy(&entry.path(), &target);
                } else {
                    std::fs::copy(entry.path(), &target).unwrap();
                }
            }
        }
        let copy_dir = self.tmp.path().join("modules");
        copy(&self.modules, &copy_dir);
        self.modules = copy_dir.clone();
        copy_dir
    }

    /// Write a backup file with `mode`; returns its absolute path.
    pub fn backup(&self, name: &str, bytes: &[u8], mode: u32) -> String {
        let path = self.backups.join(name);
        std::fs::write(&path, bytes).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path.display().to_string()
    }

    /// The real dispatch's backup, fresh at `NOW`, mode 0600.
    pub fn real_backup(&self) -> String {
        self.backup(REAL_BACKUP, &super::backup::minio_tar_gz(), 0o600)
    }

    /// `auto_apply_scope` (clock fixed at `NOW`) with extra environment variables.
    pub fn scope_with_env(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let mut cmd = self.base("auto_apply_scope");
        cmd.args(args).envs(vars.iter().copied());
        run(&mut cmd)
    }

    /// `allow_one_shot_stateful_apply` (clock fixed at `NOW`) with extra environment variables.
    pub fn one_shot_with_env(&self, plan: &Path, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let mut cmd = self.base("allow_one_shot_stateful_apply");
        cmd.arg("--plan")
            .arg(plan)
            .args(args)
            .envs(vars.iter().copied());
        run(&mut cmd)
    }

    fn base(&self, bin: &str) -> std::process::Command {
        let mut cmd = gate(bin);
        cmd.arg("--modules-dir")
            .arg(&self.modules)
            .arg("--policy")
            .arg(&self.policy)
            .arg("--now")
            .arg(NOW)
            .current_dir(self.tmp.path());
        cmd
    }

    pub fn scope(&self, args: &[&str]) -> Run {
        run(self.base("auto_apply_scope").args(args))
    }

    pub fn one_shot(&self, plan: &Path, args: &[&str]) -> Run {
        run(self
            .base("allow_one_shot_stateful_apply")
            .arg("--plan")
            .arg(plan)
            .args(args))
    }

    /// The real dispatch's flags with `backup_ref` set to `backup`.
    pub fn dispatch_args(backup: &str) -> Vec<String> {
        vec![
            "--module".into(),
            "minio-init".into(),
            "--allow-stateful".into(),
            "--backup-ref".into(),
            backup.into(),
            "--stateful-confirm".into(),
            CONFIRM.into(),
        ]
    }

    pub fn plan(name: &str) -> PathBuf {
        fixtures().join("plans").join(name)
    }

    /// Write a file in the temporary directory.
    pub fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let path = self.tmp.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }
}

pub fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}
