//! `canary_required`: does this pull request carry the canary context pack its paths and
//! labels require? (Being built: see issue 3.)

use crate::report::Code;

/// Every reason code this gate can emit (registered in `report::all_codes`).
pub fn codes() -> Vec<&'static Code> {
    Vec::new()
}
