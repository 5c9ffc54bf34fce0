//! The Okta token exchange against the sandbox: not offered when the sandbox
//! has it off (Zebrunner's 404) or answers 501; with it on, a valid ID token
//! gives the person's login and a long-lived token that then works for
//! ordinary calls as that person; invalid ID tokens and unknown people are
//! refused. Never retried, and no error contains a token.

// Test helpers may unwrap/expect/panic: clippy.toml only covers #[test] fns and #[cfg(test)].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "../../zebrunner-sandbox/tests/support/issuer.rs"]
mod issuer;

use common::Env;
use issuer::{AUDIENCE, TestIssuer, now};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use zebrunner_client::token_exchange::{ID_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT, TOKEN_EXCHANGE_PATH};
use zebrunner_client::{Error, ErrorKind, SecretString, Workspace, WorkspaceConfig, ZebrunnerUrl};
use zebrunner_sandbox::{Sandbox, SandboxConfig, TokenExchangeConfig};

fn workspace(env: &Env) -> Workspace {
    let mut cfg = WorkspaceConfig::new(ZebrunnerUrl::parse(&env.sandbox.url).unwrap());
    cfg.retry_deadline = std::time::Duration::from_secs(10);
    Workspace::new(&cfg).unwrap()
}

async fn env_with_exchange(issuer: &TestIssuer) -> Env {
    let sandbox = Sandbox::builder(SandboxConfig::default())
        .token_exchange(TokenExchangeConfig::new(&issuer.issuer, AUDIENCE))
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    Env::with(sandbox)
}

/// The error of exchanging `id_token`; its text and `Debug` never hold the token.
async fn refused(ws: &Workspace, id_token: &str) -> Error {
    let err = ws
        .exchange_id_token(SecretString::from(id_token.to_owned()))
        .await
        .unwrap_err();
    assert!(!err.to_string().contains(id_token), "{err}");
    assert!(!format!("{err:?}").contains(id_token));
    err
}

#[tokio::test]
async fn off_it_is_not_offered() {
    let issuer = TestIssuer::start().await;
    let env = Env::start().await;
    let ws = workspace(&env);
    let err = refused(&ws, &issuer.id_token("alice@sandbox.test")).await;
    assert_eq!(err.kind(), ErrorKind::NotOffered, "{err}");
    assert_eq!(err.status(), Some(404));
    assert!(matches!(err, Error::NotOffered { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "Zebrunner does not offer the Okta token exchange (HTTP 404 on POST {TOKEN_EXCHANGE_PATH}); connect another way (an API token or Zebrunner's single sign-on)"
        )
    );
    assert_eq!(env.requests_to(TOKEN_EXCHANGE_PATH).await.len(), 1);
}

#[tokio::test]
async fn a_501_is_not_offered_and_nothing_is_retried() {
    let issuer = TestIssuer::start().await;
    let env = env_with_exchange(&issuer).await;
    let ws = workspace(&env);
    let id_token = issuer.id_token("alice@sandbox.test");
    env.fault(json!({"path_prefix": TOKEN_EXCHANGE_PATH, "status": 501, "count": 1}))
        .await;
    let err = refused(&ws, &id_token).await;
    assert_eq!(
        (err.kind(), err.status()),
        (ErrorKind::NotOffered, Some(501))
    );
    // An outage is not "not offered", and is not retried either.
    env.fault(json!({"path_prefix": TOKEN_EXCHANGE_PATH, "status": 503, "count": 1}))
        .await;
    env.clear_requests().await;
    let err = refused(&ws, &id_token).await;
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert_eq!(
        env.requests_to(TOKEN_EXCHANGE_PATH).await.len(),
        1,
        "never retried"
    );
    // A blank ID token never leaves the client.
    let err = ws
        .exchange_id_token(SecretString::from(" "))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(env.requests_to(TOKEN_EXCHANGE_PATH).await.len(), 1);
}

#[tokio::test]
async fn an_exchanged_id_token_acts_as_the_person() {
    let issuer = TestIssuer::start().await;
    let env = env_with_exchange(&issuer).await;
    let ws = workspace(&env);
    let bob = env.user("bob");
    let id_token = issuer.id_token(&bob.login);

    env.clear_requests().await;
    let grant = ws
        .exchange_id_token(SecretString::from(id_token.clone()))
        .await
        .unwrap();
    assert_eq!(grant.login, bob.login);
    assert_eq!(grant.user_id, bob.user_id);
    let token = grant.token.expose_secret().to_owned();
    assert!(token.starts_with("zbr_sso_"), "a long-lived token");
    assert_ne!(token, bob.token);
    assert!(!format!("{grant:?}").contains(&token));
    assert_eq!(env.requests_to(TOKEN_EXCHANGE_PATH).await.len(), 1);

    // The long-lived token: IAM refresh (internal APIs) and Basic password (Public API).
    env.assert_long_lived_token_works(&ws, &grant, &bob, &[TOKEN_EXCHANGE_PATH, common::REFRESH])
        .await;
}

#[tokio::test]
async fn invalid_id_tokens_and_unknown_people_are_refused() {
    let issuer = TestIssuer::start().await;
    let env = env_with_exchange(&issuer).await;
    let ws = workspace(&env);
    let base = issuer.claims("alice@sandbox.test");
    let with = |field: &str, value: Value| {
        let mut c = base.clone();
        c[field] = value;
        c
    };
    let cases = [
        (
            "wrong audience",
            issuer.sign(&with("aud", json!("0oa-other-app"))),
            "another audience",
        ),
        (
            "wrong issuer",
            issuer.sign(&with("iss", json!("https://evil.okta.com/oauth2/default"))),
            "another issuer",
        ),
        (
            "expired",
            issuer.sign(&with("exp", json!(now() - 3600))),
            "expired",
        ),
        (
            "bad signature",
            issuer.sign_with_other_key(&base),
            "signature",
        ),
        (
            "unknown person",
            issuer.id_token("mallory@elsewhere.test"),
            "No Zebrunner user has the e-mail or username mallory@elsewhere.test",
        ),
    ];
    env.clear_requests().await;
    for (what, id_token, reason) in &cases {
        let err = refused(&ws, id_token).await;
        assert_eq!(err.kind(), ErrorKind::Unauthorized, "{what}: {err}");
        assert_eq!(err.status(), Some(401), "{what}");
        assert!(
            matches!(err, Error::ExchangeRefused { .. }),
            "{what}: {err:?}"
        );
        let text = err.to_string();
        assert!(
            text.starts_with("Zebrunner refused the Okta sign-in (HTTP 401 on POST /api/iam/v1/auth/token-exchange): "),
            "{what}: {text}"
        );
        assert!(text.contains(reason), "{what}: {text}");
    }
    let logged = env.requests_to(TOKEN_EXCHANGE_PATH).await;
    assert_eq!(logged.len(), cases.len(), "one request each, never retried");
    assert!(logged.iter().all(|r| r.status == 401));

    // The client always names an ID token; another subjectTokenType is a 400 in
    // Zebrunner's error body, naming the field.
    let resp = reqwest::Client::new()
        .post(format!("{}{TOKEN_EXCHANGE_PATH}", env.sandbox.url))
        .json(&json!({
            "subjectToken": issuer.id_token("alice@sandbox.test"),
            "subjectTokenType": "urn:ietf:params:oauth:token-type:access_token",
            "grantType": TOKEN_EXCHANGE_GRANT,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "BAD_REQUEST");
    assert_eq!(body["errors"][0]["source"], "subjectTokenType");
    assert_eq!(
        body["errors"][0]["message"],
        format!("must be {ID_TOKEN_TYPE}")
    );
}
