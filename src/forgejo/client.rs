//! The client and its retries: one [`Client`] per run, every request through [`Client::send`]
//! (a timeout on every call; server errors (5xx, 429) and connection failures retried a
//! bounded number of times with exponential backoff; a timeout not retried), and every answer
//! read into a typed document through [`Client::decode`]. Failures become the client's own
//! reason codes ([`super::codes`]), their text free of the token.

use super::codes::{
    API_BAD_RESPONSE, API_CONFIG, API_FORBIDDEN, API_NOT_FOUND, API_UNAUTHORIZED, API_UNAVAILABLE,
};
use super::endpoints::{Endpoint, Method};
use super::token::{MIN_TOKEN_CHARS, Token, redact, secure_enough};
use crate::report::{Code, GateError};
use serde::Deserialize;
use std::time::Duration;

/// No single response may be larger than this.
pub const MAX_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;
/// At most this many retries, whatever is asked.
pub const MAX_RETRIES: u32 = 5;

/// How to reach the API.
#[derive(Debug, Clone)]
pub struct Config {
    /// `https://forgejo.example/api/v1`.
    pub api_url: String,
    /// `owner/name`.
    pub repository: String,
    pub token: Option<Token>,
    pub timeout: Duration,
    pub retries: u32,
    /// The first retry waits this long; each next one twice as long.
    pub backoff: Duration,
}

pub struct Client {
    agent: ureq::Agent,
    base: String,
    owner: String,
    name: String,
    token: Token,
    retries: u32,
    backoff: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("repository", &format!("{}/{}", self.owner, self.name))
            .finish_non_exhaustive()
    }
}

fn valid_segment(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The longest wait between two attempts.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);

/// How long to wait before retry `attempt + 1`: `backoff`, then twice as long each time, at
/// most [`MAX_RETRY_WAIT`].
fn retry_wait(backoff: Duration, attempt: u32) -> Duration {
    backoff
        .saturating_mul(1u32 << attempt.min(10))
        .min(MAX_RETRY_WAIT)
}

/// One HTTP answer, already read.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) total_count: Option<String>,
    pub(super) body: Vec<u8>,
}

/// The `message` of Forgejo's error answers (swagger `APIError`).
#[derive(Deserialize)]
struct ApiError {
    message: Option<String>,
}

