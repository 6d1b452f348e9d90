//! `lint.unpinned_image`: a job container or service image named by a tag (or by nothing,
//! which means `latest`) instead of a digest. Whoever controls the registry or the tag can
//! change what the job runs in without a change to the workflow; `image@sha256:<digest>`
//! cannot move. `docker://` actions are `lint.unpinned_action`'s. Images built by `${{ }}`
//! are not judged.
use super::{Ctx, Rule, Sink, is_expression};
use crate::report::code::code;
use crate::yaml::Node;

code!(
    CODE,
    "lint.unpinned_image",
    Warning,
    "A job container or service image is named by a tag, not by a digest.",
    "Pin it: `image: registry/name@sha256:<digest>` (keep the tag in a comment); a tag can be moved to another image at any time."
);

pub static RULE: Rule = Rule { code: &CODE, check };

/// The image node of a `container:`/service value (a string, or a mapping with `image:`).
fn image_of(container: &Node) -> Option<&Node> {
    if container.as_str().is_some() {
        return Some(container);
    }
    container.get("image")
}

fn check_image(out: &mut Sink<'_>, container: &Node, what: &str) {
    let Some(node) = image_of(container) else {
        return;
    };
    let Some(text) = node.as_str() else { return };
    let image = text.trim();
    if node.is_null() || image.is_empty() || is_expression(node) || image.contains("@sha256:") {
        return;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    let message = match last.split_once(':') {
        Some((_, tag)) => format!(
            "{what} image `{}` is named by tag `{}`, which can move",
            image.escape_debug(),
            tag.escape_debug()
        ),
        None => format!(
            "{what} image `{}` has no tag or digest: it is whatever `latest` is when the job starts",
            image.escape_debug()
        ),
    };
    out.node(&CODE, node, message);
}

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    for job in &ctx.wf.jobs {
        for (service, node) in job.containers() {
            let what = match service {
                None => format!("job `{}`'s container", job.id),
                Some(name) => format!("service `{name}`"),
            };
            check_image(out, node, &what);
        }
    }
}
