//! The postgres procedure's inventory: every database `pg_dumpall` dumps (all but
//! `template0`; one that accepts no connections, which it leaves out, fails the backup),
//! every ordinary table of every user schema with its exact `count(*)`, read with
//! `psql` through the same `exec` prefix as the dump. Output is NUL-separated (`-z -0`), so no
//! name can forge a field; every database's rows follow a line naming the database psql is
//! connected to, which must be the one asked for.
//!
//! Two `psql` starts for up to 65 databases (each start through Debian's Perl
//! `pg_wrapper` costs about 0.04 CPU s): the first says psql's version, lists the databases
//! and counts the maintenance database it is connected to; the second `\connect`s to each
//! other database in turn and counts it (more than [`DATABASES_PER_PSQL`] databases take more
//! starts, a few at once).

use super::super::evidence::{PgDatabase, PgTable};
use super::run::{self, Failure};

/// The most `psql` output read for one `psql` run.
const MAX_QUERY_OUTPUT: usize = 16 * 1024 * 1024;

/// The database the list is read from (and counted in, when it is listed).
const MAINTENANCE: &str = "postgres";

/// Databases every cluster has: listed only when they hold user tables.
const LISTED_WHEN_USED: [&str; 2] = [MAINTENANCE, "template1"];

/// Every database but `template0` (which pg_dumpall never dumps), and whether it accepts
/// connections: pg_dumpall leaves out one that does not, data and all, and still exits 0.
/// Templates are listed: pg_dumpall dumps what they hold like any other data.
const DATABASES: &str = "SELECT 'listed', datname, datallowconn::text, '' FROM pg_database \
 WHERE datname <> 'template0'";

/// The database psql is connected to, then every ordinary table outside the system schemas
/// with its exact row count, in one statement (`query_to_xml` runs a `count(*)` per table,
/// names quoted by `format('%I')`).
const TABLES: &str = "SELECT kind, a, b, c FROM (\
 SELECT 0 AS o, 'database' AS kind, current_database()::text AS a, '' AS b, '' AS c \
 UNION ALL \
 SELECT 1, 'table', n.nspname::text, c.relname::text, \
 (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text \
 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
 WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'\
 ) AS s ORDER BY o";

/// Fields per record: a kind (`listed`, `database`, `table`) and three values.
const FIELDS: usize = 4;

/// Databases counted by one `psql` (its argv grows by about 1 KB per database).
const DATABASES_PER_PSQL: usize = 64;
/// How many `psql` count at once when there are more databases than one counts.
const PARALLEL_COUNTS: usize = 4;

/// What psql prints before its records: its own version (`VERSION_NAME`, the text
/// `psql --version` prints after `psql (PostgreSQL) `), on a line of its own.
const VERSION_LINE: &str = r"\echo :VERSION_NAME";

/// `psql` argv (after `exec`): the policy's psql, its output options, then `then`.
fn psql_argv(psql: &[String], then: Vec<String>) -> Vec<String> {
    let mut argv = psql.to_vec();
    for a in ["-X", "-A", "-t", "-z", "-0", "-q", "-v", "ON_ERROR_STOP=1"] {
        argv.push(a.into());
    }
    argv.extend(then);
    argv
}

/// Run after [`crate::backup::PG_COUNT_SESSION`] here, where the counts run beside the dump:
/// with parallel workers a count of a large table took both cores from `pg_dump` and its
/// server process while it lasted (three processes counting), and more CPU in all than one
/// process counting alone (docs/backup.md, "Session 10"). The dump is still the longer of
/// the two: a table's `COPY` out costs several times its `count(*)`.
const NO_PARALLEL_WORKERS: &str = "SET max_parallel_workers_per_gather = 0";

/// The queries run in each database, right after connecting: the database's own settings must
/// neither cancel the counts nor choose the query's names, nor put the counts on more cores.
fn count_here(argv: &mut Vec<String>) {
    argv.push("-c".into());
    argv.push(crate::backup::PG_COUNT_SESSION.into());
    argv.push("-c".into());
    argv.push(NO_PARALLEL_WORKERS.into());
    argv.push("-c".into());
    argv.push(TABLES.into());
}

/// The first psql: its version, the list of databases, the counts of [`MAINTENANCE`].
fn first_argv(psql: &[String]) -> Vec<String> {
    let mut then = vec!["-d".into(), conninfo(MAINTENANCE), "-c".into()];
    then.push(VERSION_LINE.into());
    then.push("-c".into());
    then.push(crate::backup::PG_COUNT_SESSION.into());
    then.push("-c".into());
    then.push(NO_PARALLEL_WORKERS.into());
    then.push("-c".into());
    then.push(DATABASES.into());
    then.push("-c".into());
    then.push(TABLES.into());
    psql_argv(psql, then)
}

