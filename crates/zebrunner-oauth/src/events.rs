//! What the authorization server tells the product's audit log: every token it issues
//! without a person at a browser (client credentials, token exchange, ID-JAG), and every
//! such request it refuses. An issuance whose record cannot be stored is not made.

use futures::future::BoxFuture;
use zebrunner_identity::Identity;

/// One decision at the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantEvent {
    /// `client_credentials`, `token_exchange`, `jwt_bearer`.
    pub grant: &'static str,
    pub client_id: String,
    /// The person (or `client:<id>`) the token is for, once known.
    pub user_key: Option<String>,
    pub email: Option<String>,
    /// What was issued, or why nothing was (never a token).
    pub outcome: GrantOutcome,
}

impl GrantEvent {
    /// A refusal of `grant` for `client_id`, about `identity` once known.
    pub(crate) fn refused(
        grant: &'static str,
        client_id: &str,
        identity: Option<&Identity>,
        error: &'static str,
        description: String,
    ) -> Self {
        GrantEvent {
            grant,
            client_id: client_id.to_owned(),
            user_key: identity.map(|i| i.user_key.clone()),
            email: identity.and_then(|i| i.email.clone()),
            outcome: GrantOutcome::Refused(error, description),
        }
    }

    /// `what` was issued by `grant` to `client_id` for `identity`.
    pub(crate) fn issued(
        grant: &'static str,
        client_id: &str,
        identity: &Identity,
        what: &'static str,
    ) -> Self {
        GrantEvent {
            grant,
            client_id: client_id.to_owned(),
            user_key: Some(identity.user_key.clone()),
            email: identity.email.clone(),
            outcome: GrantOutcome::Issued(what),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantOutcome {
    /// What was issued: `access token`, `Zebrunner bearer`, `Zebrunner API token`.
    Issued(&'static str),
    /// The OAuth error code and its description.
    Refused(&'static str, String),
}

/// The record could not be stored.
#[derive(Debug)]
pub struct RecordLost;

/// Where [`GrantEvent`]s go.
pub trait GrantAudit: Send + Sync {
    fn record(&self, event: GrantEvent) -> BoxFuture<'_, Result<(), RecordLost>>;
}
