//! HTTP plumbing: URLs, auth headers, rate limiting, retries, error mapping.
//!
//! Every request goes through [`Transport::execute`], which
//!
//! 1. waits for the client-side rate limiter (if configured);
//! 2. sends with Basic auth (Public API), a Bearer (internal APIs) or none
//!    (the IAM refresh itself);
//! 3. retries idempotent requests on 429/502/503/504 and connection errors
//!    with jittered exponential backoff, honouring `Retry-After`, and never
//!    sleeping past the retry deadline;
//! 4. on a 401 with a Bearer, drops that bearer and tries once more with a
//!    fresh one (see [`crate::auth`]);
//! 5. maps failures to [`Error`] with the method and path — never headers.
//!
//! Around all that, the workspace's circuit breaker (see [`crate::breaker`]) admits each
//! logical request and learns whether Zebrunner answered it; while open, a request fails at
//! once with [`Error::CircuitOpen`]. A `Retry-After` that ends past the retry deadline is
//! not waited for: the [`Error::RateLimited`] goes back at once, carrying it.
//!
//! Each attempt runs in a `zebrunner.request` tracing span and bumps the
//! request counter. Metrics (the `metrics` facade; nothing is recorded unless the binary
//! installs a recorder): every attempt in `zmcp_zebrunner_requests_total` and
//! `zmcp_zebrunner_request_duration_seconds` by [`Call::endpoint`] class (never the raw path,
//! which holds ids and keys), each retry in `zmcp_zebrunner_retries_total`, and each wait for
//! the client-side rate limit or a `Retry-After` in `zmcp_zebrunner_rate_limit_wait_seconds`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use futures::future::BoxFuture;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rand::Rng as _;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::Value;
use tokio::time::Instant;
use tracing::Instrument as _;
use url::Url;

use crate::auth::BearerCache;
use crate::breaker::{CircuitBreaker, Outcome};
use crate::config::WorkspaceConfig;
use crate::error::Error;

mod download;

/// Upper bound on attempts, on top of the deadline.
const MAX_ATTEMPTS: u32 = 8;
/// First backoff step; doubles per attempt.
const BACKOFF_BASE: Duration = Duration::from_millis(200);
/// Largest backoff step.
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Longest error text taken from a response body.
const MAX_MESSAGE_CHARS: usize = 500;

/// Which base URL and credentials a call uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    /// `{host}/api/public/v1`, Basic auth.
    Public,
    /// `{host}`, Bearer auth.
    Internal,
    /// `{host}`, no auth (the IAM refresh).
    Iam,
}

/// Maps an error status of one endpoint before the general mapping:
/// `(status, Zebrunner's message (already redacted), method, path)`; `None`
/// leaves it to [`Transport`]'s mapping.
pub(crate) type StatusMap = fn(u16, &str, &str, &str) -> Option<Error>;

/// One logical request. Deliberately not `Debug`: the IAM body holds the token.
pub(crate) struct Call {
    method: Method,
    api: Api,
    segments: Vec<String>,
    query: Vec<(&'static str, String)>,
    body: Option<Value>,
    idempotent: bool,
    /// What a 404/403 is about, e.g. "test case DEMO-9 in project DEMO".
    what: String,
    project: Option<String>,
    filter: Option<String>,
    status_map: Option<StatusMap>,
}

impl Call {
    /// A request to `api` at the given path segments (each percent-encoded).
    pub(crate) fn new<S: Into<String>>(
        method: Method,
        api: Api,
        segments: impl IntoIterator<Item = S>,
    ) -> Self {
        let idempotent = matches!(
            method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        );
        Self {
            method,
            api,
            segments: segments.into_iter().map(Into::into).collect(),
            query: Vec::new(),
            body: None,
            idempotent,
            what: "the requested resource".to_owned(),
            project: None,
            filter: None,
            status_map: None,
        }
    }

    /// A GET on the Public API.
    pub(crate) fn public<S: Into<String>>(segments: impl IntoIterator<Item = S>) -> Self {
        Self::new(Method::GET, Api::Public, segments)
    }

