//! One run of `canary_required`, as the binary asks for it: the pull request from the files
//! given, the `pull_request` event payload or the Forgejo API; the base branch's policy; the
//! changed files; the touched modules' classes; the decision; and, when asked, the commit
//! status and the comment that report it ([`super::publish`]). The binary only parses flags
//! into [`CheckOptions`], calls [`check`] and renders; the tests call [`check`] directly.

use super::api_options::ApiOptions;
use super::codes::{BODY_TOO_LARGE, GIT_FAILED};
use super::{files, manifests};
use crate::env::Env;
use crate::model::pull_request::PullRequest;
use crate::policy::LoadedPolicy;
use crate::report::{Decision, GateError, InputDigest, general};
use std::path::{Path, PathBuf};

/// What to check and where to report, as the flags say it.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// The body, a Markdown file (`-` for stdin).
    pub body: Option<PathBuf>,
    /// The labels (files mode), already split.
    pub labels: Option<Vec<String>>,
    /// The changed-files list (`git diff -z --name-only` or one per line).
    pub changed_files: Option<PathBuf>,
    /// `BASE...HEAD` for `git diff -z --name-status`.
    pub git_diff: Option<String>,
    /// Read the pull request from the event payload: `Some(None)` at the runner's path.
    pub from_event: Option<Option<PathBuf>>,
    /// Read the pull request (and, without a list, its files) from the Forgejo API.
    pub forgejo: bool,
    pub api: ApiOptions,
    /// The pull-request number (else the event's).
    pub pr: Option<u64>,
    /// Read the policy at this commit.
    pub policy_from_ref: Option<String>,
    /// The policy file.
    pub policy: Option<PathBuf>,
    /// The git checkout.
    pub repo_dir: PathBuf,
    /// The clock (RFC 3339), else the system's.
    pub now: Option<String>,
}

/// What `collect-diff` is asked to write.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    pub git_diff: Option<String>,
    pub from_event: Option<Option<PathBuf>>,
    pub output: PathBuf,
    pub policy_from_ref: Option<String>,
    pub policy_output: Option<PathBuf>,
    pub repo_dir: PathBuf,
}

/// What `collect-diff` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collected {
    pub range: String,
    pub paths: usize,
    /// The revision whose policy was written, and where.
    pub policy: Option<(String, PathBuf)>,
}

