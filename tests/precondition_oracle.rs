//! The core promise, as a property: for generated dispatches, backups and plans, a gate says
//! yes only when an independent statement of every precondition holds. The oracle below is
//! written from the contract, not from the gates' code: it looks at what the generator chose,
//! never at what the gates parsed.

mod common;

use common::backup;
use common::platform::fixtures;
use forgejo_gates::gates::{one_shot, scope};
use forgejo_gates::model::dispatch::{RawInputs, resolve};
use forgejo_gates::model::plan;
use forgejo_gates::policy::{LoadedPolicy, parse};
use forgejo_gates::report::{InputDigest, Outcome};
use proptest::prelude::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use time::macros::datetime;

const MODULES: &[&str] = &[
    "web-app",
    "postgres",
    "redis",
    "vault",
    "minio",
    "minio-init",
    "traefik",
    "legacy-cache",
];
const EXTS: &[&str] = &["tar.gz", "sql.gz", "snap", "rdb", "tar.zst", "dump"];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Confirm {
    Right,
    Lower,
    Newline,
    Missing,
    LookAlike,
}
#[derive(Debug, Clone, Copy, PartialEq)]
enum PathShape {
    Plain,
    DotDot,
    DoubleSlash,
    Relative,
    Outside,
}
#[derive(Debug, Clone, Copy, PartialEq)]
enum FileState {
    Valid,
    Absent,
    Empty,
    Mode644,
    Mode400,
    WrongBytes,
}

#[derive(Debug, Clone)]
struct Case {
    module: &'static str,
    allow_stateful: bool,
    confirm: Confirm,
    ref_module: &'static str,
    ext: &'static str,
    age_minutes: i64,
    shape: PathShape,
    file: FileState,
    plan_module_is_dispatched: bool,
    /// (kind allowed, own service, own container, from a failed exit to `exited(0)`)
    drift: Vec<(bool, bool, bool, bool)>,
}

/// Each dimension is valid most of the time, so that all-valid cases and cases with exactly
/// one defect are both common; which value was chosen is all the oracle looks at.
fn case() -> impl Strategy<Value = Case> {
    let likely = || prop::bool::weighted(0.85);
    (
        (
            prop::sample::select(MODULES),
            likely(),
            likely(),
            prop::sample::select(vec![Confirm::Lower, Confirm::Newline, Confirm::Missing, Confirm::LookAlike]),
            likely(),
            prop::sample::select(MODULES),
            likely(),
            prop::sample::select(EXTS),
        ),
        (
            prop_oneof![4 => -5i64..=360, 1 => -60i64..=500, 1 => prop::sample::select(vec![-6i64, -5, 360, 361])],
            likely(),
            prop::sample::select(vec![PathShape::DotDot, PathShape::DoubleSlash, PathShape::Relative, PathShape::Outside]),
            likely(),
            prop::sample::select(vec![FileState::Absent, FileState::Empty, FileState::Mode644, FileState::Mode400, FileState::WrongBytes]),
            likely(),
            prop::collection::vec(
                (
                    prop::bool::weighted(0.8),
                    prop::bool::weighted(0.8),
                    prop::bool::weighted(0.8),
                    prop::bool::weighted(0.8),
                ),
                0..3,
            ),
        ),
    )
        .prop_map(
            |(
                (module, allow_stateful, confirm_ok, bad_confirm, ref_ok, other_ref, ext_ok, any_ext),
                (age_minutes, shape_ok, bad_shape, file_ok, bad_file, pm, drift),
            )| {
                let ref_module = if ref_ok { covered_by_static(module) } else { other_ref };
                let ext = if ext_ok { first_fitting(module) } else { any_ext };
                Case {
                    module,
                    allow_stateful,
                    confirm: if confirm_ok { Confirm::Right } else { bad_confirm },
                    ref_module,
                    ext,
                    age_minutes,
                    shape: if shape_ok { PathShape::Plain } else { bad_shape },
                    file: if file_ok { FileState::Valid } else { bad_file },
                    plan_module_is_dispatched: pm,
                    drift,
                }
            },
        )
}

