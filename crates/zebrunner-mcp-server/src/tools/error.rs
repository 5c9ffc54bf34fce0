//! Tool failures, written for the person (or model) who has to act on them.

use std::time::Duration;

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
    /// The call ran past the tool deadline (`after`) and was stopped. With `write`, the tool
    /// writes, and whether Zebrunner made the write is unknown.
    DeadlineExceeded { after: Duration, write: bool },
    /// A batch write failed part way: the requests at `written` (paths) were
    /// made, the next failed with `error`, the rest of `of` were not sent.
    PartlyWritten {
        written: Vec<String>,
        of: usize,
        error: Box<ClientError>,
    },
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
                format!("{error}. {}", advice(error))
            }
            ToolError::Denied(reason) => {
                format!("Not allowed: {reason}. Ask your administrator if you need more access.")
            }
            ToolError::Confirmation(reason) => format!("Not written: {reason}."),
            ToolError::NoCredentials(advice) => advice.clone(),
            ToolError::Internal(reason) => format!(
                "Internal error: {reason}. Retry once; if it persists, report it to the administrator."
            ),
            ToolError::PartlyWritten { written, of, error } => format!(
                "Only {} of {of} writes were made ({}); then {error}; the rest were not sent. \
                 The token is used up: preview again to see what is left to do.",
                written.len(),
                written.join(", ")
            ),
            ToolError::DeadlineExceeded { after, write } => {
                let secs = whole_seconds(*after);
                if *write {
                    format!(
                        "Zebrunner did not answer within {secs} s, so the call was stopped. The \
                         write may or may not have been made: look at the current state in \
                         Zebrunner before writing again."
                    )
                } else {
                    format!(
                        "Zebrunner did not answer within {secs} s; try again later or narrow the \
                         request (a tighter filter, a smaller limit)."
                    )
                }
            }
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
            ToolError::DeadlineExceeded { .. } => "deadline_exceeded",
            ToolError::PartlyWritten { .. } => "partly_written",
            ToolError::Zebrunner(error) => match error.kind() {
                ErrorKind::Unauthorized => "zebrunner_unauthorized",
                ErrorKind::Forbidden => "zebrunner_forbidden",
                ErrorKind::NotFound => "not_found",
                ErrorKind::InvalidFilter => "invalid_filter",
                ErrorKind::BadRequest => "bad_request",
                ErrorKind::RateLimited => "rate_limited",
                ErrorKind::Unavailable => "unavailable",
                ErrorKind::Network => "network",
                ErrorKind::CircuitOpen => "circuit_open",
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

/// Whether Zebrunner refused a write before changing anything: it answered
/// a POST, PUT, PATCH or DELETE with a status that rejects the request
/// (400, 401, 403, 404, 409, 412, 422). Timeouts, lost connections and 5xx
/// leave it unknown whether anything was written.
pub fn write_refused(error: &ClientError) -> bool {
    let (method, rejected) = match error {
        ClientError::BadRequest { method, .. }
        | ClientError::InvalidFilter { method, .. }
        | ClientError::NotFound { method, .. }
        | ClientError::Forbidden { method, .. }
        | ClientError::Unauthorized { method, .. } => (method, true),
        ClientError::Http { method, status, .. } => (method, matches!(status, 409 | 412)),
        _ => return false,
    };
    rejected && method != "GET"
}

/// What to do about `error`: for a refused write, that nothing was written
/// and the token still holds; for a missing object, the tool that lists
/// what exists; otherwise by kind.
fn advice(error: &ClientError) -> String {
    if write_refused(error) {
        return "Nothing was written, and the confirmation token is still valid for these same arguments: fix what Zebrunner names (get_project_settings lists valid names) and confirm again, or preview again with corrected arguments.".into();
    }
    if let ClientError::NotFound { path, .. } = error
        && let Some(listing) = listing_tool(path)
    {
        return listing.into();
    }
    if let ClientError::RateLimited {
        retry_after: Some(wait),
        ..
    } = error
    {
        return format!("Retry in {} s, not before.", whole_seconds(*wait));
    }
    next_step(error.kind()).into()
}

/// Seconds, rounded up: a wait of 0.4 s is "1 s", never "0 s".
fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// The tool that lists what exists where the missing object at `path` would be.
fn listing_tool(path: &str) -> Option<&'static str> {
    let path = path.split('?').next().unwrap_or(path);
    let has = |segment: &str| path.split('/').any(|s| s == segment);
    Some(if has("projects") {
        "Check the project key; list_projects lists the projects this account can use."
    } else if has("launches") && has("tests") {
        "Check the launch and test ids; list_launch_tests lists a launch's tests."
    } else if has("launches") {
        "Check the launch id; list_launches lists the project's launches."
    } else if has("milestones") {
        "Check the milestone; list_milestones lists the project's milestones."
    } else if has("test-runs") {
        "Check the run id; list_test_runs lists the project's test runs."
    } else if has("test-suites") {
        "Check the suite id; list_test_suites lists the project's suites."
    } else if has("test-cases") {
        "Check the test case key or id; search_test_cases finds the project's cases."
    } else {
        return None;
    })
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
        ErrorKind::InvalidFilter => "Change the filter arguments and try again.",
        ErrorKind::BadRequest => "Change the arguments Zebrunner names and try again.",
        ErrorKind::RateLimited => "Zebrunner is rate limiting requests; wait a minute and retry.",
        ErrorKind::Unavailable | ErrorKind::Network => {
            "Zebrunner could not be reached or is unavailable; retry shortly."
        }
        ErrorKind::CircuitOpen => {
            "Nothing was sent to Zebrunner; calls go through again by themselves once it answers."
        }
        _ => "Retry once; if it persists, report it to the administrator.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn not_found(method: &str, path: &str) -> ClientError {
        ClientError::NotFound {
            what: "x".into(),
            method: method.into(),
            path: path.into(),
        }
    }

    #[test]
    fn missing_objects_point_at_the_tool_that_lists_them() {
        let m = ToolError::Zebrunner(not_found("GET", "/api/projects/v1/projects/NOPE")).message();
        assert!(m.contains("list_projects"), "{m}");
        let m = ToolError::Zebrunner(not_found("GET", "/api/reporting/v1/launches/9?projectId=1"))
            .message();
        assert!(m.contains("list_launches"), "{m}");
        let m = ToolError::Zebrunner(not_found("GET", "/api/reporting/v1/launches/9/tests/3"))
            .message();
        assert!(m.contains("list_launch_tests"), "{m}");
    }

    #[test]
    fn refused_writes_say_nothing_was_written() {
        let write = ClientError::BadRequest {
            status: 400,
            message: "priority: not found".into(),
            method: "POST".into(),
            path: "/api/public/v1/test-cases".into(),
        };
        assert!(write_refused(&write));
        let m = ToolError::Zebrunner(write).message();
        assert!(m.contains("Nothing was written"), "{m}");
        assert!(!m.contains("filter"), "{m}");
        assert!(!write_refused(&not_found(
            "GET",
            "/api/public/v1/test-cases/1"
        )));
        let outage = ClientError::Unavailable {
            status: 503,
            message: None,
            method: "POST".into(),
            path: "/x".into(),
            attempts: 1,
        };
        assert!(!write_refused(&outage));
    }

    #[test]
    fn waits_and_deadlines_say_when_to_retry() {
        let limited = ToolError::Zebrunner(ClientError::RateLimited {
            method: "GET".into(),
            path: "/api/public/v1/test-cases".into(),
            attempts: 1,
            retry_after: Some(Duration::from_millis(119_500)),
        });
        assert!(limited.message().ends_with("Retry in 120 s, not before."));
        assert_eq!(limited.class(), "rate_limited");
        let open = ToolError::Zebrunner(ClientError::CircuitOpen {
            retry_after: Duration::from_secs(7),
        });
        let m = open.message();
        assert!(
            m.contains("retry in 7 s") && m.contains("Nothing was sent"),
            "{m}"
        );
        assert_eq!(open.class(), "circuit_open");
        let read = ToolError::DeadlineExceeded {
            after: Duration::from_secs(60),
            write: false,
        };
        assert!(read.message().starts_with(
            "Zebrunner did not answer within 60 s; try again later or narrow the request"
        ));
        assert_eq!(read.class(), "deadline_exceeded");
        let write = ToolError::DeadlineExceeded {
            after: Duration::from_secs(60),
            write: true,
        };
        assert!(write.message().contains("may or may not have been made"));
    }
}
