//! The circuit breaker and the outbound protections against the real sandbox's fault
//! injection: a run of unanswered requests opens it for every client of the workspace, it
//! fails fast while open and closes again after the cool-down; answers (4xx, 429) never open
//! it; dropped connections are retried only where that is safe; a `Retry-After` past the
//! deadline comes back at once.

// Test helpers may unwrap/expect/panic: clippy.toml only covers #[test] fns and #[cfg(test)].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::Env;
use serde_json::json;
use zebrunner_client::{
    BreakerConfig, ClientConfig, ErrorKind, TokenPageRequest, Workspace, WriteMethod, WriteRequest,
    ZebrunnerClient,
};

const SUITES: &str = "/api/public/v1/test-suites";
/// Long enough that a busy machine gets through the fast failures before it ends.
const COOL_DOWN: Duration = Duration::from_secs(2);

/// alice's config with a short retry deadline and a breaker opening after `failures`.
fn config(env: &Env, failures: u32) -> ClientConfig {
    let mut cfg = env.config("alice");
    cfg.retry_deadline = Duration::from_millis(300);
    cfg.breaker = BreakerConfig {
        failures,
        cool_down: COOL_DOWN,
    };
    cfg
}

async fn suites(client: &ZebrunnerClient) -> Result<(), zebrunner_client::Error> {
    client
        .test_suites_page("DEMO", TokenPageRequest::default())
        .await
        .map(|_| ())
}

#[tokio::test]
async fn opens_for_every_client_of_the_workspace_fails_fast_and_recovers() {
    let env = Env::start().await;
    let alice_cfg = config(&env, 2);
    let workspace = Workspace::new(&alice_cfg.workspace()).unwrap();
    let alice = workspace
        .client(alice_cfg.login.clone(), alice_cfg.token.clone())
        .unwrap();
    let bob_cfg = env.config("bob");
    let bob = workspace.client(bob_cfg.login, bob_cfg.token).unwrap();

    env.fault(json!({"path_prefix": SUITES, "status": 503}))
        .await;
    for _ in 0..2 {
        let err = suites(&alice).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    }
    env.clear_requests().await;

    // Open: bob's call, on another path, fails at once without reaching Zebrunner.
    let err = bob.list_projects().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CircuitOpen, "{err}");
    let message = err.to_string();
    assert!(message.contains("Zebrunner is unavailable"), "{message}");
    assert!(
        message.contains("retry in 1 s") || message.contains("retry in 2 s"),
        "{message}"
    );
    assert!(err.retry_after().is_some_and(|d| d <= COOL_DOWN));
    assert!(err.is_transient());
    assert!(env.requests().await.is_empty(), "nothing sent while open");

    // After the cool-down one probe goes; Zebrunner answering closes the breaker.
    env.clear_faults().await;
    tokio::time::sleep(COOL_DOWN).await;
    suites(&bob).await.unwrap();
    suites(&alice).await.unwrap();
    let statuses: Vec<u16> = env.requests().await.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200]);
}

#[tokio::test]
async fn a_failed_probe_opens_it_again() {
    let env = Env::start().await;
    let client = ZebrunnerClient::new(config(&env, 1)).unwrap();
    env.fault(json!({"path_prefix": SUITES, "status": 502}))
        .await;
    assert_eq!(
        suites(&client).await.unwrap_err().kind(),
        ErrorKind::Unavailable
    );
    assert_eq!(
        suites(&client).await.unwrap_err().kind(),
        ErrorKind::CircuitOpen
    );
    tokio::time::sleep(COOL_DOWN).await;
    env.clear_requests().await;
    // The probe still meets the fault...
    assert_eq!(
        suites(&client).await.unwrap_err().kind(),
        ErrorKind::Unavailable
    );
    assert!(!env.requests().await.is_empty(), "the probe was sent");
    // ...so the breaker is open again.
    assert_eq!(
        suites(&client).await.unwrap_err().kind(),
        ErrorKind::CircuitOpen
    );
}

#[tokio::test]
async fn answers_never_open_it() {
    let env = Env::start().await;
    let client = ZebrunnerClient::new(config(&env, 1)).unwrap();
    for status in [400, 404, 500] {
        env.fault(json!({"path_prefix": SUITES, "status": status, "count": 1}))
            .await;
        assert_eq!(suites(&client).await.unwrap_err().status(), Some(status));
    }
    env.fault(json!({"path_prefix": SUITES, "status": 429, "count": 1, "retry_after_secs": 60}))
        .await;
    assert_eq!(
        suites(&client).await.unwrap_err().kind(),
        ErrorKind::RateLimited
    );
    suites(&client).await.unwrap();
}

#[tokio::test]
async fn off_with_zero_failures() {
    let env = Env::start().await;
    let client = ZebrunnerClient::new(config(&env, 0)).unwrap();
    env.fault(json!({"path_prefix": SUITES, "reset": true}))
        .await;
    for _ in 0..3 {
        assert_eq!(
            suites(&client).await.unwrap_err().kind(),
            ErrorKind::Network
        );
    }
}

#[tokio::test]
async fn dropped_connections_are_retried_for_reads_and_never_for_creates() {
    let env = Env::start().await;
    let client = env.client("alice");
    env.fault(json!({"path_prefix": SUITES, "reset": true, "count": 2}))
        .await;
    suites(&client).await.unwrap();
    let statuses: Vec<u16> = env.requests().await.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [0, 0, 200], "logged as 0: no answer");

    env.clear_requests().await;
    env.fault(json!({"path_prefix": SUITES, "method": "POST", "reset": true, "count": 1}))
        .await;
    let create = WriteRequest::new(WriteMethod::Post, "DEMO", ["test-suites"], "a test suite")
        .body(json!({"title": "Dropped"}));
    let err = client.write(&create).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Network, "{err}");
    let logged = env.requests().await;
    assert_eq!(logged.len(), 1, "a create is sent once: {logged:?}");
    assert_eq!((logged[0].method.as_str(), logged[0].status), ("POST", 0));
}

#[tokio::test]
async fn retry_after_past_the_deadline_comes_back_at_once_with_the_time() {
    let env = Env::start().await;
    let client = ZebrunnerClient::new(config(&env, 1)).unwrap();
    env.fault(json!({"path_prefix": SUITES, "status": 429, "retry_after_secs": 120}))
        .await;
    let err = suites(&client).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    assert!(err.to_string().contains("wait 120 s"), "{err}");
    assert_eq!(
        env.requests().await.len(),
        1,
        "not retried, not slept through"
    );
}
