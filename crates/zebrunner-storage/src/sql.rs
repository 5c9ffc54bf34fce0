//! One query layer for SQLite and PostgreSQL: every statement's text, binding and row mapping
//! is written once.
//!
//! # Adding a query
//!
//! 1. Write the statement once, with `?` placeholders, as a constant:
//!
//!    ```ignore
//!    const FIND: Sql = sql!("SELECT value FROM server_secrets WHERE name = ?");
//!    ```
//!
//!    [`sql!`] keeps that text for SQLite and rewrites it to `$1..$n` for PostgreSQL at
//!    compile time. The text must not contain a literal `?` or `$` (not in a string literal,
//!    a quoted identifier, a comment, nor a PostgreSQL JSON operator such as `?|`): inside
//!    quotes that is a compile error, elsewhere it would be read as a placeholder. Bind such
//!    values instead. Stick to SQL both databases accept: `ON CONFLICT (...) DO NOTHING`,
//!    `CAST(x AS TEXT)`, `TRUE`/`FALSE`, `LIMIT ?` all work on both.
//!
//! 2. Run it inside [`on_pool!`], which expands the body once per backend with `pool` bound
//!    to that backend's pool, so binding and `try_get` mapping are written once and typed
//!    against both drivers:
//!
//!    ```ignore
//!    let value: Option<Vec<u8>> = on_pool!(&self.pool, pool => {
//!        sql::query(&FIND)
//!            .bind(name)
//!            .fetch_optional(pool)
//!            .await?
//!            .map(|row| row.try_get("value"))
//!            .transpose()?
//!    });
//!    ```
//!
//!    [`query`] and [`query_scalar`] pick the statement's text for the database the executor
//!    belongs to (a pool, `&mut *conn` or `&mut *tx`), inferred from `.execute(...)` /
//!    `.fetch_*(...)`.
//!
//! Column types: use ones both drivers decode to the same Rust type (`TEXT` → `String`,
//! `INTEGER`/`BIGINT` → `i64`, `BOOLEAN` → `bool`, `BLOB`/`BYTEA` → `Vec<u8>`); JSON columns
//! (`TEXT` on SQLite, `JSONB` on PostgreSQL) are written with [`sqlx::types::Json`] and read
//! as `CAST(column AS TEXT)`. Only DDL stays per backend (see [`crate::migrate`]); dynamic
//! statements use [`sqlx::QueryBuilder`] inside `on_pool!`, which numbers placeholders itself.

use sqlx::Database;
use sqlx::query::{Query, QueryScalar};

use crate::storage::Backend;

/// A statement in both dialects; build it with [`sql!`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sql {
    sqlite: &'static str,
    postgres: &'static str,
}

impl Sql {
    /// Used by [`sql!`]; `postgres` must be `sqlite` with `?` rewritten.
    #[doc(hidden)]
    pub(crate) const fn from_parts(sqlite: &'static str, postgres: &'static str) -> Sql {
        Sql { sqlite, postgres }
    }

    /// The statement's text for `backend`.
    pub(crate) const fn text(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }
}

/// A database this crate speaks: which text of a [`Sql`] it takes.
pub(crate) trait Dialect: Database {
    const BACKEND: Backend;
}

impl Dialect for sqlx::Sqlite {
    const BACKEND: Backend = Backend::Sqlite;
}

impl Dialect for sqlx::Postgres {
    const BACKEND: Backend = Backend::Postgres;
}

/// [`sqlx::query()`] with the text of `sql` for the executor's database.
pub(crate) fn query<'q, DB: Dialect>(sql: &Sql) -> Query<'q, DB, <DB as Database>::Arguments> {
    sqlx::query(sql.text(DB::BACKEND))
}

/// [`sqlx::query_scalar()`] with the text of `sql` for the executor's database.
pub(crate) fn query_scalar<'q, DB: Dialect, O>(
    sql: &Sql,
) -> QueryScalar<'q, DB, O, <DB as Database>::Arguments>
where
    (O,): for<'r> sqlx::FromRow<'r, DB::Row>,
{
    sqlx::query_scalar(sql.text(DB::BACKEND))
}

/// A [`Sql`] constant from text with `?` placeholders; the PostgreSQL text (`$1..$n`) is
/// computed at compile time, and a `?` inside quotes, a hand-written `$` or an unclosed
/// quote fails the build.
macro_rules! sql {
    ($text:expr) => {{
        const SQLITE: &str = $text;
        const CHECK: &str = $crate::sql::check(SQLITE);
        const _: () = assert!(CHECK.is_empty(), "{}", CHECK);
        const LEN: usize = $crate::sql::rewrite(SQLITE, &mut []);
        const BYTES: [u8; LEN] = {
            let mut out = [0u8; LEN];
            $crate::sql::rewrite(SQLITE, &mut out);
            out
        };
        const POSTGRES: &str = $crate::sql::utf8(&BYTES);
        const _: () = assert!(POSTGRES.len() == LEN, "sql!: the rewrite is not UTF-8");
        $crate::sql::Sql::from_parts(SQLITE, POSTGRES)
    }};
}
pub(crate) use sql;

