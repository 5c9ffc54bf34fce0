//! `defect_analytics` through rmcp's own client against the in-process sandbox: each view's
//! figures recounted from the sandbox's launches and tests (the REST answers, not the widget
//! rows), and the refusals (unknown view or period, a defect without or with an unknown
//! hashcode). Also the widget endpoint's own errors, through the client.
// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::RmcpSetup;
use futures::TryStreamExt as _;
use serde_json::{Value, json};
use zebrunner_client::{ErrorKind, LaunchQuery, LaunchSummary, LaunchTest, ZebrunnerClient};

const DAY_MS: i64 = 86_400_000;

async fn setup() -> RmcpSetup {
    RmcpSetup::start().await
}

async fn call(s: &RmcpSetup, args: Value) -> (bool, Value, String) {
    s.call("defect_analytics", args).await
}

/// What Zebrunner's REST API says: DEMO's launches since `days` before the
/// sandbox clock (the newest launch start of any project), with their tests.
struct Oracle {
    launches: Vec<(LaunchSummary, Vec<LaunchTest>)>,
}

impl Oracle {
    async fn load(z: &ZebrunnerClient, days: Option<i64>) -> Oracle {
        let mut now = i64::MIN;
        for p in z.list_projects().await.unwrap() {
            let Ok(pid) = z.project_id(&p.key).await else {
                continue;
            };
            let ls: Vec<LaunchSummary> = z
                .launches(pid, LaunchQuery::default())
                .try_collect()
                .await
                .unwrap_or_default();
            now = now.max(
                ls.iter()
                    .filter_map(|l| l.started_at)
                    .max()
                    .unwrap_or(i64::MIN),
            );
        }
        let pid = z.project_id("DEMO").await.unwrap();
        let all: Vec<LaunchSummary> = z
            .launches(pid, LaunchQuery::default())
            .try_collect()
            .await
            .unwrap();
        let mut launches = Vec::new();
        for l in all {
            let start = l.started_at.unwrap();
            if days.is_some_and(|d| start < now - d * DAY_MS) {
                continue;
            }
            let tests: Vec<LaunchTest> = z.launch_tests(pid, l.id).try_collect().await.unwrap();
            launches.push((l, tests));
        }
        Oracle { launches }
    }

    fn failures(&self) -> impl Iterator<Item = (&LaunchSummary, &LaunchTest)> {
        self.launches
            .iter()
            .flat_map(|(l, ts)| ts.iter().map(move |t| (l, t)))
            .filter(|(_, t)| t.status == "FAILED")
    }
}

fn defect_key(t: &LaunchTest) -> String {
    t.issue_references
        .first()
        .and_then(|r| r.value.clone())
        .unwrap_or_else(|| "TO REVIEW".into())
}

fn no_html(out: &Value) {
    let text = out.to_string();
    assert!(!text.contains("<a"), "raw HTML reached the answer: {text}");
}

#[tokio::test]
async fn top_defects_share_out_every_failure_of_the_period() {
    let s = setup().await;
    let (error, out, text) = call(
        &s,
        json!({"project_key": "DEMO", "view": "top_defects", "period": "Last 14 Days", "limit": 100, "format": "json"}),
    )
    .await;
    assert!(!error, "{text}");
    no_html(&out);
    let oracle = Oracle::load(&s.zebrunner, Some(14)).await;
    let mut per: BTreeMap<String, u64> = BTreeMap::new();
    for (_, t) in oracle.failures() {
        *per.entry(defect_key(t)).or_default() += 1;
    }
    let total: u64 = per.values().sum();
    assert!(total > 0, "the seed fails tests every week");
    assert_eq!(out["total"], total);
    let rows = out["rows"].as_array().unwrap();
    assert_eq!(rows.len(), per.len());
    assert_eq!(out["rows_total"], per.len());
    let mut last = u64::MAX;
    for r in rows {
        let name = r["name"].as_str().unwrap();
        let n = r["failures"].as_u64().unwrap();
        assert_eq!(Some(&n), per.get(name), "{name}");
        assert!(n <= last, "most failures first");
        last = n;
        let pct = r["pct"].as_f64().unwrap();
        assert!(
            (pct - n as f64 * 100.0 / total as f64).abs() < 0.06,
            "{name}: {pct}"
        );
        if name != "TO REVIEW" {
            assert!(
                r["url"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("/browse/{name}"))
            );
        }
    }
    // The Markdown is a table with links, not HTML.
    let (_, _, md) = call(
        &s,
        json!({"project_key": "DEMO", "view": "top_defects", "period": "Last 14 Days", "limit": 1}),
    )
    .await;
    assert!(md.contains(&format!("({total} failures)")), "{md}");
    assert!(md.contains("raise `limit`"), "{md}");
    assert!(!md.contains("<a "), "{md}");
}