/// A psql that connects to each of `databases` in turn and counts it: the first by `-d`, the
/// others by `\connect`, which reuses the first connection's host, port and user. Each name
/// goes into a psql variable (`-v`: taken as given), interpolated whole into `\connect`'s
/// argument, which psql does not read again as its own syntax: see [`connect_arg`].
fn counts_argv(psql: &[String], databases: &[String]) -> Vec<String> {
    let mut then = Vec::new();
    for (i, name) in databases.iter().enumerate().skip(1) {
        then.push("-v".into());
        then.push(format!("database_{i}={}", connect_arg(name)));
    }
    for (i, name) in databases.iter().enumerate() {
        if i == 0 {
            then.push("-d".into());
            then.push(conninfo(name));
        } else {
            then.push("-c".into());
            then.push(format!(r"\connect -reuse-previous=on :database_{i}"));
        }
        count_here(&mut then);
    }
    psql_argv(psql, then)
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

/// `\connect`'s argument for `database`: its [`conninfo`] (so that no name is read as a
/// host, an option or psql's `-` for "the same"), in double quotes with `"` doubled, because
/// psql strips double quotes from `\connect`'s arguments as from SQL identifiers.
pub fn connect_arg(database: &str) -> String {
    format!("\"{}\"", conninfo(database).replace('"', "\"\""))
}

/// One line of psql's output.
#[derive(Debug, PartialEq, Eq)]
enum Record {
    /// A database of the cluster, and whether it accepts connections (`true`, `false`).
    Listed {
        name: String,
        allows_connections: String,
    },
    /// The database psql is connected to; its tables follow.
    Database(String),
    Table {
        schema: String,
        name: String,
        rows: String,
    },
}

/// NUL-separated records of [`FIELDS`] NUL-separated fields (`psql -A -t -z -0`).
fn records(out: &[u8]) -> Result<Vec<Record>, String> {
    let parts: Vec<&[u8]> = out.split(|b| *b == 0).collect();
    // psql ends the last record with a separator too; allow exactly that one empty tail.
    let parts = match parts.split_last() {
        Some((last, rest)) if last.is_empty() || *last == b"\n" => rest,
        _ => &parts[..],
    };
    if parts.len() % FIELDS != 0 {
        return Err(format!(
            "psql printed {} fields, not a multiple of {FIELDS}",
            parts.len()
        ));
    }
    parts
        .chunks(FIELDS)
        .map(|chunk| {
            let text = |f: &[u8]| {
                String::from_utf8(f.to_vec())
                    .map_err(|_| "psql printed a name that is not UTF-8".to_string())
            };
            let [kind, a, b, c] = chunk else {
                return Err("psql printed a short record".to_string());
            };
            match &**kind {
                b"listed" => Ok(Record::Listed {
                    name: text(a)?,
                    allows_connections: text(b)?,
                }),
                b"database" => Ok(Record::Database(text(a)?)),
                b"table" => Ok(Record::Table {
                    schema: text(a)?,
                    name: text(b)?,
                    rows: text(c)?,
                }),
                _ => Err("psql printed a record of no known kind".to_string()),
            }
        })
        .collect()
}

/// The tables counted in each of `expected`, in that order: each database's records must
/// start with a [`Record::Database`] naming it (psql is connected where it was asked to be).
fn counted(
    records: impl Iterator<Item = Record>,
    expected: &[String],
) -> Result<Vec<Vec<PgTable>>, String> {
    let mut out: Vec<Vec<PgTable>> = Vec::with_capacity(expected.len());
    for record in records {
        match record {
            Record::Database(name) => {
                let want = expected.get(out.len()).ok_or_else(|| {
                    format!("psql counted database {name}, which was not asked for")
                })?;
                if name != *want {
                    return Err(format!(
                        "psql was asked to count database {want} but counted {name}"
                    ));
                }
                out.push(Vec::new());
            }
            Record::Table { schema, name, rows } => {
                let (Some(db), Some(tables)) = (
                    out.len().checked_sub(1).and_then(|i| expected.get(i)),
                    out.last_mut(),
                ) else {
                    return Err("psql printed a table before naming its database".into());
                };
                let rows = rows.parse::<u64>().map_err(|_| {
                    format!(
                        "psql counted `{}` rows in {db}.{schema}.{name}",
                        crate::model::truncate(&rows)
                    )
                })?;
                tables.push(PgTable { schema, name, rows });
            }
            Record::Listed { .. } => {
                return Err("psql listed databases where it counted".into());
            }
        }
    }
    if out.len() != expected.len() {
        return Err(format!(
            "psql counted {} database(s) of the {} asked for",
            out.len(),
            expected.len()
        ));
    }
    for tables in &mut out {
        tables.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
    }
    Ok(out)
}

/// psql's version line and the rest of its output (the records).
fn version_and_records(out: &[u8]) -> Result<(Option<String>, &[u8]), String> {
    let at = out
        .iter()
        .position(|b| *b == b'\n')
        .ok_or("psql did not print its version line")?;
    let (line, rest) = (&out[..at], &out[at + 1..]);
    let line = String::from_utf8_lossy(line).trim().to_string();
    // A psql too old to know `VERSION_NAME` echoes the variable's name: no version then.
    let version = (!line.is_empty() && !line.starts_with(':'))
        .then(|| run::scrub(&format!("psql (PostgreSQL) {line}")));
    Ok((version, rest))
}

/// What the inventory found: the databases, sorted as the manifest requires, and psql's
/// version line as `psql --version` prints it (when psql said).
pub struct Counted {
    pub databases: Vec<PgDatabase>,
    pub psql_version: Option<String>,
}

/// The inventory of the cluster behind `exec` + `psql`.
pub fn inventory(exec: &[String], container: &str, psql: &[String]) -> Result<Counted, Failure> {
    let out = run::output(
        &run::argv(exec, container, &first_argv(psql)),
        MAX_QUERY_OUTPUT,
    )?;
    let (psql_version, out) = version_and_records(&out).map_err(bad)?;
    let mut names = Vec::new();
    let mut closed = Vec::new();
    let mut here = Vec::new();
    for record in records(out).map_err(bad)? {
        match record {
            Record::Listed {
                name,
                allows_connections,
            } if here.is_empty() => match allows_connections.as_str() {
                "true" => names.push(name),
                "false" => closed.push(format!("{:?}", crate::model::truncate(&name))),
                other => {
                    return Err(bad(format!(
                        "psql said `{}` for whether a database accepts connections",
                        crate::model::truncate(other)
                    )));
                }
            },
            other => here.push(other),
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
    names.dedup();
    let maintenance = counted(here.into_iter(), &[MAINTENANCE.to_string()])
        .map_err(bad)?
        .pop()
        .unwrap_or_default();
    let others: Vec<String> = names
        .iter()
        .filter(|n| n.as_str() != MAINTENANCE)
        .cloned()
        .collect();
    let mut tables_of: std::collections::BTreeMap<String, Vec<PgTable>> = Default::default();
    let chunks: Vec<&[String]> = others.chunks(DATABASES_PER_PSQL).collect();
    for group in chunks.chunks(PARALLEL_COUNTS) {
        let results: Vec<Result<Vec<Vec<PgTable>>, Failure>> = std::thread::scope(|scope| {
            let threads: Vec<_> = group
                .iter()
                .map(|dbs| scope.spawn(|| count_in(exec, container, psql, dbs)))
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
        for (dbs, result) in group.iter().zip(results) {
            for (name, tables) in dbs.iter().zip(result?) {
                tables_of.insert(name.clone(), tables);
            }
        }
    }
    let mut databases = Vec::new();
    for name in names {
        let tables = if name == MAINTENANCE {
            maintenance.clone()
        } else {
            tables_of
                .remove(&name)
                .ok_or_else(|| bad(format!("database {name} was not counted")))?
        };
        // The databases every cluster has are listed only when they hold user tables.
        if LISTED_WHEN_USED.contains(&name.as_str()) && tables.is_empty() {
            continue;
        }
        databases.push(PgDatabase { name, tables });
    }
    Ok(Counted {
        databases,
        psql_version,
    })
}

/// The tables of each of `databases`, counted by one psql, in that order.
fn count_in(
    exec: &[String],
    container: &str,
    psql: &[String],
    databases: &[String],
) -> Result<Vec<Vec<PgTable>>, Failure> {
    let out = run::output(
        &run::argv(exec, container, &counts_argv(psql, databases)),
        MAX_QUERY_OUTPUT,
    )?;
    counted(records(&out).map_err(bad)?.into_iter(), databases).map_err(bad)
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

    fn s(list: &[&str]) -> Vec<String> {
        list.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn conninfo_quotes_every_name() {
        assert_eq!(conninfo("app"), "dbname='app'");
        assert_eq!(conninfo("a' host=evil"), "dbname='a\\' host=evil'");
        assert_eq!(conninfo("a\\b"), "dbname='a\\\\b'");
    }

    #[test]
    fn connect_arguments_are_conninfo_in_double_quotes() {
        assert_eq!(connect_arg("app"), "\"dbname='app'\"");
        assert_eq!(connect_arg("-"), "\"dbname='-'\"");
        assert_eq!(connect_arg("a\"b"), "\"dbname='a\"\"b'\"");
        assert_eq!(connect_arg("x'\n\\"), "\"dbname='x\\'\n\\\\'\"");
    }

    #[test]
    fn every_database_is_counted_in_the_count_session_right_after_connecting() {
        let argv = counts_argv(&s(&["psql"]), &s(&["a", "b'c"]));
        let at = |needle: &str| argv.iter().position(|a| a == needle).unwrap();
        assert_eq!(argv[at("-d") + 1], "dbname='a'");
        assert_eq!(argv[at("database_1=\"dbname='b\\'c'\"") - 1], "-v");
        let connect = at(r"\connect -reuse-previous=on :database_1");
        assert_eq!(
            argv[connect + 1..connect + 7],
            [
                "-c",
                crate::backup::PG_COUNT_SESSION,
                "-c",
                NO_PARALLEL_WORKERS,
                "-c",
                TABLES
            ]
        );
        let sessions = argv
            .iter()
            .filter(|a| *a == crate::backup::PG_COUNT_SESSION)
            .count();
        assert_eq!(sessions, 2);
    }

    #[test]
    fn records_are_split_on_nul_only() {
        let out = b"listed\0a\nb\0true\0\0database\0a\nb\0\0\0table\0public\0t\tx\x0012\0";
        let r = records(out).unwrap();
        assert_eq!(
            r,
            [
                Record::Listed {
                    name: "a\nb".into(),
                    allows_connections: "true".into()
                },
                Record::Database("a\nb".into()),
                Record::Table {
                    schema: "public".into(),
                    name: "t\tx".into(),
                    rows: "12".into()
                }
            ]
        );
        assert!(records(b"listed\0a\0\0").is_err());
        assert!(records(b"other\0a\0\0\0").is_err());
        assert_eq!(records(b"").unwrap(), []);
    }

    fn table(schema: &str, name: &str, rows: &str) -> Record {
        Record::Table {
            schema: schema.into(),
            name: name.into(),
            rows: rows.into(),
        }
    }

    #[test]
    fn counts_belong_to_the_database_psql_says_it_is_connected_to() {
        let asked = s(&["a", "b"]);
        let ok = vec![
            Record::Database("a".into()),
            table("s", "z", "2"),
            table("s", "y", "1"),
            Record::Database("b".into()),
        ];
        let tables = counted(ok.into_iter(), &asked).unwrap();
        assert_eq!(tables[0].iter().map(|t| t.rows).collect::<Vec<_>>(), [1, 2]);
        assert!(tables[1].is_empty());
        // Connected elsewhere (a name quoted wrong reaches another database, or none).
        let elsewhere = vec![
            Record::Database("a".into()),
            Record::Database("postgres".into()),
        ];
        assert!(counted(elsewhere.into_iter(), &asked).is_err());
        // A database missing, one too many, a table before any database, a bad count.
        let short = vec![Record::Database("a".into())];
        assert!(counted(short.into_iter(), &asked).is_err());
        let long = ["a", "b", "c"].map(|d| Record::Database(d.into()));
        assert!(counted(long.into_iter(), &asked).is_err());
        assert!(counted(vec![table("s", "t", "1")].into_iter(), &asked).is_err());
        let bad_count = vec![Record::Database("a".into()), table("s", "t", "")];
        assert!(counted(bad_count.into_iter(), &s(&["a"])).is_err());
    }

    #[test]
    fn psql_s_version_line_comes_first() {
        let (v, rest) = version_and_records(b"15.18 (Debian 15.18-0+deb12u1)\nlisted\0").unwrap();
        assert_eq!(
            v.as_deref(),
            Some("psql (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)")
        );
        assert_eq!(rest, b"listed\0");
        let (v, _) = version_and_records(b":VERSION_NAME\n").unwrap();
        assert_eq!(v, None);
        assert!(version_and_records(b"listed\0").is_err());
    }
}
