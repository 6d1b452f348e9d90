//! Every drift item must be of an allow-listed kind and target the module's own service, and
//! every field of it is checked: a `container.state.exited_success` item must name the module's
//! own container (`<compose project>-<service>-<n>`, as compose v2 names containers, with the
//! project from the manifest's `spec.compose.project` and the service its id), want the
//! successful exit (`desired: exited(0)`) and come from a failed one (`current: exited(1..255)`).
//! An item of another allow-listed kind that names a container must name the module's own.
//! Every offending item is listed, not only the first.

use crate::gates::{Check, Context, Ran};
use crate::model::Manifest;
use crate::report::code::code;
use crate::report::{Code, Decision, Reason};

code!(
    KIND,
    "plan.drift.kind_not_allowed",
    Error,
    "A drift item's kind is not on the policy's allow-list for one-shot applies.",
    "Only the listed kinds (default: container.state.exited_success) may be applied this way; apply anything else by hand."
);
code!(
    FOREIGN,
    "plan.drift.foreign_service",
    Error,
    "A drift item targets a service other than the module's own.",
    "A one-shot apply may only touch the module's own service; plan and apply the other module separately."
);
code!(
    FOREIGN_CONTAINER,
    "plan.drift.foreign_container",
    Error,
    "A drift item's container is not the module's own (`<compose project>-<service>-<n>`), is missing, or cannot be proven to be its own because the manifest declares no compose project.",
    "Plan the module itself; declare `spec.compose.project` in its manifest if it is missing. A one-shot apply only re-runs the module's own container."
);
code!(
    DESIRED,
    "plan.drift.desired_not_success",
    Error,
    "A container.state.exited_success item does not want the successful exit: `desired` is not exactly `exited(0)`.",
    "This kind only re-runs a one-shot to its successful exit; a plan that wants anything else is not this kind of change. Apply it by hand."
);
code!(
    CURRENT,
    "plan.drift.current_unexpected",
    Error,
    "A container.state.exited_success item's `current` is not a failed exit (`exited(N)`, N from 1 to 255): the container is running, restarting, missing, already succeeded, or the state is unknown.",
    "Re-run a one-shot only after it failed; wait for a running one to finish, and apply anything else by hand."
);
code!(
    OK,
    "plan.drift.ok",
    Info,
    "Every drift item is allow-listed and targets the module's own service; a container.state.exited_success item names the module's own container and goes from a failed exit to `exited(0)`.",
    "Nothing to do."
);
code!(
    NOOP,
    "plan.noop",
    Info,
    "The plan has no drift: there is nothing to apply.",
    "The workflow skips the apply step (exit 3) and runs the health check as a smoke."
);

pub struct DriftItems;

impl Check for DriftItems {
    fn id(&self) -> &'static str {
        "drift-items"
    }
    fn summary(&self) -> &'static str {
        "every drift item is an allow-listed kind on the module's own service"
    }
    fn codes(&self) -> &'static [&'static Code] {
        static CODES: &[&Code] = &[
            &KIND,
            &FOREIGN,
            &FOREIGN_CONTAINER,
            &DESIRED,
            &CURRENT,
            &OK,
            &NOOP,
        ];
        CODES
    }
    fn run(&self, ctx: &Context, d: &mut Decision) -> Ran {
        let Some(plan) = ctx.plan else {
            return Ran::NotApplicable;
        };
        if plan.drift.is_empty() {
            d.push(Reason::new(&NOOP, "the plan has no drift").subject("plan"));
            return Ran::Yes;
        }
        let allowed = &ctx.policy.plan.allowed_drift_kinds;
        let own = ctx.manifest.id.as_str();
        let mut bad = false;
        for item in &plan.drift {
            let subject = format!("drift[{}]", item.index);
            if !allowed.contains(&item.kind) {
                bad = true;
                d.push(
                    Reason::new(
                        &KIND,
                        format!(
                            "drift[{}] kind {:?} is not allowed (allowed: {})",
                            item.index,
                            crate::model::truncate(&item.kind),
                            allowed.join(", ")
                        ),
                    )
                    .subject(subject.clone()),
                );
            }
            if item.service != own {
                bad = true;
                d.push(
                    Reason::new(
                        &FOREIGN,
                        format!(
                            "drift[{}] targets service {:?}, not `{own}`",
                            item.index,
                            crate::model::truncate(&item.service)
                        ),
                    )
                    .subject(subject.clone()),
                );
            }
            let exited_success = item.kind == EXITED_SUCCESS;
            if (exited_success || item.container.is_some())
                && let Err(why) = own_container(ctx.manifest, item.container.as_deref())
                    .and_then(|()| unambiguous_container(ctx))
            {
                bad = true;
                d.push(
                    Reason::new(&FOREIGN_CONTAINER, format!("drift[{}]: {why}", item.index))
                        .subject(subject.clone()),
                );
            }
            if !exited_success {
                continue;
            }
            if item.desired.as_deref() != Some("exited(0)") {
                bad = true;
                d.push(
                    Reason::new(
                        &DESIRED,
                        format!(
                            "drift[{}] wants {}, not the successful exit `exited(0)`",
                            item.index,
                            shown(item.desired.as_deref())
                        ),
                    )
                    .subject(subject.clone()),
                );
            }
            if failed_exit(item.current.as_deref()).is_none() {
                bad = true;
                d.push(
                    Reason::new(
                        &CURRENT,
                        format!(
                            "drift[{}] comes from {}, not a failed exit `exited(N)` with N from 1 to 255",
                            item.index,
                            shown(item.current.as_deref())
                        ),
                    )
                    .subject(subject),
                );
            }
        }
        if !bad {
            let items: Vec<String> = plan
                .drift
                .iter()
                .map(|i| {
                    format!(
                        "{} on {} ({} -> {})",
                        i.kind,
                        i.container.as_deref().unwrap_or(&i.service),
                        i.current.as_deref().unwrap_or("?"),
                        i.desired.as_deref().unwrap_or("?")
                    )
                })
                .collect();
            d.push(Reason::new(&OK, format!("drift: {}", items.join("; "))).subject("plan"));
        }
        Ran::Yes
    }
}