fn covered_by_static(m: &'static str) -> &'static str {
    if m == "minio-init" { "minio" } else { m }
}

fn first_fitting(m: &str) -> &'static str {
    EXTS.iter()
        .copied()
        .find(|e| ext_fits(m, e))
        .unwrap_or("tar.gz")
}

// --- The oracle: the contract's preconditions, stated on the generator's choices. ---

fn manual(m: &str) -> bool {
    matches!(m, "vault" | "traefik")
}
fn stateless(m: &str) -> bool {
    matches!(m, "web-app" | "traefik")
}
fn covered_by(m: &str) -> &str {
    if m == "minio-init" { "minio" } else { m }
}
fn ext_fits(m: &str, ext: &str) -> bool {
    match m {
        "postgres" => matches!(ext, "sql.gz" | "dump" | "tar.gz"),
        "redis" => matches!(ext, "rdb" | "tar.gz"),
        "vault" => matches!(ext, "snap" | "tar.gz"),
        "minio" | "minio-init" => matches!(ext, "tar.gz" | "tar.zst"),
        _ => ext == "tar.gz",
    }
}
fn scope_preconditions(c: &Case) -> bool {
    if manual(c.module) {
        return false;
    }
    if stateless(c.module) {
        return true;
    }
    c.allow_stateful
        && c.confirm == Confirm::Right
        && c.shape == PathShape::Plain
        && c.ref_module == covered_by(c.module)
        && ext_fits(c.module, c.ext)
        && c.age_minutes >= -5
        && c.age_minutes <= 6 * 60
        && c.file == FileState::Valid
}
fn one_shot_allow(c: &Case) -> bool {
    scope_preconditions(c)
        && c.module == "minio-init"
        && c.plan_module_is_dispatched
        && !c.drift.is_empty()
        && c.drift
            .iter()
            .all(|(kind_ok, own, own_container, states_ok)| {
                *kind_ok && *own && *own_container && *states_ok
            })
}
fn one_shot_noop(c: &Case) -> bool {
    scope_preconditions(c) && c.plan_module_is_dispatched && c.drift.is_empty()
}

// --- Running the gates on the case. ---

fn bytes_for(ext: &str) -> Vec<u8> {
    let tar = backup::tar(&[("data/x", b"payload")]);
    match ext {
        "tar.gz" => backup::gzip(&tar),
        "tar.zst" => backup::zstd(&tar),
        "sql.gz" => backup::pg_dumpall_sql_gz(),
        "snap" => backup::vault_snap(),
        "rdb" => backup::redis_rdb(),
        _ => backup::real("pg_dump-15.custom"),
    }
}

struct World {
    _tmp: tempfile::TempDir,
    root: std::path::PathBuf,
    policy: LoadedPolicy,
}

fn world() -> World {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("b");
    std::fs::create_dir(&root).unwrap();
    let uid = std::fs::metadata(&root).unwrap().uid();
    // The oracle models the file's checks; the manifest requirement (on by default) is
    // tested on real backups in tests/backup_evidence.rs.
    let text = format!(
        "backup:\n  root: {}\n  owner_uid: {uid}\n  require_manifest: false\n",
        root.display()
    );
    let policy = LoadedPolicy {
        policy: parse(&text, "test").unwrap(),
        digest: InputDigest {
            name: "policy".into(),
            source: "test".into(),
            sha256: String::new(),
            bytes: 0,
        },
    };
    World {
        _tmp: tmp,
        root,
        policy,
    }
}

