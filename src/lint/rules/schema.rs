//! `lint.schema`: the workflow against Forgejo's grammar. Unknown or misplaced keys, wrong
//! types, missing required keys, a step with both or neither of `uses`/`run`, unknown events
//! and invalid cron.
//!
//! The grammar is data: one table per node kind ([`TABLES`]), each row a key, the type its
//! value must have, the values it allows, and what Forgejo does with it ([`Status`]). One
//! walker ([`check_map`]) reports unknown keys and type errors from the tables, so a key
//! cannot be listed without being checked. Forgejo-only keys (`enable-email-notifications`,
//! `description`, `enable-openid-connect`, container and services `cmd`, ...) are valid; so
//! are cron descriptors and `concurrency` without `group`. Keys Forgejo accepts and ignores
//! (`permissions`, `environment`, job `continue-on-error`, job `concurrency`) are not checked
//! here at all: `lint.ignored_by_forgejo` warns about them, never an error. The tables are
//! written by hand from Forgejo's workflow reference (the keys documented up to Forgejo 15)
//! and its behaviour, not copied from the runner's schema.
use super::{Ctx, Rule, Sink, is_expression};
use crate::report::code::code;
use crate::yaml::{Node, Style, Value};

code!(
    CODE,
    "lint.schema",
    Error,
    "The workflow does not follow Forgejo's workflow grammar (unknown key, wrong type, missing key, bad event or cron).",
    "Fix the key or value the message names; Forgejo (runner 8 and later) refuses the workflow otherwise."
);

pub static RULE: Rule = Rule { code: &CODE, check };

/// What Forgejo does with a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Valid on Forgejo (and on GitHub).
    Valid,
    /// A Forgejo extension: valid here, unknown to GitHub's linters.
    ForgejoOnly,
    /// Accepted and then ignored by Forgejo. Its value is never checked here (Forgejo does not
    /// read it); `lint.ignored_by_forgejo` warns instead.
    Ignored,
}

