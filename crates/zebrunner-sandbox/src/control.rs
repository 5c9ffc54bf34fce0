//! The `/__sandbox/` control API and the middleware that serves it.
//!
//! [`observe`] wraps every Zebrunner path: it injects configured faults
//! (latency, error status, `Retry-After`, a connection dropped without an
//! answer) and appends `{method, path, query, user, status}` to the request
//! log. The control endpoints themselves need no
//! auth and are never logged or faulted. See docs/sandbox.md for the API.
//!
//! `POST /__sandbox/sso` plays the identity provider of an SSO sign-in (it
//! answers the address Zebrunner's browser lands on), and
//! `POST /__sandbox/users/revoke` makes one user's tokens stop working.

use std::collections::VecDeque;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::HOST;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Sandbox;
use crate::auth::SSO_TEMP_TOKEN_TTL_SECS;
use crate::errors::ApiError;
use crate::routes::JsonBody;

/// Oldest entries are dropped past this many, so long demos stay bounded.
pub const REQUEST_LOG_CAP: usize = 10_000;

/// One logged Zebrunner request.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    /// The raw (still percent-encoded) query string, or null.
    pub query: Option<String>,
    /// Authenticated login (Basic or Bearer), or null.
    pub user: Option<String>,
    /// The status answered, or [`RESET_STATUS`] when a fault dropped the connection.
    pub status: u16,
}

/// The logged status of a request whose connection a `reset` fault dropped: no answer.
pub const RESET_STATUS: u16 = 0;

/// A fault as posted to `POST /__sandbox/faults`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub path_prefix: Option<String>,
    pub method: Option<String>,
    pub latency_ms: Option<u64>,
    pub status: Option<u16>,
    pub count: Option<u32>,
    pub rate: Option<f64>,
    pub retry_after_secs: Option<u64>,
    /// Drop the connection without an HTTP answer, as a crashed Zebrunner node or a load
    /// balancer resetting it would; the request does not reach Zebrunner.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reset: bool,
}

/// What a fault does instead of letting a request through.
#[derive(Debug)]
enum Failure {
    /// Answer with this error.
    Status(ApiError),
    /// Close the connection without an answer.
    Reset,
}

#[derive(Debug, Clone, Serialize)]
struct Fault {
    id: u64,
    #[serde(flatten)]
    spec: FaultSpec,
    /// Matching requests still to affect (None = unlimited).
    remaining: Option<u32>,
}

impl Fault {
    fn matches(&self, method: &str, path: &str) -> bool {
        self.spec
            .path_prefix
            .as_deref()
            .is_none_or(|p| path.starts_with(p))
            && self
                .spec
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
    }
}

/// Request log and active faults.
#[derive(Debug)]
pub struct ControlState {
    log: VecDeque<RequestRecord>,
    faults: Vec<Fault>,
    next_fault_id: u64,
    rng: StdRng,
}

impl ControlState {
    pub fn new(seed: u64) -> Self {
        ControlState {
            log: VecDeque::new(),
            faults: Vec::new(),
            next_fault_id: 0,
            rng: StdRng::seed_from_u64(seed ^ 0xFA17),
        }
    }

    /// Picks what happens to a request: (delay, failure to return instead).
    fn decide(&mut self, method: &str, path: &str) -> (u64, Option<Failure>) {
        let mut latency = 0;
        let mut failure = None;
        for fault in self.faults.iter_mut().filter(|f| f.matches(method, path)) {
            if let Some(rate) = fault.spec.rate
                && !self.rng.random_bool(rate.clamp(0.0, 1.0))
            {
                continue;
            }
            if fault.remaining == Some(0) {
                continue;
            }
            if let Some(n) = fault.remaining.as_mut() {
                *n -= 1;
            }
            latency = latency.max(fault.spec.latency_ms.unwrap_or(0));
            if failure.is_some() {
                continue;
            }
            if fault.spec.reset {
                failure = Some(Failure::Reset);
            } else if let Some(status) =
                fault.spec.status.and_then(|s| StatusCode::from_u16(s).ok())
            {
                let mut err =
                    ApiError::new(status, format!("Injected fault: HTTP {}", status.as_u16()));
                err.retry_after = fault.spec.retry_after_secs;
                failure = Some(Failure::Status(err));
            }
        }
        self.faults.retain(|f| f.remaining != Some(0));
        (latency, failure)
    }

