//! `canary_required`: does this pull request carry the canary context pack its paths and
//! labels require?
//!
//! The rules (risky paths, tier selection, required sections, the `Canary status:` line,
//! placeholder words, the evidence per module class) come from the policy's `canary` section.
//! The body is read as Markdown ([`body`]); every missing or empty section is reported, not
//! just the first. A touched module that carries a class needs the evidence sections of that
//! class too ([`evidence`], with the classes read by [`manifests`]).
//!
//! [`run`] is one run as the binary asks for it (the pull request from files, an event payload
//! or the Forgejo API; the base branch's policy; the changed files; the decision), and
//! `publish` reports it on Forgejo (the commit status and the gate's comment).

pub mod api_options;
pub mod body;
pub mod codes;
pub mod comment;
pub mod evidence;
pub mod files;
pub mod labels;
pub mod manifests;
#[cfg(feature = "forgejo-api")]
pub mod publish;
pub mod rendered;
pub mod run;

use crate::model::changed_files::FILES_INVALID;
use crate::paths::Globs;
use crate::policy::LoadedPolicy;
use crate::policy::canary::Tier;
use crate::report::{
    Code, Decision, Gate, GateError, InputDigest, Location, Outcome, Reason, general,
};
use codes::*;
use time::OffsetDateTime;

use crate::model::pull_request::PullRequest;

/// Every reason code this gate can emit (registered in `registry::all_codes`).
pub fn codes() -> Vec<&'static Code> {
    let mut all = codes::ALL.to_vec();
    // The client's codes are declared and listed once, beside the client.
    all.extend_from_slice(crate::forgejo::codes::ALL);
    all.extend_from_slice(evidence::CODES);
    all
}

pub struct Request<'a> {
    pub policy: &'a LoadedPolicy,
    pub pr: &'a PullRequest,
    pub changed_files: &'a [String],
    /// The touched modules and their classes (see [`manifests::classify`]); empty when the
    /// pull request touches no module.
    pub modules: &'a [evidence::ModuleClasses],
    /// Digests of the inputs read (body, changed files, event, API), for the decision.
    pub inputs: Vec<InputDigest>,
    pub now: OffsetDateTime,
}

/// How the tier was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierChoice {
    pub tier: Tier,
    pub why: String,
    /// Both tier labels were present.
    pub conflict: bool,
}

/// Pick the tier: a forcing label or path means full; else the tier label; else the default.
pub fn choose_tier(
    policy: &crate::policy::canary::CanaryPolicy,
    labels: &[String],
    full_path_hits: &[(String, String)],
) -> TierChoice {
    let has = |l: &str| labels.iter().any(|x| x == l);
    let lite = has(&policy.lite_label);
    let full = has(&policy.full_label);
    let forcing_label = policy.full_labels.iter().find(|l| has(l));
    let conflict = lite && full;
    if let Some(l) = forcing_label {
        return TierChoice {
            tier: Tier::Full,
            why: format!("label `{l}` forces a full pack"),
            conflict,
        };
    }
    if let Some((file, pattern)) = full_path_hits.first() {
        return TierChoice {
            tier: Tier::Full,
            why: format!(
                "`{file}` matches `{pattern}` (canary.full_paths), which forces a full pack"
            ),
            conflict,
        };
    }
    if conflict {
        return TierChoice {
            tier: Tier::Full,
            why: format!(
                "both `{}` and `{}` are set; checking the stricter full pack",
                policy.lite_label, policy.full_label
            ),
            conflict,
        };
    }
    if full {
        return TierChoice {
            tier: Tier::Full,
            why: format!("label `{}`", policy.full_label),
            conflict,
        };
    }
    if lite {
        return TierChoice {
            tier: Tier::Lite,
            why: format!("label `{}`", policy.lite_label),
            conflict,
        };
    }
    TierChoice {
        tier: policy.default_tier,
        why: format!(
            "no tier label (`{}` or `{}`); canary.default_tier is {}",
            policy.lite_label,
            policy.full_label,
            policy.default_tier.as_str()
        ),
        conflict,
    }
}