    /// A GET on an internal API.
    pub(crate) fn internal<S: Into<String>>(segments: impl IntoIterator<Item = S>) -> Self {
        Self::new(Method::GET, Api::Internal, segments)
    }

    pub(crate) fn query(mut self, key: &'static str, value: impl ToString) -> Self {
        self.query.push((key, value.to_string()));
        self
    }

    pub(crate) fn query_opt(self, key: &'static str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.query(key, v),
            None => self,
        }
    }

    pub(crate) fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Overrides the method-based default (the IAM refresh is a safe POST).
    pub(crate) fn idempotent(mut self, yes: bool) -> Self {
        self.idempotent = yes;
        self
    }

    #[cfg(test)]
    pub(crate) fn is_idempotent(&self) -> bool {
        self.idempotent
    }

    pub(crate) fn what(mut self, what: impl Into<String>) -> Self {
        self.what = what.into();
        self
    }

    pub(crate) fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// Maps this endpoint's error statuses first (see [`StatusMap`]).
    pub(crate) fn status_map(mut self, map: StatusMap) -> Self {
        self.status_map = Some(map);
        self
    }

    /// Records the RQL sent, so a 400/422 can quote it.
    pub(crate) fn filter(mut self, filter: impl Into<String>) -> Self {
        self.filter = Some(filter.into());
        self
    }

    /// The metrics label for this request: the API and the resource, from a fixed list (ids,
    /// keys and anything else from the path never become a label value).
    pub(crate) fn endpoint(&self) -> &'static str {
        let segment = |i: usize| self.segments.get(i).map(String::as_str);
        match self.api {
            Api::Public => match segment(0) {
                Some("test-cases") => "public/test-cases",
                Some("test-suites") => "public/test-suites",
                Some("test-runs") => "public/test-runs",
                Some("test-run-settings") => "public/test-run-settings",
                _ => "public/other",
            },
            Api::Internal | Api::Iam => match (segment(0), segment(1), segment(3)) {
                (Some("api"), Some("tcm"), Some("test-cases")) => "tcm/test-cases",
                (Some("api"), Some("tcm"), _) => "tcm/other",
                (Some("api"), Some("reporting"), Some("launches")) => "reporting/launches",
                (Some("api"), Some("reporting"), Some("milestones")) => "reporting/milestones",
                (Some("api"), Some("reporting"), _) => "reporting/other",
                (Some("api"), Some("projects"), _) => "projects",
                (Some("api"), Some("iam"), _) => match self.segments.last().map(String::as_str) {
                    Some("refresh") => "iam/refresh",
                    Some("token-exchange") => "iam/token-exchange",
                    _ => "iam/other",
                },
                _ => "internal/other",
            },
        }
    }
}

/// Metric names recorded here (see the module docs).
pub(crate) mod metric {
    pub(crate) const REQUESTS: &str = "zmcp_zebrunner_requests_total";
    pub(crate) const DURATION: &str = "zmcp_zebrunner_request_duration_seconds";
    pub(crate) const RETRIES: &str = "zmcp_zebrunner_retries_total";
    pub(crate) const RATE_LIMIT_WAIT: &str = "zmcp_zebrunner_rate_limit_wait_seconds";
}

/// The `status` label of an attempt: the HTTP status, or `network` when none came back.
fn status_label(status: Option<StatusCode>) -> metrics::SharedString {
    match status {
        Some(status) => metrics::SharedString::from(status.as_u16().to_string()),
        None => metrics::SharedString::const_str("network"),
    }
}

