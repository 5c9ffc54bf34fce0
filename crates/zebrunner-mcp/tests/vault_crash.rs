//! Crash safety of the vault: `zebrunner-mcp vault` processes killed with SIGKILL while
//! storing tokens concurrently and while rekeying lose no acknowledged record and leave none
//! that does not decrypt. Each test runs on SQLite (a data directory) and on the real
//! PostgreSQL server (`ZEBRUNNER_MCP_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`), there in a schema of its own; with the `aws`
//! feature also on AWS Secrets Manager as moto implements it (`ZEBRUNNER_MCP_TEST_MOTO_URL`,
//! default http://127.0.0.1:5055; `scripts/moto start`), under a prefix of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use sqlx::Connection;
use zebrunner_storage::Storage;
use zebrunner_storage::vault::{NewCredential, Vault};
use zebrunner_vault_crypto::KeyRing;

const POSTGRES_DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The database a test runs on: SQLite in a data directory (the CLI finds it through
/// `ZMCP_DATA_DIR`), or PostgreSQL confined to one schema (through `ZMCP_DATABASE_URL`).
enum Db {
    Sqlite(tempfile::TempDir),
    Postgres(String),
    /// Records in Secrets Manager under `prefix`; the data directory holds the rest.
    #[cfg(feature = "aws")]
    SecretsManager {
        dir: tempfile::TempDir,
        prefix: String,
    },
}

#[derive(Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
    #[cfg(feature = "aws")]
    SecretsManager,
}

impl Db {
    fn url(&self) -> String {
        match self {
            Db::Sqlite(dir) => Storage::default_sqlite_url(dir.path()),
            Db::Postgres(url) => url.clone(),
            #[cfg(feature = "aws")]
            Db::SecretsManager { dir, .. } => Storage::default_sqlite_url(dir.path()),
        }
    }

    /// Records a test stores and rekeys: fewer where each costs several HTTP calls.
    fn records(&self) -> usize {
        match self {
            #[cfg(feature = "aws")]
            Db::SecretsManager { .. } => 120,
            _ => 400,
        }
    }

    /// Point a `zebrunner-mcp vault` command at this database.
    fn configure(&self, command: &mut Command) {
        match self {
            Db::Sqlite(dir) => command
                .env("ZMCP_DATA_DIR", dir.path())
                .env_remove("ZMCP_DATABASE_URL"),
            Db::Postgres(url) => command.env("ZMCP_DATABASE_URL", url),
            #[cfg(feature = "aws")]
            Db::SecretsManager { dir, prefix } => command
                .env("ZMCP_DATA_DIR", dir.path())
                .env_remove("ZMCP_DATABASE_URL")
                .env("ZMCP_VAULT_BACKEND", "aws-secrets-manager")
                .env("ZMCP_VAULT_AWS_SECRET_PREFIX", prefix)
                .env("AWS_ENDPOINT_URL", aws::moto_url()),
        };
    }
}

/// Run `body` on a fresh database of `backend`. A PostgreSQL schema is dropped afterwards,
/// even when the body panics. Without a reachable PostgreSQL the test fails, unless
/// `ZEBRUNNER_MCP_SKIP_POSTGRES_TESTS=1`, in which case it says it was skipped and passes.
async fn with_db<F, Fut>(backend: Backend, test: &str, body: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    if let Backend::Sqlite = backend {
        return body(Db::Sqlite(tempfile::tempdir().unwrap())).await;
    }
    #[cfg(feature = "aws")]
    if let Backend::SecretsManager = backend {
        let prefix = format!("zmcp-crash/{test}-{}/", std::process::id());
        let dir = tempfile::tempdir().unwrap();
        return body(Db::SecretsManager { dir, prefix }).await;
    }
    let base = std::env::var("ZEBRUNNER_MCP_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| POSTGRES_DEFAULT_URL.into());
    let probe = tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(&base))
        .await
        .unwrap_or(Err(sqlx::Error::PoolTimedOut));
    let mut admin = match probe {
        Ok(conn) => conn,
        Err(error) => {
            if std::env::var("ZEBRUNNER_MCP_SKIP_POSTGRES_TESTS").as_deref() == Ok("1") {
                eprintln!(
                    "SKIPPED vault_crash {test} on PostgreSQL: it is not reachable at {base} ({error}) and \
                     ZEBRUNNER_MCP_SKIP_POSTGRES_TESTS=1 is set"
                );
                return;
            }
            panic!(
                "PostgreSQL is required at {base} (start it with: pg_ctlcluster 15 main start; \
                 or set ZEBRUNNER_MCP_TEST_POSTGRES_URL, or ZEBRUNNER_MCP_SKIP_POSTGRES_TESTS=1 \
                 to skip): {error}"
            );
        }
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let schema = format!("zmcp_vc_{test}_{}_{nanos:08x}", std::process::id());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
        .execute(&mut admin)
        .await
        .expect("create the test schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options[search_path]={schema}");

    let outcome = tokio::spawn(body(Db::Postgres(url))).await;

    // The vault really went into the test schema (so parallel runs cannot collide).
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables \
         WHERE table_schema = $1 AND table_name = 'vault_records'",
    )
    .bind(&schema)
    .fetch_one(&mut admin)
    .await
    .expect("list the test schema's tables");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA \"{schema}\" CASCADE"
    )))
    .execute(&mut admin)
    .await
    .expect("drop the test schema");
    let _ = admin.close().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
    assert_eq!(tables, 1, "vault_records belongs in schema {schema}");
}

