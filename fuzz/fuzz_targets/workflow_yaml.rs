//! The workflow linter on arbitrary bytes (YAML, expressions, every rule).
#![no_main]
use forgejo_gates::policy::Policy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let policy = Policy::default();
    let _ = forgejo_gates::lint::lint_bytes(".forgejo/workflows/fuzz.yml", data, &policy.lint);
});
