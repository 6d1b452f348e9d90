//! `canary_required` flags and glue: three ways in (files, the `pull_request` event payload,
//! the Forgejo API), the base branch's policy, reporting to a commit status and one comment,
//! and the `collect-diff` step that hands the file list to the canary job.

use super::{CommonArgs, Emitted, finish, usage};
use crate::canary::codes::BODY_TOO_LARGE;
#[cfg(feature = "forgejo-api")]
use crate::canary::codes::{
    API_CONFIG, COMMENT_POST_FAILED, COMMENT_POSTED, STATUS_POST_FAILED, STATUS_POSTED,
};
use crate::canary::{self, PullRequest, files};
use crate::env::Env;
#[cfg(feature = "forgejo-api")]
use crate::env::runner_var;
use crate::model::event;
use crate::policy::LoadedPolicy;
use crate::report::{Decision, Gate, GateError, InputDigest, general};
use clap::Parser;
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Debug, Parser)]
#[command(
    name = "canary_required",
    version = crate::version::LONG,
    about = "Does this pull request carry the canary context pack that its paths and labels require?",
    after_help = super::AFTER_HELP,
    args_conflicts_with_subcommands = true
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub check: CheckArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Write the pull request's changed files (NUL-terminated, like `git diff -z`) for a later
    /// `--changed-files`, and optionally the base branch's policy for a later `--policy`.
    CollectDiff(CollectArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// The pull-request body, a Markdown file (`-` for stdin).
    #[arg(long, value_name = "FILE|-", conflicts_with_all = ["from_event", "forgejo"])]
    pub body: Option<PathBuf>,
    /// The pull request's labels, comma-separated.
    #[arg(long, value_name = "a,b", conflicts_with_all = ["from_event", "forgejo"], allow_hyphen_values = true)]
    pub labels: Option<String>,
    /// Changed files (`-` for stdin) as `git diff -z --name-only` writes them (NUL-terminated;
    /// also what `collect-diff` writes), or one per line as `git diff --name-only` writes them
    /// (quoted paths decoded).
    #[arg(long, value_name = "FILE|-", conflicts_with = "git_diff")]
    pub changed_files: Option<PathBuf>,
    /// Changed files from `git diff -z --name-status RANGE` (e.g. BASE...HEAD); renames count
    /// both paths.
    #[arg(long, value_name = "BASE...HEAD")]
    pub git_diff: Option<String>,
    /// Read the body, labels, number and head commit from the pull_request event payload
    /// [default path: $GITHUB_EVENT_PATH, else $FORGEJO_EVENT_PATH].
    #[arg(long, value_name = "PATH", num_args = 0..=1)]
    pub from_event: Option<Option<PathBuf>>,
    /// Read the pull request (and, without --changed-files/--git-diff, its changed files)
    /// from the Forgejo REST API. Token only from FORGEJO_TOKEN or GITHUB_TOKEN.
    #[arg(long)]
    pub forgejo: bool,
    /// API base URL [default: $GITHUB_API_URL, else $FORGEJO_API_URL].
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
    /// Pull-request number [default: from the event].
    #[arg(long, value_name = "N")]
    pub pr: Option<u64>,
    /// Seconds before an API call is abandoned (not retried).
    #[arg(long, value_name = "SECS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub api_timeout: u64,
    /// Retries after a server error or a connection failure (at most 5), with backoff.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=5))]
    pub api_retries: u32,
    /// Read the policy as it is on this commit (`git show REV:.forgejo/gates.yml`), i.e. the
    /// base branch [default in event/API mode: the pull request's base commit]. In files mode
    /// under a pull-request event, this or --policy is required.
    #[arg(
        long,
        visible_alias = "base-ref",
        value_name = "REV",
        conflicts_with = "policy"
    )]
    pub policy_from_ref: Option<String>,
    /// The git checkout for --git-diff and --policy-from-ref.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub repo_dir: PathBuf,
    /// Set a commit status (success/failure) on the head commit. Needs --forgejo.
    #[arg(long, requires = "forgejo")]
    pub post_status: bool,
    /// The commit-status context [default: policy canary.status_context].
    #[arg(long, value_name = "CONTEXT")]
    pub status_context: Option<String>,
    /// The status's and comment's link [default: $GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_NUMBER].
    #[arg(long, value_name = "URL")]
    pub target_url: Option<String>,
    /// Keep one pull-request comment up to date with what is missing. Needs --forgejo.
    #[arg(long, requires = "forgejo")]
    pub comment: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Clone, clap::Args)]