/// A received response, before status handling.
struct Received {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// What every client of one workspace shares: the connection pool, the addresses, the
/// client-side rate limit (one budget towards Zebrunner for all users), the retry budget and
/// the circuit breaker (one view of whether Zebrunner answers).
#[derive(Clone)]
pub(crate) struct Shared {
    http: reqwest::Client,
    host: Url,
    public_api: Url,
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    retry_deadline: Duration,
    breaker: CircuitBreaker,
}

impl Shared {
    pub(crate) fn new(cfg: &WorkspaceConfig) -> Result<Self, Error> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        crate::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .default_headers(headers)
            .user_agent(concat!("zebrunner-mcp/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            host: cfg.url.host().clone(),
            public_api: cfg.url.public_api().clone(),
            limiter: cfg
                .requests_per_second
                .map(|rps| Arc::new(RateLimiter::direct(Quota::per_second(rps)))),
            retry_deadline: cfg.retry_deadline,
            breaker: CircuitBreaker::new(cfg.breaker),
        })
    }
}

impl Shared {
    /// One `GET <public API>/test-suites` without credentials, not retried: Zebrunner answers
    /// 401, which is what a reachable workspace says. See [`crate::Workspace::check_reachable`].
    pub(crate) async fn probe(&self) -> Result<(), Error> {
        let mut url = self.public_api.clone();
        url.path_segments_mut()
            .map_err(|()| Error::config("ZEBRUNNER_URL cannot be used as a base URL"))?
            .pop_if_empty()
            .push("test-suites");
        let path = url.path().to_owned();
        let method = "GET".to_owned();
        crate::request_log::record("GET", &path);
        let response = match self.http.get(url).send().await {
            Ok(response) => response,
            Err(e) => {
                return Err(Error::Network {
                    message: error_chain(&e),
                    method,
                    path,
                    attempts: 1,
                });
            }
        };
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map(|b| b.to_vec())
            .unwrap_or_default();
        let message = body_message(&body);
        let message = (!message.is_empty()).then_some(message);
        match status {
            // The answer of an API that wants credentials: Zebrunner is there.
            401 | 403 => Ok(()),
            404 => Err(Error::NotFound {
                what: "Zebrunner's Public API at this address; check ZEBRUNNER_URL (the \
                       workspace address, e.g. https://acme.zebrunner.com)"
                    .into(),
                method,
                path,
            }),
            500..=599 => Err(Error::Unavailable {
                status,
                message,
                method,
                path,
                attempts: 1,
            }),
            _ => Err(Error::Http {
                status,
                message: Some(format!(
                    "Zebrunner's API answers 401 without credentials; this address answered \
                     otherwise, so ZEBRUNNER_URL may point at another site or a sign-in proxy{}",
                    message.map(|m| format!(" ({m})")).unwrap_or_default()
                )),
                method,
                path,
            }),
        }
    }
}

/// HTTP state of one client: the workspace's shared parts and one user's credentials.
pub(crate) struct Transport {
    http: reqwest::Client,
    host: Url,
    public_api: Url,
    login: String,
    token: SecretString,
    basic: HeaderValue,
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    retry_deadline: Duration,
    breaker: CircuitBreaker,
    requests: AtomicU64,
    pub(crate) bearer: BearerCache,
}

