//! `GET /repos/{owner}/{repo}/pulls/{index}/files`: the changed files, every page by number
//! (`limit=50`), checked against `X-Total-Count` so that a short or shifting list is an error,
//! never a shorter list. Renamed and copied files count both paths.

use super::client::Client;
use super::codes::{API_BAD_RESPONSE, API_INCOMPLETE};
use super::endpoints::Endpoint;
use crate::digest::sha256_hex;
use crate::report::{GateError, InputDigest};
use serde::Deserialize;

/// Forgejo caps `limit` at 50; we ask for exactly that and page by number.
pub const PAGE_SIZE: u64 = 50;
/// A pull request listing more files than this is refused (use `--git-diff`).
pub const MAX_FILES: u64 = 20_000;

/// Forgejo's `ChangedFile`: the paths, nothing else.
#[derive(Debug, Deserialize)]
struct ChangedFileJson {
    filename: Option<PathField>,
    /// Set (non-empty) when the file was renamed or copied.
    previous_filename: Option<PathField>,
}

/// A path field as it came: a string, or anything else (which is refused with the field's
/// name, as a missing one is).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum PathField {
    Text(String),
    Other(serde::de::IgnoredAny),
}

impl Client {
    /// The changed files of pull request `number`, in the order listed, each once.
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
            let items: Vec<ChangedFileJson> =
                self.decode(&format!("{what}, page {page}"), &a.body)?;
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
            let without = |key: &str| {
                GateError::new(
                    &API_BAD_RESPONSE,
                    format!("{what}: page {page} has an entry without a string `{key}`"),
                )
            };
            for item in items {
                let name = match item.filename {
                    Some(PathField::Text(f)) if !f.is_empty() => f,
                    _ => return Err(without("filename")),
                };
                let previous = match item.previous_filename {
                    None => None,
                    Some(PathField::Text(f)) if f.is_empty() => None,
                    Some(PathField::Text(f)) => Some(f),
                    Some(PathField::Other(_)) => return Err(without("previous_filename")),
                };
                for f in std::iter::once(name).chain(previous) {
                    crate::paths::check_path(&f).map_err(|e| {
                        GateError::new(&API_BAD_RESPONSE, format!("{what}: {}", self.scrub(&e)))
                    })?;
                    if seen.insert(f.clone()) {
                        files.push(f);
                    }
                }
            }
            all_bytes.extend_from_slice(&sha256_hex(&a.body).into_bytes());
            listed = listed.saturating_add(expected);
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
}
