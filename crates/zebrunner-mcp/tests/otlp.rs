//! Trace export (feature `otlp`): the real binary on stdio against the sandbox, with
//! `ZMCP_TELEMETRY_OTLP_ENDPOINT` pointing at an OTLP/HTTP receiver in this test, which decodes
//! what arrives. The tool call's span carries the correlation id, the tool and the outcome,
//! under `service.name`; the Zebrunner request's span is its child in the same trace; and no
//! byte of the Zebrunner token is in anything exported.
#![cfg(feature = "otlp")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    io::{BufRead, BufReader, Write},
    process::{Command, Stdio},
    sync::{Arc, Mutex},
};

use axum::{Router, body::Bytes, extract::State, routing::post};
use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::{KeyValue, any_value::Value as AnyValue},
    trace::v1::Span,
};
use prost::Message as _;
use serde_json::{Value, json};
use zebrunner_sandbox::{Sandbox, SandboxConfig};

type Received = Arc<Mutex<Vec<Bytes>>>;

async fn receive(State(received): State<Received>, body: Bytes) -> &'static str {
    received.lock().unwrap().push(body);
    ""
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref()?.value.as_ref())
        .and_then(|v| match v {
            AnyValue::StringValue(s) => Some(s.as_str()),
            _ => None,
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tool_calls_spans_reach_the_collector_without_secrets() {
    let received = Received::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/v1/traces", post(receive))
        .with_state(received.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let sandbox = Sandbox::spawn(SandboxConfig::default(), "127.0.0.1:0")
        .await
        .unwrap();
    let user = sandbox.sandbox.users().into_iter().next().unwrap();
    let token = user.token.clone();

    let url = sandbox.url.clone();
    let stderr = tokio::task::spawn_blocking(move || {
        let data = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_zebrunner-mcp"))
            .args(["serve", "--transport", "stdio"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "debug")
            .env("ZMCP_DATA_DIR", data.path())
            .env("ZMCP_TELEMETRY_OTLP_ENDPOINT", &collector)
            .env("ZEBRUNNER_URL", &url)
            .env("ZEBRUNNER_LOGIN", &user.login)
            .env("ZEBRUNNER_TOKEN", &user.token)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut exchange = |message: Value| {
            writeln!(stdin, "{message}").unwrap();
            stdin.flush().unwrap();
            if message.get("id").is_none() {
                return Value::Null;
            }
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            serde_json::from_str::<Value>(&line).unwrap()
        };
        exchange(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "otlp-test", "version": "1"}}}),
        );
        exchange(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        let answer = exchange(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "list_projects", "arguments": {}}}));
        assert!(
            answer["result"]["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains("DEMO")
        );
        // End of input ends the session; the exit sends the spans still batched.
        drop(stdin);
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stderr).unwrap()
    })
    .await
    .unwrap();

    let bodies = received.lock().unwrap().clone();
    assert!(
        !bodies.is_empty(),
        "no export arrived; server log:\n{stderr}"
    );
    for body in &bodies {
        assert!(
            !body.windows(token.len()).any(|w| w == token.as_bytes()),
            "the Zebrunner token was exported"
        );
    }
    let mut spans: Vec<Span> = Vec::new();
    for body in &bodies {
        let request = ExportTraceServiceRequest::decode(body.as_ref()).unwrap();
        for resource in request.resource_spans {
            let attributes = resource.resource.unwrap().attributes;
            assert_eq!(
                attribute(&attributes, "service.name"),
                Some("zebrunner-mcp")
            );
            spans.extend(resource.scope_spans.into_iter().flat_map(|s| s.spans));
        }
    }
    let call = spans
        .iter()
        .find(|s| s.name == "tool.call")
        .unwrap_or_else(|| panic!("no tool.call span among {spans:#?}"));
    assert_eq!(attribute(&call.attributes, "tool"), Some("list_projects"));
    assert_eq!(attribute(&call.attributes, "outcome"), Some("ok"));
    let correlation_id = attribute(&call.attributes, "correlation_id").unwrap();
    assert_eq!(correlation_id.len(), 36, "{correlation_id}");
    // The log names the same id.
    assert!(stderr.contains(correlation_id), "{stderr}");
    // The start-up credential check made requests of its own, outside any call.
    let request = spans
        .iter()
        .find(|s| s.name == "zebrunner.request" && s.parent_span_id == call.span_id)
        .unwrap_or_else(|| panic!("no zebrunner.request span under the call among {spans:#?}"));
    assert_eq!(request.trace_id, call.trace_id);
    assert_eq!(attribute(&request.attributes, "method"), Some("GET"));
}
