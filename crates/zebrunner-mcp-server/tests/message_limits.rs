//! `[limits]` on what one message carries, through the HTTP app against the sandbox: a body
//! nested too deeply is refused with 400 and a JSON-RPC error before rmcp parses it; an
//! argument over the size limit is refused naming it; an answer over the result limit comes
//! in parts whose cursors lead to the rest, joining up to the whole answer, and only for the
//! caller who asked; a tool that cannot page says how to ask for less. Each request's
//! correlation id comes back in `X-Request-Id` and names its audit record.
// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
mod support;

use serde_json::{Value, json};
use support::{Harness, READ, Source, rpc_message};
use zebrunner_mcp_server::transport::http::limits::LimitsConfig;

async fn harness(limits: LimitsConfig) -> Harness {
    Harness::start_limited(
        Default::default(),
        Source::ServiceAccount { bad_token: false },
        LimitsConfig {
            max_concurrent_requests: 0,
            requests_per_minute_per_user: 0,
            requests_per_minute_per_client: 0,
            ..limits
        },
    )
    .await
}

fn text(result: &Value) -> String {
    result["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

fn nested(levels: usize) -> Value {
    let mut value = json!(1);
    for _ in 0..levels {
        value = json!([value]);
    }
    value
}

#[tokio::test]
async fn a_body_nested_too_deeply_is_refused_with_a_json_rpc_error() {
    let h = harness(LimitsConfig {
        max_json_depth: 16,
        ..LimitsConfig::default()
    })
    .await;
    let token = h.token("alice", &[READ], &["qa"]);
    let session = h.open_session(&token).await;

    // Within the limit (the message's own levels count too): answered by the tool.
    let fine = h
        .post(
            Some(&token),
            Some(&session),
            &h.tool_call("list_projects", json!({"x": nested(10)})),
        )
        .await;
    assert_eq!(fine.status(), 200);

    for levels in [20, 100, 5000] {
        // Written as text: serde_json would refuse to build (and the stack to hold) the deepest.
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{{"name":"list_projects","arguments":{{"x":{}1{}}}}}}}"#,
            "[".repeat(levels),
            "]".repeat(levels)
        );
        let deep = h
            .http
            .post(h.mcp_url())
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-session-id", &session)
            .header("mcp-protocol-version", "2025-06-18")
            .bearer_auth(&token)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(deep.status(), 400, "{levels} levels");
        let body: Value = deep.json().await.unwrap();
        assert_eq!(body["jsonrpc"], "2.0");
        assert_eq!(body["id"], Value::Null);
        assert_eq!(body["error"]["code"], -32600);
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("nested more than 16 levels"), "{message}");
        assert!(message.contains("limits.max_json_depth"), "{message}");
    }
    // The session carries on.
    let answer = h.call(&token, &session, "list_projects", json!({})).await;
    assert!(text(&answer).contains("DEMO"), "{answer}");
}

#[tokio::test]
async fn an_argument_over_the_limits_is_refused_naming_it() {
    let h = harness(LimitsConfig {
        max_argument_bytes: 100,
        max_argument_items: 5,
        ..LimitsConfig::default()
    })
    .await;
    let token = h.token("alice", &[READ], &["qa"]);
    let session = h.open_session(&token).await;

    let long = "x".repeat(101);
    let answer = h
        .call(
            &token,
            &session,
            "search_test_cases",
            json!({"project_key": "DEMO", "title_contains": long}),
        )
        .await;
    assert_eq!(answer["isError"], true, "{answer}");
    let message = text(&answer);
    assert!(
        message.contains("`title_contains` is 101 bytes long"),
        "{message}"
    );
    assert!(message.contains("100 bytes"), "{message}");
    assert!(message.contains("limits.max_argument_bytes"), "{message}");

    let answer = h
        .call(
            &token,
            &session,
            "search_test_cases",
            json!({"project_key": "DEMO", "priorities": ["a", "b", "c", "d", "e", "f"]}),
        )
        .await;
    assert_eq!(answer["isError"], true, "{answer}");
    let message = text(&answer);
    assert!(message.contains("`priorities` holds 6 items"), "{message}");

    // Refused before any request to Zebrunner, and recorded as an error.
    let rows = h.audit_rows().await;
    let last = rows.last().unwrap();
    assert_eq!(last["tool"], "search_test_cases");
    assert_eq!(last["outcome"], "error");
    assert_eq!(last["zebrunner_requests"], json!([]));
}

/// The cursor in a part's closing note, if it names a next part.
fn part_cursor(text: &str) -> Option<String> {
    let at = text.rfind("`cursor` set to \"")? + "`cursor` set to \"".len();
    let end = text[at..].find('"')?;
    Some(text[at..at + end].to_string())
}

/// A part's text without its closing note.
fn body_of(text: &str) -> &str {
    let at = text
        .rfind("\n\n(Part ")
        .expect("every part ends with a note");
    &text[..at]
}

