//! `zebrunner-mcp audit prune`, the binary on SQLite (a data directory) and on the real
//! PostgreSQL server (`ZEBRUNNER_MCP_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`, in a schema of its own): the period from
//! `--older-than-days` or from `audit.retention_days`, `--dry-run`, and 0 ("keep forever")
//! refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::time::Duration;

use sqlx::Connection;
use zebrunner_storage::Storage;
use zebrunner_storage::audit::timefmt::format_canonical;
use zebrunner_storage::audit::{AuditFilter, AuditKind, AuditRecord, Outcome};

const POSTGRES_DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn record(days_ago: i64, id: &str) -> AuditRecord {
    AuditRecord {
        id: None,
        at: format_canonical(time::OffsetDateTime::now_utc() - time::Duration::days(days_ago)),
        correlation_id: id.into(),
        kind: AuditKind::ToolCall,
        user_key: Some("uid:00u1".into()),
        email: Some("jane@acme.com".into()),
        client_id: None,
        zebrunner_login: None,
        transport: "http".into(),
        tool: Some("get_test_case".into()),
        arguments: serde_json::json!({"key": "DEMO-1"}),
        zebrunner_requests: Vec::new(),
        outcome: Outcome::Ok,
        error_class: None,
        detail: None,
        latency_ms: 3,
    }
}

/// Records 400, 100 and 10 days old.
async fn fill(url: &str) {
    let storage = Storage::connect(url).await.unwrap();
    for (days, id) in [(400, "a-400"), (100, "b-100"), (10, "c-10")] {
        storage.append_audit(&record(days, id)).await.unwrap();
    }
    storage.close().await;
}

async fn left(url: &str) -> Vec<String> {
    let storage = Storage::connect(url).await.unwrap();
    let records = storage
        .query_audit(&AuditFilter {
            oldest_first: true,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    storage.close().await;
    records.into_iter().map(|r| r.correlation_id).collect()
}

/// `zebrunner-mcp audit prune <args>` with `env`; (success, stdout, stderr).
fn prune(env: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zebrunner-mcp"))
        .args(["audit", "prune"])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The same steps on either database; `env` points the command at it.
async fn prune_steps(url: &str, env: &[(&str, &str)]) {
    fill(url).await;
    let with = |extra: (&'static str, &'static str)| {
        let mut all = env.to_vec();
        all.push(extra);
        all
    };

    let (ok, out, err) = prune(env, &["--dry-run"]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with("1 audit records are older than 365 days"),
        "the default is a year: {out}"
    );
    assert_eq!(left(url).await.len(), 3, "a dry run deletes nothing");

    let (ok, out, err) = prune(&with(("ZMCP_AUDIT_RETENTION_DAYS", "0")), &[]);
    assert!(!ok && err.contains("--older-than-days"), "{out}{err}");

    let (ok, out, err) = prune(&with(("ZMCP_AUDIT_RETENTION_DAYS", "200")), &[]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with("deleted 1 audit records older than 200 days"),
        "{out}"
    );
    assert_eq!(left(url).await, ["b-100", "c-10"]);

    let (ok, out, err) = prune(env, &["--older-than-days", "30"]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with("deleted 1 audit records older than 30 days"),
        "{out}"
    );
    assert_eq!(left(url).await, ["c-10"]);

    let (ok, _, err) = prune(env, &["--older-than-days", "0"]);
    assert!(!ok, "0 days would delete everything: {err}");
}

#[tokio::test]
async fn prune_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = Storage::default_sqlite_url(dir.path());
    let data_dir = dir.path().to_str().unwrap();
    prune_steps(&url, &[("ZMCP_DATA_DIR", data_dir)]).await;
}

#[tokio::test]
async fn prune_on_postgres() {
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
                    "SKIPPED audit prune on PostgreSQL: it is not reachable at {base} ({error}) \
                     and ZEBRUNNER_MCP_SKIP_POSTGRES_TESTS=1 is set"
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
    let schema = format!("zmcp_prune_{}_{nanos:08x}", std::process::id());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
        .execute(&mut admin)
        .await
        .unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options[search_path]={schema}");
    let outcome = tokio::spawn({
        let url = url.clone();
        async move { prune_steps(&url, &[("ZMCP_DATABASE_URL", url.as_str())]).await }
    })
    .await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA \"{schema}\" CASCADE"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    let _ = admin.close().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}
