//! Seal and open one token, bound to the record that holds it.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::TryRngCore;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::key_ring::KeyRing;

/// Bytes in a nonce (96 bits, GCM's native size).
pub const NONCE_LEN: usize = 12;

/// Labels the associated data, so a ciphertext made for another purpose (or
/// a later record format) never opens as a vault token.
const DOMAIN: &[u8] = b"zebrunner-mcp vault token v1\0";

/// Who a sealed token belongs to. All three fields go into the associated
/// data: a ciphertext opens only for the same user key, Zebrunner URL and
/// login it was sealed for.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    pub user_key: &'a str,
    pub zebrunner_url: &'a str,
    pub login: &'a str,
}

/// Labels the associated data of a signing key of our authorization server.
const SIGNING_KEY_DOMAIN: &[u8] = b"zebrunner-mcp oauth signing key v1\0";

/// What a sealed value is bound to: its associated data. A value sealed for one binding opens
/// only for the same binding.
pub trait Bound {
    fn associated_data(&self) -> Vec<u8>;
}

impl Bound for Binding<'_> {
    fn associated_data(&self) -> Vec<u8> {
        labelled(DOMAIN, &[self.user_key, self.zebrunner_url, self.login])
    }
}

/// A private signing key of our own authorization server (identity `broker`), bound to the
/// issuer and the key's id: a sealed key copied onto another row or issuer does not open.
#[derive(Debug, Clone, Copy)]
pub struct SigningKeyBinding<'a> {
    pub issuer: &'a str,
    pub kid: &'a str,
}

impl Bound for SigningKeyBinding<'_> {
    fn associated_data(&self) -> Vec<u8> {
        labelled(SIGNING_KEY_DOMAIN, &[self.issuer, self.kid])
    }
}

/// Length-prefixed fields after a domain label: no two different bindings encode to the same
/// bytes.
fn labelled(domain: &[u8], fields: &[&str]) -> Vec<u8> {
    let mut aad =
        Vec::with_capacity(domain.len() + fields.iter().map(|f| f.len() + 8).sum::<usize>());
    aad.extend_from_slice(domain);
    for field in fields {
        aad.extend_from_slice(&(field.len() as u64).to_be_bytes());
        aad.extend_from_slice(field.as_bytes());
    }
    aad
}

/// A sealed token as stored: the key that sealed it, the nonce, and the
/// ciphertext with GCM's 16-byte tag at its end.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealed")
            .field("key_id", &self.key_id)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

/// Why a token could not be sealed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the operating system's random source failed; no nonce could be drawn")]
    Random,
    #[error("the value is too long to seal")]
    TooLong,
}

/// Why a sealed token did not open. None of these says which byte was wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    #[error(
        "the record was sealed with vault key {key_id:?}, which is not in the key ring; \
         add that key back to ZMCP_VAULT_KEYS (or its file) or store the token again"
    )]
    UnknownKey { key_id: String },
    #[error(
        "the record did not decrypt: it was altered, copied from another user or login, \
         or sealed with a different key of the same id; store the token again"
    )]
    Corrupt,
}

