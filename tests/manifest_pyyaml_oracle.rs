//! A differential test with PyYAML as the oracle: over a corpus of manifests that spell the
//! fields the gates read in every YAML way we could think of (tags, YAML 1.1 booleans, nulls,
//! numbers and dates, anchors, merge keys, complex keys, directives, line breaks, block
//! scalars...), plus seeded random mixtures of them, every manifest the gates accept must be
//! one that PyYAML's `safe_load` (the platform's tooling) loads, and its fields must be the
//! values PyYAML gives. Refusing is always allowed; reading something else never is.
//!
//! Needs `python3` with PyYAML (`pip install pyyaml`; `.ci/run` installs it). Without them
//! the test fails, it does not skip.

use forgejo_gates::model::manifest::{self, Manifest};
use forgejo_gates::model::{ExpectedState, ModuleId, Statefulness};
use forgejo_gates::report::InputDigest;
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Reads a JSON list of YAML texts on stdin; prints, per text, PyYAML's reading of the fields
/// the gates read (every value with its Python type), or the error.
const ORACLE: &str = r#"
import json, sys, yaml
def typed(v):
    if v is None: return None
    if isinstance(v, str): return {"str": v}
    if isinstance(v, list): return {"list": [typed(x) for x in v]}
    return {type(v).__name__: repr(v)}
def dig(d, *path):
    for p in path:
        if not isinstance(d, dict): return {"notmap": repr(d)}
        if p not in d: return None
        d = d[p]
    return d
out = []
for text in json.load(sys.stdin):
    try:
        doc = yaml.safe_load(text)
    except Exception as e:
        out.append({"error": type(e).__name__}); continue
    if not isinstance(doc, dict):
        out.append({"notmap": repr(doc)}); continue
    fields = {}
    for name, path in [("name", ("metadata", "name")), ("classes", ("spec", "classes")),
                       ("project", ("spec", "compose", "project")),
                       ("statefulness", ("spec", "runtime", "statefulness")),
                       ("expected_state", ("spec", "runtime", "expected_state")),
                       ("restart", ("spec", "runtime", "restart")),
                       ("backup_class", ("spec", "runtime", "backup_class")),
                       ("backup_ref_modules", ("spec", "runtime", "backup_ref_modules")),
                       ("restore", ("spec", "runtime", "restore"))]:
        v = dig(doc, *path)
        fields[name] = v if isinstance(v, dict) and "notmap" in v else typed(v)
    out.append({"ok": fields})
json.dump(out, sys.stdout)
"#;

const ID: &str = "m";

/// Spellings of a value, each a YAML fragment that fits after `key: ` (block scalars are
/// indented for a value at the runtime's level).
const SPELLINGS: &[&str] = &[
    "{v}",
    "\"{v}\"",
    "'{v}'",
    "!!str {v}",
    "!!null {v}",
    "! {v}",
    "!<tag:yaml.org,2002:str> {v}",
    "!custom {v}",
    "!!binary {v}",
    "&a1 {v}",
    "*top",
    "|\n      {v}",
    "|-\n      {v}",
    ">-\n      {v}",
    "{v} # note",
    "{v}\u{2028}",
    "{v}\u{85}x",
    "\"{v}\\u2028\"",
    "\"{v}\\N\"",
    "[{v}]",
    "{{x: {v}}}",
    "",
    "~",
    "null",
    "NULL",
    "yes",
    "no",
    "No",
    "on",
    "off",
    "y",
    "n",
    "True",
    "false",
    "0123",
    "0o12",
    "0x1f",
    "0b11",
    "1:30",
    "1_000",
    "1e3",
    "1.5",
    ".inf",
    "2026-05-17",
    "2026-02-30",
    "2026-5-17 1:02:03",
    "<<",
    "=",
    "\"no\"",
    "!!str no",
    "!!str ~",
    "!!str",
    "\"\\x41{v}\"",
    "\"{v}\\/\"",
    "'{v}''s'",
    "{v}\n      continued",
    "\"{v}\\\n      x\"",
    "{v}, {v}",
    "-{v}",
    "?{v}",
    ":{v}",
    "{v}:",
    "{v} #",
    "\"\\t{v}\"",
    "{v}\t",
];

/// The manifest, with `{name}` `{classes}` ... slots; `*top` refers to `{v}` anchored at the top.
const TEMPLATE: &str = "x-top: &top {top}
metadata:
  name: {name}
spec:
  classes: [{class}]
  compose:
    project: {project}
  runtime:
    statefulness: {statefulness}
    expected_state: {expected_state}
    restart: {restart}
    backup_class: {backup_class}
    backup_ref_modules: [{ref}]
    restore: {restore}
";

