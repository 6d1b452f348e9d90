//! A manifest is read as a YAML 1.1 reader (PyYAML, the platform's own tooling) reads it, or
//! refused (exit 2, `manifest.invalid`, naming the file and the line). Each manifest here says
//! one thing to a reader that ignores a YAML construct and another to PyYAML; the gate must
//! never answer `eligible` for the harmless-looking reading. The constructs that are resolved
//! (`!!str`, aliases of mappings) are shown to give PyYAML's answer.

mod common;

use common::platform::{CONFIRM, NOW, Platform};
use std::path::PathBuf;

/// A modules directory holding only `id` with `manifest`.
fn modules_with(p: &Platform, id: &str, manifest: &str) -> PathBuf {
    let dir = p.tmp.path().join("modules");
    std::fs::create_dir_all(dir.join(id)).unwrap();
    std::fs::write(dir.join(id).join("module.yaml"), manifest).unwrap();
    dir
}

fn scope(p: &Platform, id: &str, manifest: &str) -> common::Run {
    let modules = modules_with(p, id, manifest);
    common::run(
        common::gate("auto_apply_scope")
            .arg("--modules-dir")
            .arg(&modules)
            .arg("--policy")
            .arg(&p.policy)
            .args(["--now", NOW, "--module", id]),
    )
}

/// Exit 2 with `manifest.invalid`, a problem at `line` of the manifest mentioning `words`.
fn assert_refused(out: &common::Run, line: usize, words: &str) {
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.all().contains("manifest.invalid"),
        "expected manifest.invalid: {}",
        out.all()
    );
    assert!(
        out.stderr.contains(&format!("module.yaml:{line}:")),
        "expected a problem at line {line}: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains(words),
        "expected {words:?}: {}",
        out.stderr
    );
}

#[test]
fn a_merge_key_that_adds_a_risk_class_is_refused() {
    // PyYAML: spec.classes = [security-sensitive]; a reader that ignores `<<` sees no class.
    let p = Platform::new();
    let out = scope(
        &p,
        "merged",
        "x-base: &base\n  classes: [security-sensitive]\nmetadata:\n  name: merged\nspec:\n  <<: *base\n  runtime:\n    statefulness: stateless\n",
    );
    assert_refused(&out, 6, "merge key");
}

#[test]
fn a_merge_key_list_is_refused() {
    // PyYAML: the first mapping of the list wins, so the classes are `[auth]`.
    let p = Platform::new();
    let out = scope(
        &p,
        "merged",
        "a: &a {classes: [auth]}\nb: &b {classes: []}\nmetadata: {name: merged}\nspec:\n  <<: [*a, *b]\n  runtime: {statefulness: stateless}\n",
    );
    assert_refused(&out, 5, "merge key");
}

#[test]
fn a_merge_key_in_metadata_is_refused() {
    let p = Platform::new();
    let out = scope(
        &p,
        "merged",
        "n: &n {name: merged}\nmetadata:\n  <<: *n\nspec:\n  runtime: {statefulness: stateless}\n",
    );
    assert_refused(&out, 3, "merge key");
}

#[test]
fn a_second_document_is_refused() {
    // PyYAML's safe_load refuses a stream of two documents; the gate must not read the first.
    let p = Platform::new();
    let out = scope(
        &p,
        "twice",
        "metadata: {name: twice}\nspec:\n  runtime: {statefulness: stateless}\n---\nmetadata: {name: twice}\nspec:\n  classes: [auth]\n  runtime: {statefulness: stateful}\n",
    );
    assert_refused(&out, 4, "single YAML document");
}

#[test]
fn a_null_tag_on_the_statefulness_is_refused() {
    // PyYAML: `!!null stateless` is None (so: undeclared, treated as stateful), not "stateless".
    let p = Platform::new();
    let out = scope(
        &p,
        "tagged",
        "metadata: {name: tagged}\nspec:\n  runtime:\n    statefulness: !!null stateless\n",
    );
    assert_refused(&out, 4, "!!null");
}

#[test]
fn a_custom_tag_is_refused_even_outside_the_fields_the_gates_read() {
    // PyYAML's safe loader cannot construct `!secret`: the platform cannot load this file.
    let p = Platform::new();
    let out = scope(
        &p,
        "tagged",
        "metadata: {name: tagged}\nspec:\n  env: !secret db-password\n  runtime:\n    statefulness: stateless\n",
    );
    assert_refused(&out, 3, "!secret");
    let out = scope(
        &p,
        "tagged",
        "metadata: {name: tagged}\nspec:\n  runtime:\n    statefulness: !custom stateless\n",
    );
    assert_refused(&out, 4, "!custom");
}

#[test]
fn a_bool_tag_on_a_class_is_refused() {
    let p = Platform::new();
    let out = scope(
        &p,
        "tagged",
        "metadata: {name: tagged}\nspec:\n  classes: !!seq []\n  runtime:\n    statefulness: !!bool stateless\n",
    );
    assert_refused(&out, 3, "!!seq");
    assert!(out.stderr.contains("!!bool"), "{}", out.stderr);
}

