//! Observability, in-process: `/readyz` in each state (ready, the database closed and
//! Zebrunner unreachable, draining for shutdown) and a scrape of `/metrics` after tool calls
//! against the sandbox, checking the counters and histograms each choke point records.
//!
//! The Prometheus recorder is the process's one `metrics` recorder, so this file is its own
//! test binary: the other tests run without one.
// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
mod support;

use std::net::SocketAddr;

use serde_json::{Value, json};
use support::{Harness, READ};
use tokio_util::sync::CancellationToken;
use zebrunner_client::{ClientConfig, SecretString, ZebrunnerClient, ZebrunnerUrl};
use zebrunner_mcp_server::{
    Credentials, HttpOptions, ZebrunnerMcp,
    observe::{Observer, metrics},
    transport::http::{self, Security, metrics::MetricsServer},
};
use zebrunner_sandbox::{RunningSandbox, SandboxConfig};
use zebrunner_storage::{Storage, audit::AuditLog};

/// A service-account server for `zebrunner_url`, with `storage`, served on a loopback port.
/// Returns its address and the token that starts its drain.
async fn serve_app(zebrunner_url: &str, storage: Storage) -> (SocketAddr, CancellationToken) {
    let url = ZebrunnerUrl::parse(zebrunner_url).unwrap();
    let client = ZebrunnerClient::new(ClientConfig::new(
        url,
        "alice",
        SecretString::from("token-never-sent-by-readyz"),
    ))
    .unwrap();
    let server = ZebrunnerMcp::new(Credentials::ServiceAccount(client)).with_storage(storage);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bound = listener.local_addr().unwrap();
    let draining = CancellationToken::new();
    let app = http::app(
        server,
        &HttpOptions::new(bound),
        Security::open(false),
        bound,
        CancellationToken::new(),
        draining.clone(),
    )
    .unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (bound, draining)
}

async fn sandbox() -> RunningSandbox {
    zebrunner_sandbox::Sandbox::spawn(SandboxConfig::default(), "127.0.0.1:0")
        .await
        .unwrap()
}

async fn memory() -> Storage {
    Storage::connect("sqlite::memory:").await.unwrap()
}

/// `/readyz`: status and body.
async fn readyz(addr: SocketAddr) -> (u16, Value) {
    zebrunner_client::install_crypto_provider();
    let response = reqwest::get(format!("http://{addr}/readyz")).await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap())
}

/// How many unauthenticated probes (no user) reached the sandbox.
async fn probes(sandbox: &RunningSandbox) -> usize {
    let log: Vec<Value> = reqwest::get(format!("{}/__sandbox/requests", sandbox.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    log.iter()
        .filter(|r| r["user"].is_null() && r["path"] == "/api/public/v1/test-suites")
        .count()
}

#[tokio::test]
async fn readyz_is_ready_when_the_database_and_zebrunner_answer() {
    let sandbox = sandbox().await;
    let (addr, _draining) = serve_app(&sandbox.url, memory().await).await;
    let (status, body) = readyz(addr).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"status": "ready", "checks": {
            "storage": {"ok": true}, "zebrunner": {"ok": true}, "shutdown": {"ok": true}}})
    );
    // Probes in a row share Zebrunner's cached answer: one request, without credentials.
    for _ in 0..5 {
        assert_eq!(readyz(addr).await.0, 200);
    }
    assert_eq!(probes(&sandbox).await, 1);
    // Liveness stays what it was.
    let health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn readyz_names_a_closed_database_and_an_unreachable_zebrunner_without_addresses() {
    // A port nothing listens on.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::connect(&Storage::default_sqlite_url(dir.path()))
        .await
        .unwrap();
    let (addr, _draining) = serve_app(&format!("http://127.0.0.1:{port}"), storage.clone()).await;
    assert_eq!(readyz(addr).await.1["checks"]["storage"]["ok"], true);
    storage.close().await;
    let (status, body) = readyz(addr).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "not_ready");
    assert_eq!(
        body["checks"]["storage"],
        json!({"ok": false, "reason": "database unreachable"})
    );
    assert_eq!(
        body["checks"]["zebrunner"],
        json!({"ok": false, "reason": "Zebrunner unreachable"})
    );
    assert_eq!(body["checks"]["shutdown"], json!({"ok": true}));
    let text = body.to_string();
    for secret in [
        "127.0.0.1",
        &port.to_string(),
        "sqlite",
        &dir.path().display().to_string(),
        "token-never-sent-by-readyz",
        "alice",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[tokio::test]
async fn readyz_is_not_ready_while_draining() {
    let sandbox = sandbox().await;
    let (addr, draining) = serve_app(&sandbox.url, memory().await).await;
    assert_eq!(readyz(addr).await.0, 200);
    draining.cancel();
    let (status, body) = readyz(addr).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["checks"]["shutdown"]["ok"], false);
    assert!(
        body["checks"]["shutdown"]["reason"]
            .as_str()
            .unwrap()
            .contains("shutting down"),
        "{body}"
    );
    assert_eq!(body["checks"]["storage"]["ok"], true);
    assert_eq!(body["checks"]["zebrunner"]["ok"], true);
}

