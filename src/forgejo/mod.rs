//! A small, fail-closed client for the Forgejo REST API (`/api/v1`), as `canary_required`
//! needs it: one pull request, its changed files (paged by number, checked against
//! `X-Total-Count`), a commit status, and one comment kept up to date.
//!
//! Every call has a timeout; server errors (5xx, 429) and connection failures are retried a
//! bounded number of times with exponential backoff; a timeout is not retried. The token is
//! held in a type whose `Debug` hides it, is sent only in the `Authorization` header, only
//! over https (plain http only to a loopback address), and every message this module produces
//! from server or transport text is redacted ([`redact`]) before it leaves.
//!
//! Every request goes to one of the [`Endpoint`]s, each a method and a path template from
//! Forgejo's swagger; `tests/canary_prism.rs` checks each against the spec with Prism.

use crate::canary::PullRequest;
use crate::canary::codes::{
    API_BAD_RESPONSE, API_CONFIG, API_FORBIDDEN, API_INCOMPLETE, API_NOT_FOUND, API_UNAUTHORIZED,
    API_UNAVAILABLE,
};
use crate::digest::sha256_hex;
use crate::report::{Code, GateError, InputDigest};
use serde_json::Value;
use std::time::Duration;

/// Forgejo caps `limit` at 50; we ask for exactly that and page by number.
pub const PAGE_SIZE: u64 = 50;
/// A pull request listing more files than this is refused (use `--git-diff`).
pub const MAX_FILES: u64 = 20_000;
/// No single response may be larger than this.
pub const MAX_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;
/// At most this many retries, whatever is asked.
pub const MAX_RETRIES: u32 = 5;
/// A token shorter than this is refused: it could not be told apart from ordinary text when
/// redacting (Forgejo's own tokens are 40 hex digits).
pub const MIN_TOKEN_CHARS: usize = 8;
/// Any piece of the token this long or longer, in any letter case, is redacted.
pub const MIN_FRAGMENT_CHARS: usize = 6;

/// Every call the client makes: a method and a path template, as in Forgejo's swagger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /user`: the token's own account (whose comments the gate may edit).
    GetUser,
    GetPull,
    ListPullFiles,
    CreateStatus,
    ListComments,
    CreateComment,
    EditComment,
}

impl Endpoint {
    pub const ALL: [Endpoint; 7] = [
        Endpoint::GetUser,
        Endpoint::GetPull,
        Endpoint::ListPullFiles,
        Endpoint::CreateStatus,
        Endpoint::ListComments,
        Endpoint::CreateComment,
        Endpoint::EditComment,
    ];

    pub fn method(self) -> &'static str {
        self.verb().as_str()
    }

    fn verb(self) -> Method {
        match self {
            Endpoint::GetUser
            | Endpoint::GetPull
            | Endpoint::ListPullFiles
            | Endpoint::ListComments => Method::Get,
            Endpoint::CreateStatus | Endpoint::CreateComment => Method::Post,
            Endpoint::EditComment => Method::Patch,
        }
    }

    /// The path template, relative to the API base (`/api/v1`).
    pub fn template(self) -> &'static str {
        match self {
            Endpoint::GetUser => "/user",
            Endpoint::GetPull => "/repos/{owner}/{repo}/pulls/{index}",
            Endpoint::ListPullFiles => "/repos/{owner}/{repo}/pulls/{index}/files",
            Endpoint::CreateStatus => "/repos/{owner}/{repo}/statuses/{sha}",
            Endpoint::ListComments | Endpoint::CreateComment => {
                "/repos/{owner}/{repo}/issues/{index}/comments"
            }
            Endpoint::EditComment => "/repos/{owner}/{repo}/issues/comments/{id}",
        }
    }

    /// The query parameters the client sends.
    pub fn query(self) -> &'static [&'static str] {
        match self {
            Endpoint::ListPullFiles => &["page", "limit"],
            _ => &[],
        }
    }
}