#[test]
fn a_str_tag_is_read_as_the_string_pyyaml_reads() {
    // `!!str stateless` is the string "stateless" to every YAML reader: resolved, not refused.
    let p = Platform::new();
    let out = scope(
        &p,
        "tagged",
        "metadata: {name: !!str tagged}\nspec:\n  runtime:\n    statefulness: !!str stateless\n",
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("ELIGIBLE"), "{}", out.stdout);
}

#[test]
fn a_yaml_1_1_boolean_where_a_string_is_read_is_refused() {
    // PyYAML reads `name: on` as True, not as the module's name.
    let p = Platform::new();
    let out = scope(
        &p,
        "on",
        "metadata:\n  name: on\nspec:\n  runtime:\n    statefulness: stateless\n",
    );
    assert_refused(&out, 2, "boolean");
    // Quoted, it is the string: eligible.
    let out = scope(
        &p,
        "on",
        "metadata:\n  name: \"on\"\nspec:\n  runtime:\n    statefulness: stateless\n",
    );
    assert_eq!(out.code, 0, "{}", out.all());
}

#[test]
fn a_date_or_a_number_where_a_string_is_read_is_refused() {
    // PyYAML reads `2026-05-17` as a date and `0123` as the octal number 83.
    let p = Platform::new();
    let out = scope(
        &p,
        "2026-05-17",
        "metadata:\n  name: 2026-05-17\nspec:\n  runtime:\n    statefulness: stateless\n",
    );
    assert_refused(&out, 2, "date");
    let out = scope(
        &p,
        "0123",
        "metadata:\n  name: 0123\nspec:\n  runtime:\n    statefulness: stateless\n",
    );
    assert_refused(&out, 2, "number");
}

#[test]
fn a_plain_no_restart_is_refused_on_a_one_shot() {
    // PyYAML reads `restart: no` as False, not the compose policy "no".
    let p = Platform::new();
    let modules = p.tmp.path().join("modules");
    for id in ["minio", "minio-init"] {
        let from = common::platform::fixtures().join("modules").join(id);
        std::fs::create_dir_all(modules.join(id)).unwrap();
        for entry in std::fs::read_dir(&from).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), modules.join(id).join(entry.file_name())).unwrap();
        }
    }
    let manifest = modules.join("minio-init/module.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains("restart: \"no\"\n"));
    let plain = text.replace("restart: \"no\"\n", "restart: no\n");
    let line = plain
        .lines()
        .position(|l| l.trim() == "restart: no")
        .unwrap()
        + 1;
    std::fs::write(&manifest, plain).unwrap();
    let backup = p.real_backup();
    let plan = Platform::plan("minio-init-exited.json");
    let out = common::run(
        common::gate("allow_one_shot_stateful_apply")
            .arg("--modules-dir")
            .arg(&modules)
            .arg("--policy")
            .arg(&p.policy)
            .arg("--plan")
            .arg(&plan)
            .args(["--now", NOW, "--module", "minio-init", "--allow-stateful"])
            .args(["--backup-ref", &backup, "--stateful-confirm", CONFIRM]),
    );
    assert_refused(&out, line, "boolean");
}

#[test]
fn a_redefined_anchor_is_refused() {
    // PyYAML refuses a document that defines one anchor twice; a reader that lets the second
    // win would read `stateless`.
    let p = Platform::new();
    let out = scope(
        &p,
        "anchors",
        "a: &rt {statefulness: stateful}\nb: &rt {statefulness: stateless}\nmetadata: {name: anchors}\nspec:\n  runtime: *rt\n",
    );
    assert_refused(&out, 2, "anchor `rt`");
}

#[test]
fn an_alias_of_a_mapping_is_read_as_the_mapping() {
    // Aliases are expanded exactly as PyYAML expands them.
    let p = Platform::new();
    let out = scope(
        &p,
        "anchors",
        "x-rt: &rt {statefulness: stateful}\nmetadata: {name: anchors}\nspec:\n  runtime: *rt\n",
    );
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("scope.stateful.not_allowed"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_complex_key_is_refused() {
    // PyYAML cannot load a mapping whose key is a sequence or a mapping.
    let p = Platform::new();
    let out = scope(
        &p,
        "complex",
        "metadata: {name: complex}\nspec:\n  runtime: {statefulness: stateless}\n  ? [classes]\n  : [auth]\n",
    );
    assert_refused(&out, 4, "key");
}

#[test]
fn a_unicode_line_separator_is_refused() {
    // PyYAML ends a line at U+2028 and U+0085: the comment below hides `classes: [auth]` from a
    // YAML 1.2 reader, while PyYAML reads it as a key of `spec`.
    let p = Platform::new();
    for separator in ['\u{2028}', '\u{2029}', '\u{85}'] {
        let out = scope(
            &p,
            "hidden",
            &format!(
                "metadata: {{name: hidden}}\nspec:\n  runtime:\n    statefulness: stateless # note{separator}  classes: [auth]\n"
            ),
        );
        assert_refused(&out, 4, "line break");
    }
}
