//! The policy reader: any text is a policy or an error, never a panic or a hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = forgejo_gates::policy::parse(text, "fuzz.yml");
    }
});
