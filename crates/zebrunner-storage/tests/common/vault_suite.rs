//! Vault test bodies that run unchanged on every backend: the database on SQLite and
//! PostgreSQL here, AWS Secrets Manager and AWS KMS keys in `zebrunner-vault-aws`'s tests
//! (which include this file), each through a [`Backend`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use zebrunner_storage::Storage;
use zebrunner_storage::vault::{NewCredential, RecordStatus, Vault, VaultError};
use zebrunner_vault_crypto::{KeyRing, OpenError};

pub type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a test's vault keeps its records and gets its keys.
pub trait Backend: Sync {
    /// A vault over this backend's records whose ring holds `keys` (id, byte repeated 32
    /// times), oldest first.
    fn vault<'a>(&'a self, keys: &'a [(&'a str, u8)]) -> Boxed<'a, Vault>;
    /// What someone with write access to the store does: copy `from`'s sealed token (key id,
    /// nonce, ciphertext) onto `to`'s record.
    fn copy_sealed<'a>(&'a self, from: &'a str, to: &'a str) -> Boxed<'a, ()>;
}

/// The database backend: records in `storage`, keys in memory. `url` reaches the same
/// database from a second connection (for tampering); `None` for an in-memory database.
pub struct Database {
    pub storage: Storage,
    pub url: Option<String>,
}

impl Database {
    pub fn of(storage: &Storage) -> Database {
        Database {
            storage: storage.clone(),
            url: None,
        }
    }

    pub async fn at(url: &str) -> Database {
        Database {
            storage: Storage::connect(url).await.unwrap(),
            url: Some(url.to_owned()),
        }
    }
}

impl Backend for Database {
    fn vault<'a>(&'a self, keys: &'a [(&'a str, u8)]) -> Boxed<'a, Vault> {
        Box::pin(async move { Vault::new(self.storage.clone(), ring(keys)) })
    }

    fn copy_sealed<'a>(&'a self, from: &'a str, to: &'a str) -> Boxed<'a, ()> {
        Box::pin(async move {
            let url = self
                .url
                .as_deref()
                .expect("tampering needs Database::at(url)");
            let statement = format!(
                "UPDATE vault_records SET \
                 key_id = (SELECT key_id FROM vault_records WHERE user_key = '{from}'), \
                 nonce = (SELECT nonce FROM vault_records WHERE user_key = '{from}'), \
                 ciphertext = (SELECT ciphertext FROM vault_records WHERE user_key = '{from}') \
                 WHERE user_key = '{to}'"
            );
            raw_execute(&self.storage, url, &statement).await;
        })
    }
}

/// A token distinctive enough to search raw bytes for.
pub const ALICE_TOKEN: &str = "zbr-ALICE-0123456789abcdefTOKEN";
pub const BOB_TOKEN: &str = "zbr-BOB-9876543210fedcbaTOKEN";

pub fn ring(entries: &[(&str, u8)]) -> Arc<KeyRing> {
    use base64::Engine;
    let list: Vec<String> = entries
        .iter()
        .map(|(id, b)| {
            format!(
                "{id}:{}",
                base64::engine::general_purpose::STANDARD.encode([*b; 32])
            )
        })
        .collect();
    Arc::new(KeyRing::parse(&list.join(",")).unwrap())
}

fn new<'a>(user: &'a str, login: &'a str, token: &'a SecretString) -> NewCredential<'a> {
    NewCredential {
        user_key: user,
        zebrunner_url: "https://acme.zebrunner.com",
        login,
        token,
        validated: true,
    }
}

