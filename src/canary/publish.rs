//! Reporting a run on Forgejo: the commit status on the head commit and the gate's one
//! comment, for a decision ([`report`]) and for a run that could not evaluate
//! ([`report_error`], the status `error`, so that an earlier `success` never stands). A
//! failure to post is added to what is reported; the result itself stands.

use super::PullRequest;
use super::api_options::ApiOptions;
use super::codes::{COMMENT_POST_FAILED, COMMENT_POSTED, STATUS_POST_FAILED, STATUS_POSTED};
use super::comment;
use crate::env::{Env, runner_var};
use crate::forgejo::codes::API_CONFIG;
use crate::forgejo::{Client, CommentAction, Config, Token};
use crate::policy::LoadedPolicy;
use crate::report::{Decision, GateError, Reason};

/// The client for this run: the API URL from the options or the runner, the repository and
/// the token from the runner (the token never from a flag).
pub fn client(api: &ApiOptions, env: &dyn Env) -> Result<Client, GateError> {
    let api_url = match &api.url {
        Some(u) => u.clone(),
        None => runner_var(env, "API_URL")?.ok_or_else(|| {
            GateError::new(
                &API_CONFIG,
                "no API URL: pass --api-url or set GITHUB_API_URL / FORGEJO_API_URL",
            )
        })?,
    };
    let repository = runner_var(env, "REPOSITORY")?.ok_or_else(|| {
        GateError::new(
            &API_CONFIG,
            "no repository: GITHUB_REPOSITORY / FORGEJO_REPOSITORY is not set",
        )
    })?;
    let token = runner_var(env, "TOKEN")?.map(Token::new);
    Client::new(Config {
        api_url,
        repository,
        token,
        timeout: api.timeout,
        retries: api.retries,
        backoff: std::time::Duration::from_millis(200),
    })
}

/// The link of the status and the comment: the one given, else the job's page.
pub fn target_url(api: &ApiOptions, env: &dyn Env) -> Option<String> {
    api.target_url.clone().or_else(|| run_url(env))
}

/// The job's page: `$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_NUMBER`
/// (Forgejo's web UI addresses runs by number; `RUN_ID` is the fallback).
fn run_url(env: &dyn Env) -> Option<String> {
    let server = runner_var(env, "SERVER_URL").ok()??;
    let repo = runner_var(env, "REPOSITORY").ok()??;
    let run = runner_var(env, "RUN_NUMBER")
        .ok()
        .flatten()
        .or_else(|| runner_var(env, "RUN_ID").ok().flatten())?;
    if !run.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(format!(
        "{}/{repo}/actions/runs/{run}",
        server.trim_end_matches('/')
    ))
}

/// Post the commit status and the comment for decision `d`; what was done (or could not be)
/// is added to it as reasons and facts.
pub fn report(
    c: &Client,
    api: &ApiOptions,
    target: Option<&str>,
    pr: &PullRequest,
    policy: &LoadedPolicy,
    d: &mut Decision,
) {
    if api.post_status {
        let context = api
            .status_context
            .clone()
            .unwrap_or_else(|| policy.policy.canary.status_context.clone());
        let state = comment::status_state(d);
        let result = match &pr.head_sha {
            Some(sha) => c.post_status(
                sha,
                state,
                &context,
                &comment::status_description(d),
                target,
            ),
            None => Err(GateError::new(
                &API_CONFIG,
                "the pull request's head commit is unknown",
            )),
        };
        match result {
            Ok(()) => {
                d.fact("status_posted", state);
                d.push(Reason::new(
                    &STATUS_POSTED,
                    format!("commit status `{context}` set to {state}"),
                ));
            }
            Err(e) => {
                d.fact("status_posted", "no");
                d.push(Reason::new(
                    &STATUS_POST_FAILED,
                    format!(
                        "could not set the commit status: [{}] {}",
                        e.code.id, e.message
                    ),
                ));
            }
        }
    }
    if api.comment {
        let result = match pr.number {
            Some(n) => c.own_user_id().and_then(|me| {
                c.upsert_comment(
                    n,
                    me,
                    comment::MARKER,
                    &comment::comment_body(d, target),
                    d.has_errors(),
                )
            }),
            None => Err(GateError::new(
                &API_CONFIG,
                "the pull-request number is unknown",
            )),
        };
        match result {
            Ok(action) => {
                let what = match action {
                    CommentAction::Created(id) => format!("created comment {id}"),
                    CommentAction::Updated(id) => format!("updated comment {id}"),
                    CommentAction::Skipped => {
                        "nothing to comment and no earlier comment to update".to_string()
                    }
                };
                d.fact("comment", what.clone());
                d.push(Reason::new(&COMMENT_POSTED, what));
            }
            Err(e) => {
                d.fact("comment", "failed");
                d.push(Reason::new(
                    &COMMENT_POST_FAILED,
                    format!(
                        "could not update the pull-request comment: [{}] {}",
                        e.code.id, e.message
                    ),
                ));
            }
        }
    }
}

/// The run could not evaluate and no client could be set up: nothing is posted, and with
/// `--post-status` or `--comment` the error says so.
pub fn unreported(api: &ApiOptions, mut e: GateError) -> GateError {
    if api.post_status || api.comment {
        e.details.push(
            "nothing was posted: the API client could not be set up; the job's own failure is the signal".into(),
        );
    }
    e
}

/// The run could not evaluate: with `--post-status`, set `error` on the head commit (so an
/// earlier `success` never stands), and with `--comment`, say so in the gate's comment. What
/// was done is added to the error's details; the error itself stands. `context` is the
/// policy's status context when the policy was read.
pub fn report_error(
    c: &Client,
    api: &ApiOptions,
    target: Option<&str>,
    context: Option<&str>,
    number: Option<u64>,
    head_sha: Option<&str>,
    mut e: GateError,
) -> GateError {
    if api.post_status {
        let context = api
            .status_context
            .clone()
            .or_else(|| context.map(str::to_string))
            .unwrap_or_else(|| LoadedPolicy::builtin().policy.canary.status_context);
        match head_sha {
            Some(sha) => match c.post_status(
                sha,
                "error",
                &context,
                &comment::error_description(&e),
                target,
            ) {
                Ok(()) => e
                    .details
                    .push(format!("commit status `{context}` set to error on {sha}")),
                Err(pe) => e.details.push(format!(
                    "could not set the commit status `{context}` to error: [{}] {}",
                    pe.code.id, pe.message
                )),
            },
            None => e.details.push(format!(
                "commit status `{context}` not set: the head commit is unknown (pass --from-event so that it is known even when the API fails)"
            )),
        }
    }
    if api.comment {
        let result = match number {
            Some(n) => c.own_user_id().and_then(|me| {
                c.upsert_comment(
                    n,
                    me,
                    comment::MARKER,
                    &comment::error_body(&e, target),
                    true,
                )
            }),
            None => Err(GateError::new(
                &API_CONFIG,
                "the pull-request number is unknown",
            )),
        };
        match result {
            Ok(CommentAction::Created(id)) => {
                e.details.push(format!("created comment {id} saying so"))
            }
            Ok(CommentAction::Updated(id)) => {
                e.details.push(format!("updated comment {id} to say so"))
            }
            Ok(CommentAction::Skipped) => {}
            Err(ce) => e.details.push(format!(
                "could not update the pull-request comment: [{}] {}",
                ce.code.id, ce.message
            )),
        }
    }
    e
}
