//! [`Storage`]: a connection pool for SQLite or PostgreSQL, opened from a URL, migrated on open.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::BoxFuture;
use crate::error::{StorageError, redact_url};

/// How long a SQLite writer waits for another writer (another replica, `audit tail`).
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for a pooled connection (and for PostgreSQL to answer at all).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Which database a [`Storage`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// A migrated database, cheap to clone (the pool is shared).
#[derive(Clone, Debug)]
pub struct Storage {
    pub(crate) pool: Pool,
}

#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Storage {
    /// Open the database at `url` and bring its schema up to date.
    ///
    /// - `sqlite:///abs/path.db` (or `sqlite:relative/path.db`): the file and its directories
    ///   are created; WAL journal, a busy timeout, `synchronous=NORMAL`.
    /// - `sqlite::memory:`: a private in-memory database (one connection, lives with the pool).
    /// - `postgres://...` / `postgresql://...`: any libpq-style URL sqlx understands, e.g.
    ///   `?sslmode=require` or `?options[search_path]=zmcp`.
    ///
    /// The future is boxed (so are a few other entry points the binary and the server both
    /// await): an `async fn` body is compiled in every crate that polls it, and boxing here
    /// compiles the database drivers' connection code once, in this crate.
    pub fn connect(url: &str) -> BoxFuture<'_, Result<Storage, StorageError>> {
        Box::pin(Storage::connect_unboxed(url))
    }

    async fn connect_unboxed(url: &str) -> Result<Storage, StorageError> {
        let storage = if let Some(rest) = url.strip_prefix("sqlite:") {
            Storage::connect_sqlite(url, rest).await?
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Storage::connect_postgres(url).await?
        } else {
            return Err(StorageError::InvalidUrl {
                url: redact_url(url),
                reason: "expected sqlite:///path/to/file.db, sqlite::memory: or postgres://..."
                    .into(),
            });
        };
        storage.migrate().await?;
        Ok(storage)
    }

    /// Open the database at `url` as it is, for a check that must change nothing: no file or
    /// directory is created (a SQLite file that does not exist is `Ok(None)`), no migration is
    /// applied, no journal mode is set. Read its state with [`Storage::schema_state`]; the
    /// server's own [`Storage::connect`] is what creates and migrates.
    pub fn open_existing(url: &str) -> BoxFuture<'_, Result<Option<Storage>, StorageError>> {
        Box::pin(Storage::open_existing_unboxed(url))
    }

    async fn open_existing_unboxed(url: &str) -> Result<Option<Storage>, StorageError> {
        if let Some(rest) = url.strip_prefix("sqlite:") {
            if rest == ":memory:" || rest.starts_with(":memory:?") {
                // A private in-memory database: there is nothing to look at but a fresh one.
                return Storage::connect_sqlite(url, rest).await.map(Some);
            }
            let path = sqlite_path(rest).ok_or_else(|| StorageError::InvalidUrl {
                url: url.to_string(),
                reason: "no file name".into(),
            })?;
            if !path.exists() {
                return Ok(None);
            }
            let options = SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(false)
                .busy_timeout(SQLITE_BUSY_TIMEOUT);
            let pool = sqlite_pool(url, options, 1).await?;
            Ok(Some(Storage {
                pool: Pool::Sqlite(pool),
            }))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Storage::connect_postgres(url).await.map(Some)
        } else {
            Err(StorageError::InvalidUrl {
                url: redact_url(url),
                reason: "expected sqlite:///path/to/file.db, sqlite::memory: or postgres://..."
                    .into(),
            })
        }
    }

    /// `sqlite://` URL of the default database file in `data_dir`: `data_dir/zebrunner-mcp.db`.
    pub fn default_sqlite_url(data_dir: &Path) -> String {
        format!("sqlite://{}", data_dir.join("zebrunner-mcp.db").display())
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Close every pooled connection (optional; dropping the last clone also closes them).
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    /// Whether the database answers a trivial query (`SELECT 1`), for readiness probes. It
    /// waits for a pooled connection up to the pool's acquire timeout: bound it with your own.
    pub async fn ping(&self) -> Result<(), StorageError> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop)?,
            Pool::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop)?,
        }
        Ok(())
    }

    async fn connect_sqlite(url: &str, rest: &str) -> Result<Storage, StorageError> {
        let invalid = |reason: &str| StorageError::InvalidUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        if rest == ":memory:" || rest.starts_with(":memory:?") {
            let options = SqliteConnectOptions::from_str("sqlite::memory:")
                .map_err(|e| invalid(&e.to_string()))?;
            // Every connection to `:memory:` is a different database: keep exactly one, forever.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options)
                .await
                .map_err(|source| StorageError::Connect {
                    url: url.to_string(),
                    source,
                })?;
            return Ok(Storage {
                pool: Pool::Sqlite(pool),
            });
        }
        let path = sqlite_path(rest).ok_or_else(|| invalid("no file name"))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StorageError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = sqlite_pool(url, options, 4).await?;
        restrict_permissions(&path);
        Ok(Storage {
            pool: Pool::Sqlite(pool),
        })
    }

    async fn connect_postgres(url: &str) -> Result<Storage, StorageError> {
        let options = PgConnectOptions::from_str(url).map_err(|e| StorageError::InvalidUrl {
            url: redact_url(url),
            reason: e.to_string(),
        })?;
        // One plain connection first: a pool reports only "timed out", this says why.
        let probe = tokio::time::timeout(ACQUIRE_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)
            .and_then(|result| result)
            .map_err(|source| StorageError::Connect {
                url: redact_url(url),
                source,
            })?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|source| StorageError::Connect {
                url: redact_url(url),
                source,
            })?;
        Ok(Storage {
            pool: Pool::Postgres(pool),
        })
    }
}

