//! The `vault_records` table: each person's Zebrunner login and API token, the token sealed
//! with AES-256-GCM by `zebrunner-vault-crypto`.
//!
//! One record per user key (the verified identity's `uid:`/`sub:` key). The token is stored
//! only as ciphertext bound to the record's user key, Zebrunner URL and login (the associated
//! data), beside the id of the key that sealed it and the nonce. Everything else is metadata
//! in the clear: who, which login, when it was stored, used and checked, and whether Zebrunner
//! still accepts it.
//!
//! Every write is one statement, so a process killed at any instant leaves each record either
//! as it was or as written, never half of each. A rekey moves one record per statement with a
//! compare-and-swap on the nonce, so a record stored again meanwhile is never overwritten, and
//! a rekey stopped anywhere resumes where it left off: both keys open while both are in the
//! ring.

use std::sync::Arc;

use secrecy::SecretString;
use sqlx::Row;
use zebrunner_vault_crypto::{Binding, KeyRing, OpenError, SealError, Sealed};

use crate::BoxFuture;
use crate::StorageError;
use crate::sql::{self, Sql, on_pool, sql};
use crate::storage::Storage;

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

/// `SELECT` of every column, in the order [`decode_row!`] reads them, then `$rest`.
macro_rules! select {
    ($rest:literal) => {
        concat!(
            "SELECT user_key, zebrunner_url, login, key_id, nonce, ciphertext, revision, status, \
             invalid_reason, created_at, updated_at, last_used_at, last_validated_at \
             FROM vault_records ",
            $rest
        )
    };
}

const UPSERT: Sql = sql!(
    "INSERT INTO vault_records (user_key, zebrunner_url, login, key_id, nonce, ciphertext, \
     revision, status, invalid_reason, created_at, updated_at, last_used_at, last_validated_at) \
     VALUES (?, ?, ?, ?, ?, ?, 1, 'active', NULL, ?, ?, NULL, ?) \
     ON CONFLICT (user_key) DO UPDATE SET zebrunner_url = excluded.zebrunner_url, \
     login = excluded.login, key_id = excluded.key_id, nonce = excluded.nonce, \
     ciphertext = excluded.ciphertext, revision = vault_records.revision + 1, \
     status = 'active', invalid_reason = NULL, updated_at = excluded.updated_at, \
     last_validated_at = excluded.last_validated_at"
);

const FIND: Sql = sql!(select!("WHERE user_key = ?"));

const LIST: Sql = sql!(select!("WHERE user_key > ? ORDER BY user_key LIMIT ?"));

const TO_REKEY: Sql = sql!(select!(
    "WHERE user_key > ? AND key_id <> ? ORDER BY user_key LIMIT ?"
));

const DUE: Sql = sql!(select!(
    "WHERE user_key > ? AND status = 'active' AND (last_validated_at IS NULL \
     OR last_validated_at < ?) ORDER BY user_key LIMIT ?"
));

const TOUCH: Sql = sql!("UPDATE vault_records SET last_used_at = ? WHERE user_key = ?");

const DELETE: Sql = sql!("DELETE FROM vault_records WHERE user_key = ?");

const MARK_INVALID: Sql = sql!(
    "UPDATE vault_records SET status = 'invalid', invalid_reason = ?, last_validated_at = ? \
     WHERE user_key = ? AND revision = ?"
);

const MARK_VALIDATED: Sql = sql!(
    "UPDATE vault_records SET status = 'active', invalid_reason = NULL, last_validated_at = ? \
     WHERE user_key = ? AND revision = ?"
);

/// The compare-and-swap of a rekey: only if the record still holds the ciphertext we opened.
const RESEAL: Sql = sql!(
    "UPDATE vault_records SET key_id = ?, nonce = ?, ciphertext = ? \
     WHERE user_key = ? AND nonce = ?"
);

/// The token store: [`Storage`] plus the key ring that seals and opens its tokens.
#[derive(Clone)]
pub struct Vault {
    storage: Storage,
    ring: Arc<KeyRing>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("backend", &self.storage.backend())
            .field("ring", &self.ring)
            .finish()
    }
}

