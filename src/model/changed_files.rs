//! A changed-files list read the way git wrote it, for `auto_apply_scope --changed-files` and
//! `canary_required --changed-files`, with the code it is refused with ([`FILES_INVALID`]).
//!
//! Two formats, told apart by one byte:
//! - **NUL-terminated** (`git diff -z --name-only`, and what `collect-diff` writes): the list
//!   holds a NUL byte. Every path ends with a NUL and is taken byte for byte; git never quotes
//!   in this format. A list whose last path has no NUL was cut short and is refused.
//! - **One path per line** (`git diff --name-only`): no NUL byte anywhere. A line that starts
//!   with `"` is a path git quoted (`core.quotePath`, on by default: a path with a byte of
//!   0x80 or more, a control character, `"` or `\`), decoded exactly as git's `quote_c_style`
//!   encodes it: `\a \b \t \n \v \f \r \" \\` and three-digit octal escapes `\ooo` for single
//!   bytes. Anything else after a backslash, a missing closing quote, or text after it is not
//!   something git writes: refused. A path that starts with `"` is always quoted by git, so a
//!   quoted line is never a literal path. Empty lines are skipped; a trailing `\r` is dropped
//!   (git quotes a real one).
//!
//! The decoded bytes must be UTF-8, and every path must be plain and repository-relative (no
//! empty, `.` or `..` component, no control character): otherwise the list cannot be
//! evaluated (exit 2), never read as "touches nothing".

use crate::report::GateError;
use crate::report::code::code;

code!(
    FILES_INVALID,
    "input.changed_files_invalid",
    Error,
    "The changed-files list is empty, is not in a format git writes (a quoted line git would not write, a NUL list cut short), holds a path that is not a plain relative path, or names no path of a module folder of the base that is gone at the head (a list written with rename detection).",
    "Write the list with `git diff --no-renames -z --name-only BASE...HEAD` (or canary_required collect-diff); an empty list means the diff was not collected."
);

/// The largest changed-files list read (a list of every path of a big monorepo fits).
pub const MAX_CHANGED_FILES_BYTES: u64 = 8 * 1024 * 1024;

/// The reason a list is refused, with where.
fn invalid(what: String) -> GateError {
    GateError::new(&FILES_INVALID, what)
}

fn shown(bytes: &[u8]) -> String {
    crate::model::truncate(&String::from_utf8_lossy(bytes))
}

/// Parse a changed-files list in either format; an empty list is an error.
pub fn parse(bytes: &[u8]) -> Result<Vec<String>, GateError> {
    let files = if bytes.contains(&0) {
        parse_nul(bytes)?
    } else {
        parse_lines(bytes)?
    };
    if files.is_empty() {
        return Err(invalid(
            "the changed-files list is empty: nothing to evaluate (was the diff collected?)".into(),
        ));
    }
    Ok(files)
}

fn parse_nul(bytes: &[u8]) -> Result<Vec<String>, GateError> {
    let Some(body) = bytes.strip_suffix(b"\0") else {
        return Err(invalid(
            "the NUL-separated changed-files list does not end with a NUL: it was cut short (git diff -z ends every path with one)".into(),
        ));
    };
    let mut out = Vec::new();
    for (n, raw) in body.split(|b| *b == 0).enumerate() {
        let path = std::str::from_utf8(raw).map_err(|_| {
            invalid(format!(
                "changed-files entry {}: {:?} is not UTF-8",
                n + 1,
                shown(raw)
            ))
        })?;
        check(path, &format!("entry {}", n + 1))?;
        out.push(path.to_string());
    }
    Ok(out)
}

