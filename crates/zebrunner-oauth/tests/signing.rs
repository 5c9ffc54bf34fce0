//! Our signing keys end to end, in process: a token signed by [`SigningKeys`] validates with
//! the identity crate's validator on the same keys read as the database holds them (as
//! identity `broker` does), maps to the person's usual user key, and keeps validating after a
//! rotation; a tampered token, one for another audience and a key nobody sealed do not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use base64::Engine as _;
use serde_json::json;
use zebrunner_identity::{IssuerMetadata, LocalKeys, OidcConfig, OidcValidator};
use zebrunner_oauth::SigningKeys;
use zebrunner_storage::{Storage, oauth::OAuthStore};
use zebrunner_vault_crypto::KeyRing;

const ISSUER: &str = "http://127.0.0.1:9/";
const RESOURCE: &str = "http://127.0.0.1:9/mcp";
const DAY: i64 = 86_400;

/// A vault key ring of keys `k<byte>` (each 32 times that byte), the last one newest.
fn ring(bytes: &[u8]) -> Arc<KeyRing> {
    let entries: Vec<String> = bytes
        .iter()
        .map(|b| {
            format!(
                "k{b}:{}",
                base64::engine::general_purpose::STANDARD.encode([*b; 32])
            )
        })
        .collect();
    Arc::new(KeyRing::parse(&entries.join(",")).unwrap())
}

/// An empty OAuth store in a fresh SQLite file (keep the directory alive while it is used).
async fn store() -> (tempfile::TempDir, OAuthStore) {
    zebrunner_identity::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::connect(&Storage::default_sqlite_url(dir.path()))
        .await
        .unwrap();
    (dir, OAuthStore::new(storage))
}

fn local(keys: &Arc<SigningKeys>, at: i64) -> LocalKeys {
    let keys = keys.clone();
    Arc::new(move || {
        let keys = keys.clone();
        Box::pin(async move {
            keys.refresh(at).await.map_err(|e| e.to_string())?;
            serde_json::to_vec(&keys.jwks()).map_err(|e| e.to_string())
        })
    })
}

async fn validator(keys: LocalKeys) -> OidcValidator {
    let mut config = OidcConfig::new(ISSUER.trim_end_matches('/'), RESOURCE);
    config.algorithms = vec![zebrunner_identity::Algorithm::ES256];
    let metadata = IssuerMetadata::local(ISSUER);
    OidcValidator::with_local_keys(config, metadata, keys)
        .await
        .unwrap()
}

fn claims(aud: &str) -> serde_json::Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    json!({
        "iss": ISSUER.trim_end_matches('/'), "aud": aud, "sub": "alice@example.test", "uid": "00u1",
        "iat": now, "exp": now + 600, "cid": "dcr_x", "scp": ["zebrunner:read"], "groups": ["qa"],
    })
}

#[tokio::test]
async fn our_tokens_validate_on_our_published_keys_through_a_rotation() {
    let (_dir, store) = store().await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let keys = Arc::new(SigningKeys::new(
        store.clone(),
        ring(&[1]),
        ISSUER,
        30 * DAY,
        3600,
    ));
    keys.refresh(now).await.unwrap();
    let first_kid = keys.jwks()["keys"][0]["kid"].as_str().unwrap().to_owned();
    let token = keys.sign(&claims(RESOURCE)).unwrap();

    let check = validator(local(&keys, now)).await;
    let person = check.validate(&token).await.unwrap();
    assert_eq!(
        person.user_key, "uid:00u1",
        "the same user key as Okta's token gives"
    );
    assert_eq!(person.groups, ["qa"]);
    assert!(
        check
            .validate(&keys.sign(&claims("http://other/mcp")).unwrap())
            .await
            .is_err()
    );
    let mut tampered = token.clone();
    tampered.replace_range(token.len() - 4.., "AAAA");
    assert!(check.validate(&tampered).await.is_err());

    // Thirty days on, a refresh makes a new key; the old one stays published, so the token
    // it signed still validates, and new tokens carry the new key's id.
    let later = now + 30 * DAY + 60;
    keys.refresh(later).await.unwrap();
    let kids: Vec<String> = keys.jwks()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kids.len(), 2, "{kids:?}");
    assert!(kids.contains(&first_kid));
    let rotated = validator(local(&keys, later)).await;
    assert!(rotated.validate(&token).await.is_ok());
    let fresh = keys.sign(&claims(RESOURCE)).unwrap();
    assert!(rotated.validate(&fresh).await.is_ok());
    let header: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(fresh.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_ne!(header["kid"], first_kid.as_str());
    assert_eq!(header["typ"], "at+jwt");

    // A replica with other vault keys cannot open the sealed keys, and says so.
    let stranger = SigningKeys::new(store, ring(&[2]), ISSUER, 30 * DAY, 3600);
    let error = stranger.refresh(later).await.unwrap_err().to_string();
    assert!(error.contains("ZMCP_VAULT_KEYS"), "{error}");
}

#[tokio::test]
async fn vault_rekey_moves_the_signing_keys_to_the_newest_vault_key() {
    let (_dir, store) = store().await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (old_only, both, new_only) = (ring(&[1]), ring(&[1, 2]), ring(&[2]));
    let keys = |ring: &Arc<KeyRing>, issuer: &str| {
        SigningKeys::new(store.clone(), ring.clone(), issuer, 30 * DAY, 3600)
    };

    keys(&old_only, ISSUER).refresh(now).await.unwrap();
    // Before the rekey, the new key alone cannot open it.
    assert!(keys(&new_only, ISSUER).refresh(now).await.is_err());
    // Another issuer's binding does not open it either: reported, left alone.
    let (moved, failed) = keys(&both, "https://other.example")
        .rekey(now)
        .await
        .unwrap();
    assert_eq!((moved, failed.len()), (0, 1));
    assert_eq!(failed[0].vault_key, "k1", "says which vault key must stay");
    let (moved, failed) = keys(&both, ISSUER).rekey(now).await.unwrap();
    assert_eq!((moved, failed.len()), (1, 0));
    assert_eq!(
        keys(&both, ISSUER).rekey(now).await.unwrap().0,
        0,
        "done once"
    );
    let after = keys(&new_only, ISSUER);
    after.refresh(now).await.unwrap();
    assert!(
        after.sign(&claims(RESOURCE)).is_ok(),
        "the old vault key can go now"
    );
}
