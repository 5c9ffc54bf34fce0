//! What identity `broker` costs per request: validating one of our access tokens (ES256,
//! signed by [`SigningKeys`], checked by the identity crate's validator on the local key
//! source, warm), and signing one (once per token request). Compare with Okta-style RS256 and
//! ES256 validation: `cargo bench -p zebrunner-identity` (docs/performance.md has both).
//!
//! Run: `cargo bench -p zebrunner-oauth`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use zebrunner_identity::{Algorithm, IssuerMetadata, LocalKeys, OidcConfig, OidcValidator};
use zebrunner_oauth::SigningKeys;
use zebrunner_storage::{Storage, oauth::OAuthStore};
use zebrunner_vault_crypto::KeyRing;

const ISSUER: &str = "https://mcp.example.com";
const RESOURCE: &str = "https://mcp.example.com/mcp";

fn tokens(c: &mut Criterion) {
    zebrunner_identity::install_crypto_provider();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (keys, validator) = rt.block_on(async {
        let storage = Storage::connect(&Storage::default_sqlite_url(dir.path()))
            .await
            .unwrap();
        let key = base64::engine::general_purpose::STANDARD.encode([5u8; 32]);
        let ring = Arc::new(KeyRing::parse(&format!("b:{key}")).unwrap());
        let keys = Arc::new(SigningKeys::new(
            OAuthStore::new(storage),
            ring,
            ISSUER,
            30 * 86_400,
            3600,
        ));
        keys.refresh(now).await.unwrap();
        let source = keys.clone();
        let local: LocalKeys = Arc::new(move || {
            let keys = source.clone();
            Box::pin(async move { serde_json::to_vec(&keys.jwks()).map_err(|e| e.to_string()) })
        });
        let mut config = OidcConfig::new(ISSUER, RESOURCE);
        config.algorithms = vec![Algorithm::ES256];
        let metadata = IssuerMetadata::local(ISSUER);
        let validator = OidcValidator::with_local_keys(config, metadata, local)
            .await
            .unwrap();
        (keys, validator)
    });
    let claims = json!({
        "iss": ISSUER, "aud": RESOURCE, "sub": "jane@acme.com", "uid": "00u1", "email": "jane@acme.com",
        "iat": now, "exp": now + 3600, "jti": "j", "cid": "dcr_x", "client_id": "dcr_x",
        "scp": ["zebrunner:read", "zebrunner:write"], "groups": ["qa", "admins"],
    });
    let token = keys.sign(&claims).unwrap();
    rt.block_on(validator.validate(&token))
        .expect("a valid token");

    let mut group = c.benchmark_group("broker_token");
    group.bench_function("validate_ES256_local_keys", |b| {
        b.to_async(&rt).iter(|| validator.validate(&token))
    });
    group.bench_function("sign_ES256", |b| b.iter(|| keys.sign(&claims).unwrap()));
    group.finish();
}

criterion_group!(benches, tokens);
criterion_main!(benches);