    fn record(&mut self, rec: RequestRecord) {
        if self.log.len() >= REQUEST_LOG_CAP {
            self.log.pop_front();
        }
        self.log.push_back(rec);
    }
}

/// Middleware over Zebrunner paths: faults first, then the log entry.
pub async fn observe(State(sb): State<Sandbox>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/__sandbox") {
        return next.run(req).await;
    }
    let method = req.method().to_string();
    let query = req.uri().query().map(redact_query);
    let user = sb.identify(req.headers());
    let (latency, failure) = sb.control().decide(&method, &path);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let (resp, status) = match failure {
        Some(Failure::Status(err)) => {
            let resp = err.into_response();
            let status = resp.status().as_u16();
            (resp, status)
        }
        Some(Failure::Reset) => (reset_connection(), RESET_STATUS),
        None => {
            let resp = next.run(req).await;
            let status = resp.status().as_u16();
            (resp, status)
        }
    };
    sb.control().record(RequestRecord {
        method,
        path,
        query,
        user,
        status,
    });
    resp
}

/// A response whose body fails before its first byte: hyper then closes the connection
/// without writing the status line, so the client sees the connection drop with no answer.
fn reset_connection() -> Response {
    let failed = futures::stream::iter([Err::<Vec<u8>, _>(std::io::Error::from(
        std::io::ErrorKind::ConnectionReset,
    ))]);
    Response::new(Body::from_stream(failed))
}

/// The raw query with the value of every `refresh-token` parameter (an SSO
/// temp token, on `GET /sso`) replaced: the log never holds a credential.
fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if name.eq_ignore_ascii_case("refresh-token") => {
                format!("{name}=[REDACTED]")
            }
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Routes under `/__sandbox/`.
pub fn router() -> Router<Sandbox> {
    Router::new()
        .route(
            "/__sandbox/requests",
            get(list_requests).delete(clear_requests),
        )
        .route(
            "/__sandbox/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/__sandbox/reset", post(reset))
        .route("/__sandbox/auth", post(auth_settings))
        .route("/__sandbox/behaviour", get(behaviour).post(set_behaviour))
        .route("/__sandbox/users", get(users))
        .route("/__sandbox/users/revoke", post(revoke_user))
        .route("/__sandbox/sso", post(sso_sign_in))
}

async fn list_requests(State(sb): State<Sandbox>) -> Json<Vec<RequestRecord>> {
    Json(sb.control().log.iter().cloned().collect())
}

async fn clear_requests(State(sb): State<Sandbox>) -> StatusCode {
    sb.control().log.clear();
    StatusCode::NO_CONTENT
}

async fn list_faults(State(sb): State<Sandbox>) -> Json<Value> {
    Json(json!(sb.control().faults))
}

async fn add_fault(
    State(sb): State<Sandbox>,
    JsonBody(spec): JsonBody<FaultSpec>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if spec.status.is_some_and(|s| !(400..=599).contains(&s)) {
        return Err(ApiError::field(
            "status",
            "must be an HTTP error status (400-599)",
        ));
    }
    if spec.rate.is_some_and(|r| !(0.0..=1.0).contains(&r)) {
        return Err(ApiError::field("rate", "must be between 0 and 1"));
    }
    if spec.reset && (spec.status.is_some() || spec.retry_after_secs.is_some()) {
        return Err(ApiError::field(
            "reset",
            "a reset sends no answer, so it takes no 'status' or 'retry_after_secs'",
        ));
    }
    if spec.status.is_none() && spec.latency_ms.is_none() && !spec.reset {
        return Err(ApiError::bad_request(
            "A fault needs 'status', 'reset' and/or 'latency_ms'",
        ));
    }
    let mut ctl = sb.control();
    ctl.next_fault_id += 1;
    let fault = Fault {
        id: ctl.next_fault_id,
        remaining: spec.count,
        spec,
    };
    let body = json!(fault);
    ctl.faults.push(fault);
    Ok((StatusCode::CREATED, Json(body)))
}

async fn clear_faults(State(sb): State<Sandbox>) -> StatusCode {
    sb.control().faults.clear();
    StatusCode::NO_CONTENT
}