#[tokio::test]
async fn defect_review_and_one_defect_match_the_failed_tests() {
    let s = setup().await;
    let (error, out, text) = call(
        &s,
        json!({"project_key": "DEMO", "view": "defect_review", "period": "last 30 days", "limit": 100, "format": "json"}),
    )
    .await;
    // Period values are Zebrunner's spelling exactly; the refusal names them.
    assert!(error);
    assert!(text.contains("Last 30 Days"), "{text}");
    assert!(out.is_null());

    let (error, out, text) = call(
        &s,
        json!({"project_key": "DEMO", "view": "defect_review", "period": "Last 30 Days", "limit": 100, "format": "json"}),
    )
    .await;
    assert!(!error, "{text}");
    no_html(&out);
    let oracle = Oracle::load(&s.zebrunner, Some(30)).await;
    let mut per: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
    for (l, t) in oracle.failures() {
        per.entry(t.message_hash_code.unwrap())
            .or_default()
            .push((l.id, t.id));
    }
    let rows = out["rows"].as_array().unwrap();
    assert_eq!(rows.len(), per.len());
    for r in rows {
        let hash = r["hashcode"].as_i64().unwrap();
        assert_eq!(r["failures"].as_u64().unwrap() as usize, per[&hash].len());
        assert!(r["reason"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(r["since"].as_str().unwrap() <= r["last_seen"].as_str().unwrap());
    }

    // The biggest group, as the defect view sees it.
    let hash = rows[0]["hashcode"].as_i64().unwrap();
    let (error, one, text) = call(
        &s,
        json!({"project_key": "DEMO", "view": "defect", "hashcode": hash, "period": "Last 30 Days", "limit": 100, "format": "json"}),
    )
    .await;
    assert!(!error, "{text}");
    no_html(&one);
    let expected: BTreeSet<(i64, i64)> = per[&hash].iter().copied().collect();
    let got: BTreeSet<(i64, i64)> = one["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["launch_id"].as_i64().unwrap(),
                r["test_id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, expected);
    assert_eq!(one["total"].as_u64().unwrap() as usize, expected.len());
    let launches: BTreeSet<i64> = expected.iter().map(|(l, _)| *l).collect();
    assert_eq!(one["launches"].as_u64().unwrap() as usize, launches.len());
    let reason = one["reason"].as_str().unwrap();
    let (_, first) = oracle
        .failures()
        .find(|(_, t)| t.message_hash_code == Some(hash))
        .unwrap();
    assert!(
        first
            .message
            .as_deref()
            .unwrap()
            .starts_with(reason.trim_end_matches('…'))
    );
}

#[tokio::test]
async fn platforms_sum_the_tests_of_each_platform() {
    let s = setup().await;
    let (error, out, text) = call(
        &s,
        json!({"project_key": "DEMO", "view": "platforms", "period": "Total", "format": "json"}),
    )
    .await;
    assert!(!error, "{text}");
    let oracle = Oracle::load(&s.zebrunner, None).await;
    let pid = s.zebrunner.project_id("DEMO").await.unwrap();
    // platform -> passed, failed, known issues, skipped, aborted
    let mut per: BTreeMap<String, [u64; 5]> = BTreeMap::new();
    for (l, tests) in &oracle.launches {
        let platform = s
            .zebrunner
            .launch(pid, l.id)
            .await
            .unwrap()
            .platform
            .unwrap();
        let c = per.entry(platform).or_default();
        for t in tests {
            match (t.status.as_str(), t.known_issue) {
                ("PASSED", _) => c[0] += 1,
                ("FAILED", false) => c[1] += 1,
                ("FAILED", true) => c[2] += 1,
                ("SKIPPED", _) => c[3] += 1,
                ("ABORTED", _) => c[4] += 1,
                _ => {}
            }
        }
    }
    let rows = out["rows"].as_array().unwrap();
    let got: BTreeMap<String, [u64; 5]> = rows
        .iter()
        .map(|r| {
            let n = |k: &str| r[k].as_u64().unwrap();
            (
                r["name"].as_str().unwrap().to_owned(),
                [
                    n("passed"),
                    n("failed"),
                    n("known_issues"),
                    n("skipped"),
                    n("aborted"),
                ],
            )
        })
        .collect();
    assert_eq!(got, per);
    let executed: u64 = per.values().flatten().sum();
    assert_eq!(out["total"], executed);
    for r in rows {
        let c = &got[r["name"].as_str().unwrap()];
        let rate = c[0] as f64 * 100.0 / c.iter().sum::<u64>() as f64;
        assert!((r["pct"].as_f64().unwrap() - rate).abs() < 0.06);
    }
}

#[tokio::test]
async fn wrong_arguments_are_refused_with_what_to_send() {
    let s = setup().await;
    let cases = [
        (
            json!({"project_key": "DEMO", "view": "everything"}),
            vec!["top_defects", "defect_review", "platforms"],
        ),
        (json!({"project_key": "DEMO"}), vec!["view", "top_defects"]),
        (
            json!({"project_key": "DEMO", "view": "top_defects", "period": "Last 8 Days"}),
            vec!["Last 7 Days", "Total"],
        ),
        (
            json!({"project_key": "DEMO", "view": "defect"}),
            vec!["hashcode", "defect_review"],
        ),
        (
            json!({"project_key": "DEMO", "view": "platforms", "hashcode": 5}),
            vec!["only read by view=defect"],
        ),
        (
            json!({"project_key": "DEMO", "view": "defect", "hashcode": 12345, "period": "Total"}),
            vec!["no failure with hashcode 12345", "defect_review"],
        ),
    ];
    for (args, words) in cases {
        let (error, _, text) = call(&s, args.clone()).await;
        assert!(error, "{args} was accepted: {text}");
        for w in words {
            assert!(text.contains(w), "{args}: {text:?} lacks {w:?}");
        }
    }
}

#[tokio::test]
async fn the_widget_endpoint_answers_as_zebrunner() {
    let s = setup().await;
    let z = &s.zebrunner;
    let pid = z.project_id("DEMO").await.unwrap();
    let e = z
        .widget_sql(pid, 1, json!({"PERIOD": "Total"}), 10)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = z
        .widget_sql(pid, 4, json!({"PERIOD": "Last 8 Days"}), 10)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadRequest, "{e}");
    assert!(e.to_string().contains("PERIOD"), "{e}");
    // Case-insensitive period; rows capped, the count kept.
    let rows = z
        .widget_sql(pid, 9, json!({"PERIOD": "total"}), 1)
        .await
        .unwrap();
    assert_eq!(rows.rows.len(), 1);
    assert!(rows.total > 1);
}
