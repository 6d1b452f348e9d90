//! The plan reader: strict JSON (duplicate keys refused, depth bounded) and the plan schema.
#![no_main]
use forgejo_gates::model::plan;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = plan::parse(data) {
        // A plan that reads never contradicts itself.
        assert_eq!(p.noop, p.drift.is_empty(), "{p:?}");
        // The same bytes read twice give the same plan.
        assert_eq!(plan::parse(data).ok(), Some(p));
    }
});
