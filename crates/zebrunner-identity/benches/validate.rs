//! Validation cost per token with a warm key cache: RS256 (Okta's
//! algorithm) and ES256, against the test issuer of the integration tests.
//!
//! Run: `cargo bench -p zebrunner-identity`.

// Test helpers may unwrap/expect/panic: clippy.toml only covers #[test] fns and #[cfg(test)].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use support::*;
use zebrunner_identity::{Algorithm, OidcConfig, OidcValidator};

fn validate(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (rsa_key, ec_key) = (rsa("rsa-a"), ec());
    let (issuer, validator) = rt.block_on(async {
        let issuer = TestIssuer::start(&[&rsa_key, &ec_key]).await;
        let mut config = OidcConfig::new(issuer.issuer.clone(), AUDIENCE);
        config.algorithms = vec![Algorithm::RS256, Algorithm::ES256];
        let validator = OidcValidator::discover(config).await.unwrap();
        (issuer, validator)
    });
    let claims = issuer.okta_claims();
    let mut group = c.benchmark_group("validate_warm_cache");
    for (name, key) in [("RS256", &rsa_key), ("ES256", &ec_key)] {
        let token = encode(key, &claims);
        rt.block_on(validator.validate(&token))
            .expect("valid token");
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| validator.validate(&token))
        });
    }
    group.finish();
    assert_eq!(issuer.jwks_fetches(), 1, "the cache stayed warm");
}

criterion_group!(benches, validate);
criterion_main!(benches);
