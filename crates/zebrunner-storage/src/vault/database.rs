//! The database record store: the `vault_records` table, on SQLite or PostgreSQL.
//!
//! Every write is one statement, so a process killed at any instant leaves each record either
//! as it was or as written, never half of each. A reseal is a compare-and-swap on the nonce, a
//! status change one on the revision.

use sqlx::Row;
use zebrunner_vault_crypto::Sealed;

use super::store::{RecordStore, Selection, StoredRecord, Upsert};
use super::{RecordStatus, VaultError, VaultMetadata};
use crate::BoxFuture;
use crate::StorageError;
use crate::sql::{self, Sql, on_pool, sql};
use crate::storage::Storage;

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

/// Vault records in the server's database.
#[derive(Debug, Clone)]
pub struct DatabaseRecords {
    storage: Storage,
}

impl DatabaseRecords {
    pub fn new(storage: Storage) -> DatabaseRecords {
        DatabaseRecords { storage }
    }

    /// Rows of `LIST` (after, limit), `TO_REKEY` (after, newest, limit) or `DUE` (after,
    /// before, limit).
    async fn rows(
        &self,
        statement: &Sql,
        after: Option<&str>,
        second: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredRecord>, StorageError> {
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

    async fn changed(&self, statement: &Sql, binds: [Bind<'_>; 4]) -> Result<bool, StorageError> {
        let changed = on_pool!(&self.storage.pool, pool => {
            let mut query = sql::query(statement);
            for bind in binds {
                query = match bind {
                    Bind::Text(text) => query.bind(text),
                    Bind::Int(int) => query.bind(int),
                    Bind::None => query,
                };
            }
            query.execute(pool).await?.rows_affected()
        });
        Ok(changed > 0)
    }
}

/// One bound value of [`DatabaseRecords::changed`] (`None`: nothing more to bind).
enum Bind<'a> {
    Text(&'a str),
    Int(i64),
    None,
}

impl RecordStore for DatabaseRecords {
    fn name(&self) -> &'static str {
        "database"
    }

    fn upsert<'a>(&'a self, r: Upsert<'a>) -> BoxFuture<'a, Result<(), VaultError>> {
        Box::pin(async move {
            on_pool!(&self.storage.pool, pool => {
                sql::query(&UPSERT)
                    .bind(r.user_key)
                    .bind(r.zebrunner_url)
                    .bind(r.login)
                    .bind(&r.sealed.key_id)
                    .bind(&r.sealed.nonce)
                    .bind(&r.sealed.ciphertext)
                    .bind(r.now)
                    .bind(r.now)
                    .bind(r.validated_at)
                    .execute(pool)
                    .await
                    .map_err(StorageError::from)?;
            });
            Ok(())
        })
    }

    fn find<'a>(
        &'a self,
        user_key: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredRecord>, VaultError>> {
        Box::pin(async move {
            let found: Result<_, StorageError> = async {
                Ok(on_pool!(&self.storage.pool, pool => {
                    match sql::query(&FIND).bind(user_key).fetch_optional(pool).await? {
                        Some(row) => Some(decode_row!(row)),
                        None => None,
                    }
                }))
            }
            .await;
            Ok(found?)
        })
    }

    fn select<'a>(
        &'a self,
        selection: Selection<'a>,
        after: Option<&'a str>,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<StoredRecord>, VaultError>> {
        Box::pin(async move {
            let rows = match selection {
                Selection::All => self.rows(&LIST, after, None, limit).await?,
                Selection::NotSealedWith(key) => {
                    self.rows(&TO_REKEY, after, Some(key), limit).await?
                }
                Selection::DueBefore(before) => self.rows(&DUE, after, Some(before), limit).await?,
            };
            Ok(rows)
        })
    }

    fn touch<'a>(
        &'a self,
        user_key: &'a str,
        now: &'a str,
    ) -> BoxFuture<'a, Result<(), VaultError>> {
        Box::pin(async move {
            let binds = [
                Bind::Text(now),
                Bind::Text(user_key),
                Bind::None,
                Bind::None,
            ];
            self.changed(&TOUCH, binds).await?;
            Ok(())
        })
    }

    fn delete<'a>(&'a self, user_key: &'a str) -> BoxFuture<'a, Result<bool, VaultError>> {
        Box::pin(async move {
            let binds = [Bind::Text(user_key), Bind::None, Bind::None, Bind::None];
            Ok(self.changed(&DELETE, binds).await?)
        })
    }

    fn set_status<'a>(
        &'a self,
        user_key: &'a str,
        revision: i64,
        status: &'a RecordStatus,
        now: &'a str,
    ) -> BoxFuture<'a, Result<bool, VaultError>> {
        Box::pin(async move {
            let changed = match status {
                RecordStatus::Invalid { reason } => {
                    let binds = [
                        Bind::Text(reason),
                        Bind::Text(now),
                        Bind::Text(user_key),
                        Bind::Int(revision),
                    ];
                    self.changed(&MARK_INVALID, binds).await?
                }
                RecordStatus::Active => {
                    let binds = [
                        Bind::Text(now),
                        Bind::Text(user_key),
                        Bind::Int(revision),
                        Bind::None,
                    ];
                    self.changed(&MARK_VALIDATED, binds).await?
                }
            };
            Ok(changed)
        })
    }

    fn reseal<'a>(
        &'a self,
        user_key: &'a str,
        expected_nonce: &'a [u8],
        resealed: &'a Sealed,
    ) -> BoxFuture<'a, Result<bool, VaultError>> {
        Box::pin(async move {
            let changed = on_pool!(&self.storage.pool, pool => {
                sql::query(&RESEAL)
                    .bind(&resealed.key_id)
                    .bind(&resealed.nonce)
                    .bind(&resealed.ciphertext)
                    .bind(user_key)
                    .bind(expected_nonce)
                    .execute(pool)
                    .await
                    .map_err(StorageError::from)?
                    .rows_affected()
            });
            Ok(changed > 0)
        })
    }
}

/// Decode one `vault_records` row (selected by [`select!`]) into a [`StoredRecord`]. A macro
/// so the body is written once and typed against each backend's row.
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
        StoredRecord {
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
