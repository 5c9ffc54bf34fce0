//! The `server_secrets` table: random keys the server makes for itself (for example the HMAC
//! key that makes pagination cursors tamper-evident), shared by every replica on the database.
//!
//! A key is created on first use with bytes from the operating system's RNG and stored in
//! plaintext: it protects integrity against callers, not against someone who can read the
//! database (see `docs/storage.md`). Creation is `INSERT ... ON CONFLICT (name) DO NOTHING`
//! followed by a `SELECT`, so when several replicas start at once one insert wins and all of
//! them read the winner's bytes.

use rand::TryRngCore;
use rand::rngs::OsRng;
use zeroize::Zeroizing;

use crate::BoxFuture;
use crate::StorageError;
use crate::sql::{self, Sql, on_pool, sql};
use crate::storage::Storage;

/// The longest key [`Storage::server_secret`] makes (a guard against a unit mix-up, not a
/// cryptographic limit).
pub const MAX_SECRET_LEN: usize = 1024;
/// The longest secret name.
pub const MAX_SECRET_NAME_LEN: usize = 128;

const FIND: Sql = sql!("SELECT value FROM server_secrets WHERE name = ?");
const CREATE: Sql = sql!(
    "INSERT INTO server_secrets (name, value, created_at) VALUES (?, ?, ?) \
     ON CONFLICT (name) DO NOTHING"
);

impl Storage {
    /// The secret called `name`: the stored bytes, or, the first time any replica asks, `len`
    /// new random bytes from the OS RNG, stored so that every replica sharing the database
    /// gets the same ones. A secret's length is fixed when it is made: asking for another
    /// length is an error (use a new name for a key of another size), so a key can never
    /// silently come back shorter than the caller expects.
    ///
    /// The returned buffer is wiped on drop; copies inside the database driver's buffers are
    /// not.
    ///
    /// (Boxed: see [`Storage::connect`].)
    pub fn server_secret<'a>(
        &'a self,
        name: &'a str,
        len: usize,
    ) -> BoxFuture<'a, Result<Zeroizing<Vec<u8>>, StorageError>> {
        Box::pin(self.server_secret_unboxed(name, len))
    }

    async fn server_secret_unboxed(
        &self,
        name: &str,
        len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, StorageError> {
        let invalid = |reason: String| StorageError::Invalid {
            what: "server secret request",
            reason,
        };
        if name.is_empty() || name.chars().count() > MAX_SECRET_NAME_LEN {
            return Err(invalid(format!(
                "the name must have 1 to {MAX_SECRET_NAME_LEN} characters"
            )));
        }
        if len == 0 || len > MAX_SECRET_LEN {
            return Err(invalid(format!(
                "{name}: the length must be 1 to {MAX_SECRET_LEN} bytes, not {len}"
            )));
        }
        // The usual case after the first start: it exists, no randomness or write needed.
        if let Some(stored) = self.find_secret(name).await? {
            return checked_len(name, stored, len);
        }
        let mut fresh = Zeroizing::new(vec![0u8; len]);
        OsRng
            .try_fill_bytes(&mut fresh)
            .map_err(|e| StorageError::Random(e.to_string()))?;
        let created_at = crate::audit::now_rfc3339();
        on_pool!(&self.pool, pool => {
            sql::query(&CREATE)
                .bind(name)
                .bind(&fresh[..])
                .bind(&created_at)
                .execute(pool)
                .await?;
        });
        // Ours, or the bytes of a replica whose insert came first.
        match self.find_secret(name).await? {
            Some(stored) => checked_len(name, stored, len),
            None => Err(StorageError::Corrupt {
                what: "server secret",
                reason: format!("{name} was neither created nor found"),
            }),
        }
    }

    async fn find_secret(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, StorageError> {
        let value: Option<Vec<u8>> = on_pool!(&self.pool, pool => {
            sql::query_scalar(&FIND).bind(name).fetch_optional(pool).await?
        });
        Ok(value.map(Zeroizing::new))
    }
}

fn checked_len(
    name: &str,
    stored: Zeroizing<Vec<u8>>,
    len: usize,
) -> Result<Zeroizing<Vec<u8>>, StorageError> {
    if stored.len() == len {
        Ok(stored)
    } else {
        Err(StorageError::Invalid {
            what: "server secret request",
            reason: format!(
                "{name} is stored with {} bytes but {len} were asked for; a secret's length \
                 cannot change (use another name)",
                stored.len()
            ),
        })
    }
}
