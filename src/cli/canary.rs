//! `canary_required` flags: three ways in (files, the `pull_request` event payload, the
//! Forgejo API), reporting to a commit status and one comment, and the `collect-diff` step
//! that hands the file list to the canary job. The flags become options for one library call
//! ([`crate::canary::run`]); this file only renders what it returns.

use super::{CommonArgs, finish, usage};
use crate::canary::api_options::ApiOptions;
use crate::canary::run::{self as canary_run, CheckOptions, CollectOptions};
use crate::emit::Emitted;
use crate::env::Env;
use crate::report::Gate;
use clap::Parser;
use std::path::PathBuf;

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
    let opts = CollectOptions {
        git_diff: args.git_diff.clone(),
        from_event: args.from_event.clone(),
        output: args.output.clone(),
        policy_from_ref: args.policy_from_ref.clone(),
        policy_output: args.policy_output.clone(),
        repo_dir: args.repo_dir.clone(),
    };
    match canary_run::collect_diff(&opts, env) {
        Ok(done) => {
            let mut text = format!(
                "canary_required collect-diff: wrote {} changed path(s) from git diff {} to {}\n",
                done.paths,
                crate::render::text::clean(&done.range),
                args.output.display()
            );
            if let Some((rev, path)) = &done.policy {
                text.push_str(&format!(
                    "canary_required collect-diff: wrote the policy of {} to {}\n",
                    crate::render::text::clean(rev),
                    path.display()
                ));
            }
            Emitted {
                stdout: text,
                stderr: String::new(),
                exit: crate::report::exit::PASS,
            }
        }
        Err(e) => finish(Gate::CanaryRequired, Err(e), &args.common, false, env),
    }
}

/// The check: flags that cannot work together are usage errors; the rest is one library call.
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
    let result = canary_run::check(&options(args), env);
    finish(gate, result, &args.common, false, env)
}

/// The flags as the library's options.
fn options(args: &CheckArgs) -> CheckOptions {
    CheckOptions {
        body: args.body.clone(),
        labels: args.labels.as_deref().map(canary_run::split_labels),
        changed_files: args.changed_files.clone(),
        git_diff: args.git_diff.clone(),
        from_event: args.from_event.clone(),
        forgejo: args.forgejo,
        api: ApiOptions {
            url: args.api_url.clone(),
            timeout: std::time::Duration::from_secs(args.api_timeout),
            retries: args.api_retries,
            post_status: args.post_status,
            status_context: args.status_context.clone(),
            target_url: args.target_url.clone(),
            comment: args.comment,
        },
        pr: args.pr,
        policy_from_ref: args.policy_from_ref.clone(),
        policy: args.common.policy.clone(),
        repo_dir: args.repo_dir.clone(),
        now: args.common.now.clone(),
    }
}
