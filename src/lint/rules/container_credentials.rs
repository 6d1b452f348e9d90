//! `lint.container_credentials`: a registry password written into the workflow as text, in
//! `jobs.<id>.container.credentials.password` or `jobs.<id>.services.<name>.credentials.password`.
//! Everyone who can read the repository can read it, and it stays in the git history after it
//! is removed. A value built by `${{ }}` (from `secrets`) is what is expected; an empty value
//! is no credential and is left alone.
use super::{Ctx, Rule, Sink, is_expression};
use crate::report::code::code;
use crate::yaml::Node;

code!(
    CODE,
    "lint.container_credentials",
    Error,
    "A container or service registry password is written in the workflow as plain text.",
    "Store the password as a secret and write `password: ${{ secrets.REGISTRY_PASSWORD }}`; then change the password, since the old one is in the git history."
);

pub static RULE: Rule = Rule { code: &CODE, check };

fn check_container(out: &mut Sink<'_>, container: &Node, what: &str) {
    let Some(password) = container.get("credentials").and_then(|c| c.get("password")) else {
        return;
    };
    let Some(text) = password.as_str() else {
        return;
    };
    if password.is_null() || text.trim().is_empty() || is_expression(password) {
        return;
    }
    out.node(
        &CODE,
        password,
        format!("the registry password of {what} is written here as plain text"),
    )
    .note("anyone who can read the repository can read it, also in its history");
}

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    for job in &ctx.wf.jobs {
        for (service, node) in job.containers() {
            let what = match service {
                None => format!("job `{}`'s container", job.id),
                Some(name) => format!("service `{name}` of job `{}`", job.id),
            };
            check_container(out, node, &what);
        }
    }
}