/// The value of the sample `name{labels}` (labels in the order they were recorded), or 0
/// when there is none.
fn sample(text: &str, name: &str, labels: &str) -> f64 {
    let prefix = if labels.is_empty() {
        format!("{name} ")
    } else {
        format!("{name}{{{labels}}} ")
    };
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

#[tokio::test]
async fn metrics_after_tool_calls_against_the_sandbox() {
    let handle = metrics::install().unwrap();
    let h = Harness::start(Default::default()).await;
    let exporter = metrics::Exporter::new(handle, Observer::new(AuditLog::disabled()));
    let scraper = MetricsServer::bind("127.0.0.1:0".parse().unwrap(), exporter)
        .await
        .unwrap();
    let metrics_url = format!("http://{}/metrics", scraper.local_addr().unwrap());
    tokio::spawn(scraper.run(std::future::pending()));

    // One 503 from Zebrunner on test cases: retried, and counted as a retry.
    let fault = h
        .http
        .post(format!("{}/__sandbox/faults", h.sandbox_url))
        .json(&json!({"path_prefix": "/api/public/v1/test-cases", "status": 503, "count": 1}))
        .send()
        .await
        .unwrap();
    assert!(fault.status().is_success(), "{}", fault.status());

    let token = h.token("alice", &[READ], &["qa"]);
    let session = h.open_session(&token).await;
    for _ in 0..2 {
        let answer = h.call(&token, &session, "list_projects", json!({})).await;
        assert_eq!(answer["isError"], false, "{answer}");
    }
    let answer = h
        .call(&token, &session, "get_test_case", json!({"key": "DEMO-1"}))
        .await;
    assert_eq!(answer["isError"], false, "{answer}");
    // A name the server does not offer is refused, and counted as `unknown`.
    let refused = h
        .post(
            Some(&token),
            Some(&session),
            &h.tool_call("drop_all_tables_alice", json!({})),
        )
        .await;
    assert_eq!(refused.status(), 200);
    // No token: counted, by class.
    assert_eq!(h.post(None, None, &h.initialize()).await.status(), 401);

    let response = h.http.get(&metrics_url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();

    // Tool calls by tool and outcome, and their latency histogram.
    assert!(
        sample(
            &text,
            "zmcp_tool_calls_total",
            r#"tool="list_projects",outcome="ok""#
        ) >= 2.0,
        "{text}"
    );
    assert!(
        sample(
            &text,
            "zmcp_tool_calls_total",
            r#"tool="get_test_case",outcome="ok""#
        ) >= 1.0
    );
    assert!(
        sample(
            &text,
            "zmcp_tool_calls_total",
            r#"tool="unknown",outcome="denied""#
        ) >= 1.0,
        "{text}"
    );
    assert!(
        sample(
            &text,
            "zmcp_tool_call_duration_seconds_count",
            r#"tool="list_projects""#
        ) >= 2.0
    );
    assert!(
        sample(
            &text,
            "zmcp_tool_call_duration_seconds_bucket",
            r#"tool="list_projects",le="+Inf""#
        ) >= 2.0,
        "{text}"
    );
    assert!(text.contains("# TYPE zmcp_tool_call_duration_seconds histogram"));

    // Zebrunner requests by endpoint class and status, the retry, the latency.
    assert!(
        sample(
            &text,
            "zmcp_zebrunner_requests_total",
            r#"endpoint="public/test-cases",method="GET",status="503""#
        ) >= 1.0,
        "{text}"
    );
    assert!(
        sample(
            &text,
            "zmcp_zebrunner_requests_total",
            r#"endpoint="public/test-cases",method="GET",status="200""#
        ) >= 1.0
    );
    assert!(
        text.lines().any(|l| l.starts_with(
            r#"zmcp_zebrunner_requests_total{endpoint="projects",method="GET",status="200"}"#
        )),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "zmcp_zebrunner_retries_total",
            r#"endpoint="public/test-cases",reason="503""#
        ) >= 1.0
    );
    assert!(text.contains("# TYPE zmcp_zebrunner_request_duration_seconds histogram"));

    // HTTP requests by route template and status.
    assert!(
        sample(
            &text,
            "zmcp_http_requests_total",
            r#"route="/mcp",method="POST",status="200""#
        ) >= 4.0,
        "{text}"
    );
    assert!(
        sample(
            &text,
            "zmcp_http_requests_total",
            r#"route="/mcp",method="POST",status="401""#
        ) >= 1.0
    );
    // Sessions, anonymous refusals, the issuer's keys, authorization decisions, the build.
    assert!(
        sample(&text, "zmcp_mcp_sessions_active", "") >= 1.0,
        "{text}"
    );
    assert!(
        sample(
            &text,
            "zmcp_anonymous_refusals_total",
            r#"class="missing_token""#
        ) >= 1.0,
        "{text}"
    );
    assert!(
        sample(
            &text,
            "zmcp_jwks_lookups_total",
            r#"source="issuer",result="hit""#
        ) >= 1.0,
        "{text}"
    );
    assert!(
        sample(
            &text,
            "zmcp_jwks_fetches_total",
            r#"source="issuer",result="ok""#
        ) >= 1.0
    );
    assert!(
        sample(
            &text,
            "zmcp_authorization_decisions_total",
            r#"outcome="ok",class="session_opened""#
        ) >= 1.0,
        "{text}"
    );
    assert_eq!(sample(&text, "zmcp_audit_write_failures_total", ""), 0.0);
    assert!(text.contains("zmcp_audit_write_failures_total 0"), "{text}");
    assert!(text.contains("zmcp_build_info{version="));

    // No person, token, session or raw path in any label.
    for secret in [
        token.as_str(),
        session.as_str(),
        "alice",
        "00ualice",
        "DEMO-1",
        "drop_all_tables",
    ] {
        assert!(!text.contains(secret), "{secret} in the metrics");
    }
}

/// Every server in one process shares the one recorder.
#[test]
fn install_is_idempotent() {
    assert!(metrics::install().is_ok());
    assert!(metrics::install().is_ok());
}
