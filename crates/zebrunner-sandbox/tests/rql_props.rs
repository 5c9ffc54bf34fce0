//! Property tests for the RQL parser: print→parse round-trips, no panics on
//! arbitrary or mutated input, and rejection of malformed filters.

// Test helpers may unwrap/expect/panic: clippy.toml only covers #[test] fns and #[cfg(test)].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use zebrunner_sandbox::rql::{Expr, Op, Value, parse};

const KEYWORDS: &[&str] = &["and", "or", "in", "true", "false", "null"];

fn selector() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-zA-Z_][a-zA-Z0-9_]{0,8}(\\.[a-zA-Z_][a-zA-Z0-9_]{0,6}){0,2}")
        .expect("valid regex")
        .prop_filter("not a keyword", |s| {
            !KEYWORDS.iter().any(|k| s.eq_ignore_ascii_case(k))
        })
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-1_000_000i64..1_000_000).prop_map(|n| n as f64),
        (-1e12f64..1e12f64),
        Just(0.5),
        Just(-0.0),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::Str),
        number().prop_map(Value::Num),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ]
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        (
            selector(),
            prop_oneof![Just(Op::Eq), Just(Op::Ge), Just(Op::Le)],
            value()
        )
            .prop_map(|(selector, op, value)| Expr::Cmp {
                selector,
                op,
                value
            }),
        (selector(), any::<String>()).prop_map(|(selector, s)| Expr::Cmp {
            selector,
            op: Op::Contains,
            value: Value::Str(s),
        }),
        (selector(), proptest::collection::vec(value(), 1..5))
            .prop_map(|(selector, values)| Expr::In { selector, values }),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(5, 32, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Expr::And(Box::new(l), Box::new(r))),
            (inner.clone(), inner).prop_map(|(l, r)| Expr::Or(Box::new(l), Box::new(r))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn printed_ast_parses_back_to_itself(e in expr()) {
        let text = e.to_string();
        let parsed = parse(&text);
        prop_assert_eq!(parsed.as_ref(), Ok(&e), "text: {}", text);
    }

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        let _ = parse(&s);
    }

    #[test]
    fn rql_like_noise_never_panics(s in "[a-zA-Z.=<>~!()\\[\\],'\" 0-9\\\\-]{0,60}") {
        let _ = parse(&s);
    }

    #[test]
    fn mutated_filters_never_panic(e in expr(), pos in any::<prop::sample::Index>(), c in any::<char>(), delete in any::<bool>()) {
        let mut chars: Vec<char> = e.to_string().chars().collect();
        let i = pos.index(chars.len() + 1);
        if delete && i < chars.len() {
            chars.remove(i);
        } else {
            chars.insert(i.min(chars.len()), c);
        }
        let text: String = chars.into_iter().collect();
        let _ = parse(&text);
    }

    #[test]
    fn malformed_wrappings_are_rejected(e in expr()) {
        let text = e.to_string();
        let cases = [
            format!("{text} AND"),
            format!("OR {text}"),
            format!("({text}"),
            format!("{text})"),
            format!("{text} {text}"),
        ];
        for bad in cases {
            prop_assert!(parse(&bad).is_err(), "accepted: {}", bad);
        }
    }

    #[test]
    fn unsupported_operators_are_rejected(sel in selector(), n in 0i64..1000, op in prop_oneof![Just("!="), Just(">"), Just("<"), Just("==")]) {
        let bad = format!("{sel} {op} {n}");
        prop_assert!(parse(&bad).is_err(), "accepted: {}", bad);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let text = format!("{}a = 1{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(parse(&text).is_err());
}

#[test]
fn selector_check_names_the_offender() {
    let e = parse("automationState.name = 'Automated' AND draft = false").unwrap();
    let err = e
        .check_selectors(&["draft", "automationState.id"])
        .unwrap_err();
    assert!(
        err.message.contains("automationState.name"),
        "{}",
        err.message
    );
}
