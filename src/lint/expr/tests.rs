//! Unit tests of the `${{ }}` expression parser: what it accepts, what it refuses, and where.

use super::*;

fn p(src: &str) -> Expr {
    match parse(src) {
        Ok(expr) => expr,
        Err(e) => panic!("failed to parse {src:?}: {e}"),
    }
}

fn err(src: &str) -> ExprError {
    match parse(src) {
        Ok(expr) => panic!("expected an error for {src:?}, got {expr:?}"),
        Err(e) => e,
    }
}

fn text(src: &str, span: Span) -> &str {
    &src[span.start..span.end]
}

fn dotted(src: &str) -> Vec<String> {
    context_refs(&p(src))
        .iter()
        .map(ContextRef::dotted)
        .collect()
}

fn binary(expr: &Expr) -> (BinaryOp, &Expr, &Expr) {
    match &expr.kind {
        ExprKind::Binary { op, lhs, rhs, .. } => (*op, lhs, rhs),
        other => panic!("expected a binary node, got {other:?}"),
    }
}

fn context(name: &str, start: usize) -> Expr {
    Expr {
        kind: ExprKind::Context(name.to_owned()),
        span: Span::new(start, start + name.len()),
    }
}

#[test]
fn and_binds_tighter_than_or() {
    let src = "a || b && c";
    let expr = p(src);
    let (op, lhs, rhs) = binary(&expr);
    assert_eq!(op, BinaryOp::Or);
    assert_eq!(lhs, &context("a", 0));
    let (inner, b, c) = binary(rhs);
    assert_eq!(inner, BinaryOp::And);
    assert_eq!((b, c), (&context("b", 5), &context("c", 10)));
    assert_eq!(text(src, rhs.span), "b && c");
}

#[test]
fn comparison_binds_tighter_than_equality_and_not_tightest() {
    let expr = p("a < b == c");
    let (op, lhs, _) = binary(&expr);
    assert_eq!(op, BinaryOp::Eq);
    assert_eq!(binary(lhs).0, BinaryOp::Lt);

    let expr = p("!a == b");
    let (op, lhs, _) = binary(&expr);
    assert_eq!(op, BinaryOp::Eq);
    assert!(matches!(lhs.kind, ExprKind::Not(_)));

    let expr = p("a && b != c");
    let (op, _, rhs) = binary(&expr);
    assert_eq!(op, BinaryOp::And);
    assert_eq!(binary(rhs).0, BinaryOp::Ne);
}

#[test]
fn binary_operators_are_left_associative() {
    let src = "a == b == c";
    let expr = p(src);
    let (_, lhs, rhs) = binary(&expr);
    assert_eq!(text(src, lhs.span), "a == b");
    assert_eq!(rhs, &context("c", 10));
}

#[test]
fn parentheses_override_precedence_and_keep_their_span() {
    let src = "(a || b) && c";
    let expr = p(src);
    let (op, lhs, _) = binary(&expr);
    assert_eq!(op, BinaryOp::And);
    assert!(matches!(lhs.kind, ExprKind::Group(_)));
    assert_eq!(text(src, lhs.span), "(a || b)");
}

#[test]
fn doubled_quote_is_an_escaped_quote() {
    assert_eq!(p("'it''s'").kind, ExprKind::String("it's".into()));
    assert_eq!(p("''''").kind, ExprKind::String("'".into()));
    assert_eq!(p("''").kind, ExprKind::String(String::new()));
    assert_eq!(p("'a''''b'").kind, ExprKind::String("a''b".into()));
}

#[test]
fn closing_braces_inside_a_string_do_not_end_the_expression() {
    let src = "echo ${{ format('}}') }} done";
    let found = find_expressions(src).expect("splits");
    assert_eq!(found.len(), 1);
    assert_eq!(text(src, found[0].span), "${{ format('}}') }}");
    assert_eq!(text(src, found[0].inner), " format('}}') ");
    let expr = found[0].expr.as_ref().expect("parses");
    let ExprKind::Call { name, args, .. } = &expr.kind else {
        panic!("expected a call, got {expr:?}");
    };
    assert_eq!(name, "format");
    assert_eq!(args[0].kind, ExprKind::String("}}".into()));
}

