//! Call-path tests: the HTTP app and the MCP handler driven in-process,
//! against the sandbox Zebrunner, an in-process OpenID issuer and a real
//! SQLite audit database. They cover what the JavaScript and Python
//! end-to-end suites cover from outside (refusals, write step-up, session
//! binding, audit records, toolset narrowing), in seconds and without a
//! binary.
// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};

use support::{Harness, READ, Source, WRITE};
use zebrunner_mcp_server::transport::http::limits::LimitsConfig;

#[tokio::test]
async fn anonymous_refusals_are_counted_not_stored() {
    let h = Harness::start(Default::default()).await;
    for _ in 0..200 {
        let response = h.post(None, None, &h.initialize()).await;
        assert_eq!(response.status(), 401);
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.starts_with("Bearer resource_metadata="),
            "{challenge}"
        );
    }
    let preflight = h
        .http
        .request(reqwest::Method::OPTIONS, h.mcp_url())
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_client_error());
    assert_eq!(h.audit_rows().await.len(), 0, "anonymous refusals stored");
    assert_eq!(h.observer_anonymous(), 201);
}

#[tokio::test]
async fn an_authenticated_refusal_leaves_one_record() {
    let h = Harness::start(Default::default()).await;
    let token = h.token("alice", &["openid"], &["qa"]);
    let response = h.post(Some(&token), None, &h.initialize()).await;
    assert_eq!(response.status(), 403);
    let rows = h.audit_rows().await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["error_class"], "insufficient_scope");
    assert_eq!(rows[0]["user_key"], "uid:00ualice");
}

