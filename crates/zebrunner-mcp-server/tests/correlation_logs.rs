//! One correlation id per request, on every log line it causes: the HTTP request's id (here
//! the client's `X-Request-Id`) is the id of the tool call's audit record, and each of the
//! Zebrunner client's request log lines of that call (written by `zebrunner_client` on
//! another task, under the `zebrunner.request` span) carries it through its parent spans.
//!
//! A tracing subscriber is global to the process, so this file is its own test binary.
// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
mod support;

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use support::{Harness, READ, rpc_message};
use tracing_subscriber::fmt::MakeWriter;

/// Everything the subscriber writes.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Lines {
    type Writer = Lines;
    fn make_writer(&'a self) -> Lines {
        self.clone()
    }
}

impl Lines {
    fn json(&self) -> Vec<Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }
}

/// The correlation ids among a JSON log line's spans.
fn correlation_ids(line: &Value) -> Vec<String> {
    line["spans"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|span| span["correlation_id"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn the_audit_records_correlation_id_is_on_the_zebrunner_request_log_lines() {
    let lines = Lines::default();
    tracing_subscriber::fmt()
        .json()
        .with_env_filter("info,zebrunner_client=debug")
        .with_writer(lines.clone())
        .init();

    let h = Harness::start(Default::default()).await;
    let token = h.token("alice", &[READ], &["qa"]);
    let session = h.open_session(&token).await;
    for id in ["call-one", "call-two"] {
        let response = h
            .post_with(
                Some(&token),
                Some(&session),
                &h.tool_call(
                    "search_test_cases",
                    json!({"project_key": "DEMO", "limit": 5}),
                ),
                &[("x-request-id", id)],
            )
            .await;
        assert_eq!(response.headers()["x-request-id"], id);
        let answer = rpc_message(response).await;
        assert!(answer.get("result").is_some(), "{answer}");
    }

    let rows = h.audit_rows().await;
    let logs = lines.json();
    for id in ["call-one", "call-two"] {
        let record = rows
            .iter()
            .find(|r| r["tool"] == "search_test_cases" && r["correlation_id"] == id)
            .unwrap_or_else(|| panic!("no audit record under {id}: {rows:#?}"));
        let requests = record["zebrunner_requests"].as_array().unwrap().len();
        assert!(requests > 0, "{record}");
        let responses: Vec<&Value> = logs
            .iter()
            .filter(|l| l["fields"]["message"] == "zebrunner response")
            .filter(|l| correlation_ids(l).contains(&id.to_string()))
            .collect();
        // One log line per Zebrunner request of the call, each under the call's id only.
        assert_eq!(responses.len(), requests, "{id}: {responses:#?}");
        for line in responses {
            let spans: Vec<&str> = line["spans"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|s| s["name"].as_str())
                .collect();
            assert_eq!(
                spans,
                ["http.request", "tool.call", "zebrunner.request"],
                "{line}"
            );
            assert!(correlation_ids(line).iter().all(|c| c == id), "{line}");
        }
        let call = logs
            .iter()
            .flat_map(|l| l["spans"].as_array().into_iter().flatten())
            .find(|s| s["name"] == "tool.call" && s["correlation_id"] == id)
            .unwrap();
        assert_eq!(call["tool"], "search_test_cases");
    }
}
