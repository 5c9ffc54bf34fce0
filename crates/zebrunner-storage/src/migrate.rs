//! Versioned schema migrations, applied in order, each once, recorded in `schema_migrations`.
//!
//! Several replicas may start at the same moment against one database. On PostgreSQL the
//! migrator holds a session advisory lock ([`PG_MIGRATION_LOCK`]) while it reads and applies
//! migrations; on SQLite it runs inside `BEGIN IMMEDIATE`, which takes the database's write
//! lock up front (the others wait for it, up to the busy timeout). Either way the second
//! replica finds the work done.

use sqlx::Connection;

use crate::error::StorageError;
use crate::sql::{self, Sql, on_pool, sql};
use crate::storage::{Backend, Pool, Storage};

/// One schema change. DDL is written once per backend because column types differ
/// (`INTEGER`/`BIGINT`, `BLOB`/`BYTEA`, `TEXT`/`JSONB`); everything else goes through
/// the crate's one query layer (`src/sql.rs`).
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// Key of the PostgreSQL advisory lock taken while migrating ("zmcp" + 1).
pub const PG_MIGRATION_LOCK: i64 = 0x7a6d_6370_0000_0001;

/// Every migration, oldest first. Never edit a released one: append a new version.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "audit_log",
        sqlite: r#"
        CREATE TABLE audit_log (
            id                 INTEGER PRIMARY KEY AUTOINCREMENT,
            at                 TEXT    NOT NULL,
            correlation_id     TEXT    NOT NULL,
            kind               TEXT    NOT NULL,
            user_key           TEXT,
            email              TEXT,
            client_id          TEXT,
            transport          TEXT    NOT NULL,
            tool               TEXT,
            arguments          TEXT    NOT NULL,
            zebrunner_requests TEXT    NOT NULL,
            outcome            TEXT    NOT NULL,
            error_class        TEXT,
            detail             TEXT,
            latency_ms         INTEGER NOT NULL
        );
        CREATE INDEX audit_log_at ON audit_log (at);
        CREATE INDEX audit_log_user_key ON audit_log (user_key, at);
        CREATE INDEX audit_log_tool ON audit_log (tool, at);
    "#,
        postgres: r#"
        CREATE TABLE audit_log (
            id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at                 TEXT COLLATE "C" NOT NULL,
            correlation_id     TEXT   NOT NULL,
            kind               TEXT   NOT NULL,
            user_key           TEXT,
            email              TEXT,
            client_id          TEXT,
            transport          TEXT   NOT NULL,
            tool               TEXT,
            arguments          JSONB  NOT NULL,
            zebrunner_requests JSONB  NOT NULL,
            outcome            TEXT   NOT NULL,
            error_class        TEXT,
            detail             TEXT,
            latency_ms         BIGINT NOT NULL
        );
        CREATE INDEX audit_log_at ON audit_log (at);
        CREATE INDEX audit_log_user_key ON audit_log (user_key, at);
        CREATE INDEX audit_log_tool ON audit_log (tool, at);
    "#,
    },
    Migration {
        version: 2,
        name: "confirmation_tokens",
        sqlite: r#"
            CREATE TABLE confirmation_tokens (
                token_hash     TEXT    PRIMARY KEY,
                user_key       TEXT    NOT NULL,
                tool           TEXT    NOT NULL,
                arguments_hash TEXT    NOT NULL,
                created_at     INTEGER NOT NULL,
                expires_at     INTEGER NOT NULL,
                used           BOOLEAN NOT NULL DEFAULT FALSE
            );
            CREATE INDEX confirmation_tokens_expires_at ON confirmation_tokens (expires_at);
        "#,
        postgres: r#"
            CREATE TABLE confirmation_tokens (
                token_hash     TEXT    PRIMARY KEY,
                user_key       TEXT    NOT NULL,
                tool           TEXT    NOT NULL,
                arguments_hash TEXT    NOT NULL,
                created_at     BIGINT  NOT NULL,
                expires_at     BIGINT  NOT NULL,
                used           BOOLEAN NOT NULL DEFAULT FALSE
            );
            CREATE INDEX confirmation_tokens_expires_at ON confirmation_tokens (expires_at);
        "#,
    },
    Migration {
        version: 3,
        name: "server_secrets",
        sqlite: r#"
            CREATE TABLE server_secrets (
                name       TEXT PRIMARY KEY,
                value      BLOB NOT NULL,
                created_at TEXT NOT NULL
            );
        "#,
        postgres: r#"
            CREATE TABLE server_secrets (
                name       TEXT  PRIMARY KEY,
                value      BYTEA NOT NULL,
                created_at TEXT  NOT NULL
            );
        "#,
    },
    Migration {
        version: 4,
        name: "confirmation_plan_hash",
        // Tokens issued before this have an empty plan hash; a confirm that brings a real one
        // is told the plan changed and previews again.
        sqlite: "ALTER TABLE confirmation_tokens ADD COLUMN plan_hash TEXT NOT NULL DEFAULT ''",
        postgres: "ALTER TABLE confirmation_tokens ADD COLUMN plan_hash TEXT NOT NULL DEFAULT ''",
    },
    Migration {
        version: 5,
        name: "vault_records",
        sqlite: r#"
            CREATE TABLE vault_records (
                user_key          TEXT    PRIMARY KEY,
                zebrunner_url     TEXT    NOT NULL,
                login             TEXT    NOT NULL,
                key_id            TEXT    NOT NULL,
                nonce             BLOB    NOT NULL,
                ciphertext        BLOB    NOT NULL,
                revision          INTEGER NOT NULL,
                status            TEXT    NOT NULL,
                invalid_reason    TEXT,
                created_at        TEXT    NOT NULL,
                updated_at        TEXT    NOT NULL,
                last_used_at      TEXT,
                last_validated_at TEXT
            );
            CREATE INDEX vault_records_key_id ON vault_records (key_id);
        "#,
        postgres: r#"
            CREATE TABLE vault_records (
                user_key          TEXT COLLATE "C" PRIMARY KEY,
                zebrunner_url     TEXT   NOT NULL,
                login             TEXT   NOT NULL,
                key_id            TEXT   NOT NULL,
                nonce             BYTEA  NOT NULL,
                ciphertext        BYTEA  NOT NULL,
                revision          BIGINT NOT NULL,
                status            TEXT   NOT NULL,
                invalid_reason    TEXT,
                created_at        TEXT   NOT NULL,
                updated_at        TEXT   NOT NULL,
                last_used_at      TEXT,
                last_validated_at TEXT
            );
            CREATE INDEX vault_records_key_id ON vault_records (key_id);
        "#,
    },
    Migration {
        version: 6,
        name: "audit_zebrunner_login",
        sqlite: "ALTER TABLE audit_log ADD COLUMN zebrunner_login TEXT",
        postgres: "ALTER TABLE audit_log ADD COLUMN zebrunner_login TEXT",
    },
    Migration {
        version: 7,
        name: "leases",
        sqlite: r#"
            CREATE TABLE leases (
                name       TEXT    PRIMARY KEY,
                holder     TEXT    NOT NULL,
                expires_at INTEGER NOT NULL
            );
        "#,
        postgres: r#"
            CREATE TABLE leases (
                name       TEXT   PRIMARY KEY,
                holder     TEXT   NOT NULL,
                expires_at BIGINT NOT NULL
            );
        "#,
    },
    Migration {
        version: 8,
        name: "oauth",
        // The authorization server's state (`crate::oauth`). JSON documents are TEXT on both
        // backends: they are kept exactly as the caller wrote them (JSONB would reorder keys).
        // On PostgreSQL the keys listed in order use `COLLATE "C"` (byte order, as on SQLite),
        // so paging with `after` walks the same rows on both.
        sqlite: r#"
            CREATE TABLE oauth_clients (
                client_id    TEXT    PRIMARY KEY,
                kind         TEXT    NOT NULL,
                metadata     TEXT    NOT NULL,
                created_at   INTEGER NOT NULL,
                last_used_at INTEGER,
                expires_at   INTEGER
            );
            CREATE INDEX oauth_clients_expires_at ON oauth_clients (expires_at);
            CREATE TABLE oauth_pending (
                id_hash    TEXT    PRIMARY KEY,
                client_id  TEXT    NOT NULL,
                request    TEXT    NOT NULL,
                user_key   TEXT,
                identity   TEXT,
                expires_at INTEGER NOT NULL
            );
            CREATE INDEX oauth_pending_expires_at ON oauth_pending (expires_at);
            CREATE TABLE oauth_codes (
                code_hash      TEXT    PRIMARY KEY,
                client_id      TEXT    NOT NULL,
                user_key       TEXT    NOT NULL,
                identity       TEXT    NOT NULL,
                redirect_uri   TEXT    NOT NULL,
                code_challenge TEXT    NOT NULL,
                resource       TEXT    NOT NULL,
                scope          TEXT    NOT NULL,
                family_id      TEXT    NOT NULL,
                expires_at     INTEGER NOT NULL,
                used           BOOLEAN NOT NULL DEFAULT FALSE
            );
            CREATE INDEX oauth_codes_expires_at ON oauth_codes (expires_at);
            CREATE TABLE oauth_families (
                family_id      TEXT    PRIMARY KEY,
                client_id      TEXT    NOT NULL,
                user_key       TEXT    NOT NULL,
                created_at     INTEGER NOT NULL,
                revoked_at     INTEGER,
                revoked_reason TEXT
            );
            CREATE INDEX oauth_families_user_key ON oauth_families (user_key, client_id);
            CREATE INDEX oauth_families_client_id ON oauth_families (client_id);
            CREATE INDEX oauth_families_created_at ON oauth_families (created_at);
            CREATE INDEX oauth_families_revoked_at ON oauth_families (revoked_at);
            CREATE TABLE oauth_refresh (
                token_hash TEXT    PRIMARY KEY,
                family_id  TEXT    NOT NULL
                    REFERENCES oauth_families (family_id) ON DELETE CASCADE,
                client_id  TEXT    NOT NULL,
                user_key   TEXT    NOT NULL,
                identity   TEXT    NOT NULL,
                scope      TEXT    NOT NULL,
                resource   TEXT    NOT NULL,
                expires_at INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                rotated_at INTEGER
            );
            CREATE INDEX oauth_refresh_family_id ON oauth_refresh (family_id);
            CREATE INDEX oauth_refresh_expires_at ON oauth_refresh (expires_at);
            CREATE TABLE oauth_consents (
                user_key    TEXT    NOT NULL,
                client_id   TEXT    NOT NULL,
                scope       TEXT    NOT NULL,
                approved_at INTEGER NOT NULL,
                PRIMARY KEY (user_key, client_id)
            );
            CREATE TABLE oauth_signing_keys (
                kid          TEXT    PRIMARY KEY,
                alg          TEXT    NOT NULL,
                sealed       BLOB    NOT NULL,
                seal_key_id  TEXT    NOT NULL,
                nonce        BLOB    NOT NULL,
                public_jwk   TEXT    NOT NULL,
                created_at   INTEGER NOT NULL,
                retire_after INTEGER NOT NULL
            );
            CREATE INDEX oauth_signing_keys_created_at ON oauth_signing_keys (created_at);
            CREATE TABLE oauth_jti (
                issuer     TEXT    NOT NULL,
                jti        TEXT    NOT NULL,
                expires_at INTEGER NOT NULL,
                PRIMARY KEY (issuer, jti)
            );
            CREATE INDEX oauth_jti_expires_at ON oauth_jti (expires_at);
        "#,
        postgres: r#"
            CREATE TABLE oauth_clients (
                client_id    TEXT COLLATE "C" PRIMARY KEY,
                kind         TEXT    NOT NULL,
                metadata     TEXT    NOT NULL,
                created_at   BIGINT  NOT NULL,
                last_used_at BIGINT,
                expires_at   BIGINT
            );
            CREATE INDEX oauth_clients_expires_at ON oauth_clients (expires_at);
            CREATE TABLE oauth_pending (
                id_hash    TEXT    PRIMARY KEY,
                client_id  TEXT    NOT NULL,
                request    TEXT    NOT NULL,
                user_key   TEXT,
                identity   TEXT,
                expires_at BIGINT  NOT NULL
            );
            CREATE INDEX oauth_pending_expires_at ON oauth_pending (expires_at);
            CREATE TABLE oauth_codes (
                code_hash      TEXT    PRIMARY KEY,
                client_id      TEXT    NOT NULL,
                user_key       TEXT    NOT NULL,
                identity       TEXT    NOT NULL,
                redirect_uri   TEXT    NOT NULL,
                code_challenge TEXT    NOT NULL,
                resource       TEXT    NOT NULL,
                scope          TEXT    NOT NULL,
                family_id      TEXT    NOT NULL,
                expires_at     BIGINT  NOT NULL,
                used           BOOLEAN NOT NULL DEFAULT FALSE
            );
            CREATE INDEX oauth_codes_expires_at ON oauth_codes (expires_at);
            CREATE TABLE oauth_families (
                family_id      TEXT    PRIMARY KEY,
                client_id      TEXT    NOT NULL,
                user_key       TEXT    NOT NULL,
                created_at     BIGINT  NOT NULL,
                revoked_at     BIGINT,
                revoked_reason TEXT
            );
            CREATE INDEX oauth_families_user_key ON oauth_families (user_key, client_id);
            CREATE INDEX oauth_families_client_id ON oauth_families (client_id);
            CREATE INDEX oauth_families_created_at ON oauth_families (created_at);
            CREATE INDEX oauth_families_revoked_at ON oauth_families (revoked_at);
            CREATE TABLE oauth_refresh (
                token_hash TEXT    PRIMARY KEY,
                family_id  TEXT    NOT NULL
                    REFERENCES oauth_families (family_id) ON DELETE CASCADE,
                client_id  TEXT    NOT NULL,
                user_key   TEXT    NOT NULL,
                identity   TEXT    NOT NULL,
                scope      TEXT    NOT NULL,
                resource   TEXT    NOT NULL,
                expires_at BIGINT  NOT NULL,
                created_at BIGINT  NOT NULL,
                rotated_at BIGINT
            );
            CREATE INDEX oauth_refresh_family_id ON oauth_refresh (family_id);
            CREATE INDEX oauth_refresh_expires_at ON oauth_refresh (expires_at);
            CREATE TABLE oauth_consents (
                user_key    TEXT COLLATE "C" NOT NULL,
                client_id   TEXT COLLATE "C" NOT NULL,
                scope       TEXT    NOT NULL,
                approved_at BIGINT  NOT NULL,
                PRIMARY KEY (user_key, client_id)
            );
            CREATE TABLE oauth_signing_keys (
                kid          TEXT COLLATE "C" PRIMARY KEY,
                alg          TEXT    NOT NULL,
                sealed       BYTEA   NOT NULL,
                seal_key_id  TEXT    NOT NULL,
                nonce        BYTEA   NOT NULL,
                public_jwk   TEXT    NOT NULL,
                created_at   BIGINT  NOT NULL,
                retire_after BIGINT  NOT NULL
            );
            CREATE INDEX oauth_signing_keys_created_at ON oauth_signing_keys (created_at);
            CREATE TABLE oauth_jti (
                issuer     TEXT    NOT NULL,
                jti        TEXT    NOT NULL,
                expires_at BIGINT  NOT NULL,
                PRIMARY KEY (issuer, jti)
            );
            CREATE INDEX oauth_jti_expires_at ON oauth_jti (expires_at);
        "#,
    },
];