/// Run `$body` against whichever pool `$pool` (a `&Pool`) holds, with `$name` bound to the
/// concrete `&SqlitePool` or `&PgPool`. The body is compiled once per backend, so it is
/// written once but type-checked against both drivers.
macro_rules! on_pool {
    ($pool:expr, $name:ident => $body:expr) => {
        match $pool {
            $crate::storage::Pool::Sqlite($name) => $body,
            $crate::storage::Pool::Postgres($name) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Why `sql` cannot be rewritten safely, or `""`. Scans outside and inside `'...'` and
/// `"..."` (a doubled quote closes and reopens, which reads the same).
#[doc(hidden)]
pub(crate) const fn check(sql: &str) -> &'static str {
    let bytes = sql.as_bytes();
    let mut quote = 0u8;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if quote != 0 {
            if c == quote {
                quote = 0;
            } else if c == b'?' {
                return "sql!: a literal `?` inside quotes would be rewritten; bind the value";
            }
        } else if c == b'\'' || c == b'"' {
            quote = c;
        } else if c == b'$' {
            return "sql!: write placeholders as `?`, not `$n`";
        }
        i += 1;
    }
    if quote != 0 {
        return "sql!: unclosed quote";
    }
    ""
}

/// Rewrite `?` outside quotes to `$1..$n` into `out` and return the rewritten length. Called
/// once with an empty `out` to size the buffer, then to fill it; bytes beyond `out` are
/// counted but not written, so this never indexes out of bounds.
#[doc(hidden)]
pub(crate) const fn rewrite(sql: &str, out: &mut [u8]) -> usize {
    let bytes = sql.as_bytes();
    let mut quote = 0u8;
    let (mut i, mut len, mut n) = (0, 0, 0usize);
    while i < bytes.len() {
        let c = bytes[i];
        if quote == 0 && c == b'?' {
            n += 1;
            if len < out.len() {
                out[len] = b'$';
            }
            len += 1;
            let digits = digits(n);
            let mut d = 0;
            while d < digits {
                if len + d < out.len() {
                    // Most significant digit first.
                    out[len + d] = b'0' + ((n / pow10(digits - 1 - d)) % 10) as u8;
                }
                d += 1;
            }
            len += digits;
        } else {
            if quote == 0 && (c == b'\'' || c == b'"') {
                quote = c;
            } else if quote != 0 && c == quote {
                quote = 0;
            }
            if len < out.len() {
                out[len] = c;
            }
            len += 1;
        }
        i += 1;
    }
    len
}

/// The rewritten bytes as text. Rewriting replaces ASCII `?` with ASCII and copies every other
/// byte, so valid UTF-8 stays valid; the empty fallback cannot happen, and [`sql!`] asserts at
/// compile time that it did not.
#[doc(hidden)]
pub(crate) const fn utf8(bytes: &'static [u8]) -> &'static str {
    match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => "",
    }
}

const fn digits(mut n: usize) -> usize {
    let mut count = 1;
    while n >= 10 {
        n /= 10;
        count += 1;
    }
    count
}

const fn pow10(exp: usize) -> usize {
    let mut value = 1;
    let mut i = 0;
    while i < exp {
        value *= 10;
        i += 1;
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn postgres(sql: &str) -> String {
        let mut out = vec![0u8; rewrite(sql, &mut [])];
        rewrite(sql, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn placeholders_are_numbered_in_order() {
        assert_eq!(postgres("SELECT 1"), "SELECT 1");
        assert_eq!(postgres(""), "");
        assert_eq!(
            postgres("UPDATE t SET a = ? WHERE b = ? AND c > ?"),
            "UPDATE t SET a = $1 WHERE b = $2 AND c > $3"
        );
        assert_eq!(postgres("VALUES (?,?)"), "VALUES ($1,$2)");
        assert_eq!(postgres("?"), "$1");
    }

    #[test]
    fn numbers_grow_past_one_digit() {
        let sql = vec!["?"; 120].join(",");
        let expected = (1..=120)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(postgres(&sql), expected);
    }

    #[test]
    fn text_outside_placeholders_is_copied_including_unicode_and_quotes() {
        assert_eq!(
            postgres("SELECT 'é', \"col\" FROM t WHERE x = ? -- ünï"),
            "SELECT 'é', \"col\" FROM t WHERE x = $1 -- ünï"
        );
        assert_eq!(
            postgres("SELECT 'it''s' WHERE a = ?"),
            "SELECT 'it''s' WHERE a = $1"
        );
    }

    #[test]
    fn unsafe_text_is_refused() {
        assert_eq!(check("SELECT a FROM t WHERE b = ? AND c = 'x'"), "");
        assert_eq!(check("SELECT 'it''s'"), "");
        assert!(check("SELECT 'why?'").contains("inside quotes"));
        assert!(check("SELECT \"odd?col\" FROM t").contains("inside quotes"));
        assert!(check("SELECT a FROM t WHERE b = $1").contains("not `$n`"));
        assert!(check("SELECT 'open").contains("unclosed"));
    }

    #[test]
    fn the_macro_builds_both_texts_at_compile_time() {
        const STATEMENT: Sql = sql!("DELETE FROM t WHERE a < ? AND b = ?");
        assert_eq!(
            STATEMENT.text(Backend::Sqlite),
            "DELETE FROM t WHERE a < ? AND b = ?"
        );
        assert_eq!(
            STATEMENT.text(Backend::Postgres),
            "DELETE FROM t WHERE a < $1 AND b = $2"
        );
        // Works from `concat!` too, for statements split over lines.
        const SPLIT: Sql = sql!(concat!("SELECT a ", "FROM t WHERE b = ?"));
        assert_eq!(
            SPLIT.text(Backend::Postgres),
            "SELECT a FROM t WHERE b = $1"
        );
    }
}
