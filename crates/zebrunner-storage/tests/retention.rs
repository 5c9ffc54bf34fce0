//! Audit retention on SQLite (a file) and on the real PostgreSQL server
//! (`ZEBRUNNER_MCP_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`, each
//! test in its own schema): bounded batches, oldest first, the cut-off itself kept, replicas
//! pruning at once, and the periodic job's lease.

// Test helpers may unwrap/expect/panic: clippy.toml only covers #[test] fns and #[cfg(test)].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{record, with_postgres};
use time::macros::datetime;
use zebrunner_storage::Storage;
use zebrunner_storage::audit::retention::cutoff;
use zebrunner_storage::audit::{AuditFilter, Outcome};

const CUTOFF: &str = "2026-01-01T00:00:00.000Z";

/// `old` records, one a second, ending a second before [`CUTOFF`] (the oldest first); one at
/// the cut-off exactly; `new` after it.
async fn fill(storage: &Storage, old: usize, new: usize) {
    let start = datetime!(2026-01-01 00:00:00 UTC) - time::Duration::seconds(old as i64);
    for i in 0..old {
        let at = zebrunner_storage::audit::timefmt::format_canonical(
            start + time::Duration::seconds(i as i64),
        );
        let mut r = record(&at, "old", "get_test_case", Outcome::Ok);
        r.correlation_id = format!("old-{i:05}");
        storage.append_audit(&r).await.unwrap();
    }
    let mut at_cutoff = record(CUTOFF, "edge", "get_test_case", Outcome::Ok);
    at_cutoff.correlation_id = "at-cutoff".into();
    storage.append_audit(&at_cutoff).await.unwrap();
    for i in 0..new {
        let at = format!("2026-01-02T00:00:{i:02}.000Z");
        storage
            .append_audit(&record(&at, "new", "list_projects", Outcome::Ok))
            .await
            .unwrap();
    }
}

async fn all(storage: &Storage) -> Vec<zebrunner_storage::audit::AuditRecord> {
    storage
        .query_audit(&AuditFilter {
            oldest_first: true,
            ..AuditFilter::default()
        })
        .await
        .unwrap()
}

async fn batches_oldest_first(storage: &Storage) {
    fill(storage, 130, 20).await;
    assert_eq!(storage.count_audit_before(CUTOFF).await.unwrap(), 130);
    // One batch: exactly its size, and the oldest records.
    assert_eq!(storage.prune_audit_batch(CUTOFF, 40).await.unwrap(), 40);
    let left = all(storage).await;
    assert_eq!(left.len(), 130 - 40 + 1 + 20);
    assert_eq!(left[0].correlation_id, "old-00040", "the oldest went first");
    // The rest, in batches of 40 (40, 40, 10).
    assert_eq!(storage.prune_audit(CUTOFF, 40).await.unwrap(), 90);
    assert_eq!(storage.count_audit_before(CUTOFF).await.unwrap(), 0);
    let left = all(storage).await;
    assert_eq!(left.len(), 21);
    assert_eq!(
        left[0].correlation_id, "at-cutoff",
        "the cut-off is exclusive"
    );
    // Nothing more to do.
    assert_eq!(storage.prune_audit(CUTOFF, 40).await.unwrap(), 0);
}

/// Two replicas (two pools on one database) prune at once: every old record goes exactly once
/// between them, nothing newer is touched, neither fails.
async fn replicas_prune_at_once(a: &Storage, b: &Storage) {
    fill(a, 400, 10).await;
    let (da, db) = tokio::join!(a.prune_audit(CUTOFF, 25), b.prune_audit(CUTOFF, 25));
    let (da, db) = (da.unwrap(), db.unwrap());
    assert_eq!(da + db, 400, "{da} + {db}: each record deleted once");
    assert_eq!(a.count_audit_before(CUTOFF).await.unwrap(), 0);
    assert_eq!(all(b).await.len(), 11);
}

/// The periodic job's lease: one holder at a time, renewed by its holder, taken over once it
/// lapses.
async fn one_replica_holds_the_lease(storage: &Storage) {
    fill(storage, 5, 3).await;
    // 30 days of retention as of 2026-01-31T00:00:00.5Z: the cut-off is 2026-01-01T00:00:00.5Z,
    // so the record at 00:00:00.000 goes too.
    let now = datetime!(2026-01-31 00:00:00.5 UTC);
    assert_eq!(cutoff(now, 30), "2026-01-01T00:00:00.500Z");
    let first = storage.prune_audit_with_lease("a", 3600, 30, now).await;
    assert_eq!(first.unwrap(), Some(6));
    let other = storage.prune_audit_with_lease("b", 3600, 30, now).await;
    assert_eq!(other.unwrap(), None, "b waits while a holds the lease");
    let renewed = storage
        .prune_audit_with_lease("a", 3600, 30, now + time::Duration::minutes(30))
        .await;
    assert_eq!(renewed.unwrap(), Some(0));
    let later = now + time::Duration::hours(3);
    let taken = storage.prune_audit_with_lease("b", 3600, 30, later).await;
    assert_eq!(
        taken.unwrap(),
        Some(0),
        "b takes over once a stops renewing"
    );
    assert_eq!(all(storage).await.len(), 3);
}

async fn sqlite() -> (tempfile::TempDir, Storage) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::connect(&Storage::default_sqlite_url(dir.path()))
        .await
        .unwrap();
    (dir, storage)
}

#[tokio::test]
async fn sqlite_prunes_in_batches_oldest_first() {
    let (_dir, storage) = sqlite().await;
    batches_oldest_first(&storage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_replicas_prune_at_once() {
    let (dir, a) = sqlite().await;
    let b = Storage::connect(&Storage::default_sqlite_url(dir.path()))
        .await
        .unwrap();
    replicas_prune_at_once(&a, &b).await;
}

#[tokio::test]
async fn sqlite_one_replica_holds_the_lease() {
    let (_dir, storage) = sqlite().await;
    one_replica_holds_the_lease(&storage).await;
}

#[tokio::test]
async fn postgres_prunes_in_batches_oldest_first() {
    with_postgres("prune_batches", |url| async move {
        let storage = Storage::connect(&url).await.unwrap();
        batches_oldest_first(&storage).await;
        storage.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_replicas_prune_at_once() {
    with_postgres("prune_replicas", |url| async move {
        let a = Storage::connect(&url).await.unwrap();
        let b = Storage::connect(&url).await.unwrap();
        replicas_prune_at_once(&a, &b).await;
        a.close().await;
        b.close().await;
    })
    .await;
}

#[tokio::test]
async fn postgres_one_replica_holds_the_lease() {
    with_postgres("prune_lease", |url| async move {
        let storage = Storage::connect(&url).await.unwrap();
        one_replica_holds_the_lease(&storage).await;
        storage.close().await;
    })
    .await;
}