/// `schema_migrations` itself: DDL, so per backend.
const CREATE_SQLITE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";
const CREATE_POSTGRES: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";

const APPLIED: Sql = sql!("SELECT version FROM schema_migrations ORDER BY version");
const RECORD: Sql =
    sql!("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
const PG_LOCK: Sql = sql!("SELECT pg_advisory_lock(?)");
const PG_UNLOCK: Sql = sql!("SELECT pg_advisory_unlock(?)");

impl Migration {
    /// This migration's DDL for `backend`.
    pub fn ddl(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }
}

/// Create `schema_migrations`, then apply the missing migrations on `$conn` (inside the
/// caller's transaction, so a failed migration leaves nothing behind). A macro rather than a
/// generic function because sqlx's executor bounds for "a connection of either database" are
/// unwieldy; the body is still written once and compiled for each backend.
macro_rules! apply_missing {
    ($conn:expr, $backend:expr, $create:expr) => {{
        let backend: Backend = $backend;
        sqlx::raw_sql($create).execute(&mut *$conn).await?;
        let applied: Vec<i64> = sql::query_scalar(&APPLIED).fetch_all(&mut *$conn).await?;
        warn_if_newer(&applied);
        for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
            let fail = |source| StorageError::Migration {
                version: migration.version,
                name: migration.name,
                source,
            };
            sqlx::raw_sql(migration.ddl(backend))
                .execute(&mut *$conn)
                .await
                .map_err(fail)?;
            sql::query(&RECORD)
                .bind(migration.version)
                .bind(migration.name)
                .bind(crate::audit::now_rfc3339())
                .execute(&mut *$conn)
                .await
                .map_err(fail)?;
            tracing::info!(
                version = migration.version,
                name = migration.name,
                "database migrated"
            );
        }
    }};
}