pub struct CollectArgs {
    /// The range to diff [default with --from-event: base.sha...head.sha from the event].
    #[arg(long, value_name = "BASE...HEAD")]
    pub git_diff: Option<String>,
    /// Take the range from the pull_request event payload.
    #[arg(long, value_name = "PATH", num_args = 0..=1)]
    pub from_event: Option<Option<PathBuf>>,
    /// Where to write the list (NUL-terminated paths, like `git diff -z --name-only`).
    #[arg(long, value_name = "FILE")]
    pub output: PathBuf,
    /// Also write the policy as it is on this commit (the base) to --policy-output.
    #[arg(long, value_name = "REV", requires = "policy_output")]
    pub policy_from_ref: Option<String>,
    /// Where to write the base branch's policy (for the canary job's --policy).
    #[arg(long, value_name = "FILE", requires = "policy_from_ref")]
    pub policy_output: Option<PathBuf>,
    /// The git checkout.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub repo_dir: PathBuf,
    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run(args: &Args, env: &dyn Env) -> Emitted {
    match &args.command {
        Some(Command::CollectDiff(c)) => collect(c, env),
        None => check(&args.check, env),
    }
}

/// The `collect-diff` step.
fn collect(args: &CollectArgs, env: &dyn Env) -> Emitted {
    let gate = Gate::CanaryRequired;
    match collect_inner(args, env) {
        Ok(text) => Emitted {
            stdout: text,
            stderr: String::new(),
            exit: crate::report::exit::PASS,
        },
        Err(e) => finish(gate, Err(e), &args.common, false, env),
    }
}

fn collect_inner(args: &CollectArgs, env: &dyn Env) -> Result<String, GateError> {
    let range = match (&args.git_diff, &args.from_event) {
        (Some(r), None) => r.clone(),
        (None, Some(p)) => {
            let pr = pr_from_event(p.as_deref(), env)?.0;
            match (&pr.base_sha, &pr.head_sha) {
                (Some(b), Some(h)) => format!("{b}...{h}"),
                _ => {
                    return Err(GateError::new(
                        &general::EVENT_INVALID,
                        "the event has no pull_request.base.sha and head.sha to diff",
                    ));
                }
            }
        }
        _ => {
            return Err(GateError::new(
                &general::USAGE,
                "collect-diff needs exactly one of --git-diff BASE...HEAD or --from-event",
            ));
        }
    };
    let (list, _) = files::git_diff(&args.repo_dir, &range)?;
    let text = files::render_list(&list)?;
    write_file(&args.output, text.as_bytes())?;
    let mut out = format!(
        "canary_required collect-diff: wrote {} changed path(s) from git diff {} to {}\n",
        list.len(),
        crate::render::text::clean(&range),
        args.output.display()
    );
    if let (Some(rev), Some(path)) = (&args.policy_from_ref, &args.policy_output) {
        let bytes = files::policy_bytes_from_ref(&args.repo_dir, rev)?;
        // Refuse to hand on a policy the canary job could not read.
        crate::policy::parse(&String::from_utf8_lossy(&bytes), rev)?;
        write_file(path, &bytes)?;
        out.push_str(&format!(
            "canary_required collect-diff: wrote the policy of {} to {}\n",
            crate::render::text::clean(rev),
            path.display()
        ));
    }
    Ok(out)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), GateError> {
    std::fs::write(path, bytes).map_err(|e| {
        GateError::new(
            &general::IO,
            format!("cannot write {}: {e}", path.display()),
        )
    })
}

/// The check.
fn check(args: &CheckArgs, env: &dyn Env) -> Emitted {
    let gate = Gate::CanaryRequired;
    let api_mode = args.forgejo;
    if !api_mode && args.from_event.is_none() && args.body.is_none() {
        return usage(
            gate,
            "no pull-request body: pass --body FILE, --from-event or --forgejo",
            &args.common,
            env,
        );
    }
    if args.changed_files.is_none() && args.git_diff.is_none() && !api_mode {
        return usage(
            gate,
            "no changed files: pass --changed-files FILE, --git-diff BASE...HEAD or --forgejo",
            &args.common,
            env,
        );
    }
    if args
        .status_context
        .as_deref()
        .is_some_and(|c| c.trim().is_empty() || c.len() > 255)
    {
        return usage(
            gate,
            "--status-context must be 1 to 255 characters",
            &args.common,
            env,
        );
    }
    #[cfg(not(feature = "forgejo-api"))]
    if api_mode {
        return usage(
            gate,
            "--forgejo: this build has no Forgejo API support (feature `forgejo-api`)",
            &args.common,
            env,
        );
    }
    let result = evaluate(args, env);
    finish(gate, result, &args.common, false, env)
}

/// Labels from `--labels a,b`: trimmed, empty items dropped.
pub fn split_labels(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The pull request from a `pull_request` event payload.
pub fn pr_from_event(
    explicit: Option<&Path>,
    env: &dyn Env,
) -> Result<(PullRequest, InputDigest), GateError> {
    let path = event::resolve_path(explicit, env)?;
    let payload = event::load(&path)?;
    let bad = |m: String| GateError::new(&general::EVENT_INVALID, m);
    let Some(pr) = payload.value.get("pull_request").filter(|v| v.is_object()) else {
        return Err(bad(format!(
            "{} has no `pull_request` object: it is not a pull_request event payload",
            payload.digest.source
        )));
    };
    let number = match pr.get("number").or_else(|| payload.value.get("number")) {
        Some(Value::Number(n)) => n.as_u64().filter(|n| *n > 0),
        _ => None,
    };
    let Some(number) = number else {
        return Err(bad(
            "the event's pull_request.number is missing or not a positive integer".into(),
        ));
    };
    let body = match pr.get("body") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(bad("the event's pull_request.body is not a string".into())),
    };
    let labels = match pr.get("labels") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for l in items {
                match l.get("name") {
                    Some(Value::String(s)) => out.push(s.clone()),
                    _ => return Err(bad("a label in the event has no string `name`".into())),
                }
            }
            out
        }
        Some(_) => return Err(bad("the event's pull_request.labels is not a list".into())),
    };
    let sha = |side: &str| -> Result<Option<String>, GateError> {
        match pr.get(side).and_then(|s| s.get("sha")) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if canary::valid_sha(s) => Ok(Some(s.clone())),
            Some(_) => Err(bad(format!(
                "the event's pull_request.{side}.sha is not a commit id"
            ))),
        }
    };
    let head_sha = sha("head")?;
    let base_sha = sha("base")?;
    Ok((
        PullRequest {
            number: Some(number),
            body,
            body_source: "event:pull_request.body".into(),
            labels,
            head_sha,
            base_sha,
        },
        payload.digest,
    ))
}

