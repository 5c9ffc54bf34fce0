//! Which Zebrunner credentials serve a call, and what a caller is told when
//! Zebrunner refuses them.
//!
//! [`Credentials::client_for`] is asked once per tool call and resource read
//! with the verified caller. The sources:
//!
//! - one shared service account (`ZEBRUNNER_LOGIN` / `ZEBRUNNER_TOKEN`);
//! - [`vault`]: each person's own login and token from the encrypted vault;
//! - [`headers`]: the login and token each request carries.
//!
//! [`exchange`] gives the authorization server's token exchange a person's Zebrunner
//! token from the vault. [`revalidate`] checks stored tokens against Zebrunner in the background; [`waiting`]
//! remembers MCP clients waiting for a person to connect.
//!
//! Tools never care where their client came from. The advice in error
//! messages ("renew the token", "reconnect your account") belongs to the
//! source, through [`ErrorView`]; [`logins`] decides who may act as which
//! Zebrunner login.

pub mod exchange;
pub mod headers;
pub mod logins;
pub mod revalidate;
pub mod vault;
pub mod waiting;

use std::sync::Arc;

use zebrunner_client::{ErrorKind, ZebrunnerClient};

pub use headers::{HeaderCredentials, RequestCredentials};
pub use vault::VaultCredentials;

use crate::{caller::Caller, tools::error::ToolError};

/// The source of the Zebrunner client for a call.
#[derive(Clone)]
pub enum Credentials {
    /// One shared Zebrunner account (`ZEBRUNNER_LOGIN` / `ZEBRUNNER_TOKEN`).
    ServiceAccount(ZebrunnerClient),
    /// Each person's own account, from the vault.
    Vault(Arc<VaultCredentials>),
    /// The account named by each request's headers.
    Headers(Arc<HeaderCredentials>),
}

/// The client for one call and what the call should know about it.
pub struct Resolved {
    pub client: ZebrunnerClient,
    pub errors: ErrorView,
    /// The Zebrunner login the call acts as, for the audit record; `None` for the shared
    /// service account (its login is the operator's business, not the caller's).
    pub zebrunner_login: Option<String>,
    /// The vault record used (user key, revision), to mark it invalid on a 401.
    pub vault_record: Option<(String, i64)>,
}

impl Credentials {
    /// The client that serves `caller`, and how Zebrunner's failures are
    /// shown to them.
    pub async fn client_for(&self, caller: &Caller) -> Result<Resolved, ToolError> {
        match self {
            Credentials::ServiceAccount(client) => Ok(Resolved {
                client: client.clone(),
                // A signed-in person on a shared service is not the account's
                // owner: they must not learn its login or where Zebrunner
                // lives. The local user (stdio, or a loopback server without
                // identity) configured the account.
                errors: if caller.identity.is_some() {
                    ErrorView::SharedAccount
                } else {
                    ErrorView::Operator
                },
                zebrunner_login: None,
                vault_record: None,
            }),
            Credentials::Vault(vault) => {
                let found = vault.client_for(caller).await?;
                let user_key = caller.user_key().unwrap_or_default().to_owned();
                Ok(Resolved {
                    client: found.client,
                    errors: ErrorView::Personal {
                        reconnect: Arc::from(vault.reconnect_advice()),
                    },
                    zebrunner_login: Some(found.login),
                    vault_record: Some((user_key, found.revision)),
                })
            }
            Credentials::Headers(headers) => {
                let (client, login) = headers.client_for(caller).await?;
                Ok(Resolved {
                    client,
                    errors: ErrorView::Personal {
                        reconnect: Arc::from(
                            "send a valid token in X-Zebrunner-Api-Token (Zebrunner: Account and \
                             profile, API tokens)",
                        ),
                    },
                    zebrunner_login: Some(login),
                    vault_record: None,
                })
            }
        }
    }

