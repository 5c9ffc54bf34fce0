//! [`redact_arguments`]: what of a tool call's arguments may go into the audit log.
//!
//! Identifiers stay (they are what an auditor searches for); free text goes (titles,
//! descriptions, queries and regexes may hold personal data or pasted secrets); anything under
//! a key that names a secret goes whatever its value.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

/// Deeper values are replaced by [`TOO_DEEP`].
pub const MAX_DEPTH: usize = 8;
/// Longer arrays and larger objects keep this many entries, then a marker.
pub const MAX_ENTRIES: usize = 100;
/// Identifier-like strings longer than this are treated as free text.
const MAX_IDENTIFIER_LEN: usize = 64;

pub const SECRET: &str = "[secret]";
pub const TOO_DEEP: &str = "[redacted: too deep]";

/// Fragments of key names that mark a secret (compared lower-case, `-` read as `_`).
const SECRET_KEY_PARTS: &[&str] = &[
    "token",
    "password",
    "passwd",
    "secret",
    "authorization",
    "api_key",
    "apikey",
    "cookie",
    "credential",
    "private_key",
];

const KEEP_PATTERNS: [&str; 5] = [
    r"^[A-Z][A-Z0-9_]*$",        // project key: MYPROJ
    r"^[A-Z][A-Z0-9_]*-[0-9]+$", // test case key: MYPROJ-42
    r"^[a-z_]{1,32}$",           // enum-like: high, not_found
    r"^[0-9]{1,20}$",            // numeric id sent as a string
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?$", // ISO date
];

// ASCII digits, not `\d`: Unicode's digits are no identifier, and their class made compiling
// these the costliest part of a server's first call (12 million instructions, now a fraction).
// A pattern that failed to compile would only keep fewer strings (redact more), never leak
// more; a test checks that every one compiles.
static KEEP: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    KEEP_PATTERNS
        .iter()
        .filter_map(|re| Regex::new(re).ok())
        .collect()
});

/// A copy of `arguments` fit for the audit log: numbers, booleans and null kept; strings kept
/// only when they look like identifiers (project keys `ABC`, case keys `ABC-12`, enum-like
/// `snake_case` up to 32 characters, digits, ISO dates), otherwise `"[redacted: N chars]"`;
/// values under secret-looking keys (token, password, secret, authorization, api_key, cookie,
/// credential, ...) become `"[secret]"`; nesting deeper than [`MAX_DEPTH`] and entries beyond
/// [`MAX_ENTRIES`] are cut.
pub fn redact_arguments(arguments: &Value) -> Value {
    redact(arguments, 0)
}

fn redact(value: &Value, depth: usize) -> Value {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => value.clone(),
        Value::String(s) => redact_string(s),
        _ if depth >= MAX_DEPTH => Value::String(TOO_DEEP.into()),
        Value::Array(items) => {
            let mut out: Vec<Value> = items
                .iter()
                .take(MAX_ENTRIES)
                .map(|v| redact(v, depth + 1))
                .collect();
            if items.len() > MAX_ENTRIES {
                out.push(Value::String(format!(
                    "[redacted: {} more items]",
                    items.len() - MAX_ENTRIES
                )));
            }
            Value::Array(out)
        }
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, v) in map.iter().take(MAX_ENTRIES) {
                let v = if is_secret_key(key) {
                    Value::String(SECRET.into())
                } else {
                    redact(v, depth + 1)
                };
                out.insert(key.clone(), v);
            }
            if map.len() > MAX_ENTRIES {
                out.insert(
                    "[redacted]".into(),
                    Value::String(format!("{} more keys", map.len() - MAX_ENTRIES)),
                );
            }
            Value::Object(out)
        }
    }
}

fn redact_string(s: &str) -> Value {
    if s.len() <= MAX_IDENTIFIER_LEN && KEEP.iter().any(|re| re.is_match(s)) {
        Value::String(s.to_string())
    } else {
        Value::String(format!("[redacted: {} chars]", s.chars().count()))
    }
}

