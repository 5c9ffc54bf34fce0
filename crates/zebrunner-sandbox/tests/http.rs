//! HTTP behaviour of a spawned sandbox: auth, paging, errors, RQL, writes,
//! internal APIs and the control API.

// Test helpers may unwrap/expect/panic: clippy.toml only covers #[test] fns and #[cfg(test)].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use zebrunner_sandbox::seed::{
    BIG_LAUNCH_ID, BIG_LAUNCH_TESTS, DEMO_LAUNCHES, HISTORY_CASE_EXECUTIONS,
};
use zebrunner_sandbox::{RunningSandbox, Sandbox, SandboxConfig, SandboxUser, Scale};

struct T {
    sb: RunningSandbox,
    http: Client,
}

impl T {
    async fn start() -> T {
        T::with(SandboxConfig::default()).await
    }

    async fn with(config: SandboxConfig) -> T {
        let sb = Sandbox::spawn(config, "127.0.0.1:0").await.unwrap();
        // reqwest is built without a rustls provider of its own (see zebrunner-client's tls.rs).
        let _ = rustls::crypto::ring::default_provider().install_default();
        T {
            sb,
            http: Client::new(),
        }
    }

    fn user(&self, prefix: &str) -> SandboxUser {
        self.sb
            .sandbox
            .users()
            .into_iter()
            .find(|u| u.login.starts_with(prefix))
            .unwrap()
    }

    /// A Public API request as `prefix` (alice/bob).
    fn public(&self, method: reqwest::Method, prefix: &str, path: &str) -> RequestBuilder {
        let u = self.user(prefix);
        self.http
            .request(method, format!("{}/api/public/v1{path}", self.sb.url))
            .basic_auth(u.login, Some(u.token))
    }

    fn get(&self, path: &str) -> RequestBuilder {
        self.public(reqwest::Method::GET, "alice", path)
    }

    async fn bearer(&self, prefix: &str) -> String {
        let body: Value = self
            .http
            .post(format!("{}/api/iam/v1/auth/refresh", self.sb.url))
            .json(&json!({"refreshToken": self.user(prefix).token}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["authToken"].as_str().unwrap().to_string()
    }

    fn internal(&self, bearer: &str, path: &str) -> RequestBuilder {
        self.http
            .get(format!("{}{path}", self.sb.url))
            .bearer_auth(bearer)
    }

    fn control(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}/__sandbox/{path}", self.sb.url))
    }
}

async fn json_of(rb: RequestBuilder) -> (StatusCode, Value) {
    let resp = rb.send().await.unwrap();
    let status = resp.status();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body)
}

fn assert_error_body(body: &Value, message: &str, code: &str) {
    assert_eq!(body["message"], message, "{body}");
    assert_eq!(body["error"], code, "{body}");
    assert!(body["timestamp"].is_string(), "{body}");
}

#[tokio::test]
async fn banner_lists_url_and_users() {
    let t = T::start().await;
    let banner = t.sb.banner();
    let lines: Vec<&str> = banner.lines().collect();
    assert_eq!(lines[0], format!("sandbox listening on {}", t.sb.url));
    assert!(t.sb.url.starts_with("http://127.0.0.1:"));
    let alice = t.user("alice");
    assert_eq!(
        lines[1],
        format!(
            "user alice@sandbox.test token {} projects DEMO,MOBILE,API,OLD",
            alice.token
        )
    );
    assert!(
        lines[2].starts_with("user bob@sandbox.test token zbr_")
            && lines[2].ends_with("projects DEMO,MOBILE")
    );
    // Tokens are derived from the seed.
    let again = Sandbox::new(SandboxConfig::default()).users();
    assert_eq!(again[0].token, alice.token);
    let other = Sandbox::new(SandboxConfig {
        seed: 7,
        ..SandboxConfig::default()
    })
    .users();
    assert_ne!(other[0].token, alice.token);
    assert_eq!("large".parse::<Scale>(), Ok(Scale::Large));
    assert!("huge".parse::<Scale>().is_err());
}

