//! A confirmation binds the planned request (finding 10): the request, the
//! current state the preview's diff was computed from, and what a selector
//! resolves to. When Zebrunner changes between a preview and its confirm,
//! the confirm plans again, finds a different plan and writes nothing.

// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Harness;
use serde_json::{Value, json};
use zebrunner_client::{WriteMethod, WriteRequest, ZebrunnerClient};

const SUITE: i64 = 102;
const OPEN_RUN: i64 = 809;
const LAUNCH: i64 = 1041;

fn confirm(args: &Value, preview: &Value) -> Value {
    let mut a = args.clone();
    a["confirm"] = json!(true);
    a["confirmation_token"] = preview["confirmation_token"].clone();
    a
}

fn changed_since_preview(text: &str) {
    assert!(
        text.contains("changed since the preview") && text.contains("nothing was written"),
        "{text}"
    );
}

async fn rename_suite(client: &ZebrunnerClient, title: &str) {
    let current = client.test_suite("DEMO", SUITE).await.unwrap();
    let request = WriteRequest::new(
        WriteMethod::Put,
        "DEMO",
        ["test-suites".to_string(), SUITE.to_string()],
        "suite",
    )
    .body(json!({
        "title": title,
        "description": current.description,
        "parentSuiteId": current.parent_suite_id,
    }));
    client.write(&request).await.unwrap();
}

async fn create_case(client: &ZebrunnerClient, title: &str) -> String {
    let request = WriteRequest::new(WriteMethod::Post, "DEMO", ["test-cases"], "case")
        .body(json!({"testSuite": {"id": SUITE}, "title": title, "draft": true}));
    let created = client.write(&request).await.unwrap();
    created["key"].as_str().unwrap().to_string()
}

async fn keys_in_run(client: &ZebrunnerClient) -> Vec<String> {
    client
        .test_run_cases("DEMO", OPEN_RUN)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|c| c.test_case.and_then(|t| t.key))
        .collect()
}

#[tokio::test]
async fn update_test_suite_refuses_when_the_suite_changed_since_the_preview() {
    let mut h = Harness::start(None).await;
    let someone = h.someone_else();
    let original = someone.test_suite("DEMO", SUITE).await.unwrap().title;
    let args = json!({"project_key": "DEMO", "suite_id": SUITE, "title": "A"});
    let preview = h.ok("update_test_suite", args.clone()).await;

    rename_suite(&someone, "Renamed meanwhile").await;
    let refused = h
        .refused("update_test_suite", confirm(&args, &preview))
        .await;
    changed_since_preview(&refused);
    assert_eq!(
        someone.test_suite("DEMO", SUITE).await.unwrap().title,
        "Renamed meanwhile",
        "the refused confirm wrote nothing"
    );

    // The token was not used up: once the suite is as the preview saw it,
    // it confirms.
    rename_suite(&someone, &original).await;
    let written = h.ok("update_test_suite", confirm(&args, &preview)).await;
    assert_eq!(written["stage"], "written");
    assert_eq!(someone.test_suite("DEMO", SUITE).await.unwrap().title, "A");
}

#[tokio::test]
async fn record_test_results_from_a_launch_refuses_when_a_result_changed() {
    let mut h = Harness::start(None).await;
    let someone = h.someone_else();
    let args = json!({"project_key": "DEMO", "run_id": OPEN_RUN, "launch_id": LAUNCH});
    let preview = h.ok("record_test_results", args.clone()).await;
    let first = &preview["diff"][0];
    let key = first["field"].as_str().unwrap().to_string();
    let other = if first["before"] == "Passed" {
        "Failed"
    } else {
        "Passed"
    };

    // Someone records a result for one of the previewed cases.
    let request = WriteRequest::new(
        WriteMethod::Post,
        "DEMO",
        [
            "test-runs".to_string(),
            OPEN_RUN.to_string(),
            "test-cases:import".to_string(),
        ],
        "run",
    )
    .query("skipErrors", true)
    .query("addMissingTestCases", true)
    .body(json!({"items": [{"testCase": {"key": key},
                             "result": {"status": {"name": other}, "executionType": "MANUAL"}}]}));
    someone.write(&request).await.unwrap();

    let refused = h
        .refused("record_test_results", confirm(&args, &preview))
        .await;
    changed_since_preview(&refused);
    let again = h.ok("record_test_results", args.clone()).await;
    assert_ne!(again["confirmation_token"], preview["confirmation_token"]);
    let written = h.ok("record_test_results", confirm(&args, &again)).await;
    assert_eq!(written["stage"], "written");
}

