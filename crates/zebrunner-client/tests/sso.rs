//! SSO sign-in against the sandbox: the landing address is parsed, its temp
//! token redeemed once for a long-lived token that works like an API token,
//! and a second redemption is refused.

// Test helpers may unwrap/expect/panic: clippy.toml only covers #[test] fns and #[cfg(test)].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Env, REFRESH};
use secrecy::ExposeSecret as _;
use serde_json::json;
use zebrunner_client::{
    ErrorKind, SecretString, SsoAddressError, Workspace, WorkspaceConfig, ZebrunnerUrl,
    parse_sso_address,
};

fn workspace(env: &Env) -> Workspace {
    let mut cfg = WorkspaceConfig::new(ZebrunnerUrl::parse(&env.sandbox.url).unwrap());
    cfg.retry_deadline = std::time::Duration::from_secs(10);
    Workspace::new(&cfg).unwrap()
}

#[tokio::test]
async fn a_redeemed_sign_in_acts_as_the_person() {
    let env = Env::start().await;
    let ws = workspace(&env);
    let bob = env.user("bob");
    let address = env.sso_sign_in("bob", json!({})).await;
    let temp = parse_sso_address(&address, ws.web_url()).unwrap();
    let temp_text = temp.expose_secret().to_owned();
    assert!(address.ends_with(&temp_text));

    env.clear_requests().await;
    let grant = ws.redeem_sso_token(temp.clone()).await.unwrap();
    assert_eq!(grant.login, bob.login);
    assert_eq!(grant.user_id, bob.user_id);
    let token = grant.token.expose_secret().to_owned();
    assert!(token.starts_with("zbr_sso_"), "a long-lived token");
    assert_ne!(token, temp_text);
    assert_ne!(token, bob.token);
    assert!(!format!("{grant:?}").contains(&token));
    assert_eq!(env.requests_to(REFRESH).await.len(), 1);

    // The long-lived token: IAM refresh and Basic password, through the same pool.
    env.assert_long_lived_token_works(&ws, &grant, &bob, &[REFRESH])
        .await;

    // The temp token was single use.
    env.clear_requests().await;
    let err = ws.redeem_sso_token(temp).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    let text = err.to_string();
    assert!(
        !text.contains(&temp_text) && !text.contains(&token),
        "{text}"
    );
    assert_eq!(env.requests_to(REFRESH).await.len(), 1, "never retried");
}

#[tokio::test]
async fn a_redemption_is_never_retried() {
    let env = Env::start().await;
    let ws = workspace(&env);
    let address = env.sso_sign_in("alice", json!({})).await;
    let temp = parse_sso_address(&address, ws.web_url()).unwrap();
    // An outage answers before the sandbox sees the token, which stays unused.
    env.fault(json!({"path_prefix": REFRESH, "status": 503, "count": 1}))
        .await;
    env.clear_requests().await;
    let err = ws.redeem_sso_token(temp.clone()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(env.requests_to(REFRESH).await.len(), 1);
    let grant = ws.redeem_sso_token(temp).await.unwrap();
    assert_eq!(grant.login, "alice@sandbox.test");
    assert_eq!(grant.user_id, 1);
}

#[tokio::test]
async fn expired_and_unknown_temp_tokens_are_unauthorized() {
    let env = Env::start().await;
    let ws = workspace(&env);
    let address = env.sso_sign_in("alice", json!({"ttl_secs": 0})).await;
    let temp = parse_sso_address(&address, ws.web_url()).unwrap();
    let err = ws.redeem_sso_token(temp).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    let err = ws
        .redeem_sso_token(SecretString::from("sso_00000000000000000000000000000000"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    let err = ws
        .redeem_sso_token(SecretString::from(" "))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    // An address of another workspace is refused before any request.
    let other = address.replace("127.0.0.1", "localhost");
    assert!(matches!(
        parse_sso_address(&other, ws.web_url()),
        Err(SsoAddressError::OtherWorkspace { .. })
    ));
}
