//! Audit retention: deleting records older than a cut-off, in bounded batches.
//!
//! Each batch is one short `DELETE` of at most [`PRUNE_BATCH`] rows, oldest first, so a large
//! backlog never holds SQLite's write lock (or PostgreSQL's row locks) for long, and an
//! interrupted run leaves only newer records behind. Replicas may prune at the same time
//! without harm: a row another pruner deleted first is simply not deleted twice. The periodic
//! job ([`spawn_pruning`]) still takes the lease [`LEASE`] so that, normally, one replica does
//! the work.

use std::time::Duration;

use rand::Rng;
use time::OffsetDateTime;

use super::timefmt;
use crate::StorageError;
use crate::sql::{self, Sql, on_pool, sql};
use crate::storage::Storage;

/// Rows deleted per statement.
pub const PRUNE_BATCH: u32 = 1000;
/// Pause between two full batches, so audit writes (and other replicas) get the database.
const PAUSE: Duration = Duration::from_millis(20);
/// Short batches with rows still left (another pruner took them) before giving up for now.
const MAX_RACES: u32 = 100;
/// The lease of the periodic job (table `leases`).
pub const LEASE: &str = "audit_prune";

const DELETE_BATCH: Sql = sql!(
    "DELETE FROM audit_log WHERE id IN \
     (SELECT id FROM audit_log WHERE at < ? ORDER BY at LIMIT ?)"
);
const COUNT_OLDER: Sql = sql!("SELECT COUNT(*) FROM audit_log WHERE at < ?");

/// The canonical time `days` days before `now`: records before it are past retention.
pub fn cutoff(now: OffsetDateTime, days: u32) -> String {
    timefmt::format_canonical(now - time::Duration::days(i64::from(days)))
}

impl Storage {
    /// Delete at most `batch` audit records older than `before` (RFC 3339), oldest first;
    /// how many were deleted.
    pub async fn prune_audit_batch(&self, before: &str, batch: u32) -> Result<u64, StorageError> {
        let before = timefmt::canonical(before)?;
        let deleted = on_pool!(&self.pool, pool => {
            sql::query(&DELETE_BATCH)
                .bind(&before)
                .bind(i64::from(batch.max(1)))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(deleted)
    }

    /// Delete every audit record older than `before` (RFC 3339), `batch` rows per statement;
    /// how many this call deleted. With another pruner at work on the same database the two
    /// share the rows between them, and both return only once none is left.
    pub async fn prune_audit(&self, before: &str, batch: u32) -> Result<u64, StorageError> {
        let batch = batch.max(1);
        let mut total = 0;
        let mut raced = 0;
        loop {
            let deleted = self.prune_audit_batch(before, batch).await?;
            total += deleted;
            // A short batch means the end, unless another pruner took rows this one had
            // picked (PostgreSQL skips rows deleted under it): then look again.
            if deleted < u64::from(batch) {
                if self.count_audit_before(before).await? == 0 || raced >= MAX_RACES {
                    return Ok(total);
                }
                raced += 1;
            }
            tokio::time::sleep(PAUSE).await;
        }
    }

    /// How many audit records are older than `before` (RFC 3339).
    pub async fn count_audit_before(&self, before: &str) -> Result<u64, StorageError> {
        let before = timefmt::canonical(before)?;
        let count: i64 = on_pool!(&self.pool, pool => {
            sql::query_scalar(&COUNT_OLDER)
                .bind(&before)
                .fetch_one(pool)
                .await?
        });
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// One pass of the periodic job: take (or renew) the lease [`LEASE`] for `lease_secs`
    /// as `holder` and delete what is older than `days` before `now`. `None` when another
    /// replica holds the lease.
    pub async fn prune_audit_with_lease(
        &self,
        holder: &str,
        lease_secs: i64,
        days: u32,
        now: OffsetDateTime,
    ) -> Result<Option<u64>, StorageError> {
        if !self
            .try_lease(LEASE, holder, now.unix_timestamp(), lease_secs)
            .await?
        {
            return Ok(None);
        }
        self.prune_audit(&cutoff(now, days), PRUNE_BATCH)
            .await
            .map(Some)
    }
}

/// Prune the audit log of `storage` every `every` (jittered by up to a tenth), keeping `days`
/// days, the first pass within a minute or two of the start. Started by `serve`; abort the
/// handle to stop it (a batch cut short is rolled back whole).
pub fn spawn_pruning(storage: Storage, days: u32, every: Duration) -> tokio::task::JoinHandle<()> {
    let holder = format!("{:016x}", rand::random::<u64>());
    tokio::spawn(async move {
        let every = every.max(Duration::from_secs(60));
        // The lease outlives one interval a little, so the replica that pruned last normally
        // prunes next; another takes over once it stops renewing.
        let lease_secs = i64::try_from(every.as_secs())
            .unwrap_or(i64::MAX / 4)
            .saturating_add(60);
        let mut wait = Duration::from_secs(rand::rng().random_range(30..=90));
        loop {
            tokio::time::sleep(wait).await;
            match storage
                .prune_audit_with_lease(&holder, lease_secs, days, OffsetDateTime::now_utc())
                .await
            {
                Ok(Some(0)) => tracing::debug!(days, "audit retention: nothing to delete"),
                Ok(Some(deleted)) => {
                    tracing::info!(deleted, days, "audit retention: deleted old records")
                }
                Ok(None) => tracing::debug!("audit retention: another replica holds the lease"),
                Err(error) => tracing::warn!(
                    %error,
                    "audit retention: pruning failed (the database role needs DELETE on \
                     audit_log and write access to leases); will retry"
                ),
            }
            let jitter = rand::rng().random_range(0..=every.as_millis() as u64 / 10);
            wait = every + Duration::from_millis(jitter);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_is_days_before_now_in_canonical_form() {
        let now = time::macros::datetime!(2026-03-01 12:00:00.5 UTC);
        assert_eq!(cutoff(now, 1), "2026-02-28T12:00:00.500Z");
        assert_eq!(cutoff(now, 365), "2025-03-01T12:00:00.500Z");
    }

    #[tokio::test]
    async fn only_records_before_the_cutoff_go() {
        let storage = Storage::connect("sqlite::memory:").await.unwrap();
        for at in [
            "2026-01-01T00:00:00.000Z",
            "2026-01-02T00:00:00.000Z",
            "2026-01-03T00:00:00.000Z",
        ] {
            let record = crate::audit::AuditRecord {
                id: None,
                at: at.into(),
                correlation_id: at.into(),
                kind: crate::audit::AuditKind::ToolCall,
                user_key: None,
                email: None,
                client_id: None,
                zebrunner_login: None,
                transport: "stdio".into(),
                tool: Some("get_test_case".into()),
                arguments: serde_json::json!({}),
                zebrunner_requests: Vec::new(),
                outcome: crate::audit::Outcome::Ok,
                error_class: None,
                detail: None,
                latency_ms: 1,
            };
            storage.append_audit(&record).await.unwrap();
        }
        let before = "2026-01-02T00:00:00Z";
        assert_eq!(storage.count_audit_before(before).await.unwrap(), 1);
        assert_eq!(storage.prune_audit(before, 1).await.unwrap(), 1);
        assert_eq!(storage.count_audit_before(before).await.unwrap(), 0);
        let left = storage
            .query_audit(&crate::audit::AuditFilter::default())
            .await
            .unwrap();
        assert_eq!(left.len(), 2, "the record exactly at the cutoff stays");
        assert!(storage.prune_audit("not a time", 1).await.is_err());
    }
}