#[tokio::test]
async fn add_all_project_cases_never_adds_more_than_the_preview_showed() {
    let mut h = Harness::start(None).await;
    let someone = h.someone_else();
    let args = json!({"project_key": "DEMO", "run_id": OPEN_RUN, "all_project_test_cases": true});
    let preview = h.ok("add_test_cases_to_run", args.clone()).await;
    let diff = preview["diff"].as_array().unwrap();
    let in_run = diff.iter().find(|c| c["field"] == "cases in run").unwrap();
    let planned = in_run["after"].as_u64().unwrap();
    assert!(planned > in_run["before"].as_u64().unwrap(), "{in_run}");

    // A case created after the preview would be added by the same selector.
    let late = create_case(&someone, "Created after the preview").await;
    let refused = h
        .refused("add_test_cases_to_run", confirm(&args, &preview))
        .await;
    changed_since_preview(&refused);
    assert!(
        !keys_in_run(&someone).await.contains(&late),
        "nothing was added"
    );

    // The new preview shows it, and its confirm adds exactly that.
    let again = h.ok("add_test_cases_to_run", args.clone()).await;
    let added = again["diff"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"].as_str().unwrap().starts_with("added"))
        .unwrap()
        .clone();
    let listed: Vec<&str> = added["after"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        listed.contains(&late.as_str()) || listed.iter().any(|k| k.starts_with("… and")),
        "{added}"
    );
    let written = h.ok("add_test_cases_to_run", confirm(&args, &again)).await;
    assert_eq!(written["stage"], "written");
    let now = keys_in_run(&someone).await;
    assert!(now.contains(&late));
    assert_eq!(now.len() as u64, planned + 1);
}

#[tokio::test]
async fn add_suite_cases_refuses_when_the_suite_gained_a_case() {
    let mut h = Harness::start(None).await;
    let someone = h.someone_else();
    let args = json!({"project_key": "DEMO", "run_id": OPEN_RUN,
                      "suites": [{"suite_id": SUITE, "mode": "IMMEDIATE"}]});
    let preview = h.ok("add_test_cases_to_run", args.clone()).await;
    let late = create_case(&someone, "Another case of the suite").await;
    let refused = h
        .refused("add_test_cases_to_run", confirm(&args, &preview))
        .await;
    changed_since_preview(&refused);
    let again = h.ok("add_test_cases_to_run", args.clone()).await;
    let added = again["diff"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"].as_str().unwrap().starts_with("added"))
        .unwrap()
        .clone();
    assert!(
        added["after"].as_array().unwrap().contains(&json!(late)),
        "{added}"
    );
    h.ok("add_test_cases_to_run", confirm(&args, &again)).await;
    assert!(keys_in_run(&someone).await.contains(&late));
}

#[tokio::test]
async fn an_unchanged_plan_confirms() {
    let mut h = Harness::start(None).await;
    for (tool, args) in [
        (
            "update_test_suite",
            json!({"project_key": "DEMO", "suite_id": SUITE, "description": "Same plan"}),
        ),
        (
            "add_test_cases_to_run",
            json!({"project_key": "DEMO", "run_id": OPEN_RUN, "suites": [{"suite_id": SUITE}]}),
        ),
        (
            "create_test_run",
            json!({"project_key": "DEMO", "title": "Plan binding", "milestone": "Release 1.5"}),
        ),
    ] {
        let preview = h.ok(tool, args.clone()).await;
        let written = h.ok(tool, confirm(&args, &preview)).await;
        assert_eq!(written["stage"], "written", "{tool}");
    }
}
