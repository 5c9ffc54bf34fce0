//! Zebrunner-shaped error responses.
//!
//! Every failure the sandbox produces goes through [`ApiError`], so clients see
//! the same `{message, error, timestamp}` body (plus `errors:[{source, message}]`
//! for field validation) that the real API returns, never axum's plain-text
//! rejections.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One field-level validation problem (`errors[]` in the body).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    pub source: String,
    pub message: String,
}

/// An HTTP error with a Zebrunner-style JSON body.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub errors: Vec<FieldError>,
    /// Seconds for a `Retry-After` header (injected 429s).
    pub retry_after: Option<u64>,
    /// The `error` of the body when it is not the status's reason code
    /// (`invalid_token` from the token exchange).
    pub error_code: Option<&'static str>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            errors: Vec::new(),
            retry_after: None,
            error_code: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Authentication failed")
    }

    /// 401 `{error: "invalid_token", message}`, the refusal of the token
    /// exchange (anchor §4.1). `message` must never quote the token.
    pub fn invalid_token(message: impl Into<String>) -> Self {
        let mut err = Self::new(StatusCode::UNAUTHORIZED, message);
        err.error_code = Some("invalid_token");
        err
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 400 with one `errors[]` entry naming the offending field.
    pub fn field(source: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut err = Self::bad_request(format!("Validation failed: {source}: {message}"));
        err.errors.push(FieldError {
            source: source.to_string(),
            message,
        });
        err
    }

    /// The upper-case reason code Zebrunner puts in `error`.
    fn code(&self) -> &'static str {
        match self.status.as_u16() {
            400 => "BAD_REQUEST",
            401 => "UNAUTHORIZED",
            403 => "FORBIDDEN",
            404 => "NOT_FOUND",
            405 => "METHOD_NOT_ALLOWED",
            409 => "CONFLICT",
            412 => "PRECONDITION_FAILED",
            422 => "UNPROCESSABLE_ENTITY",
            429 => "TOO_MANY_REQUESTS",
            502 => "BAD_GATEWAY",
            503 => "SERVICE_UNAVAILABLE",
            504 => "GATEWAY_TIMEOUT",
            s if s >= 500 => "INTERNAL_SERVER_ERROR",
            _ => "ERROR",
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    message: &'a str,
    error: &'a str,
    timestamp: String,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
}

/// Current time as RFC 3339; only error timestamps and issued tokens use the clock.
pub fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            message: &self.message,
            error: self.error_code.unwrap_or_else(|| self.code()),
            timestamp: now_rfc3339(),
            errors: &self.errors,
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl std::error::Error for ApiError {}
