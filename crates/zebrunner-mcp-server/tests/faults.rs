//! Zebrunner misbehaving, through the whole call path (rmcp's client, the handler, the tools,
//! the Zebrunner client, the sandbox's fault injection):
//!
//! * 503s or dropped connections on 30% of requests: reads still succeed (retries), each
//!   confirmed write reaches Zebrunner at most once (the sandbox's request log), nothing panics;
//! * Zebrunner hanging: calls end at the tool deadline with a clear message and their own audit
//!   class, while another session's calls on another path are answered in the meantime;
//! * a run of unanswered requests opens the circuit breaker: tools fail at once saying when to
//!   retry, send nothing, and work again after the cool-down.

// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use rmcp::{
    RoleClient, ServiceExt,
    model::{CallToolRequestParams, CallToolResult},
    service::RunningService,
};
use serde_json::{Value, json};
use zebrunner_client::{BreakerConfig, ClientConfig, SecretString, ZebrunnerClient, ZebrunnerUrl};
use zebrunner_mcp_server::{Caller, Credentials, ZebrunnerMcp, policy::Grant};
use zebrunner_sandbox::{RunningSandbox, Sandbox, SandboxConfig};
use zebrunner_storage::{
    Storage,
    audit::{AuditFilter, AuditLog, AuditSink},
};

type Client = RunningService<RoleClient, ()>;