fn parse_lines(bytes: &[u8]) -> Result<Vec<String>, GateError> {
    let mut out = Vec::new();
    for (n, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let at = format!("line {}", n + 1);
        let decoded;
        let raw = if line.first() == Some(&b'"') {
            decoded = unquote(line).map_err(|why| {
                invalid(format!(
                    "changed-files {at}: {:?} is not a path as git quotes it ({why}); write the list with `git diff -z --name-only`",
                    shown(line)
                ))
            })?;
            &decoded[..]
        } else {
            line
        };
        let path = std::str::from_utf8(raw)
            .map_err(|_| invalid(format!("changed-files {at}: {:?} is not UTF-8", shown(raw))))?;
        check(path, &at)?;
        out.push(path.to_string());
    }
    Ok(out)
}

fn check(path: &str, at: &str) -> Result<(), GateError> {
    crate::paths::check_path(path).map_err(|e| invalid(format!("changed-files {at}: {e}")))
}

/// The module a changed path touches, if any: `<modules_dir>/<id>/...` touches `<id>`, and so
/// does the bare `<modules_dir>/<id>` when `<id>` is a valid module id (the module's own entry
/// changed: a submodule's gitlink bumped, or the folder replaced by a symlink, a submodule or
/// a file). A path directly in `modules_dir` that is not named like a module belongs to none.
/// A folder whose name is not a valid module id is an error: it cannot be classified, and
/// "no module" would be a silent pass. Both gates count modules with this one function.
pub fn module_of<'a>(path: &'a str, modules_dir: &str) -> Result<Option<&'a str>, GateError> {
    let Some(rest) = path
        .strip_prefix(modules_dir)
        .and_then(|r| r.strip_prefix('/'))
    else {
        return Ok(None);
    };
    match rest.split_once('/') {
        Some((dir, _)) => match crate::model::ModuleId::parse(dir) {
            Ok(_) => Ok(Some(dir)),
            Err(e) => Err(GateError::new(
                e.code,
                format!(
                    "{path}: touches a folder of {modules_dir}/ whose name is not a valid module id, so the module cannot be classified: {}",
                    e.message
                ),
            )),
        },
        None => Ok(crate::model::ModuleId::parse(rest).is_ok().then_some(rest)),
    }
}

/// The changed paths grouped by the module they touch ([`module_of`]), by module id (sorted),
/// each module's paths in the list's order.
pub fn touched_modules(
    changed: &[String],
    modules_dir: &str,
) -> Result<Vec<(String, Vec<String>)>, GateError> {
    let mut out: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for path in changed {
        if let Some(id) = module_of(path, modules_dir)? {
            out.entry(id.to_string()).or_default().push(path.clone());
        }
    }
    Ok(out.into_iter().collect())
}