impl Transport {
    pub(crate) fn new(shared: Shared, login: String, token: SecretString) -> Result<Self, Error> {
        if login.trim().is_empty() {
            return Err(Error::config("the Zebrunner login is empty"));
        }
        if token.expose_secret().trim().is_empty() {
            return Err(Error::config("the Zebrunner API token is empty"));
        }
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            login,
            token.expose_secret()
        ));
        let mut basic = HeaderValue::from_str(&format!("Basic {basic}")).map_err(|_| {
            Error::config("the Zebrunner login contains characters not allowed in a header")
        })?;
        basic.set_sensitive(true);
        let Shared {
            http,
            host,
            public_api,
            limiter,
            retry_deadline,
            breaker,
        } = shared;
        Ok(Self {
            http,
            host,
            public_api,
            login,
            token,
            basic,
            limiter,
            retry_deadline,
            breaker,
            requests: AtomicU64::new(0),
            bearer: BearerCache::default(),
        })
    }

    pub(crate) fn login(&self) -> &str {
        &self.login
    }

    pub(crate) fn token(&self) -> &SecretString {
        &self.token
    }

    pub(crate) fn requests_made(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The workspace's shared parts this transport was made from (pool, addresses, limits).
    pub(crate) fn shared(&self) -> Shared {
        Shared {
            http: self.http.clone(),
            host: self.host.clone(),
            public_api: self.public_api.clone(),
            limiter: self.limiter.clone(),
            retry_deadline: self.retry_deadline,
            breaker: self.breaker.clone(),
        }
    }

    /// Sends `call` and returns the body of its successful answer.
    ///
    /// Boxed: a request's future (reqwest's, the retries, the rate limit, the bearer) is
    /// kilobytes, and inline it would make the future of every tool that awaits it as large,
    /// copied each time that future moves (rmcp boxes each call's, then spawns it).
    pub(crate) fn execute<'a>(&'a self, call: &'a Call) -> BoxFuture<'a, Result<Answer, Error>> {
        Box::pin(async move {
            if call.api != Api::Internal {
                return self.send(call, None).await;
            }
            let (bearer, generation) = self.bearer.get(self).await?;
            match self.send(call, Some(&bearer)).await {
                // The bearer may have been revoked or expired early: one fresh try.
                Err(Error::Unauthorized { .. }) => {
                    self.bearer.invalidate(generation).await;
                    let (bearer, _) = self.bearer.get(self).await?;
                    self.send(call, Some(&bearer)).await
                }
                other => other,
            }
        })
    }

    /// Like [`Self::execute`], then decodes with `parse`; decode failures
    /// name the endpoint.
    pub(crate) async fn fetch<T>(
        &self,
        call: Call,
        parse: impl FnOnce(Answer) -> Result<T, serde_json::Error>,
    ) -> Result<T, Error> {
        let answer = self.execute(&call).await?;
        parse(answer).map_err(|e| self.decode_error(&call, &e))
    }

    /// The error for an answer to `call` that does not decode.
    pub(crate) fn decode_error(&self, call: &Call, error: &serde_json::Error) -> Error {
        Error::Decode {
            message: error.to_string(),
            method: call.method.to_string(),
            path: self.path_of(call),
        }
    }

    fn url_for(&self, call: &Call) -> Result<Url, Error> {
        let mut url = match call.api {
            Api::Public => self.public_api.clone(),
            Api::Internal | Api::Iam => self.host.clone(),
        };
        url.path_segments_mut()
            .map_err(|()| Error::config("ZEBRUNNER_URL cannot be used as a base URL"))?
            .pop_if_empty()
            .extend(&call.segments);
        if !call.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&call.query);
        }
        Ok(url)
    }

    /// What a 404 answer to `call` is mapped to.
    pub(crate) fn not_found(&self, call: &Call) -> Error {
        Error::NotFound {
            what: call.what.clone(),
            method: call.method.to_string(),
            path: self.path_of(call),
        }
    }

    fn path_of(&self, call: &Call) -> String {
        self.url_for(call)
            .map(|u| u.path().to_owned())
            .unwrap_or_else(|_| call.segments.join("/"))
    }

    /// One logical request with fixed credentials, if the circuit breaker lets it go.
    pub(crate) async fn send(
        &self,
        call: &Call,
        bearer: Option<&SecretString>,
    ) -> Result<Answer, Error> {
        let url = self.url_for(call)?;
        let permit = self
            .breaker
            .admit()
            .map_err(|retry_after| Error::CircuitOpen { retry_after })?;
        let result = self.send_with_retries(call, url, bearer).await;
        permit.record(breaker_outcome(&result));
        result
    }

    /// The retry loop for one logical request.
    async fn send_with_retries(
        &self,
        call: &Call,
        url: Url,
        bearer: Option<&SecretString>,
    ) -> Result<Answer, Error> {
        let path = url.path().to_owned();
        let method = call.method.to_string();
        let deadline = Instant::now() + self.retry_deadline;
        let mut attempt = 0u32;
        let endpoint = call.endpoint();
        loop {
            attempt += 1;
            if let Some(limiter) = &self.limiter
                && limiter.check().is_err()
            {
                // Over the client-side budget: wait for it (and say how long we waited).
                let waiting = Instant::now();
                limiter.until_ready().await;
                metrics::histogram!(metric::RATE_LIMIT_WAIT, "source" => "client")
                    .record(waiting.elapsed().as_secs_f64());
            }
            let span = tracing::info_span!(
                "zebrunner.request",
                method = %method,
                path = %path,
                attempt,
                status = tracing::field::Empty,
            );
            // Later attempts must not run past the deadline either.
            let timeout = (attempt > 1).then(|| deadline.saturating_duration_since(Instant::now()));
            let sent = Instant::now();
            let result = self
                .attempt(call, url.clone(), bearer, timeout)
                .instrument(span.clone())
                .await;
            let status = result.as_ref().ok().map(|rx| rx.status);
            metrics::counter!(
                metric::REQUESTS,
                "endpoint" => endpoint,
                "method" => method_label(&call.method),
                "status" => status_label(status),
            )
            .increment(1);
            metrics::histogram!(metric::DURATION, "endpoint" => endpoint)
                .record(sent.elapsed().as_secs_f64());

            let (retryable, retry_after, failure) = match result {
                Ok(rx) => {
                    span.record("status", rx.status.as_u16());
                    if rx.status.is_success() {
                        return Ok(Answer(rx.body));
                    }
                    let retryable =
                        call.idempotent && matches!(rx.status.as_u16(), 429 | 502 | 503 | 504);
                    let retry_after = rx
                        .headers
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, SystemTime::now()));
                    (retryable, retry_after, Ok(rx))
                }
                Err(e) => (call.idempotent && is_connection_error(&e), None, Err(e)),
            };

            if retryable && attempt < MAX_ATTEMPTS {
                let wait = retry_after.unwrap_or_else(|| backoff(attempt));
                if Instant::now() + wait < deadline {
                    tracing::debug!(parent: &span, wait_ms = wait.as_millis() as u64, "retrying");
                    metrics::counter!(
                        metric::RETRIES,
                        "endpoint" => endpoint,
                        "reason" => status_label(status),
                    )
                    .increment(1);
                    if retry_after.is_some() {
                        metrics::histogram!(metric::RATE_LIMIT_WAIT, "source" => "zebrunner")
                            .record(wait.as_secs_f64());
                    }
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            return Err(match failure {
                Ok(rx) => self.status_error(call, &rx, method, path, attempt, retry_after),
                Err(e) => Error::Network {
                    message: self.redact(&error_chain(&e)),
                    method,
                    path,
                    attempts: attempt,
                },
            });
        }
    }

    /// One HTTP exchange.
    async fn attempt(
        &self,
        call: &Call,
        url: Url,
        bearer: Option<&SecretString>,
        timeout: Option<Duration>,
    ) -> Result<Received, reqwest::Error> {
        let path = url.path().to_string();
        let mut req = self.http.request(call.method.clone(), url);
        match call.api {
            Api::Public => req = req.header(AUTHORIZATION, self.basic.clone()),
            Api::Internal => {
                if let Some(b) = bearer
                    && let Ok(mut v) =
                        HeaderValue::from_str(&format!("Bearer {}", b.expose_secret()))
                {
                    v.set_sensitive(true);
                    req = req.header(AUTHORIZATION, v);
                }
            }
            Api::Iam => {}
        }
        if let Some(body) = &call.body {
            req = req.json(body);
        }
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        crate::request_log::record(call.method.as_str(), &path);
        let started = std::time::Instant::now();
        let resp = req.send().await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await?.to_vec();
        tracing::debug!(
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "zebrunner response"
        );
        Ok(Received {
            status,
            headers,
            body,
        })
    }

    fn status_error(
        &self,
        call: &Call,
        rx: &Received,
        method: String,
        path: String,
        attempts: u32,
        retry_after: Option<Duration>,
    ) -> Error {
        let message = self.redact(&body_message(&rx.body));
        let status = rx.status.as_u16();
        if let Some(error) = call
            .status_map
            .and_then(|map| map(status, &message, &method, &path))
        {
            return error;
        }
        match status {
            401 => Error::Unauthorized {
                login: self.login.clone(),
                method,
                path,
            },
            403 => Error::Forbidden {
                login: self.login.clone(),
                what: call.what.clone(),
                project: call.project.clone(),
                method,
                path,
            },
            404 => Error::NotFound {
                what: call.what.clone(),
                method,
                path,
            },
            400 | 422 => match &call.filter {
                Some(filter) => Error::InvalidFilter {
                    status,
                    filter: filter.clone(),
                    message,
                    method,
                    path,
                },
                None => Error::BadRequest {
                    status,
                    message,
                    method,
                    path,
                },
            },
            429 => Error::RateLimited {
                method,
                path,
                attempts,
                retry_after,
            },
            500..=599 => Error::Unavailable {
                status,
                message: (!message.is_empty()).then_some(message),
                method,
                path,
                attempts,
            },
            _ => Error::Http {
                status,
                message: (!message.is_empty()).then_some(message),
                method,
                path,
            },
        }
    }

    /// Belt and braces: a server echoing the token must not leak it into errors.
    fn redact(&self, text: &str) -> String {
        let token = self.token.expose_secret();
        if token.len() >= 4 && text.contains(token) {
            text.replace(token, "[REDACTED]")
        } else {
            text.to_owned()
        }
    }
}

