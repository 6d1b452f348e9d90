//! `lint_workflows` output contracts: the exit code is the same in every format (for a pass, a
//! warning, a failure, an unreadable path and standard input), `--format` takes only its four
//! values, `-` reads one workflow from standard input under `--stdin-filename`, SARIF results
//! point at their rule's page and carry the region's text, and the output streams in input
//! order whatever the number of threads.
mod common;
use common::{gate, run};
use std::io::Write;
use std::process::Stdio;

const GOOD: &str = "on: push\njobs:\n  a:\n    runs-on: docker\n    steps:\n      - run: make\n";
const WARN: &str =
    "on: push\njobs:\n  a:\n    runs-on: docker\n    steps:\n      - uses: actions/checkout@v4\n";
const BAD: &str = "on: push\njobs:\n  a:\n    runs-on: docker\n    steps:\n      - id: x\n        run: make\n      - run: echo ${{ steps.x.y }}\n";
const FORMATS: [&str; 4] = ["text", "json", "sarif", "github"];

/// Run with `input` on standard input.
fn run_stdin(args: &[&str], input: &[u8]) -> common::Run {
    let mut child = gate("lint_workflows")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    // The binary may stop reading early (a refused flag); a broken pipe is not a failure here.
    let _ = child.stdin.take().unwrap().write_all(input);
    let out = child.wait_with_output().expect("binary finishes");
    common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn the_exit_code_is_the_same_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, code) in [
        ("good.yml", GOOD, 0),
        ("warn.yml", WARN, 0),
        ("bad.yml", BAD, 1),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        for format in FORMATS {
            let r = run(gate("lint_workflows").args(["--format", format]).arg(&path));
            assert_eq!(r.code, code, "{name} --format {format}: {}", r.all());
            let r = run_stdin(&["--format", format, "-"], text.as_bytes());
            assert_eq!(r.code, code, "stdin {name} --format {format}: {}", r.all());
        }
    }
    let missing = dir.path().join("missing.yml");
    for format in FORMATS {
        let r = run(gate("lint_workflows")
            .args(["--format", format])
            .arg(&missing));
        assert_eq!(r.code, 2, "--format {format}: {}", r.all());
    }
}

#[test]
fn an_unknown_format_is_refused_not_read_as_text() {
    for format in ["xml", "TEXT", "", "sarif2"] {
        let r = run(gate("lint_workflows").args(["--format", format, "x.yml"]));
        assert_eq!(r.code, 2, "--format {format:?}: {}", r.all());
        assert!(
            r.stderr.contains("invalid value") || r.stderr.contains("a value is required"),
            "{}",
            r.stderr
        );
        assert!(r.stdout.is_empty(), "{}", r.stdout);
    }
}

#[test]
fn stdin_is_linted_under_its_stdin_filename() {
    let r = run_stdin(
        &["-", "--stdin-filename", ".forgejo/workflows/deploy.yml"],
        BAD.as_bytes(),
    );
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stdout.contains(" --> .forgejo/workflows/deploy.yml:8:"),
        "{}",
        r.stdout
    );
    let r = run_stdin(
        &["-", "--stdin-filename", "w/d.yaml", "--format", "json"],
        BAD.as_bytes(),
    );
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["reasons"][0]["location"]["file"], "w/d.yaml");
    assert_eq!(doc["inputs"][1]["source"], "stdin:w/d.yaml");
    assert_eq!(doc["facts"]["files"], "1");
    // Without a name, the findings say where the text came from.
    let r = run_stdin(&["-"], BAD.as_bytes());
    assert!(r.stdout.contains(" --> <stdin>:8:"), "{}", r.stdout);
}

#[test]
fn stdin_misuse_is_a_usage_error() {
    // Forgejo runs only .yml/.yaml names: another name is not a workflow.
    let r = run_stdin(&["-", "--stdin-filename", "deploy.txt"], GOOD.as_bytes());
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains(".yml or .yaml"), "{}", r.stderr);
    let r = run_stdin(&["-", "other.yml"], GOOD.as_bytes());
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("cannot be combined"), "{}", r.stderr);
    let r = run_stdin(&["--stdin-filename", "a.yml", "x.yml"], GOOD.as_bytes());
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("give `-`"), "{}", r.stderr);
}

#[test]
fn stdin_over_the_size_limit_is_a_finding_not_a_read() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("gates.yml");
    std::fs::write(&policy, "lint:\n  max_file_bytes: 100\n").unwrap();
    let big = format!("{GOOD}#{}\n", "x".repeat(200));
    let r = run_stdin(
        &[
            "-",
            "--policy",
            policy.to_str().unwrap(),
            "--format",
            "json",
        ],
        big.as_bytes(),
    );
    assert_eq!(r.code, 1, "{}", r.all());
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["reasons"][0]["code"], "lint.invalid_file");
    assert!(
        doc["reasons"][0]["message"]
            .as_str()
            .unwrap()
            .contains("larger than the limit of 100 bytes"),
        "{}",
        r.stdout
    );
}

#[test]
fn sarif_rules_link_their_page_and_results_carry_the_region_text() {
    let r = run_stdin(
        &["-", "--stdin-filename", "w.yml", "--format", "sarif"],
        BAD.as_bytes(),
    );
    assert_eq!(r.code, 1, "{}", r.all());
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let run = &doc["runs"][0];
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for rule in rules {
        let uri = rule["helpUri"].as_str().unwrap();
        assert!(
            root.join(uri).is_file(),
            "{uri} is not a page of this project"
        );
    }
    let result = &run["results"][0];
    let rule = &rules[result["ruleIndex"].as_u64().unwrap() as usize];
    assert_eq!(rule["id"], result["ruleId"]);
    assert_eq!(rule["helpUri"], "docs/rules/references.md");
    let loc = &result["locations"][0]["physicalLocation"];
    assert_eq!(loc["region"]["snippet"]["text"], "steps.x.y");
    assert_eq!(
        loc["contextRegion"]["snippet"]["text"],
        "      - run: echo ${{ steps.x.y }}"
    );
}

/// Many files on several threads come out in the order they were listed, in every format.
#[test]
fn many_files_stream_in_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut expected = Vec::new();
    for i in 0..120 {
        let name = format!("w{i:03}.yml");
        let text = if i % 7 == 0 {
            expected.push(name.clone());
            BAD
        } else {
            GOOD
        };
        std::fs::write(dir.path().join(&name), text).unwrap();
    }
    for format in FORMATS {
        let r = run(gate("lint_workflows")
            .args(["--format", format])
            .arg(dir.path()));
        assert_eq!(r.code, 1, "{format}: {}", r.all());
        let seen: Vec<String> = r
            .stdout
            .match_indices("/w")
            .map(|(i, _)| r.stdout[i + 1..i + 9].to_string())
            .filter(|n| n.ends_with(".yml"))
            .collect();
        let mut dedup = seen.clone();
        dedup.dedup();
        // json lists each file once more among the inputs, after the reasons.
        let findings: Vec<String> = dedup.iter().take(expected.len()).cloned().collect();
        assert_eq!(findings, expected, "{format}");
    }
}
