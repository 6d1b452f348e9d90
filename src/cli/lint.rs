//! `lint_workflows` flags and glue. (Being built: see issue 4.)
