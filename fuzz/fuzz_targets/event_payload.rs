//! Event payloads: the pull request of a pull_request event, the workflow_dispatch inputs, then
//! the dispatch-input resolution (strict booleans, module id grammar, flag/event agreement).
#![no_main]
use forgejo_gates::model::dispatch::{self, RawInputs};
use forgejo_gates::model::event::EventPayload;
use forgejo_gates::report::InputDigest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = forgejo_gates::json::parse_strict(data) else {
        return;
    };
    let payload = EventPayload {
        value,
        digest: InputDigest {
            name: "event".into(),
            source: "fuzz".into(),
            sha256: String::new(),
            bytes: data.len() as u64,
        },
    };
    // The pull request: never a panic; what is taken is a positive number and commit ids.
    if let Ok(pr) = payload.pull_request() {
        assert!(pr.number.is_some_and(|n| n > 0));
        for sha in [&pr.head_sha, &pr.base_sha].into_iter().flatten() {
            assert!(forgejo_gates::model::pull_request::valid_sha(sha));
        }
    }
    let Ok(inputs) = payload.dispatch_inputs() else {
        return;
    };
    if let Ok(resolved) = dispatch::resolve(&RawInputs::default(), Some(&inputs)) {
        // allow_stateful is true only when the payload said exactly "true".
        assert_eq!(
            resolved.allow_stateful,
            inputs.get("allow_stateful").map(String::as_str) == Some("true")
        );
    }
});
