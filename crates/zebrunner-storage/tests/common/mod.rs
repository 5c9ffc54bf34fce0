//! Shared by the backend tests: record builders, the PostgreSQL harness, and the test bodies
//! that run unchanged on every backend (see `suite`).
#![allow(dead_code)]

pub mod oauth_suite;
pub mod suite;
pub mod vault_suite;

use std::future::Future;

use serde_json::json;
use sqlx::Connection;
use sqlx::postgres::PgPoolOptions;
use zebrunner_storage::audit::{AuditKind, AuditRecord, Outcome, ZebrunnerRequest};

/// A record at `at` by `user` calling `tool`.
pub fn record(at: &str, user: &str, tool: &str, outcome: Outcome) -> AuditRecord {
    AuditRecord {
        id: None,
        at: at.to_string(),
        correlation_id: format!("corr-{at}-{user}-{tool}"),
        kind: AuditKind::ToolCall,
        user_key: Some(format!("uid-{user}")),
        email: Some(format!("{user}@acme.com")),
        client_id: Some("claude-code".into()),
        zebrunner_login: Some(format!("{user}.zbr")),
        transport: "http".into(),
        tool: Some(tool.to_string()),
        arguments: json!({"project_key": "ABC", "case_key": "ABC-12", "query": "[redacted: 4 chars]",
                          "nested": {"ids": [1, 2, 3], "flag": true, "none": null}}),
        zebrunner_requests: vec![
            ZebrunnerRequest {
                method: "GET".into(),
                path: "/test-cases/{id}".into(),
                count: 3,
            },
            ZebrunnerRequest {
                method: "GET".into(),
                path: "/test-suites".into(),
                count: 1,
            },
        ],
        outcome,
        error_class: (outcome != Outcome::Ok).then(|| "not_found".to_string()),
        detail: (outcome != Outcome::Ok)
            .then(|| "no test case ABC-12, \"quoted\"; ünïcode".to_string()),
        latency_ms: 42,
    }
}

pub const POSTGRES_DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Run `body` with the URL of a fresh PostgreSQL schema (dropped afterwards, even when the
/// body panics). Without a reachable server the test fails, unless
/// `ZEBRUNNER_MCP_SKIP_POSTGRES_TESTS=1`, in which case it says it was skipped and passes.
pub async fn with_postgres<F, Fut>(test: &str, body: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let base = std::env::var("ZEBRUNNER_MCP_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| POSTGRES_DEFAULT_URL.into());
    // A plain connection first: it fails fast and says why (a pool only says "timed out").
    let probe = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        sqlx::PgConnection::connect(&base),
    )
    .await
    .unwrap_or(Err(sqlx::Error::PoolTimedOut));
    let admin = match probe {
        Ok(conn) => {
            let _ = conn.close().await;
            PgPoolOptions::new()
                .max_connections(2)
                .connect(&base)
                .await
                .expect("PostgreSQL answered once but not twice")
        }
        Err(error) => {
            if std::env::var("ZEBRUNNER_MCP_SKIP_POSTGRES_TESTS").as_deref() == Ok("1") {
                eprintln!(
                    "SKIPPED {test}: PostgreSQL is not reachable at {base} ({error}) and \
                     ZEBRUNNER_MCP_SKIP_POSTGRES_TESTS=1 is set"
                );
                return;
            }
            panic!(
                "PostgreSQL is required at {base} (start it with: pg_ctlcluster 15 main start; \
                 or set ZEBRUNNER_MCP_TEST_POSTGRES_URL, or ZEBRUNNER_MCP_SKIP_POSTGRES_TESTS=1 to skip): {error}"
            );
        }
    };
    let schema = format!(
        "zmcp_test_{}_{}_{:08x}",
        test,
        std::process::id(),
        rand::random::<u32>()
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
        .execute(&admin)
        .await
        .expect("create the test schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options[search_path]={schema}");

    let outcome = tokio::spawn(body(url)).await;

    // The tables really went into the test schema (so parallel runs cannot collide).
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 \
         AND table_name IN ('audit_log', 'schema_migrations')",
    )
    .bind(&schema)
    .fetch_one(&admin)
    .await
    .expect("list the test schema's tables");

    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA \"{schema}\" CASCADE"
    )))
    .execute(&admin)
    .await
    .expect("drop the test schema");
    admin.close().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
    assert_eq!(
        tables, 2,
        "audit_log and schema_migrations belong in schema {schema}"
    );
}