/// A checker for a value the simple types cannot describe: it gets the row, the key and the
/// value.
pub type Check = fn(&mut Sink<'_>, &Key, &Node, &Node);

/// The type a key's value must have.
#[derive(Clone, Copy)]
pub enum Type {
    /// A scalar (string, number or boolean as written); one of `values` when they are given.
    Str,
    /// `true`, `false` or an expression.
    Bool,
    /// A number or an expression.
    Number,
    /// A string or a list of strings.
    Strings,
    /// A mapping of names to scalars, or one expression (`env`, `with`).
    Env,
    /// A mapping whose keys are the rows of another table (or nothing).
    Table(&'static [Key]),
    /// Checked by a function of this file (an event map, the jobs, the steps, a matrix, ...).
    Custom(Check),
    /// Not read by Forgejo: only for [`Status::Ignored`] keys.
    Unread,
}

/// One row of a node's table.
pub struct Key {
    pub name: &'static str,
    pub ty: Type,
    /// The values (or, for `on`, the event names) allowed; empty when any value of the type is.
    pub values: &'static [&'static str],
    pub status: Status,
}

const fn valid(name: &'static str, ty: Type) -> Key {
    Key {
        name,
        ty,
        values: &[],
        status: Status::Valid,
    }
}

const fn forgejo_only(name: &'static str, ty: Type) -> Key {
    Key {
        name,
        ty,
        values: &[],
        status: Status::ForgejoOnly,
    }
}

const fn ignored(name: &'static str) -> Key {
    Key {
        name,
        ty: Type::Unread,
        values: &[],
        status: Status::Ignored,
    }
}

/// The workflow's top level.
pub static ROOT: &[Key] = &[
    valid("name", Type::Str),
    forgejo_only("description", Type::Str),
    Key {
        name: "on",
        ty: Type::Custom(on),
        values: EVENTS,
        status: Status::Valid,
    },
    valid("run-name", Type::Str),
    forgejo_only("enable-email-notifications", Type::Bool),
    forgejo_only("enable-openid-connect", Type::Bool),
    valid("env", Type::Env),
    valid("defaults", Type::Table(DEFAULTS)),
    valid("concurrency", Type::Custom(concurrency)),
    ignored("permissions"),
    valid("jobs", Type::Custom(jobs)),
];

/// A job that runs steps.
pub static JOB: &[Key] = &[
    valid("name", Type::Str),
    valid("needs", Type::Strings),
    valid("if", Type::Str),
    valid("runs-on", Type::Custom(runs_on)),
    valid("strategy", Type::Custom(strategy)),
    valid("container", Type::Custom(container)),
    valid("services", Type::Custom(services)),
    valid("env", Type::Env),
    valid("defaults", Type::Table(DEFAULTS)),
    valid("outputs", Type::Custom(scalar_map)),
    valid("steps", Type::Custom(steps)),
    valid("timeout-minutes", Type::Number),
    forgejo_only("cancel-timeout-minutes", Type::Number),
    forgejo_only("enable-openid-connect", Type::Bool),
    ignored("continue-on-error"),
    ignored("environment"),
    ignored("permissions"),
    ignored("concurrency"),
];

/// A job that calls a reusable workflow (`uses:`). `runs-on` is a Forgejo extension here: it
/// turns off the expansion of the called workflow's jobs.
pub static CALL_JOB: &[Key] = &[
    valid("name", Type::Str),
    valid("needs", Type::Strings),
    valid("if", Type::Str),
    forgejo_only("runs-on", Type::Custom(runs_on)),
    valid("strategy", Type::Custom(strategy)),
    valid("uses", Type::Custom(uses)),
    valid("with", Type::Env),
    Key {
        name: "secrets",
        ty: Type::Custom(secrets),
        values: &["inherit"],
        status: Status::Valid,
    },
    ignored("permissions"),
    ignored("concurrency"),
];

/// A step.
pub static STEP: &[Key] = &[
    valid("id", Type::Custom(step_id)),
    valid("name", Type::Str),
    valid("if", Type::Str),
    valid("uses", Type::Custom(uses)),
    valid("run", Type::Str),
    valid("with", Type::Env),
    valid("env", Type::Env),
    valid("shell", Type::Str),
    valid("working-directory", Type::Str),
    valid("continue-on-error", Type::Bool),
    valid("timeout-minutes", Type::Number),
];

/// `container:` and each service of `services:` (as a mapping).
pub static CONTAINER: &[Key] = &[
    valid("image", Type::Str),
    valid("options", Type::Str),
    forgejo_only("cmd", Type::Strings),
    valid("env", Type::Env),
    valid("ports", Type::Strings),
    valid("volumes", Type::Strings),
    valid("credentials", Type::Custom(credentials)),
];

pub static CREDENTIALS: &[Key] = &[valid("username", Type::Str), valid("password", Type::Str)];

pub static DEFAULTS: &[Key] = &[valid("run", Type::Table(DEFAULTS_RUN))];

pub static DEFAULTS_RUN: &[Key] = &[
    valid("shell", Type::Str),
    valid("working-directory", Type::Str),
];

/// `concurrency:` as a mapping. Forgejo (v14 and later) accepts it without `group`.
pub static CONCURRENCY: &[Key] = &[
    valid("group", Type::Str),
    valid("cancel-in-progress", Type::Bool),
];

pub static STRATEGY: &[Key] = &[
    valid("matrix", Type::Custom(matrix)),
    valid("fail-fast", Type::Bool),
    valid("max-parallel", Type::Number),
];

/// `runs-on:` as a mapping.
pub static RUNS_ON: &[Key] = &[valid("group", Type::Str), valid("labels", Type::Strings)];

/// One entry of `on.schedule`.
pub static SCHEDULE_ENTRY: &[Key] = &[valid("cron", Type::Custom(cron_value))];

pub static ON_PUSH: &[Key] = &[
    valid("branches", Type::Strings),
    valid("branches-ignore", Type::Strings),
    valid("tags", Type::Strings),
    valid("tags-ignore", Type::Strings),
    valid("paths", Type::Strings),
    valid("paths-ignore", Type::Strings),
];

pub static ON_PULL_REQUEST: &[Key] = &[
    valid("branches", Type::Strings),
    valid("branches-ignore", Type::Strings),
    valid("paths", Type::Strings),
    valid("paths-ignore", Type::Strings),
    valid("types", Type::Strings),
];

pub static ON_WORKFLOW_RUN: &[Key] = &[
    valid("workflows", Type::Strings),
    valid("types", Type::Strings),
    valid("branches", Type::Strings),
    valid("branches-ignore", Type::Strings),
];

/// Inputs are checked by `lint.dispatch_inputs`.
pub static ON_WORKFLOW_DISPATCH: &[Key] = &[valid("inputs", Type::Custom(mapping))];

pub static ON_WORKFLOW_CALL: &[Key] = &[
    valid("inputs", Type::Custom(mapping)),
    valid("outputs", Type::Custom(mapping)),
    valid("secrets", Type::Custom(mapping)),
];

/// Events that take no configuration.
pub static ON_NOTHING: &[Key] = &[];

/// Events with activity types only.
pub static ON_TYPES: &[Key] = &[valid("types", Type::Strings)];

/// Every table, named by the node kind it describes (for the docs and the tests).
pub static TABLES: &[(&str, &[Key])] = &[
    ("workflow", ROOT),
    ("job", JOB),
    ("reusable-workflow call", CALL_JOB),
    ("step", STEP),
    ("container", CONTAINER),
    ("credentials", CREDENTIALS),
    ("defaults", DEFAULTS),
    ("defaults.run", DEFAULTS_RUN),
    ("concurrency", CONCURRENCY),
    ("strategy", STRATEGY),
    ("runs-on", RUNS_ON),
    ("schedule entry", SCHEDULE_ENTRY),
    ("on.push", ON_PUSH),
    ("on.pull_request", ON_PULL_REQUEST),
    ("on.workflow_run", ON_WORKFLOW_RUN),
    ("on.workflow_dispatch", ON_WORKFLOW_DISPATCH),
    ("on.workflow_call", ON_WORKFLOW_CALL),
    ("on.<event with types>", ON_TYPES),
];

/// The configuration table of an event.
fn event_table(name: &str) -> &'static [Key] {
    match name {
        "push" => ON_PUSH,
        "pull_request" | "pull_request_target" => ON_PULL_REQUEST,
        "workflow_run" => ON_WORKFLOW_RUN,
        "workflow_dispatch" => ON_WORKFLOW_DISPATCH,
        "workflow_call" => ON_WORKFLOW_CALL,
        "create"
        | "delete"
        | "fork"
        | "gollum"
        | "page_build"
        | "public"
        | "status"
        | "deployment"
        | "deployment_status"
        | "pull_request_comment" => ON_NOTHING,
        _ => ON_TYPES,
    }
}