fn key(id: &str, byte: u8) -> String {
    use base64::Engine;
    format!(
        "{id}:{}",
        base64::engine::general_purpose::STANDARD.encode([byte; 32])
    )
}

fn vault_command(db: &Db, keys: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_zebrunner-mcp"));
    command.arg("vault").args(args);
    db.configure(&mut command);
    command
        .env("ZMCP_VAULT_KEYS", keys)
        .env("ZEBRUNNER_URL", "https://zebrunner.example.test")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

async fn open_vault(db: &Db, keys: &str) -> Vault {
    let storage = Storage::connect(&db.url()).await.unwrap();
    let ring = Arc::new(KeyRing::parse(keys).unwrap());
    #[cfg(feature = "aws")]
    if let Db::SecretsManager { prefix, .. } = db {
        return aws::vault(prefix, ring).await;
    }
    Vault::new(storage, ring)
}

/// Secrets Manager in moto, as the `vault` command reaches it.
#[cfg(feature = "aws")]
mod aws {
    use std::sync::Arc;

    use zebrunner_storage::vault::Vault;
    use zebrunner_storage::vault::keys::StaticKeys;
    use zebrunner_vault_aws::secrets::{SecretsManagerRecords, SecretsSettings};
    use zebrunner_vault_crypto::KeyRing;

    /// moto's URL; without it answering the test fails and says how to start it.
    pub fn moto_url() -> String {
        let url = std::env::var("ZEBRUNNER_MCP_TEST_MOTO_URL")
            .unwrap_or_else(|_| "http://127.0.0.1:5055".to_owned());
        let address = url.trim_start_matches("http://").trim_end_matches('/');
        let up = address.parse::<std::net::SocketAddr>().is_ok_and(|a| {
            std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_secs(2)).is_ok()
        });
        assert!(
            up,
            "the aws_ crash tests need moto at {url}: `scripts/moto start`, with \
             AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 (or set \
             ZEBRUNNER_MCP_TEST_MOTO_URL)"
        );
        url
    }

    pub async fn vault(prefix: &str, ring: Arc<KeyRing>) -> Vault {
        let sdk = zebrunner_vault_aws::sdk::load(&zebrunner_vault_aws::AwsSettings {
            endpoint_url: Some(moto_url()),
            ..Default::default()
        })
        .await;
        let records = SecretsManagerRecords::new(
            &sdk,
            SecretsSettings {
                prefix: prefix.to_owned(),
                recovery_window_days: 0,
            },
        )
        .unwrap();
        Vault::with(Arc::new(records), Arc::new(StaticKeys(ring)))
    }
}

fn token_of(i: usize) -> String {
    format!("zbr-crash-token-{i:04}")
}

#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread")]
async fn aws_secrets_manager_killed_registrations_lose_no_acknowledged_record() {
    with_db(
        Backend::SecretsManager,
        "registrations",
        killed_registrations,
    )
    .await;
}