/// Whole-document variations, applied to a manifest text.
fn structural(base: &str) -> Vec<String> {
    let mut out = vec![
        base.to_string(),
        format!("%YAML 1.1\n---\n{base}"),
        format!("%YAML 1.2\n---\n{base}"),
        format!("# comment\n---\n{base}"),
        format!("--- # comment\n{base}"),
        format!("--- \n{base}...\n"),
        format!("{base}---\n"),
        format!("{base}---\nmetadata: {{name: other}}\n"),
        format!("\u{feff}{base}"),
        base.replace('\n', "\r\n"),
        base.replace('\n', "\r"),
        format!("%TAG !! tag:example.com,2000:\n---\n{base}"),
        format!(
            "%TAG !e! tag:yaml.org,2002:\n---\n{}",
            base.replace("!!", "!e!")
        ),
        base.replace(
            "  runtime:\n",
            "  runtime:\n    <<: {statefulness: stateful}\n",
        ),
        base.replace(
            "spec:\n",
            "spec:\n  <<: [{classes: [auth]}, {classes: []}]\n",
        ),
        base.replace("spec:\n", "\"<<\": {spec: {classes: [auth]}}\nspec:\n"),
        base.replace("spec:\n", "? [spec]\n: x\nspec:\n"),
        base.replace("spec:\n", "? spec\n:\n"),
        base.replace("  runtime:\n", "  ? runtime\n  :\n"),
        base.replace("  classes:", "  !!str classes:"),
        base.replace("  classes:", "  !!null classes:"),
        base.replace("  classes:", "  \"classes\":"),
        base.replace("metadata:\n", "x-other: &o {name: m}\nmetadata:\n"),
        base.replace("x-top: &top", "x-again: &top 1\nx-top: &top"),
        base.replace("x-top: &top", "x-top: &to.p"),
        base.replace("  runtime:\n", "  runtime: &rt\n"),
        base.replace("    restart:", "\t\n    restart:"),
        base.replace("    restore:", "    # restore\u{2028}    restore:"),
        base.replace("    restore:", "    # \u{2029}\n    restore:"),
        base.replace(": ", ":\t"),
        base.replace("spec:\n", "spec: !!map\n"),
        base.replace("spec:\n", "spec: !!omap\n"),
        base.replace("spec:\n", "spec: !!set\n"),
        base.replace("  classes: [", "  classes: !!set ["),
        base.replace("  classes: [", "  classes: !!seq ["),
    ];
    // Flow style for the whole runtime.
    if let Some(start) = base.find("  runtime:\n") {
        let lines: Vec<&str> = base[start + 11..]
            .lines()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect();
        out.push(format!(
            "{}  runtime: {{{}}}\n",
            &base[..start],
            lines.join(", ")
        ));
    }
    out
}

struct Corpus {
    texts: Vec<String>,
}

const SLOTS: &[(&str, &str)] = &[
    ("name", ID),
    ("class", "secret-bearing"),
    ("project", "home-platform"),
    // Stateful: a stateless module with a backup class or binding is refused as a
    // contradiction, and the corpus is about reading YAML, not about that rule.
    ("statefulness", "stateful"),
    ("expected_state", "exited-success"),
    ("restart", "no"),
    ("backup_class", "minio"),
    ("ref", "minio"),
    ("restore", "runbook.md#restore"),
    ("top", "stateful"),
];

fn fill(choices: &[(&str, String)]) -> String {
    let mut text = TEMPLATE.to_string();
    for (slot, value) in choices {
        text = text.replace(&format!("{{{slot}}}"), value);
    }
    text
}

fn spell(spelling: &str, value: &str) -> String {
    spelling.replace("{v}", value)
}

fn corpus() -> Corpus {
    let defaults = |over: &[(&str, String)]| -> Vec<(&'static str, String)> {
        SLOTS
            .iter()
            .map(|(slot, default)| {
                let chosen = over
                    .iter()
                    .find(|(s, _)| s == slot)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| {
                        // Quote the defaults that YAML 1.1 would not read as strings.
                        if *default == "no" {
                            "\"no\"".to_string()
                        } else {
                            (*default).to_string()
                        }
                    });
                (*slot, chosen)
            })
            .collect()
    };
    let mut texts = Vec::new();
    // Every spelling in every slot, one slot at a time.
    for (slot, value) in SLOTS {
        for spelling in SPELLINGS {
            texts.push(fill(&defaults(&[(slot, spell(spelling, value))])));
        }
    }
    // Every structural variation of the plain manifest and of a few spelled ones.
    let base = fill(&defaults(&[]));
    texts.extend(structural(&base));
    for spelling in ["!!str {v}", "*top", "&a1 {v}", "'{v}'"] {
        let one = fill(&defaults(&[("statefulness", spell(spelling, "stateful"))]));
        texts.extend(structural(&one));
    }
    // Seeded random mixtures: several slots spelled at once, then a structural variation.
    // A longer hunt: ORACLE_ROUNDS=100000 ORACLE_SEED=<n> cargo test --test manifest_pyyaml_oracle
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let mut seed: u64 = env("ORACLE_SEED").unwrap_or(0x9e37_79b9_7f4a_7c15).max(1);
    let rounds = env("ORACLE_ROUNDS").unwrap_or(1500);
    let mut next = |n: usize| -> usize {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for _ in 0..rounds {
        let mut over = Vec::new();
        for _ in 0..1 + next(3) {
            let (slot, value) = SLOTS[next(SLOTS.len())];
            over.push((slot, spell(SPELLINGS[next(SPELLINGS.len())], value)));
        }
        let text = fill(&defaults(&over));
        let variants = structural(&text);
        texts.push(variants[next(variants.len())].clone());
    }
    Corpus { texts }
}

