//! The `reset` fault: the connection closes with no HTTP answer, the request never reaches the
//! data, the log says so with status 0, and the control API refuses contradictory specs.

// Test helpers may unwrap/expect/panic: clippy.toml only covers #[test] fns and #[cfg(test)].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use zebrunner_sandbox::{RunningSandbox, Sandbox, SandboxConfig};

async fn start() -> (RunningSandbox, Client) {
    let sb = Sandbox::spawn(SandboxConfig::default(), "127.0.0.1:0")
        .await
        .unwrap();
    // reqwest is built without a rustls provider of its own (see zebrunner-client's tls.rs).
    let _ = rustls::crypto::ring::default_provider().install_default();
    (sb, Client::new())
}

async fn add_fault(sb: &RunningSandbox, http: &Client, spec: Value) -> reqwest::Response {
    http.post(format!("{}/__sandbox/faults", sb.url))
        .json(&spec)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_reset_drops_the_connection_without_an_answer_or_a_write() {
    let (sb, http) = start().await;
    let alice = sb
        .sandbox
        .users()
        .into_iter()
        .find(|u| u.login.starts_with("alice"))
        .unwrap();
    let response = add_fault(
        &sb,
        &http,
        json!({"path_prefix": "/api/public/v1/test-suites", "method": "POST", "reset": true, "count": 1}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let fault: Value = response.json().await.unwrap();
    assert_eq!(fault["reset"], true);

    let create = || {
        http.post(format!(
            "{}/api/public/v1/test-suites?projectKey=DEMO",
            sb.url
        ))
        .basic_auth(&alice.login, Some(&alice.token))
        .json(&json!({"title": "Reset once"}))
        .send()
    };
    let error = create().await.unwrap_err();
    assert!(error.is_request(), "{error:?}");
    assert_eq!(create().await.unwrap().status(), StatusCode::CREATED);

    let log: Vec<Value> = http
        .get(format!("{}/__sandbox/requests", sb.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let statuses: Vec<u64> = log.iter().filter_map(|r| r["status"].as_u64()).collect();
    assert_eq!(statuses, [0, 201]);
    // Only the second request created a suite.
    let suites: Value = http
        .get(format!(
            "{}/api/public/v1/test-suites?projectKey=DEMO&maxPageSize=100",
            sb.url
        ))
        .basic_auth(&alice.login, Some(&alice.token))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let created = suites["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["title"] == "Reset once")
        .count();
    assert_eq!(created, 1);
}

#[tokio::test]
async fn a_reset_takes_no_status() {
    let (sb, http) = start().await;
    for spec in [
        json!({"reset": true, "status": 503}),
        json!({"reset": true, "retry_after_secs": 5}),
        json!({"path_prefix": "/api"}),
    ] {
        let response = add_fault(&sb, &http, spec.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{spec}");
    }
}