/// Evaluate one pull request. Findings are reasons; `Err` is "could not evaluate".
pub fn evaluate(req: &Request) -> Result<Decision, GateError> {
    let policy = &req.policy.policy.canary;
    let risky = Globs::new(&policy.risky_paths).map_err(|e| {
        GateError::new(&general::POLICY_INVALID, format!("canary.risky_paths: {e}"))
    })?;
    let forcing = Globs::new(&policy.full_paths)
        .map_err(|e| GateError::new(&general::POLICY_INVALID, format!("canary.full_paths: {e}")))?;
    if req.changed_files.is_empty() {
        return Err(GateError::new(
            &FILES_INVALID,
            "the pull request has no changed files: nothing to evaluate (was the diff collected?)",
        ));
    }
    let subject = match req.pr.number {
        Some(n) => format!("pull request #{n}"),
        None => "pull request".to_string(),
    };
    let mut d = Decision::new(Gate::CanaryRequired, subject, req.now);
    d.inputs.push(req.policy.digest.clone());
    d.inputs.extend(req.inputs.iter().cloned());
    if let Some(n) = req.pr.number {
        d.fact("pr_number", n.to_string());
    }
    if let Some(sha) = &req.pr.head_sha {
        d.fact("head_sha", sha.clone());
    }

    let mut risky_hits: Vec<(String, String)> = Vec::new();
    let mut full_hits: Vec<(String, String)> = Vec::new();
    // The gates' own files: risky and forcing a full pack whatever the policy says.
    let mut gates_hits: Vec<(String, &'static str)> = Vec::new();
    for path in req.changed_files {
        d.checks_run += 1;
        if let Some(what) = crate::policy::gates_file(path) {
            risky_hits.push((path.clone(), what.to_string()));
            gates_hits.push((path.clone(), what));
            continue;
        }
        if let Some(p) = risky.first_match(path) {
            risky_hits.push((path.clone(), p.to_string()));
        }
        if let Some(p) = forcing.first_match(path) {
            full_hits.push((path.clone(), p.to_string()));
        }
    }
    // A module that carries a class with evidence rules is risky wherever it lives.
    let mut risky_files: std::collections::HashSet<String> =
        risky_hits.iter().map(|(f, _)| f.clone()).collect();
    for m in req.modules {
        let classes: Vec<&str> = m
            .classes
            .iter()
            .filter(|c| !policy.evidence.required(c).is_empty())
            .map(String::as_str)
            .collect();
        if !classes.is_empty()
            && let Some(file) = m.files.first()
            && risky_files.insert(file.clone())
        {
            risky_hits.push((
                file.clone(),
                format!("module `{}` is {}", m.id, classes.join(", ")),
            ));
        }
    }
    d.fact("changed_files", req.changed_files.len().to_string());
    d.fact("risky_files", risky_hits.len().to_string());

    if risky_hits.is_empty() {
        d.fact("tier", "none");
        d.push(Reason::new(
            &NOT_REQUIRED,
            format!(
                "none of the {} changed file(s) matches a risky path ({}); no canary context pack is needed",
                req.changed_files.len(),
                policy.risky_paths.join(", ")
            ),
        ));
        return d.settle(Outcome::Pass, Outcome::Fail);
    }
    let shown: Vec<String> = risky_hits
        .iter()
        .take(5)
        .map(|(f, p)| format!("{f} ({p})"))
        .collect();
    d.push(Reason::new(
        &REQUIRED,
        format!(
            "{} of {} changed file(s) touch risky paths, e.g. {}{}",
            risky_hits.len(),
            req.changed_files.len(),
            shown.join(", "),
            if risky_hits.len() > 5 { ", ..." } else { "" }
        ),
    ));

    for (path, what) in &gates_hits {
        d.push(
            Reason::new(
                &GATES_PATH,
                format!(
                    "{path} is {what}, one of the gates' own files: after merge it decides how every later change is gated, so a full pack is required whatever the policy's path lists say"
                ),
            )
            .subject(path.clone()),
        );
    }

    // Tier. A label that only looks like one the gate knows stops it first.
    labels::check(policy, &req.pr.labels)?;
    d.checks_run += 1;
    let mut choice = choose_tier(policy, &req.pr.labels, &full_hits);
    if let Some((path, what)) = gates_hits.first() {
        choice.tier = Tier::Full;
        choice.why = format!(
            "`{path}` is {what} (one of the gates' own files), which always forces a full pack"
        );
    }
    d.fact("tier", choice.tier.as_str());
    if choice.conflict {
        d.push(
            Reason::new(
                &TIER_CONFLICT,
                format!(
                    "labels `{}` and `{}` are both set",
                    policy.lite_label, policy.full_label
                ),
            )
            .subject("labels"),
        );
    }
    d.push(
        Reason::new(
            &TIER,
            format!("tier {}: {}", choice.tier.as_str(), choice.why),
        )
        .subject("tier"),
    );

    // The body.
    let body_text = req.pr.body.as_deref().unwrap_or("");
    if body_text.len() as u64 > policy.max_body_bytes {
        return Err(GateError::new(
            &BODY_TOO_LARGE,
            format!(
                "the pull-request body is {} bytes, over canary.max_body_bytes ({}); refusing to read it",
                body_text.len(),
                policy.max_body_bytes
            ),
        ));
    }
    // Every tier's sections are among the full tier's: read them all, so that a lite pack's
    // extra full sections are recognised as sections and do not run into the one before.
    // The evidence sections are sections too, whether this pull request needs them or not.
    let mut known = policy.sections(Tier::Full);
    known.extend(policy.evidence.all_sections());
    let parsed = body::parse(body_text, &known, &policy.placeholders);
    let file = if req.pr.body_source.is_empty() {
        "body".to_string()
    } else {
        req.pr.body_source.clone()
    };
    let at = |line: usize, col: usize| Location {
        file: file.clone(),
        line,
        col,
    };
    if body_text.trim().is_empty() {
        d.push(Reason::new(
            &BODY_EMPTY,
            "the pull-request body is empty: the canary context pack is missing entirely",
        ));
    }

    // The `Canary status:` line.
    d.checks_run += 1;
    match parsed.status.as_slice() {
        [] => d.push(
            Reason::new(
                &STATUS_MISSING,
                format!(
                    "no `Canary status:` line; start the body with e.g. `Canary status: {}`",
                    policy
                        .status_values
                        .first()
                        .map(String::as_str)
                        .unwrap_or("pending")
                ),
            )
            .subject("Canary status"),
        ),
        [one] => {
            let value: String = one
                .rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '/'))
                .collect();
            let value = value.trim_end_matches(['-', '_', '/']).to_string();
            if policy
                .status_values
                .iter()
                .any(|v| v.eq_ignore_ascii_case(&value))
            {
                d.fact("canary_status", value.to_lowercase());
                // `failed` is a status the author may honestly write, and it says the change
                // is not safe to merge: a finding, never a pass.
                if value.eq_ignore_ascii_case("failed") {
                    d.push(
                        Reason::new(
                            &STATUS_FAILED,
                            "`Canary status: failed`: the description says the canary failed",
                        )
                        .subject("Canary status")
                        .at(at(one.line, one.col)),
                    );
                } else {
                    d.push(
                        Reason::new(&STATUS_OK, format!("`Canary status: {value}`"))
                            .subject("Canary status")
                            .at(at(one.line, one.col)),
                    );
                }
            } else {
                d.push(
                    Reason::new(
                        &STATUS_INVALID,
                        format!(
                            "`Canary status:` is followed by {}; it must start with one of: {}",
                            if value.is_empty() {
                                "no status word".to_string()
                            } else {
                                format!("`{value}`")
                            },
                            policy.status_values.join(", ")
                        ),
                    )
                    .subject("Canary status")
                    .at(at(one.line, one.col)),
                );
            }
        }
        many => {
            let lines: Vec<String> = many.iter().map(|s| s.line.to_string()).collect();
            d.push(
                Reason::new(
                    &STATUS_DUPLICATE,
                    format!(
                        "{} `Canary status:` lines (lines {}); keep exactly one",
                        many.len(),
                        lines.join(", ")
                    ),
                )
                .subject("Canary status")
                .at(at(many[1].line, many[1].col)),
            );
        }
    }

    // The sections.
    let required = policy.sections(choice.tier);
    let mut missing: Vec<String> = Vec::new();
    let mut present = 0usize;
    for name in &required {
        d.checks_run += 1;
        let found = parsed.find(name);
        match found.as_slice() {
            [] => {
                missing.push(name.clone());
                d.push(
                    Reason::new(
                        &SECTION_MISSING,
                        format!(
                            "section \"{name}\" is missing (a {} pack needs it)",
                            choice.tier.as_str()
                        ),
                    )
                    .subject(name.clone()),
                );
            }
            [one] if !one.filled => {
                missing.push(name.clone());
                d.push(
                    Reason::new(
                        &SECTION_EMPTY,
                        format!("section \"{name}\" is empty or holds only placeholder text"),
                    )
                    .subject(name.clone())
                    .at(at(one.line, one.col)),
                );
            }
            [_] => present += 1,
            many => {
                missing.push(name.clone());
                let lines: Vec<String> = many.iter().map(|s| s.line.to_string()).collect();
                d.push(
                    Reason::new(
                        &SECTION_DUPLICATE,
                        format!(
                            "section \"{name}\" appears {} times (lines {}); keep one",
                            many.len(),
                            lines.join(", ")
                        ),
                    )
                    .subject(name.clone())
                    .at(at(many[1].line, many[1].col)),
                );
            }
        }
    }
    // The evidence the touched modules' classes require.
    evidence::check(
        &mut d,
        &policy.evidence,
        &parsed,
        &req.pr.labels,
        req.modules,
        &at,
    )?;
    if missing.is_empty() {
        d.push(Reason::new(
            &PACK_COMPLETE,
            format!(
                "all {present} sections of a {} pack are present and filled in",
                choice.tier.as_str()
            ),
        ));
    }
    d.fact("missing_sections", missing.join(", "));
    d.settle(Outcome::Pass, Outcome::Fail)
}
