//! `lint.invalid_file`: the file could not be read as a workflow at all (binary, not UTF-8,
//! too large, YAML syntax, nesting or alias limits). Raised by the driver, always an error.
use crate::report::code::code;

code!(
    CODE,
    "lint.invalid_file",
    Error,
    "The file cannot be read as a YAML workflow (binary, not UTF-8, too large, invalid YAML, too deep, or an alias bomb).",
    "Fix the file so that it is a single UTF-8 YAML document of reasonable size; Forgejo would reject it too."
);
