//! `lint.schema`: the workflow against Forgejo's grammar. Unknown or misplaced keys, wrong
//! types, missing required keys, a step with both or neither of `uses`/`run`, unknown events
//! and invalid cron. Forgejo-only keys (`enable-email-notifications`, `description`,
//! `enable-openid-connect`, container and services `cmd`) are valid; so are cron descriptors
//! and `concurrency` without `group`. The grammar is written here by hand, from Forgejo's
//! documentation and behaviour, not copied from the runner's schema.
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

const ROOT_KEYS: &[&str] = &[
    "name",
    "description",
    "on",
    "run-name",
    "enable-email-notifications",
    "env",
    "defaults",
    "concurrency",
    "permissions",
    "jobs",
];
const JOB_KEYS: &[&str] = &[
    "name",
    "needs",
    "if",
    "runs-on",
    "strategy",
    "container",
    "services",
    "env",
    "defaults",
    "outputs",
    "steps",
    "timeout-minutes",
    "cancel-timeout-minutes",
    "continue-on-error",
    "environment",
    "permissions",
    "concurrency",
    "enable-openid-connect",
];
const CALL_JOB_KEYS: &[&str] = &[
    "name",
    "needs",
    "if",
    "runs-on",
    "strategy",
    "uses",
    "with",
    "secrets",
    "permissions",
    "concurrency",
];
const STEP_KEYS: &[&str] = &[
    "id",
    "name",
    "if",
    "uses",
    "run",
    "with",
    "env",
    "shell",
    "working-directory",
    "continue-on-error",
    "timeout-minutes",
];
const CONTAINER_KEYS: &[&str] = &[
    "image",
    "options",
    "cmd",
    "env",
    "ports",
    "volumes",
    "credentials",
];

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
    unknown_keys(out, entries, ROOT_KEYS, "the workflow");
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
    for (k, v) in entries {
        match k.as_str().unwrap_or("") {
            "name" | "description" | "run-name" => scalar(out, v, k),
            "enable-email-notifications" => boolean(out, v, k),
            "env" => env_map(out, v, k),
            "defaults" => defaults(out, v),
            "concurrency" => concurrency(out, v),
            "permissions" if v.as_seq().is_some() => wrong(out, v, k, "a string or a mapping"),
            "on" => on(out, v),
            "jobs" => match v.as_map() {
                Some([]) => {
                    out.node(
                        &CODE,
                        v,
                        "`jobs` is empty; a workflow needs at least one job",
                    );
                }
                Some(_) => {}
                None if v.is_null() => {}
                None => wrong(out, v, k, "a mapping of jobs"),
            },
            _ => {}
        }
    }
    for job in &ctx.wf.jobs {
        check_job(out, job.key, job.node);
    }
}

fn name_of(k: &Node) -> &str {
    k.as_str().unwrap_or("?")
}