#[test]
fn escaped_quote_inside_embedded_string_keeps_scanning_correct() {
    let src = "${{ 'it''s }}' }} and ${{ b }}";
    let found = find_expressions(src).expect("splits");
    assert_eq!(found.len(), 2);
    assert_eq!(
        found[0].expr.as_ref().map(|e| e.kind.clone()),
        Ok(ExprKind::String("it's }}".into()))
    );
    assert_eq!(text(src, found[1].inner), " b ");
}

#[test]
fn spans_point_at_the_right_bytes() {
    let src = "  github.event.issue.title == 'x''y' ";
    let expr = p(src);
    assert_eq!(text(src, expr.span), "github.event.issue.title == 'x''y'");
    let ExprKind::Binary {
        op_span, lhs, rhs, ..
    } = &expr.kind
    else {
        panic!("not binary");
    };
    assert_eq!(text(src, *op_span), "==");
    assert_eq!(text(src, lhs.span), "github.event.issue.title");
    assert_eq!(text(src, rhs.span), "'x''y'");
    let ExprKind::Property {
        object, name_span, ..
    } = &lhs.kind
    else {
        panic!("not a property");
    };
    assert_eq!(text(src, *name_span), "title");
    assert_eq!(text(src, object.span), "github.event.issue");

    let src = "contains(a['b'], c)";
    let ExprKind::Call {
        name_span, args, ..
    } = p(src).kind
    else {
        panic!("not a call");
    };
    assert_eq!(text(src, name_span), "contains");
    assert_eq!(text(src, args[0].span), "a['b']");
    assert_eq!(text(src, args[1].span), "c");
}

#[test]
fn embedded_spans_are_relative_to_the_whole_text() {
    let src = "echo \"${{ github.ref }}\" && ${{ x }}";
    let found = find_expressions(src).expect("splits");
    assert_eq!(found.len(), 2);
    let first = found[0].expr.as_ref().expect("parses");
    assert_eq!(text(src, first.span), "github.ref");
    assert_eq!(text(src, found[0].span), "${{ github.ref }}");
    let second = found[1].expr.as_ref().expect("parses");
    assert_eq!(text(src, second.span), "x");
    let refs = context_refs(first);
    assert_eq!(text(src, refs[0].span), "github.ref");
}

#[test]
fn embedded_parse_errors_are_per_expression_and_relative_to_text() {
    let src = "${{ a == }} ${{ }} ${{ ok }}";
    let found = find_expressions(src).expect("splits");
    assert_eq!(found.len(), 3);
    let e = found[0].expr.as_ref().expect_err("bad");
    // Zero-width at the end of the inner source, just before `}}`.
    assert_eq!(e.span, Span::new(9, 9));
    let e = found[1].expr.as_ref().expect_err("empty");
    assert_eq!(e.message, "empty expression");
    assert_eq!(e.span, found[1].inner);
    assert!(found[2].expr.is_ok());
}

#[test]
fn hyphenated_identifiers_are_single_names() {
    assert_eq!(
        dotted("steps.run-all.outputs.all"),
        ["steps.run-all.outputs.all"]
    );
    assert_eq!(dotted("needs.build-x.result"), ["needs.build-x.result"]);
    assert_eq!(dotted("_under_score.a_b"), ["_under_score.a_b"]);
}

#[test]
fn wildcard_filter_is_a_segment() {
    let src = "contains(github.event.commits.*.message, '[skip]')";
    let refs = context_refs(&p(src));
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].root, "github");
    assert_eq!(
        refs[0].path,
        [
            Segment::Name("event".into()),
            Segment::Name("commits".into()),
            Segment::Wildcard,
            Segment::Name("message".into()),
        ]
    );
    assert_eq!(refs[0].dotted(), "github.event.commits.*.message");
    assert_eq!(text(src, refs[0].span), "github.event.commits.*.message");
}

