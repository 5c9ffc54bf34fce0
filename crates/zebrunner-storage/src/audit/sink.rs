//! [`AuditLog`]: the handle calls use to record, and the configured [`AuditSink`]s; the
//! writing itself is [`super::writer`]'s.
//!
//! Stdout and file sinks write JSON lines (one record per line, each batch flushed before its
//! waiters hear back) for log shippers. Do not use the stdout sink with the stdio transport: stdout is
//! the MCP channel there.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use tokio::sync::{mpsc, oneshot};

use super::AuditRecord;
use super::export::escape_json;
use super::writer::{self, Counts, Done, Message};
use crate::Storage;

/// Where audit records go.
#[derive(Debug, Clone)]
pub enum AuditSink {
    /// The `audit_log` table.
    Database(Storage),
    /// JSON lines on standard output.
    Stdout,
    /// JSON lines appended to this file (created with mode 0600).
    File(PathBuf),
}

impl AuditSink {
    /// Short name for messages: `database`, `stdout`, `file /path`.
    pub fn describe(&self) -> String {
        match self {
            AuditSink::Database(storage) => format!("database ({})", storage.backend()),
            AuditSink::Stdout => "stdout".into(),
            AuditSink::File(path) => format!("file {}", path.display()),
        }
    }
}

/// A failed [`AuditLog::record`]: every sink that failed, with its reason.
#[derive(Debug, Clone, thiserror::Error)]
#[error("audit record not written to {}", .failures.iter().map(|(s, e)| format!("{s}: {e}")).collect::<Vec<_>>().join("; "))]
pub struct AuditError {
    pub failures: Vec<(String, String)>,
}

impl AuditError {
    /// The record reached no sink: the audit log is closed (or its writer could not start).
    pub(super) fn closed() -> Self {
        AuditError {
            failures: vec![(
                "audit log".into(),
                "closed: the server is shutting down".into(),
            )],
        }
    }
}

/// The audit log: a set of sinks, written by one writer task through a bounded queue
/// ([`super::writer`]: group commit). Cheap to clone (shared state).
#[derive(Debug, Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    sinks: Arc<[AuditSink]>,
    counts: Arc<Counts>,
    /// The writer's queue, started by the first record (inside the runtime that serves calls).
    queue: OnceLock<mpsc::Sender<Message>>,
}

impl AuditLog {
    pub fn new(sinks: Vec<AuditSink>) -> Self {
        AuditLog {
            inner: Arc::new(Inner {
                sinks: sinks.into(),
                counts: Arc::default(),
                queue: OnceLock::new(),
            }),
        }
    }

    /// An audit log with no sinks: `record` always succeeds and writes nothing.
    pub fn disabled() -> Self {
        AuditLog::new(Vec::new())
    }

    /// The configured sinks.
    pub fn sinks(&self) -> &[AuditSink] {
        &self.inner.sinks
    }

    /// Whether there is at least one sink.
    pub fn is_enabled(&self) -> bool {
        !self.inner.sinks.is_empty()
    }

    /// Write `record` to every sink and return once it is stored, within the limits of
    /// [`AuditRecord::bounded`]: for a record the call must not succeed without (a write).
    /// It is committed at once, together with whatever else is queued. A failure of any sink
    /// is an error (each is logged and counted).
    pub async fn record(&self, record: &AuditRecord) -> Result<(), AuditError> {
        if !self.is_enabled() {
            return Ok(());
        }
        let (done, stored) = oneshot::channel();
        self.enqueue(record, Some(done)).await?;
        stored.await.unwrap_or_else(|_| Err(AuditError::closed()))
    }

    /// Queue `record` for every sink and return without waiting for it to be stored: for
    /// records a call need not wait for (reads, decisions). Waits only while the queue is
    /// full. A record that cannot be queued is an error; one that fails later is logged and
    /// counted by the writer.
    pub async fn submit(&self, record: &AuditRecord) -> Result<(), AuditError> {
        if !self.is_enabled() {
            return Ok(());
        }
        self.enqueue(record, None).await
    }

    /// Wait until every record queued before this call has been written (or has failed).
    pub async fn flush(&self) {
        self.barrier(false).await;
    }

