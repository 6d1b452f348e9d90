//! The module manifest reader (YAML with spans, strict fields, alias and depth limits).
#![no_main]
use forgejo_gates::model::{ModuleId, manifest};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let id = ModuleId::parse("minio-init").expect("a valid id");
    if let Ok(m) = manifest::from_text(text, Path::new("modules"), &id) {
        // A manifest that reads must name its own directory.
        assert_eq!(m.id.as_str(), "minio-init");
    }
    // The module id grammar, on the same bytes.
    if let Ok(id) = ModuleId::parse(text) {
        assert!(!id.as_str().is_empty() && id.as_str().len() <= 63);
        assert!(
            id.as_str()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        );
    }
});