/// A sandbox, a server (service account alice, an audit database) and its settings.
struct Env {
    sandbox: RunningSandbox,
    server: ZebrunnerMcp,
    storage: Storage,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Env {
    async fn start(tool_deadline: Duration, tune: impl FnOnce(&mut ClientConfig)) -> Env {
        let sandbox = Sandbox::spawn(SandboxConfig::default(), "127.0.0.1:0")
            .await
            .unwrap();
        let alice = sandbox
            .sandbox
            .users()
            .into_iter()
            .find(|u| u.login.starts_with("alice"))
            .unwrap();
        let mut config = ClientConfig::new(
            ZebrunnerUrl::parse(&sandbox.url).unwrap(),
            alice.login,
            SecretString::from(alice.token),
        );
        config.timeout = Duration::from_secs(10);
        tune(&mut config);
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::connect(&Storage::default_sqlite_url(dir.path()))
            .await
            .unwrap();
        let server = ZebrunnerMcp::new(Credentials::ServiceAccount(
            ZebrunnerClient::new(config).unwrap(),
        ))
        .with_local_caller(Caller {
            identity: None,
            grant: Grant::unrestricted(false),
            transport: "stdio",
            zebrunner_headers: None,
        })
        .with_audit(AuditLog::new(vec![AuditSink::Database(storage.clone())]))
        .with_storage(storage.clone())
        .with_tool_deadline(tool_deadline);
        zebrunner_client::install_crypto_provider();
        Env {
            sandbox,
            server,
            storage,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    /// A new MCP session with the server (another person at another client).
    async fn session(&self) -> Client {
        let server = self.server.clone();
        let (server_io, client_io) = tokio::io::duplex(1 << 20);
        tokio::spawn(async move {
            if let Ok(running) = server.serve(server_io).await {
                let _ = running.waiting().await;
            }
        });
        ().serve(client_io).await.unwrap()
    }

    fn control(&self, path: &str) -> String {
        format!("{}/__sandbox/{path}", self.sandbox.url)
    }

    async fn fault(&self, spec: Value) {
        let response = self
            .http
            .post(self.control("faults"))
            .json(&spec)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "fault refused: {spec}");
    }

    async fn clear_faults(&self) {
        self.http
            .delete(self.control("faults"))
            .send()
            .await
            .unwrap();
    }

    async fn clear_requests(&self) {
        self.http
            .delete(self.control("requests"))
            .send()
            .await
            .unwrap();
    }

    /// The sandbox's request log: `(method, path, status)`; status 0 is a dropped connection.
    async fn requests(&self) -> Vec<(String, String, u16)> {
        let log: Vec<Value> = self
            .http
            .get(self.control("requests"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        log.iter()
            .map(|r| {
                (
                    r["method"].as_str().unwrap().to_owned(),
                    r["path"].as_str().unwrap().to_owned(),
                    u16::try_from(r["status"].as_u64().unwrap()).unwrap(),
                )
            })
            .collect()
    }

    /// `(tool, outcome, error class)` of every audited tool call, oldest first.
    async fn audited(&self) -> Vec<(String, String, Option<String>)> {
        self.server.observer().flush_audit().await;
        let filter = AuditFilter {
            oldest_first: true,
            ..AuditFilter::default()
        };
        self.storage
            .query_audit(&filter)
            .await
            .unwrap()
            .into_iter()
            .map(|r| {
                let r = serde_json::to_value(r).unwrap();
                (
                    r["tool"].as_str().unwrap_or_default().to_owned(),
                    r["outcome"].as_str().unwrap_or_default().to_owned(),
                    r["error_class"].as_str().map(str::to_owned),
                )
            })
            .collect()
    }
}

async fn call(client: &Client, tool: &str, mut arguments: Value) -> CallToolResult {
    arguments["format"] = json!("json");
    let params = CallToolRequestParams::new(tool.to_string())
        .with_arguments(arguments.as_object().cloned().unwrap());
    client.call_tool(params).await.unwrap()
}

fn failed(result: &CallToolResult) -> bool {
    result.is_error == Some(true)
}

fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// N from "retry in N s".
fn retry_in(message: &str) -> u64 {
    let (_, after) = message.split_once("retry in ").unwrap();
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap()
}

fn structured(result: &CallToolResult) -> Value {
    result.structured_content.clone().unwrap_or(Value::Null)
}

/// Reads spread over the tools and Zebrunner's APIs.
fn reads() -> Vec<(&'static str, Value)> {
    let mut reads = Vec::new();
    for _ in 0..3 {
        reads.extend([
            ("list_projects", json!({})),
            ("list_test_suites", json!({"project_key": "DEMO"})),
            (
                "search_test_cases",
                json!({"project_key": "DEMO", "limit": 20}),
            ),
            (
                "get_test_case",
                json!({"project_key": "DEMO", "key": "DEMO-7"}),
            ),
            (
                "get_test_suite",
                json!({"project_key": "DEMO", "suite_id": 102}),
            ),
        ]);
    }
    reads
}

/// Writes Zebrunner must never see twice: the method and path each sends.
fn writes(round: usize) -> Vec<(&'static str, Value, &'static str)> {
    vec![
        (
            "create_test_suite",
            json!({"project_key": "DEMO", "title": format!("Flaky network {round}")}),
            "POST",
        ),
        (
            "update_test_suite",
            json!({"project_key": "DEMO", "suite_id": 102, "description": format!("Round {round}")}),
            "PUT",
        ),
    ]
}

/// Under `fault` on 30% of requests (logged with `status`): every read succeeds; each
/// confirmed write is sent to Zebrunner's data at most once (and exactly once when the tool
/// says it was written); no call ends as an internal error (a panic).
async fn flaky_zebrunner(fault: Value, status: u16) {
    let env = Env::start(Duration::from_secs(60), |_| {}).await;
    let client = env.session().await;
    env.fault(fault).await;

    for (tool, arguments) in reads() {
        let answer = call(&client, tool, arguments.clone()).await;
        assert!(
            !failed(&answer),
            "{tool} {arguments} failed: {}",
            text(&answer)
        );
    }
    let log = env.requests().await;
    let hit = log.iter().filter(|(_, _, s)| *s == status).count();
    assert!(
        hit * 10 >= log.len(),
        "the fault hit {hit} of {}",
        log.len()
    );

    let mut written = 0;
    for round in 0..6 {
        for (tool, arguments, method) in writes(round) {
            let preview = call(&client, tool, arguments.clone()).await;
            assert!(!failed(&preview), "{tool} preview: {}", text(&preview));
            let mut confirm = arguments.clone();
            confirm["confirm"] = json!(true);
            confirm["confirmation_token"] = structured(&preview)["confirmation_token"].clone();
            env.clear_requests().await;
            let answer = call(&client, tool, confirm).await;
            let applied = env
                .requests()
                .await
                .into_iter()
                .filter(|(m, path, status)| {
                    m == method && path.contains("/test-suites") && (200..300).contains(status)
                })
                .count();
            assert!(applied <= 1, "{tool}: written {applied} times");
            if !failed(&answer) {
                assert_eq!(applied, 1, "{tool} said written: {}", text(&answer));
                written += 1;
            }
        }
    }
    assert!(written > 0, "some writes went through");

    let audited = env.audited().await;
    assert!(
        audited
            .iter()
            .all(|(_, _, class)| class.as_deref() != Some("internal")),
        "{audited:?}"
    );
}

#[tokio::test]
async fn zebrunner_answering_503_on_30_percent_of_requests() {
    flaky_zebrunner(json!({"status": 503, "rate": 0.3}), 503).await;
}

#[tokio::test]
async fn zebrunner_dropping_30_percent_of_connections() {
    flaky_zebrunner(json!({"reset": true, "rate": 0.3}), 0).await;
}

#[tokio::test]
async fn a_hanging_zebrunner_ends_calls_at_their_deadline_and_others_go_on() {
    const DEADLINE: Duration = Duration::from_secs(3);
    // The client would wait 10 s for an answer: the tool deadline comes first.
    let env = Env::start(DEADLINE, |c| c.retry_deadline = Duration::from_secs(1)).await;
    env.fault(json!({"path_prefix": "/api/public/v1/test-cases", "latency_ms": 600_000}))
        .await;
    let stuck = env.session().await;
    let other = env.session().await;

    let hanging = tokio::spawn(async move {
        let calls = (0..3).map(|_| {
            call(
                &stuck,
                "search_test_cases",
                json!({"project_key": "DEMO", "limit": 5}),
            )
        });
        futures::future::join_all(calls).await
    });
    for _ in 0..5 {
        let answer = call(&other, "list_test_suites", json!({"project_key": "DEMO"})).await;
        assert!(!failed(&answer), "{}", text(&answer));
    }
    assert!(
        !hanging.is_finished(),
        "the other session was answered while these calls hung"
    );
    for answer in hanging.await.unwrap() {
        assert!(failed(&answer));
        let message = text(&answer);
        assert!(
            message.starts_with(
                "Zebrunner did not answer within 3 s; try again later or narrow the request"
            ),
            "{message}"
        );
    }
    let audited = env.audited().await;
    let stopped: Vec<_> = audited
        .iter()
        .filter(|(_, _, class)| class.as_deref() == Some("deadline_exceeded"))
        .collect();
    assert_eq!(stopped.len(), 3, "{audited:?}");
    assert!(
        stopped
            .iter()
            .all(|(tool, outcome, _)| tool == "search_test_cases" && outcome == "error")
    );
    assert_eq!(
        audited
            .iter()
            .filter(|(_, outcome, _)| outcome == "ok")
            .count(),
        5
    );
}

#[tokio::test]
async fn a_stopped_write_says_it_may_have_happened() {
    let env = Env::start(Duration::from_secs(2), |c| {
        c.retry_deadline = Duration::from_secs(1)
    })
    .await;
    let client = env.session().await;
    let arguments = json!({"project_key": "DEMO", "title": "Slow"});
    let preview = call(&client, "create_test_suite", arguments.clone()).await;
    let mut confirm = arguments;
    confirm["confirm"] = json!(true);
    confirm["confirmation_token"] = structured(&preview)["confirmation_token"].clone();
    env.fault(json!({"path_prefix": "/api/public/v1/test-suites", "method": "POST", "latency_ms": 600_000}))
        .await;
    let answer = call(&client, "create_test_suite", confirm).await;
    assert!(failed(&answer));
    let message = text(&answer);
    assert!(
        message.contains("did not answer within 2 s")
            && message.contains("may or may not have been made"),
        "{message}"
    );
}

#[tokio::test]
async fn the_breaker_opens_fails_fast_and_recovers_after_the_cool_down() {
    const COOL_DOWN: Duration = Duration::from_secs(3);
    let env = Env::start(Duration::from_secs(60), |c| {
        c.retry_deadline = Duration::from_millis(300);
        c.breaker = BreakerConfig {
            failures: 3,
            cool_down: COOL_DOWN,
        };
    })
    .await;
    let client = env.session().await;
    let suites = json!({"project_key": "DEMO"});
    env.fault(json!({"status": 503})).await;
    for _ in 0..3 {
        let answer = call(&client, "list_test_suites", suites.clone()).await;
        assert!(failed(&answer));
        assert!(text(&answer).contains("HTTP 503"), "{}", text(&answer));
    }

    env.clear_requests().await;
    for (tool, arguments) in [
        ("list_test_suites", suites.clone()),
        ("list_projects", json!({})),
    ] {
        let answer = call(&client, tool, arguments).await;
        assert!(failed(&answer));
        let message = text(&answer);
        assert!(
            message.starts_with("Zebrunner is unavailable") && message.contains("Nothing was sent"),
            "{message}"
        );
        let wait = retry_in(&message);
        assert!((1..=COOL_DOWN.as_secs()).contains(&wait), "{message}");
    }
    assert!(env.requests().await.is_empty(), "failed fast: nothing sent");

    env.clear_faults().await;
    tokio::time::sleep(COOL_DOWN).await;
    for _ in 0..2 {
        let answer = call(&client, "list_test_suites", suites.clone()).await;
        assert!(!failed(&answer), "{}", text(&answer));
    }

    let classes: Vec<Option<String>> = env
        .audited()
        .await
        .into_iter()
        .map(|(_, _, class)| class)
        .collect();
    let expected: Vec<Option<String>> = [
        Some("unavailable"),
        Some("unavailable"),
        Some("unavailable"),
        Some("circuit_open"),
        Some("circuit_open"),
        None,
        None,
    ]
    .into_iter()
    .map(|c| c.map(str::to_owned))
    .collect();
    assert_eq!(classes, expected);
}