#[test]
fn index_forms_become_index_element_or_dynamic_segments() {
    let refs = context_refs(&p("a['B c'][0][x.y].d"));
    assert_eq!(refs.len(), 2);
    assert_eq!(
        refs[0].path,
        [
            Segment::Index("B c".into()),
            Segment::Element(0),
            Segment::Dynamic,
            Segment::Name("d".into()),
        ]
    );
    assert_eq!(refs[0].dotted(), "a['b c'][0][?].d");
    assert_eq!(refs[1].dotted(), "x.y");
    assert_eq!(
        dotted("github['event']['pull_request'].title"),
        ["github.event.pull_request.title"]
    );
    assert_eq!(dotted("a[1.5]"), ["a[?]"]);
    assert_eq!(dotted("a['it''s']"), ["a['it''s']"]);
}

#[test]
fn context_root_is_lowercased_and_refs_include_function_arguments() {
    let refs = context_refs(&p(
        "contains(GitHub.Event.Issue.Title, 'x') && !Secrets.TOKEN",
    ));
    let dotted: Vec<_> = refs.iter().map(ContextRef::dotted).collect();
    assert_eq!(dotted, ["github.event.issue.title", "secrets.token"]);
    assert_eq!(refs[0].root, "github");
    assert_eq!(refs[1].path, [Segment::Name("TOKEN".into())]);
    assert!(context_refs(&p("'literal' == 1 && f()")).is_empty());
}

#[test]
fn access_on_call_result_reports_only_inner_contexts() {
    let src = "fromJSON(needs.setup.outputs.matrix).include[0].os";
    assert_eq!(dotted(src), ["needs.setup.outputs.matrix"]);
    let expr = p(src);
    assert_eq!(text(src, expr.span), src);
}

#[test]
fn number_literals() {
    let num = |s: &str| match p(s).kind {
        ExprKind::Number(n) => n,
        other => panic!("{s:?} is not a number: {other:?}"),
    };
    assert_eq!(num("0xff"), 255.0);
    assert_eq!(num("0XFF"), 255.0);
    assert_eq!(num("-0x10"), -16.0);
    assert_eq!(num("1e3"), 1000.0);
    assert_eq!(num("-9.2"), -9.2);
    assert_eq!(num("-2.99e-2"), -0.0299);
    assert_eq!(num("42"), 42.0);
    assert_eq!(num("Infinity"), f64::INFINITY);
    assert!(num("NaN").is_nan());
    assert_eq!(err("1.").span, Span::new(2, 2));
    assert_eq!(err("0x").span, Span::new(2, 2));
    assert_eq!(err("1e").span, Span::new(2, 2));
    assert_eq!(err("- 1").span, Span::new(1, 2));
    assert_eq!(err("12ab").span, Span::new(2, 3));
}

#[test]
fn keyword_literals() {
    assert_eq!(p("null").kind, ExprKind::Null);
    assert_eq!(p("true").kind, ExprKind::Bool(true));
    assert_eq!(p(" false ").kind, ExprKind::Bool(false));
    // Keywords are case-sensitive; anything else is a context name.
    assert_eq!(p("True").kind, ExprKind::Context("True".into()));
}

#[test]
fn calls_keep_name_as_written_and_match_case_insensitively() {
    let src = "StartsWith(github.ref, 'refs/tags/')";
    let expr = p(src);
    assert!(expr.is_call_to("startsWith"));
    assert!(!expr.is_call_to("endsWith"));
    let ExprKind::Call { name, args, .. } = &expr.kind else {
        panic!("not a call");
    };
    assert_eq!(name, "StartsWith");
    assert_eq!(args.len(), 2);
    assert!(matches!(&p("always()").kind, ExprKind::Call { args, .. } if args.is_empty()));
    assert!(is_known_function("tojson"));
    assert!(is_known_function("hashFiles"));
    assert!(!is_known_function("frobnicate"));
}

