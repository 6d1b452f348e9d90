//! The canary gate on a pull request body (Markdown sections, placeholders, tiers).
#![no_main]
use forgejo_gates::canary;
use forgejo_gates::model::PullRequest;
use forgejo_gates::policy::LoadedPolicy;
use forgejo_gates::report::Outcome;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use time::macros::datetime;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    // Built once: the policy is the same for every input, and building it (with its digest)
    // per input spent most of the time outside the code under test.
    static POLICY: OnceLock<LoadedPolicy> = OnceLock::new();
    let policy = POLICY.get_or_init(LoadedPolicy::builtin);
    let labels = if body.len() % 2 == 0 {
        vec!["tier/full".to_string()]
    } else {
        vec![]
    };
    let pr = PullRequest {
        number: Some(1),
        body: Some(body.to_string()),
        body_source: "pr-body.md".into(),
        labels,
        head_sha: None,
        base_sha: None,
    };
    let files = vec!["modules/minio-init/module.yaml".to_string()];
    // A stateful, sidecar-bound module: the evidence sections are read too.
    let modules = [canary::evidence::ModuleClasses {
        id: "minio-init".to_string(),
        files: files.clone(),
        classes: vec!["stateful".to_string(), "sidecar-bound".to_string()],
        read_from: vec!["the base".to_string()],
    }];
    let d = canary::evaluate(&canary::Request {
        modules: &modules,
        policy,
        pr: &pr,
        changed_files: &files,
        inputs: Vec::new(),
        now: datetime!(2026-05-17 01:30 UTC),
    });
    if let Ok(d) = d {
        // A risky path with no `Canary status:` line can never pass.
        if d.outcome == Outcome::Pass {
            assert!(
                body.to_ascii_lowercase().contains("canary status"),
                "passed without a status line"
            );
        }
    }
});