fn read_body(path: &Path, limit: u64) -> Result<(String, InputDigest), GateError> {
    let bytes = crate::input::read_limited(path, limit, "pull-request body").map_err(|e| {
        if std::ptr::eq(e.code, &general::TOO_LARGE) {
            GateError::new(&BODY_TOO_LARGE, e.message)
        } else {
            e
        }
    })?;
    let digest = InputDigest::of("body", path.display().to_string(), &bytes);
    let text = crate::input::utf8(bytes, "pull-request body", &path.display().to_string())?;
    Ok((text, digest))
}

fn load_policy(
    args: &CheckArgs,
    env: &dyn Env,
    base_sha: Option<&str>,
    pr_mode: bool,
) -> Result<LoadedPolicy, GateError> {
    if let Some(rev) = &args.policy_from_ref {
        return files::policy_from_ref(&args.repo_dir, rev);
    }
    if args.common.policy.is_none()
        && !pr_mode
        && let Some(event) = crate::env::pull_request_event(env)?
    {
        // Files mode in a pull-request job: the checkout is the branch under review.
        return Err(GateError::new(
            &general::USAGE,
            format!(
                "under a `{event}` event the rules must come from the base branch, not the working tree (the branch under review): pass --base-ref BASE (reads .forgejo/gates.yml from that commit) or --policy FILE written from the base (collect-diff --policy-output)"
            ),
        ));
    }
    if args.common.policy.is_some() || !pr_mode {
        return crate::policy::load(args.common.policy.as_deref(), &args.repo_dir);
    }
    // Event or API mode: the working tree is the PR's head, so its policy file is never used.
    match base_sha {
        Some(sha) => files::policy_from_ref(&args.repo_dir, sha),
        None => Err(GateError::new(
            &general::USAGE,
            "the pull request's base commit is unknown, so the base branch's policy cannot be read: pass --policy-from-ref BASE or --policy FILE (written from the base branch)",
        )),
    }
}

