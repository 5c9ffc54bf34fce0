//! Opaque cursors: where the next page of a tool's answer starts.
//!
//! A cursor is base64url JSON followed by `.` and a truncated HMAC-SHA256
//! (128 bits) of that JSON under the server's [`CursorKey`], which lives in
//! storage so every replica sharing the database accepts the others'
//! cursors. A cursor that was altered, or made up, is refused before any of
//! its fields is read. It is also bound to the query that produced it by a
//! fingerprint, so a cursor replayed with different filters is refused
//! instead of silently returning the wrong rows. Signing is about integrity
//! only: every page is still checked against the caller's grant.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sha2::Sha256;

use super::error::ToolError;

/// Bytes of MAC kept in a cursor.
const TAG_BYTES: usize = 16;

/// The cursor-signing key. Cheap to clone.
#[derive(Clone)]
pub struct CursorKey(std::sync::Arc<[u8]>);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

impl CursorKey {
    /// The storage name of the shared key.
    pub const STORAGE_NAME: &'static str = "cursor_hmac_key";
    /// Length of a generated key.
    pub const LEN: usize = 32;

    pub fn new(bytes: &[u8]) -> Self {
        Self(bytes.into())
    }

    /// A key for this process only (stdio, tests): cursors do not survive a
    /// restart, which a single process does not need.
    pub fn random() -> Self {
        let bytes: [u8; Self::LEN] = rand::random();
        Self::new(&bytes)
    }

    fn tag(&self, data: &[u8]) -> Result<Vec<u8>, ToolError> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0)
            .map_err(|_| ToolError::Internal("the cursor key is unusable".into()))?;
        mac.update(data);
        Ok(mac.finalize().into_bytes()[..TAG_BYTES].to_vec())
    }

    /// Encode and sign a cursor payload.
    pub fn encode<T: Serialize>(&self, payload: &T) -> String {
        // Serialising plain structs of strings and numbers cannot fail.
        let json = serde_json::to_vec(payload).unwrap_or_default();
        let tag = self.tag(&json).unwrap_or_default();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&json),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// Check and decode a cursor given back by a caller.
    pub fn decode<T: DeserializeOwned>(&self, cursor: &str) -> Result<T, ToolError> {
        let bad = || {
            ToolError::invalid(
                "`cursor` is not one this server issued; pass the `next_cursor` value unchanged, or omit it to start over",
            )
        };
        let (body, tag) = cursor.trim().split_once('.').ok_or_else(bad)?;
        if body.len() > 4096 {
            return Err(bad());
        }
        let json = URL_SAFE_NO_PAD.decode(body).map_err(|_| bad())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| bad())?;
        if tag.len() != TAG_BYTES {
            return Err(bad());
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).map_err(|_| bad())?;
        mac.update(&json);
        mac.verify_truncated_left(&tag).map_err(|_| bad())?;
        serde_json::from_slice(&json).map_err(|_| bad())
    }
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
    pub fn resume(
        key: &CursorKey,
        cursor: Option<&str>,
        fingerprint: &str,
    ) -> Result<usize, ToolError> {
        let Some(cursor) = cursor else { return Ok(0) };
        let decoded: OffsetCursor = key.decode(cursor)?;
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
        let key = CursorKey::random();
        let c = OffsetCursor {
            q: "abc".into(),
            o: 7,
        };
        let back: OffsetCursor = key.decode(&key.encode(&c)).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn garbage_is_refused() {
        let key = CursorKey::random();
        assert!(key.decode::<OffsetCursor>("%%%").is_err());
        assert!(
            key.decode::<OffsetCursor>(&URL_SAFE_NO_PAD.encode("[1]"))
                .is_err()
        );
    }

    #[test]
    fn forged_and_altered_cursors_are_refused() {
        let key = CursorKey::random();
        // The unsigned form earlier versions issued, with a huge offset.
        let forged = URL_SAFE_NO_PAD.encode(br#"{"q":"abc","o":18446744073709551615}"#);
        assert!(key.decode::<OffsetCursor>(&forged).is_err());
        let good = key.encode(&OffsetCursor {
            q: "abc".into(),
            o: 7,
        });
        let (_, tag) = good.split_once('.').unwrap();
        let altered = format!(
            "{}.{tag}",
            URL_SAFE_NO_PAD.encode(br#"{"q":"abc","o":18446744073709551615}"#)
        );
        assert!(key.decode::<OffsetCursor>(&altered).is_err());
        // Another server's key.
        assert!(CursorKey::random().decode::<OffsetCursor>(&good).is_err());
        // A truncated tag.
        assert!(key.decode::<OffsetCursor>(&good[..good.len() - 4]).is_err());
        // The same key (another replica) accepts it.
        let replica = CursorKey::new(&key.0);
        assert!(replica.decode::<OffsetCursor>(&good).is_ok());
    }

    #[test]
    fn cursor_of_another_query_is_refused() {
        let key = CursorKey::random();
        let c = key.encode(&OffsetCursor {
            q: "one".into(),
            o: 3,
        });
        assert!(OffsetCursor::resume(&key, Some(&c), "two").is_err());
        assert_eq!(OffsetCursor::resume(&key, Some(&c), "one").unwrap(), 3);
    }

    #[test]
    fn fingerprint_is_stable() {
        assert_eq!(fingerprint(&("a", 1)), fingerprint(&("a", 1)));
        assert_ne!(fingerprint(&("a", 1)), fingerprint(&("a", 2)));
    }
}
