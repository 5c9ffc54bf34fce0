//! The issuer's key set (JWKS), as the validator reads it: parsing, which keys are kept
//! (asymmetric, with a `kid`, not for encryption, a known `alg`), building verification keys
//! from their parameters, then verifying real tokens with whatever keys were built. Also the
//! JWKS response's `Cache-Control` lifetime, with the same bytes as the header value.
//!
//! Input: the JWKS document. Never panics: a document without a usable key is a `SetupError`.
#![no_main]

use std::sync::OnceLock;

use jsonwebtoken::Algorithm;
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use zebrunner_fuzz as fz;
use zebrunner_identity::CachePolicy;

/// Valid tokens for each test key (kid and algorithm), signed once.
fn tokens() -> &'static Vec<String> {
    static T: OnceLock<Vec<String>> = OnceLock::new();
    T.get_or_init(|| {
        let claims = json!({
            "iss": fz::ISSUER, "aud": fz::AUDIENCE, "sub": "jane.doe@acme.com", "uid": "00u1jane",
            "cid": "web-app", "scp": ["zebrunner:read"], "groups": ["qa"],
            "iat": 1_700_000_000i64, "exp": 4_102_444_800i64,
        });
        let payload = serde_json::to_vec(&claims).unwrap_or_default();
        let keys = fz::keys();
        [
            (&keys[0], Algorithm::RS256),
            (&keys[1], Algorithm::ES256),
            (&keys[2], Algorithm::EdDSA),
            (&keys[3], Algorithm::PS256),
        ]
        .into_iter()
        .filter_map(|(key, alg)| {
            let header = json!({"alg": alg, "kid": key.kid, "typ": "JWT"});
            fz::sign(&serde_json::to_vec(&header).ok()?, &payload, key, alg)
        })
        .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = CachePolicy::default().ttl(Some(&String::from_utf8_lossy(data)));
    let tokens = tokens();
    let config = fz::config(vec![
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ]);
    fz::block_on(async {
        let Ok(validator) = fz::validator(config, data.to_vec()).await else {
            return;
        };
        for token in tokens {
            let _ = validator.validate(token).await;
        }
    });
});