fn pyyaml(texts: &[String]) -> Vec<Value> {
    let mut child = Command::new("python3")
        .args(["-c", ORACLE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs (the oracle needs python3 with PyYAML: pip install pyyaml)");
    let input = serde_json::to_vec(texts).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "the PyYAML oracle failed (is PyYAML installed? pip install pyyaml): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ours(text: &str) -> Option<Manifest> {
    let id = ModuleId::parse(ID).unwrap();
    let digest = InputDigest {
        name: "manifest".into(),
        source: "module.yaml".into(),
        sha256: String::new(),
        bytes: 0,
    };
    manifest::parse(text, "module.yaml", &id, PathBuf::from("m"), digest).ok()
}

fn string(v: &str) -> Value {
    serde_json::json!({ "str": v })
}

fn strings(list: &[String]) -> Value {
    serde_json::json!({ "list": list.iter().map(|s| string(s)).collect::<Vec<_>>() })
}

/// What the gates read, in the oracle's terms; `None` where a field was absent to the gates.
fn expected(m: &Manifest) -> Vec<(&'static str, Option<Value>)> {
    vec![
        ("name", Some(string(m.id.as_str()))),
        ("project", m.compose_project.as_deref().map(string)),
        (
            "statefulness",
            m.statefulness_declared.then(|| {
                string(match m.statefulness {
                    Statefulness::Stateless => "stateless",
                    Statefulness::Stateful => "stateful",
                })
            }),
        ),
        (
            "expected_state",
            match m.expected_state {
                ExpectedState::Running => None,
                ExpectedState::ExitedSuccess => Some(string("exited-success")),
            },
        ),
        ("restart", m.restart.as_deref().map(string)),
        ("backup_class", m.backup_class.as_deref().map(string)),
        ("restore", m.restore.as_deref().map(string)),
    ]
}

/// PyYAML's list, with duplicates dropped as the gates drop them.
fn dedup_list(v: &Value) -> Value {
    let Some(items) = v.get("list").and_then(Value::as_array) else {
        return v.clone();
    };
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(item) {
            seen.push(item.clone());
        }
    }
    serde_json::json!({ "list": seen })
}

#[test]
fn every_manifest_the_gates_accept_reads_as_pyyaml_reads_it() {
    let corpus = corpus();
    let oracle = pyyaml(&corpus.texts);
    assert_eq!(oracle.len(), corpus.texts.len());
    let mut accepted = 0;
    let mut divergences = Vec::new();
    for (text, py) in corpus.texts.iter().zip(&oracle) {
        let Some(m) = ours(text) else {
            continue;
        };
        accepted += 1;
        let Some(fields) = py.get("ok") else {
            divergences.push(format!("{text:?}\n  gates accept it, PyYAML: {py}"));
            continue;
        };
        for (name, ours) in expected(&m) {
            let theirs = &fields[name];
            let same =
                match &ours {
                    // Running is also what an absent or null expected_state means.
                    None => theirs.is_null(),
                    Some(v) => theirs == v,
                } || (name == "expected_state" && ours.is_none() && *theirs == string("running"));
            if !same {
                divergences.push(format!(
                    "{text:?}\n  {name}: gates {ours:?}, PyYAML {theirs}"
                ));
            }
        }
        for (name, list) in [
            ("classes", &m.classes),
            ("backup_ref_modules", &m.backup_ref_modules),
        ] {
            let theirs = dedup_list(&fields[name]);
            let same = if list.is_empty() {
                theirs.is_null() || theirs == strings(&[])
            } else {
                theirs == strings(list)
            };
            if !same {
                divergences.push(format!(
                    "{text:?}\n  {name}: gates {list:?}, PyYAML {theirs}"
                ));
            }
        }
    }
    assert!(
        divergences.is_empty(),
        "{} of {} accepted manifests read differently from PyYAML:\n{}",
        divergences.len(),
        accepted,
        divergences[..divergences.len().min(20)].join("\n")
    );
    eprintln!(
        "{accepted} of {} manifests accepted by the gates, every one read as PyYAML reads it",
        corpus.texts.len()
    );
    // The corpus is not all refusals: the test would prove nothing.
    assert!(
        accepted >= 300,
        "only {accepted} of {} manifests accepted",
        corpus.texts.len()
    );
}
