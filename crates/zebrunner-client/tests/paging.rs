//! Reads against the real sandbox: both paging styles across many pages,
//! envelopes, models, caches and name resolution.

// Test helpers may unwrap/expect/panic: clippy.toml only covers #[test] fns and #[cfg(test)].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Env, REFRESH};
use futures::TryStreamExt as _;
use zebrunner_client::{
    ErrorKind, LaunchQuery, PageRequest, REPORTING_PAGE_SIZE, Rql, TestCase, TokenPageRequest,
};
use zebrunner_sandbox::seed::{
    BIG_LAUNCH_ID, BIG_LAUNCH_TESTS, DEMO_LAUNCHES, HISTORY_CASE_EXECUTIONS,
};

#[tokio::test]
async fn token_paging_reads_every_test_case() {
    let env = Env::start().await;
    let client = env.client("alice");

    let cases: Vec<TestCase> = client.test_cases("DEMO", None).try_collect().await.unwrap();
    assert_eq!(cases.len(), 250, "DEMO is seeded with 250 cases");
    let mut keys: Vec<&str> = cases.iter().map(|c| c.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 250, "no case is returned twice");

    // 250 cases in pages of 100: exactly three requests, all with maxPageSize=100.
    assert_eq!(client.requests_made(), 3);
    let log = env.requests_to("/api/public/v1/test-cases").await;
    assert_eq!(log.len(), 3);
    assert!(
        log.iter()
            .all(|r| r.query.as_deref().unwrap_or("").contains("maxPageSize=100"))
    );
    assert!(log[1].query.as_deref().unwrap_or("").contains("pageToken="));
}

#[tokio::test]
async fn token_page_requests_and_suite_cache() {
    let env = Env::start().await;
    let client = env.client("alice");

    // Walk small pages by hand using the continuation.
    let mut req = TokenPageRequest::first(7);
    let mut by_hand = Vec::new();
    let mut pages = 0;
    loop {
        let page = client.test_suites_page("DEMO", req.clone()).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 7);
        let next = page.next_request(&req);
        by_hand.extend(page.items);
        match next {
            Some(n) => req = n,
            None => break,
        }
    }
    assert!(pages >= 4, "~30 suites in pages of 7");

    let before = client.requests_made();
    let all = client.all_test_suites("DEMO").await.unwrap();
    assert_eq!(all.len(), by_hand.len());
    assert!(all.iter().any(|s| s.title == "3-D Secure"));
    let roots = all.iter().filter(|s| s.parent_suite_id.is_none()).count();
    assert!(roots >= 1 && roots < all.len());
    let used = client.requests_made() - before;
    assert_eq!(used, (all.len() as u64).div_ceil(100));

    // Cached: no further requests.
    let again = client.all_test_suites("DEMO").await.unwrap();
    assert_eq!(again.len(), all.len());
    assert_eq!(client.requests_made() - before, used);

    let one = client.test_suite("DEMO", all[0].id).await.unwrap();
    assert_eq!(one.id, all[0].id);
    assert_eq!(one.title, all[0].title);

    // Oversized requests are clamped to 100.
    env.clear_requests().await;
    client
        .test_suites_page("DEMO", TokenPageRequest::first(1000))
        .await
        .unwrap();
    let log = env.requests().await;
    assert!(
        log[0]
            .query
            .as_deref()
            .unwrap_or("")
            .contains("maxPageSize=100")
    );
}

#[tokio::test]
async fn page_paging_reads_every_launch_test() {
    let env = Env::start().await;
    let client = env.client("alice");
    let project_id = client.project("DEMO").await.unwrap().id;
    env.clear_requests().await;
    let before = client.requests_made();

    let tests: Vec<_> = client
        .launch_tests(project_id, BIG_LAUNCH_ID)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(tests.len(), BIG_LAUNCH_TESTS);
    let pages = (BIG_LAUNCH_TESTS as u64).div_ceil(u64::from(REPORTING_PAGE_SIZE));
    assert_eq!(
        client.requests_made() - before,
        pages,
        "one request per page, bearer reused"
    );
    assert_eq!(env.requests_to("/api/reporting").await.len() as u64, pages);

    let page = client
        .launch_tests_page(project_id, BIG_LAUNCH_ID, PageRequest::new(2, 100))
        .await
        .unwrap();
    assert_eq!(
        (page.total, page.total_pages, page.items.len()),
        (500, 5, 100)
    );
}

