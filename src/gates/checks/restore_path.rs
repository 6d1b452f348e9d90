//! A stateful module must say how it is restored. A sidecar-bound module may inherit the
//! restore path of a module in its `backup_ref_modules`.
//!
//! `restore:` is a URL only when the whole value is an `http://` or `https://` URL with a
//! host; anything else is a path (with an optional `#section`) to a regular file in the module
//! directory, reached without a link. The one way out of the directory is a sidecar pointing
//! at exactly the restore section a module in its `backup_ref_modules` declares
//! (`../minio/runbook.md#restore` when minio declares `runbook.md#restore`).

use crate::gates::{Check, Context, Ran};
use crate::model::{Manifest, ModuleId};
use crate::report::code::code;
use crate::report::{Code, Decision, Reason};
use std::path::Path;

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
    "The declared restore path is not a whole http(s) URL, and not a regular file in the module directory reached without a link.",
    "Commit the runbook (not a symlink), or fix spec.runtime.restore: a path relative to the module directory with an optional #section, or a whole https:// URL."
);
code!(
    OUTSIDE,
    "scope.restore.outside_module",
    Error,
    "The restore path leads out of the module directory, and is not exactly the restore section of a module in the module's backup_ref_modules.",
    "Keep the runbook in the module directory, or (for a sidecar) write `../<module>/<its restore value>` for a module listed in backup_ref_modules, exactly as that module declares it."
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
        static CODES: &[&Code] = &[&MISSING, &NOT_FOUND, &OUTSIDE, &OK];
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
    let shown = restore.escape_debug().to_string();
    let (code, why) = match where_it_points(ctx, owner, restore) {
        Ok(()) => {
            d.push(Reason::new(&OK, format!("{how}{shown}")).subject(subject));
            return;
        }
        Err(e) => e,
    };
    d.push(Reason::new(code, format!("{how}{shown}, but {why}")).subject(subject));
}

/// `Ok` when `restore` is a whole http(s) URL or an existing file it may point at; else the
/// code and why not.
fn where_it_points(
    ctx: &Context,
    owner: &Manifest,
    restore: &str,
) -> Result<(), (&'static Code, String)> {
    if is_http_url(restore) {
        return Ok(());
    }
    let file = restore.split('#').next().unwrap_or_default();
    if file.starts_with("../") {
        return sidecar_section(ctx, owner, restore);
    }
    if file.starts_with('/') || file.split('/').any(|c| c == "..") {
        return Err((
            &OUTSIDE,
            "it is not a URL (only a whole http(s):// URL is) and leads out of the module directory".into(),
        ));
    }
    if plain_relative(file) && ctx.host.is_file(&owner.dir, Path::new(file)) {
        return Ok(());
    }
    Err((
        &NOT_FOUND,
        format!(
            "it is not a URL (only a whole http(s):// URL is), and {} is not a regular file in the module directory (links are not followed)",
            owner.dir.join(file).display()
        ),
    ))
}

/// `../<module>/<rest>`: allowed only for a module in `backup_ref_modules` whose own restore
/// value is exactly `<rest>` (with its section), a file in that module's directory.
fn sidecar_section(
    ctx: &Context,
    owner: &Manifest,
    restore: &str,
) -> Result<(), (&'static Code, String)> {
    let outside = |why: String| Err((&OUTSIDE, why));
    let rest_with_section = &restore["../".len()..];
    let Some((module, rest)) = rest_with_section.split_once('/') else {
        return outside("it leads out of the module directory".into());
    };
    if !owner.backup_ref_modules.iter().any(|m| m == module) {
        return outside(format!(
            "`{}` is not in its backup_ref_modules ({}), the only modules whose restore section it may point at",
            module.escape_debug(),
            if owner.backup_ref_modules.is_empty() {
                "none".to_string()
            } else {
                owner.backup_ref_modules.join(", ")
            }
        ));
    }
    let Ok(id) = ModuleId::parse(module) else {
        return outside(format!("`{}` is not a module id", module.escape_debug()));
    };
    let target = match ctx.host.manifest(ctx.modules_dir, &id) {
        Ok(m) => m,
        Err(e) => {
            return Err((
                &NOT_FOUND,
                format!("the manifest of `{module}` cannot be read: {}", e.message),
            ));
        }
    };
    let Some(declared) = target.restore.as_deref() else {
        return outside(format!("`{module}` declares no restore path to point at"));
    };
    let file = declared.split('#').next().unwrap_or_default();
    if declared != rest || is_http_url(declared) || !plain_relative(file) {
        return outside(format!(
            "it is not exactly the restore section `{module}` declares (`../{module}/{}`)",
            declared.escape_debug()
        ));
    }
    if ctx.host.is_file(&target.dir, Path::new(file)) {
        Ok(())
    } else {
        Err((
            &NOT_FOUND,
            format!(
                "{} is not a regular file in the directory of `{module}` (links are not followed)",
                target.dir.join(file).display()
            ),
        ))
    }
}

/// A path of plain names: not empty, no empty, `.` or `..` component, not absolute.
fn plain_relative(file: &str) -> bool {
    !file.is_empty()
        && file
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

/// The whole value is an `http://` or `https://` URL: a host (letters, digits, `.`, `-`, not
/// starting or ending with `.` or `-`), an optional port, then optionally a path, query or
/// section made of printable ASCII without spaces, quotes, `<`, `>` or backslashes.
pub fn is_http_url(value: &str) -> bool {
    let Some(rest) = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
    else {
        return false;
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let host_ok = !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    let tail_ok = tail
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'<' | b'>' | b'\\' | b'`'));
    host_ok && port_ok && tail_ok
}

#[cfg(test)]
mod tests {
    use super::is_http_url;

    #[test]
    fn only_a_whole_http_url_is_a_url() {
        for url in [
            "https://wiki.example.com",
            "https://wiki.example.com/runbooks/minio#restore",
            "http://wiki.internal:8080/a?b=c",
        ] {
            assert!(is_http_url(url), "{url}");
        }
        for not in [
            "runbook.md#x://",
            "see https://wiki.example.com",
            "https://",
            "https:///x",
            "https://wiki.example.com/run book",
            "https://.example.com",
            "https://wiki.example.com:/x",
            "https://user@wiki.example.com/",
            "HTTPS://wiki.example.com",
            "file:///etc/passwd",
            "ftp://wiki.example.com",
            "https://wiki.example.com\n",
        ] {
            assert!(!is_http_url(not), "{not}");
        }
    }
}
