//! Our signing keys: ES256 (P-256) key pairs made here, their private halves sealed with the
//! vault's key ring (AES-256-GCM bound to the issuer and key id) and kept in the database, so
//! every replica signs with the same key and publishes the same JWKS.
//!
//! A key signs for `signing_key_days`; then the next start (or the hourly check) makes a new
//! one, and the old one stays published until every token it signed has expired. Replicas
//! starting together make one key, not several (the store inserts only when no key newer than
//! the cutoff exists).

use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use zebrunner_storage::oauth::{OAuthStore, SigningKeyRow};
use zebrunner_vault_crypto::{KeyRing, Sealed, SigningKeyBinding};

use crate::Error;

/// A signing key [`SigningKeys::rekey`] could not move to the newest vault key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StillSealed {
    /// The signing key's id (its `kid` in the JWKS).
    pub kid: String,
    /// The vault key that still seals it: the vault's key ring must keep it.
    pub vault_key: String,
}

/// The one algorithm our tokens use.
pub const ALGORITHM: &str = "ES256";

struct Active {
    kid: String,
    pair: EcdsaKeyPair,
    created_at: i64,
    public_jwk: Value,
}

/// The signing keys in use, refreshed from the database.
pub struct SigningKeys {
    store: OAuthStore,
    ring: Arc<KeyRing>,
    issuer: String,
    /// Seconds a key signs before the next takes over.
    rotate_after: i64,
    /// Seconds a retired key stays published (the longest token lifetime, plus a margin).
    publish_after_use: i64,
    keys: RwLock<Vec<Arc<Active>>>,
    rng: SystemRandom,
}

impl SigningKeys {
    pub fn new(
        store: OAuthStore,
        ring: Arc<KeyRing>,
        issuer: &str,
        rotate_after_secs: i64,
        token_ttl_secs: i64,
    ) -> Self {
        Self {
            store,
            ring,
            issuer: issuer.to_owned(),
            rotate_after: rotate_after_secs.max(3600),
            publish_after_use: token_ttl_secs.max(60) + 3600,
            keys: RwLock::new(Vec::new()),
            rng: SystemRandom::new(),
        }
    }

    /// Make a new key when none signs any more, then load every published key.
    pub async fn refresh(&self, now: i64) -> Result<(), Error> {
        let mut rows = self.store.signing_keys(now).await?;
        if rows
            .first()
            .is_none_or(|newest| newest.created_at <= now - self.rotate_after)
        {
            let row = self.generate(now)?;
            let added = self
                .store
                .add_signing_key(&row, now - self.rotate_after)
                .await?;
            if added {
                tracing::info!(kid = %row.kid, "new OAuth signing key");
            }
            rows = self.store.signing_keys(now).await?;
        }
        let mut loaded = Vec::with_capacity(rows.len());
        for row in rows {
            match self.open(&row) {
                Ok(active) => loaded.push(Arc::new(active)),
                Err(error) => {
                    tracing::error!(kid = %row.kid, %error, "an OAuth signing key does not open; it is not used")
                }
            }
        }
        if loaded.is_empty() {
            return Err(Error::Keys(
                "no OAuth signing key opens with the vault's keys (ZMCP_VAULT_KEYS)".into(),
            ));
        }
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = loaded;
        Ok(())
    }