#[tokio::test]
async fn a_long_answer_comes_in_parts_that_join_up_to_the_whole() {
    let h = harness(LimitsConfig {
        max_result_bytes: 4096,
        ..LimitsConfig::default()
    })
    .await;
    let alice = h.token("alice", &[READ], &["qa"]);
    let session = h.open_session(&alice).await;
    let arguments = json!({"project_key": "DEMO", "limit": 100, "format": "json"});

    let first = h
        .call(&alice, &session, "search_test_cases", arguments.clone())
        .await;
    assert_ne!(first["isError"], true, "{first}");
    let structured = first["structuredContent"].clone();
    let mut joined = String::new();
    let mut answer = first;
    let mut parts = 0;
    let mut second_cursor = None;
    loop {
        parts += 1;
        let part = text(&answer);
        assert!(part.len() <= 4096, "part {parts} is {} bytes", part.len());
        assert!(part.contains(&format!("(Part {parts} of ")), "{part}");
        // Every part carries the whole structured answer (the output schema wants it).
        assert_eq!(answer["structuredContent"], structured);
        joined.push_str(body_of(&part));
        let Some(cursor) = part_cursor(&part) else {
            assert!(part.ends_with("the end of this answer.)"), "{part}");
            break;
        };
        second_cursor.get_or_insert(cursor.clone());
        let mut next = arguments.clone();
        next["cursor"] = json!(cursor);
        answer = h.call(&alice, &session, "search_test_cases", next).await;
        assert_ne!(answer["isError"], true, "{answer}");
        assert!(parts < 100, "the parts never end");
    }
    assert!(parts >= 3, "only {parts} parts");
    // Nothing lost: the parts joined are the JSON of the whole answer.
    let whole: Value = serde_json::from_str(&joined).unwrap();
    assert_eq!(whole, structured);
    assert!(!whole["test_cases"].as_array().unwrap().is_empty());

    // Another person's cursor does not open alice's answer.
    let bob = h.token("bob", &[READ], &["qa"]);
    let bobs = h.open_session(&bob).await;
    let mut stolen = arguments.clone();
    stolen["cursor"] = json!(second_cursor.clone().unwrap());
    let refused = h.call(&bob, &bobs, "search_test_cases", stolen).await;
    assert_eq!(refused["isError"], true, "{refused}");
    assert!(text(&refused).contains("no longer held"), "{refused}");

    // Nor does it open another tool, and a forged one is refused.
    let mut other = json!({"project_key": "DEMO"});
    other["cursor"] = json!(second_cursor.unwrap());
    let refused = h.call(&alice, &session, "list_test_suites", other).await;
    assert_eq!(refused["isError"], true, "{refused}");
    let mut forged = arguments.clone();
    forged["cursor"] = json!("part:e30.AAAAAAAAAAAAAAAAAAAAAA");
    let refused = h.call(&alice, &session, "search_test_cases", forged).await;
    assert!(
        text(&refused).contains("not one this server issued"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_long_answer_from_a_tool_that_cannot_page_says_how_to_ask_for_less() {
    let h = harness(LimitsConfig {
        max_result_bytes: 4096,
        ..LimitsConfig::default()
    })
    .await;
    let token = h.token("alice", &[READ], &["qa"]);
    let session = h.open_session(&token).await;
    let answer = h
        .call(
            &token,
            &session,
            "get_project_settings",
            json!({"project_key": "DEMO", "format": "json"}),
        )
        .await;
    assert_eq!(answer["isError"], true, "{answer}");
    let message = text(&answer);
    assert!(message.contains("more than the 4096 bytes"), "{message}");
    assert!(message.contains("cannot send it in parts"), "{message}");
    assert!(message.contains("Ask for less"), "{message}");
}

#[tokio::test]
async fn the_request_id_is_echoed_and_names_the_audit_record() {
    let h = harness(LimitsConfig::default()).await;
    let token = h.token("alice", &[READ], &["qa"]);
    let session = h.open_session(&token).await;

    let response = h
        .post_with(
            Some(&token),
            Some(&session),
            &h.tool_call("list_projects", json!({})),
            &[("x-request-id", "client-req-0042")],
        )
        .await;
    assert_eq!(response.headers()["x-request-id"], "client-req-0042");
    let _ = rpc_message(response).await;
    let rows = h.audit_rows().await;
    assert_eq!(rows.last().unwrap()["correlation_id"], "client-req-0042");

    // An unsafe id is not taken: a new one is made, and the response names it.
    let response = h
        .post_with(
            Some(&token),
            Some(&session),
            &h.tool_call("list_projects", json!({})),
            &[("x-request-id", "evil id\"<script>")],
        )
        .await;
    let minted = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_ne!(minted, "evil id\"<script>");
    assert_eq!(minted.len(), 36, "{minted}");
    let _ = rpc_message(response).await;
    let rows = h.audit_rows().await;
    assert_eq!(rows.last().unwrap()["correlation_id"], minted.as_str());

    // A refusal is recorded under the request's id too.
    let response = h
        .post_with(
            Some(&h.token("alice", &[], &["qa"])),
            None,
            &h.initialize(),
            &[("x-request-id", "refused-1")],
        )
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(response.headers()["x-request-id"], "refused-1");
    let rows = h.audit_rows().await;
    assert_eq!(rows.last().unwrap()["correlation_id"], "refused-1");
}
