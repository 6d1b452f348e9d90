//! Parser tests: the forms workflow scripts use, and malformed input refused.
use super::ast::*;
use super::parse;

fn simple_words(l: &List) -> Vec<Vec<Option<String>>> {
    let mut out = Vec::new();
    for item in &l.items {
        for p in std::iter::once(&item.first).chain(item.rest.iter().map(|(_, p)| p)) {
            for c in &p.cmds {
                if let CommandKind::Simple { words, .. } = &c.kind {
                    out.push(words.iter().map(Word::literal).collect());
                }
            }
        }
    }
    out
}

fn lits(v: &[&str]) -> Vec<Option<String>> {
    v.iter().map(|s| Some((*s).to_string())).collect()
}

#[test]
fn quotes_escapes_and_continuations_make_one_word() {
    let s = parse("plat'form'ctl \\\n  \"ap\"ply\\ x $'\\x41'\n").unwrap();
    assert_eq!(
        simple_words(&s.body),
        vec![lits(&["platformctl", "apply x", "A"])]
    );
}

#[test]
fn lists_pipelines_and_background() {
    let s = parse("a && b || c; ! d | e & f").unwrap();
    assert_eq!(s.body.items.len(), 3);
    assert_eq!(s.body.items[0].rest.len(), 2);
    assert!(s.body.items[0].rest[0].0);
    assert!(!s.body.items[0].rest[1].0);
    assert!(s.body.items[1].first.bang);
    assert_eq!(s.body.items[1].first.cmds.len(), 2);
    assert!(s.body.items[1].background);
    assert!(!s.body.items[2].background);
}

#[test]
fn compound_commands_parse() {
    let src = "if a; then b; elif c; then d; else e; fi\nwhile x; do y; done\nuntil x; do y; done\nfor g in a b; do \"$g\" --version; done\ncase \"$rc\" in\n  0) ok ;;\n  3|4) no ;;\n  *) exit \"$rc\" ;;\nesac\n( sub ) && { grp; }\nf() { body; }\nfunction h { body; }\n[[ -n $x ]] && (( i++ ))\n";
    let s = parse(src).unwrap();
    let kinds: Vec<&str> = s
        .body
        .items
        .iter()
        .map(|i| match &i.first.cmds[0].kind {
            CommandKind::If { .. } => "if",
            CommandKind::Loop { until: false, .. } => "while",
            CommandKind::Loop { until: true, .. } => "until",
            CommandKind::For { .. } => "for",
            CommandKind::Case { .. } => "case",
            CommandKind::Subshell(_) => "subshell",
            CommandKind::Function { .. } => "function",
            CommandKind::Test(_) => "test",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "if", "while", "until", "for", "case", "subshell", "function", "function", "test"
        ]
    );
}

#[test]
fn substitutions_are_parsed_as_commands() {
    let s = parse("v=\"$(platformctl apply)\"; echo `b c` ${x:-$(d)} <(e)").unwrap();
    let CommandKind::Simple { assigns, .. } = &s.body.items[0].first.cmds[0].kind else {
        panic!()
    };
    let Part::Subst(inner) = &assigns[0].1.parts[0] else {
        panic!()
    };
    assert_eq!(simple_words(inner), vec![lits(&["platformctl", "apply"])]);
    let CommandKind::Simple { words, .. } = &s.body.items[1].first.cmds[0].kind else {
        panic!()
    };
    assert!(matches!(words[1].parts[0], Part::Subst(_)));
    assert!(matches!(&words[2].parts[0], Part::Dynamic(l) if l.len() == 1));
    assert!(matches!(words[3].parts[0], Part::ProcSubst(_)));
}

#[test]
fn heredocs_quoted_stay_text_unquoted_expand() {
    let s =
        parse("cat <<'EOF'\n$(platformctl apply)\nEOF\ncat <<-EOF >x\n\t$(b)\n\tEOF\necho done\n")
            .unwrap();
    assert_eq!(s.heredocs.len(), 2);
    assert_eq!(
        s.heredocs[0].literal().as_deref(),
        Some("$(platformctl apply)\n")
    );
    assert!(
        s.heredocs[1]
            .parts
            .iter()
            .any(|p| matches!(p, Part::Subst(_)))
    );
    assert_eq!(
        simple_words(&s.body).last().unwrap(),
        &lits(&["echo", "done"])
    );
}