/// The one kind whose fields this gate understands.
const EXITED_SUCCESS: &str = "container.state.exited_success";

fn shown(value: Option<&str>) -> String {
    match value {
        None => "nothing (the field is absent)".into(),
        Some(v) => format!("{:?}", crate::model::truncate(v)),
    }
}

/// The exit code of `exited(N)`, N a decimal from 1 to 255 without sign or leading zero.
fn failed_exit(current: Option<&str>) -> Option<u8> {
    let digits = current?.strip_prefix("exited(")?.strip_suffix(')')?;
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u8>().ok()
}

/// Whether `container` is the module's own: `<project>-<service>-<n>`, the name compose v2
/// gives the n-th container of a service, with the manifest's project and the module id as
/// the service. `Err` says why not.
/// `<project>-<id>` must not also read as another module's `<its project>-<its id>`: names
/// are joined with `-`, which both may contain, so `home` + `platform-postgres` spells
/// `home-platform` + `postgres`, and the "own container" would be the database's. Every other
/// way of splitting the name at a `-` is looked up; a module there whose project (its own, or
/// the policy's `backup.compose_project`) makes the same name, or whose manifest cannot be
/// read, makes the name ambiguous.
fn unambiguous_container(ctx: &Context) -> Result<(), String> {
    let m = ctx.manifest;
    let Some(project) = m.compose_project.as_deref() else {
        return Ok(());
    };
    let joined = format!("{project}-{}", m.id);
    for (at, _) in joined.match_indices('-') {
        let (other_project, other_id) = (&joined[..at], &joined[at + 1..]);
        if other_project == project {
            continue;
        }
        let Ok(id) = crate::model::ModuleId::parse(other_id) else {
            continue;
        };
        let clash = match ctx.host.manifest(ctx.modules_dir, &id) {
            Ok(other) => {
                other
                    .compose_project
                    .as_deref()
                    .unwrap_or(&ctx.policy.backup.compose_project)
                    == other_project
            }
            Err(e) => e.code.id != "manifest.missing",
        };
        if clash {
            return Err(format!(
                "the container name `{joined}-<n>` is also module `{other_id}`'s in project `{other_project}` (or its manifest cannot be read): the name cannot show whose container it is; rename a project or a module"
            ));
        }
    }
    Ok(())
}

fn own_container(manifest: &Manifest, container: Option<&str>) -> Result<(), String> {
    let Some(container) = container else {
        return Err("names no container, so it cannot be shown to be the module's own".into());
    };
    let Some(project) = manifest.compose_project.as_deref() else {
        return Err(format!(
            "names container {:?}, but `{}` declares no spec.compose.project, so it cannot be shown to be the module's own",
            crate::model::truncate(container),
            manifest.id
        ));
    };
    let prefix = format!("{project}-{}-", manifest.id);
    let index_ok = container.strip_prefix(&prefix).is_some_and(|n| {
        !n.is_empty() && !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit())
    });
    if index_ok {
        Ok(())
    } else {
        Err(format!(
            "names container {:?}, not the module's own `{prefix}<n>`",
            crate::model::truncate(container)
        ))
    }
}
