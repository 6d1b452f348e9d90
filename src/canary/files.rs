//! Where the changed files come from without the API: a list file, or `git diff -z`. And the
//! base branch's policy read with `git show`, so a pull request can never relax its own rules.

use super::codes::GIT_FAILED;
use crate::model::changed_files::FILES_INVALID;
use crate::paths::check_path;
use crate::policy::{DEFAULT_LOCATION, LoadedPolicy, MAX_POLICY_BYTES};
use crate::report::{GateError, InputDigest, general};
use std::path::Path;

/// A `git diff` output larger than this is refused.
pub const MAX_DIFF_BYTES: u64 = 64 * 1024 * 1024;

/// The list `collect-diff` writes for `--changed-files`: every path NUL-terminated, as
/// `git diff -z --name-only` writes it.
pub fn render_list(files: &[String]) -> Result<String, GateError> {
    let mut out = String::new();
    for f in files {
        check_path(f).map_err(|e| GateError::new(&FILES_INVALID, e))?;
        out.push_str(f);
        out.push('\0');
    }
    Ok(out)
}

/// A revision argument for git: not an option, no whitespace or control characters.
fn check_rev(rev: &str, what: &str) -> Result<(), GateError> {
    crate::model::git::check_revision_named(rev, what)
}

/// Run git in `dir`, reading at most `limit` bytes of output ([`crate::model::git::run`]).
fn git(dir: &Path, args: &[&str], limit: u64) -> Result<(bool, Vec<u8>, String), GateError> {
    crate::model::git::run(dir, args, limit, &GIT_FAILED)
}

/// `git diff -z --name-status BASE...HEAD`: every changed path; a rename or copy counts both
/// its old and its new path. A submodule's bump is listed whatever any `.gitmodules` or
/// configuration says (`--ignore-submodules=none`).
pub fn git_diff(dir: &Path, range: &str) -> Result<(Vec<String>, InputDigest), GateError> {
    check_rev(range, "--git-diff")?;
    if !range.contains("..") {
        return Err(GateError::new(
            &general::USAGE,
            "--git-diff takes a range such as BASE...HEAD (three dots: changes since the merge base)",
        ));
    }
    let (ok, out, err) = git(
        dir,
        &[
            "diff",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--ignore-submodules=none",
            "--name-status",
            "-z",
            "-M",
            range,
            "--",
        ],
        MAX_DIFF_BYTES,
    )?;
    if !ok {
        return Err(GateError::new(
            &GIT_FAILED,
            format!(
                "git diff {range} failed: {}",
                crate::render::text::clean(&err)
            ),
        ));
    }
    let files = parse_name_status_z(&out)?;
    let digest = InputDigest::of("changed_files", format!("git diff {range}"), &out);
    if files.is_empty() {
        return Err(GateError::new(
            &FILES_INVALID,
            format!("git diff {range} lists no changed files: nothing to evaluate"),
        ));
    }
    Ok((files, digest))
}

/// Parse `--name-status -z` output: `STATUS\0path\0` or, for renames and copies,
/// `R100\0old\0new\0`.
pub fn parse_name_status_z(out: &[u8]) -> Result<Vec<String>, GateError> {
    let text = std::str::from_utf8(out)
        .map_err(|_| GateError::new(&GIT_FAILED, "git diff printed a path that is not UTF-8"))?;
    let mut fields = text.split('\0').filter(|s| !s.is_empty());
    let mut files: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    while let Some(status) = fields.next() {
        let n = match status.chars().next() {
            Some('R' | 'C') => 2,
            Some('A' | 'M' | 'D' | 'T' | 'U' | 'X' | 'B') => 1,
            _ => {
                return Err(GateError::new(
                    &GIT_FAILED,
                    format!(
                        "unexpected git diff status {:?}",
                        status.chars().take(20).collect::<String>()
                    ),
                ));
            }
        };
        for _ in 0..n {
            let Some(path) = fields.next() else {
                return Err(GateError::new(
                    &GIT_FAILED,
                    "git diff output ends mid-record",
                ));
            };
            check_path(path).map_err(|e| GateError::new(&FILES_INVALID, e))?;
            if seen.insert(path.to_string()) {
                files.push(path.to_string());
            }
        }
    }
    Ok(files)
}

