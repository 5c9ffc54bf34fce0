//! The vault as the source of the authorization server's token exchange
//! ([`zebrunner_oauth::exchange`]): a person's stored credentials, passed through the same
//! checks as for their tool calls (a usable record for this workspace, a login they may
//! use), turned into a short-lived Zebrunner bearer by one IAM refresh, or handed out as the
//! long-lived token itself when the operator allowed that client to have it.

use futures::future::BoxFuture;
use zebrunner_client::ErrorKind;
use zebrunner_identity::Identity;
use zebrunner_oauth::{NoZebrunnerToken, ZebrunnerToken, ZebrunnerTokens};

use super::VaultCredentials;
use crate::tools::error::ToolError;

impl ZebrunnerTokens for VaultCredentials {
    fn zebrunner_url(&self) -> &str {
        self.workspace().web_url()
    }

    fn token_for<'a>(
        &'a self,
        identity: &'a Identity,
        personal: bool,
    ) -> BoxFuture<'a, Result<ZebrunnerToken, NoZebrunnerToken>> {
        Box::pin(async move {
            let record = self
                .open(&identity.user_key)
                .await
                .map_err(|error| match error {
                    ToolError::Internal(why) => NoZebrunnerToken::Unavailable(why),
                    other => NoZebrunnerToken::NotConnected(other.message()),
                })?;
            if !self.logins().allows(identity, &record.login) {
                return Err(NoZebrunnerToken::NotConnected(format!(
                    "the stored Zebrunner login {:?} is not one this person may use any more; {}",
                    record.login,
                    self.reconnect_advice()
                )));
            }
            if personal {
                return Ok(ZebrunnerToken {
                    token: record.token,
                    login: record.login,
                    expires_in: None,
                });
            }
            match self
                .workspace()
                .issue_bearer(&record.login, record.token)
                .await
            {
                Ok(bearer) => Ok(ZebrunnerToken {
                    token: bearer.token,
                    login: bearer.login,
                    expires_in: Some(bearer.expires_in_secs),
                }),
                Err(error) if error.kind() == ErrorKind::Unauthorized => {
                    self.rejected(&identity.user_key, record.revision).await;
                    Err(NoZebrunnerToken::NotConnected(format!(
                        "Zebrunner no longer accepts this person's stored token; {}",
                        self.reconnect_advice()
                    )))
                }
                Err(error) => Err(NoZebrunnerToken::Unavailable(format!(
                    "Zebrunner could not be asked for a token: {error}"
                ))),
            }
        })
    }
}
