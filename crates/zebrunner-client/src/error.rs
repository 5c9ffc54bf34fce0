//! Errors a person can act on.
//!
//! Every HTTP failure is mapped to a variant whose message says what to do
//! next (check the token, ask for project access, fix the filter, ...). The
//! variants carry the HTTP method and path, but never a token, an
//! `Authorization` header or a bearer: nothing secret ever reaches this type.
//! `Error` is `Clone` so cached look-ups can hand the same failure to every
//! waiting caller.

use std::time::Duration;

/// Coarse classification of an [`Error`], for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// 401: credentials rejected.
    Unauthorized,
    /// 403: the user lacks permission.
    Forbidden,
    /// 404: the thing does not exist (or is not visible).
    NotFound,
    /// 400/422 on a request carrying an RQL filter.
    InvalidFilter,
    /// Other 400/422, or an argument the client rejected before sending.
    BadRequest,
    /// 429 after all retries.
    RateLimited,
    /// 5xx after all retries.
    Unavailable,
    /// Connection failures and timeouts.
    Network,
    /// Not sent: the circuit breaker is open because Zebrunner stopped answering.
    CircuitOpen,
    /// The response body did not match the expected shape.
    Decode,
    /// Invalid client configuration.
    Config,
    /// 404/405/501 from an endpoint Zebrunner may not have (the proposed Okta
    /// token exchange): this Zebrunner does not offer it; use another way.
    NotOffered,
    /// Anything else (409, 412, unexpected statuses, ...).
    Other,
}

/// Everything that can go wrong talking to Zebrunner.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration (URL, login, ...) is unusable.
    #[error("invalid Zebrunner configuration: {0}")]
    Config(String),

    /// 401 from any API, or the IAM refresh refusing the token.
    #[error(
        "Zebrunner rejected the credentials for {login}: check ZEBRUNNER_LOGIN/ZEBRUNNER_TOKEN or create a new API token (HTTP 401 on {method} {path})"
    )]
    Unauthorized {
        login: String,
        method: String,
        path: String,
    },

    /// 403: authenticated, but not allowed.
    #[error(
        "{login} lacks permission to access {what}{} (HTTP 403 on {method} {path}); ask a Zebrunner project admin for access",
        project_suffix(what, project.as_deref())
    )]
    Forbidden {
        login: String,
        what: String,
        project: Option<String>,
        method: String,
        path: String,
    },

    /// 404: the described thing does not exist.
    #[error("not found: {what} (HTTP 404 on {method} {path})")]
    NotFound {
        what: String,
        method: String,
        path: String,
    },

    /// 400/422 on a request with an RQL filter.
    #[error(
        "Zebrunner rejected the filter `{filter}`: {message} (HTTP {status} on {method} {path})"
    )]
    InvalidFilter {
        status: u16,
        filter: String,
        message: String,
        method: String,
        path: String,
    },

    /// 400/422 without a filter.
    #[error("Zebrunner rejected the request: {message} (HTTP {status} on {method} {path})")]
    BadRequest {
        status: u16,
        message: String,
        method: String,
        path: String,
    },

    /// A name (automation state, priority, ...) that does not exist.
    #[error("unknown {what} '{given}' in project {project}; valid values: {}", valid.join(", "))]
    UnknownName {
        what: String,
        given: String,
        project: String,
        valid: Vec<String>,
    },

    /// 429 that did not clear within the retry deadline, or whose `Retry-After` ends past it
    /// (returned at once, not waited for).
    #[error(
        "Zebrunner is rate limiting requests (HTTP 429 on {method} {path} after {attempts} attempt(s)); {}",
        retry_after.map(|d| format!("it asked to wait {} s before trying again", whole_seconds(d))).unwrap_or_else(|| "wait a moment and try again".to_owned())
    )]
    RateLimited {
        method: String,
        path: String,
        attempts: u32,
        retry_after: Option<Duration>,
    },

    /// 5xx that did not clear within the retry deadline (or was not retryable).
    #[error(
        "Zebrunner is unavailable or failed (HTTP {status} on {method} {path} after {attempts} attempt(s)){}",
        message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
    )]
    Unavailable {
        status: u16,
        message: Option<String>,
        method: String,
        path: String,
        attempts: u32,
    },

    /// Connection failure or timeout.
    #[error("could not reach Zebrunner ({method} {path} after {attempts} attempt(s)): {message}")]
    Network {
        message: String,
        method: String,
        path: String,
        attempts: u32,
    },

    /// Not sent: recent requests to this Zebrunner got no answer (connection errors, timeouts,
    /// 502/503/504), so the circuit breaker holds requests back until `retry_after` has passed.
    #[error(
        "Zebrunner is unavailable: its recent requests failed or timed out, so requests to it are paused; retry in {} s",
        whole_seconds(*retry_after)
    )]
    CircuitOpen { retry_after: Duration },

    /// Unexpected response body.
    #[error("unexpected response from Zebrunner for {method} {path}: {message}")]
    Decode {
        message: String,
        method: String,
        path: String,
    },

    /// Any other HTTP status.
    #[error("Zebrunner answered HTTP {status} on {method} {path}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Http {
        status: u16,
        message: Option<String>,
        method: String,
        path: String,
    },

    /// 404, 405 or 501 from an endpoint only some Zebrunners may have (the
    /// proposed Okta token exchange, `POST /api/iam/v1/auth/token-exchange`).
    #[error(
        "Zebrunner does not offer {what} (HTTP {status} on {method} {path}); connect another way (an API token or Zebrunner's single sign-on)"
    )]
    NotOffered {
        what: String,
        status: u16,
        method: String,
        path: String,
    },

    /// 401/403 from the Okta token exchange: Zebrunner did not accept the ID
    /// token, or knows no user for the person it names. `message` is
    /// Zebrunner's reason (without the token).
    #[error(
        "Zebrunner refused the Okta sign-in (HTTP {status} on {method} {path}){}",
        message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
    )]
    ExchangeRefused {
        status: u16,
        message: Option<String>,
        method: String,
        path: String,
    },

    /// Client-side failures that fit nowhere else (e.g. a paging loop).
    #[error("{0}")]
    Other(String),
}