async fn reset(State(sb): State<Sandbox>) -> StatusCode {
    sb.reset();
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthSettings {
    token_ttl_secs: Option<u64>,
    #[serde(default)]
    revoke_bearers: bool,
}

async fn auth_settings(
    State(sb): State<Sandbox>,
    JsonBody(body): JsonBody<AuthSettings>,
) -> Json<Value> {
    let mut auth = sb.auth();
    if let Some(ttl) = body.token_ttl_secs {
        auth.token_ttl_secs = ttl;
    }
    if body.revoke_bearers {
        auth.revoke_all();
    }
    Json(json!({"token_ttl_secs": auth.token_ttl_secs}))
}

/// How the fake deviates from its defaults, for tests of a client's defences.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Behaviour {
    /// Lookups by id ignore `projectKey`/`projectId` (see [`crate::store::Store`]).
    ids_ignore_project: Option<bool>,
}

async fn behaviour(State(sb): State<Sandbox>) -> Json<Value> {
    Json(json!({"ids_ignore_project": sb.store().ids_ignore_project}))
}

async fn set_behaviour(
    State(sb): State<Sandbox>,
    JsonBody(body): JsonBody<Behaviour>,
) -> Json<Value> {
    let mut st = sb.store_mut();
    if let Some(ignore) = body.ids_ignore_project {
        st.ids_ignore_project = ignore;
    }
    Json(json!({"ids_ignore_project": st.ids_ignore_project}))
}

async fn users(State(sb): State<Sandbox>) -> Json<Value> {
    Json(json!(
        sb.users()
            .into_iter()
            .map(|u| json!({"login": u.login, "token": u.token, "user_id": u.user_id, "display_name": u.display_name, "projects": u.projects}))
            .collect::<Vec<_>>()
    ))
}

/// Body of `POST /__sandbox/sso`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SsoSignIn {
    login: String,
    /// Lifetime of the temp token (default 300 s; 0 = already expired).
    ttl_secs: Option<u64>,
}

/// Longest `ttl_secs` accepted for an SSO temp token (a day).
const MAX_SSO_TTL_SECS: u64 = 86_400;

/// 404 naming the logins that exist (they are not secret).
fn unknown_login(sb: &Sandbox, login: &str) -> ApiError {
    let known: Vec<String> = sb.users().into_iter().map(|u| u.login).collect();
    ApiError::not_found(format!(
        "No sandbox user with login '{login}' (users: {})",
        known.join(", ")
    ))
}

/// The address a request reached, `http://<Host header>`, if the header is a
/// plain `host[:port]`.
fn origin(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(HOST)?.to_str().ok()?;
    let plain = !host.is_empty()
        && host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    plain.then(|| format!("http://{host}"))
}

/// Simulates a finished SSO sign-in of `login`: a single-use temp token and
/// the address Zebrunner's browser lands on with it.
async fn sso_sign_in(
    State(sb): State<Sandbox>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<SsoSignIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if body.login.trim().is_empty() {
        return Err(ApiError::field("login", "must not be blank"));
    }
    let ttl = body.ttl_secs.unwrap_or(SSO_TEMP_TOKEN_TTL_SECS);
    if ttl > MAX_SSO_TTL_SECS {
        return Err(ApiError::field(
            "ttl_secs",
            format!("must be at most {MAX_SSO_TTL_SECS}"),
        ));
    }
    let Some(origin) = origin(&headers) else {
        return Err(ApiError::bad_request(
            "The request needs a Host header (host[:port]) to build the sign-in address",
        ));
    };
    let Some(login) = sb.caller_by_login(&body.login).map(|c| c.login) else {
        return Err(unknown_login(&sb, &body.login));
    };
    let temp = sb.auth().mint_sso_temp(&login, ttl);
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "url": format!("{origin}/sso?refresh-token={temp}"),
            "refresh_token": temp,
            "login": login,
            "expires_in_secs": ttl,
        })),
    ))
}

/// Body of `POST /__sandbox/users/revoke`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeUser {
    login: String,
}

/// Every token `login` holds now (personal, SSO, bearers) answers 401.
async fn revoke_user(
    State(sb): State<Sandbox>,
    JsonBody(body): JsonBody<RevokeUser>,
) -> Result<StatusCode, ApiError> {
    let Some(login) = sb.caller_by_login(&body.login).map(|c| c.login) else {
        return Err(unknown_login(&sb, &body.login));
    };
    sb.auth().revoke_user(&login);
    Ok(StatusCode::NO_CONTENT)
}
