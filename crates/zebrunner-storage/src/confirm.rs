//! The `confirmation_tokens` table: single-use tokens that confirm a previewed write.
//!
//! The server issues a token with a preview and stores only its SHA-256 hash, bound to the
//! caller's user key, the tool, a hash of the exact arguments and a hash of the planned
//! request (method, path, body). A confirm consumes it with one conditional `UPDATE` (unused,
//! unexpired, same user, tool, arguments and plan), so of two replicas racing to confirm the
//! same token exactly one wins; when it changes nothing, a `SELECT` says why. Hashing happens in
//! the caller: this module stores and compares opaque strings. Times are Unix seconds.

use sqlx::Row;

use crate::StorageError;
use crate::sql::{self, Sql, on_pool, sql};
use crate::storage::Storage;

/// A token to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConfirmation {
    /// Hex SHA-256 of the token; the token itself is never stored.
    pub token_hash: String,
    /// The caller's user key (`local` without identity).
    pub user_key: String,
    pub tool: String,
    /// Hash of the canonical arguments the preview was made for.
    pub arguments_hash: String,
    /// Hash of the request the preview planned to send (method, path, body).
    pub plan_hash: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; the token is refused from this instant on.
    pub expires_at: i64,
}

/// What a confirm attempt should match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmAttempt<'a> {
    pub token_hash: &'a str,
    pub user_key: &'a str,
    pub tool: &'a str,
    pub arguments_hash: &'a str,
    /// Hash of the request the confirm would send now (re-planned, not the preview's).
    pub plan_hash: &'a str,
    /// Unix seconds.
    pub now: i64,
}

/// The result of [`Storage::consume_confirmation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumed {
    /// The token was valid and is now used: perform the write.
    Ok,
    /// No such token (never issued, or purged long after expiry).
    Unknown,
    /// Already used once.
    AlreadyUsed,
    /// Past its expiry.
    Expired,
    /// Issued to another user.
    OtherUser,
    /// Issued for another tool or other arguments.
    DifferentArguments,
    /// Unused, unexpired, same user, tool and arguments, but the request planned now differs
    /// from the preview's (what it would change has changed since). The token is left unused;
    /// the caller must preview again.
    PlanChanged,
}

/// Tokens expired longer ago than this are deleted when new ones are issued.
const PURGE_AFTER_SECS: i64 = 24 * 60 * 60;

const PURGE: Sql = sql!("DELETE FROM confirmation_tokens WHERE expires_at < ?");

const INSERT: Sql = sql!(
    "INSERT INTO confirmation_tokens (token_hash, user_key, tool, arguments_hash, plan_hash, \
     created_at, expires_at, used) VALUES (?, ?, ?, ?, ?, ?, ?, FALSE)"
);

/// The one statement that decides a confirm: of concurrent attempts, exactly one changes the row.
const CONSUME: Sql = sql!(
    "UPDATE confirmation_tokens SET used = TRUE WHERE token_hash = ? \
     AND used = FALSE AND expires_at > ? AND user_key = ? AND tool = ? \
     AND arguments_hash = ? AND plan_hash = ?"
);

/// Hands a used token back: only its owner's, only while unexpired.
const RELEASE: Sql = sql!(
    "UPDATE confirmation_tokens SET used = FALSE WHERE token_hash = ? \
     AND used = TRUE AND user_key = ? AND expires_at > ?"
);

const DIAGNOSE: Sql = sql!(
    "SELECT user_key, tool, arguments_hash, plan_hash, expires_at, used \
     FROM confirmation_tokens WHERE token_hash = ?"
);

impl Storage {
    /// Store a new token (and purge tokens long expired).
    pub async fn issue_confirmation(&self, token: &NewConfirmation) -> Result<(), StorageError> {
        let purge_before = token.created_at - PURGE_AFTER_SECS;
        on_pool!(&self.pool, pool => {
            sql::query(&PURGE).bind(purge_before).execute(pool).await?;
            sql::query(&INSERT)
                .bind(&token.token_hash)
                .bind(&token.user_key)
                .bind(&token.tool)
                .bind(&token.arguments_hash)
                .bind(&token.plan_hash)
                .bind(token.created_at)
                .bind(token.expires_at)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Use a token: one atomic `UPDATE` marks it used only if it is unused, unexpired and bound
    /// to this user, tool, arguments and plan. When it does not match, says why (and leaves it
    /// as is): the checks go user, used, expiry, tool and arguments, then plan, so
    /// [`Consumed::PlanChanged`] means everything else was right.
    pub async fn consume_confirmation(
        &self,
        attempt: &ConfirmAttempt<'_>,
    ) -> Result<Consumed, StorageError> {
        let a = attempt;
        let row = on_pool!(&self.pool, pool => {
            let updated = sql::query(&CONSUME)
                .bind(a.token_hash)
                .bind(a.now)
                .bind(a.user_key)
                .bind(a.tool)
                .bind(a.arguments_hash)
                .bind(a.plan_hash)
                .execute(pool)
                .await?
                .rows_affected();
            if updated == 1 {
                return Ok(Consumed::Ok);
            }
            sql::query(&DIAGNOSE)
                .bind(a.token_hash)
                .fetch_optional(pool)
                .await?
                .map(|r| -> Result<Stored, sqlx::Error> {
                    Ok(Stored {
                        user_key: r.try_get("user_key")?,
                        tool: r.try_get("tool")?,
                        arguments_hash: r.try_get("arguments_hash")?,
                        plan_hash: r.try_get("plan_hash")?,
                        expires_at: r.try_get("expires_at")?,
                        used: r.try_get("used")?,
                    })
                })
                .transpose()?
        });
        Ok(match row {
            None => Consumed::Unknown,
            Some(s) if s.user_key != a.user_key => Consumed::OtherUser,
            Some(s) if s.used => Consumed::AlreadyUsed,
            Some(s) if s.expires_at <= a.now => Consumed::Expired,
            Some(s) if s.tool != a.tool || s.arguments_hash != a.arguments_hash => {
                Consumed::DifferentArguments
            }
            Some(s) if s.plan_hash != a.plan_hash => Consumed::PlanChanged,
            // It matched a moment ago but another confirm took it first.
            Some(_) => Consumed::AlreadyUsed,
        })
    }
}

impl Storage {
    /// Make a consumed token usable again, for a write Zebrunner refused
    /// before changing anything (so the caller can fix the cause and
    /// confirm with the same token). Returns whether a token was released.
    pub async fn release_confirmation(
        &self,
        token_hash: &str,
        user_key: &str,
        now: i64,
    ) -> Result<bool, StorageError> {
        let released = on_pool!(&self.pool, pool => {
            sql::query(&RELEASE)
                .bind(token_hash)
                .bind(user_key)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(released == 1)
    }
}

struct Stored {
    user_key: String,
    tool: String,
    arguments_hash: String,
    plan_hash: String,
    expires_at: i64,
    used: bool,
}