#[test]
fn variables_and_brace_expansion() {
    let s = parse("\"$gate\" ${PIPESTATUS[0]} $? {apply,plan}").unwrap();
    let CommandKind::Simple { words, .. } = &s.body.items[0].first.cmds[0].kind else {
        panic!()
    };
    assert_eq!(words[0].parts, vec![Part::Var("gate".into())]);
    assert_eq!(words[1].parts, vec![Part::Var("PIPESTATUS[0]".into())]);
    assert_eq!(words[2].parts, vec![Part::Var("?".into())]);
    assert!(words[3].literal().is_none());
}

#[test]
fn malformed_scripts_are_errors_not_panics() {
    for bad in [
        "if a; then b",
        "echo 'x",
        "echo \"x",
        "a && ",
        "case x in a) b",
        "( a",
        "$(a",
        "fi",
        "for ; do",
        "echo ${x",
        "a | ",
        "{ a;",
        "f() ",
    ] {
        assert!(parse(bad).is_err(), "{bad:?} parsed");
    }
    let deep = "( ".repeat(200) + &" )".repeat(200);
    assert!(parse(&deep).is_err());
}

#[test]
fn comments_are_not_commands() {
    let s = parse("# platformctl apply\necho a # platformctl apply\n").unwrap();
    assert_eq!(simple_words(&s.body), vec![lits(&["echo", "a"])]);
}

#[test]
fn redirections_keep_their_descriptor_and_patterns_are_marked() {
    let s = parse("exec 3>>\"$OUT\" 2>&1 {fd}>x\nls a* '[b]' [c] ./x? [ -n y ]\n").unwrap();
    let CommandKind::Simple { .. } = &s.body.items[0].first.cmds[0].kind else {
        panic!("simple")
    };
    let ops: Vec<&str> = s.body.items[0].first.cmds[0]
        .redirects
        .iter()
        .map(|r| r.op.as_str())
        .collect();
    assert_eq!(ops, ["3>>", "2>&", "{fd}>"]);
    let CommandKind::Simple { words, .. } = &s.body.items[1].first.cmds[0].kind else {
        panic!("simple")
    };
    let globs: Vec<bool> = words.iter().map(|w| w.glob).collect();
    assert_eq!(
        globs,
        [false, true, false, true, true, false, false, false, false]
    );
}

/// A host that knows nothing: every command may succeed or fail.
struct Blind(usize);

impl super::exec::Host for Blind {
    type User = ();
    fn run(
        &mut self,
        _: &(),
        _: &[super::exec::Val],
        _: Span,
        _: &super::exec::How,
    ) -> Vec<((), super::exec::St)> {
        vec![((), super::exec::St::Any)]
    }
    fn output(&mut self, _: &mut (), _: Option<(String, String)>, _: Span) {}
    fn refuse(&mut self, _: Span, _: String) {}
    fn tick(&mut self, _: Span) -> bool {
        self.0 += 1;
        self.0 < 100_000
    }
}

fn run_blind(src: &str) -> usize {
    let Ok(s) = parse(src) else { return 0 };
    let start = super::exec::State::new(true, false, Default::default(), ());
    super::exec::run(&mut Blind(0), &s, start, false).len()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]
    /// Any text built from shell's tokens parses or is refused, and every parsed script
    /// interprets, without a panic.
    #[test]
    fn no_input_panics(parts in proptest::collection::vec(proptest::sample::select(vec![
        "a", " ", "\n", ";", "&", "&&", "||", "|", "!", "(", ")", "{", "}", "if", "then", "else",
        "fi", "while", "do", "done", "for", "in", "case", "esac", ";;", "'", "\"", "\\", "$",
        "$(", "${", "`", "<<", "EOF", "<", ">", "#", "=", "x=1", "exit", "set", "-e", "+e",
        "f()", "return", "sh", "-c", "[", "]", "[[", "]]", "((", "))", "*", "$?", "3)",
    ]), 0..40)) {
        let src: String = parts.concat();
        let _ = run_blind(&src);
    }
}

#[test]
fn exponential_scripts_stay_bounded() {
    // 64 independent unknown conditions: 2^64 paths, merged and capped.
    let src: String = (0..64)
        .map(|i| format!("if a; then x{i}=1; fi\n"))
        .collect();
    assert!(run_blind(&src) <= super::exec::MAX_STATES);
}

#[test]
fn recursive_functions_stay_bounded() {
    // Each call makes two more.
    assert!(run_blind("f() { f; f; }\nf\n") <= super::exec::MAX_STATES);
}