/// Seconds to wait, rounded up, so "retry in 0 s" never tells anyone to retry at once.
fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// " in project X" unless the description already names the project.
fn project_suffix(what: &str, project: Option<&str>) -> String {
    match project {
        Some(p) if !what.contains(&format!("project {p}")) => format!(" in project {p}"),
        _ => String::new(),
    }
}

impl Error {
    pub(crate) fn config(msg: impl Into<String>) -> Self {
        Self::Config(msg.into())
    }

    /// The coarse kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Config(_) => ErrorKind::Config,
            Self::Unauthorized { .. } | Self::ExchangeRefused { .. } => ErrorKind::Unauthorized,
            Self::Forbidden { .. } => ErrorKind::Forbidden,
            Self::NotFound { .. } => ErrorKind::NotFound,
            Self::InvalidFilter { .. } => ErrorKind::InvalidFilter,
            Self::BadRequest { .. } | Self::UnknownName { .. } => ErrorKind::BadRequest,
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::Unavailable { .. } => ErrorKind::Unavailable,
            Self::Network { .. } => ErrorKind::Network,
            Self::CircuitOpen { .. } => ErrorKind::CircuitOpen,
            Self::Decode { .. } => ErrorKind::Decode,
            Self::NotOffered { .. } => ErrorKind::NotOffered,
            Self::Http { .. } | Self::Other(_) => ErrorKind::Other,
        }
    }

    /// The HTTP status behind this error, if it came from a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Unauthorized { .. } => Some(401),
            Self::Forbidden { .. } => Some(403),
            Self::NotFound { .. } => Some(404),
            Self::RateLimited { .. } => Some(429),
            Self::InvalidFilter { status, .. }
            | Self::BadRequest { status, .. }
            | Self::Unavailable { status, .. }
            | Self::Http { status, .. }
            | Self::NotOffered { status, .. }
            | Self::ExchangeRefused { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// `true` for failures that may succeed if tried again later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind(),
            ErrorKind::RateLimited
                | ErrorKind::Unavailable
                | ErrorKind::Network
                | ErrorKind::CircuitOpen
        )
    }

    /// How long to wait before trying again, when Zebrunner (its `Retry-After`) or the circuit
    /// breaker said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            Self::CircuitOpen { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unauthorized_message_names_the_login_and_the_fix() {
        let e = Error::Unauthorized {
            login: "alice".into(),
            method: "GET".into(),
            path: "/api/public/v1/test-cases".into(),
        };
        let msg = e.to_string();
        assert!(msg.contains("credentials for alice"));
        assert!(msg.contains("ZEBRUNNER_LOGIN/ZEBRUNNER_TOKEN"));
        assert_eq!(e.kind(), ErrorKind::Unauthorized);
        assert_eq!(e.status(), Some(401));
    }

    #[test]
    fn forbidden_and_unknown_name_messages() {
        let e = Error::Forbidden {
            login: "bob".into(),
            what: "test cases".into(),
            project: Some("API".into()),
            method: "GET".into(),
            path: "/x".into(),
        };
        assert!(
            e.to_string()
                .contains("bob lacks permission to access test cases in project API")
        );
        let e = Error::UnknownName {
            what: "priority".into(),
            given: "Urgent".into(),
            project: "DEMO".into(),
            valid: vec!["Minor".into(), "Major".into()],
        };
        assert_eq!(
            e.to_string(),
            "unknown priority 'Urgent' in project DEMO; valid values: Minor, Major"
        );
        assert_eq!(e.kind(), ErrorKind::BadRequest);
        assert_eq!(e.status(), None);
    }

    #[test]
    fn waits_are_named_in_whole_seconds_rounded_up() {
        let e = Error::CircuitOpen {
            retry_after: Duration::from_millis(12_300),
        };
        assert_eq!(
            e.to_string(),
            "Zebrunner is unavailable: its recent requests failed or timed out, so requests to it \
             are paused; retry in 13 s"
        );
        assert_eq!(e.kind(), ErrorKind::CircuitOpen);
        assert!(e.is_transient());
        assert_eq!(e.status(), None);
        let e = Error::RateLimited {
            method: "GET".into(),
            path: "/x".into(),
            attempts: 1,
            retry_after: Some(Duration::from_secs(90)),
        };
        assert!(
            e.to_string()
                .ends_with("it asked to wait 90 s before trying again"),
            "{e}"
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(90)));
    }
}
