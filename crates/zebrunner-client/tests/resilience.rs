//! Failure handling against the real sandbox: bearer refresh and expiry,
//! retries and their limits, the rate limit, and error messages.

// Test helpers may unwrap/expect/panic: clippy.toml only covers #[test] fns and #[cfg(test)].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use common::{Env, REFRESH};
use futures::future::join_all;
use serde_json::json;
use zebrunner_client::{
    ErrorKind, PageRequest, Rql, SecretString, TokenPageRequest, ZebrunnerClient,
};

const SUITES: &str = "/api/public/v1/test-suites";

#[tokio::test]
async fn revoked_bearer_is_refreshed_exactly_once() {
    let env = Env::start().await;
    let client = env.client("alice");
    client.project("DEMO").await.unwrap(); // refresh #1 + project
    assert_eq!(env.requests_to(REFRESH).await.len(), 1);

    env.revoke_bearers().await;
    env.clear_requests().await;
    client.list_projects().await.unwrap();
    let log = env.requests().await;
    let shape: Vec<(String, u16)> = log.iter().map(|r| (r.path.clone(), r.status)).collect();
    assert_eq!(
        shape,
        vec![
            ("/api/projects/v1/projects".to_owned(), 401),
            (REFRESH.to_owned(), 200),
            ("/api/projects/v1/projects".to_owned(), 200),
        ]
    );
}

#[tokio::test]
async fn concurrent_callers_share_one_refresh() {
    let env = Env::start().await;
    let client = env.client("alice");
    let project_id = client.project("DEMO").await.unwrap().id;
    env.revoke_bearers().await;
    env.clear_requests().await;

    let calls = (1..=8).map(|page| {
        let client = client.clone();
        async move {
            client
                .milestones_page(project_id, None, PageRequest::new(page, 1))
                .await
        }
    });
    for r in join_all(calls).await {
        r.unwrap();
    }
    assert_eq!(
        env.requests_to(REFRESH).await.len(),
        1,
        "single-flight refresh"
    );
}

#[tokio::test]
async fn expiring_bearer_is_renewed_before_use() {
    let env = Env::start().await;
    env.auth_settings(json!({"token_ttl_secs": 3})).await;
    let client = env.client("alice");
    let identity = client.check_credentials().await.unwrap();
    assert_eq!(identity.expires_in_secs, 3);
    client.list_projects().await.unwrap();
    assert_eq!(
        env.requests_to(REFRESH).await.len(),
        1,
        "bearer reused while fresh"
    );

    tokio::time::sleep(Duration::from_millis(3200)).await;
    env.clear_requests().await;
    client.list_projects().await.unwrap();
    let log = env.requests().await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!((log[0].path.as_str(), log[1].status), (REFRESH, 200));
    assert!(
        log.iter().all(|r| r.status != 401),
        "renewed proactively: {log:?}"
    );
}

#[tokio::test]
async fn retries_503_then_succeeds() {
    let env = Env::start().await;
    let client = env.client("alice");
    env.fault(json!({"path_prefix": SUITES, "status": 503, "count": 2}))
        .await;

    let page = client
        .test_suites_page("DEMO", TokenPageRequest::default())
        .await
        .unwrap();
    assert!(!page.items.is_empty());
    let statuses: Vec<u16> = env.requests().await.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![503, 503, 200]);
    assert_eq!(client.requests_made(), 3);
}

#[tokio::test]
async fn retries_429_after_retry_after() {
    let env = Env::start().await;
    let client = env.client("alice");
    env.fault(json!({"path_prefix": SUITES, "status": 429, "count": 1, "retry_after_secs": 1}))
        .await;

    let started = Instant::now();
    client
        .test_suites_page("DEMO", TokenPageRequest::default())
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(950),
        "honours Retry-After: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    let statuses: Vec<u16> = env.requests().await.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 200]);
}