#[tokio::test]
async fn page_paging_reads_every_launch_and_milestone() {
    let env = Env::start().await;
    let client = env.client("alice");
    let project_id = client.project("DEMO").await.unwrap().id;

    let page = client
        .launches_page(project_id, &LaunchQuery::default(), PageRequest::new(1, 10))
        .await
        .unwrap();
    assert_eq!(page.total, DEMO_LAUNCHES as u64);
    assert_eq!(page.total_pages, (DEMO_LAUNCHES as u32).div_ceil(10));
    assert_eq!(page.next_request(), Some(PageRequest::new(2, 10)));

    let launches: Vec<_> = client
        .launches(project_id, LaunchQuery::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(launches.len(), DEMO_LAUNCHES as usize);
    assert!(
        launches
            .iter()
            .all(|l| l.project_id == project_id && l.id > 0)
    );
    assert!(
        launches
            .iter()
            .any(|l| l.started_at.is_some() && l.total > 0)
    );

    let ms = client
        .milestones_page(project_id, None, PageRequest::new(1, 1))
        .await
        .unwrap();
    assert!(ms.total >= 1);
    let all_ms: Vec<_> = client
        .milestones(project_id, None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all_ms.len() as u64, ms.total);
    let open = client
        .milestones_page(project_id, Some(false), PageRequest::new(1, 100))
        .await
        .unwrap();
    assert!(open.items.iter().all(|m| !m.completed));
}

#[tokio::test]
async fn projects_cases_and_tcm_internals() {
    let env = Env::start().await;
    let client = env.client("alice");

    let identity = client.check_credentials().await.unwrap();
    assert_eq!(identity.user_id, 1);
    assert_eq!(identity.username, client.login());
    assert!(identity.expires_in_secs > 0);

    let projects = client.list_projects().await.unwrap();
    let keys: Vec<&str> = projects.iter().map(|p| p.key.as_str()).collect();
    assert!(keys.contains(&"DEMO") && keys.contains(&"OLD"));
    assert!(projects.iter().any(|p| p.key == "OLD" && p.deleted));

    let demo = client.project("DEMO").await.unwrap();
    assert_eq!((demo.id, demo.name.as_str()), (1, "Demo Web Shop"));
    let n = client.requests_made();
    client.project("DEMO").await.unwrap();
    assert_eq!(client.requests_made(), n, "project by key is cached");

    let case = client.test_case_by_key("DEMO", "DEMO-1").await.unwrap();
    assert_eq!(case.key, "DEMO-1");
    assert!(!case.title.is_empty());
    let same = client.test_case_by_id("DEMO", case.id).await.unwrap();
    assert_eq!(same.key, "DEMO-1");

    let executions = client.test_case_executions(demo.id, case.id).await.unwrap();
    assert_eq!(executions.len(), HISTORY_CASE_EXECUTIONS);
    assert!(executions.iter().all(|e| e.status.is_some()));
    // DEMO-1 has a CREATE and six UPDATEs, newest first.
    let changes = client
        .test_case_changes(demo.id, case.id, 30)
        .await
        .unwrap();
    assert_eq!(changes.len(), 7);
    assert_eq!(
        changes.last().and_then(|c| c.type_.as_deref()),
        Some("CREATE")
    );
    assert!(changes.iter().all(|c| !c.items.is_empty()));
    let few = client.test_case_changes(demo.id, case.id, 3).await.unwrap();
    assert_eq!(few, changes[..3].to_vec());

    let layout = client.fields_layout("DEMO").await.unwrap();
    assert!(!layout.tabs.is_empty() && !layout.fields.is_empty());
    let statuses = client.result_statuses("DEMO").await.unwrap();
    assert!(
        statuses
            .iter()
            .any(|s| s.name.eq_ignore_ascii_case("passed"))
    );
    let groups = client.configuration_groups("DEMO").await.unwrap();
    assert!(groups.iter().all(|g| !g.name.is_empty()));
}

#[tokio::test]
async fn names_resolve_to_ids_and_filter_cases() {
    let env = Env::start().await;
    let client = env.client("alice");

    let states = client.automation_states("DEMO").await.unwrap();
    assert_eq!(states.len(), 3);
    let automated = client
        .resolve_automation_state("DEMO", "AUTOMATED")
        .await
        .unwrap();
    assert!(
        states
            .iter()
            .any(|s| s.id == automated && s.name == "Automated")
    );
    let medium = client.resolve_priority("DEMO", "medium").await.unwrap();
    assert!(
        client
            .priorities("DEMO")
            .await
            .unwrap()
            .iter()
            .any(|p| p.id == medium && p.is_default)
    );

    // Cached: resolving again costs nothing.
    let n = client.requests_made();
    client
        .resolve_automation_state("DEMO", "Not Automated")
        .await
        .unwrap();
    assert_eq!(client.requests_made(), n);

    let err = client.resolve_priority("DEMO", "Urgent").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    let msg = err.to_string();
    for name in ["Trivial", "Minor", "Medium", "Major", "Critical"] {
        assert!(msg.contains(name), "{msg}");
    }

    let filter = Rql::new().eq("automationState.id", automated);
    let cases: Vec<TestCase> = client
        .test_cases("DEMO", Some(filter))
        .try_collect()
        .await
        .unwrap();
    assert!(!cases.is_empty() && cases.len() < 250);
    assert!(
        cases
            .iter()
            .all(|c| c.automation_state.as_ref().map(|s| s.id) == Some(automated))
    );

    // A value with quotes is escaped and reaches the server as a literal.
    let none: Vec<TestCase> = client
        .test_cases(
            "DEMO",
            Some(Rql::new().contains("title", "it's \"quoted\"; \\")),
        )
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty());
    assert!(
        env.requests_to(REFRESH).await.len() == 1,
        "one bearer for all internal calls"
    );
}
