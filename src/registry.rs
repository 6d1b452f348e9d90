//! The registry of every reason code the project can emit, one explicit list built from each
//! gate's own registry. It sits above every gate (it names them all) and nothing in the
//! library below it imports it: docs and tests read it, and a gate that needs to look a code
//! up by id searches the codes it can emit itself.

use crate::report::Code;

/// Every reason code the project can emit, in one explicit list, for docs and tests.
pub fn all_codes() -> Vec<&'static Code> {
    let mut codes: Vec<&'static Code> = crate::report::code::GENERAL.to_vec();
    codes.extend_from_slice(crate::model::CODES);
    codes.extend(crate::gates::codes_of(crate::gates::scope::CHECKS));
    codes.extend(crate::gates::codes_of(crate::gates::one_shot::CHECKS));
    codes.extend_from_slice(crate::gates::pr_scope::CODES);
    codes.extend(crate::canary::codes());
    codes.extend(crate::lint::codes());
    codes.extend_from_slice(crate::lint::suppress::baseline::CODES);
    codes.extend_from_slice(crate::backup::drill::CODES);
    codes.extend_from_slice(crate::backup::take::CODES);
    // A code shared by several checks (the backup checks) is listed once.
    let mut unique: Vec<&'static Code> = Vec::new();
    for c in codes {
        if !unique.iter().any(|u| std::ptr::eq(*u, c)) {
            unique.push(c);
        }
    }
    unique
}
