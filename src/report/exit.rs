//! The exit-code table, in one place. Output format never changes the exit code.

use super::Outcome;

pub const PASS: u8 = 0;
pub const NO: u8 = 1;
pub const COULD_NOT_EVALUATE: u8 = 2;
pub const NOOP: u8 = 3;

/// For `--help`: the table every binary shares.
pub const TABLE: &str = "\
Exit codes:
  0  pass: eligible, allow, pass
  1  the gate said no: blocked, deny, fail
  2  could not evaluate: bad usage, unreadable or invalid input, policy or manifest, I/O or API failure
  3  noop (allow_one_shot_stateful_apply only): nothing to apply, skip the apply step";

pub fn code_for(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Eligible | Outcome::Allow | Outcome::Pass => PASS,
        Outcome::Blocked | Outcome::Deny | Outcome::Fail => NO,
        Outcome::Error => COULD_NOT_EVALUATE,
        Outcome::Noop => NOOP,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_yes_outcomes_exit_zero() {
        for outcome in [
            Outcome::Blocked,
            Outcome::Deny,
            Outcome::Fail,
            Outcome::Error,
            Outcome::Noop,
        ] {
            assert_ne!(code_for(outcome), 0, "{outcome:?}");
        }
        assert_eq!(code_for(Outcome::Noop), 3);
        assert_eq!(code_for(Outcome::Error), 2);
    }
}
