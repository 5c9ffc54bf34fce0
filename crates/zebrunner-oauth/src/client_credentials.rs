//! The `client_credentials` grant (RFC 6749 §4.4) for the operator's confidential clients
//! that may use it (CI pipelines, internal services): a token for the client itself, which
//! the validator maps to the user key `client:<client_id>` (no person), so the policy and
//! the audit log see `client:<client_id>`. No refresh token (the client can always ask
//! again). The token belongs to a grant of its own, so `zebrunner-mcp oauth revoke --client`
//! stops it at once.

use axum::response::Response;
use zebrunner_identity::Identity;

use crate::config::ConfidentialClient;
use crate::events::GrantEvent;
use crate::token::TokenForm;
use crate::{AuthorizationServer, Error, now};

const GRANT: &str = "client_credentials";

impl AuthorizationServer {
    pub(crate) async fn client_credentials(
        &self,
        client: &ConfidentialClient,
        form: &TokenForm,
    ) -> Result<Response, Error> {
        let id = client.client_id.as_str();
        let user_key = format!("client:{id}");
        let refuse = |error: &'static str, description: String| GrantEvent {
            user_key: Some(user_key.clone()),
            ..GrantEvent::refused(GRANT, id, None, error, description)
        };
        if let Err(Error::Invalid { error, description }) = self.check_resource(form) {
            return Err(self.refused(refuse(error, description)).await);
        }
        let allowed: Vec<&str> = if client.scopes.is_empty() {
            self.scopes
                .first()
                .map(String::as_str)
                .into_iter()
                .collect()
        } else {
            client.scopes.iter().map(String::as_str).collect()
        };
        let requested: Vec<&str> = match form.scope.as_deref() {
            Some(scope) if !scope.trim().is_empty() => scope.split_whitespace().collect(),
            _ => allowed.clone(),
        };
        if let Some(extra) = requested.iter().find(|s| !allowed.contains(s)) {
            let extra: String = extra.chars().take(64).collect();
            return Err(self
                .refused(refuse(
                    "invalid_scope",
                    format!(
                        "this client may not have {extra}; it may have: {}",
                        allowed.join(" ")
                    ),
                ))
                .await);
        }
        let scope = requested.join(" ");
        let identity = Identity {
            user_key: user_key.clone(),
            subject: id.to_owned(),
            email: None,
            name: Some(client.client_name.clone()),
            groups: client.groups.clone(),
            scopes: requested.iter().map(|s| (*s).to_owned()).collect(),
            client_id: Some(id.to_owned()),
            is_service: true,
            expires_at: now() + self.access_ttl(),
            grant_id: None,
        };
        if let Err(reason) = (self.admit)(&identity) {
            return Err(self
                .refused(refuse(
                    "unauthorized_client",
                    format!("the server's policy refuses this client: {reason}"),
                ))
                .await);
        }
        self.access_only(GRANT, id, &identity, &scope).await
    }
}
