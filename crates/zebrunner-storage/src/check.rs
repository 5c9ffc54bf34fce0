//! Bounds on values handed to the storage layer, shared by the typed stores ([`crate::vault`],
//! [`crate::oauth`]). Each check refuses with [`StorageError::Invalid`] and a message that never
//! repeats the value (it may be a secret, or megabytes long).

use crate::StorageError;

/// A text field: 1 to `max` characters, not only whitespace, no control characters.
pub(crate) fn text(what: &'static str, value: &str, max: usize) -> Result<(), StorageError> {
    if value.trim().is_empty() {
        return Err(invalid(what, "it is empty".into()));
    }
    text_or_empty(what, value, max)
}

/// A text field that may be empty: at most `max` characters, no control characters.
pub(crate) fn text_or_empty(
    what: &'static str,
    value: &str,
    max: usize,
) -> Result<(), StorageError> {
    if value.chars().count() > max {
        return Err(invalid(what, format!("it is longer than {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(what, "it contains control characters".into()));
    }
    Ok(())
}

/// A SHA-256 digest as the callers write it: 64 lowercase hexadecimal digits.
pub(crate) fn sha256_hex(what: &'static str, value: &str) -> Result<(), StorageError> {
    if value.len() == 64
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        Ok(())
    } else {
        Err(invalid(
            what,
            "expected a SHA-256 digest as 64 lowercase hexadecimal digits".into(),
        ))
    }
}

/// A JSON object of at most `max_bytes` bytes, stored as the caller wrote it.
pub(crate) fn json_object(
    what: &'static str,
    value: &str,
    max_bytes: usize,
) -> Result<(), StorageError> {
    if value.len() > max_bytes {
        return Err(invalid(
            what,
            format!("it is longer than {max_bytes} bytes"),
        ));
    }
    // serde_json limits nesting (128 levels), so a hostile document cannot exhaust the stack.
    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(value)
        .map(drop)
        .map_err(|e| {
            invalid(
                what,
                format!(
                    "it is not a JSON object (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
        })
}

/// Opaque bytes: 1 to `max` of them.
pub(crate) fn bytes(what: &'static str, value: &[u8], max: usize) -> Result<(), StorageError> {
    if value.is_empty() || value.len() > max {
        return Err(invalid(what, format!("expected 1 to {max} bytes")));
    }
    Ok(())
}

/// Free text kept for people to read (a revocation reason): control characters dropped, cut
/// to `max` characters. Never refused.
pub(crate) fn clean(value: &str, max: usize) -> String {
    value
        .chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect()
}

fn invalid(what: &'static str, reason: String) -> StorageError {
    StorageError::Invalid { what, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_fields_are_bounded() {
        assert!(text("login", "alice", 10).is_ok());
        assert!(text("login", " ", 10).is_err());
        assert!(text("login", "a\u{1b}[31m", 10).is_err());
        assert!(text("login", &"a".repeat(11), 10).is_err());
        assert!(text_or_empty("scope", "", 10).is_ok());
        assert!(text_or_empty("scope", "a\nb", 10).is_err());
    }

    #[test]
    fn hashes_are_64_lowercase_hex_digits() {
        assert!(sha256_hex("hash", &"ab".repeat(32)).is_ok());
        assert!(sha256_hex("hash", &"AB".repeat(32)).is_err());
        assert!(sha256_hex("hash", &"ab".repeat(31)).is_err());
        assert!(sha256_hex("hash", &"zz".repeat(32)).is_err());
        let err = sha256_hex("hash", "raw-secret-token")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("raw-secret-token"), "{err}");
    }

    #[test]
    fn json_must_be_a_bounded_object() {
        assert!(json_object("doc", r#"{"a": [1, 2]}"#, 100).is_ok());
        assert!(json_object("doc", "[1]", 100).is_err());
        assert!(json_object("doc", "{", 100).is_err());
        assert!(json_object("doc", r#"{"a": 1}"#, 3).is_err());
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(json_object("doc", &deep, 1 << 20).is_err());
    }

    #[test]
    fn reasons_are_cleaned_not_refused() {
        assert_eq!(clean("bad\u{1b}[31m reuse\n", 100), "bad[31m reuse");
        assert_eq!(clean("abcdef", 3), "abc");
    }
}