/// Events Forgejo's workflow parser accepts (GitHub's names; Forgejo triggers a subset).
pub const EVENTS: &[&str] = &[
    "branch_protection_rule",
    "check_run",
    "check_suite",
    "create",
    "delete",
    "deployment",
    "deployment_status",
    "discussion",
    "discussion_comment",
    "fork",
    "gollum",
    "issue_comment",
    "issues",
    "label",
    "merge_group",
    "milestone",
    "page_build",
    "project",
    "project_card",
    "project_column",
    "public",
    "pull_request",
    "pull_request_comment",
    "pull_request_review",
    "pull_request_review_comment",
    "pull_request_target",
    "push",
    "registry_package",
    "release",
    "repository_dispatch",
    "schedule",
    "status",
    "watch",
    "workflow_call",
    "workflow_dispatch",
    "workflow_run",
];

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    let root = ctx.wf.root;
    let Some(entries) = root.as_map() else {
        out.node(
            &CODE,
            root,
            format!("a workflow must be a mapping, found a {}", root.kind_name()),
        );
        return;
    };
    for key in ["on", "jobs"] {
        if root.get(key).is_none_or(Node::is_null) {
            out.at(
                &CODE,
                root.span.start.line,
                root.span.start.col,
                1,
                format!("the workflow has no `{key}:`"),
            );
        }
    }
    check_map(out, entries, ROOT, "the workflow");
    for job in &ctx.wf.jobs {
        check_job(out, job.key, job.node);
    }
}

fn name_of(k: &Node) -> &str {
    k.as_str().unwrap_or("?")
}

/// Reports the keys of `entries` that `table` does not list, then checks each listed key's
/// value against its row.
pub fn check_map(out: &mut Sink<'_>, entries: &[(Node, Node)], table: &[Key], what: &str) {
    for (k, v) in entries {
        let name = k.as_str().unwrap_or("<non-scalar key>");
        match table.iter().find(|row| row.name == name) {
            Some(row) => check_value(out, row, k, v),
            None => unknown_key(out, k, name, table, what),
        }
    }
}

fn check_value(out: &mut Sink<'_>, row: &Key, k: &Node, v: &Node) {
    match row.ty {
        Type::Str => scalar(out, v, k, row.values),
        Type::Bool => boolean(out, v, k),
        Type::Number => number(out, v, k),
        Type::Strings => strings(out, v, k),
        Type::Env => env_map(out, v, k),
        Type::Table(table) => match v.as_map() {
            Some(entries) => check_map(out, entries, table, &format!("`{}`", row.name)),
            None if v.is_null() => {}
            None => wrong(out, v, k, "a mapping"),
        },
        Type::Custom(f) => f(out, row, k, v),
        Type::Unread => {}
    }
}

