//! The proposed token exchange (`POST /api/iam/v1/auth/token-exchange`):
//! off by default (Zebrunner's 404), and when on, real ID-token validation
//! against a test issuer, the mapping to a sandbox user, Zebrunner's error
//! bodies, and a long-lived token that then works like a personal one.

// Test helpers may unwrap/expect/panic: clippy.toml only covers #[test] fns and #[cfg(test)].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/issuer.rs"]
mod issuer;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use issuer::{AUDIENCE, TestIssuer, now};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use zebrunner_sandbox::token_exchange::{ID_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT, TOKEN_EXCHANGE_PATH};
use zebrunner_sandbox::{
    RunningSandbox, Sandbox, SandboxConfig, SandboxUser, StartError, TokenExchangeConfig,
};

struct T {
    sb: RunningSandbox,
    http: Client,
}

impl T {
    async fn off() -> T {
        T::new(
            Sandbox::spawn(SandboxConfig::default(), "127.0.0.1:0")
                .await
                .unwrap(),
        )
    }

    async fn on(issuer: &TestIssuer) -> T {
        let sb = Sandbox::builder(SandboxConfig::default())
            .token_exchange(TokenExchangeConfig::new(&issuer.issuer, AUDIENCE))
            .spawn("127.0.0.1:0")
            .await
            .unwrap();
        T::new(sb)
    }

    fn new(sb: RunningSandbox) -> T {
        // reqwest is built without a rustls provider of its own.
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

    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.sb.url))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn exchange_body(&self, body: &Value) -> (StatusCode, Value) {
        self.post(TOKEN_EXCHANGE_PATH, body).await
    }

    async fn exchange(&self, id_token: &str) -> (StatusCode, Value) {
        self.exchange_body(&json!({
            "subjectToken": id_token,
            "subjectTokenType": ID_TOKEN_TYPE,
            "grantType": TOKEN_EXCHANGE_GRANT,
        }))
        .await
    }

    async fn public_status(&self, login: &str, token: &str) -> StatusCode {
        self.http
            .get(format!(
                "{}/api/public/v1/test-suites?projectKey=DEMO",
                self.sb.url
            ))
            .basic_auth(login, Some(token))
            .send()
            .await
            .unwrap()
            .status()
    }

    async fn requests(&self) -> Vec<Value> {
        self.http
            .get(format!("{}/__sandbox/requests", self.sb.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

fn jwt_payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// 401 `{error: "invalid_token", message}` whose message contains `want` and not the token.
fn assert_invalid_token(status: StatusCode, body: &Value, want: &str, token: &str) {
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_token", "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains(want), "{message}");
    assert!(!body.to_string().contains(token), "{body}");
}

#[tokio::test]
async fn off_by_default_it_is_an_unknown_path() {
    let t = T::off().await;
    assert!(t.sb.sandbox.token_exchange_config().is_none());
    assert!(!t.sb.banner().contains("token exchange"));
    let (status, body) = t.exchange("a.b.c").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["message"],
        format!("Resource not found: POST {TOKEN_EXCHANGE_PATH}")
    );
    // Exactly what any unknown path answers.
    let (other_status, other) = t.post("/api/iam/v1/auth/no-such", &json!({})).await;
    assert_eq!(other_status, StatusCode::NOT_FOUND);
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&body), keys(&other));
    assert_eq!(body["error"], other["error"]);
    assert_eq!(body["error"], "NOT_FOUND");
}

