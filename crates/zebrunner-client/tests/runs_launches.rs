//! TCM test runs and launch details against the real sandbox: token paging
//! with RQL and sortBy, single runs with their cases, launch details and
//! attempts.

// Test helpers may unwrap/expect/panic: clippy.toml only covers #[test] fns and #[cfg(test)].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Env;
use zebrunner_client::{ErrorKind, Rql, TestRun, TokenPageRequest};
use zebrunner_sandbox::seed::BIG_LAUNCH_ID;

async fn all_runs(
    client: &zebrunner_client::ZebrunnerClient,
    filter: Option<&Rql>,
    sort: Option<&str>,
    size: u32,
) -> (Vec<TestRun>, u32) {
    let mut req = TokenPageRequest::first(size);
    let mut runs = Vec::new();
    let mut pages = 0;
    loop {
        let page = client
            .test_runs_page("DEMO", filter, sort, req.clone())
            .await
            .unwrap();
        pages += 1;
        assert!(page.items.len() <= size as usize);
        let next = page.next_request(&req);
        runs.extend(page.items);
        match next {
            Some(n) => req = n,
            None => return (runs, pages),
        }
    }
}

#[tokio::test]
async fn test_runs_page_filter_and_sort() {
    let env = Env::start().await;
    let client = env.client("alice");

    // DEMO has runs 801-812; pages of 5 need three requests.
    let (runs, pages) = all_runs(&client, None, Some("-title"), 5).await;
    let mut ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
    assert_eq!(pages, 3);
    let titles: Vec<&str> = runs.iter().map(|r| r.title.as_str()).collect();
    let mut sorted = titles.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(titles, sorted, "sortBy=-title is honoured");
    ids.sort_unstable();
    assert_eq!(ids, (801..=812).collect::<Vec<_>>());
    assert!(runs.iter().all(|r| r.created_by.is_some()));

    let closed = Rql::new().eq("closed", true);
    let (closed_runs, _) = all_runs(&client, Some(&closed), None, 100).await;
    assert_eq!(closed_runs.len(), 8, "801-808 are closed");
    assert!(closed_runs.iter().all(|r| r.closed));
    let log = env.requests_to("/api/public/v1/test-runs").await;
    assert!(
        log.iter()
            .any(|r| r.query.as_deref().unwrap_or("").contains("sortBy=-title"))
    );

    let bad = client
        .test_runs_page("DEMO", None, Some("nope"), TokenPageRequest::default())
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::BadRequest);
}

#[tokio::test]
async fn one_run_and_its_cases() {
    let env = Env::start().await;
    let client = env.client("alice");

    let run = client.test_run("DEMO", 801).await.unwrap();
    assert_eq!(run.id, 801);
    let cases = client.test_run_cases("DEMO", 801).await.unwrap();
    assert!(!cases.is_empty());
    assert!(cases.iter().all(|c| {
        c.test_case
            .as_ref()
            .and_then(|t| t.key.as_deref())
            .is_some_and(|k| k.starts_with("DEMO-"))
    }));
    // The per-status summary counts exactly the run's cases.
    let summed: i64 = run
        .execution_summaries
        .iter()
        .map(|s| s.test_cases_count)
        .sum();
    assert_eq!(summed as usize, cases.len());

    let missing = client.test_run("DEMO", 999_999).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn launch_details_and_attempts() {
    let env = Env::start().await;
    let client = env.client("alice");
    let project_id = client.project("DEMO").await.unwrap().id;

    let launch = client.launch(project_id, BIG_LAUNCH_ID).await.unwrap();
    assert_eq!(launch.id, BIG_LAUNCH_ID);
    let counted = launch.passed
        + launch.failed
        + launch.failed_as_known
        + launch.skipped
        + launch.aborted
        + launch.in_progress;
    assert_eq!(counted, 500, "launch 1041 has 500 tests");
    assert!(launch.started_at.is_some());
    assert!(!launch.labels.is_empty() && !launch.artifacts.is_empty());

    let attempts = client
        .launch_attempts(project_id, BIG_LAUNCH_ID)
        .await
        .unwrap();
    assert!(!attempts.is_empty());
    assert!(attempts[0].started_at.is_some());

    let missing = client.launch(project_id, 424_242).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn test_history_is_newest_first_and_bounded() {
    let env = Env::start().await;
    let client = env.client("alice");
    let project_id = client.project("DEMO").await.unwrap().id;
    let failed = client
        .launch_tests_page(
            project_id,
            BIG_LAUNCH_ID,
            zebrunner_client::PageRequest::new(1, 100),
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|t| t.status == "FAILED")
        .expect("launch 1041 has failures on its first page");

    env.clear_requests().await;
    let history = client
        .launch_test_history(project_id, BIG_LAUNCH_ID, failed.id, 5)
        .await
        .unwrap();
    assert!(!history.is_empty() && history.len() <= 5);
    // The newest entry is the test itself, in this launch.
    assert_eq!(history[0].test_id, failed.id);
    assert_eq!(history[0].test_run_id, Some(BIG_LAUNCH_ID));
    assert_eq!(history[0].status, "FAILED");
    let starts: Vec<i64> = history.iter().filter_map(|h| h.start_time).collect();
    assert!(starts.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let log = env.requests_to("/api/reporting").await;
    assert_eq!(log.len(), 1, "one request");
    assert!(log[0].query.as_deref().unwrap_or("").contains("limit=5"));

    let missing = client
        .launch_test_history(project_id, BIG_LAUNCH_ID, 1, 5)
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn not_found_for_another_project_reads_like_zebrunners_404() {
    let env = Env::start().await;
    let c = env.client("alice");
    // A suite and a launch of MOBILE, asked for in DEMO: Zebrunner's 404s...
    let real = c.test_suite("DEMO", 132).await.unwrap_err();
    assert_eq!(real.kind(), ErrorKind::NotFound);
    let made = c.public_not_found(["test-suites", "132"], "test suite 132 in project DEMO");
    // ... and the errors a client builds for an answer of another project.
    assert_eq!(made.kind(), ErrorKind::NotFound);
    assert_eq!(made.to_string(), real.to_string());
    let demo = c.project_id("DEMO").await.unwrap();
    let real = c.launch(demo, 2001).await.unwrap_err();
    let made = c.internal_not_found(
        ["api", "reporting", "v1", "launches", "2001"],
        format!("launch 2001 in project id {demo}"),
    );
    assert_eq!(made.to_string(), real.to_string());
}
