//! Public API writes against the real sandbox: create and replace a suite,
//! create and patch a case, a run with cases added (204), and a result import.

// Test helpers may unwrap/expect/panic: clippy.toml only covers #[test] fns and #[cfg(test)].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Env;
use serde_json::json;
use zebrunner_client::{WriteMethod, WriteRequest};

#[tokio::test]
async fn writes_reach_the_sandbox() {
    let env = Env::start().await;
    let client = env.client("alice");

    let create = WriteRequest::new(WriteMethod::Post, "DEMO", ["test-suites"], "suite")
        .body(json!({"title": "Client write suite"}));
    let suite = client.write(&create).await.unwrap();
    let id = suite["id"].as_i64().unwrap();
    assert_eq!(suite["title"], "Client write suite");
    // The suites cache is emptied by the write.
    assert!(
        client
            .all_test_suites("DEMO")
            .await
            .unwrap()
            .iter()
            .any(|s| s.id == id)
    );
    let put = WriteRequest::new(
        WriteMethod::Put,
        "DEMO",
        ["test-suites".to_string(), id.to_string()],
        "suite",
    )
    .body(json!({"title": "Renamed", "description": "d"}));
    assert_eq!(client.write(&put).await.unwrap()["title"], "Renamed");
    let now = client
        .public_resource("DEMO", vec!["test-suites".into(), id.to_string()], "suite")
        .await
        .unwrap();
    assert_eq!(now["description"], "d");

    let case = client
        .write(
            &WriteRequest::new(WriteMethod::Post, "DEMO", ["test-cases"], "case")
                .body(json!({"testSuite": {"id": id}, "title": "New case", "draft": true})),
        )
        .await
        .unwrap();
    let key = case["key"].as_str().unwrap().to_string();
    let patched = client
        .write(
            &WriteRequest::new(
                WriteMethod::Patch,
                "DEMO",
                ["test-cases".to_string(), format!("key:{key}")],
                "case",
            )
            .body(json!({"title": "Patched"})),
        )
        .await
        .unwrap();
    assert_eq!(patched["title"], "Patched");

    let run = client
        .write(
            &WriteRequest::new(WriteMethod::Post, "DEMO", ["test-runs"], "run")
                .body(json!({"title": "Client run"})),
        )
        .await
        .unwrap();
    let run_id = run["id"].as_i64().unwrap().to_string();
    let added = client
        .write(
            &WriteRequest::new(
                WriteMethod::Post,
                "DEMO",
                ["test-runs", &run_id, "test-cases"],
                "run",
            )
            .body(json!({"items": [{"key": key}]})),
        )
        .await
        .unwrap();
    assert!(added.is_null(), "204 has no body: {added}");
    let imported = client
        .write(
            &WriteRequest::new(WriteMethod::Post, "DEMO", ["test-runs", &run_id, "test-cases:import"], "run")
                .query("skipErrors", true)
                .body(json!({"items": [{"testCase": {"key": key}, "result": {"status": {"name": "Passed"}, "executionType": "MANUAL"}}]})),
        )
        .await
        .unwrap();
    assert_eq!(imported["items"][0]["succeeded"], true, "{imported}");
}