/// The `collect-diff` step: the pull request's changed files (NUL-terminated) for a later
/// `--changed-files`, and optionally the base branch's policy for a later `--policy`.
pub fn collect_diff(opts: &CollectOptions, env: &dyn Env) -> Result<Collected, GateError> {
    let range = match (&opts.git_diff, &opts.from_event) {
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
    let (list, _) = files::git_diff(&opts.repo_dir, &range)?;
    let text = files::render_list(&list)?;
    write_file(&opts.output, text.as_bytes())?;
    let mut policy = None;
    if let (Some(rev), Some(path)) = (&opts.policy_from_ref, &opts.policy_output) {
        let bytes = files::policy_bytes_from_ref(&opts.repo_dir, rev)?;
        // Refuse to hand on a policy the canary job could not read.
        crate::policy::parse(&String::from_utf8_lossy(&bytes), rev)?;
        write_file(path, &bytes)?;
        policy = Some((rev.clone(), path.clone()));
    }
    Ok(Collected {
        range,
        paths: list.len(),
        policy,
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), GateError> {
    std::fs::write(path, bytes).map_err(|e| {
        GateError::new(
            &general::IO,
            format!("cannot write {}: {e}", path.display()),
        )
    })
}

/// Labels from `--labels a,b`: split at commas and taken as written, like the event's and the
/// API's labels (an empty list is no label). Spaces around a label and empty items are kept,
/// so that `canary::labels::check` refuses them as it refuses them in a payload.
pub fn split_labels(s: &str) -> Vec<String> {
    if s.is_empty() {
        return Vec::new();
    }
    s.split(',').map(str::to_string).collect()
}

/// The pull request from a `pull_request` event payload (the runner's, unless `explicit`).
pub fn pr_from_event(
    explicit: Option<&Path>,
    env: &dyn Env,
) -> Result<(PullRequest, InputDigest), GateError> {
    let path = crate::model::event::resolve_path(explicit, env)?;
    let payload = crate::model::event::load(&path)?;
    let pr = payload.pull_request()?;
    Ok((pr, payload.digest))
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

/// The rules: `--policy-from-ref`, else `--policy`, else (files mode outside a pull-request
/// job) the working tree's, else (event or API mode) the pull request's base commit. The
/// branch under review never supplies its own rules.
fn load_policy(
    opts: &CheckOptions,
    env: &dyn Env,
    base_sha: Option<&str>,
    pr_mode: bool,
) -> Result<LoadedPolicy, GateError> {
    if let Some(rev) = &opts.policy_from_ref {
        return files::policy_from_ref(&opts.repo_dir, rev);
    }
    if opts.policy.is_none()
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
    if opts.policy.is_some() || !pr_mode {
        return crate::policy::load(opts.policy.as_deref(), &opts.repo_dir);
    }
    // Event or API mode: the working tree is the PR's head, so its policy file is never used.
    match base_sha {
        Some(sha) => files::policy_from_ref(&opts.repo_dir, sha),
        None => Err(GateError::new(
            &general::USAGE,
            "the pull request's base commit is unknown, so the base branch's policy cannot be read: pass --policy-from-ref BASE or --policy FILE (written from the base branch)",
        )),
    }
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

/// Check one pull request. Findings are in the decision; `Err` is "could not evaluate". With
/// `--post-status` or `--comment`, the outcome is reported on Forgejo either way (an error as
/// the status `error`, so that an earlier `success` never stands).
pub fn check(opts: &CheckOptions, env: &dyn Env) -> Result<Decision, GateError> {
    let mut known = Known::default();
    let result = check_known(opts, env, &mut known);
    #[cfg(feature = "forgejo-api")]
    if let Err(e) = result {
        let context = known.status_context.as_deref();
        let target = super::publish::target_url(&opts.api, env);
        return Err(match &known.client {
            Some(c) => super::publish::report_error(
                c,
                &opts.api,
                target.as_deref(),
                context,
                known.number,
                known.head_sha.as_deref(),
                e,
            ),
            None => super::publish::unreported(&opts.api, e),
        });
    }
    result
}

fn check_known(
    opts: &CheckOptions,
    env: &dyn Env,
    known: &mut Known,
) -> Result<Decision, GateError> {
    let now = crate::clock::now_or(opts.now.as_deref())?;
    let mut inputs: Vec<InputDigest> = Vec::new();
    let pr_mode = opts.from_event.is_some() || opts.forgejo;

    // The pull request: event, then API (fresher), or the files given.
    let mut pr = PullRequest::default();
    if let Some(p) = &opts.from_event {
        let (from_event, digest) = pr_from_event(p.as_deref(), env)?;
        inputs.push(digest);
        if let (Some(flag), Some(ev)) = (opts.pr, from_event.number)
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
    if opts.forgejo {
        let number = opts.pr.or(pr.number).ok_or_else(|| {
            GateError::new(
                &crate::forgejo::codes::API_CONFIG,
                "--forgejo needs the pull-request number: pass --pr N or --from-event",
            )
        })?;
        known.number = Some(number);
        let c = known.client.insert(super::publish::client(&opts.api, env)?);
        let (from_api, digest) = c.pull(number)?;
        inputs.push(digest);
        pr = from_api;
        known.head_sha = pr.head_sha.clone().or(known.head_sha.take());
    }
    #[cfg(not(feature = "forgejo-api"))]
    if opts.forgejo {
        return Err(GateError::new(
            &general::USAGE,
            "--forgejo: this build has no Forgejo API support (feature `forgejo-api`)",
        ));
    }

    let policy = load_policy(opts, env, pr.base_sha.as_deref(), pr_mode)?;
    known.status_context = Some(policy.policy.canary.status_context.clone());
    let limit = policy.policy.canary.max_body_bytes;
    if let Some(path) = &opts.body {
        let (text, digest) = read_body(path, limit)?;
        inputs.push(digest);
        pr.body = Some(text);
        pr.body_source = path.display().to_string();
    }
    if let Some(labels) = &opts.labels {
        pr.labels = labels.clone();
    }

    let mut changed = changed_files(opts, &pr, known, &mut inputs)?;

    // The touched modules' classes, from the base (and the head where it changes a manifest).
    let (base_tree, head_tree) = evidence_trees(opts, &pr);
    let modules_dir = &policy.policy.canary.evidence.modules_dir;
    if opts.changed_files.is_some() {
        no_module_vanished(&changed, modules_dir, &base_tree, head_tree.as_ref())?;
    }
    // A change that reaches a module through one of its symbolic links changes the module.
    let (reached, links_note) = through_module_links(
        &changed,
        modules_dir,
        &base_tree,
        head_tree.as_ref(),
        pr_mode,
    )?;
    changed.extend(reached.iter().map(|(link, _)| link.clone()));
    let (modules, manifest_digests) = manifests::classify(
        &changed,
        &policy.policy.canary.evidence,
        &base_tree,
        head_tree.as_ref(),
    )?;
    inputs.extend(manifest_digests);

    let mut decision = super::evaluate(&super::Request {
        policy: &policy,
        pr: &pr,
        changed_files: &changed,
        modules: &modules,
        inputs,
        now,
    })?;

    if !reached.is_empty() {
        let shown: Vec<String> = reached
            .iter()
            .map(|(link, path)| format!("{path} -> {link}"))
            .collect();
        decision.fact("through_links", shown.join(","));
    }
    if let Some(note) = links_note {
        decision.fact("links_read", note);
    }

    #[cfg(feature = "forgejo-api")]
    if let Some(c) = &known.client {
        let target = super::publish::target_url(&opts.api, env);
        super::publish::report(c, &opts.api, target.as_deref(), &pr, &policy, &mut decision);
    }
    Ok(decision)
}

/// The changed files: the list given, else `git diff`, else the API.
fn changed_files(
    opts: &CheckOptions,
    pr: &PullRequest,
    #[allow(unused_variables)] known: &Known,
    inputs: &mut Vec<InputDigest>,
) -> Result<Vec<String>, GateError> {
    if let Some(path) = &opts.changed_files {
        let bytes = crate::input::read_limited(
            path,
            crate::model::changed_files::MAX_CHANGED_FILES_BYTES,
            "changed-files list",
        )?;
        inputs.push(InputDigest::of(
            "changed_files",
            path.display().to_string(),
            &bytes,
        ));
        return crate::model::changed_files::parse(&bytes);
    }
    if let Some(range) = &opts.git_diff {
        let (list, digest) = files::git_diff(&opts.repo_dir, range)?;
        inputs.push(digest);
        return Ok(list);
    }
    #[cfg(feature = "forgejo-api")]
    if let (Some(c), Some(n)) = (&known.client, pr.number) {
        let (list, digest) = c.pull_files(n)?;
        inputs.push(digest);
        return Ok(list);
    }
    let _ = pr;
    Err(GateError::new(
        &general::USAGE,
        "no changed files: pass --changed-files FILE, --git-diff BASE...HEAD or --forgejo",
    ))
}

/// Where the module manifests are read for the evidence rule. The base: the pull request's
/// base commit (event or API), else `--policy-from-ref`, else the left side of `--git-diff`,
/// else (files mode, local use) the working tree. The head, read only where the pull request
/// changes a manifest: its head commit, else the right side of `--git-diff`, else the working
/// tree.
fn evidence_trees(
    opts: &CheckOptions,
    pr: &PullRequest,
) -> (manifests::Tree, Option<manifests::Tree>) {
    use manifests::Tree;
    let repo = opts.repo_dir.clone();
    let commit = |rev: &str| Tree::Commit {
        repo: repo.clone(),
        rev: if rev.is_empty() {
            "HEAD".to_string()
        } else {
            rev.to_string()
        },
    };
    let sides = opts
        .git_diff
        .as_deref()
        .and_then(|range| range.split_once("...").or_else(|| range.split_once("..")));
    let base = match (&pr.base_sha, &opts.policy_from_ref, sides) {
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

/// A plain changed-files list, cross-checked against the trees when the base is a commit:
/// a module folder of the base that is gone at the head must be named in the list
/// ([`crate::model::changed_files::check_no_module_vanished`]), else the list was written with
/// rename detection and is refused.
fn no_module_vanished(
    changed: &[String],
    modules_dir: &str,
    base: &manifests::Tree,
    head: Option<&manifests::Tree>,
) -> Result<(), GateError> {
    use crate::model::git::{module_names_at, module_names_in};
    use manifests::Tree;
    let names = |tree: &Tree| match tree {
        Tree::Commit { repo, rev } => module_names_at(repo, rev, modules_dir, &GIT_FAILED),
        Tree::WorkTree { repo } => module_names_in(&repo.join(modules_dir)),
    };
    let (Tree::Commit { .. }, Some(head)) = (base, head) else {
        // The working tree on both sides: nothing to compare.
        return Ok(());
    };
    if head == base {
        return Ok(());
    }
    crate::model::changed_files::check_no_module_vanished(
        changed,
        modules_dir,
        &names(base)?,
        &names(head)?,
    )
}

/// `(a module's symbolic link, the changed path that reaches it)` pairs.
type Reached = Vec<(String, String)>;

/// The symbolic links under the modules folder at the base and at the head that a changed
/// path reaches ([`crate::model::changed_files::through_links`]): `(the link, the changed
/// path)`. The links are read where the manifests are: at a commit with git, else in the
/// working tree. In event or API mode (`pr_mode`) a commit of the event that the checkout
/// does not hold is replaced by the working tree (the checkout of the pull request), and the
/// returned note says so; a commit named on the command line must be there.
fn through_module_links(
    changed: &[String],
    modules_dir: &str,
    base: &manifests::Tree,
    head: Option<&manifests::Tree>,
    pr_mode: bool,
) -> Result<(Reached, Option<String>), GateError> {
    use crate::model::git::{has_commit, links_at, links_in};
    use manifests::Tree;
    let mut absent: Vec<String> = Vec::new();
    let mut links = |tree: &Tree| match tree {
        Tree::Commit { repo, rev } if pr_mode && !has_commit(repo, rev) => {
            absent.push(rev.chars().take(12).collect());
            links_in(repo, modules_dir)
        }
        Tree::Commit { repo, rev } => links_at(repo, rev, modules_dir, &GIT_FAILED),
        Tree::WorkTree { repo } => links_in(repo, modules_dir),
    };
    let mut all = links(base)?;
    if let Some(head) = head.filter(|h| *h != base) {
        all.extend(links(head)?);
    }
    let note = (!absent.is_empty()).then(|| {
        format!(
            "the working tree: commit(s) {} not in the checkout",
            absent.join(", ")
        )
    });
    Ok((
        crate::model::changed_files::through_links(changed, &all),
        note,
    ))
}