fn prepare(w: &World, c: &Case) -> RawInputs {
    let now = datetime!(2026-05-17 12:00:00 UTC);
    let taken = now - time::Duration::minutes(c.age_minutes);
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        taken.year(),
        taken.month() as u8,
        taken.day(),
        taken.hour(),
        taken.minute(),
        taken.second()
    );
    let name = format!("{}-{stamp}.{}", c.ref_module, c.ext);
    for entry in std::fs::read_dir(&w.root).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let path = w.root.join(&name);
    match c.file {
        FileState::Absent => {}
        other => {
            let bytes = match other {
                FileState::Empty => Vec::new(),
                FileState::WrongBytes => b"not a backup at all, just text".to_vec(),
                _ => bytes_for(c.ext),
            };
            std::fs::write(&path, bytes).unwrap();
            let mode = match other {
                FileState::Mode644 => 0o644,
                FileState::Mode400 => 0o400,
                _ => 0o600,
            };
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
    let root = w.root.display().to_string();
    let backup_ref = match c.shape {
        PathShape::Plain => format!("{root}/{name}"),
        PathShape::DotDot => format!("{root}/../b/{name}"),
        PathShape::DoubleSlash => format!("{root}//{name}"),
        PathShape::Relative => format!("b/{name}"),
        PathShape::Outside => format!("/tmp/{name}"),
    };
    let confirm = match c.confirm {
        Confirm::Right => Some("BACKUP_DONE_F3".to_string()),
        Confirm::Lower => Some("backup_done_f3".to_string()),
        Confirm::Newline => Some("BACKUP_DONE_F3\n".to_string()),
        Confirm::Missing => None,
        Confirm::LookAlike => Some("BACKUP_DОNE_F3".to_string()),
    };
    RawInputs {
        module: Some(c.module.to_string()),
        allow_stateful: Some(c.allow_stateful.to_string()),
        backup_ref: Some(backup_ref),
        stateful_confirm: confirm,
    }
}

fn plan_json(c: &Case) -> Vec<u8> {
    let module = if c.plan_module_is_dispatched {
        c.module
    } else {
        "other-module"
    };
    let items: Vec<String> = c
        .drift
        .iter()
        .map(|(kind_ok, own, own_container, states_ok)| {
            format!(
                r#"{{"kind":"{}","service":"{}","container":"home-platform-{}-1","current":"{}","desired":"exited(0)"}}"#,
                if *kind_ok {
                    "container.state.exited_success"
                } else {
                    "image.ref"
                },
                if *own { c.module } else { "someone-else" },
                if *own_container { c.module } else { "minio" },
                if *states_ok { "exited(1)" } else { "running" },
            )
        })
        .collect();
    format!(
        r#"{{"schema":"platformctl.plan/v1","module":"{module}","noop":{},"drift":[{}]}}"#,
        c.drift.is_empty(),
        items.join(",")
    )
    .into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn scope_is_eligible_only_when_every_precondition_holds(c in case()) {
        let w = world();
        let raw = prepare(&w, &c);
        let inputs = resolve(&raw, None).unwrap();
        let modules = fixtures().join("modules");
        let d = scope::evaluate(&scope::Request {
            policy: &w.policy, modules_dir: &modules, inputs: &inputs,
            now: datetime!(2026-05-17 12:00:00 UTC), event: None,
        }).unwrap();
        let expected = if scope_preconditions(&c) { Outcome::Eligible } else { Outcome::Blocked };
        prop_assert_eq!(d.outcome, expected, "{:?}\n{:#?}", c, d.reasons);
    }

    #[test]
    fn one_shot_allows_only_when_every_precondition_holds(c in case()) {
        let w = world();
        let raw = prepare(&w, &c);
        let inputs = resolve(&raw, None).unwrap();
        let modules = fixtures().join("modules");
        let plan = plan::parse(&plan_json(&c)).unwrap();
        let d = one_shot::evaluate(&one_shot::Request {
            policy: &w.policy, modules_dir: &modules, inputs: &inputs, plan: &plan,
            plan_digest: InputDigest { name: "plan".into(), source: "-".into(), sha256: String::new(), bytes: 0 },
            now: datetime!(2026-05-17 12:00:00 UTC), event: None,
        }).unwrap();
        let expected = if one_shot_allow(&c) {
            Outcome::Allow
        } else if one_shot_noop(&c) {
            Outcome::Noop
        } else {
            Outcome::Deny
        };
        prop_assert_eq!(d.outcome, expected, "{:?}\n{:#?}", c, d.reasons);
    }
}
