//! The backup reference grammar: whatever passes is a plain path directly inside the root,
//! named `<module>-<stamp>.<ext>` with a module that covers this one, fresh at `now`.
#![no_main]
use forgejo_gates::backup::reference;
use forgejo_gates::model::{ModuleId, manifest};
use forgejo_gates::policy::BackupPolicy;
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use time::macros::datetime;

const MANIFEST: &str = "metadata:\n  name: minio-init\nspec:\n  runtime:\n    statefulness: stateful\n    expected_state: exited-success\n    restart: \"no\"\n    backup_class: minio\n    backup_ref_modules: [minio]\n";

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let id = ModuleId::parse("minio-init").expect("valid id");
    let m = manifest::from_text(MANIFEST, Path::new("modules"), &id).expect("valid manifest");
    let policy = BackupPolicy::default();
    let now = datetime!(2026-05-17 01:30 UTC);
    if let Ok(r) = reference::check(raw, &m, &policy, now) {
        // Checked independently of the grammar's code.
        let name = raw
            .strip_prefix("/opt/pdurlej-platform/backups/minio-")
            .unwrap_or_else(|| panic!("accepted outside the root or for another module: {raw:?}"));
        assert!(!name.contains('/') && raw.is_ascii(), "{raw:?}");
        let (stamp, ext) = name.split_at(16.min(name.len()));
        assert!(
            ext == ".tar.gz" || ext == ".tar.zst",
            "extension of another class: {raw:?}"
        );
        let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
        let taken = time::PrimitiveDateTime::parse(stamp, &fmt)
            .unwrap_or_else(|_| panic!("not a real instant: {raw:?}"))
            .assume_utc();
        assert_eq!(taken, r.taken_at);
        assert!(
            taken <= now + time::Duration::seconds(300),
            "future: {raw:?}"
        );
        assert!(taken >= now - time::Duration::hours(6), "stale: {raw:?}");
    }
});
