//! Every reason code `canary_required` emits, in one ordered list. Documented in
//! `docs/reasons/canary.md`.

use crate::report::Code;
use crate::report::code::code;

use crate::model::changed_files::FILES_INVALID;
// The API client's codes, reported by this gate (declared with the client).
pub use crate::forgejo::codes::{
    API_BAD_RESPONSE, API_CONFIG, API_FORBIDDEN, API_INCOMPLETE, API_NOT_FOUND, API_UNAUTHORIZED,
    API_UNAVAILABLE,
};

code!(
    NOT_REQUIRED,
    "canary.not_required",
    Info,
    "The pull request touches no risky path, so no canary context pack is needed.",
    "Nothing to do."
);
code!(
    REQUIRED,
    "canary.required",
    Info,
    "The pull request touches risky paths, so it needs a canary context pack.",
    "Fill in every section the tier needs and the `Canary status:` line."
);
code!(
    TIER,
    "canary.tier",
    Info,
    "Which pack size (lite or full) was required, and why.",
    "Nothing to do; set the `tier/lite` or `tier/full` label to choose, unless a rule forces full."
);
code!(
    GATES_PATH,
    "canary.gates_path",
    Info,
    "The pull request changes the gates' own files (the policy .forgejo/gates.yml, anything under .forgejo/, .gitea/ or .github/, an action.yml, .gitmodules): after merge they decide how every later change is gated, so a full canary pack is required whatever the policy's path lists say.",
    "Fill in every section of a full pack; explain in it what the change does to the gates."
);
code!(
    TIER_CONFLICT,
    "canary.tier.conflict",
    Error,
    "Both tier labels are set; the tier is ambiguous.",
    "Remove one of the `tier/lite` and `tier/full` labels."
);
code!(
    BODY_EMPTY,
    "canary.body.empty",
    Error,
    "The pull-request body is empty.",
    "Write the canary context pack into the pull-request description (see docs/canary.md for a template)."
);
code!(
    BODY_TOO_LARGE,
    "canary.body.too_large",
    Error,
    "The pull-request body is larger than canary.max_body_bytes; it was not read.",
    "Shorten the description (move logs to an attachment or a linked file), or raise canary.max_body_bytes on the base branch."
);
code!(
    STATUS_MISSING,
    "canary.status.missing",
    Error,
    "The body has no `Canary status:` line.",
    "Add a line such as `Canary status: pending - <what will be checked>` at the top of the description."
);
code!(
    STATUS_INVALID,
    "canary.status.invalid",
    Error,
    "The word after `Canary status:` is not one of the policy's allowed values.",
    "Start the status with one of canary.status_values (default: passed, pending, missing, failed, not-required)."
);
code!(
    STATUS_DUPLICATE,
    "canary.status.duplicate",
    Error,
    "The body has more than one `Canary status:` line; the status is ambiguous.",
    "Keep exactly one `Canary status:` line."
);
code!(
    STATUS_OK,
    "canary.status.ok",
    Info,
    "The `Canary status:` line is present and its value is allowed.",
    "Nothing to do."
);
code!(
    SECTION_MISSING,
    "canary.section.missing",
    Error,
    "A section the tier requires is not in the body.",
    "Add a heading (any level, or a bold line) with the section's name and fill it in."
);
code!(
    SECTION_EMPTY,
    "canary.section.empty",
    Error,
    "A required section is present but shows nothing on Forgejo (empty, only comments, hidden elements or invisible characters), only placeholder text (TODO?, [TBD], TODO - fill in later, -, ...) or only a sub-heading.",
    "Write the real content under the heading; say `none` and why if there is nothing to report."
);
code!(
    SECTION_DUPLICATE,
    "canary.section.duplicate",
    Error,
    "A required section appears more than once; which one counts is ambiguous.",
    "Merge the copies into one section."
);
code!(
    PACK_COMPLETE,
    "canary.pack.complete",
    Info,
    "Every section the tier requires is present and filled in.",
    "Nothing to do."
);
code!(
    GIT_FAILED,
    "canary.git.failed",
    Error,
    "A git command the gate needed (diff or show of the base branch) failed.",
    "Check out with enough history (fetch-depth: 0) so that the base commit is present, and check the ref passed."
);
code!(
    STATUS_POSTED,
    "canary.report.status_posted",
    Info,
    "The result was set as a commit status on the pull request's head commit.",
    "Nothing to do."
);
code!(
    STATUS_POST_FAILED,
    "canary.report.status_failed",
    Warning,
    "The commit status could not be set (the check's result still stands).",
    "A pull request from a fork gets a read-only token: read the result in this log. Otherwise give the token write access to commit statuses."
);
code!(
    COMMENT_POSTED,
    "canary.report.comment_posted",
    Info,
    "The gate's pull-request comment was created or brought up to date.",
    "Nothing to do."
);
code!(
    COMMENT_POST_FAILED,
    "canary.report.comment_failed",
    Warning,
    "The pull-request comment could not be created or edited (the check's result still stands).",
    "A pull request from a fork gets a read-only token: read the result in this log. Otherwise give the token write access to issue comments."
);

code!(
    LABEL_NEAR_MISS,
    "canary.label.near_miss",
    Error,
    "A label is empty, or is a label the gate knows (a tier label, canary.full_labels, the repo-only label) only after folding letter case, spaces, punctuation, invisible or look-alike characters; the gate will not guess whether it applies.",
    "Spell the label exactly as the policy does (`tier/full`, `class/security-sensitive`, ...) or remove it; with `--labels`, separate labels by commas without spaces."
);
code!(
    STATUS_FAILED,
    "canary.status.failed",
    Error,
    "The `Canary status:` line says the canary failed: the description itself says the change is not safe to merge.",
    "Fix the change and run the canary again, then set `Canary status: passed` (or `pending` with what will be checked)."
);

pub static ALL: &[&Code] = &[
    &NOT_REQUIRED,
    &REQUIRED,
    &TIER,
    &GATES_PATH,
    &TIER_CONFLICT,
    &BODY_EMPTY,
    &BODY_TOO_LARGE,
    &STATUS_MISSING,
    &STATUS_INVALID,
    &STATUS_DUPLICATE,
    &STATUS_OK,
    &STATUS_FAILED,
    &LABEL_NEAR_MISS,
    &SECTION_MISSING,
    &SECTION_EMPTY,
    &SECTION_DUPLICATE,
    &PACK_COMPLETE,
    &FILES_INVALID,
    &GIT_FAILED,
    &STATUS_POSTED,
    &STATUS_POST_FAILED,
    &COMMENT_POSTED,
    &COMMENT_POST_FAILED,
];
