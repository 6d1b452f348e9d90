//! The postgres procedure's inventory: every database `pg_dumpall` dumps (all but
//! `template0`; one that accepts no connections, which it leaves out, fails the backup),
//! every ordinary table of every user schema with its exact `count(*)`, read with
//! `psql` through the same `exec` prefix as the dump. Output is NUL-separated (`-z -0`), so no
//! name can forge a field; databases are reached with a quoted conninfo, so no name can add a
//! connection option.

use super::super::evidence::{PgDatabase, PgTable};
use super::run::{self, Failure};

/// The most `psql` output read for one query.
const MAX_QUERY_OUTPUT: usize = 16 * 1024 * 1024;

/// Every database but `template0` (which pg_dumpall never dumps), and whether it accepts
/// connections: pg_dumpall leaves out one that does not, data and all, and still exits 0.
/// Templates are listed: pg_dumpall dumps what they hold like any other data.
const DATABASES: &str =
    "SELECT datname, datallowconn::text FROM pg_database WHERE datname <> 'template0'";

/// Databases every cluster has: listed only when they hold user tables.
const LISTED_WHEN_USED: [&str; 2] = ["postgres", "template1"];

/// Exact row counts of every ordinary table outside the system schemas, in one statement
/// (`query_to_xml` runs a `count(*)` per table, names quoted by `format('%I')`).
const TABLES: &str = "SELECT n.nspname, c.relname, \
 (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text \
 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
 WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'";

/// `psql` argv (after `exec`) for one query against `database`.
fn query(psql: &[String], database: &str, sql: &str) -> Vec<String> {
    let mut argv = psql.to_vec();
    for a in ["-X", "-A", "-t", "-z", "-0", "-q", "-v", "ON_ERROR_STOP=1"] {
        argv.push(a.into());
    }
    argv.push("-d".into());
    argv.push(conninfo(database));
    // The database's own search_path must not choose the query's names.
    argv.push("-c".into());
    argv.push(crate::backup::PG_CATALOG_SEARCH_PATH.into());
    argv.push("-c".into());
    argv.push(sql.into());
    argv
}

/// `dbname='...'` with `\` and `'` escaped, as libpq reads a conninfo string.
pub fn conninfo(database: &str) -> String {
    let mut out = String::from("dbname='");
    for c in database.chars() {
        if c == '\\' || c == '\'' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// NUL-separated records of NUL-separated fields (`psql -A -t -z -0`).
fn records(out: &[u8], fields: usize) -> Result<Vec<Vec<String>>, String> {
    let parts: Vec<&[u8]> = out.split(|b| *b == 0).collect();
    // psql ends the last record with a separator too; allow exactly that one empty tail.
    let parts = match parts.split_last() {
        Some((last, rest)) if last.is_empty() || *last == b"\n" => rest,
        _ => &parts[..],
    };
    if parts.len() % fields != 0 {
        return Err(format!(
            "psql printed {} fields, not a multiple of {fields}",
            parts.len()
        ));
    }
    parts
        .chunks(fields)
        .map(|chunk| {
            chunk
                .iter()
                .map(|f| {
                    String::from_utf8(f.to_vec())
                        .map_err(|_| "psql printed a name that is not UTF-8".to_string())
                })
                .collect()
        })
        .collect()
}

/// The inventory of the cluster behind `exec` + `psql`, sorted as the manifest requires.
pub fn inventory(
    exec: &[String],
    container: &str,
    psql: &[String],
) -> Result<Vec<PgDatabase>, Failure> {
    let out = run::output(
        &run::argv(exec, container, &query(psql, "postgres", DATABASES)),
        MAX_QUERY_OUTPUT,
    )?;
    let mut names = Vec::new();
    let mut closed = Vec::new();
    for r in records(&out, 2).map_err(bad)? {
        match r[1].as_str() {
            "true" => names.push(r[0].clone()),
            "false" => closed.push(format!("{:?}", crate::model::truncate(&r[0]))),
            other => {
                return Err(bad(format!(
                    "psql said `{}` for whether a database accepts connections",
                    crate::model::truncate(other)
                )));
            }
        }
    }
    if !closed.is_empty() {
        closed.sort();
        return Err(bad(format!(
            "database(s) {} accept no connections (datallowconn = false): pg_dumpall leaves such a database out, data and all, so this backup would not hold it; allow connections (ALTER DATABASE ... ALLOW_CONNECTIONS true) or drop it, then back up again",
            closed.join(", ")
        )));
    }
    names.sort();
    // The databases are counted at the same time, a few at once: each count is a process
    // start and a wait on the server, not work on this side.
    let mut counted = Vec::with_capacity(names.len());
    for group in names.chunks(PARALLEL_COUNTS) {
        let results: Vec<_> = std::thread::scope(|scope| {
            let threads: Vec<_> = group
                .iter()
                .map(|name| scope.spawn(|| count_tables(exec, container, psql, name)))
                .collect();
            threads
                .into_iter()
                .map(|t| {
                    t.join().unwrap_or_else(|_| {
                        Err(bad("the thread counting a database's rows stopped".into()))
                    })
                })
                .collect()
        });
        counted.extend(results);
    }
    let mut databases = Vec::new();
    for (name, tables) in names.into_iter().zip(counted) {
        let tables = tables?;
        // The databases every cluster has are listed only when they hold user tables.
        if LISTED_WHEN_USED.contains(&name.as_str()) && tables.is_empty() {
            continue;
        }
        databases.push(PgDatabase { name, tables });
    }
    Ok(databases)
}

/// How many databases are counted at once.
const PARALLEL_COUNTS: usize = 4;

/// Every ordinary table of `name` with its exact row count, sorted by schema and name.
fn count_tables(
    exec: &[String],
    container: &str,
    psql: &[String],
    name: &str,
) -> Result<Vec<PgTable>, Failure> {
    let out = run::output(
        &run::argv(exec, container, &query(psql, name, TABLES)),
        MAX_QUERY_OUTPUT,
    )?;
    let mut tables = Vec::new();
    for r in records(&out, 3).map_err(bad)? {
        let rows = r[2].parse::<u64>().map_err(|_| {
            bad(format!(
                "psql counted `{}` rows in {}.{}.{}",
                crate::model::truncate(&r[2]),
                name,
                r[0],
                r[1]
            ))
        })?;
        tables.push(PgTable {
            schema: r[0].clone(),
            name: r[1].clone(),
            rows,
        });
    }
    tables.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
    Ok(tables)
}

fn bad(what: String) -> Failure {
    Failure {
        what,
        stderr: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conninfo_quotes_every_name() {
        assert_eq!(conninfo("app"), "dbname='app'");
        assert_eq!(conninfo("a' host=evil"), "dbname='a\\' host=evil'");
        assert_eq!(conninfo("a\\b"), "dbname='a\\\\b'");
    }

    #[test]
    fn records_are_split_on_nul_only() {
        let out = b"public\0a\tb\nc\x0012\0s\0t\x003\0";
        let r = records(out, 3).unwrap();
        assert_eq!(r[0], ["public", "a\tb\nc", "12"]);
        assert_eq!(r[1], ["s", "t", "3"]);
        assert!(records(b"a\0b\0", 3).is_err());
        assert_eq!(records(b"", 1).unwrap().len(), 0);
    }
}