#[tokio::test]
async fn public_api_auth_errors() {
    let t = T::start().await;
    let url = format!("{}/api/public/v1/test-cases?projectKey=DEMO", t.sb.url);
    let (s, body) = json_of(t.http.get(&url)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_error_body(&body, "Authentication failed", "UNAUTHORIZED");
    let (s, _) = json_of(
        t.http
            .get(&url)
            .basic_auth("alice@sandbox.test", Some("zbr_wrong")),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Right token, wrong login.
    let (s, _) = json_of(
        t.http
            .get(&url)
            .basic_auth("bob@sandbox.test", Some(t.user("alice").token)),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // A bearer is not accepted on the Public API.
    let bearer = t.bearer("alice").await;
    let (s, _) = json_of(t.http.get(&url).bearer_auth(&bearer)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let (s, body) =
        json_of(t.public(reqwest::Method::GET, "bob", "/test-cases?projectKey=API")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "FORBIDDEN");
    let (s, _) =
        json_of(t.public(reqwest::Method::GET, "bob", "/test-cases?projectKey=DEMO")).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn public_api_error_bodies() {
    let t = T::start().await;
    let (s, body) = json_of(t.get("/test-cases")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_error_body(
        &body,
        "Either 'projectKey' or 'projectId' request parameter must be provided",
        "BAD_REQUEST",
    );
    let (s, body) = json_of(t.get("/test-cases/key:DEMO-99999?projectKey=DEMO")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_error_body(&body, "Test case not found", "NOT_FOUND");
    let (s, body) = json_of(t.get("/test-suites/999999?projectKey=DEMO")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_error_body(&body, "Test suite not found", "NOT_FOUND");
    let (s, body) = json_of(t.get("/test-cases?projectKey=NOPE")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "NOT_FOUND");
    let (s, _) = json_of(t.get("/test-cases/abc?projectKey=DEMO")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, body) = json_of(t.get("/no-such-endpoint")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "NOT_FOUND");
    // Field validation carries errors[].
    let (s, body) = json_of(
        t.public(
            reqwest::Method::POST,
            "alice",
            "/test-suites?projectKey=DEMO",
        )
        .json(&json!({"title": ""})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["source"], "title");
}

#[tokio::test]
async fn token_paging_walks_all_cases() {
    let t = T::start().await;
    let mut token: Option<String> = None;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let mut rb = t
            .get("/test-cases")
            .query(&[("projectKey", "DEMO"), ("maxPageSize", "100")]);
        if let Some(tok) = &token {
            rb = rb.query(&[("pageToken", tok)]);
        }
        let (s, body) = json_of(rb).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        pages += 1;
        seen.extend(
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["key"].as_str().unwrap().to_string()),
        );
        match body["_meta"].get("nextPageToken") {
            Some(Value::String(tok)) => token = Some(tok.clone()),
            None => break,
            other => panic!("unexpected nextPageToken {other:?}"),
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 250);
    assert_eq!(seen[0], "DEMO-1");
    // Default page size is 10.
    let (_, body) = json_of(t.get("/test-cases?projectKey=DEMO")).await;
    assert_eq!(body["items"].as_array().unwrap().len(), 10);

    for bad in ["0", "101", "abc"] {
        let (s, body) = json_of(
            t.get("/test-cases")
                .query(&[("projectKey", "DEMO"), ("maxPageSize", bad)]),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "maxPageSize={bad}");
        assert_eq!(body["error"], "BAD_REQUEST");
    }
    let (s, body) = json_of(t.get("/test-cases?projectKey=DEMO&pageToken=not-a-token")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["message"], "Invalid page token");
}

#[tokio::test]
async fn rql_filters_and_rejections() {
    let t = T::start().await;
    let list = |filter: &str| {
        t.get("/test-cases").query(&[
            ("projectKey", "DEMO"),
            ("maxPageSize", "100"),
            ("filter", filter),
        ])
    };

    let (s, body) = json_of(list("title ~= 'LOGIN'")).await;
    assert_eq!(s, StatusCode::OK);
    let items = body["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|c| {
        c["title"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("login")
    }));

    let (_, states) = json_of(t.get("/test-case-settings/automation-states?projectKey=DEMO")).await;
    let automated = states["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Automated")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (_, body) = json_of(list(&format!(
        "automationState.id IN [{automated}] AND deprecated = false AND createdAt >= '2025-06-01'"
    )))
    .await;
    for c in body["items"].as_array().unwrap() {
        assert_eq!(c["automationState"]["id"], automated);
        assert_eq!(c["deprecated"], false);
        assert!(c["createdAt"].as_str().unwrap() >= "2025-06-01");
    }

    let (s, body) = json_of(list("automationState.name = 'Automated'")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("automationState.name"),
        "{body}"
    );
    let (s, _) = json_of(list("title = ")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = json_of(list("title != 'x'")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // sortBy
    let (_, body) =
        json_of(t.get("/test-cases?projectKey=DEMO&sortBy=-createdAt&maxPageSize=5")).await;
    let dates: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["createdAt"].as_str().unwrap())
        .collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]));
    let (s, _) = json_of(t.get("/test-cases?projectKey=DEMO&sortBy=bogus")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Test runs have their own selectors.
    let runs = |filter: &str| {
        t.get("/test-runs").query(&[
            ("projectKey", "DEMO"),
            ("maxPageSize", "100"),
            ("filter", filter),
        ])
    };
    let (s, body) = json_of(runs(
        "closed = true AND (configurations.optionName ~= 'chrome' OR title ~= 'chrome')",
    ))
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["closed"] == true)
    );
    let (s, _) = json_of(runs("priority.id = 1")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn cases_and_suites_read_and_write() {
    let t = T::start().await;
    let (s, body) = json_of(t.get("/test-cases/key:DEMO-1?projectKey=DEMO")).await;
    assert_eq!(s, StatusCode::OK);
    let case = &body["data"];
    assert_eq!(case["title"], "Login with valid credentials");
    assert!(
        case["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["action"].is_string() && s["expectedResult"].is_string())
    );
    let id = case["id"].as_i64().unwrap();
    let (_, by_id) = json_of(t.get(&format!("/test-cases/{id}?projectKey=DEMO"))).await;
    assert_eq!(by_id["data"]["key"], "DEMO-1");
    // A case id from another project is not found there.
    let (s, _) = json_of(t.get(&format!("/test-cases/{id}?projectKey=MOBILE"))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, created) = json_of(
        t.public(
            reqwest::Method::POST,
            "alice",
            "/test-suites?projectKey=DEMO",
        )
        .json(&json!({"title": "New suite"})),
    )
    .await;
    assert!(s.is_success());
    let suite_id = created["data"]["id"].as_i64().unwrap();
    assert_eq!(created["data"]["parentSuiteId"], Value::Null);

    let (s, created) = json_of(
        t.public(
            reqwest::Method::POST,
            "alice",
            "/test-cases?projectKey=DEMO",
        )
        .json(&json!({
            "testSuite": {"id": suite_id},
            "title": "Refund to original card",
            "draft": true,
            "priority": {"name": "Major"},
            "steps": [{"action": "Open order", "expectedResult": "Order shown"}],
            "customField": {"component": "payments"},
        })),
    )
    .await;
    assert!(s.is_success(), "{created}");
    assert_eq!(created["data"]["key"], "DEMO-251");
    assert_eq!(created["data"]["draft"], true);
    assert_eq!(created["data"]["priority"]["name"], "Major");

    let (s, bad) = json_of(
        t.public(
            reqwest::Method::POST,
            "alice",
            "/test-cases?projectKey=DEMO",
        )
        .json(&json!({
            "testSuite": {"id": suite_id}, "title": "x", "priority": {"name": "Urgent"}
        })),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(bad["errors"][0]["source"], "priority");

    let (s, patched) = json_of(
        t.public(
            reqwest::Method::PATCH,
            "alice",
            "/test-cases/key:DEMO-251?projectKey=DEMO",
        )
        .json(&json!({
            "steps": [{"action": "Open the order", "expectedResult": "Order shown"}],
            "customField": {"component": null, "manualOnly": true},
        })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{patched}");
    assert_eq!(patched["data"]["title"], "Refund to original card");
    assert_eq!(patched["data"]["customField"], json!({"manualOnly": true}));

    let new_id = patched["data"]["id"].as_i64().unwrap();
    let bearer = t.bearer("alice").await;
    let (_, changes) = json_of(t.internal(
        &bearer,
        &format!("/api/tcm/v1/test-cases/{new_id}/changes?projectId=1&maxPageSize=10"),
    ))
    .await;
    let latest = &changes["items"][0];
    assert_eq!(latest["type"], "UPDATE");
    assert_eq!(latest["items"][0]["field"], "steps");

    // PUT replaces: omitted description is cleared.
    let (s, put) = json_of(
        t.public(
            reqwest::Method::PUT,
            "alice",
            &format!("/test-suites/{suite_id}?projectKey=DEMO"),
        )
        .json(&json!({"title": "Renamed"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(put["data"]["description"], Value::Null);
    let (_, got) = json_of(t.get(&format!("/test-suites/{suite_id}?projectKey=DEMO"))).await;
    assert_eq!(got["data"]["title"], "Renamed");
}

#[tokio::test]
async fn suite_tree_has_depth_five_chain() {
    let t = T::start().await;
    let (_, body) = json_of(t.get("/test-suites?projectKey=DEMO&maxPageSize=100")).await;
    let suites = body["items"].as_array().unwrap();
    assert!((28..=35).contains(&suites.len()), "{}", suites.len());
    let by_title = |title: &str| suites.iter().find(|s| s["title"] == title).unwrap();
    let mut node = by_title("3-D Secure");
    let mut chain = vec![node["title"].as_str().unwrap().to_string()];
    while let Some(parent) = node["parentSuiteId"].as_i64() {
        node = suites.iter().find(|s| s["id"] == parent).unwrap();
        chain.push(node["title"].as_str().unwrap().to_string());
    }
    chain.reverse();
    assert_eq!(
        chain,
        ["Checkout", "Payments", "Cards", "Visa", "3-D Secure"]
    );
}

#[tokio::test]
async fn test_runs_writes() {
    let t = T::start().await;
    let (_, runs) =
        json_of(t.get("/test-runs?projectKey=DEMO&maxPageSize=100&filter=closed%20%3D%20true"))
            .await;
    let closed = runs["items"][0]["id"].as_i64().unwrap();
    let (s, body) = json_of(
        t.public(
            reqwest::Method::PATCH,
            "alice",
            &format!("/test-runs/{closed}?projectKey=DEMO"),
        )
        .json(&json!({"title": "x"})),
    )
    .await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED);
    assert_eq!(body["error"], "PRECONDITION_FAILED");

    let (s, run) = json_of(
        t.public(reqwest::Method::POST, "alice", "/test-runs?projectKey=DEMO")
            .json(&json!({
                "title": "Sandbox run",
                "milestone": {"name": "Release 1.6"},
                "environment": {"key": "stage"},
                "configurations": [{"group": {"name": "Browser"}, "option": {"name": "Firefox"}}],
            })),
    )
    .await;
    assert!(s.is_success(), "{run}");
    let id = run["data"]["id"].as_i64().unwrap();
    assert_eq!(run["data"]["milestone"]["name"], "Release 1.6");
    assert_eq!(
        run["data"]["configurations"][0]["option"]["name"],
        "Firefox"
    );

    let resp = t
        .public(
            reqwest::Method::POST,
            "alice",
            &format!("/test-runs/{id}/test-cases?projectKey=DEMO"),
        )
        .json(&json!({"items": [{"key": "DEMO-1"}, {"key": "DEMO-2"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);

    let (s, imported) = json_of(
        t.public(reqwest::Method::POST, "alice", &format!("/test-runs/{id}/test-cases:import?projectKey=DEMO&skipErrors=true"))
            .json(&json!({"items": [
                {"testCase": {"key": "DEMO-1"}, "result": {"status": {"name": "Passed"}, "executionType": "AUTOMATED"}},
                {"testCase": {"key": "DEMO-3"}, "result": {"status": {"name": "Passed"}, "executionType": "AUTOMATED"}},
            ]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{imported}");
    assert_eq!(imported["items"][0]["succeeded"], true);
    assert_eq!(imported["items"][1]["succeeded"], false);

    let (_, cases) = json_of(t.get(&format!("/test-runs/{id}/test-cases?projectKey=DEMO"))).await;
    let items = cases["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["result"]["status"]["name"], "Passed");
    assert_eq!(items[1]["result"], Value::Null);

    let (_, one) = json_of(t.get(&format!("/test-runs/{id}?projectKey=DEMO"))).await;
    assert_eq!(one["data"]["closed"], false);
}

#[tokio::test]
async fn iam_refresh_and_bearer_auth() {
    let t = T::start().await;
    let (s, body) = json_of(
        t.http
            .post(format!("{}/api/iam/v1/auth/refresh", t.sb.url))
            .json(&json!({"refreshToken": "zbr_nope"})),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "UNAUTHORIZED");

    let alice = t.user("alice");
    let (s, body) = json_of(
        t.http
            .post(format!("{}/api/iam/v1/auth/refresh", t.sb.url))
            .json(&json!({"refreshToken": alice.token})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["authTokenType"], "Bearer");
    assert_eq!(body["authTokenExpirationInSecs"], 3600);
    assert_eq!(body["userId"], 1);
    let token = body["authToken"].as_str().unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(payload["unm"], "alice@sandbox.test");
    assert_eq!(payload["tnt"], "sandbox");
    assert!(payload["exp"].as_i64().unwrap() > 0);

    let (s, _) = json_of(
        t.http
            .get(format!("{}/api/projects/v1/projects/DEMO", t.sb.url)),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = json_of(
        t.http
            .get(format!("{}/api/projects/v1/projects/DEMO", t.sb.url))
            .basic_auth(&alice.login, Some(&alice.token)),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, project) = json_of(t.internal(token, "/api/projects/v1/projects/DEMO")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(project["data"]["id"], 1);
    let (_, list) =
        json_of(t.internal(token, "/api/projects/v1/projects?extraFields=starred")).await;
    let keys: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["DEMO", "MOBILE", "API", "OLD"]);
    assert_eq!(list["items"][3]["deleted"], true);
    assert!(list["items"][0]["starred"].is_boolean());

    let bob = t.bearer("bob").await;
    let (s, _) = json_of(t.internal(&bob, "/api/reporting/v1/launches?projectId=3")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, body) = json_of(t.internal(&bob, "/api/reporting/v1/launches")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["message"],
        "Either 'projectKey' or 'projectId' request parameter must be provided"
    );
}

#[tokio::test]
async fn reporting_page_paging_and_launch_data() {
    let t = T::start().await;
    let b = t.bearer("alice").await;
    let (s, page1) = json_of(t.internal(
        &b,
        "/api/reporting/v1/launches?projectId=1&page=1&pageSize=20",
    ))
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page1["_meta"]["total"], DEMO_LAUNCHES);
    assert_eq!(page1["_meta"]["totalPages"], 3);
    assert_eq!(page1["items"].as_array().unwrap().len(), 20);
    let (_, page3) = json_of(t.internal(
        &b,
        "/api/reporting/v1/launches?projectId=1&page=3&pageSize=20",
    ))
    .await;
    assert_eq!(
        page3["items"].as_array().unwrap().len(),
        DEMO_LAUNCHES as usize - 40
    );
    // Some startedAt values are numeric strings, deterministically.
    let started: Vec<&Value> = page1["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["startedAt"])
        .collect();
    assert!(started.iter().any(|v| v.is_string()) && started.iter().any(|v| v.is_number()));
    for (q, code) in [("page=0", 400), ("pageSize=101", 400), ("page=x", 400)] {
        let (s, _) =
            json_of(t.internal(&b, &format!("/api/reporting/v1/launches?projectId=1&{q}"))).await;
        assert_eq!(s.as_u16(), code, "{q}");
    }
    let (_, filtered) = json_of(t.internal(
        &b,
        "/api/reporting/v1/launches?projectId=1&milestone=Release%201.0&pageSize=100",
    ))
    .await;
    assert!(
        filtered["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["milestone"]["name"] == "Release 1.0")
    );

    let (s, tests) = json_of(t.internal(
        &b,
        &format!(
            "/api/reporting/v1/launches/{BIG_LAUNCH_ID}/tests?projectId=1&page=1&pageSize=100"
        ),
    ))
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(tests["totalElements"], BIG_LAUNCH_TESTS);
    assert_eq!(tests["totalPages"], 5);
    assert_eq!(tests["page"], 1);
    assert_eq!(tests["size"], 100);
    let (_, failed) = json_of(t.internal(&b, &format!("/api/reporting/v1/launches/{BIG_LAUNCH_ID}/tests?projectId=1&pageSize=100&status=FAILED"))).await;
    let failed_items = failed["items"].as_array().unwrap();
    assert!(!failed_items.is_empty());
    assert!(
        failed_items
            .iter()
            .all(|t| t["status"] == "FAILED" && t["message"].is_string())
    );

    let test_id = failed_items[0]["id"].as_i64().unwrap();
    let (s, history) = json_of(t.internal(
        &b,
        &format!(
            "/api/reporting/v1/launches/{BIG_LAUNCH_ID}/tests/{test_id}/history?projectId=1&limit=5"
        ),
    ))
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!history["items"].as_array().unwrap().is_empty());
    let (s, logs) = json_of(t.internal(&b, &format!("/api/test-execution-logs/v1/test-runs/{BIG_LAUNCH_ID}/tests/{test_id}/logs-and-screenshots?maxPageSize=1000"))).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        logs["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "screenshot")
    );
    let (_, sessions) = json_of(t.internal(
        &b,
        &format!(
            "/api/reporting/v1/launches/{BIG_LAUNCH_ID}/test-sessions?projectId=1&testId={test_id}"
        ),
    ))
    .await;
    assert_eq!(sessions["totalElements"], 1);
    let (s, _) = json_of(t.internal(
        &b,
        &format!("/api/reporting/v1/launches/{BIG_LAUNCH_ID}?projectId=2"),
    ))
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (_, ms) = json_of(t.internal(
        &b,
        "/api/reporting/v1/milestones?projectId=1&completed=true",
    ))
    .await;
    assert!(
        ms["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["completed"] == true)
    );
    assert!(ms["_meta"]["total"].as_u64().unwrap() >= 1);

    let (_, execs) =
        json_of(t.internal(&b, "/api/tcm/v1/test-cases/10001/executions?projectId=1")).await;
    assert_eq!(
        execs["items"].as_array().unwrap().len(),
        HISTORY_CASE_EXECUTIONS
    );
    let (_, layout) = json_of(t.internal(
        &b,
        "/api/tcm/v1/test-case-settings/fields-layout?projectId=1",
    ))
    .await;
    assert!(
        layout["data"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["type"] == "CUSTOM")
    );
}

#[tokio::test]
async fn control_api_faults_log_reset_and_revocation() {
    let t = T::start().await;
    // Faults: the next 2 matching requests fail with 429 + Retry-After.
    let resp = t
        .control(reqwest::Method::POST, "faults")
        .json(&json!({"path_prefix": "/api/public/v1/test-suites", "status": 429, "count": 2, "retry_after_secs": 7}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    for _ in 0..2 {
        let resp = t.get("/test-suites?projectKey=DEMO").send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()["retry-after"], "7");
    }
    assert_eq!(
        t.get("/test-suites?projectKey=DEMO")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // Other paths were never affected.
    assert_eq!(
        t.get("/test-cases?projectKey=DEMO")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    let log: Vec<Value> = t
        .control(reqwest::Method::GET, "requests")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let statuses: Vec<u64> = log.iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [429, 429, 200, 200]);
    assert_eq!(log[0]["user"], "alice@sandbox.test");
    assert_eq!(log[0]["method"], "GET");
    assert_eq!(log[0]["path"], "/api/public/v1/test-suites");
    assert_eq!(log[0]["query"], "projectKey=DEMO");

    t.control(reqwest::Method::DELETE, "requests")
        .send()
        .await
        .unwrap();
    let log: Vec<Value> = t
        .control(reqwest::Method::GET, "requests")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(log.is_empty());

    // An unauthenticated call is logged with a null user.
    t.http
        .get(format!(
            "{}/api/public/v1/test-suites?projectKey=DEMO",
            t.sb.url
        ))
        .send()
        .await
        .unwrap();
    let log: Vec<Value> = t
        .control(reqwest::Method::GET, "requests")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log[0]["user"], Value::Null);
    assert_eq!(log[0]["status"], 401);

    // Invalid fault specs are rejected.
    let resp = t
        .control(reqwest::Method::POST, "faults")
        .json(&json!({"status": 200}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // Latency + method filter.
    t.control(reqwest::Method::POST, "faults")
        .json(&json!({"method": "GET", "latency_ms": 150, "count": 1}))
        .send()
        .await
        .unwrap();
    let start = std::time::Instant::now();
    t.get("/test-suites?projectKey=DEMO").send().await.unwrap();
    assert!(start.elapsed() >= std::time::Duration::from_millis(150));
    t.control(reqwest::Method::POST, "faults")
        .json(&json!({"status": 503}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        t.get("/test-suites?projectKey=DEMO")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    t.control(reqwest::Method::DELETE, "faults")
        .send()
        .await
        .unwrap();
    assert_eq!(
        t.get("/test-suites?projectKey=DEMO")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    // Bearer revocation and TTL.
    let b = t.bearer("alice").await;
    assert_eq!(
        t.internal(&b, "/api/projects/v1/projects/DEMO")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    t.control(reqwest::Method::POST, "auth")
        .json(&json!({"revoke_bearers": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        t.internal(&b, "/api/projects/v1/projects/DEMO")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    t.control(reqwest::Method::POST, "auth")
        .json(&json!({"token_ttl_secs": 0}))
        .send()
        .await
        .unwrap();
    let (_, refreshed) = json_of(
        t.http
            .post(format!("{}/api/iam/v1/auth/refresh", t.sb.url))
            .json(&json!({"refreshToken": t.user("alice").token})),
    )
    .await;
    assert_eq!(refreshed["authTokenExpirationInSecs"], 0);
    let expired = refreshed["authToken"].as_str().unwrap();
    assert_eq!(
        t.internal(expired, "/api/projects/v1/projects/DEMO")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );

    // Reset restores seed data, TTL, log and faults.
    t.public(
        reqwest::Method::POST,
        "alice",
        "/test-suites?projectKey=DEMO",
    )
    .json(&json!({"title": "temp"}))
    .send()
    .await
    .unwrap();
    t.control(reqwest::Method::POST, "faults")
        .json(&json!({"status": 500}))
        .send()
        .await
        .unwrap();
    let resp = t
        .control(reqwest::Method::POST, "reset")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let (s, suites) = json_of(t.get("/test-suites?projectKey=DEMO&maxPageSize=100")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        suites["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["title"] != "temp")
    );
    let b = t.bearer("alice").await;
    assert_eq!(
        t.internal(&b, "/api/projects/v1/projects/DEMO")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let log: Vec<Value> = t
        .control(reqwest::Method::GET, "requests")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log.len(), 3, "{log:?}");
}

#[tokio::test]
async fn rate_faults_are_seeded_and_partial() {
    let t = T::start().await;
    t.control(reqwest::Method::POST, "faults")
        .json(&json!({"path_prefix": "/api/public", "status": 500, "rate": 0.5}))
        .send()
        .await
        .unwrap();
    let mut failures = 0;
    for _ in 0..40 {
        if t.get("/test-suites?projectKey=DEMO")
            .send()
            .await
            .unwrap()
            .status()
            == StatusCode::INTERNAL_SERVER_ERROR
        {
            failures += 1;
        }
    }
    assert!((5..=35).contains(&failures), "{failures}");
}

#[tokio::test]
async fn large_scale_filter_is_fast() {
    let t = T::with(SandboxConfig {
        scale: Scale::Large,
        seed: 42,
    })
    .await;
    let (_, body) = json_of(
        t.get("/test-cases?projectKey=DEMO&maxPageSize=100&filter=title%20~%3D%20%27login%27"),
    )
    .await;
    assert!(!body["items"].as_array().unwrap().is_empty());
    let mut count = 0;
    let mut token: Option<String> = None;
    let start = std::time::Instant::now();
    loop {
        let mut rb = t.get("/test-cases").query(&[
            ("projectKey", "DEMO"),
            ("maxPageSize", "100"),
            ("filter", "deprecated = false"),
        ]);
        if let Some(tok) = &token {
            rb = rb.query(&[("pageToken", tok)]);
        }
        let (_, body) = json_of(rb).await;
        count += body["items"].as_array().unwrap().len();
        match body["_meta"]["nextPageToken"].as_str() {
            Some(tok) => token = Some(tok.to_string()),
            None => break,
        }
    }
    let elapsed = start.elapsed();
    assert!(count > 4000 && count < 5000, "{count}");
    // ~47 filtered pages; generous bound for unoptimised debug builds.
    assert!(elapsed < std::time::Duration::from_secs(10), "{elapsed:?}");
}

#[tokio::test]
async fn lookups_by_id_honour_the_project_unless_told_to_ignore_it() {
    let t = T::start().await;
    // By default an id of another project is not found in the project named.
    let (status, body) = json_of(t.get("/test-suites/132?projectKey=DEMO")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = json_of(t.get("/test-cases/key:MOBILE-1?projectKey=DEMO")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let bearer = t.bearer("alice").await;
    let (status, _) =
        json_of(t.internal(&bearer, "/api/reporting/v1/launches/2001?projectId=1")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Told to, it answers with the other project's objects, as a Zebrunner
    // that does not scope lookups by id would; their project ids say whose.
    let (status, body) = json_of(
        t.control(reqwest::Method::POST, "behaviour")
            .json(&json!({"ids_ignore_project": true})),
    )
    .await;
    assert_eq!(
        (status, &body),
        (StatusCode::OK, &json!({"ids_ignore_project": true}))
    );
    let (status, body) = json_of(t.get("/test-suites/132?projectKey=DEMO")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["projectId"], 2);
    let (status, body) = json_of(t.get("/test-cases/key:MOBILE-1?projectKey=DEMO")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["key"], "MOBILE-1");
    let (status, body) = json_of(t.get("/test-runs/813?projectKey=DEMO")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) =
        json_of(t.internal(&bearer, "/api/reporting/v1/launches/2001?projectId=1")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["projectId"], 2);
    // Lists stay the project's.
    let (_, body) = json_of(t.get("/test-suites?projectKey=DEMO&maxPageSize=100")).await;
    assert!(
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["projectId"] == 1)
    );
    // A reset restores the default.
    t.control(reqwest::Method::POST, "reset")
        .send()
        .await
        .unwrap();
    let (_, body) = json_of(t.control(reqwest::Method::GET, "behaviour")).await;
    assert_eq!(body, json!({"ids_ignore_project": false}));
    let (status, _) = json_of(t.get("/test-suites/132?projectKey=DEMO")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

impl T {
    /// `POST /__sandbox/sso` for `login`: (status, body).
    async fn sso(&self, body: Value) -> (StatusCode, Value) {
        json_of(self.control(reqwest::Method::POST, "sso").json(&body)).await
    }

    /// A temp token for `prefix`'s user.
    async fn sso_temp(&self, prefix: &str) -> String {
        let (s, body) = self.sso(json!({"login": self.user(prefix).login})).await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        body["refresh_token"].as_str().unwrap().to_string()
    }

    async fn refresh(&self, token: &str) -> (StatusCode, Value) {
        json_of(
            self.http
                .post(format!("{}/api/iam/v1/auth/refresh", self.sb.url))
                .json(&json!({"refreshToken": token})),
        )
        .await
    }
}

fn unm(auth_token: &str) -> Value {
    let payload = auth_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["unm"].clone()
}

#[tokio::test]
async fn sso_sign_in_address_and_landing_page() {
    let t = T::start().await;
    let bob = t.user("bob");
    let (s, body) = t.sso(json!({"login": bob.login})).await;
    assert_eq!(s, StatusCode::CREATED);
    let temp = body["refresh_token"].as_str().unwrap();
    assert!(
        temp.starts_with("sso_")
            && temp.len() == 4 + 32
            && temp[4..].chars().all(|c| c.is_ascii_hexdigit()),
        "{temp}"
    );
    // The origin is the one the request reached (the Host header, http).
    assert_eq!(
        body["url"],
        format!("{}/sso?refresh-token={temp}", t.sb.url)
    );
    assert_eq!(body["expires_in_secs"], 300);
    assert_eq!(body["login"], "bob@sandbox.test");
    // Every sign-in mints a different token.
    assert_ne!(t.sso_temp("bob").await, temp);

    // The browser lands on /sso: a small page, and the token is still unused.
    let page = t
        .http
        .get(body["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains("Signed in to Zebrunner (sandbox)"), "{html}");
    assert!(!html.contains(temp));
    let (s, _) = t.refresh(temp).await;
    assert_eq!(s, StatusCode::OK);

    // The request log has the landing page, never the token.
    let log: Vec<Value> = t
        .control(reqwest::Method::GET, "requests")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let landing = log.iter().find(|r| r["path"] == "/sso").unwrap();
    assert_eq!(landing["query"], "refresh-token=[REDACTED]");
    assert!(!serde_json::to_string(&log).unwrap().contains(temp));
}

#[tokio::test]
async fn sso_temp_token_exchange_yields_a_long_lived_token() {
    let t = T::start().await;
    let alice = t.user("alice");
    let temp = t.sso_temp("alice").await;
    // A temp token is not a credential for the Public API.
    let (s, _) = json_of(
        t.http
            .get(format!(
                "{}/api/public/v1/test-suites?projectKey=DEMO",
                t.sb.url
            ))
            .basic_auth(&alice.login, Some(&temp)),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let (s, body) = t.refresh(&temp).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let long = body["refreshToken"].as_str().unwrap().to_string();
    assert!(
        long.starts_with("zbr_sso_")
            && long.len() == 8 + 40
            && long[8..].chars().all(|c| c.is_ascii_hexdigit()),
        "{long}"
    );
    assert_ne!(long, temp);
    assert_ne!(long, alice.token);
    assert_eq!(body["userId"], 1);
    assert_eq!(body["tenantName"], "sandbox");
    assert_eq!(unm(body["authToken"].as_str().unwrap()), alice.login);
    let bearer = body["authToken"].as_str().unwrap();
    let (s, _) = json_of(t.internal(bearer, "/api/projects/v1/projects/API")).await;
    assert_eq!(s, StatusCode::OK);

    // Single use: a second exchange is refused like any unknown token.
    let (s, body) = t.refresh(&temp).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_error_body(&body, "Authentication failed", "UNAUTHORIZED");

    // The long-lived token works like a personal one: Basic password ...
    let (s, suites) = json_of(
        t.http
            .get(format!(
                "{}/api/public/v1/test-suites?projectKey=DEMO",
                t.sb.url
            ))
            .basic_auth(&alice.login, Some(&long)),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!suites["items"].as_array().unwrap().is_empty());
    // ... only with its own login ...
    let (s, _) = json_of(
        t.http
            .get(format!(
                "{}/api/public/v1/test-suites?projectKey=DEMO",
                t.sb.url
            ))
            .basic_auth(&t.user("bob").login, Some(&long)),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // ... and as the refresh token, which then echoes it (no rotation).
    for _ in 0..2 {
        let (s, body) = t.refresh(&long).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(body["refreshToken"], long);
        assert_eq!(unm(body["authToken"].as_str().unwrap()), alice.login);
    }
    // The log names the user of a request made with it.
    let log: Vec<Value> = t
        .control(reqwest::Method::GET, "requests")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let basic = log
        .iter()
        .filter(|r| r["path"] == "/api/public/v1/test-suites" && r["status"] == 200)
        .collect::<Vec<_>>();
    assert_eq!(basic[0]["user"], alice.login);

    // A personal token still echoes itself.
    let (_, body) = t.refresh(&alice.token).await;
    assert_eq!(body["refreshToken"], alice.token);

    // Two sign-ins of one user give two independent long-lived tokens.
    let (_, second) = t.refresh(&t.sso_temp("alice").await).await;
    assert_ne!(second["refreshToken"], long);
    let (s, _) = t.refresh(&long).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn sso_expired_and_unknown_tokens_and_reset() {
    let t = T::start().await;
    let bob = t.user("bob");
    // ttl_secs 0: issued already expired.
    let (s, body) = t.sso(json!({"login": bob.login, "ttl_secs": 0})).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(body["expires_in_secs"], 0);
    let (s, _) = t.refresh(body["refresh_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = t.refresh("sso_0123456789abcdef0123456789abcdef").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = t
        .refresh("zbr_sso_0123456789abcdef0123456789abcdef01234567")
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // A reset forgets long-lived SSO tokens and pending temp tokens.
    let (_, body) = t.refresh(&t.sso_temp("bob").await).await;
    let long = body["refreshToken"].as_str().unwrap().to_string();
    let pending = t.sso_temp("bob").await;
    let (s, _) = t.refresh(&long).await;
    assert_eq!(s, StatusCode::OK);
    t.control(reqwest::Method::POST, "reset")
        .send()
        .await
        .unwrap();
    let (s, _) = t.refresh(&long).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = t.refresh(&pending).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = json_of(
        t.http
            .get(format!(
                "{}/api/public/v1/test-suites?projectKey=DEMO",
                t.sb.url
            ))
            .basic_auth(&bob.login, Some(&long)),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Personal tokens are unaffected.
    let (s, _) = t.refresh(&bob.token).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn sso_control_endpoint_validation() {
    let t = T::start().await;
    let (s, body) = t.sso(json!({"login": "mallory@sandbox.test"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        body["message"],
        "No sandbox user with login 'mallory@sandbox.test' (users: alice@sandbox.test, bob@sandbox.test)"
    );
    let (s, body) = t.sso(json!({"login": "  "})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["source"], "login");
    let (s, _) = t.sso(json!({})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = t
        .sso(json!({"login": "bob@sandbox.test", "password": "x"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, body) = t
        .sso(json!({"login": "bob@sandbox.test", "ttl_secs": 86_401}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["source"], "ttl_secs");
    let (s, _) = json_of(
        t.control(reqwest::Method::POST, "sso")
            .header("content-type", "application/json")
            .body("not json"),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, body) = json_of(
        t.control(reqwest::Method::POST, "sso")
            .header("host", "evil.test/path?x=")
            .json(&json!({"login": "bob@sandbox.test"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("Host header"),
        "{body}"
    );
    // Control calls are not logged.
    let log: Vec<Value> = t
        .control(reqwest::Method::GET, "requests")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(log.is_empty(), "{log:?}");
}

#[tokio::test]
async fn revoking_a_user_refuses_all_their_tokens_until_reset() {
    let t = T::start().await;
    let alice = t.user("alice");
    let bob = t.user("bob");
    let (_, body) = t.refresh(&t.sso_temp("alice").await).await;
    let long = body["refreshToken"].as_str().unwrap().to_string();
    let pending = t.sso_temp("alice").await;
    let bearer = t.bearer("alice").await;
    let bob_bearer = t.bearer("bob").await;

    let resp = t
        .control(reqwest::Method::POST, "users/revoke")
        .json(&json!({"login": alice.login}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);

    // Personal token, SSO token, pending temp token and bearer: all 401.
    let (s, _) = json_of(t.get("/test-suites?projectKey=DEMO")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = t.refresh(&alice.token).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = t.refresh(&long).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = json_of(
        t.http
            .get(format!(
                "{}/api/public/v1/test-suites?projectKey=DEMO",
                t.sb.url
            ))
            .basic_auth(&alice.login, Some(&long)),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = t.refresh(&pending).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = json_of(t.internal(&bearer, "/api/projects/v1/projects/DEMO")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Bob is unaffected.
    let (s, _) =
        json_of(t.public(reqwest::Method::GET, "bob", "/test-suites?projectKey=DEMO")).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = json_of(t.internal(&bob_bearer, "/api/projects/v1/projects/DEMO")).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = t.refresh(&bob.token).await;
    assert_eq!(s, StatusCode::OK);

    // A fresh SSO sign-in after the revocation works.
    let (s, body) = t.refresh(&t.sso_temp("alice").await).await;
    assert_eq!(s, StatusCode::OK);
    let fresh = body["refreshToken"].as_str().unwrap();
    let (s, _) = json_of(
        t.http
            .get(format!(
                "{}/api/public/v1/test-suites?projectKey=DEMO",
                t.sb.url
            ))
            .basic_auth(&alice.login, Some(fresh)),
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    // Unknown login and bad bodies.
    let (s, body) = json_of(
        t.control(reqwest::Method::POST, "users/revoke")
            .json(&json!({"login": "nobody"})),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(body["message"].as_str().unwrap().contains("'nobody'"));
    let (s, _) = json_of(
        t.control(reqwest::Method::POST, "users/revoke")
            .json(&json!({"login": alice.login, "all": true})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // A reset restores the personal token.
    t.control(reqwest::Method::POST, "reset")
        .send()
        .await
        .unwrap();
    let (s, _) = json_of(t.get("/test-suites?projectKey=DEMO")).await;
    assert_eq!(s, StatusCode::OK);
}