impl Client {
    pub fn new(cfg: Config) -> Result<Client, GateError> {
        let base = cfg.api_url.trim_end_matches('/').to_string();
        if !(base.starts_with("https://") || base.starts_with("http://"))
            || base.chars().any(|c| c.is_whitespace() || c.is_control())
            || base.contains('@')
            || base.contains('?')
            || base.contains('#')
        {
            return Err(GateError::new(
                &API_CONFIG,
                format!(
                    "the API URL `{}` is not an https:// URL such as https://forgejo.example/api/v1",
                    crate::render::text::clean(&base.chars().take(200).collect::<String>())
                ),
            ));
        }
        if !secure_enough(&base) {
            return Err(GateError::new(
                &API_CONFIG,
                format!(
                    "the API URL `{}` is plain http to a host that is not this machine: the token would cross the network in clear text; use https:// (plain http:// is accepted only for localhost, 127.0.0.0/8 and [::1])",
                    crate::render::text::clean(&base.chars().take(200).collect::<String>())
                ),
            ));
        }
        let (owner, name) = match cfg.repository.split_once('/') {
            Some((o, n)) if valid_segment(o) && valid_segment(n) => (o.to_string(), n.to_string()),
            _ => {
                return Err(GateError::new(
                    &API_CONFIG,
                    format!(
                        "the repository `{}` is not `owner/name` (GITHUB_REPOSITORY)",
                        crate::render::text::clean(
                            &cfg.repository.chars().take(200).collect::<String>()
                        )
                    ),
                ));
            }
        };
        let Some(token) = cfg.token else {
            return Err(GateError::new(
                &API_CONFIG,
                "no API token: set FORGEJO_TOKEN or GITHUB_TOKEN in the step's env (e.g. `GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}`)",
            ));
        };
        if token.secret().chars().count() < MIN_TOKEN_CHARS
            || token
                .secret()
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(GateError::new(
                &API_CONFIG,
                format!(
                    "the API token is shorter than {MIN_TOKEN_CHARS} characters or contains whitespace: it is not a Forgejo token"
                ),
            ));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(cfg.timeout))
            .max_redirects(0)
            .user_agent(concat!("forgejo-gates/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Client {
            agent,
            base,
            owner,
            name,
            token,
            retries: cfg.retries.min(MAX_RETRIES),
            backoff: cfg.backoff,
        })
    }

    /// Redact the token from any server or transport text before it is shown.
    pub(super) fn scrub(&self, s: &str) -> String {
        redact(self.token.secret(), s)
    }

    /// The concrete path of `ep`: `{owner}` and `{repo}` from the repository, every other
    /// placeholder from `ids`, in order.
    pub(super) fn path(&self, ep: Endpoint, ids: &[&str]) -> String {
        let mut ids = ids.iter();
        let mut out = String::new();
        for seg in ep.template().split('/').skip(1) {
            out.push('/');
            match seg {
                "{owner}" => out.push_str(&self.owner),
                "{repo}" => out.push_str(&self.name),
                s if s.starts_with('{') => out.push_str(ids.next().copied().unwrap_or("")),
                s => out.push_str(s),
            }
        }
        out
    }

    fn once(&self, method: Method, path: &str, body: Option<&[u8]>) -> Result<Answer, ureq::Error> {
        let url = format!("{}{}", self.base, path);
        let auth = format!("token {}", self.token.secret());
        let mut resp = match method {
            Method::Get => self
                .agent
                .get(&url)
                .header("Authorization", &auth)
                .header("Accept", "application/json")
                .call()?,
            Method::Post | Method::Patch => {
                let builder = if matches!(method, Method::Post) {
                    self.agent.post(&url)
                } else {
                    self.agent.patch(&url)
                };
                builder
                    .header("Authorization", &auth)
                    .header("Accept", "application/json")
                    .header("Content-Type", "application/json")
                    .send(body.unwrap_or(b"{}"))?
            }
        };
        let status = resp.status().as_u16();
        let total_count = resp
            .headers()
            .get("x-total-count")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()?;
        Ok(Answer {
            status,
            total_count,
            body,
        })
    }

    /// Send with bounded retries; map every failure to a clear, token-free error.
    /// `object` names what is asked for (for 404), `need` the permission (for 403).
    pub(super) fn send(
        &self,
        ep: Endpoint,
        path: &str,
        body: Option<&[u8]>,
        object: &str,
        need: &str,
    ) -> Result<Answer, GateError> {
        let method = ep.verb();
        let what = if path.starts_with("/repos/") {
            format!(
                "{} {}{}",
                method.as_str(),
                self.repo_display(),
                path_tail(path)
            )
        } else {
            format!("{} {path}", method.as_str())
        };
        let mut attempt = 0u32;
        loop {
            let retry_reason = match self.once(method, path, body) {
                Ok(a) if (200..300).contains(&a.status) => return Ok(a),
                Ok(a) if a.status >= 500 || a.status == 429 => {
                    format!("HTTP {}{}", a.status, self.server_message(&a.body))
                }
                Ok(a) => return Err(self.status_error(&what, &a, object, need)),
                Err(ureq::Error::Timeout(_)) => {
                    return Err(GateError::new(
                        &API_UNAVAILABLE,
                        format!("{what}: no answer within the timeout; not retried"),
                    ));
                }
                Err(ureq::Error::BodyExceedsLimit(_)) => {
                    return Err(GateError::new(
                        &API_BAD_RESPONSE,
                        format!("{what}: the answer is larger than {MAX_RESPONSE_BYTES} bytes"),
                    ));
                }
                Err(e) => self.scrub(&e.to_string()),
            };
            if attempt >= self.retries {
                return Err(GateError::new(
                    &API_UNAVAILABLE,
                    format!(
                        "{what}: {retry_reason} (gave up after {} attempt(s))",
                        attempt + 1
                    ),
                ));
            }
            std::thread::sleep(retry_wait(self.backoff, attempt));
            attempt += 1;
        }
    }

    pub(super) fn repo_display(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// The `message` of an error answer, redacted; empty when there is none.
    fn server_message(&self, body: &[u8]) -> String {
        match serde_json::from_slice::<ApiError>(body)
            .ok()
            .and_then(|e| e.message)
        {
            Some(m) if !m.is_empty() => format!(": {}", self.scrub(&m)),
            _ => String::new(),
        }
    }

    fn status_error(&self, what: &str, a: &Answer, object: &str, need: &str) -> GateError {
        let msg = self.server_message(&a.body);
        let (code, text): (&'static Code, String) = match a.status {
            401 => (
                &API_UNAUTHORIZED,
                format!("{what}: 401 Unauthorized{msg}; the token was refused"),
            ),
            403 => (
                &API_FORBIDDEN,
                format!("{what}: 403 Forbidden{msg}; the token lacks {need}"),
            ),
            404 => (
                &API_NOT_FOUND,
                format!(
                    "{what}: 404 Not Found{msg}; {object} does not exist or the token cannot see it"
                ),
            ),
            s => (
                &API_BAD_RESPONSE,
                format!("{what}: unexpected HTTP {s}{msg}"),
            ),
        };
        GateError::new(code, text)
    }

    /// The answer read strictly (a key repeated in one object is an error) into the typed
    /// document `T`; any other shape is [`API_BAD_RESPONSE`], naming the field that did not
    /// fit. Server text in the message is redacted.
    pub(super) fn decode<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        body: &[u8],
    ) -> Result<T, GateError> {
        let value = crate::json::parse_strict(body).map_err(|e| {
            GateError::new(
                &API_BAD_RESPONSE,
                format!(
                    "{what}: the answer is not valid JSON ({})",
                    self.scrub(&e.to_string())
                ),
            )
        })?;
        crate::json::typed(value).map_err(|e| {
            GateError::new(
                &API_BAD_RESPONSE,
                format!(
                    "{what}: the answer is not what Forgejo's API describes ({})",
                    self.scrub(&e)
                ),
            )
        })
    }
}