/// Text from a server or a transport error, made safe to print: every piece of the token at
/// least [`MIN_FRAGMENT_CHARS`] long, in any letter case, and every token-shaped run (20 or
/// more letters, digits and `-_.+/=` with both letters and digits) becomes `***`; control
/// characters are neutralised and the result is cut to 300 characters.
pub fn redact(token: &str, text: &str) -> String {
    let text: Vec<char> = text.chars().take(1000).collect();
    let low: Vec<char> = text.iter().map(|c| c.to_ascii_lowercase()).collect();
    let tok: Vec<char> = token.chars().map(|c| c.to_ascii_lowercase()).collect();
    let min = MIN_FRAGMENT_CHARS.min(tok.len()).max(1);
    let mut hide = vec![false; text.len()];
    for i in 0..low.len() {
        let mut longest = 0;
        for j in 0..tok.len() {
            let k = low[i..]
                .iter()
                .zip(&tok[j..])
                .take_while(|(a, b)| a == b)
                .count();
            longest = longest.max(k);
        }
        if longest >= min {
            hide[i..i + longest].iter_mut().for_each(|h| *h = true);
        }
    }
    let shaped =
        |c: &char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+' | '/' | '=');
    let mut i = 0;
    while i < text.len() {
        let run = text[i..].iter().take_while(|c| shaped(c)).count();
        if run == 0 {
            i += 1;
            continue;
        }
        let word = &text[i..i + run];
        if run >= 20
            && word.iter().any(char::is_ascii_digit)
            && word.iter().any(char::is_ascii_alphabetic)
        {
            hide[i..i + run].iter_mut().for_each(|h| *h = true);
        }
        i += run;
    }
    let mut out = String::new();
    for (n, c) in text.iter().enumerate() {
        if hide[n] {
            if n == 0 || !hide[n - 1] {
                out.push_str("***");
            }
        } else {
            out.push(*c);
        }
    }
    crate::render::text::clean(&out.chars().take(300).collect::<String>())
}

/// May a token be sent to this API URL? `https://`, or plain `http://` to a loopback host
/// (`localhost`, `127.0.0.0/8`, `[::1]`): a token sent in clear text over a network is as good
/// as published.
fn secure_enough(base: &str) -> bool {
    if base.starts_with("https://") {
        return true;
    }
    let Some(rest) = base.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or("");
    let host = if authority.starts_with('[') {
        authority.split(']').next().map(|h| format!("{h}]"))
    } else {
        authority.split(':').next().map(str::to_string)
    };
    match host.as_deref() {
        Some("localhost" | "[::1]") => true,
        Some(h) => {
            let parts: Vec<&str> = h.split('.').collect();
            parts.len() == 4
                && parts[0] == "127"
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.len() <= 3 && p.parse::<u8>().is_ok())
        }
        None => false,
    }
}

/// The API token. Never printed: `Debug` shows `***`.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(s: String) -> Token {
        Token(s)
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

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

/// What `upsert_comment` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentAction {
    Created(u64),
    Updated(u64),
    /// Nothing to say and no earlier comment to update.
    Skipped,
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

pub use crate::canary::valid_sha;

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
struct Answer {
    status: u16,
    total_count: Option<String>,
    body: Vec<u8>,
}