/// Put, get, replace, list, mark and delete, as the CLI and the server use them.
pub async fn lifecycle(backend: &impl Backend) {
    let vault = backend.vault(&[("k1", 1)]).await;
    let alice = SecretString::from(ALICE_TOKEN);
    assert!(vault.get("uid:alice").await.unwrap().is_none());

    let meta = vault.put(&new("uid:alice", "alice", &alice)).await.unwrap();
    assert_eq!(meta.revision, 1);
    assert_eq!(meta.status, RecordStatus::Active);
    assert_eq!(meta.key_id, "k1");
    assert!(meta.last_validated_at.is_some() && meta.last_used_at.is_none());

    let got = vault.get("uid:alice").await.unwrap().unwrap();
    assert_eq!(got.token.expose_secret(), ALICE_TOKEN);
    assert_eq!(got.meta.login, "alice");
    assert!(
        vault
            .metadata("uid:alice")
            .await
            .unwrap()
            .unwrap()
            .last_used_at
            .is_some()
    );
    assert!(!format!("{got:?}").contains(ALICE_TOKEN));

    // Zebrunner refuses revision 1; a stale verdict about another revision changes nothing.
    assert!(!vault.mark_invalid("uid:alice", 7, "stale").await.unwrap());
    assert!(
        vault
            .mark_invalid("uid:alice", 1, "401 from IAM\u{1b}[31m")
            .await
            .unwrap()
    );
    let meta = vault.metadata("uid:alice").await.unwrap().unwrap();
    assert_eq!(
        meta.status,
        RecordStatus::Invalid {
            reason: "401 from IAM[31m".into()
        }
    );

    // Replacing the token makes it active again under a new revision; created_at stays.
    let replaced = vault
        .put(&new("uid:alice", "alice", &SecretString::from("zbr-new")))
        .await
        .unwrap();
    assert_eq!(replaced.revision, 2);
    assert_eq!(replaced.status, RecordStatus::Active);
    assert_eq!(replaced.created_at, meta.created_at);
    assert!(vault.mark_validated("uid:alice", 2).await.unwrap());
    assert!(
        !vault
            .mark_invalid("uid:alice", 1, "late verdict")
            .await
            .unwrap()
    );
    assert_eq!(
        vault.metadata("uid:alice").await.unwrap().unwrap().status,
        RecordStatus::Active
    );

    let bob = SecretString::from(BOB_TOKEN);
    vault.put(&new("uid:bob", "bob", &bob)).await.unwrap();
    let first = vault.list(None, 1).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].user_key, "uid:alice");
    let rest = vault.list(Some("uid:alice"), 10).await.unwrap();
    assert_eq!(
        rest.iter().map(|m| m.user_key.as_str()).collect::<Vec<_>>(),
        ["uid:bob"]
    );

    assert!(vault.delete("uid:bob").await.unwrap());
    assert!(!vault.delete("uid:bob").await.unwrap());
    assert!(vault.get("uid:bob").await.unwrap().is_none());
}

/// Bad input is refused with a message that never repeats the token, and nothing stored
/// is touched.
pub async fn bad_input_is_refused(backend: &impl Backend) {
    let vault = backend.vault(&[("k1", 1)]).await;
    let good = SecretString::from(ALICE_TOKEN);
    vault.put(&new("uid:alice", "alice", &good)).await.unwrap();
    for (user, login, token) in [
        ("", "alice", ALICE_TOKEN),
        ("uid:alice", "", ALICE_TOKEN),
        ("uid:alice", "al\u{7}ice", ALICE_TOKEN),
        ("uid:alice", "alice", ""),
        ("uid:alice", "alice", "zbr secret with spaces"),
    ] {
        let token = SecretString::from(token);
        let err = vault.put(&new(user, login, &token)).await.unwrap_err();
        assert!(matches!(err, VaultError::Invalid { .. }), "{err}");
        assert!(!err.to_string().contains("secret with"), "{err}");
    }
    let kept = vault.get("uid:alice").await.unwrap().unwrap();
    assert_eq!(kept.token.expose_secret(), ALICE_TOKEN);
    assert_eq!(kept.meta.revision, 1);
}

/// A record copied onto another user does not open; a ring without the sealing key says
/// which key is missing.
pub async fn records_are_bound_to_their_owner(backend: &impl Backend) {
    let vault = backend.vault(&[("k1", 1)]).await;
    vault
        .put(&new("uid:alice", "alice", &SecretString::from(ALICE_TOKEN)))
        .await
        .unwrap();
    vault
        .put(&new(
            "uid:mallory",
            "mallory",
            &SecretString::from("zbr-mallory"),
        ))
        .await
        .unwrap();
    // Mallory, with write access to the store, copies Alice's sealed token onto her record.
    backend.copy_sealed("uid:alice", "uid:mallory").await;
    let err = vault.get("uid:mallory").await.unwrap_err();
    assert!(
        matches!(
            err,
            VaultError::Open {
                source: OpenError::Corrupt,
                ..
            }
        ),
        "{err}"
    );
    let other_ring = backend.vault(&[("k9", 9)]).await;
    let err = other_ring.get("uid:alice").await.unwrap_err().to_string();
    assert!(
        err.contains("\"k1\"") && err.contains("ZMCP_VAULT_KEYS"),
        "{err}"
    );
}

