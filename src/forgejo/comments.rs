//! The gate's one comment on the pull request: `GET /user` (whose comments the gate may
//! edit), `GET`/`POST /repos/{owner}/{repo}/issues/{index}/comments` and
//! `PATCH /repos/{owner}/{repo}/issues/comments/{id}`.

use super::client::Client;
use super::codes::API_BAD_RESPONSE;
use super::endpoints::Endpoint;
use crate::report::GateError;
use serde::{Deserialize, Serialize};

/// What `upsert_comment` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentAction {
    Created(u64),
    Updated(u64),
    /// Nothing to say and no earlier comment to update.
    Skipped,
}

/// Forgejo's `User`: only the id is read.
#[derive(Debug, Deserialize)]
struct UserJson {
    id: i64,
}

/// Forgejo's `Comment`: who wrote it, what it says, and its id (to edit it).
#[derive(Debug, Deserialize)]
struct CommentJson {
    id: Option<i64>,
    body: Option<String>,
    user: Option<AuthorJson>,
}

/// The `user` of a comment; a comment without one is nobody's (never edited).
#[derive(Debug, Deserialize)]
struct AuthorJson {
    id: Option<i64>,
}

/// The answer to creating a comment: its id.
#[derive(Debug, Deserialize)]
struct CreatedJson {
    id: u64,
}

/// Forgejo's `CreateIssueCommentOption` and `EditIssueCommentOption`.
#[derive(Serialize)]
struct CommentBody<'a> {
    body: &'a str,
}

impl Client {
    /// The id of the token's own account (in a Forgejo Actions job, the actions user). Only
    /// comments written by this account are ever edited.
    pub fn own_user_id(&self) -> Result<i64, GateError> {
        let what = "the token's own account (GET /user)";
        let a = self.send(
            Endpoint::GetUser,
            &self.path(Endpoint::GetUser, &[]),
            None,
            "the token's account",
            "read access to the user's own profile",
        )?;
        let user: UserJson = self.decode(what, &a.body)?;
        Ok(user.id)
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
        let comments: Vec<CommentJson> = self.decode(&what, &a.body)?;
        let ours = comments.iter().find(|c| {
            c.user.as_ref().and_then(|u| u.id) == Some(own_id)
                && c.body
                    .as_deref()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with(marker)
        });
        let ours = match ours {
            None => None,
            Some(c) => Some(c.id.and_then(|id| u64::try_from(id).ok()).ok_or_else(|| {
                GateError::new(
                    &API_BAD_RESPONSE,
                    format!("{what}: a comment has no numeric `id`"),
                )
            })?),
        };
        let payload = serde_json::to_vec(&CommentBody { body }).unwrap_or_default();
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
                let created: CreatedJson = self.decode(&what, &a.body)?;
                Ok(CommentAction::Created(created.id))
            }
        }
    }
}