#[test]
fn walk_finds_unknown_functions_anywhere() {
    let expr = p("success() && (frob(a) || !contains(x, bar()))");
    let mut unknown = Vec::new();
    expr.walk(|node| {
        if let ExprKind::Call { name, .. } = &node.kind
            && !is_known_function(name)
        {
            unknown.push(name.clone());
        }
    });
    assert_eq!(unknown, ["frob", "bar"]);
}

#[test]
fn error_positions_for_malformed_input() {
    let cases: &[(&str, Span)] = &[
        ("github.", Span::new(7, 7)),
        ("a ==", Span::new(4, 4)),
        ("'unterminated", Span::new(0, 13)),
        ("(", Span::new(1, 1)),
        ("(a", Span::new(2, 2)),
        ("a b", Span::new(2, 3)),
        ("a = b", Span::new(2, 3)),
        ("a & b", Span::new(2, 3)),
        ("a | b", Span::new(2, 3)),
        ("f(a,)", Span::new(4, 5)),
        ("f(a b)", Span::new(4, 5)),
        ("a[1", Span::new(3, 3)),
        ("a.1", Span::new(2, 3)),
        ("a.(b)", Span::new(2, 3)),
        ("# x", Span::new(0, 1)),
        ("é", Span::new(0, 2)),
        ("a }} b", Span::new(2, 3)),
        ("", Span::new(0, 0)),
        ("   ", Span::new(0, 3)),
        (")", Span::new(0, 1)),
        ("!", Span::new(1, 1)),
    ];
    for (src, span) in cases {
        assert_eq!(err(src).span, *span, "error span for {src:?}: {}", err(src));
    }
    assert!(err("a ==").message.contains("`==`"), "{}", err("a =="));
    assert!(err("'x").message.contains("unterminated"));
    assert!(err("(a").message.contains("`)`"));
}

#[test]
fn unterminated_embedded_expression_is_an_error_at_the_opener() {
    let e = find_expressions("echo ${{ a").expect_err("unterminated");
    assert_eq!(e.span, Span::new(5, 8));
    assert!(e.message.contains("${{"));
    let e = find_expressions("${{ a }} ${{ b").expect_err("second unterminated");
    assert_eq!(e.span, Span::new(9, 12));
    let e = find_expressions("x ${{ 'abc }}").expect_err("open string");
    assert_eq!(e.span, Span::new(6, 13));
    assert!(e.message.contains("string"));
}

#[test]
fn text_without_expressions_and_stray_braces() {
    assert_eq!(find_expressions("plain $ {{ }} text"), Ok(Vec::new()));
    let src = "${{ a }}}";
    let found = find_expressions(src).expect("splits");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].span, Span::new(0, 8));
}

#[test]
fn depth_limit_on_parentheses_and_negation() {
    let nested = |n: usize| format!("{}a{}", "(".repeat(n), ")".repeat(n));
    assert!(parse(&nested(MAX_NESTING)).is_ok());
    let e = err(&nested(MAX_NESTING + 1));
    assert_eq!(e.span, Span::new(MAX_NESTING, MAX_NESTING + 1));
    assert!(e.message.contains("nested"));

    assert!(parse(&format!("{}a", "!".repeat(MAX_NESTING))).is_ok());
    assert!(parse(&format!("{}a", "!".repeat(MAX_NESTING + 1))).is_err());
    assert!(parse(&format!("{}a{}", "a[".repeat(100), "]".repeat(100))).is_err());
    assert!(parse(&format!("{}a{}", "f(".repeat(100), ")".repeat(100))).is_err());

    // Far beyond the limit: must fail cleanly, not overflow the stack.
    assert!(parse(&"(".repeat(200_000)).is_err());
    assert!(parse(&"!".repeat(200_000)).is_err());
}

