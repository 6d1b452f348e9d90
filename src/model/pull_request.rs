//! The pull request as the gates see it, and the one reading of Forgejo's pull-request JSON
//! into it. The `pull_request` object of an event payload and the answer of
//! `GET /repos/{owner}/{repo}/pulls/{index}` are the same document (swagger `PullRequest`), so
//! both go through [`PullRequestJson`]: a typed view that names exactly the fields the gates
//! read. Everything else in the document is ignored; a field of the wrong type is an error.

use serde::Deserialize;
use serde_json::Value;

/// A commit id: 40 (sha1) or 64 (sha256) hex digits. Anything else from an event payload or
/// an API answer is refused before it is used in a diff range or a status URL.
pub fn valid_sha(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The pull request as the gate sees it, wherever it came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PullRequest {
    pub number: Option<u64>,
    /// `None` when the source had no body at all (null); treated as empty.
    pub body: Option<String>,
    /// Where the body came from, for locations in messages (`pr-body.md`, `event`, `api`).
    pub body_source: String,
    pub labels: Vec<String>,
    pub head_sha: Option<String>,
    pub base_sha: Option<String>,
}

/// Forgejo's `PullRequest` document: the fields the gates read.
#[derive(Debug, Deserialize)]
pub struct PullRequestJson {
    /// The pull request's index in its repository.
    pub number: Option<u64>,
    /// The description (the canary context pack); `null` when never written.
    pub body: Option<String>,
    pub labels: Option<Vec<LabelJson>>,
    /// The head branch: the commit under review.
    pub head: Option<BranchJson>,
    /// The base branch: the commit the rules are read from.
    pub base: Option<BranchJson>,
}

/// Forgejo's `Label`: only its name is read.
#[derive(Debug, Deserialize)]
pub struct LabelJson {
    pub name: String,
}

/// Forgejo's `PRBranchInfo`: only the commit is read.
#[derive(Debug, Deserialize)]
pub struct BranchJson {
    pub sha: Option<String>,
}

impl PullRequestJson {
    /// Read `value` (a JSON object) as a pull request; the error names the field that does
    /// not fit, and the caller says where the document came from and which code applies.
    pub fn read(value: Value) -> Result<PullRequestJson, String> {
        if !value.is_object() {
            return Err("it is not a JSON object".into());
        }
        crate::json::typed(value)
    }

    /// The model: labels by name, the head and base commits checked to be commit ids (they go
    /// into status URLs and diff ranges). `number` is kept as given (zero is taken as none);
    /// the caller decides whether it must match one it knows.
    pub fn into_model(self, body_source: String) -> Result<PullRequest, String> {
        let sha = |side: &str, branch: Option<BranchJson>| match branch.and_then(|b| b.sha) {
            None => Ok(None),
            Some(s) if valid_sha(&s) => Ok(Some(s)),
            Some(_) => Err(format!("`{side}.sha` is not a commit id")),
        };
        Ok(PullRequest {
            number: self.number.filter(|n| *n > 0),
            body: self.body,
            body_source,
            labels: self
                .labels
                .unwrap_or_default()
                .into_iter()
                .map(|l| l.name)
                .collect(),
            head_sha: sha("head", self.head)?,
            base_sha: sha("base", self.base)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: Value) -> Result<PullRequest, String> {
        PullRequestJson::read(v)?.into_model("t".into())
    }

    #[test]
    fn reads_the_fields_the_gates_use_and_ignores_the_rest() {
        let pr = read(json!({
            "number": 7, "body": "b", "title": "ignored",
            "labels": [{"name": "tier/full", "color": "fff"}],
            "head": {"sha": "a".repeat(40), "ref": "x"}, "base": {"sha": "b".repeat(64)}
        }))
        .unwrap();
        assert_eq!(pr.number, Some(7));
        assert_eq!(pr.body.as_deref(), Some("b"));
        assert_eq!(pr.labels, vec!["tier/full"]);
        assert_eq!(pr.head_sha, Some("a".repeat(40)));
        assert_eq!(pr.base_sha, Some("b".repeat(64)));
        let empty = read(json!({"body": null, "labels": null})).unwrap();
        assert_eq!(
            (empty.number, empty.body, empty.head_sha),
            (None, None, None)
        );
    }

    #[test]
    fn a_pull_request_numbered_zero_has_no_number() {
        // Forgejo numbers pull requests from 1; a zero must never match `--pr 0`.
        assert_eq!(read(json!({"number": 0})).unwrap().number, None);
        assert_eq!(read(json!({"number": 1})).unwrap().number, Some(1));
    }

    #[test]
    fn a_field_of_the_wrong_type_is_named() {
        for (doc, said) in [
            (json!({"body": 5}), "`body`"),
            (json!({"labels": [{"name": 1}]}), "`labels[0].name`"),
            (json!({"labels": "a,b"}), "`labels`"),
            (json!({"number": -1}), "`number`"),
            (
                json!({"head": {"sha": "../../x"}}),
                "`head.sha` is not a commit id",
            ),
            (json!({"base": {"sha": 7}}), "`base.sha`"),
            (json!([1]), "not a JSON object"),
        ] {
            let e = read(doc.clone()).unwrap_err();
            assert!(e.contains(said), "{doc}: {e}");
        }
    }

    #[test]
    fn commit_ids_are_40_or_64_hex_digits() {
        assert!(valid_sha(&"0".repeat(40)) && valid_sha(&"f".repeat(64)));
        for bad in ["", "abc", &"g".repeat(40), &"a".repeat(41)] {
            assert!(!valid_sha(bad), "{bad}");
        }
    }
}