#[tokio::test]
async fn a_tool_call_leaves_one_record_with_its_zebrunner_requests() {
    let h = Harness::start(Default::default()).await;
    let token = h.token("alice", &[READ], &["qa"]);
    let session = h.open_session(&token).await;
    let answer = h
        .call(&token, &session, "list_projects", json!({"format": "json"}))
        .await;
    assert_eq!(answer["isError"], false, "{answer}");
    let rows = h.audit_rows().await;
    let kinds: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap(),
                r["tool"]
                    .as_str()
                    .unwrap_or(r["error_class"].as_str().unwrap_or("")),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("authorization", "session_opened"),
            ("tool_call", "list_projects")
        ]
    );
    assert!(!rows[1]["zebrunner_requests"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_session_id_alone_lets_nobody_in() {
    let h = Harness::start(Default::default()).await;
    let alice = h.token("alice", &[READ], &["qa"]);
    let bob = h.token("bob", &[READ], &["qa"]);
    let session = h.open_session(&alice).await;
    // Another user on alice's session.
    let response = h.post(Some(&bob), Some(&session), &h.list_tools()).await;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "session_not_yours");
    // A session id nobody was given (or one whose binding is gone).
    let response = h
        .post(Some(&alice), Some("not-a-session"), &h.list_tools())
        .await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "session_not_found");
    // Closed sessions are unbound too.
    let closed = h
        .http
        .delete(h.mcp_url())
        .bearer_auth(&alice)
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-06-18")
        .send()
        .await
        .unwrap();
    assert!(closed.status().is_success(), "{}", closed.status());
    let response = h.post(Some(&alice), Some(&session), &h.list_tools()).await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn writes_need_the_write_scope() {
    let h = Harness::start(Default::default()).await;
    let reader = h.token("alice", &[READ], &["qa"]);
    let session = h.open_session(&reader).await;
    let response = h
        .post(
            Some(&reader),
            Some(&session),
            &h.tool_call(
                "create_test_suite",
                json!({"project_key": "DEMO", "title": "x"}),
            ),
        )
        .await;
    assert_eq!(response.status(), 403);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    assert!(challenge.contains(WRITE), "{challenge}");
    let writer = h.token("alice", &[READ, WRITE], &["qa"]);
    let session = h.open_session(&writer).await;
    let preview = h
        .call(
            &writer,
            &session,
            "create_test_suite",
            json!({"project_key": "DEMO", "title": "x", "format": "json"}),
        )
        .await;
    assert_eq!(
        preview["structuredContent"]["stage"], "preview",
        "{preview}"
    );
}

#[tokio::test]
async fn the_toolsets_header_narrows_what_a_request_sees() {
    let h = Harness::start(Default::default()).await;
    let token = h.token("alice", &[READ, WRITE], &["qa"]);
    let session = h.open_session(&token).await;
    let all = h.tool_names(&token, &session, None).await;
    let cases = h.tool_names(&token, &session, Some("cases")).await;
    assert!(all.contains(&"list_launches".to_string()));
    assert!(cases.contains(&"search_test_cases".to_string()));
    assert!(!cases.contains(&"list_launches".to_string()), "{cases:?}");
    assert!(
        !cases.contains(&"create_test_case".to_string()),
        "{cases:?}"
    );
    // A narrowed-away tool is refused like one that does not exist.
    let response = h
        .post_with(
            Some(&token),
            Some(&session),
            &h.tool_call("list_launches", json!({"project_key": "DEMO"})),
            &[("x-zebrunner-toolsets", "cases")],
        )
        .await;
    let message = support::rpc_message(response).await;
    assert_eq!(message["error"]["message"], "tool not found", "{message}");
}

#[tokio::test]
async fn signed_in_callers_never_see_the_service_account() {
    let h = Harness::start_with_bad_token().await;
    let token = h.token("alice", &[READ], &["qa"]);
    let session = h.open_session(&token).await;
    let answer = h.call(&token, &session, "list_projects", json!({})).await;
    assert_eq!(answer["isError"], true, "{answer}");
    let text = answer["content"][0]["text"].as_str().unwrap();
    assert!(!text.contains(support::SERVICE_LOGIN), "{text}");
    assert!(!text.contains("127.0.0.1"), "{text}");
    assert!(!text.contains("http://"), "{text}");
    assert!(text.contains("reference "), "{text}");
    let rows = h.audit_rows().await;
    let call = rows.iter().find(|r| r["kind"] == "tool_call").unwrap();
    assert_eq!(call["error_class"], "zebrunner_unauthorized");
    assert!(
        text.contains(call["correlation_id"].as_str().unwrap()),
        "{text}"
    );
}

#[tokio::test]
async fn forged_cursors_are_refused_not_trusted() {
    let h = Harness::start(Default::default()).await;
    let token = h.token("alice", &[READ], &["qa"]);
    let session = h.open_session(&token).await;
    use base64::Engine;
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(br#"{"q":"x","t":null,"o":0,"n":18446744073709551615}"#);
    for (tool, args) in [
        (
            "search_test_cases",
            json!({"project_key": "DEMO", "cursor": forged}),
        ),
        (
            "list_test_suites",
            json!({"project_key": "DEMO", "cursor": forged}),
        ),
        (
            "list_launches",
            json!({"project_key": "DEMO", "cursor": forged}),
        ),
    ] {
        let answer = h.call(&token, &session, tool, args).await;
        assert_eq!(answer["isError"], true, "{tool}: {answer}");
        let text = answer["content"][0]["text"].as_str().unwrap();
        assert!(
            text.contains("not one this server issued"),
            "{tool}: {text}"
        );
    }
    // A real cursor still pages.
    let first = h
        .call(
            &token,
            &session,
            "search_test_cases",
            json!({"project_key": "DEMO", "limit": 2, "format": "json"}),
        )
        .await;
    let next = first["structuredContent"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    let second = h
        .call(
            &token,
            &session,
            "search_test_cases",
            json!({"project_key": "DEMO", "limit": 2, "cursor": next, "format": "json"}),
        )
        .await;
    assert_eq!(second["isError"], false, "{second}");
}

#[tokio::test]
async fn unknown_tool_names_are_recorded_bounded() {
    let h = Harness::start(Default::default()).await;
    let token = h.token("alice", &[READ], &["qa"]);
    let session = h.open_session(&token).await;
    let name = format!("\u{1b}[2J{}", "x".repeat(900_000));
    let response = h
        .post(
            Some(&token),
            Some(&session),
            &h.tool_call(&name, json!({"\u{1b}]0;k": 1})),
        )
        .await;
    let message = support::rpc_message(response).await;
    assert_eq!(message["error"]["message"], "tool not found");
    let rows = h.audit_rows().await;
    let call = rows.iter().find(|r| r["kind"] == "tool_call").unwrap();
    let tool = call["tool"].as_str().unwrap();
    assert!(tool.starts_with("unknown:") && tool.len() < 64, "{tool}");
    assert!(!call["arguments"].to_string().contains('\u{1b}'));
}

mod per_user_credentials {
    use secrecy::SecretString;
    use serde_json::json;
    use zebrunner_storage::vault::{NewCredential, RecordStatus};

    use super::support::{Harness, READ, Source};

    fn text(answer: &serde_json::Value) -> String {
        answer["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn project_keys(answer: &serde_json::Value) -> Vec<String> {
        let mut keys: Vec<String> = answer["structuredContent"]["projects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["key"].as_str().unwrap().to_string())
            .collect();
        keys.sort();
        keys
    }

    async fn connect(h: &Harness, who: &str, sandbox_user: &str, token: Option<&str>) {
        let user = h.user(sandbox_user);
        let token = SecretString::from(token.unwrap_or(&user.token).to_string());
        h.vault
            .as_ref()
            .unwrap()
            .put(&NewCredential {
                user_key: &format!("uid:00u{who}"),
                zebrunner_url: h.sandbox_url.trim_end_matches('/'),
                login: &user.login,
                token: &token,
                validated: true,
            })
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn each_person_calls_zebrunner_as_themselves_from_the_vault() {
        let h = Harness::start_with(Default::default(), Source::Vault).await;
        connect(&h, "alice", "alice", None).await;
        connect(&h, "bob", "bob", None).await;
        let alice = h.token("alice", &[READ], &["qa"]);
        let bob = h.token("bob", &[READ], &["qa"]);
        let (sa, sb) = (h.open_session(&alice).await, h.open_session(&bob).await);
        h.clear_sandbox_log().await;

        let args = json!({"format": "json"});
        let mine = h.call(&alice, &sa, "list_projects", args.clone()).await;
        assert_eq!(mine["isError"], false, "{mine}");
        assert_eq!(project_keys(&mine), ["API", "DEMO", "MOBILE"]);
        let logins = h.sandbox_logins().await;
        assert!(!logins.is_empty());
        assert!(
            logins
                .iter()
                .all(|l| l.as_deref() == Some("alice@sandbox.test")),
            "{logins:?}"
        );

        h.clear_sandbox_log().await;
        let theirs = h.call(&bob, &sb, "list_projects", args).await;
        assert_eq!(project_keys(&theirs), ["DEMO", "MOBILE"]);
        let logins = h.sandbox_logins().await;
        assert!(
            logins
                .iter()
                .all(|l| l.as_deref() == Some("bob@sandbox.test")),
            "{logins:?}"
        );

        // A project Bob's own Zebrunner account cannot see: his permission, said plainly.
        let denied = h
            .call(&bob, &sb, "list_test_suites", json!({"project_key": "API"}))
            .await;
        assert_eq!(denied["isError"], true, "{denied}");
        let message = text(&denied);
        assert!(message.contains("Your Zebrunner account"), "{message}");
        assert!(!message.contains(&h.sandbox_url), "{message}");
        let allowed = h
            .call(
                &alice,
                &sa,
                "list_test_suites",
                json!({"project_key": "API"}),
            )
            .await;
        assert_eq!(allowed["isError"], false, "{allowed}");

        let rows = h.audit_rows().await;
        let calls: Vec<(&str, &str)> = rows
            .iter()
            .filter(|r| r["kind"] == "tool_call")
            .map(|r| {
                (
                    r["user_key"].as_str().unwrap(),
                    r["zebrunner_login"].as_str().unwrap_or("-"),
                )
            })
            .collect();
        assert_eq!(
            calls,
            [
                ("uid:00ualice", "alice@sandbox.test"),
                ("uid:00ubob", "bob@sandbox.test"),
                ("uid:00ubob", "bob@sandbox.test"),
                ("uid:00ualice", "alice@sandbox.test"),
            ]
        );
        // No token anywhere in the audit log.
        let all = serde_json::to_string(&rows).unwrap();
        assert!(!all.contains(&h.user("alice").token) && !all.contains(&h.user("bob").token));
    }

    #[tokio::test]
    async fn a_person_without_a_record_is_told_where_to_connect() {
        let h = Harness::start_with(Default::default(), Source::Vault).await;
        let carol = h.token("alice", &[READ], &["qa"]);
        let session = h.open_session(&carol).await;
        let answer = h.call(&carol, &session, "list_projects", json!({})).await;
        assert_eq!(answer["isError"], true);
        let message = text(&answer);
        assert!(
            message.contains("No Zebrunner account is connected for you")
                && message.contains("https://mcp.example.test/connect"),
            "{message}"
        );
        assert_eq!(
            h.audit_rows().await.last().unwrap()["error_class"],
            "no_credentials"
        );
    }

    #[tokio::test]
    async fn a_token_zebrunner_refuses_is_marked_invalid_and_the_person_asked_to_reconnect() {
        let h = Harness::start_with(Default::default(), Source::Vault).await;
        connect(&h, "alice", "alice", Some("revoked-token")).await;
        let alice = h.token("alice", &[READ], &["qa"]);
        let session = h.open_session(&alice).await;
        let first = h.call(&alice, &session, "list_projects", json!({})).await;
        assert_eq!(first["isError"], true);
        assert!(
            text(&first).contains("Zebrunner rejected your token"),
            "{first}"
        );
        let record = h
            .vault
            .as_ref()
            .unwrap()
            .metadata("uid:00ualice")
            .await
            .unwrap()
            .unwrap();
        assert!(
            matches!(record.status, RecordStatus::Invalid { .. }),
            "{record:?}"
        );
        let second = h.call(&alice, &session, "list_projects", json!({})).await;
        let message = text(&second);
        assert!(
            message.contains("no longer accepts your stored token") && message.contains("/connect"),
            "{message}"
        );
        // Reconnecting with a good token works at once (the cache forgot the bad client).
        connect(&h, "alice", "alice", None).await;
        let third = h.call(&alice, &session, "list_projects", json!({})).await;
        assert_eq!(third["isError"], false, "{third}");
    }

    #[tokio::test]
    async fn headers_carry_the_persons_own_login_and_token() {
        let h = Harness::start_with(Default::default(), Source::Headers).await;
        let bob = h.token("bob", &[READ], &["qa"]);
        let session = h.open_session(&bob).await;
        let bob_user = h.user("bob");
        let alice_user = h.user("alice");
        h.clear_sandbox_log().await;
        let own = with_headers(&h, &bob, &session, &bob_user.login, &bob_user.token).await;
        assert_eq!(project_keys(&own), ["DEMO", "MOBILE"]);
        let logins = h.sandbox_logins().await;
        assert!(
            logins
                .iter()
                .all(|l| l.as_deref() == Some("bob@sandbox.test")),
            "{logins:?}"
        );
        // Bob may not act as Alice, even with her token.
        let other = with_headers(&h, &bob, &session, &alice_user.login, &alice_user.token).await;
        assert_eq!(other["isError"], true);
        assert!(text(&other).contains("may not act as"), "{other}");
        // Without the headers: what to send.
        let bare = h.call(&bob, &session, "list_projects", json!({})).await;
        assert!(text(&bare).contains("X-Zebrunner-Api-Token"), "{bare}");
        let all = serde_json::to_string(&h.audit_rows().await).unwrap();
        assert!(!all.contains(&bob_user.token) && !all.contains(&alice_user.token));
    }

    async fn with_headers(
        h: &Harness,
        token: &str,
        session: &str,
        login: &str,
        zebrunner_token: &str,
    ) -> serde_json::Value {
        let headers = [
            ("x-zebrunner-username", login),
            ("x-zebrunner-api-token", zebrunner_token),
        ];
        let body = h.tool_call("list_projects", json!({"format": "json"}));
        let response = h
            .post_with(Some(token), Some(session), &body, &headers)
            .await;
        super::support::rpc_message(response).await["result"].clone()
    }

    #[tokio::test]
    async fn the_background_check_marks_refused_tokens_and_ignores_outages() {
        use zebrunner_mcp_server::credentials::revalidate::{PassReport, Revalidation};
        let h = Harness::start_with(Default::default(), Source::Vault).await;
        connect(&h, "alice", "alice", None).await;
        connect(&h, "bob", "bob", Some("revoked-token")).await;
        let vault = h.vault.clone().unwrap();
        let job = Revalidation {
            vault: vault.clone(),
            workspace: zebrunner_client::Workspace::new(&zebrunner_client::WorkspaceConfig {
                // An outage is retried up to the deadline; keep the test short.
                retry_deadline: std::time::Duration::from_millis(300),
                ..zebrunner_client::WorkspaceConfig::new(
                    zebrunner_client::ZebrunnerUrl::parse(&h.sandbox_url).unwrap(),
                )
            })
            .unwrap(),
            storage: h.storage().clone(),
            every: std::time::Duration::ZERO,
            concurrency: 2,
            holder: "test".into(),
        };
        // Zebrunner down: no verdict, nothing changes.
        h.http
            .post(format!("{}/__sandbox/faults", h.sandbox_url))
            .json(&json!({"path_prefix": "/api/iam", "status": 503}))
            .send()
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let outage = job.run_once().await.unwrap();
        assert_eq!(
            outage,
            PassReport {
                valid: 0,
                invalid: 0,
                unknown: 2
            }
        );
        let bob = vault.metadata("uid:00ubob").await.unwrap().unwrap();
        assert_eq!(bob.status, RecordStatus::Active);
        h.http
            .delete(format!("{}/__sandbox/faults", h.sandbox_url))
            .send()
            .await
            .unwrap();
        let pass = job.run_once().await.unwrap();
        assert_eq!(
            pass,
            PassReport {
                valid: 1,
                invalid: 1,
                unknown: 0
            }
        );
        let bob = vault.metadata("uid:00ubob").await.unwrap().unwrap();
        assert!(
            matches!(bob.status, RecordStatus::Invalid { .. }),
            "{bob:?}"
        );
        // Checks are not uses.
        let alice = vault.metadata("uid:00ualice").await.unwrap().unwrap();
        assert_eq!(alice.last_used_at, None);
        // Bob is told to reconnect before Zebrunner is even asked.
        let token = h.token("bob", &[READ], &["qa"]);
        let session = h.open_session(&token).await;
        let answer = h.call(&token, &session, "list_projects", json!({})).await;
        assert!(
            text(&answer).contains("no longer accepts your stored token"),
            "{answer}"
        );
    }
}

// ---- Inbound protection: per-person buckets (429, Retry-After, nothing stored), and load
// ---- shedding beyond the cap of requests in flight (503 at once, no queue).

#[tokio::test]
async fn a_person_over_their_rate_gets_429_with_retry_after_and_others_carry_on() {
    let h = Harness::start_limited(
        Default::default(),
        Source::ServiceAccount { bad_token: false },
        LimitsConfig {
            requests_per_minute_per_user: 60,
            burst_per_user: 3,
            requests_per_minute_per_client: 0,
            max_concurrent_requests: 0,
            ..LimitsConfig::default()
        },
    )
    .await;
    let alice = h.token("alice", &[READ], &["qa"]);
    for _ in 0..3 {
        assert_eq!(
            h.post(Some(&alice), None, &h.initialize()).await.status(),
            200
        );
    }
    let before = h.observer_anonymous();
    let limited = h.post(Some(&alice), None, &h.initialize()).await;
    assert_eq!(limited.status(), 429);
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    let body: serde_json::Value = limited.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
    // Counted, not stored: a flood of refusals must not become a flood of audit rows.
    assert_eq!(h.observer_anonymous(), before + 1);
    assert!(
        h.audit_rows()
            .await
            .iter()
            .all(|r| r["error_class"] != "rate_limited")
    );
    let bob = h.token("bob", &[READ], &["qa"]);
    assert_eq!(
        h.post(Some(&bob), None, &h.initialize()).await.status(),
        200
    );
    // One per second refills Alice's bucket.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        h.post(Some(&alice), None, &h.initialize()).await.status(),
        200
    );
}

#[tokio::test]
async fn beyond_the_cap_of_requests_in_flight_the_server_sheds_load_at_once() {
    let h = Harness::start_limited(
        Default::default(),
        Source::ServiceAccount { bad_token: false },
        LimitsConfig {
            max_concurrent_requests: 1,
            ..LimitsConfig::default()
        },
    )
    .await;
    let token = h.token("alice", &[READ], &["qa"]);
    // Zebrunner takes 1.5 s to answer the next request to the projects API.
    h.http
        .post(format!("{}/__sandbox/faults", h.sandbox_url))
        .json(&json!({"path_prefix": "/api/projects", "latency_ms": 1500, "count": 1}))
        .send()
        .await
        .unwrap();
    let session = h.open_session(&token).await;
    let slow = {
        let request = h
            .http
            .post(h.mcp_url())
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", session.as_str())
            .header("mcp-protocol-version", "2025-06-18")
            .bearer_auth(&token)
            .json(&h.tool_call("list_projects", json!({})));
        tokio::spawn(async move {
            let started = Instant::now();
            let response = request.send().await.unwrap();
            let status = response.status();
            // The answer streams over SSE: it is complete when the body ends.
            let body = response.text().await.unwrap();
            (status, body, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let shed = h.post(Some(&token), None, &h.initialize()).await;
    assert_eq!(shed.status(), 503);
    assert_eq!(shed.headers()["retry-after"], "1");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "shed at once, not queued"
    );
    let (status, body, took) = slow.await.unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("DEMO"), "{body}");
    assert!(took >= Duration::from_millis(1400), "{took:?}");
    // The permit is back.
    assert_eq!(
        h.post(Some(&token), None, &h.initialize()).await.status(),
        200
    );
}
