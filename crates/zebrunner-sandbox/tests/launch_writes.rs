//! The launch writes over HTTP: R14 rerun (`POST /launches/{id}:rerun`) and
//! R16 job build (`POST /launches/{id}/job:build`), with R5/R6/R7/R15 showing
//! their effect and the request log counting them.

// Test helpers may unwrap/expect/panic: clippy.toml only covers #[test] fns and #[cfg(test)].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use zebrunner_sandbox::seed::{LAUNCHER_LAUNCH_NAME, RERUN_PERMISSION};
use zebrunner_sandbox::{RunningSandbox, Sandbox, SandboxConfig};

const R: &str = "/api/reporting/v1/launches";

struct T {
    sb: RunningSandbox,
    http: Client,
}

impl T {
    async fn start() -> T {
        let sb = Sandbox::spawn(SandboxConfig::default(), "127.0.0.1:0")
            .await
            .unwrap();
        let _ = rustls::crypto::ring::default_provider().install_default();
        T {
            sb,
            http: Client::new(),
        }
    }

    async fn refresh(&self, prefix: &str) -> Value {
        let user = self
            .sb
            .sandbox
            .users()
            .into_iter()
            .find(|u| u.login.starts_with(prefix))
            .unwrap();
        self.http
            .post(format!("{}/api/iam/v1/auth/refresh", self.sb.url))
            .json(&json!({"refreshToken": user.token}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn bearer(&self, prefix: &str) -> String {
        self.refresh(prefix).await["authToken"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn call(
        &self,
        method: Method,
        bearer: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.sb.url))
            .bearer_auth(bearer);
        if let Some(body) = body {
            rb = rb.json(&body);
        }
        let resp = rb.send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, bearer: &str, path: &str) -> Value {
        let (status, body) = self.call(Method::GET, bearer, path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }

    async fn logged(&self, method: &str, path: &str) -> usize {
        let log: Vec<Value> = self
            .http
            .get(format!("{}/__sandbox/requests", self.sb.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        log.iter()
            .filter(|r| r["method"] == method && r["path"] == path)
            .count()
    }
}

/// The first launch of DEMO (project id 1) named `name` that is `status`.
async fn demo_launch(t: &T, bearer: &str, pick: impl Fn(&Value) -> bool) -> Value {
    let list = t
        .get(bearer, &format!("{R}?projectId=1&page=1&pageSize=100"))
        .await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| pick(l))
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn rerun_adds_an_attempt_and_queues_the_launch() {
    let t = T::start().await;
    let alice = t.bearer("alice").await;
    let failed = demo_launch(&t, &alice, |l| l["status"] == "FAILED").await;
    let id = failed["id"].as_i64().unwrap();
    assert_eq!(failed["isRelaunchPossible"], true);
    let attempts = t
        .get(&alice, &format!("{R}/{id}/attempts?projectId=1"))
        .await;
    let before = attempts["items"].as_array().unwrap().len();

    let path = format!("{R}/{id}:rerun");
    let (status, body) = t
        .call(
            Method::POST,
            &alice,
            &format!("{path}?projectId=1&rerunFailures=true"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], id);
    assert_eq!(body["status"], "QUEUED");
    assert_eq!(body["isRelaunchPossible"], false);
    assert_eq!(t.logged("POST", &path).await, 1);

    let attempts = t
        .get(&alice, &format!("{R}/{id}/attempts?projectId=1"))
        .await;
    let items = attempts["items"].as_array().unwrap();
    assert_eq!(items.len(), before + 1);
    let last = items.last().unwrap();
    assert_eq!(last["startedBy"]["username"], "alice@sandbox.test");
    assert!(last["startedAt"].is_string() && last["finishedAt"].is_null());

    // Queued now, so not again.
    let (status, body) = t
        .call(
            Method::POST,
            &alice,
            &format!("{path}?projectId=1&rerunFailures=true"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["message"],
        format!("Launch with id {id} cannot be relaunched: it is QUEUED")
    );
    assert_eq!(body["error"], "BAD_REQUEST");
}

#[tokio::test]
async fn rerun_needs_the_iam_permission_and_a_finished_launch() {
    let t = T::start().await;
    let bob = t.refresh("bob").await;
    let alice = t.refresh("alice").await;
    // The IAM refresh lists each user's own permissions.
    assert!(
        alice["permissionsSuperset"]
            .as_array()
            .unwrap()
            .contains(&json!(RERUN_PERMISSION))
    );
    assert!(
        !bob["permissionsSuperset"]
            .as_array()
            .unwrap()
            .contains(&json!(RERUN_PERMISSION))
    );
    let bob = bob["authToken"].as_str().unwrap();
    let alice = alice["authToken"].as_str().unwrap();
    let failed = demo_launch(&t, alice, |l| l["status"] == "FAILED").await;
    let id = failed["id"].as_i64().unwrap();
    let (status, body) = t
        .call(
            Method::POST,
            bob,
            &format!("{R}/{id}:rerun?projectId=1&rerunFailures=true"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        body["message"],
        format!("Access denied: user 'bob@sandbox.test' lacks the permission '{RERUN_PERMISSION}'")
    );

    let running = demo_launch(&t, alice, |l| l["status"] == "IN_PROGRESS").await;
    assert_eq!(running["isRelaunchPossible"], false);
    let (status, _) = t
        .call(
            Method::POST,
            alice,
            &format!("{R}/{}:rerun?projectId=1", running["id"]),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Another project's launch (API is 3001+) is not found in DEMO.
    let (status, _) = t
        .call(
            Method::POST,
            alice,
            &format!("{R}/3001:rerun?projectId=1"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // No project named: 400, as for every reporting request.
    let (status, _) = t
        .call(Method::POST, alice, &format!("{R}/{id}:rerun"), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // bob has no access to API (project id 3).
    let (status, _) = t
        .call(
            Method::POST,
            bob,
            &format!("{R}/3001:rerun?projectId=3"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn other_actions_and_methods_answer_like_zebrunner() {
    let t = T::start().await;
    let alice = t.bearer("alice").await;
    let (status, body) = t
        .call(
            Method::POST,
            &alice,
            &format!("{R}/1001:abort?projectId=1"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(
        body["message"],
        format!("Resource not found: POST {R}/1001:abort")
    );
    let (status, body) = t
        .call(Method::POST, &alice, &format!("{R}/1001?projectId=1"), None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    assert_eq!(body["error"], "METHOD_NOT_ALLOWED");
    let (status, _) = t
        .call(
            Method::GET,
            &alice,
            &format!("{R}/1001/job:build?projectId=1"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _) = t
        .call(
            Method::GET,
            &alice,
            &format!("{R}/1001/nothing?projectId=1"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Without a bearer: 401 before anything else.
    let resp = t
        .http
        .post(format!("{}{R}/1001:rerun?projectId=1", t.sb.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn job_build_validates_the_parameters_and_queues_a_new_launch() {
    let t = T::start().await;
    let alice = t.bearer("alice").await;
    let template = demo_launch(&t, &alice, |l| {
        l["status"] == "PASSED" && l["name"] == "Web Smoke"
    })
    .await;
    let id = template["id"].as_i64().unwrap();
    assert_eq!(template["isLaunchAgainPossible"], true);
    let params = t
        .get(&alice, &format!("{R}/{id}/job/parameters?projectId=1"))
        .await;
    let mut body = serde_json::Map::new();
    for p in params["items"].as_array().unwrap() {
        body.insert(p["name"].as_str().unwrap().into(), p["value"].clone());
    }
    let path = format!("{R}/{id}/job:build");

    let mut wrong = body.clone();
    wrong.insert("nope".into(), json!("x"));
    wrong.insert("rerun_failures".into(), json!("true"));
    let (status, err) = t
        .call(
            Method::POST,
            &alice,
            &format!("{path}?projectId=1"),
            Some(Value::Object(wrong)),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let sources: Vec<&str> = err["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["source"].as_str().unwrap())
        .collect();
    assert!(
        sources.contains(&"nope") && sources.contains(&"rerun_failures"),
        "{err}"
    );

    body.insert("build".into(), json!("9.9.9"));
    body.insert("rerun_failures".into(), json!(true));
    let (status, created) = t
        .call(
            Method::POST,
            &alice,
            &format!("{path}?projectId=1"),
            Some(Value::Object(body)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(t.logged("POST", &path).await, 2);
    let new_id = created["id"].as_i64().unwrap();
    assert!(new_id > 5_000_000);
    assert_eq!(created["status"], "QUEUED");
    assert_eq!(created["build"], "9.9.9");
    assert_eq!(created["name"], template["name"]);

    // Newest in the list, with the posted parameters as its job's.
    let list = t
        .get(&alice, &format!("{R}?projectId=1&page=1&pageSize=5"))
        .await;
    assert_eq!(list["items"][0]["id"], new_id);
    assert_eq!(list["items"][0]["buildNumber"], "9.9.9");
    let job = t
        .get(&alice, &format!("{R}/{new_id}/job/parameters?projectId=1"))
        .await;
    let rerun = job["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "rerun_failures")
        .unwrap();
    assert_eq!(rerun["value"], true);
    assert_eq!(rerun["parameterClass"], "BOOLEAN");
}

#[tokio::test]
async fn launches_no_ci_job_started_have_no_job() {
    let t = T::start().await;
    let alice = t.bearer("alice").await;
    let launcher = demo_launch(&t, &alice, |l| l["name"] == LAUNCHER_LAUNCH_NAME).await;
    let id = launcher["id"].as_i64().unwrap();
    assert_eq!(launcher["isLaunchAgainPossible"], false);
    let (status, body) = t
        .call(
            Method::GET,
            &alice,
            &format!("{R}/{id}/job/parameters?projectId=1"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = t
        .call(
            Method::POST,
            &alice,
            &format!("{R}/{id}/job:build?projectId=1"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("not started by a CI job")
    );
}