#[derive(Clone, Copy)]
enum Method {
    Get,
    Post,
    Patch,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
        }
    }
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
        if token.0.chars().count() < MIN_TOKEN_CHARS
            || token.0.chars().any(|c| c.is_whitespace() || c.is_control())
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
    fn scrub(&self, s: &str) -> String {
        redact(&self.token.0, s)
    }

    /// The concrete path of `ep`: `{owner}` and `{repo}` from the repository, every other
    /// placeholder from `ids`, in order.
    fn path(&self, ep: Endpoint, ids: &[&str]) -> String {
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
        let auth = format!("token {}", self.token.0);
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
    fn send(
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

    fn repo_display(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    fn server_message(&self, body: &[u8]) -> String {
        match serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
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

    fn json(&self, what: &str, body: &[u8]) -> Result<Value, GateError> {
        crate::json::parse_strict(body).map_err(|e| {
            GateError::new(
                &API_BAD_RESPONSE,
                format!(
                    "{what}: the answer is not valid JSON ({})",
                    self.scrub(&e.to_string())
                ),
            )
        })
    }

    /// `GET /repos/{o}/{r}/pulls/{n}`: body, labels, head and base commits.
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
        let v = self.json(&what, &a.body)?;
        let bad = |m: &str| GateError::new(&API_BAD_RESPONSE, format!("{what}: {m}"));
        if !v.is_object() {
            return Err(bad("the answer is not a JSON object"));
        }
        match v.get("number").and_then(Value::as_u64) {
            Some(n) if n == number => {}
            _ => {
                return Err(bad(
                    "the answer's `number` is missing or is not the one asked for",
                ));
            }
        }
        let body = match v.get("body") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(bad("`body` is not a string")),
        };
        let labels = labels_of(v.get("labels")).map_err(|m| bad(&m))?;
        let sha = |side: &str| -> Result<Option<String>, GateError> {
            match v.get(side).and_then(|s| s.get("sha")) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if valid_sha(s) => Ok(Some(s.clone())),
                Some(_) => Err(bad(&format!("`{side}.sha` is not a commit id"))),
            }
        };
        let head_sha = sha("head")?;
        let base_sha = sha("base")?;
        Ok((
            PullRequest {
                number: Some(number),
                body,
                body_source: format!("api:pulls/{number}"),
                labels,
                head_sha,
                base_sha,
            },
            InputDigest::of("pull_request", format!("api:{path}"), &a.body),
        ))
    }

    /// `GET /repos/{o}/{r}/pulls/{n}/files`, every page by number (`limit=50`), checked against
    /// `X-Total-Count`. Renamed and copied files count both paths.
    pub fn pull_files(&self, number: u64) -> Result<(Vec<String>, InputDigest), GateError> {
        let path = self.path(Endpoint::ListPullFiles, &[&number.to_string()]);
        let what = format!("changed files of pull request #{number}");
        let mut files: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut all_bytes: Vec<u8> = Vec::new();
        let mut total: Option<u64> = None;
        let mut listed = 0u64;
        let mut page = 1u64;
        loop {
            let a = self.send(
                Endpoint::ListPullFiles,
                &format!("{path}?page={page}&limit={PAGE_SIZE}"),
                None,
                &format!("pull request #{number} in {}", self.repo_display()),
                "read access to the repository's pull requests",
            )?;
            let count = match a.total_count.as_deref().map(|t| t.trim().parse::<u64>()) {
                Some(Ok(n)) => n,
                _ => {
                    return Err(GateError::new(
                        &API_INCOMPLETE,
                        format!(
                            "{what}: page {page} has no valid X-Total-Count header, so completeness cannot be checked"
                        ),
                    ));
                }
            };
            match total {
                None => {
                    if count > MAX_FILES {
                        return Err(GateError::new(
                            &API_INCOMPLETE,
                            format!(
                                "{what}: {count} files is more than this gate reads through the API ({MAX_FILES}); pass --git-diff BASE...HEAD instead"
                            ),
                        ));
                    }
                    total = Some(count);
                }
                Some(t) if t != count => {
                    return Err(GateError::new(
                        &API_INCOMPLETE,
                        format!(
                            "{what}: X-Total-Count changed from {t} to {count} while paging (the pull request changed); retry"
                        ),
                    ));
                }
                Some(_) => {}
            }
            let total_n = total.unwrap_or(count);
            let v = self.json(&what, &a.body)?;
            let Value::Array(items) = v else {
                return Err(GateError::new(
                    &API_BAD_RESPONSE,
                    format!("{what}: page {page} is not a JSON list"),
                ));
            };
            let expected = total_n.saturating_sub(listed).min(PAGE_SIZE);
            if items.len() as u64 != expected {
                return Err(GateError::new(
                    &API_INCOMPLETE,
                    format!(
                        "{what}: page {page} lists {} file(s) where {expected} were expected (X-Total-Count {total_n}, {listed} read so far); the list would be incomplete",
                        items.len()
                    ),
                ));
            }
            for item in &items {
                for key in ["filename", "previous_filename"] {
                    match item.get(key) {
                        Some(Value::String(f)) if !f.is_empty() => {
                            crate::canary::files::check_path(f).map_err(|e| {
                                GateError::new(
                                    &API_BAD_RESPONSE,
                                    format!("{what}: {}", self.scrub(&e)),
                                )
                            })?;
                            if seen.insert(f.clone()) {
                                files.push(f.clone());
                            }
                        }
                        None | Some(Value::Null) if key == "previous_filename" => {}
                        Some(Value::String(_)) if key == "previous_filename" => {}
                        _ => {
                            return Err(GateError::new(
                                &API_BAD_RESPONSE,
                                format!(
                                    "{what}: page {page} has an entry without a string `{key}`"
                                ),
                            ));
                        }
                    }
                }
            }
            all_bytes.extend_from_slice(&sha256_hex(&a.body).into_bytes());
            listed += items.len() as u64;
            if listed >= total_n {
                break;
            }
            page += 1;
        }
        Ok((
            files,
            InputDigest {
                name: "changed_files".into(),
                source: format!("api:{path} ({listed} entries, {page} page(s))"),
                sha256: sha256_hex(&all_bytes),
                bytes: listed,
            },
        ))
    }

    /// `POST /repos/{o}/{r}/statuses/{sha}`.
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
        let mut doc = serde_json::json!({
            "state": state,
            "context": context,
            "description": description,
        });
        if let Some(u) = target_url {
            doc["target_url"] = Value::String(u.to_string());
        }
        let body = serde_json::to_vec(&doc).unwrap_or_default();
        self.send(
            Endpoint::CreateStatus,
            &self.path(Endpoint::CreateStatus, &[sha]),
            Some(&body),
            &format!("commit {sha} in {}", self.repo_display()),
            "write access to commit statuses (a pull request from a fork gets a read-only token)",
        )?;
        Ok(())
    }

    /// `GET /user`: the id of the token's own account (in a Forgejo Actions job, the actions
    /// user). Only comments written by this account are ever edited.
    pub fn own_user_id(&self) -> Result<i64, GateError> {
        let what = "the token's own account (GET /user)";
        let a = self.send(
            Endpoint::GetUser,
            &self.path(Endpoint::GetUser, &[]),
            None,
            "the token's account",
            "read access to the user's own profile",
        )?;
        let v = self.json(what, &a.body)?;
        v.get("id").and_then(Value::as_i64).ok_or_else(|| {
            GateError::new(
                &API_BAD_RESPONSE,
                format!("{what}: the answer has no numeric `id`"),
            )
        })
    }

    /// Find the comment written by `own_id` (see [`Client::own_user_id`]) that starts with
    /// `marker` and edit it, or create one. A comment with the marker by anyone else is a
    /// look-alike and is left alone. When `create` is false (nothing to report) and there is no
    /// own comment, nothing is posted.
    pub fn upsert_comment(
        &self,
        number: u64,
        own_id: i64,
        marker: &str,
        body: &str,
        create: bool,
    ) -> Result<CommentAction, GateError> {
        let index = number.to_string();
        let list_path = self.path(Endpoint::ListComments, &[&index]);
        let what = format!("comments of pull request #{number}");
        let a = self.send(
            Endpoint::ListComments,
            &list_path,
            None,
            &format!("pull request #{number} in {}", self.repo_display()),
            "read access to the repository's issues",
        )?;
        let v = self.json(&what, &a.body)?;
        let Value::Array(items) = v else {
            return Err(GateError::new(
                &API_BAD_RESPONSE,
                format!("{what}: the answer is not a JSON list"),
            ));
        };
        let mut ours = None;
        for item in &items {
            let text = item.get("body").and_then(Value::as_str).unwrap_or("");
            let author = item
                .get("user")
                .and_then(|u| u.get("id"))
                .and_then(Value::as_i64);
            if author != Some(own_id) || !text.trim_start().starts_with(marker) {
                continue;
            }
            match item.get("id").and_then(Value::as_u64) {
                Some(id) => {
                    ours = Some(id);
                    break;
                }
                None => {
                    return Err(GateError::new(
                        &API_BAD_RESPONSE,
                        format!("{what}: a comment has no numeric `id`"),
                    ));
                }
            }
        }
        let payload = serde_json::to_vec(&serde_json::json!({ "body": body })).unwrap_or_default();
        let need = "write access to the repository's issues (a pull request from a fork gets a read-only token)";
        match ours {
            Some(id) => {
                self.send(
                    Endpoint::EditComment,
                    &self.path(Endpoint::EditComment, &[&id.to_string()]),
                    Some(&payload),
                    &format!("comment {id}"),
                    need,
                )?;
                Ok(CommentAction::Updated(id))
            }
            None if !create => Ok(CommentAction::Skipped),
            None => {
                let a = self.send(
                    Endpoint::CreateComment,
                    &self.path(Endpoint::CreateComment, &[&index]),
                    Some(&payload),
                    &format!("pull request #{number} in {}", self.repo_display()),
                    need,
                )?;
                let id = self
                    .json(&what, &a.body)?
                    .get("id")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| {
                        GateError::new(
                            &API_BAD_RESPONSE,
                            format!("{what}: the new comment's answer has no numeric `id`"),
                        )
                    })?;
                Ok(CommentAction::Created(id))
            }
        }
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

