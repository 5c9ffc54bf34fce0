//! Launch actions against the sandbox: job parameters (R15), a rerun (R14)
//! and a job build (R16) sent with `write`, and a rerun refused for a
//! missing IAM permission reaching the caller as `Forbidden`.

// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Env;
use serde_json::{Map, Value, json};
use zebrunner_client::{ErrorKind, RERUN_PERMISSION, job_build_request, rerun_failures_request};

const DEMO: i64 = 1;

#[tokio::test]
async fn job_parameters_and_a_job_build() {
    let env = Env::start().await;
    let client = env.client("alice");
    let params = client.job_parameters(DEMO, 1001).await.unwrap();
    let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "suite",
            "build",
            "locale",
            "test_run_rules",
            "rerun_failures"
        ]
    );
    assert_eq!(params[0].parameter_class, "HIDDEN");
    let mut body: Map<String, Value> = params
        .iter()
        .map(|p| (p.name.clone(), p.value.clone()))
        .collect();
    body.insert("build".into(), json!("7.7.7"));
    env.clear_requests().await;
    let created = client
        .write(&job_build_request(DEMO, 1001, body))
        .await
        .unwrap();
    assert_eq!(created["status"], "QUEUED");
    assert_eq!(created["build"], "7.7.7");
    let posts: Vec<_> = env
        .requests()
        .await
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/job:build"))
        .collect();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].path, "/api/reporting/v1/launches/1001/job:build");
}

#[tokio::test]
async fn a_rerun_without_the_permission_is_forbidden_and_names_it() {
    let env = Env::start().await;
    let launch = env.client("alice").launch(DEMO, 1047).await.unwrap();
    assert_eq!(launch.is_relaunch_possible, Some(true), "{launch:?}");
    let err = env
        .client("bob")
        .write(&rerun_failures_request(DEMO, 1047))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden);
    assert!(err.to_string().contains(RERUN_PERMISSION), "{err}");
    let done = env
        .client("alice")
        .write(&rerun_failures_request(DEMO, 1047))
        .await
        .unwrap();
    assert_eq!(done["id"], 1047);
    assert_eq!(done["status"], "QUEUED");
}
