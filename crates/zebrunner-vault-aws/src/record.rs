//! What a secret holds: its value is one vault record as JSON, the sealed token in base64 beside
//! the metadata the database keeps in columns; its tags name the user key and the Zebrunner
//! login (for people browsing the console and for listing without reading values) and hold the
//! last use, which changes on every use and so is kept out of the value's versions.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zebrunner_storage::vault::store::StoredRecord;
use zebrunner_storage::vault::{RecordStatus, VaultMetadata};
use zebrunner_vault_crypto::Sealed;

/// Marks a value as ours, and its layout's version.
pub const FORMAT: &str = "zebrunner-mcp vault record v1";

pub const TAG_USER_KEY: &str = "zebrunner-mcp:user-key";
pub const TAG_LOGIN: &str = "zebrunner-mcp:login";
pub const TAG_LAST_USED: &str = "zebrunner-mcp:last-used-at";

/// Longest tag value AWS accepts.
const MAX_TAG_VALUE: usize = 256;

/// A secret's value.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RecordValue {
    pub format: String,
    pub user_key: String,
    pub zebrunner_url: String,
    pub login: String,
    pub key_id: String,
    /// Base64 of the nonce and of the ciphertext (with GCM's tag).
    pub nonce: String,
    pub ciphertext: String,
    pub revision: i64,
    pub status: String,
    pub invalid_reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub last_validated_at: Option<String>,
}

impl RecordValue {
    pub fn sealed(&self) -> Result<Sealed, String> {
        let decode = |what: &str, text: &str| {
            STANDARD
                .decode(text)
                .map_err(|_| format!("its {what} is not base64"))
        };
        Ok(Sealed {
            key_id: self.key_id.clone(),
            nonce: decode("nonce", &self.nonce)?,
            ciphertext: decode("ciphertext", &self.ciphertext)?,
        })
    }

    pub fn set_sealed(&mut self, sealed: &Sealed) {
        self.key_id = sealed.key_id.clone();
        self.nonce = STANDARD.encode(&sealed.nonce);
        self.ciphertext = STANDARD.encode(&sealed.ciphertext);
    }

    pub fn status(&self) -> Result<RecordStatus, String> {
        match self.status.as_str() {
            "active" => Ok(RecordStatus::Active),
            "invalid" => Ok(RecordStatus::Invalid {
                reason: self.invalid_reason.clone().unwrap_or_default(),
            }),
            other => Err(format!("unknown status {:?}", clean(other))),
        }
    }

    pub fn set_status(&mut self, status: &RecordStatus) {
        self.status = status.as_str().to_owned();
        self.invalid_reason = match status {
            RecordStatus::Active => None,
            RecordStatus::Invalid { reason } => Some(reason.clone()),
        };
    }

    /// The record as the vault sees it; `last_used_at` comes from the secret's tag.
    pub fn stored(&self, last_used_at: Option<String>) -> Result<StoredRecord, String> {
        if self.format != FORMAT {
            return Err(format!(
                "it is not a zebrunner-mcp vault record (format {:?})",
                clean(&self.format)
            ));
        }
        Ok(StoredRecord {
            sealed: self.sealed()?,
            meta: VaultMetadata {
                user_key: self.user_key.clone(),
                zebrunner_url: self.zebrunner_url.clone(),
                login: self.login.clone(),
                key_id: self.key_id.clone(),
                status: self.status()?,
                revision: self.revision,
                created_at: self.created_at.clone(),
                updated_at: self.updated_at.clone(),
                last_used_at,
                last_validated_at: self.last_validated_at.clone(),
            },
        })
    }
}

/// The secret's name for `user_key`: `prefix` and the hex SHA-256 of the user key, so names
/// carry no personal data and any user key makes a valid name.
pub fn secret_name(prefix: &str, user_key: &str) -> String {
    let digest = Sha256::digest(user_key.as_bytes());
    let mut name = String::with_capacity(prefix.len() + 64);
    name.push_str(prefix);
    for byte in digest {
        name.push_str(&format!("{byte:02x}"));
    }
    name
}

/// A tag value for `text`: as it is when AWS accepts every character (letters, digits, spaces
/// and `_ . : / = + - @`), otherwise `b64:` and its URL-safe base64; `None` when even that is
/// longer than a tag value may be (the listing then reads the secret's value instead).
pub fn tag_value(text: &str) -> Option<String> {
    let plain = text.len() <= MAX_TAG_VALUE
        && !text.starts_with("b64:")
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c));
    if plain {
        return Some(text.to_owned());
    }
    let encoded = format!("b64:{}", URL_SAFE_NO_PAD.encode(text.as_bytes()));
    (encoded.len() <= MAX_TAG_VALUE).then_some(encoded)
}

/// The text of a tag value made by [`tag_value`].
pub fn tag_text(value: &str) -> Option<String> {
    match value.strip_prefix("b64:") {
        Some(encoded) => URL_SAFE_NO_PAD
            .decode(encoded)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok()),
        None => Some(value.to_owned()),
    }
}

/// A stored value as it may appear in a message: bounded, no control characters.
pub fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_hash_the_user_key() {
        let name = secret_name("zebrunner-mcp/", "uid:00u1alice");
        assert!(name.starts_with("zebrunner-mcp/"));
        assert_eq!(name.len(), "zebrunner-mcp/".len() + 64);
        assert!(!name.contains("alice"));
        assert_ne!(name, secret_name("zebrunner-mcp/", "uid:00u2bob"));
    }

    #[test]
    fn tag_values_round_trip_and_stay_within_what_aws_accepts() {
        for text in [
            "uid:00u1alice",
            "alice@acme.com",
            "auth0|12345",
            "b64:looks encoded",
            "ünïcode login",
            "",
        ] {
            let value = tag_value(text).unwrap();
            assert!(value.len() <= MAX_TAG_VALUE);
            assert!(
                value
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c)),
                "{value}"
            );
            assert_eq!(tag_text(&value).unwrap(), text);
        }
        assert_eq!(tag_value("uid:00u1alice").unwrap(), "uid:00u1alice");
        assert!(tag_value(&"|".repeat(250)).is_none());
    }
}
