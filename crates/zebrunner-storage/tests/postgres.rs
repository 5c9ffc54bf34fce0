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
async fn postgres_schema_state_is_read_without_changes() {
    with_postgres("schema_state", |url| async move {
        suite::schema_state_is_read_without_changes(&url, Backend::Postgres).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_writer_batches_concurrent_records() {
    with_postgres("writer_batches", |url| async move {
        let storage = connect(&url).await;
        suite::writer_batches_concurrent_records(&storage).await;
        storage.close().await;
    })
    .await;
}

#[tokio::test]
async fn postgres_writer_reports_a_failed_batch() {
    with_postgres("writer_failed_batch", |url| async move {
        suite::writer_reports_a_failed_batch(&connect(&url).await).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_writer_drains_on_close() {
    with_postgres("writer_drains", |url| async move {
        suite::writer_drains_on_close(&url).await;
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

mod vault {
    use super::*;
    use common::vault_suite;

    #[tokio::test]
    async fn postgres_vault_lifecycle() {
        with_postgres("vault_lifecycle", |url| async move {
            vault_suite::lifecycle(&vault_suite::Database::of(&connect(&url).await)).await;
        })
        .await;
    }

    #[tokio::test]
    async fn postgres_vault_bad_input_is_refused() {
        with_postgres("vault_bad_input", |url| async move {
            vault_suite::bad_input_is_refused(&vault_suite::Database::of(&connect(&url).await))
                .await;
        })
        .await;
    }

    #[tokio::test]
    async fn postgres_vault_records_are_bound_to_their_owner() {
        with_postgres("vault_bound", |url| async move {
            vault_suite::records_are_bound_to_their_owner(&vault_suite::Database::at(&url).await)
                .await;
        })
        .await;
    }

    #[tokio::test]
    async fn postgres_vault_rekey_in_resumable_batches() {
        with_postgres("vault_rekey", |url| async move {
            vault_suite::rekey_in_resumable_batches(&vault_suite::Database::of(
                &connect(&url).await,
            ))
            .await;
        })
        .await;
    }

    #[tokio::test]
    async fn postgres_vault_rekey_reports_records_it_cannot_open() {
        with_postgres("vault_rekey_fail", |url| async move {
            vault_suite::rekey_reports_records_it_cannot_open(&vault_suite::Database::of(
                &connect(&url).await,
            ))
            .await;
        })
        .await;
    }

    /// Every column of every row, as PostgreSQL renders the row, holds no token; and when
    /// this process can read the server's data directory (as on CI, where the server runs on
    /// the same machine), neither does the table's file on disk after a checkpoint.
    #[tokio::test]
    async fn postgres_table_never_holds_a_token_in_plaintext() {
        with_postgres("vault_plaintext", |url| async move {
            let storage = connect(&url).await;
            vault_suite::lifecycle(&vault_suite::Database::of(&storage)).await;
            let rows: Vec<String> = sqlx::query_scalar("SELECT CAST(t AS TEXT) FROM vault_records t")
                .fetch_all(&pg(&url).await)
                .await
                .unwrap();
            assert!(!rows.is_empty());
            for row in &rows {
                assert!(!row.contains(vault_suite::ALICE_TOKEN), "{row}");
                assert!(!row.contains("zbr-new"), "{row}");
            }
            let pool = pg(&url).await;
            sqlx::raw_sql("CHECKPOINT").execute(&pool).await.unwrap();
            let file: String = sqlx::query_scalar(
                "SELECT current_setting('data_directory') || '/' || pg_relation_filepath('vault_records')",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            match std::fs::read(&file) {
                Ok(bytes) => {
                    assert!(bytes.windows(5).any(|w| w == b"alice"), "{file}: the scan read no row");
                    for token in [vault_suite::ALICE_TOKEN, "zbr-new"] {
                        assert!(!bytes.windows(token.len()).any(|w| w == token.as_bytes()), "{file}");
                    }
                }
                Err(error) => eprintln!(
                    "note: {file} is not readable from here ({error}); checked the rows only"
                ),
            }
            storage.close().await;
        })
        .await;
    }

    async fn pg(url: &str) -> sqlx::PgPool {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn postgres_vault_due_for_validation() {
    with_postgres("vault_due", |url| async move {
        common::vault_suite::due_for_validation(&common::vault_suite::Database::of(
            &connect(&url).await,
        ))
        .await;
    })
    .await;
}

#[tokio::test]
async fn postgres_leases() {
    with_postgres("leases", |url| async move {
        common::vault_suite::leases(&connect(&url).await).await;
    })
    .await;
}

/// The authorization server's store, each test in its own schema.
mod oauth {
    use super::*;
    use common::oauth_suite;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_oauth_pending_is_single_use_and_expires() {
        with_postgres("oauth_pending", |url| async move {
            let storage = connect(&url).await;
            oauth_suite::pending_is_single_use_and_expires(&storage).await;
            storage.close().await;
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_oauth_codes_are_single_use() {
        with_postgres("oauth_codes", |url| async move {
            let storage = connect(&url).await;
            oauth_suite::codes_are_single_use(&storage).await;
            storage.close().await;
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_oauth_refresh_tokens_rotate() {
        with_postgres("oauth_refresh", |url| async move {
            let storage = connect(&url).await;
            oauth_suite::refresh_tokens_rotate(&storage).await;
            storage.close().await;
        })
        .await;
    }

    #[tokio::test]
    async fn postgres_oauth_grants_are_listed_and_revoked() {
        with_postgres("oauth_grants", |url| async move {
            let storage = connect(&url).await;
            oauth_suite::grants_are_listed_and_revoked(&storage).await;
            storage.close().await;
        })
        .await;
    }

    #[tokio::test]
    async fn postgres_oauth_consents() {
        with_postgres("oauth_consents", |url| async move {
            let storage = connect(&url).await;
            oauth_suite::consents(&storage).await;
            storage.close().await;
        })
        .await;
    }

    #[tokio::test]
    async fn postgres_oauth_withdraw_takes_back_a_clients_grants_and_consent() {
        with_postgres("oauth_withdraw", |url| async move {
            let storage = connect(&url).await;
            oauth_suite::withdraw_takes_back_a_clients_grants_and_consent(&storage).await;
            storage.close().await;
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_oauth_signing_keys() {
        with_postgres("oauth_keys", |url| async move {
            let storage = connect(&url).await;
            oauth_suite::signing_keys(&storage).await;
            storage.close().await;
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_oauth_jti_replays_are_refused() {
        with_postgres("oauth_jti", |url| async move {
            let storage = connect(&url).await;
            oauth_suite::jti_replays_are_refused(&storage).await;
            storage.close().await;
        })
        .await;
    }

    #[tokio::test]
    async fn postgres_oauth_clients_expire_without_live_grants() {
        with_postgres("oauth_clients", |url| async move {
            let storage = connect(&url).await;
            oauth_suite::clients_expire_without_live_grants(&storage).await;
            storage.close().await;
        })
        .await;
    }
}