/// A pool of at most `max` connections to the SQLite file `options` name.
///
/// Opening can fail with "database is locked" when another process opens the same new
/// file at the same moment: switching a new file to WAL takes an exclusive lock, and SQLite
/// answers that contention at once instead of through the busy handler. Such a connect is
/// retried for as long as a busy writer would be waited for ([`SQLITE_BUSY_TIMEOUT`]).
async fn sqlite_pool(
    url: &str,
    options: SqliteConnectOptions,
    max: u32,
) -> Result<sqlx::SqlitePool, StorageError> {
    let deadline = tokio::time::Instant::now() + SQLITE_BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(5);
    loop {
        let attempt = SqlitePoolOptions::new()
            .max_connections(max)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await;
        match attempt {
            Err(error) if is_sqlite_busy(&error) && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(200));
            }
            result => {
                return result.map_err(|source| StorageError::Connect {
                    url: url.to_string(),
                    source,
                });
            }
        }
    }
}

/// SQLITE_BUSY (5) or SQLITE_LOCKED (6), extended codes included.
fn is_sqlite_busy(error: &sqlx::Error) -> bool {
    let code = error
        .as_database_error()
        .and_then(|e| e.code())
        .and_then(|code| code.parse::<i32>().ok());
    matches!(code.map(|c| c & 0xff), Some(5 | 6))
}

/// The file path of a `sqlite:` URL without its scheme: `///abs/x.db` → `/abs/x.db`,
/// `//rel/x.db` and `rel/x.db` → relative paths; a `?query` is dropped.
fn sqlite_path(rest: &str) -> Option<PathBuf> {
    let rest = rest.split_once('?').map_or(rest, |(path, _)| path);
    let path = rest.strip_prefix("//").unwrap_or(rest);
    (!path.is_empty()).then(|| PathBuf::from(path))
}

/// The database holds e-mail addresses: keep it private to the service's user.
fn restrict_permissions(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in [
            path.to_path_buf(),
            PathBuf::from(format!("{}-wal", path.display())),
            PathBuf::from(format!("{}-shm", path.display())),
        ] {
            if file.exists() {
                let _ = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths() {
        assert_eq!(sqlite_path("///tmp/a.db"), Some(PathBuf::from("/tmp/a.db")));
        assert_eq!(sqlite_path("//data/a.db"), Some(PathBuf::from("data/a.db")));
        assert_eq!(sqlite_path("a.db?mode=rwc"), Some(PathBuf::from("a.db")));
        assert_eq!(sqlite_path("//"), None);
    }

    #[test]
    fn default_url_is_a_file_in_the_data_dir() {
        assert_eq!(
            Storage::default_sqlite_url(Path::new("/var/lib/zmcp")),
            "sqlite:///var/lib/zmcp/zebrunner-mcp.db"
        );
    }

    #[tokio::test]
    async fn unknown_schemes_are_refused() {
        let err = Storage::connect("mysql://x/y").await.unwrap_err();
        assert!(
            err.to_string().contains("unsupported database URL"),
            "{err}"
        );
    }
}
