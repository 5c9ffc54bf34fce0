//! The key ring: named 256-bit keys, newest last.
//!
//! The text form is what `ZMCP_VAULT_KEYS` holds and what a key file holds:
//! entries `id:base64key`, separated by commas or newlines; in a file, blank
//! lines and lines starting with `#` are ignored. Standard base64 with
//! padding, as `vault keygen` prints it. Rotation appends a new entry; the
//! old ones stay until `vault rekey` has moved every record off them.

use std::fmt;

use aes_gcm::{Aes256Gcm, KeyInit};
use base64::{Engine, engine::general_purpose::STANDARD};
use rand::TryRngCore;
use rand::rngs::OsRng;
use zeroize::{Zeroize, Zeroizing};

/// Bytes in a key (AES-256).
pub const KEY_LEN: usize = 32;

/// Longest key id accepted. Ids are stored beside every record.
const MAX_ID_LEN: usize = 32;

/// Why a key list was refused. Messages name the entry (by position and id)
/// but never contain key bytes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyRingError {
    #[error("the vault key list is empty; generate a key with `zebrunner-mcp vault keygen`")]
    Empty,
    #[error(
        "vault key entry {position} is not `id:base64key` (an id of letters, digits, `-` or `_`, \
         a colon, then the key as `zebrunner-mcp vault keygen` prints it)"
    )]
    Malformed { position: usize },
    #[error(
        "vault key id {id:?} (entry {position}) is not valid: use 1 to {MAX_ID_LEN} letters, digits, `-` or `_`"
    )]
    BadId { position: usize, id: String },
    #[error(
        "vault key {id:?} is not {KEY_LEN} bytes of standard base64; generate one with `zebrunner-mcp vault keygen`"
    )]
    BadKey { id: String },
    #[error("vault key id {id:?} appears twice; every key needs its own id")]
    DuplicateId { id: String },
}

/// One entry of a key list: its id and its bytes (a key, or a wrapped key), wiped on drop.
pub type KeyEntry = (KeyId, Zeroizing<Vec<u8>>);

