//! The call context: everything one tool call or resource read runs with,
//! decided before the tool starts and handed to it explicitly.
//!
//! The handler builds one per call: the [`Caller`] (identity and grant), the
//! Zebrunner client the credential source chose for that caller, the
//! per-call request log, a correlation id shared by the audit record, the
//! logs and any error the caller sees, and how much of a Zebrunner failure
//! this caller may be shown. Tools never reach into the server for these.
//!
//! The correlation id is the request's ([`RequestId`]): the HTTP transport gives each request
//! one (its `X-Request-Id` when that is a safe token, else a new one) and a tracing span that
//! carries it, and the call reuses both, so every log line of the request, the Zebrunner
//! client's included, the audit record and any error message name the same id. On stdio each
//! call gets an id of its own.

use std::sync::{Arc, Mutex};

use rmcp::{RoleServer, service::RequestContext};
use zebrunner_client::{RequestLog, ZebrunnerClient};

use crate::{
    caller::Caller,
    credentials::{ErrorView, Resolved},
    policy::Grant,
    tools::{args, cursor::CursorKey, error::ToolError},
};

/// The id of one transport request and the span its log lines are written under; put in the
/// request's extensions by the HTTP transport.
#[derive(Debug, Clone)]
pub struct RequestId {
    pub id: String,
    pub span: tracing::Span,
}

impl RequestId {
    /// The most an inbound `X-Request-Id` may hold to be taken as the id.
    pub const MAX_LEN: usize = 64;

    /// An inbound id, when it is a safe token: 1 to [`Self::MAX_LEN`] characters of letters,
    /// digits, `-`, `_`, `.` and `:` (it goes into logs, audit records and error messages).
    pub fn accept(inbound: &str) -> Option<&str> {
        let safe = !inbound.is_empty()
            && inbound.len() <= Self::MAX_LEN
            && inbound
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        safe.then_some(inbound)
    }

    /// The request's id, when the transport gave it one.
    pub fn of(context: &RequestContext<RoleServer>) -> Option<&RequestId> {
        context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<RequestId>())
    }
}

/// What one call runs with. Cheap to clone (rmcp hands tools a clone).
#[derive(Clone)]
pub struct CallContext {
    pub caller: Caller,
    /// The Zebrunner client serving this caller.
    pub client: ZebrunnerClient,
    /// Counts every Zebrunner request the call makes (for the audit record).
    pub requests: RequestLog,
    /// Ties the audit record, log lines and error messages of this call.
    pub correlation_id: String,
    /// Signs and checks pagination cursors.
    pub cursors: CursorKey,
    /// The Zebrunner login the call acts as, with per-user credentials (audited).
    pub zebrunner_login: Option<String>,
    /// The vault record the client came from (user key, revision).
    pub vault_record: Option<(String, i64)>,
    errors: ErrorView,
    /// The class of the error the call ended with, if it failed.
    failure: Arc<Mutex<Option<&'static str>>>,
}

impl CallContext {
    pub fn new(caller: Caller, resolved: Resolved, cursors: CursorKey) -> Self {
        Self {
            caller,
            client: resolved.client,
            requests: RequestLog::new(),
            correlation_id: crate::audit::correlation_id(),
            cursors,
            zebrunner_login: resolved.zebrunner_login,
            vault_record: resolved.vault_record,
            errors: resolved.errors,
            failure: Arc::default(),
        }
    }

    /// The same context under the request's correlation id (see [`RequestId`]).
    pub fn with_correlation_id(mut self, correlation_id: String) -> Self {
        self.correlation_id = correlation_id;
        self
    }

    pub fn grant(&self) -> &Grant {
        &self.caller.grant
    }

    /// Normalise a project key and check the caller may use that project.
    pub fn allowed_project(&self, raw: &str) -> Result<String, ToolError> {
        args::allowed_project(&self.caller.grant, raw)
    }

    /// The message this caller sees for `error`; remembers the error's class
    /// for the audit record. Details a caller may not see (the shared
    /// account's login, Zebrunner's address) go to the log under the
    /// correlation id instead.
    pub fn render_error(&self, error: &ToolError) -> String {
        *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(error.class());
        self.errors.render(error, &self.correlation_id)
    }

    /// The class of the error this call ended with, if any.
    pub fn failure(&self) -> Option<&'static str> {
        *self.failure.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bounded_safe_request_ids_are_taken() {
        for good in ["abc", "0f3e-11.x_y:z", &"a".repeat(RequestId::MAX_LEN)] {
            assert_eq!(RequestId::accept(good), Some(good));
        }
        for bad in [
            "",
            &"a".repeat(RequestId::MAX_LEN + 1),
            "a b",
            "a\nfake log line",
            "<script>",
            "id\"quote",
            "ünï",
        ] {
            assert_eq!(RequestId::accept(bad), None, "{bad:?}");
        }
    }
}
