//! The error type of the storage layer.

/// Why a storage operation failed. Messages never contain a database password.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database URL has a scheme we do not support or cannot be parsed.
    #[error("unsupported database URL {url}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The database could not be opened or reached.
    #[error("cannot open the database at {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    /// Creating the directory for the SQLite file failed.
    #[error("cannot create the directory {path}: {source}")]
    CreateDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A schema migration failed.
    #[error("database migration {version} ({name}) failed: {source}")]
    Migration {
        version: i64,
        name: &'static str,
        #[source]
        source: sqlx::Error,
    },
    /// A value handed to the storage layer is malformed (for example a time that is not RFC 3339).
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
    /// A stored row could not be decoded.
    #[error("corrupt {what} in the database: {reason}")]
    Corrupt { what: &'static str, reason: String },
    /// The operating system's random number generator failed (making a server secret).
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Hide the password of a `postgres://user:password@host/db` URL for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    // Strip any query string too: it may carry `password=`.
    let tail = tail.split_once('?').map_or(tail, |(path, _)| path);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{tail}")
        }
        None => format!("{scheme}://{authority}{tail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.example:5432/zmcp?sslmode=require"),
            "postgres://app:***@db.example:5432/zmcp"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert_eq!(redact_url("postgres://h/db?password=x"), "postgres://h/db");
        assert_eq!(redact_url("sqlite::memory:"), "sqlite::memory:");
    }
}