/// A key's name, stored beside each record it sealed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// Parse an id: 1 to 32 ASCII letters, digits, `-` or `_`.
    pub fn new(id: &str) -> Option<KeyId> {
        let valid = !id.is_empty()
            && id.len() <= MAX_ID_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then(|| KeyId(id.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One key. The cipher (with its expanded key schedule) is built once and
/// wiped on drop by aes-gcm's `zeroize` support.
pub(crate) struct Key {
    pub(crate) id: KeyId,
    pub(crate) cipher: Aes256Gcm,
}

/// The keys the vault may use: the newest seals, all open.
pub struct KeyRing {
    /// Oldest first; never empty.
    keys: Vec<Key>,
}

impl KeyRing {
    /// Parse a key list (see the module docs for the format).
    pub fn parse(text: &str) -> Result<KeyRing, KeyRingError> {
        KeyRing::from_keys(parse_entries(text)?)
    }

    /// A ring of raw 32-byte keys, oldest first: what a list of wrapped keys (see
    /// [`parse_entries`]) gives once a KMS has unwrapped each.
    pub fn from_keys(entries: Vec<KeyEntry>) -> Result<KeyRing, KeyRingError> {
        let mut keys: Vec<Key> = Vec::with_capacity(entries.len());
        for (id, bytes) in entries {
            let cipher = Aes256Gcm::new_from_slice(&bytes)
                .map_err(|_| KeyRingError::BadKey { id: id.0.clone() })?;
            keys.push(Key { id, cipher });
        }
        if keys.is_empty() {
            return Err(KeyRingError::Empty);
        }
        Ok(KeyRing { keys })
    }

    /// The id of the key new seals use.
    pub fn newest(&self) -> &KeyId {
        &self.newest_key().id
    }

    /// Every key id, oldest first.
    pub fn ids(&self) -> impl Iterator<Item = &KeyId> {
        self.keys.iter().map(|k| &k.id)
    }

    pub(crate) fn newest_key(&self) -> &Key {
        // `parse` never builds an empty ring.
        &self.keys[self.keys.len() - 1]
    }

    pub(crate) fn key(&self, id: &str) -> Option<&Key> {
        self.keys.iter().find(|k| k.id.0 == id)
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field(
                "ids",
                &self.keys.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The entries of a key list (`id:base64` each; see the module docs), oldest first, with their
/// bytes decoded but not checked for length: the plain keys of [`KeyRing::parse`], or the
/// wrapped data keys a KMS key source unwraps. Ids are checked and unique.
pub fn parse_entries(text: &str) -> Result<Vec<KeyEntry>, KeyRingError> {
    let mut out: Vec<KeyEntry> = Vec::new();
    let entries = text
        .split([',', '\n'])
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'));
    for (index, entry) in entries.enumerate() {
        let position = index + 1;
        let (id, encoded) = entry
            .split_once(':')
            .ok_or(KeyRingError::Malformed { position })?;
        let id = KeyId::new(id.trim()).ok_or_else(|| KeyRingError::BadId {
            position,
            id: printable(id.trim()),
        })?;
        if out.iter().any(|(seen, _)| *seen == id) {
            return Err(KeyRingError::DuplicateId { id: id.0 });
        }
        let bytes = Zeroizing::new(
            STANDARD
                .decode(encoded.trim())
                .map_err(|_| KeyRingError::BadKey { id: id.0.clone() })?,
        );
        out.push((id, bytes));
    }
    if out.is_empty() {
        return Err(KeyRingError::Empty);
    }
    Ok(out)
}

/// A new key entry for `id`, as `id:base64key`, from the OS random source.
/// The returned text is wiped on drop.
pub fn generate_entry(id: &KeyId) -> Result<Zeroizing<String>, crate::SealError> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    OsRng
        .try_fill_bytes(key.as_mut())
        .map_err(|_| crate::SealError::Random)?;
    let mut encoded = STANDARD.encode(key.as_ref());
    let entry = Zeroizing::new(format!("{id}:{encoded}"));
    encoded.zeroize();
    Ok(entry)
}

/// An id as it may appear in a message: at most 32 characters, no controls.
fn printable(id: &str) -> String {
    id.chars()
        .filter(|c| !c.is_control())
        .take(MAX_ID_LEN)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, byte: u8) -> String {
        format!("{id}:{}", STANDARD.encode([byte; KEY_LEN]))
    }

    #[test]
    fn the_last_key_is_the_newest_and_every_key_is_found() {
        let ring = KeyRing::parse(&format!("{},{}", entry("k1", 1), entry("k2", 2))).unwrap();
        assert_eq!(ring.newest().as_str(), "k2");
        assert!(ring.key("k1").is_some() && ring.key("k2").is_some() && ring.key("k3").is_none());
        assert_eq!(
            ring.ids().map(KeyId::as_str).collect::<Vec<_>>(),
            ["k1", "k2"]
        );
    }

    #[test]
    fn a_file_may_hold_one_key_per_line_with_comments() {
        let text = format!(
            "# rotated 2026-12\n\n{}\n  {}  \n",
            entry("old", 1),
            entry("new", 2)
        );
        assert_eq!(KeyRing::parse(&text).unwrap().newest().as_str(), "new");
    }

    #[test]
    fn bad_lists_are_refused_without_showing_key_bytes() {
        let secret = STANDARD.encode([7u8; 16]);
        let cases = [
            (String::new(), KeyRingError::Empty),
            ("# only a comment".into(), KeyRingError::Empty),
            ("nocolon".into(), KeyRingError::Malformed { position: 1 }),
            (
                format!("{},bad id:{}", entry("a", 1), secret),
                KeyRingError::BadId {
                    position: 2,
                    id: "bad id".into(),
                },
            ),
            (
                format!("short:{secret}"),
                KeyRingError::BadKey { id: "short".into() },
            ),
            (
                "nb64:!!!".into(),
                KeyRingError::BadKey { id: "nb64".into() },
            ),
            (
                format!("{},{}", entry("a", 1), entry("a", 2)),
                KeyRingError::DuplicateId { id: "a".into() },
            ),
        ];
        for (text, want) in cases {
            let got = KeyRing::parse(&text).unwrap_err();
            assert_eq!(got, want, "{text:?}");
            assert!(!got.to_string().contains(&secret), "{got}");
        }
    }

    #[test]
    fn debug_shows_ids_only() {
        let ring = KeyRing::parse(&entry("k1", 9)).unwrap();
        let shown = format!("{ring:?}");
        assert_eq!(shown, r#"KeyRing { ids: ["k1"] }"#);
    }

    #[test]
    fn generated_entries_parse_and_differ() {
        let id = KeyId::new("2026-12").unwrap();
        let a = generate_entry(&id).unwrap();
        let b = generate_entry(&id).unwrap();
        assert_ne!(*a, *b);
        assert!(a.starts_with("2026-12:"));
        assert_eq!(KeyRing::parse(&a).unwrap().newest(), &id);
    }
}
