//! The release reports through the server's MCP entry point against the in-process sandbox,
//! each figure recomputed from what the sandbox's own REST API answers.
//! `regression_report`: a milestone's TCM runs, their completion, failures without a defect,
//! new failures against the milestone before, top defects. `release_readiness`: each check's
//! value from the newest launch of each name, the project's cases and the launch durations;
//! thresholds decide the verdict; the dashboard is a PNG of the announced size.
// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::Harness;
use futures::TryStreamExt as _;
use serde_json::json;
use zebrunner_client::{
    LaunchQuery, LaunchSummary, LaunchTest, Rql, TestCase, TestRunCase, TokenPageRequest,
    ZebrunnerClient,
};

/// The runs of a milestone and their cases, as REST gives them.
async fn runs_of(z: &ZebrunnerClient, milestone_id: i64) -> Vec<(i64, Vec<TestRunCase>)> {
    let page = z
        .test_runs_page(
            "DEMO",
            Some(&Rql::new().eq("milestone.id", milestone_id)),
            None,
            TokenPageRequest::first(100),
        )
        .await
        .unwrap();
    assert!(page.next_page_token.is_none());
    let mut out = Vec::new();
    for run in page.items {
        out.push((run.id, z.test_run_cases("DEMO", run.id).await.unwrap()));
    }
    out
}

fn status(c: &TestRunCase) -> String {
    c.result
        .as_ref()
        .and_then(|r| r.status.as_ref())
        .map(|s| s.name.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn regression_report_recounts_the_milestones_runs() {
    let mut h = Harness::start(None).await;
    let z = h.someone_else();
    let project_id = z.project_id("DEMO").await.unwrap();
    let milestones: Vec<_> = z.milestones(project_id, None).try_collect().await.unwrap();
    let by_name = |n: &str| milestones.iter().find(|m| m.name == n).unwrap().id;
    let (current, before) = (by_name("Release 1.2"), by_name("Release 1.1"));
    let runs = runs_of(&z, current).await;
    assert!(runs.len() >= 2, "the seed gives Release 1.2 two runs");

    let out = h
        .ok(
            "regression_report",
            json!({"project_key": "DEMO", "milestone": "release 1.2", "limit": 100}),
        )
        .await;
    assert_eq!(out["previous"], "milestone Release 1.1", "{out}");
    let rows = out["runs"].as_array().unwrap();
    assert_eq!(rows.len(), runs.len());
    let (mut failed_total, mut unlinked_keys, mut defects) = (0, BTreeSet::new(), BTreeMap::new());
    let mut failing_now = BTreeSet::new();
    let by_id: BTreeMap<i64, &Vec<TestRunCase>> = runs.iter().map(|(id, c)| (*id, c)).collect();
    for row in rows {
        let id = row["id"].as_i64().unwrap();
        let cases = by_id[&id];
        assert_eq!(row["cases"], cases.len());
        let executed = cases.iter().filter(|c| c.result.is_some()).count();
        assert_eq!(row["executed"], executed);
        let passed = cases.iter().filter(|c| status(c) == "Passed").count();
        assert_eq!(row["passed"], passed);
        let failed: Vec<_> = cases.iter().filter(|c| status(c) == "Failed").collect();
        assert_eq!(row["failed"], failed.len());
        failed_total += failed.len();
        let mut unlinked = 0;
        for c in failed {
            let case = c.test_case.as_ref().unwrap();
            failing_now.insert(case.id);
            match c.result.as_ref().unwrap().issue.as_ref() {
                Some(i) => {
                    *defects
                        .entry(format!(
                            "{} {}",
                            i.type_.as_deref().unwrap(),
                            i.id.as_deref().unwrap()
                        ))
                        .or_insert(0usize) += 1;
                }
                None => {
                    unlinked += 1;
                    unlinked_keys.insert(case.key.clone().unwrap());
                }
            }
        }
        assert_eq!(row["unlinked"], unlinked, "run {id}");
    }
    assert!(failed_total > 0, "the seed fails some cases in Release 1.2");
    assert_eq!(out["totals"]["failed"], failed_total);
    let listed: BTreeSet<String> = out["unlinked_failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, unlinked_keys);

    // Top defects: every defect and its count, most failures first.
    let top: BTreeMap<String, usize> = out["top_defects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["failures"].as_u64().unwrap() as usize,
            )
        })
        .collect();
    assert_eq!(top, defects);
    let counts: Vec<u64> = out["top_defects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["failures"].as_u64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");

    // New failures: failing now, not failing in Release 1.1.
    let failed_before: BTreeSet<i64> = runs_of(&z, before)
        .await
        .iter()
        .flat_map(|(_, cases)| cases)
        .filter(|c| status(c) == "Failed")
        .map(|c| c.test_case.as_ref().unwrap().id)
        .collect();
    let new = failing_now.difference(&failed_before).count();
    assert_eq!(out["new_failures_total"], new);
    assert_eq!(out["new_failures"].as_array().unwrap().len(), new);

    // Per suite: the failures add up.
    let per_suite: u64 = out["defects_per_suite"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["failures"].as_u64().unwrap())
        .sum();
    assert_eq!(per_suite as usize, failed_total);
    assert!(out["requests"].as_u64().unwrap() > runs.len() as u64);
}

#[tokio::test]
async fn regression_report_says_what_it_needs() {
    let mut h = Harness::start(None).await;
    let text = h
        .refused("regression_report", json!({"project_key": "DEMO"}))
        .await;
    assert!(
        text.contains("milestone") && text.contains("build"),
        "{text}"
    );
    let text = h
        .refused(
            "regression_report",
            json!({"project_key": "DEMO", "milestone": "Release 9"}),
        )
        .await;
    assert!(
        text.contains("Release 1.0") && text.contains("list_milestones"),
        "{text}"
    );
    let text = h
        .refused(
            "regression_report",
            json!({"project_key": "DEMO", "build": "no-such-build-xyz"}),
        )
        .await;
    assert!(text.contains("list_test_runs"), "{text}");
    // The first milestone has nothing before it: said, not guessed.
    let out = h
        .ok(
            "regression_report",
            json!({"project_key": "DEMO", "milestone": "Release 1.0"}),
        )
        .await;
    assert!(out["previous"].is_null(), "{out}");
}

/// The finished launches of a milestone, newest first, as the launch list gives them.
async fn milestone_launches(
    z: &ZebrunnerClient,
    project_id: i64,
    name: &str,
) -> Vec<LaunchSummary> {
    let query = LaunchQuery {
        milestone: Some(name.to_string()),
        query: None,
    };
    let all: Vec<LaunchSummary> = z.launches(project_id, query).try_collect().await.unwrap();
    all.into_iter()
        .filter(|l| !matches!(l.status.as_str(), "IN_PROGRESS" | "QUEUED"))
        .collect()
}

fn check<'a>(out: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    out["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {out}"))
}

