//! The reason codes of the Forgejo API client: every way a call can fail (configuration,
//! refusals, an unusable answer, an incomplete list). Documented in `docs/reasons/canary.md`,
//! the gate that reports them.

use crate::report::Code;
use crate::report::code::code;

code!(
    API_CONFIG,
    "forgejo.config",
    Error,
    "The Forgejo API cannot be used: the API URL, repository, pull-request number, head commit or token is missing or malformed, or the API URL is plain http:// to a host other than this machine (the token would cross the network in clear text).",
    "Run inside a Forgejo Actions job (GITHUB_API_URL, GITHUB_REPOSITORY set), or pass --api-url (https://; plain http:// only for localhost, 127.0.0.0/8, [::1]) and --pr; the token comes only from FORGEJO_TOKEN or GITHUB_TOKEN."
);
code!(
    API_UNAUTHORIZED,
    "forgejo.unauthorized",
    Error,
    "The Forgejo API refused the token (401).",
    "Check that FORGEJO_TOKEN/GITHUB_TOKEN is set to a valid, unexpired token for this instance."
);
code!(
    API_FORBIDDEN,
    "forgejo.forbidden",
    Error,
    "The token lacks a permission the request needs (403).",
    "Give the token read access to the repository's pull requests and issues (and write access to commit statuses and issue comments for --post-status/--comment)."
);
code!(
    API_NOT_FOUND,
    "forgejo.not_found",
    Error,
    "The repository, pull request or commit does not exist, or the token cannot see it (404).",
    "Check GITHUB_REPOSITORY, the pull-request number (--pr or the event) and the API URL."
);
code!(
    API_UNAVAILABLE,
    "forgejo.unavailable",
    Error,
    "The Forgejo API did not answer usefully: a timeout, a connection failure or a server error that persisted after bounded retries.",
    "Retry the job; if it persists, check the instance's health and the runner's network access to the API URL."
);
code!(
    API_BAD_RESPONSE,
    "forgejo.bad_response",
    Error,
    "The Forgejo API answered with something that is not the JSON the API spec describes.",
    "Check that the API URL points at Forgejo's /api/v1 and not at a proxy or login page."
);
code!(
    API_INCOMPLETE,
    "forgejo.incomplete",
    Error,
    "The changed-files list from the API does not add up to its X-Total-Count; the list would be incomplete.",
    "Retry the job; a pull request changing while it is read can cause this. Or pass --changed-files / --git-diff."
);
/// Every reason code of the client, in the order they are documented.
pub static ALL: &[&Code] = &[
    &API_CONFIG,
    &API_UNAUTHORIZED,
    &API_FORBIDDEN,
    &API_NOT_FOUND,
    &API_UNAVAILABLE,
    &API_BAD_RESPONSE,
    &API_INCOMPLETE,
];
