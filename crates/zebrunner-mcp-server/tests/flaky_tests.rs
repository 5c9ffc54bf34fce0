//! The launch-window tools through rmcp's own client against the in-process sandbox.
//! `find_flaky_tests`: every reported test really flips, its history strip matches what the
//! sandbox says each launch's test did, the ranking holds, paging loses nothing, and a large
//! scan states its cost first. `analyze_launch_runtime`: its figures are the sandbox's own
//! launches and tests, summed.
// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::RmcpSetup;
use futures::TryStreamExt as _;
use serde_json::{Value, json};
use zebrunner_client::LaunchQuery;

async fn setup() -> RmcpSetup {
    RmcpSetup::start().await
}

async fn call(s: &RmcpSetup, args: Value) -> (bool, Value, String) {
    s.call("find_flaky_tests", args).await
}

#[tokio::test]
async fn flaky_tests_match_the_launches_they_came_from() {
    let s = setup().await;
    let (error, out, text) = call(
        &s,
        json!({"project_key": "DEMO", "last": 12, "limit": 100, "format": "json"}),
    )
    .await;
    assert!(!error, "{text}");
    assert_eq!(out["launches"], 12);
    let tests = out["tests"].as_array().unwrap();
    assert!(
        !tests.is_empty(),
        "the sandbox seeds tests that fail a quarter of the time"
    );
    assert_eq!(out["total"].as_u64().unwrap() as usize, tests.len());

    // The oracle: the 12 newest finished launches, straight from Zebrunner, oldest first.
    let z = &s.zebrunner;
    let project_id = z.project_id("DEMO").await.unwrap();
    let mut launches: Vec<_> = z
        .launches(project_id, LaunchQuery::default())
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .filter(|l| !matches!(l.status.as_str(), "IN_PROGRESS" | "QUEUED"))
        .take(12)
        .collect();
    launches.reverse();
    let mut strips: BTreeMap<String, String> = BTreeMap::new();
    for l in &launches {
        let tests: Vec<_> = z
            .launch_tests(project_id, l.id)
            .try_collect()
            .await
            .unwrap();
        for t in tests {
            let letter = match t.status.as_str() {
                "PASSED" => 'P',
                "FAILED" => 'F',
                "SKIPPED" => 'S',
                "ABORTED" => 'A',
                _ => '?',
            };
            strips
                .entry(format!("{}#{}", t.test_class.unwrap_or_default(), t.name))
                .or_default()
                .push(letter);
        }
    }
    let flips = |strip: &str| {
        let pf: Vec<char> = strip.chars().filter(|c| matches!(c, 'P' | 'F')).collect();
        pf.windows(2).filter(|w| w[0] != w[1]).count() as u64
    };
    let expected: usize = strips.values().filter(|s| flips(s) >= 2).count();
    assert_eq!(
        tests.len(),
        expected,
        "every test flipping twice or more, and no other"
    );
    let mut previous: Option<(u64, f64)> = None;
    for t in tests {
        let key = format!(
            "{}#{}",
            t["test_class"].as_str().unwrap_or(""),
            t["name"].as_str().unwrap()
        );
        assert_eq!(t["history"].as_str().unwrap(), strips[&key], "{key}");
        assert_eq!(t["flips"].as_u64().unwrap(), flips(&strips[&key]), "{key}");
        let rank = (
            t["flips"].as_u64().unwrap(),
            t["stability_pct"].as_f64().unwrap(),
        );
        if let Some((f, s)) = previous {
            assert!(
                f > rank.0 || (f == rank.0 && s <= rank.1),
                "ranked by flips, then stability"
            );
        }
        previous = Some(rank);
    }

    // Paging: two at a time yields the same tests in the same order.
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut args = json!({"project_key": "DEMO", "last": 12, "limit": 2, "format": "json"});
        if let Some(c) = &cursor {
            args["cursor"] = json!(c);
        }
        let (error, page, text) = call(&s, args).await;
        assert!(!error, "{text}");
        paged.extend(
            page["tests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].clone()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let names: Vec<Value> = tests.iter().map(|t| t["name"].clone()).collect();
    assert_eq!(paged, names);
}

#[tokio::test]
async fn manual_cases_flip_by_their_executions() {
    let s = setup().await;
    let z = &s.zebrunner;
    let project_id = z.project_id("DEMO").await.unwrap();
    let cases: Vec<zebrunner_client::TestCase> =
        z.test_cases("DEMO", None).try_collect().await.unwrap();
    let manual: Vec<_> = cases
        .iter()
        .filter(|c| !c.deleted && !c.deprecated && !c.draft)
        .filter(|c| {
            c.automation_state
                .as_ref()
                .is_none_or(|a| a.name != "Automated")
        })
        .collect();
    let mut expected = BTreeMap::new();
    for c in &manual {
        let mut runs: Vec<_> = z
            .test_case_executions(project_id, c.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.type_.as_deref() == Some("MANUAL"))
            .collect();
        runs.sort_by(|a, b| a.tracked_at.cmp(&b.tracked_at));
        let newest = &runs[runs.len().saturating_sub(12)..];
        let decided: Vec<bool> = newest
            .iter()
            .filter_map(|e| match e.status.as_ref().unwrap().name.as_str() {
                "Passed" => Some(true),
                "Failed" => Some(false),
                _ => None,
            })
            .collect();
        let flips = decided.windows(2).filter(|w| w[0] != w[1]).count();
        if flips >= 2 {
            expected.insert(c.key.clone(), flips as u64);
        }
    }
    assert!(!expected.is_empty(), "the seed's manual cases flip");

    // Without accept_cost the scan says what the manual cases would cost.
    let (error, _, text) = call(
        &s,
        json!({"project_key": "DEMO", "last": 12, "manual": true}),
    )
    .await;
    assert!(error && text.contains("manual cases"), "{text}");
    let (error, out, text) = call(
        &s,
        json!({"project_key": "DEMO", "last": 12, "manual": true, "accept_cost": true,
               "limit": 100, "format": "json"}),
    )
    .await;
    assert!(!error, "{text}");
    let mut got = BTreeMap::new();
    let mut out = out;
    loop {
        for t in out["tests"].as_array().unwrap() {
            if t["manual"] == true {
                got.insert(
                    t["test_cases"][0].as_str().unwrap().to_string(),
                    t["flips"].as_u64().unwrap(),
                );
            }
        }
        let Some(c) = out["next_cursor"].as_str().map(str::to_string) else {
            break;
        };
        let (_, next, _) = call(
            &s,
            json!({"project_key": "DEMO", "last": 12, "manual": true, "accept_cost": true,
                   "limit": 100, "cursor": c, "format": "json"}),
        )
        .await;
        out = next;
    }
    assert_eq!(got, expected);
}

#[tokio::test]
async fn a_large_scan_states_its_cost_before_it_runs() {
    let s = setup().await;
    let (error, _, text) = call(&s, json!({"project_key": "DEMO", "last": 200})).await;
    assert!(error, "{text}");
    assert!(
        text.contains("accept_cost=true") && text.contains("Zebrunner requests"),
        "{text}"
    );
    let (error, out, text) = call(
        &s,
        json!({"project_key": "DEMO", "last": 200, "accept_cost": true, "format": "json"}),
    )
    .await;
    assert!(!error, "{text}");
    assert!(out["requests"].as_u64().unwrap() > 50, "{out}");
    let (error, _, text) = call(
        &s,
        json!({"project_key": "DEMO", "milestone": "No such milestone"}),
    )
    .await;
    assert!(error, "{text}");
    let (error, _, text) = call(&s, json!({"project_key": "DEMO", "from": "2030-01-01"})).await;
    assert!(error && text.contains("list_launches"), "{text}");
}

#[tokio::test]
async fn launch_runtime_sums_the_launches_and_tests_it_read() {
    let s = setup().await;
    let (error, out, text) = s
        .call(
            "analyze_launch_runtime",
            json!({"project_key": "DEMO", "last": 5, "format": "json"}),
        )
        .await;
    assert!(!error, "{text}");
    let z = &s.zebrunner;
    let project_id = z.project_id("DEMO").await.unwrap();
    let launches: Vec<_> = z
        .launches(project_id, LaunchQuery::default())
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .filter(|l| !matches!(l.status.as_str(), "IN_PROGRESS" | "QUEUED"))
        .take(5)
        .collect();
    let rows = out["launches"].as_array().unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        launches.iter().map(|l| l.id).collect::<Vec<_>>()
    );
    let mut durations = Vec::new();
    let mut tests = 0;
    for (row, l) in rows.iter().zip(&launches) {
        assert_eq!(row["duration_secs"].as_i64(), l.duration, "launch {}", l.id);
        let all: Vec<_> = z
            .launch_tests(project_id, l.id)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(row["tests"].as_u64().unwrap() as usize, all.len());
        tests += all.len();
        durations.extend(all.iter().filter_map(|t| t.duration_ms()));
    }
    assert_eq!(out["window"]["tests"].as_u64().unwrap() as usize, tests);
    let classes = ["short_tests", "medium_tests", "long_tests"]
        .map(|k| out["window"][k].as_u64().unwrap() as usize);
    assert_eq!(
        classes.iter().sum::<usize>(),
        durations.len(),
        "every finished test classed"
    );
    durations.sort_unstable_by(|a, b| b.cmp(a));
    let slowest: Vec<f64> = out["slowest_tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["duration_secs"].as_f64().unwrap())
        .collect();
    assert_eq!(
        slowest,
        durations[..10]
            .iter()
            .map(|ms| *ms as f64 / 1000.0)
            .collect::<Vec<_>>()
    );
    assert!(out["change"].is_null());

    // Against a baseline: the same launches give no change at all.
    let (error, same, text) = s
        .call(
            "analyze_launch_runtime",
            json!({"project_key": "DEMO", "last": 5, "baseline_query": "", "format": "json"}),
        )
        .await;
    assert!(!error, "{text}");
    assert!(
        same["change"].is_null(),
        "an empty baseline query is no baseline"
    );
    let name = launches[0].name.clone();
    let (error, compared, text) = s.call("analyze_launch_runtime",
        json!({"project_key": "DEMO", "last": 3, "query": name, "baseline_query": name, "format": "json"}),
    )
    .await;
    assert!(!error, "{text}");
    assert_eq!(compared["change"]["avg_launch_pct"], 0.0);
    assert_eq!(compared["change"]["avg_test_pct"], 0.0);
    assert_eq!(compared["change"]["baseline_launches"], 3);

    let (error, _, text) = s
        .call(
            "analyze_launch_runtime",
            json!({"project_key": "DEMO", "medium_secs": 600}),
        )
        .await;
    assert!(error && text.contains("medium_secs"), "{text}");
}