/// A row as read, before its token is opened.
struct StoredRow {
    meta: VaultMetadata,
    sealed: Sealed,
}

impl Vault {
    pub fn new(storage: Storage, ring: Arc<KeyRing>) -> Vault {
        Vault { storage, ring }
    }

    pub fn ring(&self) -> &KeyRing {
        &self.ring
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
            let sealed = self.ring.seal(
                new.token,
                &binding(new.user_key, new.zebrunner_url, new.login),
            )?;
            let now = crate::audit::now_rfc3339();
            let validated = new.validated.then_some(now.as_str());
            on_pool!(&self.storage.pool, pool => {
                sql::query(&UPSERT)
                    .bind(new.user_key)
                    .bind(new.zebrunner_url)
                    .bind(new.login)
                    .bind(&sealed.key_id)
                    .bind(&sealed.nonce)
                    .bind(&sealed.ciphertext)
                    .bind(&now)
                    .bind(&now)
                    .bind(validated)
                    .execute(pool)
                    .await
                    .map_err(StorageError::from)?;
            });
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
            let Some(row) = self.find(user_key).await? else {
                return Ok(None);
            };
            let token = self.open(&row)?;
            let now = crate::audit::now_rfc3339();
            on_pool!(&self.storage.pool, pool => {
                sql::query(&TOUCH)
                    .bind(&now)
                    .bind(user_key)
                    .execute(pool)
                    .await
                    .map_err(StorageError::from)?;
            });
            let mut meta = row.meta;
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
            let Some(row) = self.find(user_key).await? else {
                return Ok(None);
            };
            let token = self.open(&row)?;
            Ok(Some(Credential {
                meta: row.meta,
                token,
            }))
        })
    }

    /// A user's record without its token.
    pub fn metadata<'a>(
        &'a self,
        user_key: &'a str,
    ) -> BoxFuture<'a, Result<Option<VaultMetadata>, VaultError>> {
        Box::pin(async move { Ok(self.find(user_key).await?.map(|row| row.meta)) })
    }

    /// Up to `limit` records after `after` (by user key), without tokens. Start with `None`;
    /// continue with the last user key returned.
    pub fn list<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<VaultMetadata>, VaultError>> {
        Box::pin(async move {
            let rows = self.rows(&LIST, after, None, limit).await?;
            Ok(rows.into_iter().map(|row| row.meta).collect())
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
            let rows = self.rows(&DUE, after, Some(before), limit).await?;
            Ok(rows.into_iter().map(|row| row.meta).collect())
        })
    }

    /// Remove a user's record; whether there was one.
    pub fn delete<'a>(&'a self, user_key: &'a str) -> BoxFuture<'a, Result<bool, VaultError>> {
        Box::pin(async move {
            let deleted = on_pool!(&self.storage.pool, pool => {
                sql::query(&DELETE)
                    .bind(user_key)
                    .execute(pool)
                    .await
                    .map_err(StorageError::from)?
                    .rows_affected()
            });
            Ok(deleted > 0)
        })
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
            let reason = crate::check::clean(reason, MAX_REASON);
            let now = crate::audit::now_rfc3339();
            let changed = on_pool!(&self.storage.pool, pool => {
                sql::query(&MARK_INVALID)
                    .bind(&reason)
                    .bind(&now)
                    .bind(user_key)
                    .bind(revision)
                    .execute(pool)
                    .await
                    .map_err(StorageError::from)?
                    .rows_affected()
            });
            Ok(changed > 0)
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
            let changed = on_pool!(&self.storage.pool, pool => {
                sql::query(&MARK_VALIDATED)
                    .bind(&now)
                    .bind(user_key)
                    .bind(revision)
                    .execute(pool)
                    .await
                    .map_err(StorageError::from)?
                    .rows_affected()
            });
            Ok(changed > 0)
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
            let newest = self.ring.newest().as_str().to_owned();
            let rows = self.rows(&TO_REKEY, after, Some(&newest), limit).await?;
            let mut batch = RekeyBatch {
                next: (rows.len() == limit as usize)
                    .then(|| rows.last().map(|r| r.meta.user_key.clone()))
                    .flatten(),
                ..RekeyBatch::default()
            };
            for row in rows {
                let meta = &row.meta;
                let token = match self.open(&row) {
                    Ok(token) => token,
                    Err(VaultError::Open { user_key, source }) => {
                        batch.failed.push((user_key, source));
                        continue;
                    }
                    Err(other) => return Err(other),
                };
                let resealed = self.ring.seal(
                    &token,
                    &binding(&meta.user_key, &meta.zebrunner_url, &meta.login),
                )?;
                let changed = on_pool!(&self.storage.pool, pool => {
                    sql::query(&RESEAL)
                        .bind(&resealed.key_id)
                        .bind(&resealed.nonce)
                        .bind(&resealed.ciphertext)
                        .bind(&meta.user_key)
                        .bind(&row.sealed.nonce)
                        .execute(pool)
                        .await
                        .map_err(StorageError::from)?
                        .rows_affected()
                });
                if changed > 0 {
                    batch.resealed += 1;
                } else {
                    batch.skipped += 1;
                }
            }
            Ok(batch)
        })
    }

    fn open(&self, row: &StoredRow) -> Result<SecretString, VaultError> {
        let m = &row.meta;
        self.ring
            .open(
                &row.sealed,
                &binding(&m.user_key, &m.zebrunner_url, &m.login),
            )
            .map_err(|source| VaultError::Open {
                user_key: m.user_key.clone(),
                source,
            })
    }

    async fn find(&self, user_key: &str) -> Result<Option<StoredRow>, StorageError> {
        Ok(on_pool!(&self.storage.pool, pool => {
            match sql::query(&FIND).bind(user_key).fetch_optional(pool).await? {
                Some(row) => Some(decode_row!(row)),
                None => None,
            }
        }))
    }

    /// Rows of `LIST` (after, limit), `TO_REKEY` (after, newest, limit) or `DUE` (after,
    /// before, limit).
    async fn rows(
        &self,
        statement: &Sql,
        after: Option<&str>,
        second: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredRow>, StorageError> {
        let after = after.unwrap_or("");
        let limit = i64::from(limit.clamp(1, 10_000));
        Ok(on_pool!(&self.storage.pool, pool => {
            let mut query = sql::query(statement).bind(after);
            if let Some(second) = second {
                query = query.bind(second);
            }
            let mut out = Vec::new();
            for row in query.bind(limit).fetch_all(pool).await? {
                out.push(decode_row!(row));
            }
            out
        }))
    }
}