impl Storage {
    /// Apply every migration not yet recorded. Idempotent; [`Storage::connect`] calls it.
    pub async fn migrate(&self) -> Result<(), StorageError> {
        // The locking differs (a write lock taken by `BEGIN IMMEDIATE`, an advisory lock);
        // what happens under the lock is `apply_missing!`, written once.
        match &self.pool {
            Pool::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
                apply_missing!(tx, Backend::Sqlite, CREATE_SQLITE);
                tx.commit().await?;
                Ok(())
            }
            Pool::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                sql::query(&PG_LOCK)
                    .bind(PG_MIGRATION_LOCK)
                    .execute(&mut *conn)
                    .await?;
                let result = async {
                    let mut tx = conn.begin().await?;
                    apply_missing!(tx, Backend::Postgres, CREATE_POSTGRES);
                    tx.commit().await?;
                    Ok::<(), StorageError>(())
                }
                .await;
                let unlock = sql::query(&PG_UNLOCK)
                    .bind(PG_MIGRATION_LOCK)
                    .execute(&mut *conn)
                    .await;
                if unlock.is_err() {
                    // The lock dies with the session: make sure this one is not reused.
                    conn.detach();
                }
                result
            }
        }
    }

    /// Versions recorded in `schema_migrations`, ascending.
    pub async fn applied_migrations(&self) -> Result<Vec<i64>, StorageError> {
        Ok(on_pool!(&self.pool, pool => {
            sql::query_scalar(&APPLIED).fetch_all(pool).await?
        }))
    }
}