/// Whether a key's name suggests its value is a secret (`confirmation_token`, `apiKey`,
/// `X-Api-Key`, `Authorization`, `db_password`, ...).
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase().replace('-', "_");
    SECRET_KEY_PARTS.iter().any(|part| key.contains(part))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keep_pattern_compiles() {
        assert_eq!(KEEP.len(), KEEP_PATTERNS.len());
    }
    use serde_json::json;

    fn r(v: Value) -> Value {
        redact_arguments(&v)
    }

    #[test]
    fn scalars_are_kept() {
        assert_eq!(
            r(json!({"id": 42, "archived": false, "parent": null, "ratio": 0.5})),
            json!({"id": 42, "archived": false, "parent": null, "ratio": 0.5})
        );
    }

    #[test]
    fn project_and_case_keys_are_kept() {
        assert_eq!(
            r(json!({"project_key": "MYPROJ", "key": "MY_PROJ2-1234"})),
            json!({"project_key": "MYPROJ", "key": "MY_PROJ2-1234"})
        );
    }

    #[test]
    fn enum_like_values_and_dates_are_kept() {
        assert_eq!(
            r(
                json!({"priority": "high", "status": "not_run", "format": "markdown",
                     "from": "2026-05-01", "to": "2026-05-01T10:00:00Z", "id": "12345"})
            ),
            json!({"priority": "high", "status": "not_run", "format": "markdown",
                   "from": "2026-05-01", "to": "2026-05-01T10:00:00Z", "id": "12345"})
        );
    }

    #[test]
    fn free_text_is_redacted_with_its_length() {
        assert_eq!(
            r(
                json!({"title": "Login works", "query": "password reset", "regex": "^a.*b$",
                     "mixed": "MyProj", "unicode": "Überprüfung"})
            ),
            json!({"title": "[redacted: 11 chars]", "query": "[redacted: 14 chars]",
                   "regex": "[redacted: 6 chars]", "mixed": "[redacted: 6 chars]",
                   "unicode": "[redacted: 11 chars]"})
        );
    }

    #[test]
    fn only_ascii_digits_make_an_id_or_a_date() {
        // Arabic-Indic and fullwidth digits: `\d` would have kept them.
        assert_eq!(
            r(
                json!({"id": "\u{661}\u{662}\u{663}", "key": "DEMO-\u{ff11}", "from": "\u{ff12}026-05-01"})
            ),
            json!({"id": "[redacted: 3 chars]", "key": "[redacted: 6 chars]", "from": "[redacted: 10 chars]"})
        );
    }

    #[test]
    fn near_identifiers_are_free_text() {
        // Lower-case with a digit, a space, a 33-character word, a key with a letter suffix.
        for s in ["abc1", "not run", &"a".repeat(33), "ABC-12x", "abc-12", ""] {
            assert_eq!(
                r(json!(s)),
                json!(format!("[redacted: {} chars]", s.chars().count())),
                "{s:?}"
            );
        }
    }

    #[test]
    fn secret_keys_are_hidden_whatever_their_value() {
        assert_eq!(
            r(
                json!({"confirmation_token": "ABC", "Authorization": "Bearer x", "apiKey": 12,
                     "X-Api-Key": "k", "db_password": null, "client_secret": {"a": 1},
                     "Cookie": ["a"], "credentials": true, "refresh_token": "high"})
            ),
            json!({"confirmation_token": "[secret]", "Authorization": "[secret]",
                   "apiKey": "[secret]", "X-Api-Key": "[secret]", "db_password": "[secret]",
                   "client_secret": "[secret]", "Cookie": "[secret]", "credentials": "[secret]",
                   "refresh_token": "[secret]"})
        );
    }

    #[test]
    fn nested_objects_and_arrays_are_walked() {
        assert_eq!(
            r(json!({"filter": {"keys": ["ABC-1", "free text", 7],
                                 "auth": {"token": "t0k3n", "user": "QA"}}})),
            json!({"filter": {"keys": ["ABC-1", "[redacted: 9 chars]", 7],
                              "auth": {"token": "[secret]", "user": "QA"}}})
        );
    }

    #[test]
    fn top_level_strings_and_arrays() {
        assert_eq!(r(json!("ABC")), json!("ABC"));
        assert_eq!(
            r(json!(["x y", "ok"])),
            json!(["[redacted: 3 chars]", "ok"])
        );
    }

    #[test]
    fn depth_is_capped() {
        let mut v = json!("ABC");
        for _ in 0..20 {
            v = json!({ "a": v });
        }
        let out = r(v);
        let mut cur = &out;
        let mut depth = 0;
        while let Some(inner) = cur.get("a") {
            cur = inner;
            depth += 1;
        }
        assert_eq!(depth, MAX_DEPTH);
        assert_eq!(cur, &json!(TOO_DEEP));
    }

    #[test]
    fn size_is_capped() {
        let items: Vec<u32> = (0..250).collect();
        let out = r(json!({ "ids": items }));
        let ids = out["ids"].as_array().unwrap();
        assert_eq!(ids.len(), MAX_ENTRIES + 1);
        assert_eq!(ids[MAX_ENTRIES], json!("[redacted: 150 more items]"));

        let big: Map<String, Value> = (0..150).map(|i| (format!("k{i:03}"), json!(i))).collect();
        let out = r(Value::Object(big));
        assert_eq!(out.as_object().unwrap().len(), MAX_ENTRIES + 1);
        assert_eq!(out["[redacted]"], json!("50 more keys"));
    }

    #[test]
    fn long_identifier_lookalikes_are_redacted() {
        let long = "A".repeat(65);
        assert_eq!(r(json!(long)), json!("[redacted: 65 chars]"));
    }

    #[test]
    fn secret_key_detection() {
        for k in [
            "token",
            "accessToken",
            "PASSWORD",
            "x-api-key",
            "api_key",
            "set-cookie",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in ["project_key", "key", "title", "suite_id", "author"] {
            assert!(!is_secret_key(k), "{k}");
        }
    }
}