/// Decode one `vault_records` row (selected by [`select!`]) into a [`StoredRow`]. A macro so
/// the body is written once and typed against each backend's row.
macro_rules! decode_row {
    ($row:expr) => {{
        let row = &$row;
        let status: String = row.try_get("status")?;
        let reason: Option<String> = row.try_get("invalid_reason")?;
        let status = match status.as_str() {
            "active" => RecordStatus::Active,
            "invalid" => RecordStatus::Invalid {
                reason: reason.unwrap_or_default(),
            },
            other => {
                return Err(StorageError::Corrupt {
                    what: "vault record",
                    reason: format!("unknown status {other:?}"),
                });
            }
        };
        let key_id: String = row.try_get("key_id")?;
        StoredRow {
            sealed: Sealed {
                key_id: key_id.clone(),
                nonce: row.try_get("nonce")?,
                ciphertext: row.try_get("ciphertext")?,
            },
            meta: VaultMetadata {
                user_key: row.try_get("user_key")?,
                zebrunner_url: row.try_get("zebrunner_url")?,
                login: row.try_get("login")?,
                key_id,
                status,
                revision: row.try_get("revision")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
                last_used_at: row.try_get("last_used_at")?,
                last_validated_at: row.try_get("last_validated_at")?,
            },
        }
    }};
}
use decode_row;

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
