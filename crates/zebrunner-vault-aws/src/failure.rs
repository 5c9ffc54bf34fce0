//! SDK errors as messages that say what went wrong and what to do. A refused call names the IAM
//! permission it needed; an unreachable service says so and what to check. AWS error messages
//! never carry secret values, and they are cut to a bounded length here anyway.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Longest part of an AWS message repeated in ours.
const MAX_DETAIL: usize = 300;

/// One failed AWS call: its error code when AWS answered, and a message for people.
#[derive(Debug, Clone)]
pub struct Failure {
    /// AWS's error code (`AccessDeniedException`, `ResourceNotFoundException`, ...); `None`
    /// when no answer came (network, time-out, no credentials).
    pub code: Option<String>,
    /// What happened and what to do.
    pub message: String,
}

impl Failure {
    /// Whether AWS answered with error code `code`.
    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What a call was: the service ("AWS Secrets Manager"), the IAM action it needs
/// (`secretsmanager:GetSecretValue`) and what it was on (a secret name, a key id).
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub service: &'static str,
    pub permission: &'static str,
    pub resource: &'a str,
}

/// `error` of `call`, classified.
pub fn classify<E, R>(call: Call<'_>, error: &SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let Call {
        service,
        permission,
        resource,
    } = call;
    match error {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => Failure {
            code: None,
            message: format!(
                "cannot reach {service} ({}): check this host's network access to AWS, \
                 AWS_REGION and AWS_ENDPOINT_URL, and that AWS credentials are available \
                 (environment, shared config, web identity or instance metadata)",
                detail(&DisplayErrorContext(error).to_string())
            ),
        },
        SdkError::ServiceError(service_error) => {
            let e = service_error.err();
            let code = e.code().unwrap_or("Unknown").to_owned();
            let said = detail(e.message().unwrap_or(""));
            let message = match code.as_str() {
                "AccessDeniedException" | "AccessDenied" => format!(
                    "{service} refused {permission} on {resource} (AccessDenied: {said}): \
                     grant the server's AWS identity `{permission}` on it (docs/storage.md \
                     lists the minimal IAM policy)"
                ),
                "UnrecognizedClientException"
                | "InvalidClientTokenId"
                | "InvalidSignatureException"
                | "ExpiredTokenException" => format!(
                    "{service} did not accept the AWS credentials ({code}: {said}): check the \
                     provider chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, web identity) and the clock"
                ),
                "ThrottlingException"
                | "Throttling"
                | "TooManyRequestsException"
                | "RequestLimitExceeded"
                | "LimitExceededException" => format!(
                    "{service} is still throttling {permission} after every retry ({code}); \
                     nothing was lost: try again, and raise the account's quota if it persists"
                ),
                _ => format!("{service} refused {permission} on {resource} ({code}: {said})"),
            };
            Failure {
                code: Some(code),
                message,
            }
        }
        other => Failure {
            code: None,
            message: format!(
                "{service} {permission} on {resource} failed: {}",
                detail(&DisplayErrorContext(other).to_string())
            ),
        },
    }
}

/// At most [`MAX_DETAIL`] characters of `text`, without control characters.
fn detail(text: &str) -> String {
    let mut out: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_DETAIL)
        .collect();
    if text.chars().count() > MAX_DETAIL {
        out.push('…');
    }
    out
}
