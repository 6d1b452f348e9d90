//! A whole dispatch decision from structured random choices, through both dispatch gates, on
//! a recorded host (no filesystem: manifests, runbooks and the backup's facts are generated).
//! The oracle says when a yes is allowed, from the generator's choices and the contract alone,
//! never from what the gates parsed: a yes when any precondition fails is a crash.
#![no_main]
use arbitrary::Arbitrary;
use forgejo_gates::backup::artifact::{Content, Observation};
use forgejo_gates::gates::host::{ManifestRead, Observed, RecordedHost};
use forgejo_gates::gates::{one_shot, scope};
use forgejo_gates::model::dispatch::{self, RawInputs};
use forgejo_gates::model::plan;
use forgejo_gates::policy::LoadedPolicy;
use forgejo_gates::report::{InputDigest, Outcome};
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use time::macros::{datetime, format_description};

const ROOT: &str = "/opt/pdurlej-platform/backups";
const NOW: time::OffsetDateTime = datetime!(2026-05-17 01:30 UTC);
const ALLOWED_KIND: &str = "container.state.exited_success";

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Tri {
    Absent,
    A,
    B,
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Class {
    None,
    SecuritySensitive,
    PublicEdge,
    Auth,
    SecretBearing,
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum BackupClass {
    Absent,
    Postgres,
    Redis,
    Vault,
    Minio,
    Filesystem,
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Restore {
    None,
    OwnExists,
    OwnMissing,
    OwnUrl,
    OwnDotDot,
}

#[derive(Arbitrary, Debug, Clone, PartialEq)]
enum Text {
    Absent,
    Right,
    Raw(String),
}

#[derive(Arbitrary, Debug, Clone, PartialEq)]
enum Artifact {
    Refused,
    File {
        size: Size,
        mode: Mode,
        uid_root: bool,
        single_link: bool,
        written_after_name: bool,
        content: Verdict,
    },
}

/// Choices are biased towards the valid value, so that cases with every precondition met
/// (and with exactly one defect) are common, not one in 65,536.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Size {
    Empty,
    Bytes(u8),
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Mode {
    Private,
    Other(u16),
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Age {
    Fresh(u8),
    Edge(u8),
    Any(i16),
}

impl Age {
    fn minutes(self) -> i16 {
        match self {
            Age::Fresh(m) => i16::from(m),
            Age::Edge(i) => [-6, -5, -1, 0, 359, 360, 361][usize::from(i) % 7],
            Age::Any(m) => m,
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Verdict {
    Readable,
    Unreadable,
    NoReader,
}

/// A choice that is the valid value most of the time (roll < 216, about 85%) and otherwise
/// the generated alternative, so that cases with every precondition met, and with exactly one
/// defect, are common (the same spirit as tests/precondition_oracle.rs).
#[derive(Arbitrary, Debug, Clone)]
struct Likely<T> {
    roll: u8,
    alt: T,
}

impl<T: Clone> Likely<T> {
    fn or(&self, valid: T) -> T {
        if self.roll < 216 {
            valid
        } else {
            self.alt.clone()
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    one_shot_gate: bool,
    statefulness: Likely<Tri>,
    expected_state: Likely<Tri>,
    restart: Likely<Tri>,
    class: Likely<Class>,
    backup_class: BackupClass,
    sidecar: bool,
    restore: Likely<Restore>,
    parent_restore_exists: Likely<bool>,
    allow_stateful: Likely<Text>,
    backup_ref: Likely<Text>,
    ref_module_own: Likely<bool>,
    ext: Likely<u8>,
    age: Likely<Age>,
    confirm: Likely<Text>,
    artifact: Likely<Artifact>,
    plan_for_module: Likely<bool>,
    noop_flag_consistent: Likely<bool>,
    drift: Vec<Likely<(bool, bool, bool, bool)>>,
}

impl Input {
    /// Resolve every choice; the oracle and the case builder see only the result.
    fn case(&self) -> Case {
        Case {
            one_shot_gate: self.one_shot_gate,
            statefulness: self.statefulness.or(Tri::B),
            expected_state: self.expected_state.or(Tri::B),
            restart: self.restart.or(Tri::A),
            class: self.class.or(Class::None),
            backup_class: self.backup_class,
            sidecar: self.sidecar,
            restore: self.restore.or(if self.sidecar {
                Restore::None
            } else {
                Restore::OwnExists
            }),
            parent_restore_exists: self.parent_restore_exists.or(true),
            allow_stateful: self.allow_stateful.or(Text::Right),
            backup_ref: self.backup_ref.or(Text::Right),
            ref_module_own: self.ref_module_own.or(!self.sidecar),
            ext: self.ext.or(0),
            age: self.age.or(Age::Fresh(90)),
            confirm: self.confirm.or(Text::Right),
            artifact: self.artifact.or(Artifact::File {
                size: Size::Bytes(100),
                mode: Mode::Private,
                uid_root: true,
                single_link: true,
                written_after_name: true,
                content: Verdict::Readable,
            }),
            plan_for_module: self.plan_for_module.or(true),
            noop_flag_consistent: self.noop_flag_consistent.or(true),
            drift: self
                .drift
                .iter()
                .map(|d| d.or((true, true, true, true)))
                .collect(),
        }
    }
}

#[derive(Debug)]
struct Case {
    one_shot_gate: bool,
    statefulness: Tri,   // absent / stateless / stateful
    expected_state: Tri, // absent / running / exited-success
    restart: Tri,        // absent / "no" / "always"
    class: Class,
    backup_class: BackupClass,
    /// Bound to a parent module `base` that holds the restore path and the backups.
    sidecar: bool,
    restore: Restore,
    parent_restore_exists: bool,
    allow_stateful: Text, // Right = "true"; Raw(s) is passed as given
    backup_ref: Text,     // Right = the generated path; Raw(s) as given
    ref_module_own: bool,
    ext: u8,
    age: Age,
    confirm: Text,
    artifact: Artifact,
    plan_for_module: bool,
    noop_flag_consistent: bool,
    drift: Vec<(bool, bool, bool, bool)>, // (kind allowed, own service, own container, failed exit -> exited(0))
}

const EXTS: &[&str] = &["tar.gz", "tar.zst", "sql.gz", "dump", "snap", "rdb", "zip"];

/// Extensions each class may use, as the contract's default policy states them.
fn exts_for(c: BackupClass) -> &'static [&'static str] {
    match c {
        BackupClass::Absent => &["tar.gz"],
        BackupClass::Postgres => &["sql.gz", "dump", "tar.gz"],
        BackupClass::Redis => &["rdb", "tar.gz"],
        BackupClass::Vault => &["snap", "tar.gz"],
        BackupClass::Minio | BackupClass::Filesystem => &["tar.gz", "tar.zst"],
    }
}

fn class_name(c: BackupClass) -> Option<&'static str> {
    match c {
        BackupClass::Absent => None,
        BackupClass::Postgres => Some("postgres"),
        BackupClass::Redis => Some("redis"),
        BackupClass::Vault => Some("vault"),
        BackupClass::Minio => Some("minio"),
        BackupClass::Filesystem => Some("filesystem"),
    }
}

fn manifest_text(c: &Case) -> String {
    let mut s = String::from("metadata:\n  name: app\nspec:\n");
    let class = match c.class {
        Class::None => None,
        Class::SecuritySensitive => Some("security-sensitive"),
        Class::PublicEdge => Some("public-edge"),
        Class::Auth => Some("auth"),
        Class::SecretBearing => Some("secret-bearing"),
    };
    if let Some(cl) = class {
        s += &format!("  classes: [{cl}]\n");
    }
    s += "  compose:\n    project: home\n";
    s += "  runtime:\n    image: x\n";
    match c.statefulness {
        Tri::Absent => {}
        Tri::A => s += "    statefulness: stateless\n",
        Tri::B => s += "    statefulness: stateful\n",
    }
    match c.expected_state {
        Tri::Absent => {}
        Tri::A => s += "    expected_state: running\n",
        Tri::B => s += "    expected_state: exited-success\n",
    }
    match c.restart {
        Tri::Absent => {}
        Tri::A => s += "    restart: \"no\"\n",
        Tri::B => s += "    restart: always\n",
    }
    if let Some(bc) = class_name(c.backup_class) {
        s += &format!("    backup_class: {bc}\n");
    }
    if c.sidecar {
        s += "    backup_ref_modules: [base]\n";
    }
    match c.restore {
        Restore::None => {}
        Restore::OwnExists | Restore::OwnMissing => s += "    restore: runbook.md#restore\n",
        Restore::OwnUrl => s += "    restore: https://wiki.example/restore\n",
        Restore::OwnDotDot => s += "    restore: ../base/runbook.md\n",
    }
    s
}

const PARENT: &str = "metadata:\n  name: base\nspec:\n  runtime:\n    statefulness: stateful\n    backup_class: minio\n    restore: runbook.md\n";

fn stamp(age_minutes: i16) -> String {
    let t = NOW - time::Duration::minutes(age_minutes.into());
    t.format(format_description!(
        "[year][month][day]T[hour][minute][second]Z"
    ))
    .expect("formats")
}

fn valid_ref(c: &Case) -> String {
    let owner = if c.ref_module_own { "app" } else { "base" };
    format!(
        "{ROOT}/{owner}-{}.{}",
        stamp(c.age.minutes()),
        EXTS[c.ext as usize % EXTS.len()]
    )
}

/// The contract's backup-reference rule, stated on the raw string: directly inside the root,
/// `<covering module>-<real UTC stamp, not older than 6 h, at most 300 s ahead>.<class ext>`.
fn reference_ok(c: &Case, raw: &str) -> bool {
    let covering = if c.sidecar { "base" } else { "app" };
    let Some(rest) = raw.strip_prefix(&format!("{ROOT}/{covering}-")) else {
        return false;
    };
    if rest.len() < 17 || !rest.is_ascii() {
        return false;
    }
    let (st, ext) = rest.split_at(16);
    let Some(ext) = ext.strip_prefix('.') else {
        return false;
    };
    // The extension fits the module's own backup class (tar.gz is every class's fallback).
    let allowed = exts_for(c.backup_class).contains(&ext);
    let Ok(t) = time::PrimitiveDateTime::parse(
        st,
        format_description!("[year][month][day]T[hour][minute][second]Z"),
    ) else {
        return false;
    };
    let t = t.assume_utc();
    allowed && t <= NOW + time::Duration::seconds(300) && t >= NOW - time::Duration::hours(6)
}

fn text_of(t: &Text, right: &str) -> Option<String> {
    match t {
        Text::Absent => None,
        Text::Right => Some(right.to_string()),
        Text::Raw(s) => Some(s.clone()),
    }
}

/// With FUZZ_NOTE_OUTCOMES set, print each outcome (to check, over the corpus, that yes
/// outcomes occur and the oracle is exercised: see docs/fuzzing.md).
fn note(outcome: &str) {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("FUZZ_NOTE_OUTCOMES").is_some()) {
        eprintln!("outcome: {outcome}");
    }
}

fuzz_target!(|input: Input| {
    let c = input.case();
    if c.drift.len() > 8 {
        return;
    }
    let modules = Path::new("/m");
    let mut observed = Observed::default();
    observed.manifests.insert(
        "/m/app/module.yaml".into(),
        ManifestRead {
            text: Some(manifest_text(&c)),
            error: None,
        },
    );
    observed.manifests.insert(
        "/m/base/module.yaml".into(),
        ManifestRead {
            text: Some(PARENT.into()),
            error: None,
        },
    );
    observed
        .files
        .insert("/m/app/runbook.md".into(), c.restore == Restore::OwnExists);
    observed
        .files
        .insert("/m/base/runbook.md".into(), c.parent_restore_exists);
    let right_ref = valid_ref(&c);
    let backup_ref = text_of(&c.backup_ref, &right_ref);
    let (size, mode, uid, links, mtime, verdict) = match &c.artifact {
        Artifact::Refused => (0, 0, 0, 0, 0, None),
        Artifact::File {
            size,
            mode,
            uid_root,
            single_link,
            written_after_name,
            content,
        } => (
            match size {
                Size::Empty => 0,
                Size::Bytes(n) => u64::from(*n) + 1,
            },
            match mode {
                Mode::Private => 0o600,
                Mode::Other(m) => u32::from(*m) & 0o7777,
            },
            if *uid_root { 0 } else { 1000 },
            if *single_link { 1 } else { 2 },
            // 2100-01-01, after any name; or 1970, before every name.
            if *written_after_name {
                4_102_444_800
            } else {
                0
            },
            Some(*content),
        ),
    };
    if let Some(r) = &backup_ref {
        let obs = match verdict {
            None => Observation::Refused {
                code: "backup.artifact.missing".into(),
                message: "gone".into(),
            },
            Some(v) => Observation::File {
                path: r.clone(),
                size,
                mode,
                uid,
                links: Some(links),
                mtime: Some(mtime),
                content: if size == 0 {
                    Content::NotRead
                } else {
                    match v {
                        Verdict::Readable => Content::Readable {
                            verify: "deep".into(),
                            sha256: "0".repeat(64),
                            detail: "ok".into(),
                        },
                        Verdict::Unreadable => Content::Unreadable {
                            extension: "tar.gz".into(),
                            why: "bad".into(),
                            code: None,
                        },
                        Verdict::NoReader => Content::NoReader {
                            extension: "zip".into(),
                        },
                    }
                },
            },
        };
        observed.backups.insert(r.clone(), obs);
    }
    let raw = RawInputs {
        module: Some("app".into()),
        allow_stateful: text_of(&c.allow_stateful, "true"),
        backup_ref: backup_ref.clone(),
        stateful_confirm: text_of(&c.confirm, "BACKUP_DONE_F3"),
    };
    let host = RecordedHost { observed };
    let policy = LoadedPolicy::builtin();

    // The oracle, from the choices.
    let stateful = c.statefulness != Tri::A;
    let manual = matches!(
        c.class,
        Class::SecuritySensitive | Class::PublicEdge | Class::Auth
    );
    let restore_ok = match c.restore {
        Restore::OwnExists | Restore::OwnUrl => true,
        Restore::OwnMissing => false,
        // `../base/runbook.md` is exactly the restore path `base` declares: a sidecar of base
        // may point at it, nothing else may.
        Restore::OwnDotDot => c.sidecar && c.parent_restore_exists,
        Restore::None => c.sidecar && c.parent_restore_exists,
    };
    let artifact_ok = matches!(
        c.artifact,
        Artifact::File {
            content: Verdict::Readable,
            uid_root: true,
            single_link: true,
            written_after_name: true,
            ..
        }
    ) && size > 0
        && mode == 0o600;
    let backup_ok = backup_ref.as_deref().is_some_and(|r| reference_ok(&c, r)) && artifact_ok;
    let confirm_ok = text_of(&c.confirm, "BACKUP_DONE_F3").as_deref() == Some("BACKUP_DONE_F3");
    let allow_ok = text_of(&c.allow_stateful, "true").as_deref() == Some("true");
    let bool_parses = matches!(
        text_of(&c.allow_stateful, "true").as_deref(),
        None | Some("true") | Some("false")
    );
    let scope_yes_ok = bool_parses
        && !manual
        && (!stateful || (allow_ok && restore_ok && backup_ok && confirm_ok));

    let Ok(inputs) = dispatch::resolve(&raw, None) else {
        return;
    };
    if !c.one_shot_gate {
        let d = scope::evaluate_on(
            &scope::Request {
                policy: &policy,
                modules_dir: modules,
                inputs: &inputs,
                now: NOW,
                event: None,
            },
            &host,
        );
        if let Ok(d) = d {
            note(d.outcome.as_str());
            assert!(
                matches!(d.outcome, Outcome::Eligible | Outcome::Blocked),
                "{:?}",
                d.outcome
            );
            if d.outcome == Outcome::Eligible {
                assert!(
                    scope_yes_ok,
                    "eligible although a precondition fails: {c:?}\n{:#?}",
                    d.reasons
                );
            }
        }
        return;
    }
    let noop = if c.noop_flag_consistent {
        c.drift.is_empty()
    } else {
        !c.drift.is_empty()
    };
    let items: Vec<String> = c
        .drift
        .iter()
        .map(|(kind_ok, own, own_container, states_ok)| {
            format!(
                r#"{{"kind":"{}","service":"{}","container":"{}","current":"{}","desired":"exited(0)"}}"#,
                if *kind_ok { ALLOWED_KIND } else { "image.changed" },
                if *own { "app" } else { "base" },
                if *own_container { "home-app-1" } else { "home-base-1" },
                if *states_ok { "exited(1)" } else { "running" },
            )
        })
        .collect();
    let plan_text = format!(
        r#"{{"schema":"platformctl.plan/v1","module":"{}","noop":{noop},"drift":[{}]}}"#,
        if c.plan_for_module { "app" } else { "base" },
        items.join(",")
    );
    let Ok(parsed) = plan::parse(plan_text.as_bytes()) else {
        assert!(
            !c.noop_flag_consistent,
            "a consistent plan failed to parse: {plan_text}"
        );
        return;
    };
    let d = one_shot::evaluate_on(
        &one_shot::Request {
            policy: &policy,
            modules_dir: modules,
            inputs: &inputs,
            plan: &parsed,
            plan_digest: InputDigest {
                name: "plan".into(),
                source: "fuzz".into(),
                sha256: String::new(),
                bytes: 0,
            },
            now: NOW,
            event: None,
        },
        &host,
    );
    let one_shot_manifest = stateful && c.expected_state == Tri::B && c.restart != Tri::B;
    let drift_ok =
        !c.drift.is_empty() && c.drift.iter().all(|(k, o, oc, st)| *k && *o && *oc && *st);
    if let Ok(d) = d {
        note(d.outcome.as_str());
        match d.outcome {
            Outcome::Allow => assert!(
                scope_yes_ok && stateful && one_shot_manifest && c.plan_for_module && drift_ok,
                "allow although a precondition fails: {c:?}\n{:#?}",
                d.reasons
            ),
            Outcome::Noop => assert!(
                scope_yes_ok && c.plan_for_module && c.drift.is_empty(),
                "noop although a precondition fails: {c:?}\n{:#?}",
                d.reasons
            ),
            Outcome::Deny => {}
            other => panic!("unexpected outcome {other:?}"),
        }
    }
});
