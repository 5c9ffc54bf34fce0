//! The per-user credential vault: each person's Zebrunner login and API token, the token sealed
//! with AES-256-GCM by `zebrunner-vault-crypto`.
//!
//! One record per user key (the verified identity's `uid:`/`sub:` key). The token is stored
//! only as ciphertext bound to the record's user key, Zebrunner URL and login (the associated
//! data), beside the id of the key that sealed it and the nonce. Everything else is metadata
//! in the clear: who, which login, when it was stored, used and checked, and whether Zebrunner
//! still accepts it.
//!
//! [`Vault`] is the one interface everything above uses. Below it are two seams:
//! - [`store::RecordStore`]: where sealed records live: [`database::DatabaseRecords`] (the
//!   `vault_records` table), or AWS Secrets Manager (crate `zebrunner-vault-aws`);
//! - [`keys::KeySource`]: where the key ring comes from: [`keys::StaticKeys`]
//!   (`ZMCP_VAULT_KEYS`), or data keys unwrapped by AWS KMS (crate `zebrunner-vault-aws`).
//!
//! A rekey moves one record at a time with a compare-and-swap on the nonce, so a record stored
//! again meanwhile is never overwritten, and a rekey stopped anywhere resumes where it left
//! off: both keys open while both are in the ring.

pub mod database;
pub mod keys;
pub mod store;

use std::sync::Arc;

use secrecy::SecretString;
use zebrunner_vault_crypto::{Binding, KeyRing, OpenError, SealError};

use crate::BoxFuture;
use crate::StorageError;
use crate::storage::Storage;
use database::DatabaseRecords;
use keys::{KeySource, StaticKeys};
use store::{RecordStore, Selection, StoredRecord, Upsert};

/// Longest user key, Zebrunner URL, login and token accepted.
const MAX_USER_KEY: usize = 256;
const MAX_URL: usize = 2048;
const MAX_LOGIN: usize = 256;
const MAX_TOKEN: usize = 4096;
/// Longest reason stored with an invalid record.
const MAX_REASON: usize = 500;

/// Whether Zebrunner still accepts a record's token, as last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordStatus {
    Active,
    /// Zebrunner refused the token; the person must store a new one.
    Invalid {
        reason: String,
    },
}

impl RecordStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            RecordStatus::Active => "active",
            RecordStatus::Invalid { .. } => "invalid",
        }
    }
}

/// A record without its token: what `vault list`, the connect page and the audit log see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultMetadata {
    pub user_key: String,
    pub zebrunner_url: String,
    pub login: String,
    /// The vault key that sealed the token.
    pub key_id: String,
    pub status: RecordStatus,
    /// Counts the tokens stored for this user key: 1 for the first, one more for each
    /// replacement. A check's verdict applies only to the revision it checked.
    pub revision: i64,
    /// RFC 3339 UTC times.
    pub created_at: String,
    pub updated_at: String,
    pub last_used_at: Option<String>,
    pub last_validated_at: Option<String>,
}

/// A record with its opened token.
pub struct Credential {
    pub meta: VaultMetadata,
    pub token: SecretString,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

/// What to store for a user.
pub struct NewCredential<'a> {
    pub user_key: &'a str,
    pub zebrunner_url: &'a str,
    pub login: &'a str,
    pub token: &'a SecretString,
    /// Whether Zebrunner accepted the token just now (sets `last_validated_at`).
    pub validated: bool,
}

/// Why a vault operation failed. No message contains a token or key bytes.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the vault record of {user_key} cannot be opened: {source}")]
    Open {
        user_key: String,
        #[source]
        source: OpenError,
    },
    #[error("the token could not be sealed: {0}")]
    Seal(#[from] SealError),
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
    /// The record store (other than the database) failed; `message` says what to do.
    #[error("the vault's {store} failed: {message}")]
    Store {
        store: &'static str,
        message: String,
    },
    /// The key ring could not be had (KMS unreachable, access denied); `message` says what to do.
    #[error("the vault's keys are not available from {source_name}: {message}")]
    Keys {
        source_name: &'static str,
        message: String,
    },
}

/// One step of [`Vault::rekey_batch`].
#[derive(Debug, Default)]
pub struct RekeyBatch {
    /// Records now sealed with the newest key.
    pub resealed: usize,
    /// Records stored again while this batch ran (already on the newest key).
    pub skipped: usize,
    /// Records that do not open with any key in the ring (user key, why); left as they are.
    pub failed: Vec<(String, OpenError)>,
    /// Pass as `after` to continue; `None` when no record is left to look at.
    pub next: Option<String>,
}

/// The token store: a record store plus the key source whose ring seals and opens its tokens.
#[derive(Clone)]
pub struct Vault {
    records: Arc<dyn RecordStore>,
    keys: Arc<dyn KeySource>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("records", &self.records.name())
            .field("keys", &self.keys.name())
            .finish()
    }
}