    /// Where a person connects their Zebrunner account (the vault's `connect_url`), if anywhere.
    pub fn connect_url(&self) -> Option<&str> {
        match self {
            Credentials::Vault(vault) => vault.connect_url(),
            _ => None,
        }
    }

    /// Whether Zebrunner answers at the configured workspace, asked without credentials
    /// (readiness; see `zebrunner_client::Workspace::check_reachable`).
    pub async fn check_reachable(&self) -> Result<(), zebrunner_client::Error> {
        match self {
            Credentials::ServiceAccount(client) => client.check_reachable().await,
            Credentials::Vault(vault) => vault.workspace().check_reachable().await,
            Credentials::Headers(headers) => headers.workspace().check_reachable().await,
        }
    }

    /// A call ended with Zebrunner refusing the credentials it used: a vault record is
    /// marked invalid, so the next call asks the person to reconnect instead of failing
    /// against Zebrunner again.
    pub async fn rejected(&self, vault_record: Option<&(String, i64)>) {
        if let (Credentials::Vault(vault), Some((user_key, revision))) = (self, vault_record) {
            vault.rejected(user_key, *revision).await;
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
            Credentials::Vault(_) => f.write_str("Vault"),
            Credentials::Headers(_) => f.write_str("Headers"),
        }
    }
}

/// How much of a failure a caller sees, decided by the credential source.
#[derive(Debug, Clone)]
pub enum ErrorView {
    /// The person who configured the service account (stdio, or a loopback
    /// server without identity): Zebrunner's own words, and what to fix.
    Operator,
    /// A signed-in person using the shared service account: keep its login,
    /// Zebrunner's address and transport details out of messages.
    SharedAccount,
    /// A person using their own Zebrunner account: they may hear about their
    /// own login and permissions, not about Zebrunner's address; `reconnect`
    /// says how to provide a working token.
    Personal { reconnect: Arc<str> },
}

impl ErrorView {
    /// The caller's message for `error`, with the next step to take.
    pub fn render(&self, error: &ToolError, correlation_id: &str) -> String {
        let ToolError::Zebrunner(inner) = error else {
            return error.message();
        };
        let kind = inner.kind();
        let reconnect = match self {
            ErrorView::Operator => {
                return match kind {
                    ErrorKind::Unauthorized => format!(
                        "{inner}. Create a new API token in Zebrunner (Account and profile, API \
                         tokens), set ZEBRUNNER_TOKEN (or ZEBRUNNER_TOKEN_FILE) and restart the \
                         server."
                    ),
                    _ => error.message(),
                };
            }
            ErrorView::SharedAccount => None,
            ErrorView::Personal { reconnect } => Some(reconnect),
        };
        if !reveals_account(kind) {
            return error.message();
        }
        tracing::warn!(correlation_id, error = %inner, "Zebrunner call failed");
        let what = match (kind, reconnect) {
            (ErrorKind::Unauthorized, None) => {
                "Zebrunner rejected the server's account. Tell the administrator of this server; the account's API token needs renewing".to_owned()
            }
            (ErrorKind::Unauthorized, Some(reconnect)) => {
                format!("Zebrunner rejected your token; {reconnect}")
            }
            (ErrorKind::Forbidden, None) => {
                "The Zebrunner account this server uses has no permission for that. Call list_projects to see what it can use, or ask the administrator".to_owned()
            }
            (ErrorKind::Forbidden, Some(_)) => {
                "Your Zebrunner account has no permission for that. Call list_projects to see what it can use, or ask a Zebrunner administrator for access".to_owned()
            }
            (ErrorKind::Unavailable, _) => "Zebrunner is unavailable or failed; retry shortly".to_owned(),
            (ErrorKind::Network, _) => "Zebrunner could not be reached; retry shortly".to_owned(),
            _ => {
                "The call to Zebrunner failed; retry once, and if it persists tell the administrator".to_owned()
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
            | ErrorKind::CircuitOpen
    )
}