    fn generate(&self, now: i64) -> Result<SigningKeyRow, Error> {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &self.rng)
            .map_err(|_| Error::Keys("could not generate a P-256 key".into()))?;
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &self.rng)
                .map_err(|_| Error::Keys("a generated key did not load".into()))?;
        let public = pair.public_key().as_ref();
        let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(public)[..12]);
        let secret = SecretString::from(URL_SAFE_NO_PAD.encode(pkcs8.as_ref()));
        let sealed = self
            .ring
            .seal(
                &secret,
                &SigningKeyBinding {
                    issuer: &self.issuer,
                    kid: &kid,
                },
            )
            .map_err(|e| Error::Keys(e.to_string()))?;
        Ok(SigningKeyRow {
            public_jwk: public_jwk(&kid, public)?.to_string(),
            kid,
            alg: ALGORITHM.into(),
            seal_key_id: sealed.key_id,
            nonce: sealed.nonce,
            sealed: sealed.ciphertext,
            created_at: now,
            retire_after: now + self.rotate_after + self.publish_after_use,
        })
    }

    fn open(&self, row: &SigningKeyRow) -> Result<Active, Error> {
        let sealed = Sealed {
            key_id: row.seal_key_id.clone(),
            nonce: row.nonce.clone(),
            ciphertext: row.sealed.clone(),
        };
        let secret = self
            .ring
            .open(
                &sealed,
                &SigningKeyBinding {
                    issuer: &self.issuer,
                    kid: &row.kid,
                },
            )
            .map_err(|e| Error::Keys(e.to_string()))?;
        let pkcs8 = URL_SAFE_NO_PAD
            .decode(secret.expose_secret())
            .map_err(|_| Error::Keys("a sealed key is not base64".into()))?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8, &self.rng)
            .map_err(|_| Error::Keys("a sealed key is not a P-256 key".into()))?;
        let public_jwk = serde_json::from_str(&row.public_jwk)
            .map_err(|_| Error::Keys("a stored public key is not JSON".into()))?;
        Ok(Active {
            kid: row.kid.clone(),
            pair,
            created_at: row.created_at,
            public_jwk,
        })
    }

    /// Reseal every stored signing key that an older vault key sealed with the newest one (part
    /// of `zebrunner-mcp vault rekey`), one compare-and-swap on the nonce per key, so a key made
    /// or resealed meanwhile is left alone. Returns (resealed, keys that open with no key in the
    /// ring or belong to another issuer, still sealed as they were).
    pub async fn rekey(&self, now: i64) -> Result<(usize, Vec<StillSealed>), Error> {
        let (mut resealed, mut failed) = (0, Vec::new());
        for row in self.store.signing_keys(now).await? {
            let sealed = Sealed {
                key_id: row.seal_key_id.clone(),
                nonce: row.nonce.clone(),
                ciphertext: row.sealed.clone(),
            };
            if !self.ring.needs_rekey(&sealed) {
                continue;
            }
            let binding = SigningKeyBinding {
                issuer: &self.issuer,
                kid: &row.kid,
            };
            let Ok(secret) = self.ring.open(&sealed, &binding) else {
                failed.push(StillSealed {
                    kid: row.kid,
                    vault_key: row.seal_key_id,
                });
                continue;
            };
            let fresh = self
                .ring
                .seal(&secret, &binding)
                .map_err(|e| Error::Keys(e.to_string()))?;
            if self
                .store
                .reseal_signing_key(
                    &row.kid,
                    &row.nonce,
                    &fresh.key_id,
                    &fresh.ciphertext,
                    &fresh.nonce,
                )
                .await?
            {
                resealed += 1;
            }
        }
        Ok((resealed, failed))
    }

    /// How many keys are loaded (published; the newest signs). 0 only before the first
    /// [`refresh`](Self::refresh) succeeded.
    pub fn loaded(&self) -> usize {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// The published key set (RFC 7517).
    pub fn jwks(&self) -> Value {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        json!({ "keys": keys.iter().map(|k| k.public_jwk.clone()).collect::<Vec<_>>() })
    }

    /// `claims` as a compact JWS signed with the newest key (`typ` `at+jwt`, RFC 9068).
    pub fn sign(&self, claims: &Value) -> Result<String, Error> {
        let newest = {
            let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
            keys.iter()
                .max_by_key(|k| k.created_at)
                .cloned()
                .ok_or_else(|| Error::Keys("no signing key is loaded".into()))?
        };
        let header = json!({ "alg": ALGORITHM, "typ": "at+jwt", "kid": newest.kid });
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = newest
            .pair
            .sign(&self.rng, message.as_bytes())
            .map_err(|_| Error::Keys("signing failed".into()))?;
        Ok(format!(
            "{message}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }
}

/// The JWK of an uncompressed P-256 public key (`04 || x || y`).
fn public_jwk(kid: &str, public: &[u8]) -> Result<Value, Error> {
    if public.len() != 65 || public[0] != 4 {
        return Err(Error::Keys("unexpected public key encoding".into()));
    }
    Ok(json!({
        "kty": "EC",
        "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(&public[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&public[33..65]),
        "kid": kid,
        "alg": ALGORITHM,
        "use": "sig",
    }))
}
