//! Which Zebrunner credentials serve a call, and what a caller is told when
//! Zebrunner refuses them.
//!
//! [`Credentials::client_for`] is asked once per tool call and resource read
//! with the verified caller. Today the only source is one shared service
//! account; the per-user vault and per-request headers become further
//! variants here, so tools never care where their client came from. The
//! advice in error messages ("renew the token", "reconnect your account")
//! belongs to the source too, through [`ErrorView`].

use zebrunner_client::{ErrorKind, ZebrunnerClient};

use crate::{caller::Caller, tools::error::ToolError};

/// The source of the Zebrunner client for a call.
#[derive(Clone)]
pub enum Credentials {
    /// One shared Zebrunner account (`ZEBRUNNER_LOGIN` / `ZEBRUNNER_TOKEN`).
    ServiceAccount(ZebrunnerClient),
}

impl Credentials {
    /// The client that serves `caller`, and how Zebrunner's failures are
    /// shown to them.
    pub async fn client_for(
        &self,
        caller: &Caller,
    ) -> Result<(ZebrunnerClient, ErrorView), ToolError> {
        match self {
            Credentials::ServiceAccount(client) => Ok((
                client.clone(),
                ErrorView {
                    // A signed-in person on a shared service is not the
                    // account's owner: they must not learn its login or where
                    // Zebrunner lives. The local user (stdio, or a loopback
                    // server without identity) configured the account.
                    hide_account: caller.identity.is_some(),
                },
            )),
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::ServiceAccount(client) => f
                .debug_struct("ServiceAccount")
                .field("login", &client.login())
                .finish(),
        }
    }
}

/// How much of a failure a caller sees, decided by the credential source.
#[derive(Debug, Clone, Copy)]
pub struct ErrorView {
    /// The account is shared: keep its login, Zebrunner's address and
    /// transport details out of messages.
    pub hide_account: bool,
}

impl ErrorView {
    /// The caller's message for `error`, with the next step to take.
    pub fn render(&self, error: &ToolError, correlation_id: &str) -> String {
        let ToolError::Zebrunner(inner) = error else {
            return error.message();
        };
        let kind = inner.kind();
        if !self.hide_account {
            // The account's owner: Zebrunner's own words, and what to fix.
            return match kind {
                ErrorKind::Unauthorized => format!(
                    "{inner}. Create a new API token in Zebrunner (Account and profile, API tokens), \
                     set ZEBRUNNER_TOKEN (or ZEBRUNNER_TOKEN_FILE) and restart the server."
                ),
                _ => error.message(),
            };
        }
        if !reveals_account(kind) {
            return error.message();
        }
        tracing::warn!(correlation_id, error = %inner, "Zebrunner call failed");
        let what = match kind {
            ErrorKind::Unauthorized => {
                "Zebrunner rejected the server's account. Tell the administrator of this server; the account's API token needs renewing"
            }
            ErrorKind::Forbidden => {
                "The Zebrunner account this server uses has no permission for that. Call list_projects to see what it can use, or ask the administrator"
            }
            ErrorKind::Unavailable => "Zebrunner is unavailable or failed; retry shortly",
            ErrorKind::Network => "Zebrunner could not be reached; retry shortly",
            _ => {
                "The call to Zebrunner failed; retry once, and if it persists tell the administrator"
            }
        };
        format!("{what} (reference {correlation_id}).")
    }
}

/// Whether Zebrunner errors of this kind carry the account's login, the
/// server's address or transport internals in their text.
fn reveals_account(kind: ErrorKind) -> bool {
    !matches!(
        kind,
        ErrorKind::NotFound
            | ErrorKind::InvalidFilter
            | ErrorKind::BadRequest
            | ErrorKind::RateLimited
    )
}
