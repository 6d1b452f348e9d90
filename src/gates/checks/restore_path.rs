//! A stateful module must say how it is restored. A sidecar-bound module may inherit the
//! restore path of a module in its `backup_ref_modules`. A runbook path must exist.

use crate::gates::{Check, Context, Ran};
use crate::model::{Manifest, ModuleId};
use crate::report::code::code;
use crate::report::{Code, Decision, Reason};

code!(
    MISSING,
    "scope.restore.missing",
    Error,
    "A stateful module declares no restore path, and inherits none.",
    "Add `spec.runtime.restore: runbook.md#restore` (a file in the module directory), or bind it to a parent with `backup_ref_modules`."
);
code!(
    NOT_FOUND,
    "scope.restore.not_found",
    Error,
    "The declared restore runbook does not exist in the module directory.",
    "Commit the runbook, or fix the path in spec.runtime.restore."
);
code!(
    OK,
    "scope.restore.ok",
    Info,
    "The module has a restore path.",
    "Nothing to do."
);

pub struct RestorePath;

impl Check for RestorePath {
    fn id(&self) -> &'static str {
        "restore-path"
    }
    fn summary(&self) -> &'static str {
        "stateful modules declare (or inherit) an existing restore path"
    }
    fn codes(&self) -> &'static [&'static Code] {
        static CODES: &[&Code] = &[&MISSING, &NOT_FOUND, &OK];
        CODES
    }
    fn run(&self, ctx: &Context, d: &mut Decision) -> Ran {
        let m = ctx.manifest;
        if !m.is_stateful() {
            return Ran::NotApplicable;
        }
        let subject = m.id.to_string();
        if let Some(restore) = &m.restore {
            check_exists(ctx, m, restore, None, d);
            return Ran::Yes;
        }
        for parent in &m.backup_ref_modules {
            let Ok(id) = ModuleId::parse(parent) else {
                continue;
            };
            match ctx.host.manifest(ctx.modules_dir, &id) {
                Ok(pm) => {
                    if let Some(restore) = &pm.restore {
                        check_exists(ctx, &pm, restore, Some(m), d);
                        return Ran::Yes;
                    }
                }
                Err(e) => {
                    d.push(
                        Reason::new(
                            &MISSING,
                            format!(
                                "cannot read `{parent}`, which `{}` inherits its restore path from: {}",
                                m.id, e.message
                            ),
                        )
                        .subject(subject.clone()),
                    );
                    return Ran::Yes;
                }
            }
        }
        d.push(
            Reason::new(
                &MISSING,
                format!(
                    "`{}` is stateful but declares no spec.runtime.restore{}",
                    m.id,
                    if m.backup_ref_modules.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " and none of {} declares one",
                            m.backup_ref_modules.join(", ")
                        )
                    }
                ),
            )
            .subject(subject),
        );
        Ran::Yes
    }
}

fn check_exists(
    ctx: &Context,
    owner: &Manifest,
    restore: &str,
    inherited_by: Option<&Manifest>,
    d: &mut Decision,
) {
    let subject = inherited_by.unwrap_or(owner).id.to_string();
    let how = match inherited_by {
        Some(child) => format!(
            "`{}` inherits the restore path of `{}`: ",
            child.id, owner.id
        ),
        None => format!("`{}` declares restore path: ", owner.id),
    };
    if restore.contains("://") {
        d.push(Reason::new(&OK, format!("{how}{restore}")).subject(subject));
        return;
    }
    let file = restore.split('#').next().unwrap_or_default();
    let bad = file.is_empty()
        || file.starts_with('/')
        || file.split('/').any(|c| c == ".." || c.is_empty());
    let exists = !bad && ctx.host.is_file(&owner.dir.join(file));
    if exists {
        d.push(Reason::new(&OK, format!("{how}{restore}")).subject(subject));
    } else {
        d.push(
            Reason::new(
                &NOT_FOUND,
                format!(
                    "{how}{restore}, but {} is not a file in the module directory",
                    owner.dir.join(file).display()
                ),
            )
            .subject(subject),
        );
    }
}