fn unknown_key(out: &mut Sink<'_>, k: &Node, name: &str, table: &[Key], what: &str) {
    let folded = name.replace(['-', '_'], "").to_lowercase();
    let hint = table
        .iter()
        .find(|row| row.name.replace(['-', '_'], "") == folded)
        .map(|row| format!(" (did you mean `{}`?)", row.name))
        .unwrap_or_default();
    let known: Vec<&str> = table.iter().map(|row| row.name).collect();
    out.node(
        &CODE,
        k,
        format!("unknown key `{}` in {what}{hint}", name.escape_debug()),
    )
    .note(if known.is_empty() {
        "this takes no keys".to_string()
    } else {
        format!("valid keys here: {}", known.join(", "))
    });
}

fn wrong(out: &mut Sink<'_>, v: &Node, k: &Node, expected: &str) {
    out.node(
        &CODE,
        v,
        format!(
            "`{}` must be {expected}, found a {}",
            name_of(k),
            v.kind_name()
        ),
    );
}

fn scalar(out: &mut Sink<'_>, v: &Node, k: &Node, values: &[&str]) {
    let Some(text) = v.as_str() else {
        wrong(out, v, k, "a string");
        return;
    };
    if !values.is_empty() && !values.contains(&text) && !is_expression(v) {
        out.node(
            &CODE,
            v,
            format!(
                "`{}` must be one of {}, found `{}`",
                name_of(k),
                values.join(", "),
                text.escape_debug()
            ),
        );
    }
}

fn boolean(out: &mut Sink<'_>, v: &Node, k: &Node) {
    if v.as_bool().is_none() && !is_expression(v) {
        out.node(
            &CODE,
            v,
            format!(
                "`{}` must be `true`, `false` or an expression, found `{}`",
                name_of(k),
                v.as_str().unwrap_or(v.kind_name())
            ),
        );
    }
}

fn number(out: &mut Sink<'_>, v: &Node, k: &Node) {
    let ok = match &v.value {
        Value::Scalar { text, .. } => text.trim().parse::<f64>().is_ok() || is_expression(v),
        _ => false,
    };
    if !ok {
        out.node(
            &CODE,
            v,
            format!(
                "`{}` must be a number or an expression, found `{}`",
                name_of(k),
                v.as_str().unwrap_or(v.kind_name())
            ),
        );
    }
}

fn strings(out: &mut Sink<'_>, v: &Node, k: &Node) {
    match &v.value {
        Value::Scalar { .. } => {}
        Value::Seq(items) => {
            for item in items {
                if item.as_str().is_none() {
                    wrong(out, item, k, "a list of strings");
                }
            }
        }
        Value::Map(_) => wrong(out, v, k, "a string or a list of strings"),
    }
}

fn env_map(out: &mut Sink<'_>, v: &Node, k: &Node) {
    match &v.value {
        Value::Map(entries) => {
            for (ek, ev) in entries {
                if ev.as_str().is_none() {
                    wrong(out, ev, ek, "a string, number or boolean");
                }
            }
        }
        _ if is_expression(v) => {}
        _ if v.is_null() => {}
        _ => wrong(out, v, k, "a mapping"),
    }
}

/// A mapping whose contents another rule checks (`inputs`, `outputs`, `secrets` of events).
fn mapping(out: &mut Sink<'_>, _: &Key, k: &Node, v: &Node) {
    if v.as_map().is_none() && !v.is_null() {
        wrong(out, v, k, "a mapping");
    }
}

/// A mapping of names to scalars (job `outputs`).
fn scalar_map(out: &mut Sink<'_>, _: &Key, k: &Node, v: &Node) {
    match v.as_map() {
        Some(entries) => {
            for (ok, ov) in entries {
                scalar(out, ov, ok, &[]);
            }
        }
        None => wrong(out, v, k, "a mapping"),
    }
}

/// `secrets:` of a reusable-workflow call: `inherit` or a mapping of names to values.
fn secrets(out: &mut Sink<'_>, row: &Key, k: &Node, v: &Node) {
    match &v.value {
        Value::Scalar { .. } => scalar(out, v, k, row.values),
        Value::Map(entries) => {
            for (sk, sv) in entries {
                scalar(out, sv, sk, &[]);
            }
        }
        Value::Seq(_) => wrong(out, v, k, "`inherit` or a mapping"),
    }
}

