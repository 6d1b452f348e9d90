//! `lint.dispatch_inputs`: `workflow_dispatch` and `workflow_call` inputs are well formed:
//! known keys, a type Forgejo accepts, a default that fits the type, a `choice` with options
//! and a default among them.
use super::{Ctx, Rule, Sink};
use crate::lint::model::Input;
use crate::report::code::code;
use crate::yaml::{Style, Value};

code!(
    CODE,
    "lint.dispatch_inputs",
    Error,
    "A workflow input is malformed: unknown key or type, a default that does not fit its type, or a choice without valid options.",
    "Fix the input declaration; Forgejo shows a broken dispatch form or sends values the workflow does not expect."
);

pub static RULE: Rule = Rule { code: &CODE, check };

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    for input in &ctx.wf.dispatch_inputs {
        one(out, input, true);
    }
    for input in &ctx.wf.call_inputs {
        one(out, input, false);
    }
}

fn one(out: &mut Sink<'_>, input: &Input<'_>, dispatch: bool) {
    let name = input.name;
    let valid_name = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid_name {
        out.node(&CODE, input.key, format!("input name `{}` must start with a letter or `_` and contain only letters, digits, `-` and `_`", name.escape_debug()));
    }
    if input.node.is_null() {
        return;
    }
    let Some(entries) = input.node.as_map() else {
        out.node(
            &CODE,
            input.node,
            format!("input `{name}` must be a mapping"),
        );
        return;
    };
    let known: &[&str] = if dispatch {
        &["description", "type", "required", "default", "options"]
    } else {
        &["description", "type", "required", "default"]
    };
    for (k, _) in entries {
        let key = k.as_str().unwrap_or("");
        if !known.contains(&key) {
            out.node(
                &CODE,
                k,
                format!("unknown key `{}` in input `{name}`", key.escape_debug()),
            )
            .note(format!("valid keys: {}", known.join(", ")));
        }
    }
    let types: &[&str] = if dispatch {
        &["string", "boolean", "number", "choice"]
    } else {
        &["string", "boolean", "number"]
    };
    let kind = match input.node.get("type") {
        Some(t) => match t.as_str() {
            Some("environment") if dispatch => {
                out.node(
                    &CODE,
                    t,
                    format!(
                        "input `{name}` has type `environment`, which Forgejo shows as invalid"
                    ),
                )
                .note("use `string` or `choice` with the environment names as options");
                return;
            }
            Some(k) if types.contains(&k) => k,
            _ => {
                out.node(
                    &CODE,
                    t,
                    format!(
                        "input `{name}` has an unknown type `{}`",
                        t.as_str().unwrap_or(t.kind_name())
                    ),
                )
                .note(format!("types: {}", types.join(", ")));
                return;
            }
        },
        None if !dispatch => {
            out.node(
                &CODE,
                input.key,
                format!("`workflow_call` input `{name}` needs a `type`"),
            );
            return;
        }
        None => "string",
    };
    if let Some(r) = input.node.get("required")
        && r.as_bool().is_none()
    {
        out.node(
            &CODE,
            r,
            format!("`required` of input `{name}` must be `true` or `false`"),
        );
    }
    let options: Option<Vec<&str>> = input.node.get("options").map(|o| match o.as_seq() {
        Some(items) => items.iter().filter_map(|i| i.as_str()).collect(),
        None => Vec::new(),
    });
    match (kind, input.node.get("options")) {
        ("choice", None) => {
            out.node(
                &CODE,
                input.key,
                format!("choice input `{name}` has no `options`"),
            );
        }
        ("choice", Some(o)) => {
            let ok = o.as_seq().is_some_and(|items| {
                !items.is_empty()
                    && items
                        .iter()
                        .all(|i| i.as_str().is_some_and(|s| !s.is_empty()))
            });
            if !ok {
                out.node(
                    &CODE,
                    o,
                    format!("`options` of input `{name}` must be a non-empty list of strings"),
                );
            }
        }
        (_, Some(o)) => {
            let k = input
                .node
                .as_map()
                .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some("options")))
                .map_or(o, |(k, _)| k);
            out.node(
                &CODE,
                k,
                format!("`options` only applies to `choice` inputs; `{name}` is a {kind}"),
            );
        }
        _ => {}
    }
    let Some(d) = input.node.get("default") else {
        return;
    };
    if d.is_null() {
        return;
    }
    let Value::Scalar { text, style } = &d.value else {
        out.node(
            &CODE,
            d,
            format!("the default of input `{name}` must be a single value"),
        );
        return;
    };
    if text.contains("${{") {
        return;
    }
    match kind {
        "boolean" => {
            let ok = matches!(text.as_str(), "true" | "false")
                && (*style == Style::Plain || *style == Style::Quoted);
            if !ok {
                out.node(
                    &CODE,
                    d,
                    format!(
                        "the default of boolean input `{name}` must be `true` or `false`, not `{}`",
                        text.escape_debug()
                    ),
                );
            }
        }
        "number" if text.trim().parse::<f64>().is_err() => {
            out.node(
                &CODE,
                d,
                format!(
                    "the default of number input `{name}` is not a number: `{}`",
                    text.escape_debug()
                ),
            );
        }
        "choice" => {
            if let Some(opts) = options
                && !opts.is_empty()
                && !opts.contains(&text.as_str())
            {
                out.node(
                    &CODE,
                    d,
                    format!(
                        "the default `{}` of choice input `{name}` is not one of its options",
                        text.escape_debug()
                    ),
                )
                .note(format!("options: {}", opts.join(", ")));
            }
        }
        _ => {}
    }
}
