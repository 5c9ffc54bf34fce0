//! The audit log's one writer: a task that takes records from a bounded queue and writes them
//! to every sink in batches (group commit).
//!
//! Why: a record per tool call written by the call itself costs the call a database round
//! trip, and on SQLite two thread hand-offs (sqlx runs each statement on the connection's own
//! worker thread). Here the call only queues its record; the writer stores whatever has
//! queued up in one statement per sink, so a batch of N records costs one transaction, not N.
//!
//! - A record whose caller waits ([`AuditLog::record`](super::AuditLog::record), a write
//!   tool's) is committed at once, with whatever else is queued, and its caller learns the
//!   batch's outcome.
//! - Records nobody waits for ([`AuditLog::submit`](super::AuditLog::submit), reads and
//!   decisions) wait up to [`LINGER`] for company, so a steady trickle of calls (one client
//!   on stdio) shares transactions too. Only such records can be lost in a crash, and none
//!   that was acknowledged as stored.
//! - A batch is one statement per database sink: all of its records are stored or none is.
//!   Their values are bounded and checked before they are queued, so a batch fails only when
//!   the sink does; then every record in it counts as a failed write and every waiter gets the
//!   error. What queued up behind a failed batch fails with it at once (`fail_queued`):
//!   against an unreachable database every batch waits the full connection timeout, and a
//!   write would otherwise wait one timeout per batch ahead of it, for the whole outage.
//! - A full queue ([`QUEUE_CAPACITY`]) holds whoever submits until there is room: memory stays
//!   bounded and nothing is dropped while the sinks work. A read waits only for room, never
//!   for its commit.
//! - On [`close`](super::AuditLog::close) the writer stores everything queued before it,
//!   closes the database sinks and stops; a record queued after that fails and is counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::sink::{AuditError, AuditSink, write_lines};
use super::{AuditRecord, sink::json_line};

/// Records queued at most; a submitter beyond it waits for room.
pub const QUEUE_CAPACITY: usize = 1024;
/// Records in one batch at most (15 bound values each: well within either database's limit
/// on the values of one statement).
pub const MAX_BATCH: usize = 128;
/// How long records nobody waits for may wait for others to share their batch.
pub const LINGER: Duration = Duration::from_millis(5);

/// What a record's waiter learns.
pub(super) type Done = oneshot::Sender<Result<(), AuditError>>;

/// One item of the queue.
pub(super) enum Message {
    /// A record, already within its bounds, and who waits for it, if anyone.
    Record {
        record: Box<AuditRecord>,
        done: Option<Done>,
    },
    /// Answered once everything queued before it is written; with `close`, the writer then
    /// closes the sinks and stops.
    Barrier {
        ack: oneshot::Sender<()>,
        close: bool,
    },
}

/// Counts shared by the writer and the [`AuditLog`](super::AuditLog) handles.
#[derive(Debug, Default)]
pub(super) struct Counts {
    /// Failed sink writes: one per record per sink that failed.
    pub failures: AtomicU64,
    /// Batches written (each one transaction per database sink).
    pub batches: AtomicU64,
    /// Records taken from the queue and written (or failed).
    pub records: AtomicU64,
}

/// The writer task: runs until the queue is closed (a close barrier, or every handle dropped).
pub(super) async fn run(
    sinks: Arc<[AuditSink]>,
    counts: Arc<Counts>,
    mut queue: mpsc::Receiver<Message>,
) {
    let mut batch = Batch::default();
    loop {
        let Some(first) = queue.recv().await else {
            // Every handle is gone; nothing more can arrive.
            return;
        };
        batch.add(first);
        gather(&mut queue, &mut batch).await;
        let failures = write(&sinks, &counts, &mut batch).await;
        if !failures.is_empty() {
            fail_queued(&mut queue, &counts, &mut batch, &failures);
        }
        let close = batch.closing();
        if close {
            for sink in sinks.iter() {
                if let AuditSink::Database(storage) = sink {
                    storage.close().await;
                }
            }
        }
        for (ack, _) in batch.barriers.drain(..) {
            let _ = ack.send(());
        }
        if close {
            refuse_rest(&mut queue, &counts);
            return;
        }
    }
}

/// What the writer holds between taking records and writing them.
#[derive(Default)]
struct Batch {
    records: Vec<AuditRecord>,
    waiters: Vec<(usize, Done)>,
    barriers: Vec<(oneshot::Sender<()>, bool)>,
}

impl Batch {
    fn add(&mut self, message: Message) {
        match message {
            Message::Record { record, done } => {
                if let Some(done) = done {
                    self.waiters.push((self.records.len(), done));
                }
                self.records.push(*record);
            }
            Message::Barrier { ack, close } => self.barriers.push((ack, close)),
        }
    }

    /// A close barrier is in the batch: nothing after it belongs to it.
    fn closing(&self) -> bool {
        self.barriers.iter().any(|(_, close)| *close)
    }