#[tokio::test]
async fn retry_after_beyond_the_deadline_fails_fast() {
    let env = Env::start().await;
    let mut cfg = env.config("alice");
    cfg.retry_deadline = Duration::from_secs(2);
    let client = ZebrunnerClient::new(cfg).unwrap();
    env.fault(json!({"path_prefix": SUITES, "status": 429, "retry_after_secs": 30}))
        .await;

    let started = Instant::now();
    let err = client
        .test_suites_page("DEMO", TokenPageRequest::default())
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "never sleeps past the deadline"
    );
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.status(), Some(429));
    assert!(err.to_string().contains("rate limiting"), "{err}");
    assert_eq!(env.requests().await.len(), 1);
}

#[tokio::test]
async fn persistent_503_stops_at_the_deadline() {
    let env = Env::start().await;
    let mut cfg = env.config("alice");
    cfg.retry_deadline = Duration::from_millis(1500);
    let client = ZebrunnerClient::new(cfg).unwrap();
    env.fault(json!({"path_prefix": SUITES, "status": 503}))
        .await;

    let started = Instant::now();
    let err = client
        .test_suites_page("DEMO", TokenPageRequest::default())
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(2000), "{elapsed:?}");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let attempts = env.requests().await.len();
    assert!(attempts >= 2, "retried at least once, got {attempts}");
    assert!(
        err.to_string()
            .contains(&format!("after {attempts} attempt")),
        "{err}"
    );
}

#[tokio::test]
async fn iam_refresh_is_retried() {
    let env = Env::start().await;
    let client = env.client("alice");
    env.fault(json!({"path_prefix": REFRESH, "status": 502, "count": 1}))
        .await;
    client.check_credentials().await.unwrap();
    let statuses: Vec<u16> = env.requests().await.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![502, 200]);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let env = Env::start().await;
    let client = env.client("alice");

    env.fault(json!({"path_prefix": SUITES, "status": 400, "count": 1}))
        .await;
    let err = client
        .test_suites_page("DEMO", TokenPageRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.status()),
        (ErrorKind::BadRequest, Some(400))
    );
    assert_eq!(env.requests().await.len(), 1);

    env.clear_requests().await;
    let err = client
        .test_case_by_key("DEMO", "DEMO-99999")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(
        err.to_string()
            .contains("test case DEMO-99999 in project DEMO"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("GET /api/public/v1/test-cases/key:DEMO-99999"),
        "{err}"
    );
    assert_eq!(env.requests().await.len(), 1);

    env.clear_requests().await;
    env.fault(json!({"path_prefix": SUITES, "status": 409, "count": 1}))
        .await;
    let err = client.test_suite("DEMO", 101).await.unwrap_err();
    assert_eq!((err.kind(), err.status()), (ErrorKind::Other, Some(409)));
    assert_eq!(env.requests().await.len(), 1);
}

#[tokio::test]
async fn rate_limit_spaces_requests() {
    let env = Env::start().await;
    let mut cfg = env.config("alice");
    cfg.requests_per_second = NonZeroU32::new(5);
    let client = ZebrunnerClient::new(cfg).unwrap();

    let started = Instant::now();
    for _ in 0..10 {
        client.result_statuses("DEMO").await.unwrap();
    }
    // A burst of 5, then one every 200 ms.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert_eq!(client.requests_made(), 10);
}

/// Every rendering of an error must leave the token and bearer out.
fn assert_no_secrets(err: &zebrunner_client::Error, token: &str) {
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(token), "token leaked: {text}");
        assert!(!text.contains("Bearer"), "bearer leaked: {text}");
        assert!(!text.contains("Basic "), "auth header leaked: {text}");
    }
}