#[test]
fn height_limit_on_long_flat_chains() {
    let chain = |n: usize| vec!["a"; n].join(" || ");
    let tallest = p(&chain(MAX_HEIGHT));
    // Derived (recursive) impls must stay safe at the limit on a test thread's stack.
    assert!(format!("{tallest:?}").len() > MAX_HEIGHT);
    assert_eq!(tallest.clone(), tallest);
    assert!(parse(&chain(MAX_HEIGHT + 2)).is_err());
    assert!(parse(&chain(100_000)).is_err());
    assert!(parse(&format!("a{}", ".b".repeat(100_000))).is_err());
    // Wide is fine: many arguments do not make the tree tall.
    let wide = format!("format('{{0}}'{})", ", a".repeat(5_000));
    assert!(parse(&wide).is_ok());
}

#[test]
fn real_world_expressions() {
    let one = |src: &str| -> Expr {
        let found = find_expressions(src).expect("splits");
        assert_eq!(found.len(), 1, "{src}");
        found[0].expr.clone().expect("parses")
    };
    let refs = |src: &str| -> Vec<String> {
        context_refs(&one(src))
            .iter()
            .map(ContextRef::dotted)
            .collect()
    };

    assert_eq!(
        refs("${{ forge.event.pull_request.head.ref }}"),
        ["forge.event.pull_request.head.ref"]
    );

    let expr = one("${{ secrets.TOKEN != '' }}");
    let (op, _, rhs) = binary(&expr);
    assert_eq!(op, BinaryOp::Ne);
    assert_eq!(rhs.kind, ExprKind::String(String::new()));
    assert_eq!(refs("${{ secrets.TOKEN != '' }}"), ["secrets.token"]);

    assert_eq!(refs("${{ steps.run-all.all }}"), ["steps.run-all.all"]);

    let expr = one("${{ fromJSON(needs.setup.outputs.matrix) }}");
    assert!(expr.is_call_to("fromjson"));
    assert_eq!(
        refs("${{ fromJSON(needs.setup.outputs.matrix) }}"),
        ["needs.setup.outputs.matrix"]
    );

    let src = "${{ github.event_name == 'push' && startsWith(github.ref, 'refs/tags/') }}";
    let expr = one(src);
    let (op, lhs, rhs) = binary(&expr);
    assert_eq!(op, BinaryOp::And);
    assert_eq!(binary(lhs).0, BinaryOp::Eq);
    assert!(rhs.is_call_to("startsWith"));
    assert_eq!(refs(src), ["github.event_name", "github.ref"]);

    let src = "${{ hashFiles('**/Cargo.lock') }}-${{ runner.os }}";
    assert_eq!(find_expressions(src).expect("splits").len(), 2);
}

#[test]
fn parse_if_accepts_bare_and_wrapped_conditions() {
    let bare = parse_if("github.event_name == 'push'").expect("bare");
    assert_eq!(bare.span, Span::new(0, 27));
    let src = "  ${{ github.event_name == 'push' }}\n";
    let wrapped = parse_if(src).expect("wrapped");
    assert_eq!(text(src, wrapped.span), "github.event_name == 'push'");
    assert_eq!(binary(&bare).0, binary(&wrapped).0);
    assert_eq!(
        context_refs(&bare)[0].dotted(),
        context_refs(&wrapped)[0].dotted()
    );

    let src = "${{ a }} && b";
    let e = parse_if(src).expect_err("mixed");
    assert_eq!(e.span, Span::new(0, src.len()));
    assert!(e.message.contains("always true"));
    assert!(parse_if("${{ a }}${{ b }}").is_err());
    assert_eq!(
        parse_if("${{ a ==  }}").expect_err("bad").span,
        Span::new(10, 10)
    );
    assert!(parse_if("${{ a").is_err());
}

/// xorshift64*: deterministic, dependency-free randomness for the fuzz test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n as u64)).unwrap_or(0)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Every span in `expr` lies inside `src` on character boundaries.
fn assert_spans_in_bounds(src: &str, expr: &Expr) {
    expr.walk(|node| {
        assert!(
            node.span.start <= node.span.end && node.span.end <= src.len(),
            "{src:?}"
        );
        assert!(src.is_char_boundary(node.span.start) && src.is_char_boundary(node.span.end));
    });
}