impl Vault {
    /// Records in the database, keys from a ring in memory.
    pub fn new(storage: Storage, ring: Arc<KeyRing>) -> Vault {
        Vault::with(
            Arc::new(DatabaseRecords::new(storage)),
            Arc::new(StaticKeys(ring)),
        )
    }

    /// Records in `records`, keys from `keys`.
    pub fn with(records: Arc<dyn RecordStore>, keys: Arc<dyn KeySource>) -> Vault {
        Vault { records, keys }
    }

    /// Where the records live ("database", "AWS Secrets Manager").
    pub fn store_name(&self) -> &'static str {
        self.records.name()
    }

    /// The key ring now (a key source may unwrap it on demand).
    pub fn key_ring(&self) -> BoxFuture<'_, Result<Arc<KeyRing>, VaultError>> {
        self.keys.key_ring()
    }

    /// Store (or replace) a user's credential, sealed with the newest key. A replacement makes
    /// the record active again and counts a new revision.
    pub fn put<'a>(
        &'a self,
        new: &'a NewCredential<'a>,
    ) -> BoxFuture<'a, Result<VaultMetadata, VaultError>> {
        Box::pin(async move {
            check("user key", new.user_key, MAX_USER_KEY)?;
            check("Zebrunner URL", new.zebrunner_url, MAX_URL)?;
            check("Zebrunner login", new.login, MAX_LOGIN)?;
            check_token(new.token)?;
            let ring = self.keys.key_ring().await?;
            let sealed = ring.seal(
                new.token,
                &binding(new.user_key, new.zebrunner_url, new.login),
            )?;
            let now = crate::audit::now_rfc3339();
            self.records
                .upsert(Upsert {
                    user_key: new.user_key,
                    zebrunner_url: new.zebrunner_url,
                    login: new.login,
                    sealed: &sealed,
                    now: &now,
                    validated_at: new.validated.then_some(now.as_str()),
                })
                .await?;
            self.metadata(new.user_key).await?.ok_or_else(|| {
                VaultError::Storage(StorageError::Corrupt {
                    what: "vault record",
                    reason: format!("{} was stored but cannot be read back", new.user_key),
                })
            })
        })
    }

    /// A user's record with its token opened, and its last use noted; `None` when the user
    /// has stored nothing. An invalid record is returned too: the caller decides what to say.
    pub fn get<'a>(
        &'a self,
        user_key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Credential>, VaultError>> {
        Box::pin(async move {
            let Some(record) = self.records.find(user_key).await? else {
                return Ok(None);
            };
            let token = self.open(&record).await?;
            let now = crate::audit::now_rfc3339();
            self.records.touch(user_key, &now).await?;
            let mut meta = record.meta;
            meta.last_used_at = Some(now);
            Ok(Some(Credential { meta, token }))
        })
    }

    /// A user's record with its token opened, without noting a use: for checks (re-validation,
    /// `vault verify`), which are not the person using it.
    pub fn read<'a>(
        &'a self,
        user_key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Credential>, VaultError>> {
        Box::pin(async move {
            let Some(record) = self.records.find(user_key).await? else {
                return Ok(None);
            };
            let token = self.open(&record).await?;
            Ok(Some(Credential {
                meta: record.meta,
                token,
            }))
        })
    }

    /// A user's record without its token.
    pub fn metadata<'a>(
        &'a self,
        user_key: &'a str,
    ) -> BoxFuture<'a, Result<Option<VaultMetadata>, VaultError>> {
        Box::pin(async move { Ok(self.records.find(user_key).await?.map(|r| r.meta)) })
    }

    /// Up to `limit` records after `after` (by user key), without tokens. Start with `None`;
    /// continue with the last user key returned.
    pub fn list<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<VaultMetadata>, VaultError>> {
        Box::pin(async move {
            let records = self.records.select(Selection::All, after, limit).await?;
            Ok(records.into_iter().map(|r| r.meta).collect())
        })
    }

    /// Up to `limit` active records after `after` (by user key) last checked before `before`
    /// (RFC 3339 UTC, as [`crate::audit::now_rfc3339`] writes) or never: what a re-validation
    /// pass looks at.
    pub fn due_for_validation<'a>(
        &'a self,
        after: Option<&'a str>,
        before: &'a str,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<VaultMetadata>, VaultError>> {
        Box::pin(async move {
            let records = self
                .records
                .select(Selection::DueBefore(before), after, limit)
                .await?;
            Ok(records.into_iter().map(|r| r.meta).collect())
        })
    }

    /// Remove a user's record; whether there was one.
    pub fn delete<'a>(&'a self, user_key: &'a str) -> BoxFuture<'a, Result<bool, VaultError>> {
        self.records.delete(user_key)
    }

    /// Zebrunner refused revision `revision` of this user's token: mark it invalid with
    /// `reason`. Does nothing (and says so) when the token was replaced since.
    pub fn mark_invalid<'a>(
        &'a self,
        user_key: &'a str,
        revision: i64,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<bool, VaultError>> {
        Box::pin(async move {
            let status = RecordStatus::Invalid {
                reason: crate::check::clean(reason, MAX_REASON),
            };
            let now = crate::audit::now_rfc3339();
            self.records
                .set_status(user_key, revision, &status, &now)
                .await
        })
    }

    /// Zebrunner accepted revision `revision` of this user's token just now.
    pub fn mark_validated<'a>(
        &'a self,
        user_key: &'a str,
        revision: i64,
    ) -> BoxFuture<'a, Result<bool, VaultError>> {
        Box::pin(async move {
            let now = crate::audit::now_rfc3339();
            self.records
                .set_status(user_key, revision, &RecordStatus::Active, &now)
                .await
        })
    }

    /// Reseal up to `limit` records not yet on the newest key, after `after` by user key.
    /// Call again with `next` until it is `None`; safe to stop and resume at any point.
    pub fn rekey_batch<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: u32,
    ) -> BoxFuture<'a, Result<RekeyBatch, VaultError>> {
        Box::pin(async move {
            let ring = self.keys.key_ring().await?;
            let newest = ring.newest().as_str().to_owned();
            let records = self
                .records
                .select(Selection::NotSealedWith(&newest), after, limit)
                .await?;
            let mut batch = RekeyBatch {
                next: (records.len() == limit as usize)
                    .then(|| records.last().map(|r| r.meta.user_key.clone()))
                    .flatten(),
                ..RekeyBatch::default()
            };
            for record in records {
                let meta = &record.meta;
                let token = match open_with(&ring, &record) {
                    Ok(token) => token,
                    Err(VaultError::Open { user_key, source }) => {
                        batch.failed.push((user_key, source));
                        continue;
                    }
                    Err(other) => return Err(other),
                };
                let resealed = ring.seal(
                    &token,
                    &binding(&meta.user_key, &meta.zebrunner_url, &meta.login),
                )?;
                if self
                    .records
                    .reseal(&meta.user_key, &record.sealed.nonce, &resealed)
                    .await?
                {
                    batch.resealed += 1;
                } else {
                    batch.skipped += 1;
                }
            }
            Ok(batch)
        })
    }

    async fn open(&self, record: &StoredRecord) -> Result<SecretString, VaultError> {
        let ring = self.keys.key_ring().await?;
        open_with(&ring, record)
    }
}