/// Rotate: add a key, rekey in batches of two with a stop in the middle, and every record
/// opens with the new ring, on the new key.
pub async fn rekey_in_resumable_batches(backend: &impl Backend) {
    let old = backend.vault(&[("k1", 1)]).await;
    for i in 0..5 {
        let token = SecretString::from(format!("zbr-user{i}-token"));
        old.put(&new(&format!("uid:u{i}"), &format!("u{i}"), &token))
            .await
            .unwrap();
    }
    let rotated = backend.vault(&[("k1", 1), ("k2", 2)]).await;
    let first = rotated.rekey_batch(None, 2).await.unwrap();
    assert_eq!(first.resealed, 2);
    assert_eq!(first.next.as_deref(), Some("uid:u1"));
    // A "crash" here: a new process starts over from the beginning and finds less to do.
    let mut after: Option<String> = None;
    let mut resealed = 0;
    loop {
        let batch = rotated.rekey_batch(after.as_deref(), 2).await.unwrap();
        assert!(batch.failed.is_empty(), "{:?}", batch.failed);
        resealed += batch.resealed;
        match batch.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(resealed, 3);
    let done = rotated.rekey_batch(None, 2).await.unwrap();
    assert_eq!((done.resealed, done.next), (0, None));
    // Only the new key is needed now.
    let new_only = backend.vault(&[("k2", 2)]).await;
    for i in 0..5 {
        let got = new_only.get(&format!("uid:u{i}")).await.unwrap().unwrap();
        assert_eq!(got.token.expose_secret(), format!("zbr-user{i}-token"));
        assert_eq!(got.meta.key_id, "k2");
    }
}

/// A record that opens with no key of the ring is reported and left alone; the others move.
pub async fn rekey_reports_records_it_cannot_open(backend: &impl Backend) {
    backend
        .vault(&[("lost", 7)])
        .await
        .put(&new("uid:a", "a", &SecretString::from("zbr-a")))
        .await
        .unwrap();
    backend
        .vault(&[("k1", 1)])
        .await
        .put(&new("uid:b", "b", &SecretString::from("zbr-b")))
        .await
        .unwrap();
    let rotated = backend.vault(&[("k1", 1), ("k2", 2)]).await;
    let batch = rotated.rekey_batch(None, 100).await.unwrap();
    assert_eq!(batch.resealed, 1);
    assert_eq!(batch.failed.len(), 1);
    assert_eq!(batch.failed[0].0, "uid:a");
    assert_eq!(
        rotated.metadata("uid:a").await.unwrap().unwrap().key_id,
        "lost"
    );
}

/// Run one statement on whichever backend `storage` is (test-only tampering).
async fn raw_execute(storage: &Storage, url: &str, statement: &str) {
    let url = url.to_string();
    match storage.backend() {
        zebrunner_storage::Backend::Sqlite => {
            use sqlx::Connection;
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_string()))
                .execute(&mut conn)
                .await
                .unwrap();
        }
        zebrunner_storage::Backend::Postgres => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_string()))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
}

/// Records never checked, or checked before the cut-off, are due; invalid ones are not.
pub async fn due_for_validation(backend: &impl Backend) {
    let vault = backend.vault(&[("k1", 1)]).await;
    for (user, validated) in [("uid:a", true), ("uid:b", false), ("uid:c", true)] {
        let token = SecretString::from(format!("zbr-{user}"));
        let mut record = new(user, "x", &token);
        record.validated = validated;
        vault.put(&record).await.unwrap();
    }
    vault.mark_invalid("uid:c", 1, "401").await.unwrap();
    let due = |before: &'static str| {
        let vault = vault.clone();
        async move {
            vault
                .due_for_validation(None, before, 10)
                .await
                .unwrap()
                .into_iter()
                .map(|m| m.user_key)
                .collect::<Vec<_>>()
        }
    };
    // Long ago: only the never-checked one. Far ahead: every active one.
    assert_eq!(due("2000-01-01T00:00:00.000Z").await, ["uid:b"]);
    assert_eq!(due("2999-01-01T00:00:00.000Z").await, ["uid:a", "uid:b"]);
}

/// One holder at a time; the holder renews; an expired lease goes to the next taker.
pub async fn leases(storage: &Storage) {
    assert!(storage.try_lease("job", "r1", 1000, 60).await.unwrap());
    assert!(!storage.try_lease("job", "r2", 1010, 60).await.unwrap());
    assert!(
        storage.try_lease("job", "r1", 1050, 60).await.unwrap(),
        "renewal"
    );
    assert!(
        !storage.try_lease("job", "r2", 1100, 60).await.unwrap(),
        "renewed until 1110"
    );
    assert!(
        storage.try_lease("job", "r2", 1110, 60).await.unwrap(),
        "expired"
    );
    assert!(
        storage.try_lease("other", "r1", 1110, 60).await.unwrap(),
        "per name"
    );
}