fn jobs(out: &mut Sink<'_>, _: &Key, k: &Node, v: &Node) {
    match v.as_map() {
        Some([]) => {
            out.node(
                &CODE,
                v,
                "`jobs` is empty; a workflow needs at least one job",
            );
        }
        // Each job is checked by `check_job`, from the workflow model.
        Some(_) => {}
        None if v.is_null() => {}
        None => wrong(out, v, k, "a mapping of jobs"),
    }
}

fn concurrency(out: &mut Sink<'_>, _: &Key, k: &Node, v: &Node) {
    match &v.value {
        Value::Scalar { .. } => {}
        Value::Map(entries) => check_map(out, entries, CONCURRENCY, "`concurrency`"),
        Value::Seq(_) => wrong(out, v, k, "a string or a mapping"),
    }
}

fn event_name(out: &mut Sink<'_>, events: &[&str], node: &Node, name: &str) -> bool {
    if events.contains(&name) {
        return true;
    }
    out.node(
        &CODE,
        node,
        format!("unknown event `{}`", name.escape_debug()),
    )
    .note("see Forgejo's list of events: push, pull_request, workflow_dispatch, schedule, ...");
    false
}

fn on(out: &mut Sink<'_>, row: &Key, _: &Node, v: &Node) {
    match &v.value {
        Value::Scalar { text, .. } => {
            if !v.is_null() {
                event_name(out, row.values, v, text);
            }
        }
        Value::Seq(items) => {
            for item in items {
                match item.as_str() {
                    Some(name) => {
                        event_name(out, row.values, item, name);
                    }
                    None => {
                        out.node(&CODE, item, "an event in the `on:` list must be a name");
                    }
                }
            }
        }
        Value::Map(entries) => {
            for (k, cfg) in entries {
                let name = k.as_str().unwrap_or("");
                if event_name(out, row.values, k, name) {
                    event_config(out, name, k, cfg);
                }
            }
        }
    }
}

fn event_config(out: &mut Sink<'_>, name: &str, k: &Node, cfg: &Node) {
    if name == "schedule" {
        let Some(items) = cfg.as_seq() else {
            wrong(out, cfg, k, "a list of `- cron: ...` entries");
            return;
        };
        for item in items {
            let Some(entries) = item.as_map() else {
                wrong(out, item, k, "a `cron:` mapping");
                continue;
            };
            check_map(out, entries, SCHEDULE_ENTRY, "a `schedule` entry");
            if item.get("cron").is_none() {
                out.node(&CODE, item, "a `schedule` entry needs `cron:`");
            }
        }
        return;
    }
    if cfg.is_null() {
        return;
    }
    let Some(entries) = cfg.as_map() else {
        wrong(out, cfg, k, "a mapping (or nothing)");
        return;
    };
    check_map(
        out,
        entries,
        event_table(name),
        &format!("the `{name}` event"),
    );
}

fn cron_value(out: &mut Sink<'_>, _: &Key, k: &Node, c: &Node) {
    match c.as_str() {
        Some(text) => {
            if let Err(why) = cron(text) {
                out.node(
                    &CODE,
                    c,
                    format!("invalid cron `{}`: {why}", text.escape_debug()),
                );
            }
        }
        None => wrong(out, c, k, "a cron string"),
    }
}

