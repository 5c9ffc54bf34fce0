//! The guard in front of `/mcp`: who is calling, may they, and is the
//! session theirs. Every way of saying no is one [`Refusal`], rendered in one
//! place ([`Guard::refuse`]) following the MCP authorization spec: 401 with a
//! `WWW-Authenticate` challenge for a missing or invalid token, 403 with
//! `error="insufficient_scope"` naming every scope needed, 400 for a
//! malformed `Authorization` header, 403 with a reason when the policy
//! refuses the caller, 404 for a session this server does not know for the
//! caller (so the client starts a new one). Refusals of callers who proved
//! who they are leave one audit record each; anonymous ones are counted
//! (see [`crate::observe`]). The token itself never goes anywhere but the
//! validator.
//!
//! The guard also reads the request's `X-Zebrunner-Toolsets` header into a
//! [`ToolsetNarrowing`] for the handler: parsing requests is the transport's
//! job.

use std::{collections::HashSet, sync::Arc, time::Instant};

use axum::{
    Json,
    body::Body,
    extract::{Request, State},
    http::{Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};
use zebrunner_identity::{
    MalformedAuthorization, OidcValidator, bearer_token,
    challenge::{BearerChallenge, ChallengeError},
};
use zebrunner_storage::audit::{AuditRecord, Outcome};

use super::limits::{Limited, RateLimits};
use super::sessions::{Binding, SessionBindings};
use crate::{
    audit,
    caller::Caller,
    context::RequestId,
    credentials::RequestCredentials,
    observe::{Durability, Observer},
    policy::{Grant, Policy},
    toolsets::{self, ToolsetNarrowing},
};

const SESSION_HEADER: &str = "mcp-session-id";

/// Everything the guard needs; shared by all requests.
pub struct Guard {
    /// `None` with identity `none`.
    pub validator: Option<OidcValidator>,
    pub policy: Policy,
    pub read_only: bool,
    /// URL of our protected resource metadata, for challenges.
    pub resource_metadata_url: String,
    pub observer: Observer,
    pub sessions: SessionBindings,
    /// Names of tools that write (they need the write scope).
    pub write_tools: HashSet<String>,
    pub max_body_bytes: usize,
    /// With identity `broker`: our authorization server, which says whether the grant of one
    /// of its access tokens is still live.
    pub grants: Option<std::sync::Arc<zebrunner_oauth::AuthorizationServer>>,
    /// Token buckets per person and per client.
    pub limits: std::sync::Arc<RateLimits>,
}

/// Why a request to `/mcp` is turned away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No access token, or another scheme than Bearer (RFC 6750 §3.1: no
    /// usable credentials, so a plain challenge, which also starts OAuth in
    /// MCP clients).
    MissingToken,
    /// The `Authorization` header is malformed (or repeated).
    MalformedAuthorization(&'static str),
    /// The token did not validate; the reason is safe to show.
    InvalidToken(&'static str),
    /// The token lacks the scope; `write` when a write tool asked for it.
    InsufficientScope { write: bool },
    /// The policy refuses this person.
    AccessDenied(String),
    /// The session was opened by someone else.
    SessionNotYours,
    /// No session with this id is bound here (closed, expired, or never
    /// opened by this caller).
    UnknownSession,
    /// The request body is over the limit.
    BodyTooLarge,
    /// The caller's (or their client's) bucket is empty ([`super::limits`]).
    RateLimited(Limited),
}

impl Refusal {
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::MissingToken | Refusal::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Refusal::MalformedAuthorization(_) => StatusCode::BAD_REQUEST,
            Refusal::InsufficientScope { .. }
            | Refusal::AccessDenied(_)
            | Refusal::SessionNotYours => StatusCode::FORBIDDEN,
            Refusal::UnknownSession => StatusCode::NOT_FOUND,
            Refusal::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// The audit class and the body's `error`.
    pub fn class(&self) -> &'static str {
        match self {
            Refusal::MissingToken => "missing_token",
            Refusal::MalformedAuthorization(_) => "malformed_authorization",
            Refusal::InvalidToken(_) => "invalid_token",
            Refusal::InsufficientScope { .. } => "insufficient_scope",
            Refusal::AccessDenied(_) => "access_denied",
            Refusal::SessionNotYours => "session_not_yours",
            Refusal::UnknownSession => "session_not_found",
            Refusal::BodyTooLarge => "body_too_large",
            Refusal::RateLimited(_) => "rate_limited",
        }
    }

    pub fn description(&self) -> &str {
        match self {
            Refusal::MissingToken => "no access token",
            Refusal::MalformedAuthorization(d) | Refusal::InvalidToken(d) => d,
            Refusal::InsufficientScope { write: false } => {
                "the token lacks the scope to use this server"
            }
            Refusal::InsufficientScope { write: true } => {
                "this tool writes to Zebrunner and needs the write scope"
            }
            Refusal::AccessDenied(reason) => reason,
            Refusal::SessionNotYours => {
                "this MCP session was opened by another user; start a new session"
            }
            Refusal::UnknownSession => {
                "this MCP session is not known here (closed or expired); start a new session"
            }
            Refusal::BodyTooLarge => "the request body is too large",
            Refusal::RateLimited(Limited::User(_)) => {
                "too many requests from you; retry after the time in Retry-After"
            }
            Refusal::RateLimited(Limited::Client(_)) => {
                "too many requests through this application; retry after the time in Retry-After"
            }
        }
    }

    /// The `WWW-Authenticate` challenge, for the refusals that carry one.
    fn challenge(&self, guard: &Guard) -> Option<BearerChallenge> {
        let (error, write) = match self {
            Refusal::MissingToken => (None, false),
            Refusal::MalformedAuthorization(_) => (Some(ChallengeError::InvalidRequest), false),
            Refusal::InvalidToken(_) => (Some(ChallengeError::InvalidToken), false),
            Refusal::InsufficientScope { write } => {
                (Some(ChallengeError::InsufficientScope), *write)
            }
            _ => return None,
        };
        let mut challenge = BearerChallenge::new(guard.resource_metadata_url.clone())
            .with_scope(guard.policy.scopes_needed(write));
        if let Some(error) = error {
            challenge = challenge.with_error(error, Some(self.description()));
        }
        Some(challenge)
    }

    /// The body's `error`: the OAuth error code where there is one.
    fn error_code(&self) -> &'static str {
        match self {
            Refusal::MissingToken => "unauthorized",
            Refusal::MalformedAuthorization(_) => ChallengeError::InvalidRequest.as_str(),
            Refusal::InvalidToken(_) => ChallengeError::InvalidToken.as_str(),
            Refusal::InsufficientScope { .. } => ChallengeError::InsufficientScope.as_str(),
            other => other.class(),
        }
    }
}

