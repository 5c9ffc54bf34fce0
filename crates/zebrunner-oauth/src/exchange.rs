//! Token exchange (RFC 8693) for the operator's confidential clients allowed
//! `token_exchange`: the design note's `/exchange`. An internal service holding a person's
//! access token (Okta's, validated exactly as identity `oidc` validates it, or one of ours)
//! gets a Zebrunner token for that person, obtained through the vault and Zebrunner's IAM
//! refresh: a short-lived bearer, or, only for a client whose `personal_api_token` the
//! operator turned on, the person's long-lived API token.
//!
//! The request: `subject_token` and `subject_token_type`
//! `urn:ietf:params:oauth:token-type:access_token`; `requested_token_type` absent or
//! `...:access_token` (a bearer) or [`API_TOKEN_TYPE`]; `resource` or `audience`, when
//! present, Zebrunner's address. Delegation (`actor_token`) is not offered. Every exchange,
//! granted or refused, is recorded in the audit log; a grant whose record cannot be stored
//! is not made.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::json;
use zebrunner_identity::{Identity, MAX_TOKEN_BYTES};

use crate::config::ConfidentialClient;
use crate::events::GrantEvent;
use crate::jwt_bearer::unverified_issuer;
use crate::token::{TokenForm, no_store};
use crate::{AuthorizationServer, Error, oauth_error};

const GRANT: &str = "token_exchange";

/// RFC 8693 §3: an OAuth access token.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// A person's long-lived Zebrunner API token (the Basic password of Zebrunner's API).
pub const API_TOKEN_TYPE: &str = "urn:zebrunner:params:oauth:token-type:api-token";

/// A Zebrunner token for one person. `Debug` leaves the token out.
pub struct ZebrunnerToken {
    pub token: SecretString,
    /// The person's Zebrunner login (needed with an API token).
    pub login: String,
    /// Seconds the token lives, when Zebrunner says.
    pub expires_in: Option<u64>,
}

impl std::fmt::Debug for ZebrunnerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZebrunnerToken")
            .field("login", &self.login)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// Why no Zebrunner token could be had for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoZebrunnerToken {
    /// The person has no usable credentials in the vault (never connected, or Zebrunner
    /// refused the ones stored): what they should do.
    NotConnected(String),
    /// Zebrunner could not be asked just now.
    Unavailable(String),
}

/// Zebrunner tokens for people, from the server's vault (credentials `vault`).
pub trait ZebrunnerTokens: Send + Sync {
    /// Zebrunner's address: what `resource` or `audience` may name.
    fn zebrunner_url(&self) -> &str;
    /// A short-lived bearer for `identity`, or (`personal`) their long-lived API token.
    fn token_for<'a>(
        &'a self,
        identity: &'a Identity,
        personal: bool,
    ) -> BoxFuture<'a, Result<ZebrunnerToken, NoZebrunnerToken>>;
}