/// Open a record's token with `ring`, bound to the record's own user key, URL and login.
fn open_with(ring: &KeyRing, record: &StoredRecord) -> Result<SecretString, VaultError> {
    let m = &record.meta;
    ring.open(
        &record.sealed,
        &binding(&m.user_key, &m.zebrunner_url, &m.login),
    )
    .map_err(|source| VaultError::Open {
        user_key: m.user_key.clone(),
        source,
    })
}

fn binding<'a>(user_key: &'a str, zebrunner_url: &'a str, login: &'a str) -> Binding<'a> {
    Binding {
        user_key,
        zebrunner_url,
        login,
    }
}

/// A text field: 1 to `max` characters, no control characters ([`crate::check::text`]).
fn check(what: &'static str, value: &str, max: usize) -> Result<(), VaultError> {
    crate::check::text(what, value, max).map_err(|error| match error {
        StorageError::Invalid { what, reason } => VaultError::Invalid { what, reason },
        other => VaultError::Storage(other),
    })
}

/// A token: 1 to 4096 bytes of printable ASCII without spaces (what Zebrunner issues). The
/// message never repeats it.
fn check_token(token: &SecretString) -> Result<(), VaultError> {
    use secrecy::ExposeSecret;
    let t = token.expose_secret();
    let reason = if t.is_empty() {
        "it is empty"
    } else if t.len() > MAX_TOKEN {
        "it is longer than 4096 bytes"
    } else if !t.bytes().all(|b| b.is_ascii_graphic()) {
        "it contains spaces, control or non-ASCII characters (paste only the token)"
    } else {
        return Ok(());
    };
    Err(VaultError::Invalid {
        what: "Zebrunner API token",
        reason: reason.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_with_whitespace_or_controls_are_refused_without_echo() {
        for bad in ["", "tok en", "tok\n", "tök", &"x".repeat(4097)] {
            let err = check_token(&SecretString::from(bad))
                .unwrap_err()
                .to_string();
            assert!(bad.is_empty() || !err.contains(bad), "{err}");
        }
        assert!(check_token(&SecretString::from("a1B2-c3_D4.e5")).is_ok());
    }

    #[test]
    fn text_fields_are_bounded() {
        assert!(check("login", "alice", 10).is_ok());
        assert!(check("login", " ", 10).is_err());
        assert!(check("login", "a\u{1b}[31m", 10).is_err());
        assert!(check("login", &"a".repeat(11), 10).is_err());
    }
}