pub async fn guard(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Decisions are recorded under the request's correlation id.
    let correlation_id = request
        .extensions()
        .get::<RequestId>()
        .map(|r| r.id.clone());
    match guard.admit(request).await {
        Ok(request) => guard.run(request, next, correlation_id).await,
        Err(refused) => {
            let (refusal, caller) = *refused;
            guard
                .refuse(&refusal, caller.as_ref(), started, correlation_id)
                .await
        }
    }
}

/// `record`, under the request's correlation id when it has one.
fn correlated(mut record: AuditRecord, correlation_id: Option<String>) -> AuditRecord {
    if let Some(id) = correlation_id {
        record.correlation_id = id;
    }
    record
}

/// A refusal, and the caller when they proved who they are (boxed: the
/// admitted path should not pay for the refused one).
type Refused = Box<(Refusal, Option<Caller>)>;

impl Guard {
    /// Authenticate and authorize, returning the request with its
    /// [`Caller`] and [`ToolsetNarrowing`] attached, or the refusal (with
    /// the caller when they proved who they are).
    async fn admit(&self, mut request: Request) -> Result<Request, Refused> {
        if let Some(value) = request.headers().get(toolsets::HEADER) {
            let narrowing = ToolsetNarrowing::parse(value.to_str().ok());
            request.extensions_mut().insert(narrowing);
        }
        let zebrunner_headers = RequestCredentials::from_headers(request.headers());
        let Some(validator) = &self.validator else {
            let mut caller = Caller::local("http", self.read_only);
            caller.zebrunner_headers = zebrunner_headers;
            request.extensions_mut().insert(caller);
            return Ok(request);
        };
        let anonymous = |refusal| Box::new((refusal, None));
        if request
            .headers()
            .get_all(header::AUTHORIZATION)
            .iter()
            .count()
            > 1
        {
            return Err(anonymous(Refusal::MalformedAuthorization(
                "Send exactly one Authorization header",
            )));
        }
        let token = match bearer_token(request.headers().get(header::AUTHORIZATION)) {
            Err(MalformedAuthorization::OtherScheme) | Ok(None) => {
                return Err(anonymous(Refusal::MissingToken));
            }
            Err(malformed) => {
                return Err(anonymous(Refusal::MalformedAuthorization(
                    malformed.description(),
                )));
            }
            Ok(Some(token)) => token,
        };
        let identity = match validator.validate(token).await {
            Ok(identity) => identity,
            Err(error) => {
                tracing::info!(reason = error.description(), "access token refused");
                return Err(anonymous(Refusal::InvalidToken(error.description())));
            }
        };
        if let (Some(server), Some(grant)) = (&self.grants, identity.grant_id.as_deref()) {
            match server.grant_live(grant).await {
                Ok(true) => {}
                Ok(false) => {
                    return Err(anonymous(Refusal::InvalidToken(
                        "The access token's grant was revoked; sign in again",
                    )));
                }
                Err(error) => {
                    // Fail closed: a revoked grant must not pass while storage is down.
                    tracing::error!(%error, "could not check an access token's grant");
                    return Err(anonymous(Refusal::InvalidToken(
                        "The access token's grant could not be checked; retry shortly",
                    )));
                }
            }
        }
        // Refused without a record: a flood of them must not become a flood of audit rows.
        if let Err(limited) = self.limits.check(&identity) {
            return Err(anonymous(Refusal::RateLimited(limited)));
        }
        let grant = match self.policy.grant(&identity) {
            Ok(grant) => grant,
            Err(reason) => {
                // Recorded as the person, with no grant at all.
                let caller = Caller {
                    identity: Some(identity),
                    grant: Grant::unrestricted(true),
                    transport: "http",
                    zebrunner_headers: None,
                };
                return Err(Box::new((Refusal::AccessDenied(reason), Some(caller))));
            }
        };
        let caller = Caller {
            identity: Some(identity.clone()),
            grant,
            transport: "http",
            zebrunner_headers,
        };
        let refuse = |refusal| Err(Box::new((refusal, Some(caller.clone()))));
        if !self.policy.has_scopes(&identity, false) {
            return refuse(Refusal::InsufficientScope { write: false });
        }
        if request.method() == Method::POST && !self.write_tools.is_empty() {
            let (parts, body) = request.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, self.max_body_bytes).await else {
                return refuse(Refusal::BodyTooLarge);
            };
            let writes = calls_write_tool(&bytes, &self.write_tools);
            request = Request::from_parts(parts, Body::from(bytes));
            if writes && caller.grant.may_write() && !self.policy.has_scopes(&identity, true) {
                return refuse(Refusal::InsufficientScope { write: true });
            }
        }
        if let Some(session) = session_id(&request) {
            match self.sessions.check(&session, &identity.user_key) {
                Binding::Owner => {}
                Binding::OtherUser => return refuse(Refusal::SessionNotYours),
                // Fail closed: a session id alone never lets anyone in.
                Binding::Unbound => return refuse(Refusal::UnknownSession),
            }
        }
        request.extensions_mut().insert(caller);
        Ok(request)
    }

    /// The one place a refusal becomes a response (and a record).
    async fn refuse(
        &self,
        refusal: &Refusal,
        caller: Option<&Caller>,
        started: Instant,
        correlation_id: Option<String>,
    ) -> Response {
        match caller {
            Some(caller) => {
                let record = correlated(
                    audit::decision(
                        Some(caller),
                        Outcome::Denied,
                        refusal.class(),
                        refusal.description(),
                        started.elapsed(),
                    ),
                    correlation_id,
                );
                let _ = self.observer.record(&record, Durability::BestEffort).await;
            }
            None => self
                .observer
                .anonymous_refusal(refusal.class(), refusal.description()),
        }
        let body = json!({
            "error": refusal.error_code(),
            "error_description": refusal.description(),
        });
        let mut response = (refusal.status(), Json(body)).into_response();
        // Most refusals come before the request body was read, and hyper then closes the
        // connection once the answer is written: say so (RFC 9112 §9.6), so that a client does
        // not send its retry (with the token it just obtained) down a closing connection.
        response
            .headers_mut()
            .insert(header::CONNECTION, http::HeaderValue::from_static("close"));
        if let Refusal::RateLimited(limited) = refusal
            && let Ok(seconds) =
                http::HeaderValue::from_str(&limited.retry_after_secs().to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, seconds);
        }
        if let Some(challenge) = refusal.challenge(self) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge.to_header_value());
        }
        response
    }

    /// Run an admitted request and bind a session it opens to its user.
    /// Opening and closing a session are authorization decisions of their
    /// own and leave audit records (tool calls leave theirs in the handler).
    async fn run(&self, request: Request, next: Next, correlation_id: Option<String>) -> Response {
        let started = Instant::now();
        let caller = request.extensions().get::<Caller>().cloned();
        let session = session_id(&request);
        let deleting = request.method() == Method::DELETE;
        let response = next.run(request).await;
        let Some(caller) = caller.filter(|c| c.identity.is_some()) else {
            return response;
        };
        let Some(user) = caller.user_key() else {
            return response;
        };
        let event = match (&session, response.headers().get(SESSION_HEADER)) {
            (None, Some(issued)) => issued.to_str().ok().map(|issued| {
                self.sessions.bind(issued, user);
                (
                    "session_opened",
                    "MCP session opened and bound to this user",
                )
            }),
            // The session manager has dropped the binding with the session.
            (Some(_), _) if deleting && response.status().is_success() => {
                Some(("session_closed", "MCP session closed by its user"))
            }
            _ => None,
        };
        if let Some((event, detail)) = event {
            let record = correlated(
                audit::decision(Some(&caller), Outcome::Ok, event, detail, started.elapsed()),
                correlation_id,
            );
            let _ = self.observer.record(&record, Durability::BestEffort).await;
        }
        response
    }
}

