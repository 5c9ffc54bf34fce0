//! The JWKS cache against a live test issuer: key rotation, the refetch
//! rate limit, shared concurrent refetches, Cache-Control lifetimes, and
//! stale keys while the issuer is down.

// Test helpers may unwrap/expect/panic: clippy.toml only covers #[test] fns and #[cfg(test)].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;
use zebrunner_identity::{CachePolicy, OidcConfig, OidcValidator, TokenError};

async fn validator(issuer: &TestIssuer, policy: CachePolicy) -> OidcValidator {
    OidcValidator::discover_with_policy(OidcConfig::new(issuer.issuer.clone(), AUDIENCE), policy)
        .await
        .expect("discover")
}

#[tokio::test]
async fn rotation_new_key_after_one_refetch_old_key_refused_once_retired() {
    let (a, b) = (rsa("rsa-a"), rsa("rsa-b"));
    let issuer = TestIssuer::start(&[&a]).await;
    let v = validator(&issuer, CachePolicy::default()).await;
    let claims = issuer.okta_claims();
    let (token_a, token_b) = (encode(&a, &claims), encode(&b, &claims));
    assert!(v.validate(&token_a).await.is_ok());
    assert_eq!(issuer.jwks_fetches(), 1);

    // The issuer publishes B next to A, then signs with B.
    issuer.set_keys(&[&a, &b]);
    assert!(v.validate(&token_b).await.is_ok());
    assert_eq!(
        issuer.jwks_fetches(),
        2,
        "exactly one refetch for the new kid"
    );
    assert!(v.validate(&token_a).await.is_ok());
    assert!(v.validate(&token_b).await.is_ok());
    assert_eq!(issuer.jwks_fetches(), 2, "cached keys need no more fetches");

    // A is retired; once the cache learns that, A's tokens are refused.
    let c = rsa("rsa-c");
    issuer.set_keys(&[&b, &c]);
    assert!(v.validate(&encode(&c, &claims)).await.is_ok());
    assert_eq!(issuer.jwks_fetches(), 3);
    assert_eq!(v.validate(&token_a).await, Err(TokenError::UnknownKey));
    assert!(v.validate(&token_b).await.is_ok());
    assert_eq!(v.jwks_fetch_count() as usize, issuer.jwks_fetches());
}

#[tokio::test]
async fn unknown_kid_refetches_are_limited_to_ten_a_minute() {
    let (a, b) = (rsa("rsa-a"), rsa("rsa-b"));
    let issuer = TestIssuer::start(&[&a]).await;
    let v = validator(&issuer, CachePolicy::default()).await;
    let claims = issuer.okta_claims();
    for i in 0..25 {
        let forged = a.renamed(&format!("random-{i}"), true);
        assert_eq!(
            v.validate(&encode(&forged, &claims)).await,
            Err(TokenError::UnknownKey)
        );
    }
    assert_eq!(
        issuer.jwks_fetches(),
        10,
        "1 at start-up + 9 refetches, then the limit"
    );
    // Over the limit even a genuinely new key waits for the window...
    issuer.set_keys(&[&a, &b]);
    assert_eq!(
        v.validate(&encode(&b, &claims)).await,
        Err(TokenError::UnknownKey)
    );
    assert_eq!(issuer.jwks_fetches(), 10);
    // ...while known keys keep working.
    assert!(v.validate(&encode(&a, &claims)).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_unknown_kid_lookups_share_one_fetch() {
    let (a, b) = (rsa("rsa-a"), rsa("rsa-b"));
    let issuer = TestIssuer::start(&[&a]).await;
    let v = validator(&issuer, CachePolicy::default()).await;
    issuer.set_keys(&[&a, &b]);
    let token = encode(&b, &issuer.okta_claims());
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (v, token) = (v.clone(), token.clone());
            tokio::spawn(async move { v.validate(&token).await })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().is_ok());
    }
    assert_eq!(issuer.jwks_fetches(), 2);
}

#[tokio::test]
async fn cache_control_max_age_is_respected() {
    let a = rsa("rsa-a");
    let issuer = TestIssuer::start(&[&a]).await;
    let token = encode(&a, &issuer.okta_claims());

    // max-age=300: no refetch while fresh.
    let v = validator(&issuer, CachePolicy::default()).await;
    for _ in 0..5 {
        assert!(v.validate(&token).await.is_ok());
    }
    assert_eq!(issuer.jwks_fetches(), 1);

    // max-age=0 with a zero minimum: every use refreshes in the background.
    issuer.set_cache_control("no-cache");
    let policy = CachePolicy {
        min_ttl: Duration::ZERO,
        ..CachePolicy::default()
    };
    let v = validator(&issuer, policy).await;
    assert_eq!(issuer.jwks_fetches(), 2);
    assert!(v.validate(&token).await.is_ok());
    wait_for(|| issuer.jwks_fetches() == 3).await;
}

#[tokio::test]
async fn issuer_down_cached_keys_still_validate() {
    let (a, b) = (rsa("rsa-a"), rsa("rsa-b"));
    let issuer = TestIssuer::start(&[&a]).await;
    issuer.set_cache_control("max-age=0");
    let policy = CachePolicy {
        min_ttl: Duration::ZERO,
        ..CachePolicy::default()
    };
    let v = validator(&issuer, policy).await;
    let claims = issuer.okta_claims();
    let (token_a, token_b) = (encode(&a, &claims), encode(&b, &claims));

    issuer.set_down(true);
    // An unknown key cannot be fetched: not the caller's fault.
    let err = v.validate(&token_b).await.unwrap_err();
    assert_eq!(err, TokenError::KeysUnavailable);
    assert!(err.is_temporary());
    // The expired-but-cached key keeps validating; failed refreshes never
    // empty the cache.
    for _ in 0..4 {
        assert!(v.validate(&token_a).await.is_ok());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let during_outage = issuer.jwks_fetches();
    assert!(
        during_outage >= 3,
        "background refreshes were attempted: {during_outage}"
    );

    // Back up with a rotated key set: picked up.
    issuer.set_down(false);
    issuer.set_keys(&[&a, &b]);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(v.validate(&token_b).await.is_ok());
    assert!(v.validate(&token_a).await.is_ok());
}

#[tokio::test]
async fn a_refresh_with_no_usable_keys_keeps_the_old_ones() {
    let (a, b) = (rsa("rsa-a"), rsa("rsa-b"));
    let issuer = TestIssuer::start(&[&a]).await;
    let v = validator(&issuer, CachePolicy::default()).await;
    issuer.set_raw_keys(vec![json!({"kty": "oct", "kid": "h", "k": "c2VjcmV0"})]);
    let claims = issuer.okta_claims();
    assert_eq!(
        v.validate(&encode(&b, &claims)).await,
        Err(TokenError::KeysUnavailable)
    );
    assert!(v.validate(&encode(&a, &claims)).await.is_ok());
}

async fn wait_for(cond: impl Fn() -> bool) {
    for _ in 0..200 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached in 2 s");
}
