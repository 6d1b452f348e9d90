//! Repository paths: globs compiled so that `*` never crosses a `/` (only `**` does), and
//! the check that a path is plain and relative.
use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

pub fn compile_glob(pattern: &str) -> Result<Glob, String> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| format!("invalid glob `{}`: {e}", pattern.escape_debug()))
}

/// A set of globs that remembers which pattern matched.
#[derive(Debug, Clone)]
pub struct Globs {
    patterns: Vec<String>,
    set: GlobSet,
}

impl Globs {
    pub fn new(patterns: &[String]) -> Result<Globs, String> {
        let mut builder = GlobSetBuilder::new();
        for p in patterns {
            builder.add(compile_glob(p)?);
        }
        Ok(Globs {
            patterns: patterns.to_vec(),
            set: builder.build().map_err(|e| e.to_string())?,
        })
    }

    /// The first pattern that matches `path`, if any.
    pub fn first_match(&self, path: &str) -> Option<&str> {
        self.set
            .matches(path)
            .into_iter()
            .min()
            .map(|i| self.patterns[i].as_str())
    }
}

/// Is `path` a plain repository-relative path that fits on one line of a list file?
pub fn check_path(path: &str) -> Result<(), String> {
    // An empty path and an absolute one both have an empty component.
    let bad = path.chars().any(|c| c.is_control())
        || path
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..");
    if bad {
        Err(format!(
            "{:?} is not a plain relative path",
            path.chars().take(200).collect::<String>()
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_does_not_cross_directories() {
        let g = Globs::new(&["modules/*".to_string()]).unwrap();
        assert!(g.first_match("modules/a").is_some());
        assert!(g.first_match("modules/a/b").is_none());
        let g = Globs::new(&["compose/**".to_string()]).unwrap();
        assert!(g.first_match("compose/x/y.yml").is_some());
    }
}