fn session_id(request: &Request) -> Option<String> {
    request
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Whether a JSON-RPC message (or batch) calls one of `write_tools`.
fn calls_write_tool(body: &[u8], write_tools: &HashSet<String>) -> bool {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    let is_write_call = |m: &Value| {
        m.get("method").and_then(Value::as_str) == Some("tools/call")
            && m.pointer("/params/name")
                .and_then(Value::as_str)
                .is_some_and(|name| write_tools.contains(name))
    };
    match &value {
        Value::Array(batch) => batch.iter().any(is_write_call),
        message => is_write_call(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_write_tool_calls_in_messages_and_batches() {
        let writes: HashSet<String> = ["create_test_case".to_string()].into();
        let call = |name: &str| json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name}});
        let body = |v: Value| serde_json::to_vec(&v).unwrap();
        assert!(calls_write_tool(&body(call("create_test_case")), &writes));
        assert!(!calls_write_tool(&body(call("get_test_case")), &writes));
        assert!(calls_write_tool(
            &body(json!([call("get_test_case"), call("create_test_case")])),
            &writes
        ));
        assert!(!calls_write_tool(b"not json", &writes));
        assert!(!calls_write_tool(
            &body(json!({"method": "tools/list"})),
            &writes
        ));
    }

    #[test]
    fn refusals_map_to_statuses_and_classes() {
        let cases = [
            (Refusal::MissingToken, 401, "missing_token"),
            (
                Refusal::MalformedAuthorization("x"),
                400,
                "malformed_authorization",
            ),
            (Refusal::InvalidToken("expired"), 401, "invalid_token"),
            (
                Refusal::InsufficientScope { write: true },
                403,
                "insufficient_scope",
            ),
            (Refusal::AccessDenied("no".into()), 403, "access_denied"),
            (Refusal::SessionNotYours, 403, "session_not_yours"),
            (Refusal::UnknownSession, 404, "session_not_found"),
            (Refusal::BodyTooLarge, 413, "body_too_large"),
        ];
        for (refusal, status, class) in cases {
            assert_eq!(refusal.status().as_u16(), status, "{refusal:?}");
            assert_eq!(refusal.class(), class);
        }
    }
}
