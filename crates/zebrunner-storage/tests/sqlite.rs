//! The backend suite on SQLite: a temporary file and an in-memory database.

// Test helpers may unwrap/expect/panic: clippy.toml only covers #[test] fns and #[cfg(test)].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::suite;
use zebrunner_storage::{Backend, Storage};

fn temp_url(dir: &tempfile::TempDir) -> String {
    // A directory that does not exist yet: connect creates it.
    Storage::default_sqlite_url(&dir.path().join("nested").join("data"))
}

async fn file_storage() -> (tempfile::TempDir, Storage) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::connect(&temp_url(&dir))
        .await
        .expect("open sqlite file");
    assert_eq!(storage.backend(), Backend::Sqlite);
    (dir, storage)
}

async fn memory_storage() -> Storage {
    let storage = Storage::connect("sqlite::memory:")
        .await
        .expect("open sqlite memory");
    assert_eq!(storage.backend(), Backend::Sqlite);
    storage
}

#[tokio::test]
async fn file_append_and_query() {
    let (_dir, storage) = file_storage().await;
    suite::append_and_query(&storage).await;
}

#[tokio::test]
async fn memory_append_and_query() {
    suite::append_and_query(&memory_storage().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn file_concurrent_appends() {
    let (_dir, storage) = file_storage().await;
    suite::concurrent_appends(&storage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_concurrent_appends() {
    suite::concurrent_appends(&memory_storage().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn file_replicas_migrate_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    suite::replicas_migrate_concurrently(&temp_url(&dir), Backend::Sqlite).await;
}

#[tokio::test]
async fn file_schema_state_is_read_without_changes() {
    let dir = tempfile::tempdir().unwrap();
    suite::schema_state_is_read_without_changes(&temp_url(&dir), Backend::Sqlite).await;
}

#[tokio::test]
async fn file_open_existing_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        Storage::open_existing(&temp_url(&dir))
            .await
            .unwrap()
            .is_none()
    );
    assert!(!dir.path().join("nested").exists());
}

#[tokio::test]
async fn memory_migrations_are_idempotent() {
    let storage = memory_storage().await;
    storage.migrate().await.unwrap();
    storage.migrate().await.unwrap();
    assert_eq!(
        storage.applied_migrations().await.unwrap(),
        [1, 2, 3, 4, 5, 6, 7, 8]
    );
}

#[tokio::test]
async fn file_database_sink() {
    let (_dir, storage) = file_storage().await;
    suite::database_sink(&storage).await;
}

#[tokio::test]
async fn memory_database_sink() {
    suite::database_sink(&memory_storage().await).await;
}

#[tokio::test]
async fn file_is_created_private_and_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let url = temp_url(&dir);
    let storage = Storage::connect(&url).await.unwrap();
    let path = dir.path().join("nested/data/zebrunner-mcp.db");
    assert!(path.exists(), "{url} creates {}", path.display());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // WAL mode leaves a -wal file next to the database while it is open.
    storage
        .append_audit(&common::record(
            "2026-05-01T00:00:00Z",
            "a",
            "t",
            zebrunner_storage::audit::Outcome::Ok,
        ))
        .await
        .unwrap();
    assert!(dir.path().join("nested/data/zebrunner-mcp.db-wal").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn file_server_secrets() {
    let dir = tempfile::tempdir().unwrap();
    suite::server_secrets(&temp_url(&dir)).await;
}

#[tokio::test]
async fn memory_server_secrets_are_made_once() {
    let storage = memory_storage().await;
    let key = storage.server_secret("cursor_hmac", 32).await.unwrap();
    assert_eq!(key.len(), 32);
    assert_eq!(
        *storage.server_secret("cursor_hmac", 32).await.unwrap(),
        *key
    );
    assert_ne!(*storage.server_secret("b", 32).await.unwrap(), *key);
}

#[tokio::test]
async fn memory_oversized_records_are_bounded() {
    suite::oversized_records_are_bounded(&memory_storage().await).await;
}

#[tokio::test]
async fn file_oversized_records_are_bounded() {
    let (_dir, storage) = file_storage().await;
    suite::oversized_records_are_bounded(&storage).await;
}

#[tokio::test]
async fn memory_user_filter_matches_old_and_namespaced_keys() {
    suite::user_filter_matches_old_and_namespaced_keys(&memory_storage().await).await;
}

mod vault {
    use super::*;
    use common::vault_suite;

    #[tokio::test]
    async fn file_vault_lifecycle() {
        let (_dir, storage) = file_storage().await;
        vault_suite::lifecycle(&vault_suite::Database::of(&storage)).await;
    }

    #[tokio::test]
    async fn memory_vault_lifecycle() {
        vault_suite::lifecycle(&vault_suite::Database::of(&memory_storage().await)).await;
    }

    #[tokio::test]
    async fn vault_bad_input_is_refused() {
        vault_suite::bad_input_is_refused(&vault_suite::Database::of(&memory_storage().await))
            .await;
    }

    #[tokio::test]
    async fn vault_records_are_bound_to_their_owner() {
        let dir = tempfile::tempdir().unwrap();
        vault_suite::records_are_bound_to_their_owner(
            &vault_suite::Database::at(&temp_url(&dir)).await,
        )
        .await;
    }

    #[tokio::test]
    async fn vault_rekey_in_resumable_batches() {
        let (_dir, storage) = file_storage().await;
        vault_suite::rekey_in_resumable_batches(&vault_suite::Database::of(&storage)).await;
    }

    #[tokio::test]
    async fn vault_rekey_reports_records_it_cannot_open() {
        vault_suite::rekey_reports_records_it_cannot_open(&vault_suite::Database::of(
            &memory_storage().await,
        ))
        .await;
    }

    /// The database file and its write-ahead log, byte for byte, hold no token: neither while
    /// the server runs (WAL not yet checkpointed) nor after it closed.
    #[tokio::test]
    async fn the_file_never_holds_a_token_in_plaintext() {
        let (dir, storage) = file_storage().await;
        vault_suite::lifecycle(&vault_suite::Database::of(&storage)).await;
        let data = dir.path().join("nested").join("data");
        let scan = |when: &str| {
            let mut saw_login = false;
            for entry in std::fs::read_dir(&data).unwrap() {
                let path = entry.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                for token in [vault_suite::ALICE_TOKEN, vault_suite::BOB_TOKEN, "zbr-new"] {
                    assert!(
                        !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                        "{when}: {} holds a token",
                        path.display()
                    );
                }
                saw_login |= bytes.windows(5).any(|w| w == b"alice");
            }
            // Logins are stored in the clear: proof that the scan read the records.
            assert!(
                saw_login,
                "{when}: no file holds the login; the scan read nothing"
            );
        };
        scan("open");
        storage.close().await;
        scan("closed");
    }
}

#[tokio::test]
async fn vault_due_for_validation() {
    common::vault_suite::due_for_validation(&common::vault_suite::Database::of(
        &memory_storage().await,
    ))
    .await;
}

#[tokio::test]
async fn leases() {
    common::vault_suite::leases(&memory_storage().await).await;
}

/// The authorization server's store on a SQLite file (several pooled connections, so the
/// concurrent cases really race), and the plain cases on an in-memory database too.
mod oauth {
    use super::*;
    use common::oauth_suite;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn file_oauth_pending_is_single_use_and_expires() {
        let (_dir, storage) = file_storage().await;
        oauth_suite::pending_is_single_use_and_expires(&storage).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn file_oauth_codes_are_single_use() {
        let (_dir, storage) = file_storage().await;
        oauth_suite::codes_are_single_use(&storage).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn file_oauth_refresh_tokens_rotate() {
        let (_dir, storage) = file_storage().await;
        oauth_suite::refresh_tokens_rotate(&storage).await;
    }

    #[tokio::test]
    async fn file_oauth_grants_are_listed_and_revoked() {
        let (_dir, storage) = file_storage().await;
        oauth_suite::grants_are_listed_and_revoked(&storage).await;
    }

    #[tokio::test]
    async fn file_oauth_consents() {
        let (_dir, storage) = file_storage().await;
        oauth_suite::consents(&storage).await;
    }

    #[tokio::test]
    async fn file_oauth_withdraw_takes_back_a_clients_grants_and_consent() {
        let (_dir, storage) = file_storage().await;
        oauth_suite::withdraw_takes_back_a_clients_grants_and_consent(&storage).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn file_oauth_signing_keys() {
        let (_dir, storage) = file_storage().await;
        oauth_suite::signing_keys(&storage).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn file_oauth_jti_replays_are_refused() {
        let (_dir, storage) = file_storage().await;
        oauth_suite::jti_replays_are_refused(&storage).await;
    }

    #[tokio::test]
    async fn file_oauth_clients_expire_without_live_grants() {
        let (_dir, storage) = file_storage().await;
        oauth_suite::clients_expire_without_live_grants(&storage).await;
    }

    #[tokio::test]
    async fn memory_oauth_pending_is_single_use_and_expires() {
        oauth_suite::pending_is_single_use_and_expires(&memory_storage().await).await;
    }

    #[tokio::test]
    async fn memory_oauth_refresh_tokens_rotate() {
        oauth_suite::refresh_tokens_rotate(&memory_storage().await).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn file_writer_batches_concurrent_records() {
    let (_dir, storage) = file_storage().await;
    suite::writer_batches_concurrent_records(&storage).await;
}

#[tokio::test]
async fn memory_writer_batches_concurrent_records() {
    suite::writer_batches_concurrent_records(&memory_storage().await).await;
}

#[tokio::test]
async fn file_writer_reports_a_failed_batch() {
    let (_dir, storage) = file_storage().await;
    suite::writer_reports_a_failed_batch(&storage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_writer_drains_on_close() {
    let dir = tempfile::tempdir().unwrap();
    suite::writer_drains_on_close(&temp_url(&dir)).await;
}
