//! The storage layer of zebrunner-mcp: one embedded SQLite file by default, PostgreSQL when
//! configured. It holds the audit log, the write-confirmation tokens and the server's own
//! secrets, the per-user credential vault, and the state of its own OAuth authorization server.
//!
//! # Layout
//!
//! - [`storage`] — [`Storage`], the connection pool for either backend, and URL handling
//!   (`sqlite:///abs/path.db`, `sqlite::memory:`, `postgres://...`).
//! - [`migrate`] — versioned, idempotent schema migrations, safe when several replicas start
//!   at once (a `BEGIN IMMEDIATE` write lock on SQLite, an advisory lock on PostgreSQL).
//! - [`audit`] — the audit record, its filter, the SQL that stores and queries it, the sinks
//!   ([`audit::AuditLog`]: database, stdout, file), argument redaction, the size bounds every
//!   sink applies, and the CSV / JSON lines / table renderings used by `zebrunner-mcp audit`
//!   (which never print control characters or bidi overrides).
//! - [`confirm`] — single-use write-confirmation tokens (hashes only) bound to the user, tool,
//!   arguments and planned request, consumed atomically.
//! - `sql` (private) — the query layer: statements written once with `?` placeholders
//!   (`sql!`, rewritten to `$n` for PostgreSQL at compile time) and run on either pool
//!   (`on_pool!`); its module docs say how to add a query.
//! - [`secrets`] — `server_secrets`: random keys made once and shared by every replica
//!   ([`Storage::server_secret`]), such as the pagination cursors' HMAC key.
//! - [`vault`] — the per-user credential vault: each person's Zebrunner login and API token,
//!   sealed by `zebrunner-vault-crypto` and bound to its owner; rekey in resumable batches.
//!   Two seams below it: where records live (`vault::store`; `vault_records` in
//!   `vault::database`, AWS Secrets Manager in `zebrunner-vault-aws`) and where the key ring
//!   comes from (`vault::keys`; in memory, or AWS KMS).
//! - [`lease`] — `leases`: which replica runs a periodic job now ([`Storage::try_lease`]).
//! - [`oauth`] — [`OAuthStore`], the state of the server's own OAuth 2.1 authorization server
//!   (`oauth_*`): registered clients, authorization requests in flight, single-use codes,
//!   rotating refresh tokens in revocable families, consents, sealed signing keys and seen JWT
//!   ids. Codes and tokens are stored only as SHA-256 hashes.
//! - `check` (private) — the bounds every typed store applies to the values it is given.
//! - [`error`] — [`StorageError`].
//!
//! Every table and column is described in `docs/storage.md`.

pub mod audit;
mod check;
pub mod confirm;
pub mod error;
pub mod lease;
pub mod migrate;
pub mod oauth;
pub mod secrets;
mod sql;
pub mod storage;
pub mod vault;

pub use error::StorageError;
pub use oauth::OAuthStore;
pub use storage::{Backend, Storage};

/// The future a boxed entry point returns (see [`Storage::connect`] for why some are boxed).
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// The platform's data directory plus `zebrunner-mcp` (for example
/// `~/.local/share/zebrunner-mcp` on Linux, `~/Library/Application Support/zebrunner-mcp` on
/// macOS). `ZMCP_DATA_DIR` is handled by the caller and takes precedence.
pub fn default_data_dir() -> Option<std::path::PathBuf> {
    platform_data_dir().map(|dir| dir.join("zebrunner-mcp"))
}

// Written here rather than taken from `dirs`, whose dependency tree carries
// MPL-2.0 code (see deny.toml).
fn platform_data_dir() -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    let absolute = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    if cfg!(windows) {
        absolute("APPDATA")
    } else if cfg!(target_os = "macos") {
        absolute("HOME").map(|home| home.join("Library/Application Support"))
    } else {
        absolute("XDG_DATA_HOME").or_else(|| absolute("HOME").map(|home| home.join(".local/share")))
    }
}