fn check_input(src: &str) {
    match parse(src) {
        Ok(expr) => {
            assert_spans_in_bounds(src, &expr);
            for r in context_refs(&expr) {
                assert!(r.span.end <= src.len());
                let _ = r.dotted();
            }
        }
        Err(e) => assert!(e.span.end <= src.len(), "{src:?}: {e}"),
    }
    match find_expressions(src) {
        Ok(found) => {
            for emb in found {
                assert!(emb.span.end <= src.len() && emb.inner.end <= emb.span.end);
                match emb.expr {
                    Ok(expr) => assert_spans_in_bounds(src, &expr),
                    Err(e) => assert!(e.span.end <= src.len()),
                }
            }
        }
        Err(e) => assert!(e.span.end <= src.len()),
    }
    if let Err(e) = parse_if(src) {
        assert!(e.span.end <= src.len());
    }
}

#[test]
fn fuzz_generated_and_mutated_inputs_never_panic() {
    const PIECES: &[&str] = &[
        "github",
        "a",
        "b-c",
        "_x",
        ".",
        ".*",
        "*",
        "[",
        "]",
        "(",
        ")",
        ",",
        "!",
        "<",
        "<=",
        ">",
        ">=",
        "==",
        "!=",
        "&&",
        "||",
        "=",
        "&",
        "|",
        "'",
        "''",
        "'s'",
        "'}}'",
        "0",
        "-1",
        "1.5",
        "1e3",
        "0xff",
        "-",
        "0x",
        "1.",
        "null",
        "true",
        "NaN",
        "contains(",
        "format(",
        "${{",
        "}}",
        "}",
        "{",
        "$",
        " ",
        "\n",
        "é",
        "😀",
        "\u{0}",
        "\\",
    ];
    const SEEDS: &[&str] = &[
        "${{ github.event_name == 'push' && startsWith(github.ref, 'refs/tags/') }}",
        "${{ format('{0}}}', fromJSON(needs.setup.outputs.matrix)[0].os) }}",
        "!(a.b['c'][0].*.d || contains(x, 'it''s')) && e <= 0x1f",
        "echo ${{ secrets.TOKEN != '' }} ${{ steps.run-all.all }}",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..4_000 {
        let input = if round % 2 == 0 {
            let len = rng.below(40);
            (0..len).map(|_| rng.pick(PIECES)).collect::<String>()
        } else {
            let mut s = rng.pick(SEEDS).to_owned();
            for _ in 0..=rng.below(4) {
                let cut = rng.below(s.len() + 1);
                let cut = (0..=cut)
                    .rev()
                    .find(|&i| s.is_char_boundary(i))
                    .unwrap_or(0);
                match rng.below(3) {
                    0 => s.insert_str(cut, rng.pick(PIECES)),
                    1 => s.truncate(cut),
                    _ => {
                        let end = (cut..=s.len()).find(|&i| s.is_char_boundary(i) && i > cut);
                        if let Some(end) = end {
                            s.replace_range(cut..end, "");
                        }
                    }
                }
            }
            s
        };
        check_input(&input);
    }
}

#[test]
fn expressions_are_found_after_lone_dollars_and_multibyte_text() {
    // Each `$` that does not start `${{` is skipped, wherever it is; positions are bytes.
    for (src, opens) in [
        ("$$${{ a }}", vec![2]),
        ("é$ ${ $é ${{ b }} $", vec![11]),
        ("${{ a }}${{ b }}", vec![0, 8]),
        ("${ {{ a }} $ {{ b }}", vec![]),
        ("echo $HOME $", vec![]),
        ("", vec![]),
    ] {
        let found: Vec<usize> = find_expressions(src)
            .expect("splits")
            .iter()
            .map(|e| e.span.start)
            .collect();
        assert_eq!(found, opens, "{src:?}");
        assert_eq!(has_expression(src), !opens.is_empty(), "{src:?}");
        assert_eq!(has_expression(src), src.contains("${{"), "{src:?}");
    }
    assert!(
        has_expression("x $${{"),
        "an unclosed `${{` is still an expression site"
    );
}
