//! Ids of other projects (finding 7): a caller limited to DEMO, served by an
//! account that sees every project, names MOBILE's suites, cases, runs,
//! launches and milestones under `project_key: DEMO`. Every tool refuses
//! them before a preview or an answer, exactly as it refuses an id that does
//! not exist, both when Zebrunner scopes lookups by the project (the
//! sandbox's default) and when it ignores the project parameter (the
//! sandbox's `ids_ignore_project`, the case a shared account makes
//! dangerous).

// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use common::Harness;
use serde_json::{Value, json};

// MOBILE's objects in the sandbox seed (docs/sandbox.md).
const MOBILE_SUITE: i64 = 132;
const MOBILE_CASE_ID: i64 = 20001;
const MOBILE_RUN: i64 = 813;
const MOBILE_LAUNCH: i64 = 2001;
const MOBILE_MILESTONE: i64 = 509;
// DEMO's.
const DEMO_SUITE: i64 = 101;
const DEMO_OPEN_RUN: i64 = 809;
const DEMO_LAUNCH: i64 = 1041;
const MISSING: i64 = 4_999_999;

/// The refusal for `foreign` reads exactly like the one for `MISSING`.
fn like_missing(foreign_text: &str, foreign: i64, missing_text: &str) {
    assert_eq!(
        foreign_text.replace(&foreign.to_string(), "N"),
        missing_text.replace(&MISSING.to_string(), "N"),
        "an id of another project must be refused like a missing one"
    );
}

/// `args` with `field` set to `id`.
fn with(args: &Value, field: &str, id: i64) -> Value {
    let mut a = args.clone();
    set(&mut a, field, json!(id));
    a
}

fn set(v: &mut Value, path: &str, value: Value) {
    match path.split_once('.') {
        Some((head, rest)) => {
            let next = match head.parse::<usize>() {
                Ok(i) => &mut v[i],
                Err(_) => &mut v[head],
            };
            set(next, rest, value)
        }
        None => v[path] = value,
    }
}

/// Every (tool, arguments, field holding the foreign id, foreign id) case.
fn writes() -> Vec<(&'static str, Value, &'static str, i64)> {
    vec![
        (
            "add_test_cases_to_run",
            json!({"project_key": "DEMO", "run_id": DEMO_OPEN_RUN, "suites": [{"suite_id": 0}]}),
            "suites.0.suite_id",
            MOBILE_SUITE,
        ),
        (
            "add_test_cases_to_run",
            json!({"project_key": "DEMO", "run_id": 0, "test_case_keys": ["DEMO-1"]}),
            "run_id",
            MOBILE_RUN,
        ),
        (
            "create_test_run",
            json!({"project_key": "DEMO", "title": "Scoped", "milestone": 0}),
            "milestone",
            MOBILE_MILESTONE,
        ),
        (
            "update_test_run",
            json!({"project_key": "DEMO", "run_id": DEMO_OPEN_RUN, "milestone": 0}),
            "milestone",
            MOBILE_MILESTONE,
        ),
        (
            "update_test_run",
            json!({"project_key": "DEMO", "run_id": 0, "title": "Renamed"}),
            "run_id",
            MOBILE_RUN,
        ),
        (
            "create_test_suite",
            json!({"project_key": "DEMO", "title": "Child", "parent_suite_id": 0}),
            "parent_suite_id",
            MOBILE_SUITE,
        ),
        (
            "update_test_suite",
            json!({"project_key": "DEMO", "suite_id": 0, "title": "A"}),
            "suite_id",
            MOBILE_SUITE,
        ),
        (
            "update_test_suite",
            json!({"project_key": "DEMO", "suite_id": DEMO_SUITE, "parent_suite_id": 0}),
            "parent_suite_id",
            MOBILE_SUITE,
        ),
        (
            "create_test_case",
            json!({"project_key": "DEMO", "suite_id": 0, "title": "New"}),
            "suite_id",
            MOBILE_SUITE,
        ),
        (
            "update_test_case",
            json!({"project_key": "DEMO", "id": 0, "title": "New"}),
            "id",
            MOBILE_CASE_ID,
        ),
        (
            "update_test_case",
            json!({"key": "DEMO-1", "suite_id": 0}),
            "suite_id",
            MOBILE_SUITE,
        ),
        (
            "record_test_results",
            json!({"project_key": "DEMO", "run_id": DEMO_OPEN_RUN, "launch_id": 0}),
            "launch_id",
            MOBILE_LAUNCH,
        ),
        (
            "record_test_results",
            json!({"project_key": "DEMO", "run_id": 0,
                   "results": [{"key": "DEMO-1", "status": "Passed"}]}),
            "run_id",
            MOBILE_RUN,
        ),
    ]
}

