//! The backend suite on the real PostgreSQL server (`ZEBRUNNER_MCP_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`), each test in its own schema.

// Test helpers may unwrap/expect/panic: clippy.toml only covers #[test] fns and #[cfg(test)].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{suite, with_postgres};
use zebrunner_storage::{Backend, Storage};

async fn connect(url: &str) -> Storage {
    let storage = Storage::connect(url).await.expect("open postgres");
    assert_eq!(storage.backend(), Backend::Postgres);
    storage
}

#[tokio::test]
async fn postgres_append_and_query() {
    with_postgres("append_and_query", |url| async move {
        let storage = connect(&url).await;
        suite::append_and_query(&storage).await;
        storage.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_appends() {
    with_postgres("concurrent_appends", |url| async move {
        let storage = connect(&url).await;
        suite::concurrent_appends(&storage).await;
        storage.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_replicas_migrate_concurrently() {
    with_postgres("replicas", |url| async move {
        suite::replicas_migrate_concurrently(&url, Backend::Postgres).await;
    })
    .await;
}

#[tokio::test]
async fn postgres_database_sink() {
    with_postgres("database_sink", |url| async move {
        suite::database_sink(&connect(&url).await).await;
    })
    .await;
}

#[tokio::test]
async fn postgres_connection_errors_hide_the_password() {
    let err = Storage::connect("postgres://app:hunter2@127.0.0.1:1/none?connect_timeout=2")
        .await
        .unwrap_err()
        .to_string();
    assert!(!err.contains("hunter2"), "{err}");
    assert!(err.contains("app:***@127.0.0.1:1"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_server_secrets() {
    with_postgres("server_secrets", |url| async move {
        suite::server_secrets(&url).await;
    })
    .await;
}

#[tokio::test]
async fn postgres_oversized_records_are_bounded() {
    with_postgres("oversized", |url| async move {
        let storage = connect(&url).await;
        suite::oversized_records_are_bounded(&storage).await;
        storage.close().await;
    })
    .await;
}

#[tokio::test]
async fn postgres_user_filter_matches_old_and_namespaced_keys() {
    with_postgres("user_filter", |url| async move {
        let storage = connect(&url).await;
        suite::user_filter_matches_old_and_namespaced_keys(&storage).await;
        storage.close().await;
    })
    .await;
}