    /// Someone waits on this batch: write it now.
    fn urgent(&self) -> bool {
        !self.waiters.is_empty() || !self.barriers.is_empty()
    }
}

/// Add what is already queued, and, while nobody waits, what arrives within [`LINGER`], up to
/// [`MAX_BATCH`] records.
async fn gather(queue: &mut mpsc::Receiver<Message>, batch: &mut Batch) {
    let deadline = tokio::time::Instant::now() + LINGER;
    while batch.records.len() < MAX_BATCH && !batch.closing() {
        let next = match queue.try_recv() {
            Ok(message) => message,
            Err(mpsc::error::TryRecvError::Disconnected) => return,
            Err(mpsc::error::TryRecvError::Empty) if batch.urgent() => return,
            Err(mpsc::error::TryRecvError::Empty) => {
                match tokio::time::timeout_at(deadline, queue.recv()).await {
                    Ok(Some(message)) => message,
                    Ok(None) | Err(_) => return,
                }
            }
        };
        batch.add(next);
    }
}

/// Stores the batch in every sink and tells its waiters how that went; the sinks' failures.
async fn write(sinks: &[AuditSink], counts: &Counts, batch: &mut Batch) -> Vec<(String, String)> {
    if batch.records.is_empty() {
        return Vec::new();
    }
    let records = &batch.records;
    let mut failures = Vec::new();
    let mut lines: Option<String> = None;
    for sink in sinks {
        let result = match sink {
            AuditSink::Database(storage) => storage
                .append_audit_batch(records)
                .await
                .map_err(|e| e.to_string()),
            AuditSink::Stdout | AuditSink::File(_) => {
                let lines = lines.get_or_insert_with(|| records.iter().map(json_line).collect());
                write_lines(sink, lines).await
            }
        };
        if let Err(error) = result {
            counts
                .failures
                .fetch_add(records.len() as u64, Ordering::Relaxed);
            tracing::error!(
                sink = %sink.describe(),
                records = records.len(),
                %error,
                "audit write failed"
            );
            failures.push((sink.describe(), error));
        }
    }
    counts.batches.fetch_add(1, Ordering::Relaxed);
    counts
        .records
        .fetch_add(records.len() as u64, Ordering::Relaxed);
    settle(batch, &failures);
    failures
}

/// After a batch failed: what queued up while the sink kept it waiting fails with the same
/// error, at once. Each batch against an unreachable database waits the storage's full
/// connection timeout, so otherwise a record queued behind failing batches, and the write tool
/// waiting for it, would wait one timeout per batch ahead of it: until the database is back,
/// however long the outage. The next record tries the sinks again. What is queued behind a
/// close barrier stays for [`refuse_rest`].
fn fail_queued(
    queue: &mut mpsc::Receiver<Message>,
    counts: &Counts,
    batch: &mut Batch,
    failures: &[(String, String)],
) {
    while !batch.closing()
        && let Ok(message) = queue.try_recv()
    {
        batch.add(message);
    }
    counts
        .failures
        .fetch_add(batch.records.len() as u64, Ordering::Relaxed);
    settle(batch, failures);
}

/// Tells the batch's waiters its outcome, names the records lost that nobody waited for, and
/// empties the batch of records (its barriers stay for the caller).
fn settle(batch: &mut Batch, failures: &[(String, String)]) {
    let records = &batch.records;
    let mut waited = vec![false; records.len()];
    for (index, done) in batch.waiters.drain(..) {
        waited[index] = true;
        let outcome = if failures.is_empty() {
            Ok(())
        } else {
            Err(AuditError {
                failures: failures.to_vec(),
            })
        };
        let _ = done.send(outcome);
    }
    if !failures.is_empty() {
        // Waiters log their own; a record nobody waits for is named here, once.
        for (record, _) in records.iter().zip(&waited).filter(|(_, waited)| !**waited) {
            tracing::error!(
                correlation_id = %record.correlation_id,
                tool = record.tool.as_deref().unwrap_or("-"),
                "audit record lost"
            );
        }
    }
    batch.records.clear();
}

/// After close: whatever was queued behind the close barrier is refused and counted.
fn refuse_rest(queue: &mut mpsc::Receiver<Message>, counts: &Counts) {
    queue.close();
    while let Ok(message) = queue.try_recv() {
        match message {
            Message::Record { record, done } => {
                counts.failures.fetch_add(1, Ordering::Relaxed);
                match done {
                    Some(done) => {
                        let _ = done.send(Err(AuditError::closed()));
                    }
                    None => tracing::error!(
                        correlation_id = %record.correlation_id,
                        "audit record lost: the audit log was already closed"
                    ),
                }
            }
            Message::Barrier { ack, .. } => {
                let _ = ack.send(());
            }
        }
    }
}
