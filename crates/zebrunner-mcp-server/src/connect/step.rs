//! The connect page as a step of the authorization server's `/authorize`
//! ([`zebrunner_oauth::ConnectStep`]), and Zebrunner's token exchange, tried first when it is
//! switched on (`vault.zebrunner_token_exchange`).
//!
//! A person who signs in for an application without a usable stored token gets a page
//! session (they have just signed in at Okta, so the page does not ask again) marked to
//! resume, and lands on the connect page; once they have connected, the page sends them to
//! [`zebrunner_oauth::RESUME_PATH`] and the authorization goes on (consent, then the
//! application gets its code).

use axum::response::Response;
use futures::future::BoxFuture;
use secrecy::SecretString;
use zebrunner_client::ErrorKind;
use zebrunner_identity::Identity;
use zebrunner_oauth::ConnectStep;
use zebrunner_pages::with_cookies;

use super::{ConnectPage, now, see_other};
use crate::tools::error::ToolError;

impl ConnectPage {
    /// Try Zebrunner's token exchange for `identity` with their Okta ID token, and store what
    /// it gives (checked like a pasted token: Zebrunner accepts it, its login is one this
    /// person may use). Whether the person is connected now.
    pub(super) async fn connect_by_exchange(
        &self,
        identity: &Identity,
        id_token: &SecretString,
    ) -> bool {
        if !self.zebrunner_token_exchange {
            return false;
        }
        let grant = match self
            .vault
            .workspace()
            .exchange_id_token(id_token.clone())
            .await
        {
            Ok(grant) => grant,
            Err(error) if error.kind() == ErrorKind::NotOffered => {
                tracing::info!(
                    "Zebrunner offers no token exchange; the person connects on the page"
                );
                return false;
            }
            Err(error) => {
                tracing::warn!(%error, user_key = %identity.user_key, "Zebrunner's token exchange failed; the person connects on the page");
                return false;
            }
        };
        match self.vault.store(identity, &grant.login, &grant.token).await {
            Ok(meta) => {
                tracing::info!(user_key = %identity.user_key, login = %meta.login, "connected through Zebrunner's token exchange");
                true
            }
            Err(error) => {
                tracing::warn!(%error, user_key = %identity.user_key, "the token from Zebrunner's exchange was not stored");
                false
            }
        }
    }
}

impl ConnectStep for ConnectPage {
    fn connected<'a>(
        &'a self,
        identity: &'a Identity,
        id_token: Option<&'a SecretString>,
    ) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            match self.vault.open(&identity.user_key).await {
                Ok(record) if self.vault.logins().allows(identity, &record.login) => Ok(true),
                Ok(_) | Err(ToolError::NoCredentials(_)) => match id_token {
                    Some(id_token) => Ok(self.connect_by_exchange(identity, id_token).await),
                    None => Ok(false),
                },
                Err(ToolError::Internal(why)) => Err(why),
                Err(other) => Err(other.message()),
            }
        })
    }

    fn begin(&self, identity: &Identity) -> Response {
        let (mut session, _) = self.cookies.begin_session(
            identity.user_key.clone(),
            identity.email.clone(),
            identity.name.clone(),
            now(),
        );
        session.resume = true;
        let cookie = self.cookies.set_session(&session);
        with_cookies(see_other("/connect?notice=connect-first"), &[cookie])
    }
}
