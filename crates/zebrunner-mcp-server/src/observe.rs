//! The one observation point: every tool call, resource read and
//! authorization decision passes through [`Observer`] exactly once.
//!
//! Failure policy, in one place: a record that cannot be stored is logged and
//! counted ([`AuditLog::failures`]); when the record is of a write
//! ([`Durability::Required`]) the call waits for it to be stored and fails
//! without it, so a write never looks done without its audit record. Every
//! other record is queued for the audit log's one writer, which stores records
//! in batches (`zebrunner_storage::audit::writer`), and the call goes on. Refusals of anonymous requests (no valid
//! token) are not stored one by one: anyone who can reach the port could
//! otherwise fill the disk. They are counted and a sample is logged (the
//! first one, then at most one summary line per [`SAMPLE_EVERY`]).
//!
//! Metrics hang off this point too ([`metrics`]): every record counts its tool call (by tool
//! and outcome, with its latency), resource read or authorization decision, whether or not it
//! is stored, and every anonymous refusal counts by class.

pub mod metrics;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use zebrunner_storage::audit::{AuditLog, AuditRecord};

/// At most one log line about anonymous refusals per this interval.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(60);

/// Whether a lost record must fail the call it describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// A write: the caller must not be told it succeeded without a record.
    Required,
    /// A read or a decision: log, count, carry on.
    BestEffort,
}

/// The record could not be stored and the call must fail.
#[derive(Debug)]
pub struct RecordLost;

/// Where records go. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Observer {
    audit: AuditLog,
    anonymous: Arc<Anonymous>,
}

#[derive(Debug)]
struct Anonymous {
    total: AtomicU64,
    /// Refusals since the last sample line, and when that line was written.
    window: Mutex<(u64, Option<Instant>)>,
}

impl Observer {
    pub fn new(audit: AuditLog) -> Self {
        Self {
            audit,
            anonymous: Arc::new(Anonymous {
                total: AtomicU64::new(0),
                window: Mutex::new((0, None)),
            }),
        }
    }

    pub fn disabled() -> Self {
        Self::new(AuditLog::disabled())
    }

    /// Store one record under the failure policy above. A write's record is stored before
    /// this returns; any other is queued for the audit log's writer, and this returns at once
    /// (unless the queue is full), so a read never holds its answer for its record.
    pub async fn record(
        &self,
        record: &AuditRecord,
        durability: Durability,
    ) -> Result<(), RecordLost> {
        metrics::record(record);
        let stored = match durability {
            Durability::Required => self.audit.record(record).await,
            // Failures after queueing are logged and counted by the writer.
            Durability::BestEffort => self.audit.submit(record).await,
        };
        match stored {
            Ok(()) => Ok(()),
            Err(error) => {
                tracing::error!(
                    correlation_id = %record.correlation_id,
                    tool = record.tool.as_deref().unwrap_or("-"),
                    %error,
                    "audit record could not be written"
                );
                match durability {
                    Durability::Required => Err(RecordLost),
                    Durability::BestEffort => Ok(()),
                }
            }
        }
    }

    /// Wait until every record queued so far is stored (or has failed): for a reader that
    /// must see them, such as a test, right after the calls.
    pub async fn flush_audit(&self) {
        self.audit.flush().await;
    }

    /// Count a refusal of a request that proved no identity (no token, a
    /// malformed header, an invalid token). Nothing is stored.
    pub fn anonymous_refusal(&self, class: &str, detail: &str) {
        metrics::anonymous_refusal(class);
        let total = self.anonymous.total.fetch_add(1, Ordering::Relaxed) + 1;
        let mut window = self
            .anonymous
            .window
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        window.0 += 1;
        let due = window.1.is_none_or(|last| last.elapsed() >= SAMPLE_EVERY);
        if due {
            tracing::info!(
                class,
                detail,
                since_last_sample = window.0,
                total,
                "refused requests without a valid access token (sampled)"
            );
            *window = (0, Some(Instant::now()));
        }
    }

    /// Anonymous refusals since start.
    pub fn anonymous_refusals(&self) -> u64 {
        self.anonymous.total.load(Ordering::Relaxed)
    }

    /// Audit sink writes that failed since start (the audit log's own count).
    pub fn audit_failures(&self) -> u64 {
        self.audit.failures()
    }

    /// Audit records waiting for the writer now.
    pub fn audit_queue_depth(&self) -> usize {
        self.audit.queue_depth()
    }

    /// Batches the audit writer has written since start (one transaction each per database).
    pub fn audit_batches(&self) -> u64 {
        self.audit.batches()
    }
}

/// The authorization server's decisions at its token endpoint go through the same point.
impl zebrunner_oauth::GrantAudit for Observer {
    fn record(
        &self,
        event: zebrunner_oauth::GrantEvent,
    ) -> futures::future::BoxFuture<'_, Result<(), zebrunner_oauth::RecordLost>> {
        Box::pin(async move {
            Observer::record(self, &crate::audit::grant(&event), Durability::Required)
                .await
                .map_err(|RecordLost| zebrunner_oauth::RecordLost)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_refusals_are_counted_not_stored() {
        let observer = Observer::disabled();
        for _ in 0..200 {
            observer.anonymous_refusal("missing_token", "no access token");
        }
        assert_eq!(observer.anonymous_refusals(), 200);
    }
}