impl AuthorizationServer {
    pub(crate) async fn exchange(
        &self,
        client: &ConfidentialClient,
        form: &TokenForm,
    ) -> Result<Response, Error> {
        let id = client.client_id.as_str();
        let refusal = |identity: Option<&Identity>, error: &'static str, description: String| {
            GrantEvent::refused(GRANT, id, identity, error, description)
        };
        let Some(zebrunner) = &self.zebrunner else {
            return Err(self
                .refused(refusal(
                    None,
                    "unsupported_grant_type",
                    "token exchange needs credentials = \"vault\" on this server".into(),
                ))
                .await);
        };
        let problem = if form.actor_token.is_some() {
            Some((
                "invalid_request",
                "delegation (actor_token) is not supported".to_owned(),
            ))
        } else if form.subject_token_type.as_deref() != Some(ACCESS_TOKEN_TYPE) {
            Some((
                "invalid_request",
                format!("subject_token_type must be {ACCESS_TOKEN_TYPE}"),
            ))
        } else if [form.resource.as_deref(), form.audience.as_deref()]
            .into_iter()
            .flatten()
            .any(|target| {
                target.trim_end_matches('/') != zebrunner.zebrunner_url().trim_end_matches('/')
            })
        {
            Some((
                "invalid_target",
                format!(
                    "this exchange issues Zebrunner tokens only: resource or audience, when given, must be {}",
                    zebrunner.zebrunner_url()
                ),
            ))
        } else {
            None
        };
        if let Some((error, description)) = problem {
            return Err(self.refused(refusal(None, error, description)).await);
        }
        let personal = match form.requested_token_type.as_deref() {
            None | Some(ACCESS_TOKEN_TYPE) => false,
            Some(API_TOKEN_TYPE) if client.personal_api_token => true,
            Some(API_TOKEN_TYPE) => {
                return Err(self
                    .refused(refusal(
                        None,
                        "invalid_request",
                        format!(
                            "this client may not receive API tokens; ask for {ACCESS_TOKEN_TYPE}"
                        ),
                    ))
                    .await);
            }
            Some(_) => {
                return Err(self
                    .refused(refusal(
                        None,
                        "invalid_request",
                        format!(
                            "requested_token_type must be {ACCESS_TOKEN_TYPE} or {API_TOKEN_TYPE}"
                        ),
                    ))
                    .await);
            }
        };
        let subject = form
            .subject_token
            .as_deref()
            .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN_BYTES)
            .unwrap_or_default();
        let identity = match self.subject(subject).await {
            Ok(identity) => identity,
            Err(description) => {
                return Err(self
                    .refused(refusal(None, "invalid_grant", description))
                    .await);
            }
        };
        if let Err(reason) = (self.admit)(&identity) {
            return Err(self
                .refused(refusal(
                    Some(&identity),
                    "invalid_grant",
                    format!("the person may not use this server: {reason}"),
                ))
                .await);
        }
        let token = match zebrunner.token_for(&identity, personal).await {
            Ok(token) => token,
            Err(NoZebrunnerToken::NotConnected(advice)) => {
                return Err(self
                    .refused(refusal(Some(&identity), "invalid_grant", advice))
                    .await);
            }
            Err(NoZebrunnerToken::Unavailable(why)) => {
                let _ = self
                    .refused(refusal(
                        Some(&identity),
                        "temporarily_unavailable",
                        why.clone(),
                    ))
                    .await;
                return Ok(oauth_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    &why,
                ));
            }
        };
        self.issued(GrantEvent::issued(
            GRANT,
            id,
            &identity,
            if personal {
                "Zebrunner API token"
            } else {
                "Zebrunner bearer"
            },
        ))
        .await?;
        let mut body = json!({
            "access_token": token.token.expose_secret(),
            "issued_token_type": if personal { API_TOKEN_TYPE } else { ACCESS_TOKEN_TYPE },
            // RFC 8693 §2.2.1: N_A when the token is not an OAuth access token.
            "token_type": if personal { "N_A" } else { "Bearer" },
            "zebrunner_login": token.login,
        });
        if let Some(expires_in) = token.expires_in {
            body["expires_in"] = json!(expires_in);
        }
        Ok(no_store(body).into_response())
    }

    /// The person behind a subject token: one of ours (and its grant still live), or Okta's
    /// (validated as identity `oidc` validates it). The error is the description to send.
    async fn subject(&self, token: &str) -> Result<Identity, String> {
        let issuer = unverified_issuer(token).unwrap_or_default();
        if issuer == self.issuer {
            let Some(own) = self.own_validator.get() else {
                return Err("this server cannot check its own tokens yet; retry shortly".into());
            };
            let identity = own.validate(token).await.map_err(|e| e.to_string())?;
            match identity.grant_id.as_deref() {
                Some(grant) if !self.grant_live(grant).await.map_err(|e| e.to_string())? => {
                    Err("the subject token's grant was revoked".into())
                }
                _ => Ok(identity),
            }
        } else if issuer == self.sign_in.issuer() {
            self.sign_in
                .validator()
                .validate(token)
                .await
                .map_err(|e| e.to_string())
        } else {
            Err("the subject token is not from this server or its identity provider".into())
        }
    }
}
