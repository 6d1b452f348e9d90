//! GitHub workflow commands (`::error file=...::message`), escaped as the runner expects.
//! Forgejo does not render these (the line shows raw in the log), so `text` is the default.
use crate::lint::FileResult;
use crate::report::Severity;

/// Escaping for the message part.
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping for a property value: also `:` and `,`.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One file's findings, one command line each.
pub fn file(file: &FileResult) -> String {
    let mut out = String::new();
    for f in &file.findings {
        let kind = match f.level {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        out.push_str(&format!(
            "::{kind} file={},line={},col={},title={}::{}\n",
            property(&f.file),
            f.line,
            f.col,
            property(f.code.id),
            data(&f.message)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_data_and_properties() {
        assert_eq!(data("a%b\nc\r"), "a%25b%0Ac%0D");
        assert_eq!(property("x:y,z"), "x%3Ay%2Cz");
    }
}