/// What a request's result says about Zebrunner: only failures to answer at all (no
/// response, or a gateway saying Zebrunner is not there) count against it. A 500 is Zebrunner
/// answering that one request badly; a 4xx or 429 is Zebrunner answering.
fn breaker_outcome<T>(result: &Result<T, Error>) -> Outcome {
    match result {
        Err(Error::Network { .. }) => Outcome::Unavailable,
        Err(Error::Unavailable {
            status: 502..=504, ..
        }) => Outcome::Unavailable,
        _ => Outcome::Answered,
    }
}

/// The `method` label: the methods this client sends, by name.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        _ => "other",
    }
}

/// The body of a successful answer, as Zebrunner sent it. Whoever asked decodes it: straight
/// into the type it wants ([`crate::api::decode_single`], [`crate::api::decode_items`]), which
/// costs half of building a [`Value`] first, or into a `Value`.
pub(crate) struct Answer(Vec<u8>);

impl Answer {
    /// The JSON text; `None` for an empty body (Zebrunner's 204s, and 200s with nothing).
    pub(crate) fn json(&self) -> Result<Option<&str>, serde_json::Error> {
        let text = std::str::from_utf8(&self.0).map_err(serde::de::Error::custom)?;
        Ok((!text.trim_start().is_empty()).then_some(text))
    }