#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread")]
async fn aws_secrets_manager_a_killed_rekey_leaves_every_record_readable_and_resumes() {
    with_db(Backend::SecretsManager, "rekey", killed_rekey).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_killed_registrations_lose_no_acknowledged_record() {
    with_db(Backend::Sqlite, "registrations", killed_registrations).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_killed_registrations_lose_no_acknowledged_record() {
    with_db(Backend::Postgres, "registrations", killed_registrations).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_a_killed_rekey_leaves_every_record_readable_and_resumes() {
    with_db(Backend::Sqlite, "rekey", killed_rekey).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_a_killed_rekey_leaves_every_record_readable_and_resumes() {
    with_db(Backend::Postgres, "rekey", killed_rekey).await;
}

async fn killed_registrations(db: Db) {
    let keys = key("k1", 1);
    // Make the database first, so every process races on writes, not on creating it.
    drop(open_vault(&db, &keys).await);
    let mut children: Vec<(usize, Child)> = Vec::new();
    for i in 0..24 {
        let user = format!("uid:crash{i:02}");
        let login = format!("user{i}@example.test");
        let mut child = vault_command(
            &db,
            &keys,
            &["put", "--user", &user, "--login", &login, "--no-verify"],
        )
        .spawn()
        .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(format!("{}\n", token_of(i)).as_bytes())
            .unwrap();
        drop(stdin);
        children.push((i, child));
    }
    // Kill every third one at once, wherever it is.
    for (i, child) in children.iter_mut() {
        if *i % 3 == 0 {
            let _ = child.kill();
        }
    }
    let mut acknowledged = Vec::new();
    for (i, mut child) in children {
        if child.wait().unwrap().success() {
            acknowledged.push(i);
        }
    }
    assert!(acknowledged.len() >= 16, "only {acknowledged:?} finished");

    let vault = open_vault(&db, &keys).await;
    for i in &acknowledged {
        let record = vault.get(&format!("uid:crash{i:02}")).await.unwrap();
        let record = record.unwrap_or_else(|| panic!("acknowledged record {i} is lost"));
        assert_eq!(record.token.expose_secret(), token_of(*i));
    }
    // Every record there is, acknowledged or not, opens.
    for meta in vault.list(None, 100).await.unwrap() {
        vault.get(&meta.user_key).await.unwrap().unwrap();
    }
}

async fn killed_rekey(db: Db) {
    let old = key("k1", 1);
    let both = format!("{old},{}", key("k2", 2));
    let vault = open_vault(&db, &old).await;
    let count = db.records();
    for i in 0..count {
        let token = SecretString::from(token_of(i));
        vault
            .put(&NewCredential {
                user_key: &format!("uid:r{i:04}"),
                zebrunner_url: "https://zebrunner.example.test",
                login: &format!("u{i}"),
                token: &token,
                validated: false,
            })
            .await
            .unwrap();
    }
    // Kill rekeys at growing delays until one is caught with work half done.
    let mut caught_midway = false;
    for delay_ms in [20u64, 40, 80, 160, 320, 640, 1280, 2560, 5120] {
        let mut child = vault_command(&db, &both, &["rekey", "--batch", "1"])
            .spawn()
            .unwrap();
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(delay_ms) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = child.kill();
        let _ = child.wait();
        let vault = open_vault(&db, &both).await;
        let records = vault.list(None, 1000).await.unwrap();
        assert_eq!(records.len(), count);
        let moved = records.iter().filter(|m| m.key_id == "k2").count();
        for (i, meta) in records.iter().enumerate() {
            let opened = vault.get(&meta.user_key).await.unwrap().unwrap();
            assert_eq!(
                opened.token.expose_secret(),
                token_of(i),
                "{}",
                meta.user_key
            );
        }
        if moved > 0 && moved < count {
            caught_midway = true;
            break;
        }
    }
    assert!(caught_midway, "no kill landed in the middle of a rekey");
    // Run to the end; then the old key can go.
    let status = vault_command(&db, &both, &["rekey"]).status().unwrap();
    assert!(status.success());
    let new_only = open_vault(&db, &key("k2", 2)).await;
    for (i, meta) in new_only.list(None, 1000).await.unwrap().iter().enumerate() {
        assert_eq!(meta.key_id, "k2");
        let opened = new_only.get(&meta.user_key).await.unwrap().unwrap();
        assert_eq!(opened.token.expose_secret(), token_of(i));
    }
}