#[tokio::test]
async fn an_id_token_becomes_the_persons_long_lived_token() {
    let issuer = TestIssuer::start().await;
    let t = T::on(&issuer).await;
    assert!(t.sb.banner().ends_with(&format!(
        "\ntoken exchange issuer {} audience {AUDIENCE}",
        issuer.issuer
    )));
    let bob = t.user("bob");
    let id_token = issuer.id_token(&bob.login);
    let (status, body) = t.exchange(&id_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["tenantName"], "sandbox");
    assert_eq!(body["authTokenType"], "Bearer");
    assert_eq!(body["userId"], bob.user_id);
    assert!(body["authTokenExpirationInSecs"].as_u64().unwrap() > 0);
    assert!(body["permissionsSuperset"].is_array());
    assert_eq!(body["projectAssignments"].as_array().unwrap().len(), 2);
    let auth = jwt_payload(body["authToken"].as_str().unwrap());
    assert_eq!(auth["unm"], bob.login);
    assert_eq!(auth["sub"], bob.user_id.to_string());
    let token = body["refreshToken"].as_str().unwrap().to_owned();
    assert!(token.starts_with("zbr_sso_"), "{token}");
    assert_ne!(token, bob.token);

    // The long-lived token is the Basic password (for its own login only) and an IAM refresh token.
    assert_eq!(t.public_status(&bob.login, &token).await, StatusCode::OK);
    assert_eq!(
        t.public_status("alice@sandbox.test", &token).await,
        StatusCode::UNAUTHORIZED
    );
    let (status, refreshed) = t
        .post("/api/iam/v1/auth/refresh", &json!({"refreshToken": token}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(refreshed["refreshToken"], token);
    assert_eq!(
        jwt_payload(refreshed["authToken"].as_str().unwrap())["unm"],
        bob.login
    );
    // The ID token itself is no credential.
    assert_eq!(
        t.public_status(&bob.login, &id_token).await,
        StatusCode::UNAUTHORIZED
    );

    // Each exchange gives an independent token; the log holds no token.
    let (_, again) = t.exchange(&id_token).await;
    assert_ne!(again["refreshToken"], token);
    let log = t.requests().await;
    let exchanges: Vec<&Value> = log
        .iter()
        .filter(|r| r["path"] == TOKEN_EXCHANGE_PATH)
        .collect();
    assert_eq!(exchanges.len(), 2);
    assert!(
        exchanges
            .iter()
            .all(|r| r["status"] == 200 && r["query"].is_null())
    );
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains(&id_token) && !text.contains(&token));

    // Revoking the user forgets the token; a reset forgets them all.
    let revoke = t
        .post("/__sandbox/users/revoke", &json!({"login": bob.login}))
        .await;
    assert_eq!(revoke.0, StatusCode::NO_CONTENT);
    assert_eq!(
        t.public_status(&bob.login, &token).await,
        StatusCode::UNAUTHORIZED
    );
    let (_, fresh) = t.exchange(&id_token).await;
    let fresh = fresh["refreshToken"].as_str().unwrap().to_owned();
    assert_eq!(t.public_status(&bob.login, &fresh).await, StatusCode::OK);
    t.post("/__sandbox/reset", &json!({})).await;
    assert_eq!(
        t.public_status(&bob.login, &fresh).await,
        StatusCode::UNAUTHORIZED
    );
    assert!(
        t.sb.sandbox.token_exchange_config().is_some(),
        "a reset keeps it on"
    );
}

#[tokio::test]
async fn the_person_is_found_by_email_then_preferred_username() {
    let issuer = TestIssuer::start().await;
    let t = T::on(&issuer).await;
    // Any ASCII case.
    let (status, body) = t.exchange(&issuer.id_token("ALICE@Sandbox.Test")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["userId"], 1);
    // No e-mail: preferred_username.
    let mut claims = issuer.claims("x");
    claims.as_object_mut().unwrap().remove("email");
    claims["preferred_username"] = json!("bob@sandbox.test");
    let (status, body) = t.exchange(&issuer.sign(&claims)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["userId"], 2);
    // An e-mail no user has, but a preferred_username one has.
    claims["email"] = json!("robert@elsewhere.test");
    let (status, body) = t.exchange(&issuer.sign(&claims)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["userId"], 2);
    // People who appear in the data but cannot sign in are unknown.
    let token = issuer.id_token("carol@sandbox.test");
    let (status, body) = t.exchange(&token).await;
    assert_invalid_token(status, &body, "carol@sandbox.test", &token);
    // Neither claim.
    let mut anonymous = issuer.claims("x");
    for claim in ["email", "preferred_username"] {
        anonymous.as_object_mut().unwrap().remove(claim);
    }
    let token = issuer.sign(&anonymous);
    let (status, body) = t.exchange(&token).await;
    assert_invalid_token(status, &body, "names no e-mail", &token);
}

#[tokio::test]
async fn invalid_id_tokens_are_refused() {
    let issuer = TestIssuer::start().await;
    let t = T::on(&issuer).await;
    let alice = "alice@sandbox.test";
    let base = issuer.claims(alice);
    let with = |field: &str, value: Value| {
        let mut c = base.clone();
        c[field] = value;
        c
    };
    let cases = [
        (
            "wrong audience",
            issuer.sign(&with("aud", json!("0oa-other-app"))),
            "another audience",
        ),
        (
            "wrong issuer",
            issuer.sign(&with("iss", json!("https://evil.okta.com/oauth2/default"))),
            "another issuer",
        ),
        (
            "expired",
            issuer.sign(&with("exp", json!(now() - 3600))),
            "expired",
        ),
        (
            "issued in the future",
            issuer.sign(&with("iat", json!(now() + 3600))),
            "future",
        ),
        (
            "bad signature",
            issuer.sign_with_other_key(&base),
            "signature",
        ),
        ("not a JWT", "not-a-jwt".to_owned(), "well-formed"),
    ];
    for (what, token, want) in &cases {
        let (status, body) = t.exchange(token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert_invalid_token(status, &body, want, token);
    }

    // Without a nonce (a token exchange has none to compare) the same checks apply.
    let mut no_nonce = base.clone();
    no_nonce.as_object_mut().unwrap().remove("nonce");
    let (status, body) = t.exchange(&issuer.sign(&no_nonce)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["userId"], 1);
    for (field, value, want) in [
        ("aud", json!("0oa-other-app"), "another audience"),
        (
            "iss",
            json!("https://evil.okta.com/oauth2/default"),
            "another issuer",
        ),
        ("exp", json!(now() - 3600), "expired"),
        ("iat", json!(now() + 3600), "future"),
    ] {
        let mut claims = no_nonce.clone();
        claims[field] = value;
        let token = issuer.sign(&claims);
        let (status, body) = t.exchange(&token).await;
        assert_invalid_token(status, &body, want, &token);
    }
    let token = issuer.sign_with_other_key(&no_nonce);
    let (status, body) = t.exchange(&token).await;
    assert_invalid_token(status, &body, "signature", &token);
}

#[tokio::test]
async fn malformed_requests_are_bad_requests() {
    let issuer = TestIssuer::start().await;
    let t = T::on(&issuer).await;
    let id_token = issuer.id_token("alice@sandbox.test");
    let good = json!({
        "subjectToken": id_token,
        "subjectTokenType": ID_TOKEN_TYPE,
        "grantType": TOKEN_EXCHANGE_GRANT,
    });
    let with = |field: &str, value: Value| {
        let mut b = good.clone();
        match value {
            Value::Null => {
                b.as_object_mut().unwrap().remove(field);
            }
            v => b[field] = v,
        }
        b
    };
    for (body, source) in [
        (
            with(
                "subjectTokenType",
                json!("urn:ietf:params:oauth:token-type:access_token"),
            ),
            "subjectTokenType",
        ),
        (with("subjectTokenType", Value::Null), "subjectTokenType"),
        (with("grantType", json!("refresh_token")), "grantType"),
        (with("grantType", Value::Null), "grantType"),
        (with("subjectToken", json!(" ")), "subjectToken"),
        (with("subjectToken", Value::Null), "subjectToken"),
    ] {
        let (status, answer) = t.exchange_body(&body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["error"], "BAD_REQUEST");
        assert_eq!(answer["errors"][0]["source"], source, "{answer}");
        assert!(answer["timestamp"].is_string());
        assert!(!answer.to_string().contains(&id_token));
    }
    let (status, answer) = t.exchange_body(&json!([good])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    // Not JSON at all: axum's rejection, in Zebrunner's body.
    let resp = t
        .http
        .post(format!("{}{TOKEN_EXCHANGE_PATH}", t.sb.url))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["error"], "BAD_REQUEST");
}

#[tokio::test]
async fn a_wrong_issuer_stops_the_start() {
    // Nothing listens there: discovery fails before the sandbox serves.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}/oauth2/default", listener.local_addr().unwrap());
    drop(listener);
    let err = Sandbox::builder(SandboxConfig::default())
        .token_exchange(TokenExchangeConfig::new(&dead, AUDIENCE))
        .spawn("127.0.0.1:0")
        .await
        .unwrap_err();
    assert!(matches!(err, StartError::TokenExchange(_)), "{err}");
    assert!(err.to_string().starts_with("token exchange: "), "{err}");
    // Plain http off loopback is refused before any request.
    let err = Sandbox::builder(SandboxConfig::default())
        .token_exchange(TokenExchangeConfig::new(
            "http://acme.okta.com/oauth2/default",
            AUDIENCE,
        ))
        .build()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("https"), "{err}");
}
