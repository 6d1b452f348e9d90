//! `POST /repos/{owner}/{repo}/statuses/{sha}`: the commit status on the head commit.

use super::client::Client;
use super::codes::API_CONFIG;
use super::endpoints::Endpoint;
use crate::model::pull_request::valid_sha;
use crate::report::GateError;
use serde::Serialize;

/// Forgejo's `CreateStatusOption`, the fields sent (in this order, as before the typing).
#[derive(Serialize)]
struct CreateStatus<'a> {
    context: &'a str,
    description: &'a str,
    state: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_url: Option<&'a str>,
}

impl Client {
    /// Set status `state` (`success`, `failure`, `error`, `pending`) for `context` on commit
    /// `sha`.
    pub fn post_status(
        &self,
        sha: &str,
        state: &str,
        context: &str,
        description: &str,
        target_url: Option<&str>,
    ) -> Result<(), GateError> {
        if !valid_sha(sha) {
            return Err(GateError::new(
                &API_CONFIG,
                "the head commit is not a commit id; cannot set a status",
            ));
        }
        let body = serde_json::to_vec(&CreateStatus {
            context,
            description,
            state,
            target_url,
        })
        .unwrap_or_default();
        self.send(
            Endpoint::CreateStatus,
            &self.path(Endpoint::CreateStatus, &[sha]),
            Some(&body),
            &format!("commit {sha} in {}", self.repo_display()),
            "write access to commit statuses (a pull request from a fork gets a read-only token)",
        )?;
        Ok(())
    }
}
