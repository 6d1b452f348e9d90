//! `lint.unpinned_action`: an action or reusable workflow referenced by a tag or branch
//! (which its owner can move) instead of a full commit sha. Both `owner/repo@ref` and the
//! full-URL form Forgejo accepts (`https://code.forgejo.org/actions/checkout@v4`) count.
use super::{Ctx, Rule, Sink, is_expression};
use crate::report::code::code;
use crate::yaml::Node;

code!(
    CODE,
    "lint.unpinned_action",
    Warning,
    "An action is used by a tag or branch, not by a full commit sha.",
    "Pin it: `uses: owner/repo@<40-hex sha> # v4.1.0`; a tag can be moved to other code at any time."
);

pub static RULE: Rule = Rule { code: &CODE, check };

fn is_sha(r: &str) -> bool {
    (r.len() == 40 || r.len() == 64) && r.bytes().all(|b| b.is_ascii_hexdigit())
}

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    let mut uses: Vec<&Node> = Vec::new();
    for job in &ctx.wf.jobs {
        if let Some(u) = job.node.get("uses") {
            uses.push(u);
        }
        uses.extend(job.steps.iter().filter_map(|s| s.uses));
    }
    for node in uses {
        let Some(text) = node.as_str() else { continue };
        let text = text.trim();
        // `$/...` is GitHub's self-repository form, which Forgejo cannot run: `lint.schema`
        // says so; it has no ref to pin.
        if text.starts_with("./")
            || text.starts_with("$/")
            || text.is_empty()
            || is_expression(node)
        {
            continue;
        }
        if let Some(image) = text.strip_prefix("docker://") {
            if !image.contains("@sha256:") {
                out.node(
                    &CODE,
                    node,
                    format!(
                        "docker image `{}` is not pinned by digest",
                        image.escape_debug()
                    ),
                )
                .note("use `docker://image@sha256:<digest>`");
            }
            continue;
        }
        match text.rsplit_once('@') {
            Some((_, r)) if is_sha(r) => {}
            Some((_, r)) => {
                out.node(
                    &CODE,
                    node,
                    format!(
                        "`{}` is pinned to `{}`, which can move",
                        text.escape_debug(),
                        r.escape_debug()
                    ),
                );
            }
            None => {
                out.node(
                    &CODE,
                    node,
                    format!("`{}` has no `@ref` at all", text.escape_debug()),
                );
            }
        }
    }
}
