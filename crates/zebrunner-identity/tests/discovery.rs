//! Issuer discovery against a live test issuer: the three metadata URL
//! forms, the exact-issuer rule, and set-up errors that say what to fix.

// Test helpers may unwrap/expect/panic: clippy.toml only covers #[test] fns and #[cfg(test)].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::*;
use zebrunner_identity::{Algorithm, OidcConfig, OidcValidator, SetupError};

fn config(issuer: &TestIssuer) -> OidcConfig {
    OidcConfig::new(issuer.issuer.clone(), AUDIENCE)
}

#[tokio::test]
async fn openid_configuration_first() {
    let issuer = TestIssuer::start(&[&rsa("rsa-a")]).await;
    let v = OidcValidator::discover(config(&issuer)).await.unwrap();
    let m = v.metadata();
    assert_eq!(m.issuer, issuer.issuer);
    assert_eq!(m.jwks_uri, format!("{}/v1/keys", issuer.issuer));
    assert_eq!(
        m.token_endpoint.as_deref(),
        Some(format!("{}/v1/token", issuer.issuer).as_str())
    );
    assert_eq!(
        m.authorization_endpoint.as_deref(),
        Some(format!("{}/v1/authorize", issuer.issuer).as_str())
    );
    assert_eq!(
        m.scopes_supported,
        ["openid", "zebrunner:read", "zebrunner:write"]
    );
    assert_eq!(
        m.source_url,
        format!("{}/.well-known/openid-configuration", issuer.issuer)
    );
}

#[tokio::test]
async fn rfc8414_forms_are_tried_in_order() {
    let issuer = TestIssuer::start(&[&rsa("rsa-a")]).await;
    let origin = issuer.issuer.trim_end_matches(ISSUER_PATH).to_owned();

    issuer.set_forms(Forms {
        openid: false,
        rfc8414_inserted: true,
        rfc8414_legacy: true,
    });
    let v = OidcValidator::discover(config(&issuer)).await.unwrap();
    assert_eq!(
        v.metadata().source_url,
        format!("{origin}/.well-known/oauth-authorization-server{ISSUER_PATH}")
    );

    issuer.set_forms(Forms {
        openid: false,
        rfc8414_inserted: false,
        rfc8414_legacy: true,
    });
    let v = OidcValidator::discover(config(&issuer)).await.unwrap();
    assert_eq!(
        v.metadata().source_url,
        format!("{}/.well-known/oauth-authorization-server", issuer.issuer)
    );

    issuer.set_forms(Forms {
        openid: false,
        rfc8414_inserted: false,
        rfc8414_legacy: false,
    });
    let err = OidcValidator::discover(config(&issuer)).await.unwrap_err();
    let SetupError::Discovery { tried, reason } = &err else {
        panic!("{err}")
    };
    assert_eq!(tried.len(), 3);
    assert!(reason.contains("404"), "{reason}");
    assert!(err.to_string().contains("Check the issuer URL"), "{err}");
}

#[tokio::test]
async fn metadata_issuer_must_equal_the_configured_issuer() {
    let issuer = TestIssuer::start(&[&rsa("rsa-a")]).await;
    issuer.advertise_issuer(&format!("{}/", issuer.issuer));
    let err = OidcValidator::discover(config(&issuer)).await.unwrap_err();
    assert!(matches!(err, SetupError::IssuerMismatch { .. }), "{err}");
}

#[tokio::test]
async fn insecure_or_unreachable_issuers_are_refused() {
    let err = OidcValidator::discover(OidcConfig::new(
        "http://acme.okta.com/oauth2/default",
        AUDIENCE,
    ))
    .await
    .unwrap_err();
    assert!(matches!(err, SetupError::Config(_)), "{err}");

    let issuer = TestIssuer::start(&[&rsa("rsa-a")]).await;
    issuer.set_down(true);
    let err = OidcValidator::discover(config(&issuer)).await.unwrap_err();
    assert!(err.to_string().contains("503"), "{err}");
}

#[tokio::test]
async fn a_key_set_without_keys_for_the_allowed_algorithms_is_refused() {
    let issuer = TestIssuer::start(&[&ec()]).await;
    let err = OidcValidator::discover(config(&issuer)).await.unwrap_err();
    assert!(matches!(err, SetupError::NoUsableKeys { .. }), "{err}");
    let mut c = config(&issuer);
    c.algorithms = vec![Algorithm::ES256];
    assert!(OidcValidator::discover(c).await.is_ok());
}
