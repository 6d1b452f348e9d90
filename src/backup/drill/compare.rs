//! What the manifest says the backup holds, what the scratch instance holds after the
//! restore, and the item-by-item comparison the drill record keeps. Every item of either side
//! appears once: missing, extra and changed items all fail.

use super::archive;
use super::postgres::Tables;
use std::collections::{BTreeMap, BTreeSet};

/// The manifest's inventory, as the drill compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    Postgres(Tables),
    /// Keys per non-empty database.
    Redis(BTreeMap<u64, u64>),
    Archive {
        files: u64,
        bytes: u64,
        listing_sha256: String,
    },
}

impl Expected {
    pub fn kind(&self) -> &'static str {
        match self {
            Expected::Postgres(_) => "postgres",
            Expected::Redis(_) => "redis",
            Expected::Archive { .. } => "archive",
        }
    }
}

/// What the scratch instance holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restored {
    Postgres(Tables),
    Redis(BTreeMap<u64, u64>),
    Archive(archive::Restored),
}

/// One line of the comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compared {
    pub item: String,
    pub expected: String,
    pub restored: String,
    pub ok: bool,
}

fn item(item: String, expected: String, restored: String) -> Compared {
    let ok = expected == restored;
    Compared {
        item,
        expected,
        restored,
        ok,
    }
}

const ABSENT: &str = "absent";

fn opt(v: Option<&u64>) -> String {
    v.map_or(ABSENT.to_string(), u64::to_string)
}

/// Compare item by item. A kind mismatch is one failing item.
pub fn compare(expected: &Expected, restored: &Restored) -> Vec<Compared> {
    match (expected, restored) {
        (Expected::Postgres(want), Restored::Postgres(got)) => postgres(want, got),
        (Expected::Redis(want), Restored::Redis(got)) => {
            let dbs: BTreeSet<&u64> = want.keys().chain(got.keys()).collect();
            dbs.into_iter()
                .map(|db| item(format!("db{db} keys"), opt(want.get(db)), opt(got.get(db))))
                .collect()
        }
        (
            Expected::Archive {
                files,
                bytes,
                listing_sha256,
            },
            Restored::Archive(got),
        ) => vec![
            item("files".into(), files.to_string(), got.files.to_string()),
            item("bytes".into(), bytes.to_string(), got.bytes.to_string()),
            item(
                "listing sha256".into(),
                listing_sha256.clone(),
                got.listing_sha256.clone(),
            ),
        ],
        (e, _) => vec![Compared {
            item: "inventory kind".into(),
            expected: e.kind().into(),
            restored: "another kind".into(),
            ok: false,
        }],
    }
}

fn postgres(want: &Tables, got: &Tables) -> Vec<Compared> {
    let mut out = Vec::new();
    let dbs: BTreeSet<&String> = want.keys().chain(got.keys()).collect();
    for db in dbs {
        let (w, g) = (want.get(db), got.get(db));
        let presence = |t: Option<&BTreeMap<(String, String), u64>>| {
            if t.is_some() { "present" } else { ABSENT }.to_string()
        };
        out.push(item(format!("database {db}"), presence(w), presence(g)));
        let empty = BTreeMap::new();
        let (w, g) = (w.unwrap_or(&empty), g.unwrap_or(&empty));
        let tables: BTreeSet<&(String, String)> = w.keys().chain(g.keys()).collect();
        for t in tables {
            out.push(item(
                format!("{db}.{}.{} rows", t.0, t.1),
                opt(w.get(t)),
                opt(g.get(t)),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(rows: &[(&str, &str, u64)]) -> Tables {
        let mut t = Tables::new();
        for (db, table, n) in rows {
            t.entry(db.to_string())
                .or_default()
                .insert(("public".into(), table.to_string()), *n);
        }
        t
    }

    #[test]
    fn a_lost_row_a_missing_table_and_an_extra_table_each_fail_by_name() {
        let want = tables(&[("app", "orders", 3), ("app", "users", 2)]);
        let got = tables(&[("app", "orders", 2), ("app", "extra", 1)]);
        let c = compare(&Expected::Postgres(want), &Restored::Postgres(got));
        let failed: Vec<(&str, &str, &str)> = c
            .iter()
            .filter(|c| !c.ok)
            .map(|c| (c.item.as_str(), c.expected.as_str(), c.restored.as_str()))
            .collect();
        assert_eq!(
            failed,
            [
                ("app.public.extra rows", "absent", "1"),
                ("app.public.orders rows", "3", "2"),
                ("app.public.users rows", "2", "absent"),
            ]
        );
        assert!(c.iter().any(|c| c.item == "database app" && c.ok));
    }

    #[test]
    fn a_missing_database_fails_even_without_tables() {
        let mut want = Tables::new();
        want.insert("empty".into(), BTreeMap::new());
        let c = compare(
            &Expected::Postgres(want),
            &Restored::Postgres(Tables::new()),
        );
        assert_eq!(c.len(), 1);
        assert!(!c[0].ok, "{c:?}");
    }

    #[test]
    fn redis_compares_every_database_of_either_side() {
        let want = BTreeMap::from([(0, 3)]);
        let got = BTreeMap::from([(0, 3), (1, 1)]);
        let c = compare(&Expected::Redis(want), &Restored::Redis(got));
        assert_eq!(c.iter().filter(|c| !c.ok).count(), 1);
        assert_eq!(c[1].item, "db1 keys");
    }
}
