//! The launch writes through MCP against the sandbox: `rerun_launch_failures`
//! (a batch previewed from what the sandbox's REST lists, each launch rerun
//! exactly once on confirm, a single-use token, a changed plan refused, the
//! IAM permission named on a 403) and `start_launch` (overrides checked
//! against the live job parameters, the full merged map posted, the new
//! launch listed).

// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use common::Harness;
use serde_json::{Value, json};
use zebrunner_client::rerun_failures_request;

const DEMO_ID: i64 = 1;
const R: &str = "/api/reporting/v1/launches";

fn confirm(args: &Value, preview: &Value) -> Value {
    let mut a = args.clone();
    a["confirm"] = json!(true);
    a["confirmation_token"] = preview["confirmation_token"].clone();
    a
}

fn number(v: &Value) -> i64 {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

/// GET on the sandbox's internal API as alice (her own bearer).
async fn rest(h: &Harness, path: &str) -> Value {
    let http = reqwest::Client::new();
    let alice = h.sandbox.sandbox.users().into_iter().next().unwrap();
    let grant: Value = http
        .post(format!("{}/api/iam/v1/auth/refresh", h.sandbox.url))
        .json(&json!({"refreshToken": alice.token}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    http.get(format!("{}{path}", h.sandbox.url))
        .bearer_auth(grant["authToken"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `(method, path, status)` of every request the sandbox logged.
async fn logged(h: &Harness) -> Vec<(String, String, u16)> {
    let log: Vec<Value> = reqwest::get(format!("{}/__sandbox/requests", h.sandbox.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    log.iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap().to_string(),
                r["path"].as_str().unwrap().to_string(),
                r["status"].as_u64().unwrap() as u16,
            )
        })
        .collect()
}

/// How many attempts (the first run and its reruns) the sandbox holds for a launch.
async fn attempts(h: &Harness, launch: i64) -> usize {
    rest(h, &format!("{R}/{launch}/attempts?projectId={DEMO_ID}")).await["items"]
        .as_array()
        .unwrap()
        .len()
}

/// The launch ids of the rerun POSTs logged.
async fn reruns_posted(h: &Harness) -> Vec<i64> {
    logged(h)
        .await
        .into_iter()
        .filter(|(m, p, _)| m == "POST" && p.ends_with(":rerun"))
        .map(|(_, p, _)| {
            p.trim_start_matches(&format!("{R}/"))
                .trim_end_matches(":rerun")
                .parse()
                .unwrap()
        })
        .collect()
}

/// Launch ids of the diff rows that change (`true`) or are skipped (`false`).
fn rows(preview: &Value, changed: bool) -> BTreeSet<i64> {
    preview["diff"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["changed"] == changed)
        .map(|r| {
            r["field"]
                .as_str()
                .unwrap()
                .trim_start_matches("launch ")
                .parse()
                .unwrap()
        })
        .collect()
}

#[tokio::test]
async fn a_batch_preview_lists_the_eligible_launches_and_the_confirm_reruns_each_once() {
    let mut h = Harness::start(None).await;
    // What the sandbox lists for the query, and which of it qualifies.
    let listed = rest(
        &h,
        &format!("{R}?projectId={DEMO_ID}&query=Web%20Regression&page=1&pageSize=100"),
    )
    .await;
    let (mut eligible, mut skipped) = (BTreeSet::new(), BTreeSet::new());
    for l in listed["items"].as_array().unwrap() {
        let finished = !matches!(l["status"].as_str(), Some("IN_PROGRESS" | "QUEUED"));
        let failures = number(&l["failed"]) + number(&l["aborted"]);
        let id = number(&l["id"]);
        if finished && l["isRelaunchPossible"] != false && failures >= 1 {
            eligible.insert(id);
        } else {
            skipped.insert(id);
        }
    }
    assert!(eligible.len() > 1 && !skipped.is_empty(), "{listed}");

    let args = json!({"project_key": "DEMO", "query": "Web Regression", "max_launches": 50});
    let preview = h.ok("rerun_launch_failures", args.clone()).await;
    assert_eq!(preview["stage"], "preview");
    assert_eq!(rows(&preview, true), eligible);
    assert_eq!(rows(&preview, false), skipped);
    assert!(
        reruns_posted(&h).await.is_empty(),
        "a preview writes nothing"
    );

    let attempts_before = attempts(&h, *eligible.first().unwrap()).await;
    let written = h
        .ok("rerun_launch_failures", confirm(&args, &preview))
        .await;
    assert_eq!(written["stage"], "written");
    assert_eq!(written["result"].as_array().unwrap().len(), eligible.len());
    let mut posted = reruns_posted(&h).await;
    posted.sort_unstable();
    assert_eq!(
        posted,
        eligible.iter().copied().collect::<Vec<_>>(),
        "each exactly once"
    );
    let attempts_after = attempts(&h, *eligible.first().unwrap()).await;
    assert_eq!(attempts_after, attempts_before + 1);

    // Confirmed again: the launches are queued now, so nothing qualifies
    // and nothing is rerun again.
    let again = h
        .refused("rerun_launch_failures", confirm(&args, &preview))
        .await;
    assert!(again.contains("not finished (QUEUED)"), "{again}");
    assert_eq!(reruns_posted(&h).await.len(), eligible.len());
}

#[tokio::test]
async fn a_confirm_is_refused_when_a_launch_changed_since_the_preview() {
    let mut h = Harness::start(None).await;
    let args = json!({"project_key": "DEMO", "query": "Web Smoke", "max_launches": 50});
    let preview = h.ok("rerun_launch_failures", args.clone()).await;
    let first = *rows(&preview, true).first().unwrap();
    // Someone reruns one of them meanwhile: it is queued, no longer eligible.
    h.someone_else()
        .write(&rerun_failures_request(DEMO_ID, first))
        .await
        .unwrap();
    let refused = h
        .refused("rerun_launch_failures", confirm(&args, &preview))
        .await;
    assert!(refused.contains("changed since the preview"), "{refused}");
    assert_eq!(
        reruns_posted(&h).await,
        [first],
        "only the other client's rerun"
    );
}

#[tokio::test]
async fn one_launch_and_its_arguments() {
    let mut h = Harness::start(None).await;
    let m = h
        .refused("rerun_launch_failures", json!({"project_key": "DEMO"}))
        .await;
    assert!(m.contains("launch_id"), "{m}");
    // The newest DEMO launch is still running.
    let m = h
        .refused(
            "rerun_launch_failures",
            json!({"project_key": "DEMO", "launch_id": 1048}),
        )
        .await;
    assert!(m.contains("not finished (IN_PROGRESS)"), "{m}");
    // Another project's launch is not found in DEMO.
    let m = h
        .refused(
            "rerun_launch_failures",
            json!({"project_key": "DEMO", "launch_id": 3001}),
        )
        .await;
    assert!(m.contains("not found"), "{m}");
    let m = h
        .refused(
            "rerun_launch_failures",
            json!({"project_key": "DEMO", "query": "Smoke", "max_launches": 51}),
        )
        .await;
    assert!(m.contains("max_launches"), "{m}");
    assert!(reruns_posted(&h).await.is_empty());
}

#[tokio::test]
async fn a_rerun_refused_for_the_missing_permission_names_it() {
    // bob lacks reporting:test-runs:rerun in the sandbox.
    let mut h = Harness::start_as("bob", None).await;
    let args = json!({"project_key": "DEMO", "launch_id": 1047, "min_failed": 0});
    let preview = h.ok("rerun_launch_failures", args.clone()).await;
    let refused = h
        .refused("rerun_launch_failures", confirm(&args, &preview))
        .await;
    assert!(refused.contains("reporting:test-runs:rerun"), "{refused}");
    assert!(refused.contains("nothing was rerun"), "{refused}");
    let posts: Vec<u16> = logged(&h)
        .await
        .into_iter()
        .filter(|(m, p, _)| m == "POST" && p.ends_with(":rerun"))
        .map(|(_, _, s)| s)
        .collect();
    assert_eq!(posts, [403]);
}

#[tokio::test]
async fn start_launch_checks_overrides_and_posts_every_parameter() {
    let mut h = Harness::start(None).await;
    let base = json!({"project_key": "DEMO", "template_query": "Web Smoke"});
    let with = |parameters: Value| {
        let mut a = base.clone();
        a["parameters"] = parameters;
        a
    };
    let m = h.refused("start_launch", with(json!({"nope": "x"}))).await;
    assert!(
        m.contains("suite, build, locale, test_run_rules, rerun_failures"),
        "{m}"
    );
    let m = h
        .refused("start_launch", with(json!({"suite": "other.xml"})))
        .await;
    assert!(m.contains("hidden"), "{m}");
    let m = h
        .refused("start_launch", with(json!({"rerun_failures": "yes"})))
        .await;
    assert!(m.contains("true or false"), "{m}");

    let args = with(json!({"build": "9.9.9", "rerun_failures": true}));
    let preview = h.ok("start_launch", args.clone()).await;
    let template: i64 = preview["request"]["path"]
        .as_str()
        .unwrap()
        .trim_start_matches(&format!("{R}/"))
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // The newest Web Smoke launch the sandbox lists is the template.
    let listed = rest(
        &h,
        &format!("{R}?projectId={DEMO_ID}&query=Web%20Smoke&page=1&pageSize=1"),
    )
    .await;
    assert_eq!(number(&listed["items"][0]["id"]), template);
    let live = rest(
        &h,
        &format!("{R}/{template}/job/parameters?projectId={DEMO_ID}"),
    )
    .await;
    let mut expected = serde_json::Map::new();
    for p in live["items"].as_array().unwrap() {
        expected.insert(p["name"].as_str().unwrap().into(), p["value"].clone());
    }
    expected.insert("build".into(), json!("9.9.9"));
    expected.insert("rerun_failures".into(), json!(true));
    assert_eq!(preview["request"]["body"], Value::Object(expected.clone()));

    let written = h.ok("start_launch", confirm(&args, &preview)).await;
    let new_id = written["result"]["id"].as_i64().unwrap();
    assert!(
        written["next_step"]
            .as_str()
            .unwrap()
            .contains("get_launch"),
        "{written}"
    );
    let builds: Vec<(String, String, u16)> = logged(&h)
        .await
        .into_iter()
        .filter(|(m, p, _)| m == "POST" && p.ends_with("/job:build"))
        .collect();
    assert_eq!(
        builds,
        [("POST".into(), format!("{R}/{template}/job:build"), 200)]
    );
    // The new launch is the newest listed, and was built with that body.
    let newest = rest(&h, &format!("{R}?projectId={DEMO_ID}&page=1&pageSize=1")).await;
    assert_eq!(number(&newest["items"][0]["id"]), new_id);
    assert_eq!(newest["items"][0]["status"], "QUEUED");
    // The token is single use: the same confirm builds nothing more.
    let again = h.refused("start_launch", confirm(&args, &preview)).await;
    assert!(again.contains("already used"), "{again}");
    let builds_now = logged(&h)
        .await
        .into_iter()
        .filter(|(m, p, _)| m == "POST" && p.ends_with("/job:build"))
        .count();
    assert_eq!(builds_now, 1);
    let posted = rest(
        &h,
        &format!("{R}/{new_id}/job/parameters?projectId={DEMO_ID}"),
    )
    .await;
    let posted: serde_json::Map<String, Value> = posted["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_string(), p["value"].clone()))
        .collect();
    assert_eq!(posted, expected);
}

#[tokio::test]
async fn start_launch_refuses_a_launch_no_ci_job_started() {
    let mut h = Harness::start(None).await;
    let launcher = rest(
        &h,
        &format!("{R}?projectId={DEMO_ID}&query=API%20Contract&page=1&pageSize=1"),
    )
    .await;
    let id = number(&launcher["items"][0]["id"]);
    let m = h
        .refused(
            "start_launch",
            json!({"project_key": "DEMO", "launch_id": id}),
        )
        .await;
    assert!(m.contains("cannot be launched again"), "{m}");
}

#[tokio::test]
async fn a_batch_failing_part_way_says_which_reruns_were_made() {
    let mut h = Harness::start(None).await;
    let args = json!({"project_key": "DEMO", "query": "Web Regression", "max_launches": 3});
    let preview = h.ok("rerun_launch_failures", args.clone()).await;
    // In the order they are sent: the diff lists the launches to rerun first.
    let order: Vec<i64> = preview["diff"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["changed"] == true)
        .map(|r| {
            r["field"]
                .as_str()
                .unwrap()
                .trim_start_matches("launch ")
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(order.len(), 3, "{preview}");
    // Zebrunner fails the second rerun.
    let fault = reqwest::Client::new()
        .post(format!("{}/__sandbox/faults", h.sandbox.url))
        .json(&json!({"path_prefix": format!("{R}/{}:rerun", order[1]), "method": "POST", "status": 409, "count": 1}))
        .send()
        .await
        .unwrap();
    assert!(fault.status().is_success());
    let refused = h
        .refused("rerun_launch_failures", confirm(&args, &preview))
        .await;
    assert!(
        refused.contains("Only 1 of 3 writes were made"),
        "{refused}"
    );
    assert!(
        refused.contains(&format!("{R}/{}:rerun", order[0])),
        "{refused}"
    );
    assert!(refused.contains("the rest were not sent"), "{refused}");
    // The first was made, the second failed, the third never sent.
    assert_eq!(reruns_posted(&h).await, [order[0], order[1]]);
}
