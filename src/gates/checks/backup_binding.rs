//! A module bound to other modules' backups (`backup_ref_modules`) is bound to modules that
//! exist and hold data: the binding decides which backups count as this module's, so a name
//! of a stateless module (or of none) made any fresh archive of that name a valid backup.

use crate::gates::{Check, Context, Ran};
use crate::model::ModuleId;
use crate::report::code::code;
use crate::report::{Code, Decision, Reason};

code!(
    UNKNOWN,
    "scope.backup_binding.unknown",
    Error,
    "The module's backup_ref_modules names a module without a readable manifest, so nothing says whose data its backups hold.",
    "Name only modules that exist under the modules directory with a valid manifest, or remove the entry."
);
code!(
    STATELESS,
    "scope.backup_binding.stateless",
    Error,
    "The module's backup_ref_modules names a stateless module: a stateless module's backups (if any) do not hold this module's data.",
    "Bind the module to the stateful module whose backups hold its data, or remove the entry."
);
code!(
    OK,
    "scope.backup_binding.ok",
    Info,
    "Every module in backup_ref_modules exists and is stateful.",
    "Nothing to do."
);

pub struct BackupBinding;

impl Check for BackupBinding {
    fn id(&self) -> &'static str {
        "backup-binding"
    }
    fn summary(&self) -> &'static str {
        "the modules in backup_ref_modules exist and are stateful"
    }
    fn codes(&self) -> &'static [&'static Code] {
        static CODES: &[&Code] = &[&UNKNOWN, &STATELESS, &OK];
        CODES
    }
    fn run(&self, ctx: &Context, d: &mut Decision) -> Ran {
        let m = ctx.manifest;
        if !m.is_stateful() || m.backup_ref_modules.is_empty() {
            return Ran::NotApplicable;
        }
        let subject = m.id.to_string();
        let mut ok = true;
        for bound in &m.backup_ref_modules {
            if bound == m.id.as_str() {
                continue;
            }
            let manifest = ModuleId::parse(bound)
                .and_then(|id| ctx.host.manifest(ctx.modules_dir, &id))
                .map_err(|e| e.message);
            match manifest {
                Err(why) => {
                    ok = false;
                    d.push(
                        Reason::new(
                            &UNKNOWN,
                            format!(
                                "`{}` is bound to the backups of `{bound}`, which cannot be read: {why}",
                                m.id
                            ),
                        )
                        .subject(subject.clone()),
                    );
                }
                Ok(bm) if !bm.is_stateful() => {
                    ok = false;
                    d.push(
                        Reason::new(
                            &STATELESS,
                            format!(
                                "`{}` is bound to the backups of `{bound}`, which is stateless",
                                m.id
                            ),
                        )
                        .subject(subject.clone()),
                    );
                }
                Ok(_) => {}
            }
        }
        if ok {
            d.push(
                Reason::new(
                    &OK,
                    format!(
                        "`{}` takes its backups from {} (each exists and is stateful)",
                        m.id,
                        m.backup_ref_modules.join(", ")
                    ),
                )
                .subject(subject),
            );
        }
        Ran::Yes
    }
}
