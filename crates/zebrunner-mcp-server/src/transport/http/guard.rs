//! The guard in front of `/mcp`: who is calling, may they, and is the
//! session theirs. Answers follow the MCP authorization spec: 401 with a
//! `WWW-Authenticate` challenge for a missing or invalid token, 403 with
//! `error="insufficient_scope"` naming every scope needed, 400 for a
//! malformed `Authorization` header, 403 with a reason when the policy
//! refuses the caller. Every refusal leaves an audit record; the token
//! itself never goes anywhere but the validator.

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
    Identity, MalformedAuthorization, OidcValidator, bearer_token,
    challenge::{BearerChallenge, ChallengeError},
};
use zebrunner_storage::audit::{AuditLog, Outcome};

use super::sessions::{SessionBindings, SessionCheck};
use crate::{audit, caller::Caller, policy::Policy};

const SESSION_HEADER: &str = "mcp-session-id";

/// Everything the guard needs; shared by all requests.
pub struct Guard {
    /// `None` with identity `none`.
    pub validator: Option<OidcValidator>,
    pub policy: Policy,
    pub read_only: bool,
    /// URL of our protected resource metadata, for challenges.
    pub resource_metadata_url: String,
    pub audit: AuditLog,
    pub sessions: SessionBindings,
    /// Names of tools that write (they need the write scope).
    pub write_tools: HashSet<String>,
    pub max_body_bytes: usize,
}

pub async fn guard(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    match guard.admit(request).await {
        Ok(request) => guard.run(request, next).await,
        Err(refusal) => refusal,
    }
}

impl Guard {
    /// Authenticate and authorize, returning the request with its
    /// [`Caller`] attached, or the refusal to send.
    async fn admit(&self, mut request: Request) -> Result<Request, Response> {
        let started = Instant::now();
        let Some(validator) = &self.validator else {
            request
                .extensions_mut()
                .insert(Caller::local("http", self.read_only));
            return Ok(request);
        };
        if request
            .headers()
            .get_all(header::AUTHORIZATION)
            .iter()
            .count()
            > 1
        {
            return Err(self
                .challenge(
                    None,
                    StatusCode::BAD_REQUEST,
                    Some((
                        ChallengeError::InvalidRequest,
                        "Send exactly one Authorization header",
                    )),
                    false,
                    "malformed_authorization",
                    started,
                )
                .await);
        }
        let token = match bearer_token(request.headers().get(header::AUTHORIZATION)) {
            // RFC 6750 §3.1: another scheme means no usable credentials, so
            // the answer is a plain challenge (which also starts OAuth in
            // MCP clients), not an error.
            Err(MalformedAuthorization::OtherScheme) | Ok(None) => {
                return Err(self
                    .challenge(
                        None,
                        StatusCode::UNAUTHORIZED,
                        None,
                        false,
                        "missing_token",
                        started,
                    )
                    .await);
            }
            Err(malformed) => {
                return Err(self
                    .challenge(
                        None,
                        StatusCode::BAD_REQUEST,
                        Some((ChallengeError::InvalidRequest, malformed.description())),
                        false,
                        "malformed_authorization",
                        started,
                    )
                    .await);
            }
            Ok(Some(token)) => token,
        };
        let identity = match validator.validate(token).await {
            Ok(identity) => identity,
            Err(error) => {
                tracing::info!(reason = error.description(), "access token refused");
                return Err(self
                    .challenge(
                        None,
                        StatusCode::UNAUTHORIZED,
                        Some((ChallengeError::InvalidToken, error.description())),
                        false,
                        "invalid_token",
                        started,
                    )
                    .await);
            }
        };
        let grant = match self.policy.grant(&identity) {
            Ok(grant) => grant,
            Err(reason) => {
                return Err(self
                    .refuse(&identity, "access_denied", &reason, started)
                    .await);
            }
        };
        let caller = Caller {
            identity: Some(identity),
            grant,
            transport: "http",
        };
        let Some(identity) = caller.identity.as_ref() else {
            return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        };
        if !self.policy.has_scopes(identity, false) {
            return Err(self
                .challenge(
                    Some(&caller),
                    StatusCode::FORBIDDEN,
                    Some((
                        ChallengeError::InsufficientScope,
                        "the token lacks the scope to use this server",
                    )),
                    false,
                    "insufficient_scope",
                    started,
                )
                .await);
        }
        if request.method() == Method::POST && !self.write_tools.is_empty() {
            let (parts, body) = request.into_parts();
            let bytes = match axum::body::to_bytes(body, self.max_body_bytes).await {
                Ok(bytes) => bytes,
                Err(_) => return Err(StatusCode::PAYLOAD_TOO_LARGE.into_response()),
            };
            let writes = calls_write_tool(&bytes, &self.write_tools);
            request = Request::from_parts(parts, Body::from(bytes));
            if writes && caller.grant.may_write() && !self.policy.has_scopes(identity, true) {
                return Err(self
                    .challenge(
                        Some(&caller),
                        StatusCode::FORBIDDEN,
                        Some((
                            ChallengeError::InsufficientScope,
                            "this tool writes to Zebrunner and needs the write scope",
                        )),
                        true,
                        "insufficient_scope",
                        started,
                    )
                    .await);
            }
        }
        if let Some(session) = session_id(&request)
            && self.sessions.check(&session, &identity.user_key) == SessionCheck::OtherUser
        {
            return Err(self
                .refuse(
                    identity,
                    "session_not_yours",
                    "this MCP session was opened by another user; start a new session",
                    started,
                )
                .await);
        }
        request.extensions_mut().insert(caller);
        Ok(request)
    }

