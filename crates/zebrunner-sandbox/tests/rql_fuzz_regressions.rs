//! Inputs the `rql` fuzz target (fuzz/fuzz_targets/rql.rs, docs/fuzzing.md) stopped on, kept
//! as plain tests so CI checks them without the fuzzer.

// Test helpers may unwrap/expect/panic: clippy.toml only covers #[test] fns and #[cfg(test)].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use zebrunner_sandbox::rql::parse;

/// The parser's input cap (`MAX_LEN` in src/rql.rs).
const MAX_LEN: usize = 4096;

/// Found on 2026-12-07: a filter under the cap whose string literal is full of quotes. The
/// printer escapes each quote, so the printed filter is longer than the cap, and parsing it
/// again is refused as too long. That is the cap at work, not a misparse: the promise that
/// printed filters parse back to the same tree holds for every printed filter within the cap,
/// and one beyond it is refused, never cut or read differently.
#[test]
fn a_printed_filter_beyond_the_length_cap_is_refused_not_misread() {
    let filter = format!("title ~= \"{}\"", "'".repeat(MAX_LEN - 12));
    assert!(filter.len() <= MAX_LEN);
    let expr = parse(&filter).unwrap();
    let printed = expr.to_string();
    assert!(printed.len() > MAX_LEN, "{}", printed.len());
    let refused = parse(&printed).unwrap_err();
    assert!(refused.message.contains("too long"), "{refused}");
    assert_eq!(refused.position, Some(MAX_LEN));

    // Within the cap the round trip holds, quotes and backslashes included.
    let filter = format!("title ~= \"{}\\\\\"", "'".repeat(100));
    let expr = parse(&filter).unwrap();
    assert_eq!(parse(&expr.to_string()).unwrap(), expr);
}
