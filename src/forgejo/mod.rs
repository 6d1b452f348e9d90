//! A small, fail-closed client for the Forgejo REST API (`/api/v1`), as the pull-request gate
//! needs it: one pull request, its changed files (paged by number, checked against
//! `X-Total-Count`), a commit status, and one comment kept up to date.
//!
//! One file per concern: `client` (the agent, retries, error mapping, typed decoding),
//! `token` (the secret and its redaction), `endpoints` (every call, as in Forgejo's
//! swagger), `pulls`, `files`, `statuses`, `comments`, and [`codes`] (its reason codes).
//! Every answer is read into a typed document that names only the fields read; a pull request
//! goes through the same mapping as an event payload's (`model::pull_request`). The client
//! knows nothing of the gates: it returns the model and errors, and the gate decides.
//!
//! Every call has a timeout; server errors (5xx, 429) and connection failures are retried a
//! bounded number of times with exponential backoff; a timeout is not retried. The token is
//! held in a type whose `Debug` hides it, is sent only in the `Authorization` header, only
//! over https (plain http only to a loopback address), and every message this module produces
//! from server or transport text is redacted ([`redact`]) before it leaves.

pub mod codes;

#[cfg(feature = "forgejo-api")]
mod client;
#[cfg(feature = "forgejo-api")]
mod comments;
#[cfg(feature = "forgejo-api")]
mod endpoints;
#[cfg(feature = "forgejo-api")]
mod files;
#[cfg(feature = "forgejo-api")]
mod pulls;
#[cfg(feature = "forgejo-api")]
mod statuses;
#[cfg(feature = "forgejo-api")]
mod token;

#[cfg(feature = "forgejo-api")]
pub use client::{Client, Config, MAX_RESPONSE_BYTES, MAX_RETRIES};
#[cfg(feature = "forgejo-api")]
pub use comments::CommentAction;
#[cfg(feature = "forgejo-api")]
pub use endpoints::Endpoint;
#[cfg(feature = "forgejo-api")]
pub use files::{MAX_FILES, PAGE_SIZE};
#[cfg(feature = "forgejo-api")]
pub use token::{MIN_FRAGMENT_CHARS, MIN_TOKEN_CHARS, Token, redact};