fn labels_of(v: Option<&Value>) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|l| match l.get("name") {
                Some(Value::String(s)) => Ok(s.clone()),
                _ => Err("a label has no string `name`".to_string()),
            })
            .collect(),
        Some(_) => Err("`labels` is not a list".to_string()),
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
    fn redaction_hides_the_token_in_any_case_and_in_pieces() {
        let t = "tok_9f8e7d6c5b4a3928";
        let shown = redact(t, "a TOK_9F8E7D6C5B4A3928 b tok_9f8e c 7d6c5b4a3928 d");
        assert_eq!(shown, "a *** b *** c *** d");
        // Five characters of the token are not a piece of it; ordinary words stay readable.
        assert_eq!(
            redact(t, "token does not have write access: tok_9"),
            "token does not have write access: tok_9"
        );
        // Token-shaped runs are hidden whatever they are.
        assert_eq!(redact(t, "x ghp_0123456789abcdefABCDEF y"), "x *** y");
        assert_eq!(redact(t, "a\nb"), "a\\nb");
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "https://forgejo.example/api/v1",
            "http://127.0.0.1:3000/api/v1",
            "http://127.9.8.7/api/v1",
            "http://localhost:3000/api/v1",
            "http://[::1]:3000/api/v1",
        ] {
            assert!(secure_enough(ok), "{ok}");
        }
        for bad in [
            "http://forgejo.example/api/v1",
            "http://10.0.0.8/api/v1",
            "http://127.0.0.1.example/api/v1",
            "http://localhost.example/api/v1",
            "http://128.0.0.1/api/v1",
            "http://127.0.0.256/api/v1",
            "http://[::2]/api/v1",
            "HTTP://localhost/api/v1",
        ] {
            assert!(!secure_enough(bad), "{bad}");
        }
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
