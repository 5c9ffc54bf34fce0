//! [`Identity`]: who is calling, as read from a validated access token.

use serde::{Deserialize, Serialize};

/// The caller behind a validated access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Stable key for the caller, prefixed with the claim it comes from so
    /// that values of different claims never collide: `uid:<uid>` (Okta's
    /// user id), else `sub:<sub>`; for a service client (no user)
    /// `client:<client id>`.
    pub user_key: String,
    /// The token's `sub` (for Okta the login, usually the e-mail address).
    pub subject: String,
    /// `email`, else `sub` when it looks like an e-mail address.
    pub email: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// From the configured groups claim (array of strings or one string).
    pub groups: Vec<String>,
    /// From `scp` (array or space-separated string), else `scope`.
    pub scopes: Vec<String>,
    /// `cid`, else `client_id`, else `azp`.
    pub client_id: Option<String>,
    /// A user-less client-credentials token from a configured service client.
    pub is_service: bool,
    /// `exp`, seconds since the Unix epoch.
    pub expires_at: i64,
    /// `grant_id`: the grant (refresh-token family) a token of our own authorization server
    /// belongs to, so a revoked grant's access tokens stop working before they expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
}

impl Identity {
    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Whether the caller is in `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}
