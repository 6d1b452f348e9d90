//! `GET /repos/{owner}/{repo}/pulls/{index}`: the pull request, read through the one mapping
//! from Forgejo's pull-request document to the model ([`PullRequestJson`]), the same one an
//! event payload goes through.

use super::client::Client;
use super::codes::API_BAD_RESPONSE;
use super::endpoints::Endpoint;
use crate::model::pull_request::{PullRequest, PullRequestJson};
use crate::report::{GateError, InputDigest};

impl Client {
    /// Pull request `number`: body, labels, head and base commits. The answer must be about
    /// that very pull request.
    pub fn pull(&self, number: u64) -> Result<(PullRequest, InputDigest), GateError> {
        let path = self.path(Endpoint::GetPull, &[&number.to_string()]);
        let what = format!("pull request #{number}");
        let a = self.send(
            Endpoint::GetPull,
            &path,
            None,
            &format!("pull request #{number} in {}", self.repo_display()),
            "read access to the repository's pull requests",
        )?;
        let bad = |m: &str| GateError::new(&API_BAD_RESPONSE, format!("{what}: {m}"));
        let value: serde_json::Value = self.decode(&what, &a.body)?;
        let pr = PullRequestJson::read(value)
            .and_then(|doc| doc.into_model(format!("api:pulls/{number}")))
            .map_err(|e| bad(&self.scrub(&e)))?;
        if pr.number != Some(number) {
            return Err(bad(
                "the answer's `number` is missing or is not the one asked for",
            ));
        }
        Ok((
            pr,
            InputDigest::of("pull_request", format!("api:{path}"), &a.body),
        ))
    }
}
