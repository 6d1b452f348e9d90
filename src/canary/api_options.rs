//! How `canary_required` reaches the Forgejo API and what it posts there, as the binary's
//! flags give it. Read by the run ([`super::run`]) and by what posts ([`super::publish`],
//! feature `forgejo-api`); a build without the feature still takes the options (and refuses
//! `--forgejo`).

use std::time::Duration;

/// How to reach the API and what to post there.
#[derive(Debug, Clone, Default)]
pub struct ApiOptions {
    /// The API base URL (else the runner's).
    pub url: Option<String>,
    pub timeout: Duration,
    pub retries: u32,
    /// Set a commit status on the head commit.
    pub post_status: bool,
    /// The status context (else the policy's).
    pub status_context: Option<String>,
    /// The status's and comment's link (else the run's page).
    pub target_url: Option<String>,
    /// Keep one comment up to date.
    pub comment: bool,
}