fn path_tail(path: &str) -> String {
    // `/repos/o/r/pulls/3` -> ` pulls/3` (the repository is shown separately).
    let parts: Vec<&str> = path.splitn(4, '/').collect();
    match parts.get(3).and_then(|rest| rest.split_once('/')) {
        Some((_, tail)) => format!(" {tail}"),
        None => format!(" {path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_says_a_token_is_set_and_never_shows_it() {
        let t = Token::new("s3cr3t-token".into());
        assert_eq!(format!("{t:?}"), "Token(***)");
        let client = Client::new(Config {
            api_url: "https://forgejo.example/api/v1".into(),
            repository: "o/r".into(),
            token: Some(t),
            timeout: Duration::from_secs(1),
            retries: 0,
            backoff: Duration::from_millis(1),
        })
        .expect("a valid config");
        let shown = format!("{client:?}");
        assert!(shown.contains("https://forgejo.example/api/v1"), "{shown}");
        assert!(shown.contains("o/r"), "{shown}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }

    #[test]
    fn retries_wait_twice_as_long_each_time_up_to_a_cap() {
        let b = Duration::from_millis(100);
        let waits: Vec<Duration> = (0..4).map(|a| retry_wait(b, a)).collect();
        assert_eq!(
            waits,
            [100, 200, 400, 800].map(Duration::from_millis).to_vec()
        );
        assert_eq!(
            retry_wait(b, 9),
            Duration::from_millis(51_200).min(MAX_RETRY_WAIT)
        );
        assert_eq!(retry_wait(Duration::from_secs(20), 3), MAX_RETRY_WAIT);
        assert_eq!(
            retry_wait(Duration::from_secs(20), u32::MAX),
            MAX_RETRY_WAIT
        );
    }

    #[test]
    fn config_is_checked() {
        let cfg = |url: &str, repo: &str| Config {
            api_url: url.into(),
            repository: repo.into(),
            token: Some(Token::new("abcd1234".into())),
            timeout: Duration::from_secs(1),
            retries: 0,
            backoff: Duration::from_millis(1),
        };
        assert!(Client::new(cfg("ftp://x", "a/b")).is_err());
        assert!(Client::new(cfg("https://x/api/v1", "a")).is_err());
        assert!(Client::new(cfg("https://x/api/v1", "a/../b")).is_err());
        assert!(Client::new(cfg("https://user@x/api/v1", "a/b")).is_err());
        assert!(Client::new(cfg("https://x/api/v1/", "a/b")).is_ok());
    }

    #[test]
    fn paths_come_from_the_swagger_templates() {
        let c = Client::new(Config {
            api_url: "https://x/api/v1".into(),
            repository: "o/r".into(),
            token: Some(Token::new("abcd1234".into())),
            timeout: Duration::from_secs(1),
            retries: 0,
            backoff: Duration::from_millis(1),
        })
        .unwrap();
        assert_eq!(c.path(Endpoint::GetUser, &[]), "/user");
        assert_eq!(
            c.path(Endpoint::ListPullFiles, &["7"]),
            "/repos/o/r/pulls/7/files"
        );
        assert_eq!(
            c.path(Endpoint::EditComment, &["55"]),
            "/repos/o/r/issues/comments/55"
        );
    }

    #[test]
    fn path_tail_names_the_endpoint() {
        assert_eq!(
            path_tail("/repos/o/r/pulls/3/files?page=2"),
            " pulls/3/files?page=2"
        );
    }
}