impl KeyRing {
    /// Seal `token` for `binding` with the newest key and a fresh random nonce.
    pub fn seal(&self, token: &SecretString, binding: &impl Bound) -> Result<Sealed, SealError> {
        let key = self.newest_key();
        let mut nonce = [0u8; NONCE_LEN];
        OsRng
            .try_fill_bytes(&mut nonce)
            .map_err(|_| SealError::Random)?;
        let aad = binding.associated_data();
        let ciphertext = key
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: token.expose_secret().as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::TooLong)?;
        Ok(Sealed {
            key_id: key.id.as_str().to_owned(),
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    /// Open `sealed`, which must have been sealed for exactly `binding`.
    pub fn open(&self, sealed: &Sealed, binding: &impl Bound) -> Result<SecretString, OpenError> {
        let key = self
            .key(&sealed.key_id)
            .ok_or_else(|| OpenError::UnknownKey {
                key_id: sealed
                    .key_id
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(32)
                    .collect(),
            })?;
        if sealed.nonce.len() != NONCE_LEN {
            return Err(OpenError::Corrupt);
        }
        let aad = binding.associated_data();
        let plain = Zeroizing::new(
            decrypt(&key.cipher, &sealed.nonce, &sealed.ciphertext, &aad)
                .ok_or(OpenError::Corrupt)?,
        );
        let text = std::str::from_utf8(&plain).map_err(|_| OpenError::Corrupt)?;
        Ok(SecretString::from(text))
    }

    /// Whether `sealed` was made with an older key than the newest.
    pub fn needs_rekey(&self, sealed: &Sealed) -> bool {
        sealed.key_id != self.newest().as_str()
    }
}

fn decrypt(cipher: &Aes256Gcm, nonce: &[u8], ciphertext: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .ok()
}

#[cfg(test)]
mod tests {
    use base64::{Engine, engine::general_purpose::STANDARD};
    use proptest::prelude::*;

    use super::*;

    fn ring(ids: &[(&str, u8)]) -> KeyRing {
        let list: Vec<String> = ids
            .iter()
            .map(|(id, b)| format!("{id}:{}", STANDARD.encode([*b; 32])))
            .collect();
        KeyRing::parse(&list.join(",")).unwrap()
    }

    const ALICE: Binding<'static> = Binding {
        user_key: "uid:00u1alice",
        zebrunner_url: "https://acme.zebrunner.com",
        login: "alice",
    };

    fn token(s: &str) -> SecretString {
        SecretString::from(s)
    }

    #[test]
    fn a_sealed_token_opens_for_its_binding_only() {
        let ring = ring(&[("k1", 1)]);
        let sealed = ring.seal(&token("tok-123"), &ALICE).unwrap();
        assert_eq!(
            ring.open(&sealed, &ALICE).unwrap().expose_secret(),
            "tok-123"
        );
        assert!(!sealed.ciphertext.windows(7).any(|w| w == b"tok-123"));
        for other in [
            Binding {
                user_key: "uid:00u2bob",
                ..ALICE
            },
            Binding {
                zebrunner_url: "https://evil.example",
                ..ALICE
            },
            Binding {
                login: "bob",
                ..ALICE
            },
            // Length prefixes: moving bytes between fields changes the binding.
            Binding {
                user_key: "uid:00u1alic",
                login: "ealice",
                ..ALICE
            },
        ] {
            assert_eq!(
                ring.open(&sealed, &other).unwrap_err(),
                OpenError::Corrupt,
                "{other:?}"
            );
        }
    }

    #[test]
    fn tampering_and_wrong_keys_are_detected() {
        let ring1 = ring(&[("k1", 1)]);
        let sealed = ring1.seal(&token("tok"), &ALICE).unwrap();
        let mut flipped = sealed.clone();
        flipped.ciphertext[0] ^= 1;
        assert_eq!(
            ring1.open(&flipped, &ALICE).unwrap_err(),
            OpenError::Corrupt
        );
        let mut short_nonce = sealed.clone();
        short_nonce.nonce.pop();
        assert_eq!(
            ring1.open(&short_nonce, &ALICE).unwrap_err(),
            OpenError::Corrupt
        );
        // Same id, different key bytes.
        assert_eq!(
            ring(&[("k1", 2)]).open(&sealed, &ALICE).unwrap_err(),
            OpenError::Corrupt
        );
        assert_eq!(
            ring(&[("k2", 1)]).open(&sealed, &ALICE).unwrap_err(),
            OpenError::UnknownKey {
                key_id: "k1".into()
            }
        );
    }

    #[test]
    fn the_newest_key_seals_and_older_ones_still_open() {
        let old = ring(&[("k1", 1)]);
        let sealed = old.seal(&token("tok"), &ALICE).unwrap();
        let rotated = ring(&[("k1", 1), ("k2", 2)]);
        assert!(rotated.needs_rekey(&sealed));
        assert_eq!(
            rotated.open(&sealed, &ALICE).unwrap().expose_secret(),
            "tok"
        );
        let resealed = rotated.seal(&token("tok"), &ALICE).unwrap();
        assert_eq!(resealed.key_id, "k2");
        assert!(!rotated.needs_rekey(&resealed));
    }

    #[test]
    fn nonces_are_fresh_per_seal() {
        let ring = ring(&[("k1", 1)]);
        let a = ring.seal(&token("tok"), &ALICE).unwrap();
        let b = ring.seal(&token("tok"), &ALICE).unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
        assert_eq!(a.nonce.len(), NONCE_LEN);
    }

    #[test]
    fn debug_never_shows_ciphertext_bytes() {
        let sealed = ring(&[("k1", 1)]).seal(&token("tok"), &ALICE).unwrap();
        assert_eq!(
            format!("{sealed:?}"),
            r#"Sealed { key_id: "k1", ciphertext_len: 19, .. }"#
        );
    }

    proptest! {
        #[test]
        fn any_token_round_trips(t in "\\PC{0,200}", user in "\\PC{0,40}", login in "\\PC{0,40}") {
            let ring = ring(&[("k", 3)]);
            let binding = Binding { user_key: &user, zebrunner_url: "https://z", login: &login };
            let sealed = ring.seal(&token(&t), &binding).unwrap();
            let opened = ring.open(&sealed, &binding).unwrap();
            prop_assert_eq!(opened.expose_secret(), t.as_str());
        }

        #[test]
        fn garbage_never_opens_or_panics(key_id in "[a-z0-9]{0,8}", nonce in proptest::collection::vec(any::<u8>(), 0..20), ct in proptest::collection::vec(any::<u8>(), 0..64)) {
            let ring = ring(&[("k", 3)]);
            let sealed = Sealed { key_id, nonce, ciphertext: ct };
            prop_assert!(ring.open(&sealed, &ALICE).is_err());
        }
    }
    #[test]
    fn signing_keys_open_only_for_their_issuer_and_kid_and_never_as_tokens() {
        let ring = KeyRing::parse(&format!("k1:{}", STANDARD.encode([3u8; 32]))).unwrap();
        let secret = SecretString::from("pkcs8-bytes");
        let binding = SigningKeyBinding {
            issuer: "https://mcp.example.com",
            kid: "a",
        };
        let sealed = ring.seal(&secret, &binding).unwrap();
        assert_eq!(
            ring.open(&sealed, &binding).unwrap().expose_secret(),
            "pkcs8-bytes"
        );
        let other_kid = SigningKeyBinding {
            kid: "b",
            ..binding
        };
        assert_eq!(
            ring.open(&sealed, &other_kid).err(),
            Some(OpenError::Corrupt)
        );
        let as_token = Binding {
            user_key: "https://mcp.example.com",
            zebrunner_url: "a",
            login: "",
        };
        assert_eq!(
            ring.open(&sealed, &as_token).err(),
            Some(OpenError::Corrupt)
        );
    }
}