    /// The body as a `Value`: `Null` for an empty body.
    pub(crate) fn into_value(self) -> Result<Value, serde_json::Error> {
        self.json()?.map_or(Ok(Value::Null), serde_json::from_str)
    }
}

#[cfg(test)]
impl Answer {
    pub(crate) fn from_text(text: &str) -> Self {
        Answer(text.as_bytes().to_vec())
    }
}

#[cfg(test)]
impl From<Value> for Answer {
    fn from(value: Value) -> Self {
        Answer(value.to_string().into_bytes())
    }
}

/// Zebrunner's `{message, errors:[{source, message}]}`, or the raw text.
fn body_message(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(v) => {
            let mut parts: Vec<String> = Vec::new();
            if let Some(m) = v
                .get("message")
                .or_else(|| v.get("error"))
                .and_then(Value::as_str)
            {
                parts.push(m.to_owned());
            }
            if let Some(errors) = v.get("errors").and_then(Value::as_array) {
                for e in errors {
                    let msg = e.get("message").and_then(Value::as_str).unwrap_or_default();
                    match e.get("source").and_then(Value::as_str) {
                        Some(src) => parts.push(format!("{src}: {msg}")),
                        None if !msg.is_empty() => parts.push(msg.to_owned()),
                        None => {}
                    }
                }
            }
            parts.join("; ")
        }
        Err(_) => String::from_utf8_lossy(body).trim().to_owned(),
    };
    if text.chars().count() > MAX_MESSAGE_CHARS {
        let cut: String = text.chars().take(MAX_MESSAGE_CHARS).collect();
        format!("{cut}…")
    } else {
        text
    }
}