    /// At shutdown: write everything queued, then close the database sinks' connections (on
    /// SQLite this also moves the write-ahead log into the file). Every record queued before
    /// this call is written by then, so none that [`record`](Self::record) acknowledged is
    /// lost. A record queued after this fails and is counted like any failed write.
    pub async fn close(&self) {
        self.barrier(true).await;
    }

    /// How many sink writes have failed since start (one per record per failed sink).
    pub fn failures(&self) -> u64 {
        self.inner.counts.failures.load(Ordering::Relaxed)
    }

    /// Batches the writer has written since start: each is one transaction per database sink,
    /// however many records it held.
    pub fn batches(&self) -> u64 {
        self.inner.counts.batches.load(Ordering::Relaxed)
    }

    /// Records the writer has taken from the queue since start (written or failed).
    pub fn records_written(&self) -> u64 {
        self.inner.counts.records.load(Ordering::Relaxed)
    }

    /// Records waiting in the queue now.
    pub fn queue_depth(&self) -> usize {
        self.inner
            .queue
            .get()
            .map_or(0, |queue| queue.max_capacity() - queue.capacity())
    }

    async fn enqueue(&self, record: &AuditRecord, done: Option<Done>) -> Result<(), AuditError> {
        // Checked here so that one bad record never fails the batch it would share.
        if let Err(error) = super::timefmt::canonical(&record.at) {
            self.inner.counts.failures.fetch_add(1, Ordering::Relaxed);
            return Err(AuditError {
                failures: vec![("audit log".into(), error.to_string())],
            });
        }
        let message = Message::Record {
            record: Box::new(record.bounded().into_owned()),
            done,
        };
        let sent = match self.queue() {
            Some(queue) => queue.send(message).await.is_ok(),
            None => false,
        };
        if sent {
            Ok(())
        } else {
            self.inner.counts.failures.fetch_add(1, Ordering::Relaxed);
            Err(AuditError::closed())
        }
    }

    async fn barrier(&self, close: bool) {
        let Some(queue) = self.queue() else {
            return;
        };
        let (ack, acked) = oneshot::channel();
        if queue.send(Message::Barrier { ack, close }).await.is_ok() {
            // An error means the writer is gone, so nothing is left to wait for.
            let _ = acked.await;
        }
    }

    /// The writer's queue, starting the writer on first use. `None` outside a Tokio runtime,
    /// where there is nothing to run it on.
    fn queue(&self) -> Option<&mpsc::Sender<Message>> {
        if let Some(queue) = self.inner.queue.get() {
            return Some(queue);
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        Some(self.inner.queue.get_or_init(|| {
            let (queue, receiver) = mpsc::channel(writer::QUEUE_CAPACITY);
            runtime.spawn(writer::run(
                self.inner.sinks.clone(),
                self.inner.counts.clone(),
                receiver,
            ));
            queue
        }))
    }
}

/// Append one batch of JSON lines to a stdout or file sink, flushed before it returns.
pub(super) async fn write_lines(sink: &AuditSink, lines: &str) -> Result<(), String> {
    match sink {
        AuditSink::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(lines.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| e.to_string())
        }
        AuditSink::File(path) => {
            let (path, lines) = (path.clone(), lines.to_string());
            tokio::task::spawn_blocking(move || append_lines(&path, &lines))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())
        }
        AuditSink::Database(_) => Ok(()),
    }
}

/// The record as one JSON line, newline included. Characters that could drive a terminal or
/// reorder text are `\uXXXX` escapes ([`escape_json`]), so the line is safe to print and
/// decodes to the same record.
pub fn json_line(record: &AuditRecord) -> String {
    let line = serde_json::to_string(record).unwrap_or_else(|e| {
        serde_json::json!({
            "correlation_id": record.correlation_id,
            "error": format!("unserializable audit record: {e}"),
        })
        .to_string()
    });
    let mut line = escape_json(&line).into_owned();
    line.push('\n');
    line
}

/// Open (creating with mode 0600), append the lines, close. Opening per record lets log
/// rotation move the file away without a restart.
fn append_lines(path: &Path, lines: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(lines.as_bytes())?;
    file.flush()
}
