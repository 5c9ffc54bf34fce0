//! Tool failures, written for the person (or model) who has to act on them.

use rmcp::model::{CallToolResult, ContentBlock};
use zebrunner_client::{Error as ClientError, ErrorKind};

/// Why a tool call failed.
#[derive(Debug)]
pub enum ToolError {
    /// The arguments make no sense; the message says which one and why.
    InvalidArgument(String),
    /// Zebrunner answered with an error or could not be reached.
    Zebrunner(ClientError),
    /// The access policy does not allow this caller to do it.
    Denied(String),
    /// A bug or an unusable server resource; the message is for the caller,
    /// the details went to the log.
    Internal(String),
    /// A write's confirmation token was refused (used, expired, another
    /// user's or other arguments'); nothing was written.
    Confirmation(String),
    /// The caller has no usable Zebrunner credentials of their own (per-user
    /// credentials); the message says how to provide them.
    NoCredentials(String),
}

impl From<ClientError> for ToolError {
    fn from(error: ClientError) -> Self {
        ToolError::Zebrunner(error)
    }
}

impl ToolError {
    pub fn invalid(message: impl Into<String>) -> Self {
        ToolError::InvalidArgument(message.into())
    }

    /// The message and the next step to take.
    pub fn message(&self) -> String {
        match self {
            ToolError::InvalidArgument(message) => {
                format!("Invalid arguments: {message}. Fix the arguments and call the tool again.")
            }
            ToolError::Zebrunner(error) => {
                format!("{error}. {}", next_step(error.kind()))
            }
            ToolError::Denied(reason) => {
                format!("Not allowed: {reason}. Ask your administrator if you need more access.")
            }
            ToolError::Confirmation(reason) => format!("Not written: {reason}."),
            ToolError::NoCredentials(advice) => advice.clone(),
            ToolError::Internal(reason) => format!(
                "Internal error: {reason}. Retry once; if it persists, report it to the administrator."
            ),
        }
    }

    /// A short machine-readable class for audit records.
    pub fn class(&self) -> &'static str {
        match self {
            ToolError::InvalidArgument(_) => "invalid_argument",
            ToolError::Denied(_) => "denied",
            ToolError::Confirmation(_) => "confirmation_refused",
            ToolError::NoCredentials(_) => "no_credentials",
            ToolError::Internal(_) => "internal",
            ToolError::Zebrunner(error) => match error.kind() {
                ErrorKind::Unauthorized => "zebrunner_unauthorized",
                ErrorKind::Forbidden => "zebrunner_forbidden",
                ErrorKind::NotFound => "not_found",
                ErrorKind::InvalidFilter => "invalid_filter",
                ErrorKind::BadRequest => "bad_request",
                ErrorKind::RateLimited => "rate_limited",
                ErrorKind::Unavailable => "unavailable",
                ErrorKind::Network => "network",
                _ => "zebrunner_error",
            },
        }
    }

    /// An `isError` tool result carrying `message` (see
    /// [`crate::context::CallContext::render_error`]).
    pub fn into_result(message: String) -> CallToolResult {
        CallToolResult::error(vec![ContentBlock::text(message)])
    }
}

fn next_step(kind: ErrorKind) -> &'static str {
    match kind {
        // What to do about rejected credentials depends on where they came
        // from: the credential source says it (see `credentials::ErrorView`).
        ErrorKind::Unauthorized => "The Zebrunner credentials were rejected.",
        ErrorKind::Forbidden => {
            "This account has no permission there; call list_projects to see the projects it can use."
        }
        ErrorKind::NotFound => {
            "Check the key or id; search_test_cases and list_test_suites find existing ones."
        }
        ErrorKind::InvalidFilter | ErrorKind::BadRequest => {
            "Change the filter arguments and try again."
        }
        ErrorKind::RateLimited => "Zebrunner is rate limiting requests; wait a minute and retry.",
        ErrorKind::Unavailable | ErrorKind::Network => {
            "Zebrunner could not be reached or is unavailable; retry shortly."
        }
        _ => "Retry once; if it persists, report it to the administrator.",
    }
}
