//! The `leases` table: which replica runs a periodic job now.
//!
//! A job that must run on one replica at a time (the vault's re-validation) takes a named
//! lease for a while. [`Storage::try_lease`] is one conditional upsert: it succeeds when nobody
//! holds the lease, when the holder's time ran out (a replica that died gives it up by not
//! renewing), or when the caller already holds it (renewal). Times are Unix seconds.

use crate::StorageError;
use crate::sql::{self, Sql, on_pool, sql};
use crate::storage::Storage;

const TAKE: Sql = sql!(
    "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) \
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
     WHERE leases.expires_at <= ? OR leases.holder = excluded.holder"
);

impl Storage {
    /// Take or renew the lease `name` for `holder` until `now + ttl_secs`; whether it is ours.
    pub async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        ttl_secs: i64,
    ) -> Result<bool, StorageError> {
        let taken = on_pool!(&self.pool, pool => {
            sql::query(&TAKE)
                .bind(name)
                .bind(holder)
                .bind(now.saturating_add(ttl_secs))
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(taken == 1)
    }
}
