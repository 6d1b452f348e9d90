//! What the gates read: module ids and manifests, plans, dispatch inputs and event payloads.

pub mod backup_format;
pub mod changed_files;
pub mod dispatch;
pub mod event;
pub mod git;
pub mod manifest;
mod module_id;
pub(crate) use module_id::truncate;
pub mod plan;
pub mod pull_request;

pub use dispatch::DispatchInputs;
pub use manifest::{ExpectedState, Manifest, Statefulness};
pub use module_id::ModuleId;
pub use plan::{DriftItem, Plan};
pub use pull_request::PullRequest;

use crate::report::code::code;

code!(
    MODULE_MISSING,
    "input.module_missing",
    Error,
    "No module was given.",
    "Pass --module ID, or dispatch the workflow with the `module` input filled in."
);
code!(
    MODULE_INVALID,
    "input.module_invalid",
    Error,
    "The module id is not of the form ^[a-z0-9][a-z0-9-]{0,62}$.",
    "Use the module's directory name exactly: lowercase letters, digits and hyphens, at most 63 characters."
);
code!(
    BOOL_INVALID,
    "input.bool_invalid",
    Error,
    "A boolean input is not exactly `true` or `false`.",
    "Pass `true` or `false` (lowercase). `True`, `yes`, `1`, `on` and empty are refused so nothing is ever guessed."
);
code!(
    INPUT_CONFLICT,
    "input.conflict",
    Error,
    "A flag and the event payload give different values for the same input.",
    "Pass each input one way only (prefer --from-event), or make them agree."
);
code!(
    MANIFEST_MISSING,
    "manifest.missing",
    Error,
    "The module has no manifest at <modules-dir>/<id>/module.yaml.",
    "Check the module id and --modules-dir (default `modules`, relative to the working directory)."
);
code!(
    MANIFEST_INVALID,
    "manifest.invalid",
    Error,
    "The module manifest is not valid for the gates; every problem is listed with its line.",
    "Fix the listed fields. The gates ignore fields they do not read, but are strict about the ones they do."
);
code!(
    PLAN_INVALID,
    "plan.invalid",
    Error,
    "The plan is not valid plan JSON (syntax, duplicated key, wrong type, missing or unknown field).",
    "Produce the plan with `platformctl plan --json` and pass the file unchanged."
);
code!(
    PLAN_SCHEMA_UNKNOWN,
    "plan.schema_unknown",
    Error,
    "The plan's `schema` is not one this gate understands.",
    "This build reads `platformctl.plan/v1`; upgrade the gate if platformctl emits a newer schema."
);
code!(
    PLAN_NOOP_WITH_DRIFT,
    "plan.noop_contradiction",
    Error,
    "The plan says `noop: true` but lists drift (or `noop: false` with no drift).",
    "The plan contradicts itself; re-run `platformctl plan --json` and report the bug to platformctl."
);

pub static CODES: &[&crate::report::Code] = &[
    &MODULE_MISSING,
    &MODULE_INVALID,
    &BOOL_INVALID,
    &INPUT_CONFLICT,
    &MANIFEST_MISSING,
    &MANIFEST_INVALID,
    &PLAN_INVALID,
    &PLAN_SCHEMA_UNKNOWN,
    &PLAN_NOOP_WITH_DRIFT,
];