/// The policy as it is on `rev` (the base branch): `git show REV:.forgejo/gates.yml`. No file
/// there means the built-in policy, and the source says so.
pub fn policy_from_ref(dir: &Path, rev: &str) -> Result<LoadedPolicy, GateError> {
    check_rev(rev, "--policy-from-ref")?;
    let commit = format!("{rev}^{{commit}}");
    let (ok, _, err) = git(dir, &["rev-parse", "--verify", "--quiet", &commit], 4096)?;
    if !ok {
        return Err(GateError::new(
            &GIT_FAILED,
            format!(
                "--policy-from-ref: `{rev}` is not a commit in this checkout{}; fetch it (fetch-depth: 0) first",
                if err.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", crate::render::text::clean(&err))
                }
            ),
        ));
    }
    let object = format!("{rev}:{DEFAULT_LOCATION}");
    let (exists, _, _) = git(dir, &["cat-file", "-e", &object], 4096)?;
    if !exists {
        let mut builtin = LoadedPolicy::builtin();
        builtin.digest.source = format!("builtin (no {DEFAULT_LOCATION} at {rev})");
        return Ok(builtin);
    }
    let (ok, bytes, err) = git(dir, &["cat-file", "blob", &object], MAX_POLICY_BYTES)?;
    if !ok {
        return Err(GateError::new(
            &GIT_FAILED,
            format!(
                "git cat-file {object} failed: {}",
                crate::render::text::clean(&err)
            ),
        ));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        GateError::new(
            &general::POLICY_INVALID,
            format!("{object}: the policy is not UTF-8 text"),
        )
    })?;
    let policy = crate::policy::parse(text, &object)?;
    Ok(LoadedPolicy {
        policy,
        digest: InputDigest::of("policy", object, &bytes),
    })
}

/// The raw bytes of the policy at `rev`, for `collect-diff --policy-output` (a missing file
/// becomes `version: 1`, which is the built-in policy).
pub fn policy_bytes_from_ref(dir: &Path, rev: &str) -> Result<Vec<u8>, GateError> {
    let loaded = policy_from_ref(dir, rev)?;
    if loaded.digest.bytes == 0 {
        return Ok(
            b"# no policy file on the base branch: built-in defaults\nversion: 1\n".to_vec(),
        );
    }
    let object = format!("{rev}:{DEFAULT_LOCATION}");
    let (_, bytes, _) = git(dir, &["cat-file", "blob", &object], MAX_POLICY_BYTES)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_count_both_paths() {
        let out = b"M\0a.txt\0R087\0old/x.yml\0compose/x.yml\0D\0gone\0";
        let files = parse_name_status_z(out).unwrap();
        assert_eq!(files, vec!["a.txt", "old/x.yml", "compose/x.yml", "gone"]);
    }

    #[test]
    fn truncated_or_odd_output_is_an_error() {
        assert!(parse_name_status_z(b"R100\0only-one\0").is_err());
        assert!(parse_name_status_z(b"?\0x\0").is_err());
        assert!(parse_name_status_z(b"M\0a\nb\0").is_err());
    }

    #[test]
    fn revisions_cannot_be_options() {
        assert!(check_rev("--output=/tmp/x", "r").is_err());
        assert!(check_rev("a b", "r").is_err());
        assert!(check_rev("a\u{7}b", "r").is_err());
        assert!(check_rev("", "r").is_err());
        assert!(check_rev("origin/main...HEAD", "r").is_ok());
        // Long enough for two sha256 ids and `...`, not for anything smuggled in.
        assert!(check_rev(&"a".repeat(256), "r").is_ok());
        assert!(check_rev(&"a".repeat(257), "r").is_err());
    }

    #[test]
    fn only_plain_relative_paths_are_changed_files() {
        for bad in [
            "",
            "/etc/passwd",
            "a\nb",
            "a\tb",
            "a//b",
            "a/",
            "./a",
            "a/./b",
            "../a",
            "a/../b",
            "a/..",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?}");
        }
        for good in [
            "a",
            "a/b.c",
            ".forgejo/workflows/x.yml",
            "a..b/c...d",
            "a b/ü.md",
        ] {
            assert_eq!(check_path(good), Ok(()), "{good:?}");
        }
    }
}
