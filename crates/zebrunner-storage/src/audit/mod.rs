//! The audit log: one [`AuditRecord`] per tool call and per authorization decision.
//!
//! - this file: the record, its filter and enums;
//! - [`bound`] — [`AuditRecord::bounded`]: the size limits every sink applies before writing;
//! - [`store`] — appending to and querying the `audit_log` table ([`crate::Storage`] methods);
//! - [`sink`] — [`AuditLog`], the handle calls record through, and its sinks (database, stdout,
//!   file as JSON lines);
//! - [`writer`] — the one task that writes them: a bounded queue and batches (group commit);
//! - [`redact`] — [`redact_arguments`], applied before a record is built;
//! - [`retention`] — deleting records past the retention period in bounded batches, and the
//!   periodic job `serve` runs;
//! - [`export`] — CSV, JSON lines and the compact table printed by `zebrunner-mcp audit`;
//! - [`timefmt`] — the canonical timestamp format and the parsing of `--since`/`--until`.

pub mod bound;
pub mod export;
pub mod redact;
pub mod retention;
pub mod sink;
pub mod store;
pub mod timefmt;
pub mod writer;

use serde::{Deserialize, Serialize};

pub use redact::redact_arguments;
pub use sink::{AuditError, AuditLog, AuditSink};
pub use timefmt::now_rfc3339;

/// One audited event. `arguments` must already be redacted ([`redact_arguments`]). Sinks
/// store it within the limits of [`bound`] ([`AuditRecord::bounded`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuditRecord {
    /// Assigned by the database; `None` before it is stored (and in stdout/file sinks).
    pub id: Option<i64>,
    /// RFC 3339 UTC with milliseconds, e.g. `2026-05-01T12:00:00.123Z` ([`now_rfc3339`]).
    pub at: String,
    /// Random per call/request; ties the record to log lines.
    pub correlation_id: String,
    pub kind: AuditKind,
    /// Stable user key, namespaced by the claim it came from: `uid:<uid>` (Okta), else
    /// `sub:<sub>`; `None` with identity `none`. Records written before the namespacing hold
    /// the bare uid or sub (they are not rewritten).
    pub user_key: Option<String>,
    pub email: Option<String>,
    /// OAuth client id (`cid`) of the calling application.
    pub client_id: Option<String>,
    /// The Zebrunner login the call acted as, with per-user credentials (vault, headers);
    /// `None` for the shared service account and for records before this field existed.
    #[serde(default)]
    pub zebrunner_login: Option<String>,
    /// `"stdio"` or `"http"`.
    pub transport: String,
    pub tool: Option<String>,
    /// The tool arguments, redacted.
    pub arguments: serde_json::Value,
    /// Calls made to Zebrunner while serving this one.
    pub zebrunner_requests: Vec<ZebrunnerRequest>,
    pub outcome: Outcome,
    /// Machine-readable class, e.g. `not_found`, `invalid_token`, `insufficient_scope`.
    pub error_class: Option<String>,
    /// Short human reason; never a secret.
    pub detail: Option<String>,
    pub latency_ms: u64,
}

/// What was audited.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    ToolCall,
    Authorization,
}

/// How it ended.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Error,
    Denied,
}

/// Requests of one kind made to Zebrunner during a call (`GET /test-cases/{id}` ×3).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ZebrunnerRequest {
    pub method: String,
    pub path: String,
    pub count: u32,
}

/// Which records [`crate::Storage::query_audit`] returns. Every field is optional; the default
/// returns everything, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    /// Matches a record whose `email` or `user_key` is this, and for a bare id (no `uid:` or
    /// `sub:` prefix) also `uid:` + this and `sub:` + this: a bare id finds a user's old
    /// bare-key rows and new namespaced ones, a namespaced key only rows with exactly that key.
    pub user: Option<String>,
    pub tool: Option<String>,
    /// Inclusive lower bound on `at` (RFC 3339 or `YYYY-MM-DD`).
    pub since: Option<String>,
    /// Exclusive upper bound on `at` (RFC 3339 or `YYYY-MM-DD`).
    pub until: Option<String>,
    pub outcome: Option<Outcome>,
    pub limit: Option<u32>,
    /// Oldest first (default: newest first).
    pub oldest_first: bool,
    /// Only records with a larger id (for following the log).
    pub after_id: Option<i64>,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::ToolCall => "tool_call",
            AuditKind::Authorization => "authorization",
        }
    }
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Denied => "denied",
        }
    }
}

impl std::str::FromStr for AuditKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "tool_call" => Ok(AuditKind::ToolCall),
            "authorization" => Ok(AuditKind::Authorization),
            other => Err(format!("unknown audit kind {other:?}")),
        }
    }
}

impl std::str::FromStr for Outcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "ok" => Ok(Outcome::Ok),
            "error" => Ok(Outcome::Error),
            "denied" => Ok(Outcome::Denied),
            other => Err(format!(
                "unknown outcome {other:?} (expected ok, error or denied)"
            )),
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for AuditKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