fn is_connection_error(e: &reqwest::Error) -> bool {
    e.is_connect() || e.is_timeout() || e.is_request() || e.is_body()
}

/// `reqwest`'s top-level message is vague; the causes say what happened.
fn error_chain(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Exponential backoff with jitter: a random wait in `[step/2, step]`.
fn backoff(attempt: u32) -> Duration {
    let step = BACKOFF_BASE
        .saturating_mul(1 << attempt.saturating_sub(1).min(10))
        .min(BACKOFF_MAX);
    let ms = step.as_millis() as u64;
    Duration::from_millis(rand::rng().random_range(ms / 2..=ms))
}

/// Parses `Retry-After`: delta seconds or an HTTP date (past dates → zero).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        // RFC 850 and asctime forms are legal too.
        assert_eq!(
            parse_retry_after("Sunday, 06-Nov-94 08:49:40 GMT", now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            parse_retry_after("Sun Nov  6 08:49:38 1994", now),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 1..20 {
            let d = backoff(attempt);
            assert!(d <= BACKOFF_MAX, "{attempt}: {d:?}");
        }
        assert!(backoff(1) <= Duration::from_millis(200));
        assert!(backoff(4) >= Duration::from_millis(800));
    }

    #[test]
    fn only_safe_methods_are_idempotent() {
        assert!(Call::public(["x"]).idempotent);
        assert!(Call::new(Method::PUT, Api::Public, ["x"]).idempotent);
        assert!(Call::new(Method::DELETE, Api::Internal, ["x"]).idempotent);
        assert!(!Call::new(Method::POST, Api::Public, ["x"]).idempotent);
        assert!(!Call::new(Method::PATCH, Api::Public, ["x"]).idempotent);
        assert!(
            Call::new(Method::POST, Api::Iam, ["x"])
                .idempotent(true)
                .idempotent
        );
    }

    #[test]
    fn endpoint_classes_never_hold_ids_or_keys() {
        let class = |api, segments: &[&str]| {
            Call::new(Method::GET, api, segments.iter().copied()).endpoint()
        };
        assert_eq!(
            class(Api::Public, &["test-cases", "key:DEMO-1"]),
            "public/test-cases"
        );
        assert_eq!(
            class(Api::Public, &["test-runs", "7", "test-cases"]),
            "public/test-runs"
        );
        assert_eq!(class(Api::Public, &["DEMO-1"]), "public/other");
        assert_eq!(
            class(
                Api::Internal,
                &["api", "tcm", "v1", "test-cases", "12", "executions"]
            ),
            "tcm/test-cases"
        );
        assert_eq!(
            class(
                Api::Internal,
                &["api", "reporting", "v1", "launches", "9", "tests"]
            ),
            "reporting/launches"
        );
        assert_eq!(
            class(
                Api::Internal,
                &["api", "projects", "v1", "projects", "DEMO"]
            ),
            "projects"
        );
        assert_eq!(
            class(Api::Iam, &["api", "iam", "v1", "auth", "refresh"]),
            "iam/refresh"
        );
        assert_eq!(class(Api::Internal, &["secret-path"]), "internal/other");
    }

    #[test]
    fn body_messages() {
        assert_eq!(
            body_message(br#"{"message":"bad filter","errors":[{"source":"filter","message":"unknown field"}]}"#),
            "bad filter; filter: unknown field"
        );
        assert_eq!(body_message(b"plain text\n"), "plain text");
        assert!(body_message(&[b'x'; 2000]).chars().count() <= MAX_MESSAGE_CHARS + 1);
    }
}
