//! Opaque cursors: where the next page of a tool's answer starts.
//!
//! A cursor is base64url JSON. It is bound to the query that produced it by a
//! fingerprint, so a cursor replayed with different filters is refused
//! instead of silently returning the wrong rows.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::error::ToolError;

/// Encode a cursor payload.
pub fn encode<T: Serialize>(payload: &T) -> String {
    // Serialising plain structs of strings and numbers cannot fail.
    let json = serde_json::to_vec(payload).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Decode a cursor given back by a caller.
pub fn decode<T: DeserializeOwned>(cursor: &str) -> Result<T, ToolError> {
    let bad = || {
        ToolError::invalid(
            "`cursor` is not one this server issued; pass the `next_cursor` value unchanged, or omit it to start over",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| bad())?;
    serde_json::from_slice(&bytes).map_err(|_| bad())
}

/// A stable fingerprint of the query a cursor belongs to (FNV-1a over its
/// canonical JSON), so that it survives restarts and works on any replica.
pub fn fingerprint<T: Serialize>(query: &T) -> String {
    let json = serde_json::to_vec(query).unwrap_or_default();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in json {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Cursor for lists the server pages itself (an offset into a stable order).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct OffsetCursor {
    pub q: String,
    pub o: usize,
}

impl OffsetCursor {
    /// Decode `cursor` and check it belongs to the query `fingerprint`.
    pub fn resume(cursor: Option<&str>, fingerprint: &str) -> Result<usize, ToolError> {
        let Some(cursor) = cursor else { return Ok(0) };
        let decoded: OffsetCursor = decode(cursor)?;
        if decoded.q != fingerprint {
            return Err(ToolError::invalid(
                "`cursor` belongs to a different query; repeat the call without `cursor`",
            ));
        }
        Ok(decoded.o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let c = OffsetCursor {
            q: "abc".into(),
            o: 7,
        };
        let back: OffsetCursor = decode(&encode(&c)).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn garbage_is_refused() {
        assert!(decode::<OffsetCursor>("%%%").is_err());
        assert!(decode::<OffsetCursor>(&URL_SAFE_NO_PAD.encode("[1]")).is_err());
    }

    #[test]
    fn cursor_of_another_query_is_refused() {
        let c = encode(&OffsetCursor {
            q: "one".into(),
            o: 3,
        });
        assert!(OffsetCursor::resume(Some(&c), "two").is_err());
        assert_eq!(OffsetCursor::resume(Some(&c), "one").unwrap(), 3);
    }

    #[test]
    fn fingerprint_is_stable() {
        assert_eq!(fingerprint(&("a", 1)), fingerprint(&("a", 1)));
        assert_ne!(fingerprint(&("a", 1)), fingerprint(&("a", 2)));
    }
}