fn reads() -> Vec<(&'static str, Value, &'static str, i64)> {
    vec![
        (
            "get_test_case",
            json!({"project_key": "DEMO", "id": 0}),
            "id",
            MOBILE_CASE_ID,
        ),
        (
            "get_test_suite",
            json!({"project_key": "DEMO", "suite_id": 0}),
            "suite_id",
            MOBILE_SUITE,
        ),
        (
            "list_test_suites",
            json!({"project_key": "DEMO", "root_suite_id": 0}),
            "root_suite_id",
            MOBILE_SUITE,
        ),
        (
            "search_test_cases",
            json!({"project_key": "DEMO", "suite_id": 0, "include_sub_suites": false}),
            "suite_id",
            MOBILE_SUITE,
        ),
        (
            "search_test_cases",
            json!({"project_key": "DEMO", "suite_id": 0}),
            "suite_id",
            MOBILE_SUITE,
        ),
        (
            "find_duplicate_test_cases",
            json!({"project_key": "DEMO", "suite_id": 0}),
            "suite_id",
            MOBILE_SUITE,
        ),
        (
            "get_test_run",
            json!({"project_key": "DEMO", "run_id": 0}),
            "run_id",
            MOBILE_RUN,
        ),
        (
            "list_test_runs",
            json!({"project_key": "DEMO", "milestone": 0}),
            "milestone",
            MOBILE_MILESTONE,
        ),
        (
            "get_launch",
            json!({"project_key": "DEMO", "launch_id": 0}),
            "launch_id",
            MOBILE_LAUNCH,
        ),
        (
            "list_launch_tests",
            json!({"project_key": "DEMO", "launch_id": 0}),
            "launch_id",
            MOBILE_LAUNCH,
        ),
        (
            "analyze_launch_failures",
            json!({"project_key": "DEMO", "launch_id": 0, "history": false}),
            "launch_id",
            MOBILE_LAUNCH,
        ),
        (
            "list_launches",
            json!({"project_key": "DEMO", "milestone": 0}),
            "milestone",
            MOBILE_MILESTONE,
        ),
        (
            "pass_rate_report",
            json!({"project_key": "DEMO", "milestone": 0}),
            "milestone",
            MOBILE_MILESTONE,
        ),
    ]
}

async fn refuses_like_missing(
    h: &mut Harness,
    cases: Vec<(&'static str, Value, &'static str, i64)>,
    label: &str,
) {
    for (tool, args, field, foreign) in cases {
        let foreign_text = h.refused(tool, with(&args, field, foreign)).await;
        assert!(
            !foreign_text.contains("confirmation_token"),
            "{label}: {tool} issued a token for another project's {field}"
        );
        let missing_text = h.refused(tool, with(&args, field, MISSING)).await;
        like_missing(&foreign_text, foreign, &missing_text);
    }
}

#[tokio::test]
async fn writes_refuse_other_projects_ids_before_a_preview() {
    let mut h = Harness::start(Some(&["DEMO"])).await;
    refuses_like_missing(&mut h, writes(), "scoped lookups").await;
    h.ids_ignore_project(true).await;
    refuses_like_missing(&mut h, writes(), "unscoped lookups").await;
}

#[tokio::test]
async fn reads_refuse_other_projects_objects() {
    let mut h = Harness::start(Some(&["DEMO"])).await;
    refuses_like_missing(&mut h, reads(), "scoped lookups").await;
    h.ids_ignore_project(true).await;
    refuses_like_missing(&mut h, reads(), "unscoped lookups").await;
}

#[tokio::test]
async fn the_projects_own_ids_still_work() {
    let mut h = Harness::start(Some(&["DEMO"])).await;
    h.ids_ignore_project(true).await;
    for (tool, args, field, _) in reads() {
        let id = match field {
            "run_id" => DEMO_OPEN_RUN,
            "launch_id" => DEMO_LAUNCH,
            "milestone" => 501,
            "id" => 10_001,
            _ => DEMO_SUITE,
        };
        h.ok(tool, with(&args, field, id)).await;
    }
    let preview = h
        .ok(
            "add_test_cases_to_run",
            json!({"project_key": "DEMO", "run_id": DEMO_OPEN_RUN, "suites": [{"suite_id": DEMO_SUITE}]}),
        )
        .await;
    assert!(preview["confirmation_token"].is_string(), "{preview}");
    let preview = h
        .ok(
            "create_test_run",
            json!({"project_key": "DEMO", "title": "Scoped", "milestone": 501}),
        )
        .await;
    assert!(preview["confirmation_token"].is_string(), "{preview}");
    let preview = h
        .ok(
            "record_test_results",
            json!({"project_key": "DEMO", "run_id": DEMO_OPEN_RUN, "launch_id": DEMO_LAUNCH}),
        )
        .await;
    assert!(preview["confirmation_token"].is_string(), "{preview}");
}

#[tokio::test]
async fn keys_of_other_projects_are_refused_by_the_policy() {
    let mut h = Harness::start(Some(&["DEMO"])).await;
    h.ids_ignore_project(true).await;
    for (tool, args) in [
        ("get_test_case", json!({"key": "MOBILE-1"})),
        ("get_test_case_history", json!({"key": "MOBILE-1"})),
        ("review_test_case", json!({"key": "MOBILE-1"})),
        ("update_test_case", json!({"key": "MOBILE-1", "title": "x"})),
    ] {
        let text = h.refused(tool, args).await;
        assert!(text.contains("Not allowed"), "{tool}: {text}");
    }
}