fn unknown_keys(out: &mut Sink<'_>, entries: &[(Node, Node)], known: &[&str], what: &str) {
    for (k, _) in entries {
        let name = k.as_str().unwrap_or("<non-scalar key>");
        if !known.contains(&name) {
            let hint = known
                .iter()
                .find(|c| c.replace(['-', '_'], "") == name.replace(['-', '_'], "").to_lowercase())
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            out.node(
                &CODE,
                k,
                format!("unknown key `{}` in {what}{hint}", name.escape_debug()),
            )
            .note(format!("valid keys here: {}", known.join(", ")));
        }
    }
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

fn scalar(out: &mut Sink<'_>, v: &Node, k: &Node) {
    if v.as_str().is_none() {
        wrong(out, v, k, "a string");
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

fn defaults(out: &mut Sink<'_>, v: &Node) {
    let Some(entries) = v.as_map() else {
        if !v.is_null() {
            out.node(&CODE, v, "`defaults` must be a mapping with `run`");
        }
        return;
    };
    unknown_keys(out, entries, &["run"], "`defaults`");
    if let Some(run) = v.get("run") {
        match run.as_map() {
            Some(r) => {
                unknown_keys(out, r, &["shell", "working-directory"], "`defaults.run`");
                for (rk, rv) in r {
                    scalar(out, rv, rk);
                }
            }
            None => {
                out.node(&CODE, run, "`defaults.run` must be a mapping");
            }
        }
    }
}

fn concurrency(out: &mut Sink<'_>, v: &Node) {
    match &v.value {
        Value::Scalar { .. } => {}
        // Forgejo (v14+) accepts a mapping without `group`.
        Value::Map(entries) => {
            unknown_keys(
                out,
                entries,
                &["group", "cancel-in-progress"],
                "`concurrency`",
            );
            for (k, val) in entries {
                match k.as_str() {
                    Some("group") => scalar(out, val, k),
                    Some("cancel-in-progress") => boolean(out, val, k),
                    _ => {}
                }
            }
        }
        Value::Seq(_) => {
            out.node(&CODE, v, "`concurrency` must be a string or a mapping");
        }
    }
}

fn event_name(out: &mut Sink<'_>, node: &Node, name: &str) -> bool {
    if EVENTS.contains(&name) {
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

fn on(out: &mut Sink<'_>, v: &Node) {
    match &v.value {
        Value::Scalar { text, .. } => {
            if !v.is_null() {
                event_name(out, v, text);
            }
        }
        Value::Seq(items) => {
            for item in items {
                match item.as_str() {
                    Some(name) => {
                        event_name(out, item, name);
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
                if event_name(out, k, name) {
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
            unknown_keys(out, entries, &["cron"], "a `schedule` entry");
            match item.get("cron") {
                Some(c) => match c.as_str() {
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
                },
                None => {
                    out.node(&CODE, item, "a `schedule` entry needs `cron:`");
                }
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
    let known: &[&str] = match name {
        "push" => &[
            "branches",
            "branches-ignore",
            "tags",
            "tags-ignore",
            "paths",
            "paths-ignore",
        ],
        "pull_request" | "pull_request_target" => &[
            "branches",
            "branches-ignore",
            "paths",
            "paths-ignore",
            "types",
        ],
        "workflow_run" => &["workflows", "types", "branches", "branches-ignore"],
        // Inputs are checked by `lint.dispatch-inputs`.
        "workflow_dispatch" => &["inputs"],
        "workflow_call" => &["inputs", "outputs", "secrets"],
        "create"
        | "delete"
        | "fork"
        | "gollum"
        | "page_build"
        | "public"
        | "status"
        | "deployment"
        | "deployment_status"
        | "pull_request_comment" => &[],
        _ => &["types"],
    };
    unknown_keys(out, entries, known, &format!("the `{name}` event"));
    for (fk, fv) in entries {
        match fk.as_str().unwrap_or("") {
            "inputs" | "outputs" | "secrets" => {
                if fv.as_map().is_none() && !fv.is_null() {
                    wrong(out, fv, fk, "a mapping");
                }
            }
            _ => strings(out, fv, fk),
        }
    }
}

fn check_job(out: &mut Sink<'_>, key: &Node, job: &Node) {
    let id = name_of(key);
    let valid_id = id
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid_id {
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
    unknown_keys(
        out,
        entries,
        if calls { CALL_JOB_KEYS } else { JOB_KEYS },
        &format!(
            "job `{id}`{}",
            if calls {
                " (a reusable-workflow call)"
            } else {
                ""
            }
        ),
    );
    if !calls {
        for req in ["runs-on", "steps"] {
            if job.get(req).is_none_or(Node::is_null) {
                out.node(&CODE, key, format!("job `{id}` has no `{req}:`"));
            }
        }
    }
    for (k, v) in entries {
        match k.as_str().unwrap_or("") {
            "name" | "if" | "uses" => scalar(out, v, k),
            "needs" => strings(out, v, k),
            "runs-on" => runs_on(out, v, k),
            "timeout-minutes" | "cancel-timeout-minutes" => number(out, v, k),
            "continue-on-error" | "enable-openid-connect" => boolean(out, v, k),
            "env" | "with" => env_map(out, v, k),
            "outputs" => match v.as_map() {
                Some(o) => {
                    for (ok, ov) in o {
                        scalar(out, ov, ok);
                    }
                }
                None => wrong(out, v, k, "a mapping"),
            },
            "secrets" if v.as_str() != Some("inherit") && v.as_map().is_none() => {
                wrong(out, v, k, "`inherit` or a mapping");
            }
            "defaults" => defaults(out, v),
            "concurrency" => concurrency(out, v),
            "environment" => match &v.value {
                Value::Scalar { .. } => {}
                Value::Map(e) => unknown_keys(out, e, &["name", "url"], "`environment`"),
                Value::Seq(_) => wrong(out, v, k, "a string or a mapping"),
            },
            "strategy" => strategy(out, v, k),
            "container" => container(out, v, k),
            "services" => match v.as_map() {
                Some(services) => {
                    for (sk, sv) in services {
                        container(out, sv, sk);
                    }
                }
                None => wrong(out, v, k, "a mapping of services"),
            },
            "steps" => match v.as_seq() {
                Some([]) => {
                    out.node(&CODE, v, format!("job `{id}` has no steps"));
                }
                Some(steps) => {
                    for step in steps {
                        check_step(out, step);
                    }
                }
                None if v.is_null() => {}
                None => wrong(out, v, k, "a list of steps"),
            },
            _ => {}
        }
    }
}

fn runs_on(out: &mut Sink<'_>, v: &Node, k: &Node) {
    match &v.value {
        Value::Map(e) => {
            unknown_keys(out, e, &["group", "labels"], "`runs-on`");
            if let Some(labels) = v.get("labels") {
                strings(out, labels, k);
            }
        }
        _ => strings(out, v, k),
    }
    if v.as_str().is_some_and(|s| s.trim().is_empty()) {
        out.node(&CODE, v, "`runs-on` is empty");
    }
}

fn strategy(out: &mut Sink<'_>, v: &Node, k: &Node) {
    let Some(entries) = v.as_map() else {
        if !is_expression(v) {
            wrong(out, v, k, "a mapping");
        }
        return;
    };
    unknown_keys(
        out,
        entries,
        &["matrix", "fail-fast", "max-parallel"],
        "`strategy`",
    );
    for (sk, sv) in entries {
        match sk.as_str().unwrap_or("") {
            "fail-fast" => boolean(out, sv, sk),
            "max-parallel" => number(out, sv, sk),
            "matrix" => match &sv.value {
                Value::Map(m) => {
                    for (mk, mv) in m {
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
                _ if is_expression(sv) => {}
                _ => wrong(out, sv, sk, "a mapping or an expression"),
            },
            _ => {}
        }
    }
}

fn container(out: &mut Sink<'_>, v: &Node, k: &Node) {
    match &v.value {
        Value::Scalar { .. } => {}
        Value::Map(entries) => {
            unknown_keys(out, entries, CONTAINER_KEYS, &format!("`{}`", name_of(k)));
            for (ck, cv) in entries {
                match ck.as_str().unwrap_or("") {
                    "image" | "options" => scalar(out, cv, ck),
                    "cmd" | "ports" | "volumes" => strings(out, cv, ck),
                    "env" => env_map(out, cv, ck),
                    "credentials" => match cv.as_map() {
                        Some(c) => unknown_keys(out, c, &["username", "password"], "`credentials`"),
                        None if is_expression(cv) => {}
                        None => wrong(out, cv, ck, "a mapping"),
                    },
                    _ => {}
                }
            }
        }
        Value::Seq(_) => wrong(out, v, k, "an image name or a mapping"),
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
    unknown_keys(out, entries, STEP_KEYS, "a step");
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
    for (k, v) in entries {
        match k.as_str().unwrap_or("") {
            "id" => {
                let id = v.as_str().unwrap_or("");
                let ok = id
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !ok && !is_expression(v) {
                    out.node(&CODE, v, format!("step id `{}` must start with a letter or `_` and contain only letters, digits, `-` and `_`", id.escape_debug()));
                }
            }
            "name" | "if" | "uses" | "run" | "shell" | "working-directory" => scalar(out, v, k),
            "with" | "env" => env_map(out, v, k),
            "continue-on-error" => boolean(out, v, k),
            "timeout-minutes" => number(out, v, k),
            _ => {}
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
    use super::cron;

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