/// A plain list (`--changed-files`) carries no status letters, so a list written with rename
/// detection (`git diff --name-only` without `--no-renames`) names a moved module under its
/// new folder only, and the old one would read as untouched. Cross-checked against the trees:
/// every module folder of the base (`base`: the names in `<modules_dir>/` there) must still be
/// at the head (`head`), or the list must name a path of it (its deletion). Otherwise the list
/// is refused: it is not a complete `--no-renames` list.
pub fn check_no_module_vanished(
    changed: &[String],
    modules_dir: &str,
    base: &std::collections::BTreeSet<String>,
    head: &std::collections::BTreeSet<String>,
) -> Result<(), GateError> {
    let touched: std::collections::BTreeSet<String> = touched_modules(changed, modules_dir)?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let vanished: Vec<&str> = base
        .iter()
        .filter(|id| crate::model::ModuleId::parse(id).is_ok())
        .filter(|id| !head.contains(*id) && !touched.contains(*id))
        .map(String::as_str)
        .collect();
    if vanished.is_empty() {
        return Ok(());
    }
    Err(invalid(format!(
        "module folder(s) {} of the base are gone at the head, yet the changed-files list names no path in them: the list was written with rename detection (a moved module listed under its new name only) or is incomplete; write it with `git diff --no-renames -z --name-only BASE...HEAD` (or canary_required collect-diff)",
        vanished
            .iter()
            .take(5)
            .map(|id| format!("`{modules_dir}/{id}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// Where a symbolic link at `link` (a repository path) with `target` points, as a repository
/// path: resolved from the link's folder, component by component. `None` when it points
/// outside the repository (absolute, or above the root): no changed path can be there.
pub fn link_destination(link: &str, target: &str) -> Option<String> {
    if target.starts_with('/') || target.is_empty() {
        return None;
    }
    let mut parts: Vec<&str> = link.split('/').collect();
    parts.pop();
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// The symbolic links (`(path, target)`, from the base and the head) whose destination a
/// changed path is, lies under, or contains (a folder on the way replaced): each such link's
/// own path, not already in `changed`, with the changed path that reaches it. A module is
/// touched through its links as through its files: `modules/pg/compose.yml ->
/// ../../shared/pg/compose.yml` makes a change of `shared/pg/compose.yml` a change of `pg`.
pub fn through_links(changed: &[String], links: &[(String, String)]) -> Vec<(String, String)> {
    let listed: std::collections::HashSet<&str> = changed.iter().map(String::as_str).collect();
    let mut out: Vec<(String, String)> = Vec::new();
    for (link, target) in links {
        if listed.contains(link.as_str()) || out.iter().any(|(l, _)| l == link) {
            continue;
        }
        let Some(dest) = link_destination(link, target) else {
            continue;
        };
        let under =
            |a: &str, b: &str| a == b || a.strip_prefix(b).is_some_and(|r| r.starts_with('/'));
        if let Some(path) = changed.iter().find(|p| under(p, &dest) || under(&dest, p)) {
            out.push((link.clone(), path.clone()));
        }
    }
    out
}

/// Undo git's `quote_c_style` on one whole quoted line (`"..."`).
pub fn unquote(line: &[u8]) -> Result<Vec<u8>, &'static str> {
    let inner = line
        .strip_prefix(b"\"")
        .ok_or("it does not start with a quote")?;
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    loop {
        let Some(&b) = inner.get(i) else {
            return Err("the closing quote is missing");
        };
        i += 1;
        match b {
            b'"' => {
                return if i == inner.len() {
                    Ok(out)
                } else {
                    Err("there is text after the closing quote")
                };
            }
            b'\\' => {
                let Some(&e) = inner.get(i) else {
                    return Err("it ends in a backslash");
                };
                i += 1;
                out.push(match e {
                    b'a' => 0x07,
                    b'b' => 0x08,
                    b't' => b'\t',
                    b'n' => b'\n',
                    b'v' => 0x0b,
                    b'f' => 0x0c,
                    b'r' => b'\r',
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'0'..=b'3' => {
                        let digits = inner.get(i..i + 2).ok_or("an octal escape is cut short")?;
                        if !digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                            return Err("an octal escape does not have three digits");
                        }
                        i += 2;
                        (e - b'0') * 64 + (digits[0] - b'0') * 8 + (digits[1] - b'0')
                    }
                    _ => return Err("an escape git does not write"),
                });
            }
            // git escapes these inside quotes; a raw one means the line was not written by git.
            b if b < 0x20 || b == 0x7f => return Err("a raw control character"),
            b => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_quoting_is_undone_exactly() {
        assert_eq!(
            unquote(br#""a\303\251 \"q\" \\ \t\n\a\b\v\f\r""#).unwrap(),
            b"a\xc3\xa9 \"q\" \\ \t\n\x07\x08\x0b\x0c\r"
        );
        assert_eq!(unquote(br#""\000\377""#).unwrap(), b"\x00\xff");
        for bad in [
            &br#""abc"#[..],
            br#""abc\"#,
            br#""a\x41""#,
            br#""a\4000""#,
            br#""a\38""#,
            br#""a\3""#,
            br#""a" b"#,
            b"\"a\x01\"",
        ] {
            assert!(unquote(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn touched_modules_groups_paths_by_module_and_refuses_bad_ids() {
        let changed: Vec<String> = [
            "modules/b/x",
            "modules/a/module.yaml",
            "modules/README.md",
            "modules/b/y/z",
            "other/modules/c/x",
            // A submodule's gitlink, or the folder's own entry replaced.
            "modules/c",
            "modulesx/d/e",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let t = touched_modules(&changed, "modules").unwrap();
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            t,
            vec![
                ("a".to_string(), owned(&["modules/a/module.yaml"])),
                ("b".to_string(), owned(&["modules/b/x", "modules/b/y/z"])),
                ("c".to_string(), owned(&["modules/c"])),
            ]
        );
        assert!(touched_modules(&["modules/Bad_Id/x".to_string()], "modules").is_err());
        assert_eq!(module_of("modules/Bad_Id", "modules").unwrap(), None);
        assert_eq!(module_of("p/modules/a/x", "p/modules").unwrap(), Some("a"));
        assert_eq!(module_of("p/modules/a", "p/modules").unwrap(), Some("a"));
    }

    #[test]
    fn a_base_module_gone_at_the_head_must_be_listed() {
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let base = set(&["pg", "web", "README.md"]);
        // Renamed pg -> pg2, listed under the new name only: refused.
        let head = set(&["pg2", "web"]);
        let e = check_no_module_vanished(&list(&["modules/pg2/a"]), "modules", &base, &head)
            .unwrap_err();
        assert_eq!(e.code.id, "input.changed_files_invalid");
        assert!(e.message.contains("`modules/pg`"), "{}", e.message);
        // Listed (as a deletion), or still there: fine. A non-module name is not a module.
        assert!(
            check_no_module_vanished(
                &list(&["modules/pg2/a", "modules/pg/a"]),
                "modules",
                &base,
                &head
            )
            .is_ok()
        );
        assert!(check_no_module_vanished(&list(&["x"]), "modules", &base, &base).is_ok());
    }

    #[test]
    fn a_change_reaching_a_module_through_its_link_touches_the_module() {
        assert_eq!(
            link_destination("modules/pg/compose.yml", "../../shared/pg/compose.yml").as_deref(),
            Some("shared/pg/compose.yml")
        );
        assert_eq!(
            link_destination("modules/pg/conf", "./a//b/../c").as_deref(),
            Some("modules/pg/a/c")
        );
        assert_eq!(link_destination("modules/pg/x", "/etc/passwd"), None);
        assert_eq!(link_destination("modules/pg/x", "../../../up"), None);
        let links = vec![
            (
                "modules/pg/compose.yml".to_string(),
                "../../shared/pg/compose.yml".to_string(),
            ),
            (
                "modules/web/conf".to_string(),
                "../../shared/web".to_string(),
            ),
        ];
        let changed = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // The target itself, a file under a linked folder, a folder on the way.
        assert_eq!(
            through_links(&changed(&["shared/pg/compose.yml"]), &links),
            vec![(
                "modules/pg/compose.yml".to_string(),
                "shared/pg/compose.yml".to_string()
            )]
        );
        assert_eq!(
            through_links(&changed(&["shared/web/nginx/x.conf"]), &links)[0].0,
            "modules/web/conf"
        );
        assert_eq!(through_links(&changed(&["shared"]), &links).len(), 2);
        assert!(through_links(&changed(&["shared/pgx", "shared/web2/a"]), &links).is_empty());
    }

    #[test]
    fn both_formats_give_the_same_paths() {
        let lines = parse(b"\"\\303\\274.md\"\nb c/d.yml\r\n\n").unwrap();
        let nul = parse("ü.md\0b c/d.yml\0".as_bytes()).unwrap();
        assert_eq!(lines, vec!["ü.md", "b c/d.yml"]);
        assert_eq!(lines, nul);
    }

    #[test]
    fn what_git_does_not_write_is_refused() {
        for bad in [
            &b""[..],
            b"\n\n",
            b"\0",
            b"a\0b",
            b"a\0\0",
            b"\"a\\tb\"\n",
            b"\"\\377\"\n",
            b"a\nb\0",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.code.id, "input.changed_files_invalid", "{bad:?}");
        }
    }
}