fn valid_id(id: &str) -> bool {
    id.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn check_job(out: &mut Sink<'_>, key: &Node, job: &Node) {
    let id = name_of(key);
    if !valid_id(id) {
        out.node(
            &CODE,
            key,
            format!("job id `{}` must start with a letter or `_` and contain only letters, digits, `-` and `_`", id.escape_debug()),
        );
    }
    let Some(entries) = job.as_map() else {
        out.node(
            &CODE,
            job,
            format!("job `{id}` must be a mapping, found a {}", job.kind_name()),
        );
        return;
    };
    let calls = job.get("uses").is_some();
    if !calls {
        for req in ["runs-on", "steps"] {
            if job.get(req).is_none_or(Node::is_null) {
                out.node(&CODE, key, format!("job `{id}` has no `{req}:`"));
            }
        }
    }
    let (table, what) = if calls {
        (CALL_JOB, format!("job `{id}` (a reusable-workflow call)"))
    } else {
        (JOB, format!("job `{id}`"))
    };
    check_map(out, entries, table, &what);
}

fn runs_on(out: &mut Sink<'_>, _: &Key, k: &Node, v: &Node) {
    match &v.value {
        Value::Map(entries) => check_map(out, entries, RUNS_ON, "`runs-on`"),
        _ => strings(out, v, k),
    }
    if v.as_str().is_some_and(|s| s.trim().is_empty()) {
        out.node(&CODE, v, "`runs-on` is empty");
    }
}

fn strategy(out: &mut Sink<'_>, _: &Key, k: &Node, v: &Node) {
    match v.as_map() {
        Some(entries) => check_map(out, entries, STRATEGY, "`strategy`"),
        None if is_expression(v) => {}
        None => wrong(out, v, k, "a mapping"),
    }
}

fn matrix(out: &mut Sink<'_>, _: &Key, k: &Node, v: &Node) {
    let Some(axes) = v.as_map() else {
        if !is_expression(v) {
            wrong(out, v, k, "a mapping or an expression");
        }
        return;
    };
    for (mk, mv) in axes {
        match mk.as_str().unwrap_or("") {
            "include" | "exclude" => match mv.as_seq() {
                Some(items) => {
                    for item in items {
                        if item.as_map().is_none() && !is_expression(item) {
                            wrong(out, item, mk, "a list of mappings");
                        }
                    }
                }
                None if is_expression(mv) => {}
                None => wrong(out, mv, mk, "a list of mappings"),
            },
            _ => {
                if mv.as_seq().is_none() && !is_expression(mv) {
                    wrong(out, mv, mk, "a list of values");
                }
            }
        }
    }
}

fn container(out: &mut Sink<'_>, _: &Key, k: &Node, v: &Node) {
    match &v.value {
        Value::Scalar { .. } => {}
        Value::Map(entries) => check_map(out, entries, CONTAINER, &format!("`{}`", name_of(k))),
        Value::Seq(_) => wrong(out, v, k, "an image name or a mapping"),
    }
}

fn services(out: &mut Sink<'_>, row: &Key, k: &Node, v: &Node) {
    match v.as_map() {
        Some(services) => {
            for (sk, sv) in services {
                container(out, row, sk, sv);
            }
        }
        None => wrong(out, v, k, "a mapping of services"),
    }
}

fn credentials(out: &mut Sink<'_>, _: &Key, k: &Node, v: &Node) {
    match v.as_map() {
        Some(entries) => check_map(out, entries, CREDENTIALS, "`credentials`"),
        None if is_expression(v) => {}
        None => wrong(out, v, k, "a mapping"),
    }
}

/// `uses:` of a job or a step. GitHub's self-repository form (`$/path`, the same repository
/// at the same commit) means nothing to Forgejo, which resolves `./path`, `owner/repo/path@ref`
/// and full URLs only.
fn uses(out: &mut Sink<'_>, _: &Key, k: &Node, v: &Node) {
    let Some(text) = v.as_str() else {
        wrong(out, v, k, "a string");
        return;
    };
    if let Some(path) = text.trim().strip_prefix("$/") {
        out.node(
            &CODE,
            v,
            format!(
                "`{}` is GitHub's self-repository form (`$/` = this repository at this commit); Forgejo does not know it and cannot run this",
                text.escape_debug()
            ),
        )
        .note(format!("write `./{}` instead", path.escape_debug()));
    }
}

fn step_id(out: &mut Sink<'_>, _: &Key, _: &Node, v: &Node) {
    let id = v.as_str().unwrap_or("");
    if !valid_id(id) && !is_expression(v) {
        out.node(&CODE, v, format!("step id `{}` must start with a letter or `_` and contain only letters, digits, `-` and `_`", id.escape_debug()));
    }
}

fn steps(out: &mut Sink<'_>, _: &Key, k: &Node, v: &Node) {
    match v.as_seq() {
        Some([]) => {
            out.node(&CODE, v, "`steps` is empty; a job needs at least one step");
        }
        Some(steps) => {
            for step in steps {
                check_step(out, step);
            }
        }
        None if v.is_null() => {}
        None => wrong(out, v, k, "a list of steps"),
    }
}

fn check_step(out: &mut Sink<'_>, step: &Node) {
    let Some(entries) = step.as_map() else {
        out.node(
            &CODE,
            step,
            format!("a step must be a mapping, found a {}", step.kind_name()),
        );
        return;
    };
    check_map(out, entries, STEP, "a step");
    let uses = step.get("uses").filter(|n| !n.is_null());
    let run = step.get("run").filter(|n| !n.is_null());
    match (uses, run) {
        (Some(_), Some(r)) => {
            out.node(
                &CODE,
                r,
                "a step has both `uses` and `run`; it must have exactly one",
            );
        }
        (None, None) => {
            out.node(
                &CODE,
                step,
                "a step has neither `uses` nor `run`; it must have exactly one",
            );
        }
        (Some(_), None) => {
            for key in ["shell", "working-directory"] {
                if let Some((k, _)) = entries.iter().find(|(k, _)| k.as_str() == Some(key)) {
                    out.node(&CODE, k, format!("`{key}` only applies to `run` steps"));
                }
            }
        }
        (None, Some(_)) => {
            if let Some((k, _)) = entries.iter().find(|(k, _)| k.as_str() == Some("with")) {
                out.node(
                    &CODE,
                    k,
                    "`with` only applies to `uses` steps; use `env` for a `run` step",
                );
            }
        }
    }
    if let Some(r) = run
        && let Value::Scalar { text, style } = &r.value
        && *style != Style::Block
        && text.trim().is_empty()
    {
        out.node(&CODE, r, "`run` is empty");
    }
}

/// Checks a cron line as Forgejo's scheduler reads it: five fields, or a descriptor.
pub fn cron(text: &str) -> Result<(), String> {
    let t = text.trim();
    if let Some(desc) = t.strip_prefix('@') {
        return match desc {
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly" => {
                Ok(())
            }
            _ if desc.starts_with("every ") => Ok(()),
            _ => Err(format!("unknown descriptor `@{desc}`")),
        };
    }
    let fields: Vec<&str> = t.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!("expected 5 fields, found {}", fields.len()));
    }
    const MONTHS: &[&str] = &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let specs: [(&str, u32, u32, &[&str]); 5] = [
        ("minute", 0, 59, &[]),
        ("hour", 0, 23, &[]),
        ("day of month", 1, 31, &[]),
        ("month", 1, 12, MONTHS),
        ("day of week", 0, 7, DAYS),
    ];
    for (field, (what, lo, hi, names)) in fields.iter().zip(specs) {
        for part in field.split(',') {
            let (range, step) = match part.split_once('/') {
                Some((r, s)) => (r, Some(s)),
                None => (part, None),
            };
            if let Some(s) = step
                && s.parse::<u32>().map_or(true, |n| n == 0)
            {
                return Err(format!("bad step `{s}` in the {what} field"));
            }
            if range == "*" || (range == "?" && (what == "day of month" || what == "day of week")) {
                continue;
            }
            let value = |v: &str| -> Result<u32, String> {
                let lower = v.to_ascii_lowercase();
                if let Some(i) = names.iter().position(|n| *n == lower) {
                    return Ok(i as u32 + if lo == 1 { 1 } else { 0 });
                }
                match v.parse::<u32>() {
                    Ok(n) if (lo..=hi).contains(&n) => Ok(n),
                    _ => Err(format!("`{v}` is not a valid {what} ({lo}-{hi})")),
                }
            };
            match range.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (value(a)?, value(b)?);
                    if a > b {
                        return Err(format!("range `{range}` in the {what} field is reversed"));
                    }
                }
                None => {
                    value(range)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Status, TABLES, Type, cron};
    use crate::lint::config::LintPolicy;
    use crate::lint::{Finding, lint_text};

    /// A value no row of any table accepts: a list holding a mapping.
    const WRONG: &str = "[{x: 1}]";

    /// A workflow with `key: value` placed in a node of `kind`, on a line of its own, and
    /// that line's number.
    fn place(kind: &str, key: &str, value: &str) -> (String, usize) {
        let line = format!("{key}: {value}");
        let steps = "    steps:\n      - run: echo\n";
        let job = |extra: &str| format!("on: push\njobs:\n  a:\n    runs-on: x\n{extra}{steps}");
        let text = match kind {
            "workflow" => {
                let mut s = String::new();
                if key != "on" {
                    s.push_str("on: push\n");
                }
                if key != "jobs" {
                    s.push_str(&format!("jobs:\n  a:\n    runs-on: x\n{steps}"));
                }
                s + &line + "\n"
            }
            "job" => {
                let runs_on = if key == "runs-on" {
                    ""
                } else {
                    "    runs-on: x\n"
                };
                let steps = if key == "steps" { "" } else { steps };
                format!("on: push\njobs:\n  a:\n{runs_on}{steps}    {line}\n")
            }
            "reusable-workflow call" => {
                let uses = if key == "uses" {
                    ""
                } else {
                    "    uses: ./.forgejo/workflows/x.yml\n"
                };
                format!("on: push\njobs:\n  a:\n{uses}    {line}\n")
            }
            "step" => {
                let first = match key {
                    "run" | "uses" => line.clone(),
                    "with" => format!("uses: ./a\n        {line}"),
                    _ => format!("run: echo\n        {line}"),
                };
                format!("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - {first}\n")
            }
            "container" => {
                let image = if key == "image" {
                    ""
                } else {
                    "      image: i\n"
                };
                job(&format!("    container:\n{image}      {line}\n"))
            }
            "credentials" => job(&format!(
                "    container:\n      image: i\n      credentials:\n        {line}\n"
            )),
            "defaults" => job(&format!("    defaults:\n      {line}\n")),
            "defaults.run" => job(&format!("    defaults:\n      run:\n        {line}\n")),
            "concurrency" => format!("concurrency:\n  {line}\n{}", job("")),
            "strategy" => job(&format!("    strategy:\n      {line}\n")),
            "runs-on" => format!("on: push\njobs:\n  a:\n    runs-on:\n      {line}\n{steps}"),
            "schedule entry" => {
                let rest = job("").replacen("on: push\n", "", 1);
                format!("on:\n  schedule:\n    - {line}\n{rest}")
            }
            event => {
                let name = match event.strip_prefix("on.") {
                    Some("<event with types>") => "issues",
                    Some(name) => name,
                    None => panic!("no template for node kind {event}"),
                };
                let rest = job("").replacen("on: push\n", "", 1);
                format!("on:\n  {name}:\n    {line}\n{rest}")
            }
        };
        let n = text
            .lines()
            .position(|l| l.trim_start().trim_start_matches("- ").starts_with(&line))
            .expect("the placed line")
            + 1;
        (text, n)
    }

    fn schema_findings(text: &str) -> Vec<Finding> {
        lint_text("t.yml", text, &LintPolicy::default())
            .into_iter()
            .filter(|f| f.code.id == "lint.schema")
            .collect()
    }

    #[test]
    fn every_key_of_every_table_is_type_checked() {
        let mut checked = 0;
        for (kind, table) in TABLES {
            for row in *table {
                let (text, line) = place(kind, row.name, WRONG);
                let value_col = text
                    .lines()
                    .nth(line - 1)
                    .expect("line")
                    .find('[')
                    .expect("[")
                    + 1;
                let found = schema_findings(&text);
                let inside_value = found.iter().any(|f| f.line == line && f.col >= value_col);
                match row.status {
                    Status::Ignored => assert!(
                        found.iter().all(|f| f.line != line),
                        "{kind}.{}: Forgejo ignores it, yet lint.schema reports it: {found:?}\n{text}",
                        row.name
                    ),
                    _ => assert!(
                        inside_value,
                        "{kind}.{}: a wrong value passes: {found:?}\n{text}",
                        row.name
                    ),
                }
                checked += 1;
            }
        }
        assert!(checked > 80, "{checked} keys");
    }

    #[test]
    fn every_key_of_a_simple_type_accepts_a_value_of_that_type() {
        for (kind, table) in TABLES {
            for row in *table {
                let value = match row.ty {
                    Type::Str if row.values.is_empty() => "text",
                    Type::Bool => "true",
                    Type::Number => "5",
                    Type::Strings => "[a, b]",
                    Type::Env => "{A: b}",
                    Type::Table(_) => "{}",
                    _ => continue,
                };
                let (text, line) = place(kind, row.name, value);
                let found = schema_findings(&text);
                assert!(
                    found.iter().all(|f| f.line != line),
                    "{kind}.{}: `{value}` refused: {found:?}\n{text}",
                    row.name
                );
            }
        }
    }

    #[test]
    fn only_ignored_keys_go_unread() {
        for (kind, table) in TABLES {
            for row in *table {
                assert_eq!(
                    matches!(row.ty, Type::Unread),
                    row.status == Status::Ignored,
                    "{kind}.{}",
                    row.name
                );
            }
        }
    }

    #[test]
    fn cron_accepts_descriptors_and_fields() {
        for ok in [
            "@daily",
            "@every 1h",
            "0 3 * * 1-5",
            "*/15 * * * *",
            "0 0 1 JAN,JUL *",
            "30 2 * * sun",
        ] {
            assert_eq!(cron(ok), Ok(()), "{ok}");
        }
        for bad in [
            "@sometimes",
            "0 3 * *",
            "61 * * * *",
            "* * * * * *",
            "*/0 * * * *",
            "5-1 * * * *",
        ] {
            assert!(cron(bad).is_err(), "{bad}");
        }
    }
}
