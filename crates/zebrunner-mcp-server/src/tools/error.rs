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
        }
    }

    /// An `isError` tool result carrying the message.
    pub fn into_result(self) -> CallToolResult {
        CallToolResult::error(vec![ContentBlock::text(self.message())])
    }
}

fn next_step(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Unauthorized => {
            "The server's Zebrunner credentials were rejected; ask the administrator to renew the API token."
        }
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
