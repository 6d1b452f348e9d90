//! `lint_workflows`: a workflow linter that understands Forgejo Actions. (Being built: see
//! issue 4.)

pub mod expr;

use crate::report::Code;

/// Every reason code (rule id) this gate can emit (registered in `report::all_codes`).
pub fn codes() -> Vec<&'static Code> {
    Vec::new()
}