    /// Run an admitted request and keep session bindings up to date. Opening
    /// and closing a session are authorization decisions of their own and
    /// leave audit records (tool calls leave theirs in the handler).
    async fn run(&self, request: Request, next: Next) -> Response {
        let started = Instant::now();
        let caller = request.extensions().get::<Caller>().cloned();
        let session = session_id(&request);
        let deleting = request.method() == Method::DELETE;
        let response = next.run(request).await;
        let Some(caller) = caller.filter(|c| c.identity.is_some()) else {
            return response;
        };
        let Some(user) = caller.user_key().map(str::to_string) else {
            return response;
        };
        let event = match (&session, response.headers().get(SESSION_HEADER)) {
            (None, Some(issued)) => issued.to_str().ok().map(|issued| {
                self.sessions.bind(issued, &user);
                (
                    "session_opened",
                    "MCP session opened and bound to this user",
                )
            }),
            (Some(session), _) if deleting && response.status().is_success() => {
                self.sessions.forget(session);
                Some(("session_closed", "MCP session closed by its user"))
            }
            _ => None,
        };
        if let Some((event, detail)) = event {
            let record =
                audit::decision(Some(&caller), Outcome::Ok, event, detail, started.elapsed());
            self.audit.record(&record).await.ok();
        }
        response
    }

    /// A `WWW-Authenticate` challenge response, audited.
    async fn challenge(
        &self,
        caller: Option<&Caller>,
        status: StatusCode,
        error: Option<(ChallengeError, &str)>,
        write: bool,
        class: &str,
        started: Instant,
    ) -> Response {
        let mut challenge = BearerChallenge::new(self.resource_metadata_url.clone())
            .with_scope(self.policy.scopes_needed(write));
        if let Some((kind, description)) = error {
            challenge = challenge.with_error(kind, Some(description));
        }
        let description = error.map(|(_, d)| d).unwrap_or("no access token");
        let record = audit::decision(
            caller,
            Outcome::Denied,
            class,
            description,
            started.elapsed(),
        );
        self.audit.record(&record).await.ok();
        let body = json!({
            "error": error.map(|(k, _)| k.as_str()).unwrap_or("unauthorized"),
            "error_description": description,
        });
        let mut response = (status, Json(body)).into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge.to_header_value());
        response
    }

    /// 403 for a caller the policy refuses, with the reason, audited.
    async fn refuse(
        &self,
        identity: &Identity,
        class: &str,
        reason: &str,
        started: Instant,
    ) -> Response {
        let caller = Caller {
            identity: Some(identity.clone()),
            grant: crate::policy::Grant::unrestricted(true),
            transport: "http",
        };
        let record = audit::decision(
            Some(&caller),
            Outcome::Denied,
            class,
            reason,
            started.elapsed(),
        );
        self.audit.record(&record).await.ok();
        (
            StatusCode::FORBIDDEN,
            Json(json!({ "error": class, "error_description": reason })),
        )
            .into_response()
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
}
