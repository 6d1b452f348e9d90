//! `canary_required` flags and glue. (Being built: see issue 3.)