/// Where a database's schema stands against the migrations this binary knows, read without
/// changing anything ([`Storage::schema_state`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaState {
    /// Versions recorded in `schema_migrations`, ascending; empty when the table does not
    /// exist yet (a database no server has started on).
    pub applied: Vec<i64>,
}

impl SchemaState {
    /// The newest version this binary knows.
    pub fn known(&self) -> i64 {
        MIGRATIONS.last().map_or(0, |m| m.version)
    }

    /// The newest version applied, 0 for none.
    pub fn version(&self) -> i64 {
        self.applied.last().copied().unwrap_or(0)
    }

    /// Migrations this binary would apply at start.
    pub fn pending(&self) -> Vec<&'static Migration> {
        MIGRATIONS
            .iter()
            .filter(|m| !self.applied.contains(&m.version))
            .collect()
    }

    /// Versions applied that this binary does not know: a newer zebrunner-mcp migrated it.
    pub fn unknown(&self) -> Vec<i64> {
        self.applied
            .iter()
            .copied()
            .filter(|v| !MIGRATIONS.iter().any(|m| m.version == *v))
            .collect()
    }
}

/// Whether `schema_migrations` exists: catalog queries, so per backend (no placeholders).
const HAS_SCHEMA_TABLE_SQLITE: &str =
    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";
const HAS_SCHEMA_TABLE_POSTGRES: &str = "SELECT COUNT(*) FROM pg_catalog.pg_tables \
     WHERE tablename = 'schema_migrations' AND schemaname = current_schema()";

impl Storage {
    /// The schema's state, read only: `schema_migrations` is not created when missing.
    pub async fn schema_state(&self) -> Result<SchemaState, StorageError> {
        let exists = match self.backend() {
            Backend::Sqlite => HAS_SCHEMA_TABLE_SQLITE,
            Backend::Postgres => HAS_SCHEMA_TABLE_POSTGRES,
        };
        let tables: i64 = on_pool!(&self.pool, pool => {
            sqlx::query_scalar(exists).fetch_one(pool).await?
        });
        let applied = if tables == 0 {
            Vec::new()
        } else {
            self.applied_migrations().await?
        };
        Ok(SchemaState { applied })
    }
}

fn warn_if_newer(applied: &[i64]) {
    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    if let Some(newest) = applied.iter().copied().max().filter(|v| *v > known) {
        tracing::warn!(
            database_version = newest,
            known_version = known,
            "the database schema is newer than this zebrunner-mcp; an older binary may misbehave"
        );
    }
}