#[tokio::test]
async fn wrong_token_gives_an_actionable_401() {
    let env = Env::start().await;
    let mut cfg = env.config("alice");
    let wrong = "zbr_not-the-right-token-0000";
    cfg.token = SecretString::from(wrong);
    let client = ZebrunnerClient::new(cfg.clone()).unwrap();
    assert!(!format!("{cfg:?}").contains(wrong));
    assert!(!format!("{client:?}").contains(wrong));

    let err = client
        .test_suites_page("DEMO", TokenPageRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "Zebrunner rejected the credentials for {}",
            client.login()
        )),
        "{msg}"
    );
    assert!(msg.contains("ZEBRUNNER_LOGIN/ZEBRUNNER_TOKEN"), "{msg}");
    assert_no_secrets(&err, wrong);

    // The internal side fails at IAM, once, without retries.
    env.clear_requests().await;
    let err = client.check_credentials().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert_no_secrets(&err, wrong);
    assert_eq!(env.requests().await.len(), 1);
    let err = client.list_projects().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
}

#[tokio::test]
async fn forbidden_project_names_user_and_project() {
    let env = Env::start().await;
    let client = env.client("bob");
    let token = env.user("bob").token;

    let err = client
        .test_cases_page("API", None, TokenPageRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden);
    let msg = err.to_string();
    assert!(
        msg.contains(client.login()) && msg.contains("project API"),
        "{msg}"
    );
    assert_no_secrets(&err, &token);
    // Bob can read DEMO.
    client
        .test_cases_page("DEMO", None, TokenPageRequest::first(1))
        .await
        .unwrap();
}

#[tokio::test]
async fn rejected_filter_quotes_the_rql() {
    let env = Env::start().await;
    let client = env.client("alice");
    let token = env.user("alice").token;

    let filter = Rql::new().eq("automationState.name", "Automated");
    let err = client
        .test_cases_page("DEMO", Some(&filter), TokenPageRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidFilter);
    assert!(matches!(err.status(), Some(400 | 422)));
    let msg = err.to_string();
    assert!(msg.contains("automationState.name = 'Automated'"), "{msg}");
    assert_no_secrets(&err, &token);
    assert_eq!(env.requests().await.len(), 1);
}

#[tokio::test]
async fn connection_errors_are_retried_within_the_deadline() {
    // A port that was just free: connections are refused.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = zebrunner_client::ZebrunnerUrl::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let mut cfg =
        zebrunner_client::ClientConfig::new(url, "alice", SecretString::from("tok-123456"));
    cfg.retry_deadline = Duration::from_millis(1200);
    let client = ZebrunnerClient::new(cfg).unwrap();

    let started = Instant::now();
    let err = client.result_statuses("DEMO").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Network);
    assert!(err.is_transient());
    assert!(
        client.requests_made() >= 2,
        "retried: {}",
        client.requests_made()
    );
    assert!(
        started.elapsed() < Duration::from_millis(1700),
        "{:?}",
        started.elapsed()
    );
    assert_no_secrets(&err, "tok-123456");
}

#[tokio::test]
async fn reachability_is_asked_once_without_credentials() {
    let env = Env::start().await;
    let url = zebrunner_client::ZebrunnerUrl::parse(&env.sandbox.url).unwrap();
    let workspace =
        zebrunner_client::Workspace::new(&zebrunner_client::WorkspaceConfig::new(url)).unwrap();
    workspace.check_reachable().await.unwrap();
    let asked = env.requests().await;
    assert_eq!(asked.len(), 1);
    assert_eq!((asked[0].path.as_str(), asked[0].status), (SUITES, 401));
    assert_eq!(asked[0].user, None, "no credentials were sent");

    // A failing Zebrunner is not retried and says so.
    env.clear_requests().await;
    env.fault(json!({"path_prefix": SUITES, "status": 503, "count": 5}))
        .await;
    let err = workspace.check_reachable().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(env.requests().await.len(), 1);

    // Nobody listening.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = zebrunner_client::ZebrunnerUrl::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let gone =
        zebrunner_client::Workspace::new(&zebrunner_client::WorkspaceConfig::new(url)).unwrap();
    let err = gone.check_reachable().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Network);
    assert!(
        err.to_string().contains("could not reach Zebrunner"),
        "{err}"
    );
}
