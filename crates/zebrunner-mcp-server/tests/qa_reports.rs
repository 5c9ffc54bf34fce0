//! The release reports through the server's MCP entry point against the in-process sandbox,
//! each figure recomputed from what the sandbox's own REST API answers.
//! `regression_report`: a milestone's TCM runs, their completion, failures without a defect,
//! new failures against the milestone before, top defects.
// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::Harness;
use futures::TryStreamExt as _;
use serde_json::json;
use zebrunner_client::{Rql, TestRunCase, TokenPageRequest, ZebrunnerClient};

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
