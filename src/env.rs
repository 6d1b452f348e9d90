//! The runner's variables. Forgejo sets every `GITHUB_X` also as `FORGEJO_X` (runner >= 7);
//! act sets only `GITHUB_X`. Both are read, and disagreeing values are refused.

use crate::report::{GateError, general};

/// A source of environment variables, so tests can pass a clean one.
pub trait Env {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

/// A fixed map, for tests.
impl Env for std::collections::BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        self.get(name).cloned().filter(|v| !v.is_empty())
    }
}

/// `GITHUB_<suffix>` or `FORGEJO_<suffix>`; an error when both are set and differ.
pub fn runner_var(env: &dyn Env, suffix: &str) -> Result<Option<String>, GateError> {
    let github = env.get(&format!("GITHUB_{suffix}"));
    let forgejo = env.get(&format!("FORGEJO_{suffix}"));
    match (github, forgejo) {
        (Some(g), Some(f)) if g != f => Err(GateError::new(
            &general::USAGE,
            format!(
                "GITHUB_{suffix} and FORGEJO_{suffix} are both set and differ; refusing to guess which is right"
            ),
        )),
        (Some(v), _) | (None, Some(v)) => Ok(Some(v)),
        (None, None) => Ok(None),
    }
}

/// Is the job running for a pull request (`GITHUB_EVENT_NAME` / `FORGEJO_EVENT_NAME` is
/// `pull_request` or `pull_request_target`)? Then the working tree is the branch under review,
/// and the rules must not be read from it.
pub fn pull_request_event(env: &dyn Env) -> Result<Option<String>, GateError> {
    Ok(runner_var(env, "EVENT_NAME")?
        .filter(|e| matches!(e.as_str(), "pull_request" | "pull_request_target")))
}