fn pct(part: usize, whole: usize) -> f64 {
    (part as f64 * 1000.0 / whole as f64).round() / 10.0
}

#[tokio::test]
async fn release_readiness_checks_recount_the_release() {
    let mut h = Harness::start(None).await;
    let z = h.someone_else();
    let project_id = z.project_id("DEMO").await.unwrap();
    let launches = milestone_launches(&z, project_id, "Release 1.5").await;
    let mut newest: Vec<&LaunchSummary> = Vec::new();
    for l in &launches {
        if !newest.iter().any(|n| n.name.trim() == l.name.trim()) {
            newest.push(l);
        }
    }
    assert!(newest.len() > 1, "the seed runs several jobs per milestone");

    let out = h
        .ok(
            "release_readiness",
            json!({"project_key": "DEMO", "milestone": "Release 1.5"}),
        )
        .await;
    let ids: BTreeSet<i64> = out["launch_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(ids, newest.iter().map(|l| l.id).collect());

    // Pass rate: from the newest launches' counts.
    let passed: i64 = newest.iter().map(|l| l.passed).sum();
    let executed: i64 = newest
        .iter()
        .map(|l| l.passed + l.failed + l.skipped + l.aborted)
        .sum();
    assert_eq!(
        check(&out, "pass rate")["value"],
        pct(passed as usize, executed as usize)
    );

    // Failures without a defect and flaky tests: from every test of those launches.
    let mut tests: Vec<LaunchTest> = Vec::new();
    for l in &newest {
        let all: Vec<LaunchTest> = z
            .launch_tests(project_id, l.id)
            .try_collect()
            .await
            .unwrap();
        tests.extend(all);
    }
    let open = tests
        .iter()
        .filter(|t| t.status == "FAILED" && !t.known_issue && t.issue_references.is_empty())
        .count();
    let failures = check(&out, "failures without a defect");
    assert_eq!(failures["value"], open as f64);
    assert_eq!(failures["pass"], open == 0);
    let flaky = tests
        .iter()
        .filter(|t| t.stability.is_some_and(|s| s > 0.0 && s < 80.0))
        .count();
    assert!(flaky > 0, "the seed has flaky tests");
    assert_eq!(check(&out, "flaky tests")["value"], flaky as f64);

    // Coverage: automated among live cases.
    let cases: Vec<TestCase> = z.test_cases("DEMO", None).try_collect().await.unwrap();
    let live: Vec<&TestCase> = cases
        .iter()
        .filter(|c| !c.deleted && !c.deprecated && !c.draft)
        .collect();
    let automated = live
        .iter()
        .filter(|c| {
            c.automation_state
                .as_ref()
                .is_some_and(|s| s.name == "Automated")
        })
        .count();
    assert_eq!(
        check(&out, "automation coverage")["value"],
        pct(automated, live.len())
    );

    // Runtime: average durations against the milestone before.
    let before = milestone_launches(&z, project_id, "Release 1.4").await;
    let avg = |ls: &[LaunchSummary]| {
        let d: Vec<i64> = ls.iter().filter_map(|l| l.duration).collect();
        d.iter().sum::<i64>() as f64 / d.len() as f64
    };
    let growth = ((avg(&launches) - avg(&before)) * 1000.0 / avg(&before)).round() / 10.0;
    assert_eq!(check(&out, "runtime growth")["value"], growth);

    let all_pass = out["checks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["pass"] == true);
    assert_eq!(out["verdict"], if all_pass { "GO" } else { "NO-GO" });

    // Thresholds the release meets turn the verdict.
    let out = h
        .ok(
            "release_readiness",
            json!({"project_key": "DEMO", "milestone": "Release 1.5", "min_pass_rate": 0,
                   "max_failures_without_defect": open, "min_coverage": 0,
                   "max_flaky": flaky, "max_runtime_growth": 1000}),
        )
        .await;
    assert_eq!(out["verdict"], "GO", "{out}");
}

#[tokio::test]
async fn release_readiness_draws_its_dashboard_and_refuses_bad_thresholds() {
    let mut h = Harness::start(None).await;
    let response = h
        .request(
            "tools/call",
            json!({"name": "release_readiness", "arguments":
                {"project_key": "DEMO", "milestone": "Release 1.5", "chart": "png"}}),
        )
        .await;
    let content = response["result"]["content"].as_array().unwrap();
    let image = content.iter().find(|c| c["type"] == "image").unwrap();
    assert_eq!(image["mimeType"], "image/png");
    use base64::Engine as _;
    let png = base64::engine::general_purpose::STANDARD
        .decode(image["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (800, 400));

    let text = h
        .refused(
            "release_readiness",
            json!({"project_key": "DEMO", "milestone": "Release 1.5", "min_pass_rate": 120}),
        )
        .await;
    assert!(text.contains("min_pass_rate"), "{text}");
    let text = h
        .refused("release_readiness", json!({"project_key": "DEMO"}))
        .await;
    assert!(
        text.contains("milestone") && text.contains("query"),
        "{text}"
    );
    // The first milestone has no runtime baseline: the check says so and passes as n/a.
    let out = h
        .ok(
            "release_readiness",
            json!({"project_key": "DEMO", "milestone": "Release 1.0"}),
        )
        .await;
    let runtime = check(&out, "runtime growth");
    assert!(runtime["value"].is_null(), "{out}");
    assert!(
        runtime["detail"]
            .as_str()
            .unwrap()
            .contains("no earlier milestone"),
        "{out}"
    );
}
