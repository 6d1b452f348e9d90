//! Every `canary_required` code has exactly one entry in docs/reasons/canary.md (the shared
//! `input.changed_files_invalid` is documented with `auto_apply_scope`).

#[test]
fn every_canary_code_is_documented_once() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/reasons/canary.md"),
    )
    .unwrap();
    for code in forgejo_gates::canary::codes() {
        if code.id == "input.changed_files_invalid" {
            continue;
        }
        let heading = format!("### `{}`", code.id);
        let n = doc.lines().filter(|l| *l == heading).count();
        assert_eq!(n, 1, "{heading}");
    }
    let all = forgejo_gates::registry::all_codes();
    for code in forgejo_gates::canary::codes() {
        assert!(all.iter().any(|c| std::ptr::eq(*c, code)), "{}", code.id);
    }
}
