//! [`AuditLog`]: writes each record to every configured [`AuditSink`] and counts failures.
//!
//! Stdout and file sinks write JSON lines (one record per line, flushed before `record`
//! returns) for log shippers. Do not use the stdout sink with the stdio transport: stdout is
//! the MCP channel there.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::AuditRecord;
use super::export::escape_json;
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
#[derive(Debug, thiserror::Error)]
#[error("audit record not written to {}", .failures.iter().map(|(s, e)| format!("{s}: {e}")).collect::<Vec<_>>().join("; "))]
pub struct AuditError {
    pub failures: Vec<(String, String)>,
}

/// The audit log: a set of sinks and a failure counter. Cheap to clone (shared state).
#[derive(Debug, Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    sinks: Vec<AuditSink>,
    failures: AtomicU64,
    /// Serializes line writes to stdout and files so lines never interleave.
    write_lock: tokio::sync::Mutex<()>,
    /// Held shared while a record is being written; [`AuditLog::close`] takes it exclusively,
    /// so it waits for every write in progress.
    writing: tokio::sync::RwLock<()>,
}

impl AuditLog {
    pub fn new(sinks: Vec<AuditSink>) -> Self {
        AuditLog {
            inner: Arc::new(Inner {
                sinks,
                failures: AtomicU64::new(0),
                write_lock: tokio::sync::Mutex::new(()),
                writing: tokio::sync::RwLock::new(()),
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

    /// Write `record` to every sink before returning, within the limits of
    /// [`AuditRecord::bounded`]. Every sink is attempted even if an earlier one failed; each
    /// failure is logged and counted, and any failure is an error.
    pub async fn record(&self, record: &AuditRecord) -> Result<(), AuditError> {
        let _writing = self.inner.writing.read().await;
        let record = &*record.bounded();
        let mut failures = Vec::new();
        let mut line = None;
        for sink in &self.inner.sinks {
            let result = match sink {
                AuditSink::Database(storage) => storage
                    .append_audit(record)
                    .await
                    .map_err(|e| e.to_string()),
                AuditSink::Stdout | AuditSink::File(_) => {
                    let line = line.get_or_insert_with(|| json_line(record));
                    self.write_line(sink, line).await
                }
            };
            if let Err(error) = result {
                self.inner.failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    sink = %sink.describe(),
                    correlation_id = %record.correlation_id,
                    %error,
                    "audit write failed"
                );
                failures.push((sink.describe(), error));
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(AuditError { failures })
        }
    }

    /// At shutdown: wait for the records being written to be stored, then close the database
    /// sinks' connections (on SQLite this also moves the write-ahead log into the file). Every
    /// record [`record`](Self::record) acknowledged is stored by then: the sinks write before
    /// they return, and there is no queue. A record written after this fails and is counted
    /// like any failed write.
    pub async fn close(&self) {
        let _all = self.inner.writing.write().await;
        for sink in &self.inner.sinks {
            if let AuditSink::Database(storage) = sink {
                storage.close().await;
            }
        }
    }

    /// How many sink writes have failed since start.
    pub fn failures(&self) -> u64 {
        self.inner.failures.load(Ordering::Relaxed)
    }

    async fn write_line(&self, sink: &AuditSink, line: &str) -> Result<(), String> {
        let _guard = self.inner.write_lock.lock().await;
        match sink {
            AuditSink::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(line.as_bytes())
                    .and_then(|()| out.flush())
                    .map_err(|e| e.to_string())
            }
            AuditSink::File(path) => {
                let (path, line) = (path.clone(), line.to_string());
                tokio::task::spawn_blocking(move || append_line(&path, &line))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())
            }
            AuditSink::Database(_) => Ok(()),
        }
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

/// Open (creating with mode 0600), append one line, close. Opening per record lets log
/// rotation move the file away without a restart.
fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(line.as_bytes())?;
    file.flush()
}
