//! The RQL filter parser (the sandbox's, which reads `filter=` of every list request):
//! parse, then what the sandbox does with a parsed filter (selector check, evaluation
//! against records, with numeric, boolean, date and multi-valued fields), and the printer's
//! promise that what it prints parses back to the same tree.
//!
//! Input: the filter text (UTF-8; other bytes are replaced). Never panics: bad filters are
//! an `RqlError`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zebrunner_sandbox::rql::{Record, Value, parse, parse_instant};

/// A record with a field of every kind the sandbox's records expose.
struct Sample(u8);

impl Record for Sample {
    fn field(&self, selector: &str) -> Vec<Value> {
        let v = match selector {
            "id" | "testSuite.id" | "milestone.id" => Value::Num(f64::from(self.0) * 7.0),
            "title" | "description" => Value::Str(format!("Login works ({})", self.0)),
            "deprecated" | "draft" | "closed" => Value::Bool(self.0 % 2 == 0),
            "createdAt" => Value::Str("2025-03-01T10:00:00Z".into()),
            "automationState.id" => Value::Str(format!("{}", 10 + self.0)),
            "configurations.optionName" => {
                return vec![Value::Str("Chrome".into()), Value::Str("2025-01-01".into())];
            }
            "priority.name" => Value::Null,
            _ => return Vec::new(),
        };
        vec![v]
    }
}

/// The parser's input cap (`MAX_LEN` in crates/zebrunner-sandbox/src/rql.rs).
const MAX_LEN: usize = 4096;

const ALLOWED: &[&str] = &[
    "id",
    "title",
    "description",
    "testSuite.id",
    "milestone.id",
    "deprecated",
    "draft",
    "closed",
    "createdAt",
    "automationState.id",
    "configurations.optionName",
    "priority.name",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_instant(&text);
    let Ok(expr) = parse(&text) else {
        return;
    };
    let printed = expr.to_string();
    // The printer escapes quotes and backslashes, so a filter near the parser's length cap
    // (4096 bytes) may print longer than the cap; that text is refused as too long, which is
    // the cap working (the first finding of this target, see docs/fuzzing.md).
    if printed.len() > MAX_LEN {
        return;
    }
    match parse(&printed) {
        Ok(again) => assert_eq!(again, expr, "{text:?} printed as {printed:?}"),
        Err(e) => panic!("{text:?} printed as {printed:?}, which does not parse: {e}"),
    }
    let _ = expr.check_selectors(ALLOWED);
    for i in 0..3 {
        let _ = expr.matches(&Sample(i));
    }
});