#[cfg(feature = "forgejo-api")]
fn client(args: &CheckArgs, env: &dyn Env) -> Result<crate::forgejo::Client, GateError> {
    let api_url = match &args.api_url {
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
    let token = runner_var(env, "TOKEN")?.map(crate::forgejo::Token::new);
    crate::forgejo::Client::new(crate::forgejo::Config {
        api_url,
        repository,
        token,
        timeout: std::time::Duration::from_secs(args.api_timeout),
        retries: args.api_retries,
        backoff: std::time::Duration::from_millis(200),
    })
}

/// What a run has learnt so far that reporting needs, kept for when it cannot finish: the
/// client, the pull request's number and head commit, and the status context of the policy.
#[derive(Default)]
struct Known {
    #[cfg(feature = "forgejo-api")]
    client: Option<crate::forgejo::Client>,
    number: Option<u64>,
    head_sha: Option<String>,
    status_context: Option<String>,
}

fn evaluate(args: &CheckArgs, env: &dyn Env) -> Result<Decision, GateError> {
    let mut known = Known::default();
    let result = evaluate_known(args, env, &mut known);
    #[cfg(feature = "forgejo-api")]
    if let Err(e) = result {
        return Err(report_error(args, env, &known, e));
    }
    result
}

fn evaluate_known(
    args: &CheckArgs,
    env: &dyn Env,
    known: &mut Known,
) -> Result<Decision, GateError> {
    let now = crate::clock::now_or(args.common.now.as_deref())?;
    let mut inputs: Vec<InputDigest> = Vec::new();
    let pr_mode = args.from_event.is_some() || args.forgejo;

    // The pull request: event, then API (fresher), or the files given.
    let mut pr = PullRequest::default();
    if let Some(p) = &args.from_event {
        let (from_event, digest) = pr_from_event(p.as_deref(), env)?;
        inputs.push(digest);
        if let (Some(flag), Some(ev)) = (args.pr, from_event.number)
            && flag != ev
        {
            return Err(GateError::new(
                &general::USAGE,
                format!("--pr {flag} and the event's pull request #{ev} disagree"),
            ));
        }
        pr = from_event;
        known.number = pr.number;
        known.head_sha = pr.head_sha.clone();
    }
    #[cfg(feature = "forgejo-api")]
    if args.forgejo {
        let number = args.pr.or(pr.number).ok_or_else(|| {
            GateError::new(
                &API_CONFIG,
                "--forgejo needs the pull-request number: pass --pr N or --from-event",
            )
        })?;
        known.number = Some(number);
        let c = known.client.insert(client(args, env)?);
        let (from_api, digest) = c.pull(number)?;
        inputs.push(digest);
        pr = from_api;
        known.head_sha = pr.head_sha.clone().or(known.head_sha.take());
    }
    #[cfg(feature = "forgejo-api")]
    let api = known.client.as_ref();

    let policy = load_policy(args, env, pr.base_sha.as_deref(), pr_mode)?;
    known.status_context = Some(policy.policy.canary.status_context.clone());
    let limit = policy.policy.canary.max_body_bytes;
    if let Some(path) = &args.body {
        let (text, digest) = read_body(path, limit)?;
        inputs.push(digest);
        pr.body = Some(text);
        pr.body_source = path.display().to_string();
    }
    if let Some(labels) = &args.labels {
        pr.labels = split_labels(labels);
    }

    // The changed files.
    let changed: Vec<String> = if let Some(path) = &args.changed_files {
        let bytes = crate::input::read_limited(
            path,
            crate::gates::pr_scope::MAX_CHANGED_FILES_BYTES,
            "changed-files list",
        )?;
        inputs.push(InputDigest::of(
            "changed_files",
            path.display().to_string(),
            &bytes,
        ));
        crate::gates::changed_files::parse(&bytes)?
    } else if let Some(range) = &args.git_diff {
        let (list, digest) = files::git_diff(&args.repo_dir, range)?;
        inputs.push(digest);
        list
    } else {
        #[cfg(feature = "forgejo-api")]
        {
            match (api, pr.number) {
                (Some(c), Some(n)) => {
                    let (list, digest) = c.pull_files(n)?;
                    inputs.push(digest);
                    list
                }
                _ => {
                    return Err(GateError::new(
                        &general::USAGE,
                        "no changed files: pass --changed-files FILE, --git-diff BASE...HEAD or --forgejo",
                    ));
                }
            }
        }
        #[cfg(not(feature = "forgejo-api"))]
        {
            return Err(GateError::new(
                &general::USAGE,
                "no changed files: pass --changed-files FILE or --git-diff BASE...HEAD",
            ));
        }
    };

    // The touched modules' classes, from the base (and the head where it changes a manifest).
    let (base_tree, head_tree) = evidence_trees(args, &pr);
    let (modules, manifest_digests) = canary::manifests::classify(
        &changed,
        &policy.policy.canary.evidence,
        &base_tree,
        head_tree.as_ref(),
    )?;
    inputs.extend(manifest_digests);

    #[allow(unused_mut)]
    let mut decision = canary::evaluate(&canary::Request {
        policy: &policy,
        pr: &pr,
        changed_files: &changed,
        modules: &modules,
        inputs,
        now,
    })?;

    #[cfg(feature = "forgejo-api")]
    if let Some(c) = api {
        report(args, env, c, &pr, &policy, &mut decision);
    }
    Ok(decision)
}

/// Where the module manifests are read for the evidence rule. The base: the pull request's
/// base commit (event or API), else `--policy-from-ref`, else the left side of `--git-diff`,
/// else (files mode, local use) the working tree. The head, read only where the pull request
/// changes a manifest: its head commit, else the right side of `--git-diff`, else the working
/// tree.
fn evidence_trees(
    args: &CheckArgs,
    pr: &PullRequest,
) -> (canary::manifests::Tree, Option<canary::manifests::Tree>) {
    use canary::manifests::Tree;
    let repo = args.repo_dir.clone();
    let commit = |rev: &str| Tree::Commit {
        repo: repo.clone(),
        rev: if rev.is_empty() {
            "HEAD".to_string()
        } else {
            rev.to_string()
        },
    };
    let sides = args
        .git_diff
        .as_deref()
        .and_then(|range| range.split_once("...").or_else(|| range.split_once("..")));
    let base = match (&pr.base_sha, &args.policy_from_ref, sides) {
        (Some(sha), _, _) => commit(sha),
        (None, Some(rev), _) => commit(rev),
        (None, None, Some((left, _))) => commit(left),
        (None, None, None) => Tree::WorkTree { repo: repo.clone() },
    };
    let head = match (&pr.head_sha, sides) {
        (Some(sha), _) => commit(sha),
        (None, Some((_, right))) => commit(right),
        (None, None) => Tree::WorkTree { repo: repo.clone() },
    };
    (base, Some(head))
}

/// Post the commit status and the comment. A failure here is reported; the result stands.
#[cfg(feature = "forgejo-api")]
fn report(
    args: &CheckArgs,
    env: &dyn Env,
    c: &crate::forgejo::Client,
    pr: &PullRequest,
    policy: &LoadedPolicy,
    d: &mut Decision,
) {
    use crate::canary::comment;
    use crate::report::Reason;
    let target = args.target_url.clone().or_else(|| run_url(env));
    if args.post_status {
        let context = args
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
                target.as_deref(),
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
    if args.comment {
        let result = match pr.number {
            Some(n) => c.own_user_id().and_then(|me| {
                c.upsert_comment(
                    n,
                    me,
                    comment::MARKER,
                    &comment::comment_body(d, target.as_deref()),
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
                    crate::forgejo::CommentAction::Created(id) => format!("created comment {id}"),
                    crate::forgejo::CommentAction::Updated(id) => format!("updated comment {id}"),
                    crate::forgejo::CommentAction::Skipped => {
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

/// The run could not evaluate: with `--post-status`, set `error` on the head commit (so an
/// earlier `success` never stands), and with `--comment`, say so in the gate's comment. What
/// was done is added to the error's details; the error itself stands.
#[cfg(feature = "forgejo-api")]
fn report_error(args: &CheckArgs, env: &dyn Env, known: &Known, mut e: GateError) -> GateError {
    use crate::canary::comment;
    let Some(c) = &known.client else {
        if args.post_status || args.comment {
            e.details.push(
                "nothing was posted: the API client could not be set up; the job's own failure is the signal".into(),
            );
        }
        return e;
    };
    let target = args.target_url.clone().or_else(|| run_url(env));
    if args.post_status {
        let context = args
            .status_context
            .clone()
            .or_else(|| known.status_context.clone())
            .unwrap_or_else(|| LoadedPolicy::builtin().policy.canary.status_context);
        match &known.head_sha {
            Some(sha) => match c.post_status(
                sha,
                "error",
                &context,
                &comment::error_description(&e),
                target.as_deref(),
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
    if args.comment {
        let result = match known.number {
            Some(n) => c.own_user_id().and_then(|me| {
                c.upsert_comment(
                    n,
                    me,
                    comment::MARKER,
                    &comment::error_body(&e, target.as_deref()),
                    true,
                )
            }),
            None => Err(GateError::new(
                &API_CONFIG,
                "the pull-request number is unknown",
            )),
        };
        match result {
            Ok(crate::forgejo::CommentAction::Created(id)) => {
                e.details.push(format!("created comment {id} saying so"))
            }
            Ok(crate::forgejo::CommentAction::Updated(id)) => {
                e.details.push(format!("updated comment {id} to say so"))
            }
            Ok(crate::forgejo::CommentAction::Skipped) => {}
            Err(ce) => e.details.push(format!(
                "could not update the pull-request comment: [{}] {}",
                ce.code.id, ce.message
            )),
        }
    }
    e
}

/// The job's page: `$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_NUMBER`
/// (Forgejo's web UI addresses runs by number; `RUN_ID` is the fallback).
#[cfg(feature = "forgejo-api")]
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
