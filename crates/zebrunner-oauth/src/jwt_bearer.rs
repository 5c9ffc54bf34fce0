//! Enterprise-managed authorization (MCP extension `enterprise-managed-authorization`, Okta
//! Cross App Access): the JWT bearer grant (RFC 7523 §2.1) with an identity assertion
//! authorization grant (ID-JAG) that a trusted identity provider issued to the presenting
//! client for one person. The person signs in nowhere: their company's identity provider
//! already decided, and we check its assertion.
//!
//! 1. The client authenticated (a confidential client allowed `jwt_bearer`).
//! 2. The assertion's issuer is one of `oauth.id_jag_issuers`; its header, key, signature and
//!    claims pass [`zebrunner_identity::id_jag`] (`typ`, `aud` our issuer, `client_id` this
//!    client, `resource` ours, lifetime, `jti`, `sub`).
//! 3. Its `jti` was never seen before, by any replica (the replay cache is in storage, kept
//!    until the assertion expires).
//! 4. Scopes: those asked for (default: the assertion's) that the assertion also names and
//!    we offer (the profile's §7.2.1: the intersection).
//! 5. The server's policy admits the person.
//!
//! The answer is an access token and no refresh token (the client gets a fresh assertion
//! from the identity provider instead, so the provider's policy is asked again).

use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zebrunner_identity::{IdJagRules, MAX_TOKEN_BYTES, OidcConfig, OidcValidator, SetupError};

use crate::config::{ConfidentialClient, OAuthConfig};
use crate::events::GrantEvent;
use crate::token::TokenForm;
use crate::{AuthorizationServer, Error, now};

const GRANT: &str = "jwt_bearer";

/// How long a remembered `jti` outlives its assertion's `exp` (the clock-skew leeway).
const REPLAY_LEEWAY_SECS: i64 = 60;

/// The signing algorithms accepted on ID-JAGs.
pub const ID_JAG_ALGORITHMS: [zebrunner_identity::Algorithm; 2] = [
    zebrunner_identity::Algorithm::RS256,
    zebrunner_identity::Algorithm::ES256,
];

/// Validators for the identity providers of `oauth.id_jag_issuers`, each found by discovery
/// (its keys are cached and refreshed like Okta's).
pub async fn trusted_issuers(
    config: &OAuthConfig,
    groups_claim: &str,
) -> Result<Vec<OidcValidator>, SetupError> {
    let mut validators = Vec::with_capacity(config.id_jag_issuers.len());
    for issuer in &config.id_jag_issuers {
        validators.push(trusted_issuer(issuer, groups_claim).await?);
    }
    Ok(validators)
}

/// The validator of one `oauth.id_jag_issuers` entry: its metadata, then its keys, with at
/// least one for [`ID_JAG_ALGORITHMS`] (`zebrunner-mcp config check --online` asks each).
pub async fn trusted_issuer(issuer: &str, groups_claim: &str) -> Result<OidcValidator, SetupError> {
    // The audience of an ID-JAG is checked against our issuer by its own rule; this one is
    // never used for it.
    let mut settings = OidcConfig::new(issuer.trim_end_matches('/'), "unused");
    settings.algorithms = ID_JAG_ALGORITHMS.to_vec();
    settings.groups_claim = groups_claim.to_owned();
    OidcValidator::discover(settings).await
}

/// The `iss` of a JWT, unverified: only to pick the validator that will verify it.
pub(crate) fn unverified_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}

impl AuthorizationServer {
    pub(crate) async fn jwt_bearer(
        &self,
        client: &ConfidentialClient,
        form: &TokenForm,
    ) -> Result<Response, Error> {
        let id = client.client_id.as_str();
        let refusal =
            |user_key: Option<&str>, error: &'static str, description: String| GrantEvent {
                user_key: user_key.map(str::to_owned),
                ..GrantEvent::refused(GRANT, id, None, error, description)
            };
        if let Err(Error::Invalid { error, description }) = self.check_resource(form) {
            return Err(self.refused(refusal(None, error, description)).await);
        }
        let Some(assertion) = form
            .assertion
            .as_deref()
            .filter(|a| !a.is_empty() && a.len() <= MAX_TOKEN_BYTES)
        else {
            return Err(self
                .refused(refusal(
                    None,
                    "invalid_request",
                    "assertion is required".into(),
                ))
                .await);
        };
        let issuer = unverified_issuer(assertion).unwrap_or_default();
        let Some(validator) = self
            .trusted_issuers
            .iter()
            .find(|v| v.config().issuer == issuer.trim_end_matches('/'))
        else {
            return Err(self
                .refused(refusal(
                    None,
                    "invalid_grant",
                    "the assertion is not from an identity provider this server trusts".into(),
                ))
                .await);
        };
        let rules = IdJagRules {
            audience: &self.issuer,
            client_id: id,
            resource: &self.resource,
            max_lifetime_secs: i64::try_from(self.config.id_jag_max_lifetime_secs).unwrap_or(300),
        };
        let jag = match validator.validate_id_jag(assertion, &rules).await {
            Ok(jag) => jag,
            Err(error) if error.is_temporary() => {
                tracing::warn!(%error, issuer, "an ID-JAG could not be checked");
                return Err(Error::Keys(format!("{issuer}: {error}")));
            }
            Err(error) => {
                return Err(self
                    .refused(refusal(None, "invalid_grant", error.to_string()))
                    .await);
            }
        };
        let mut identity = jag.identity;
        let user_key = identity.user_key.clone();
        if !self
            .store
            .remember_jti(
                validator.config().issuer.as_str(),
                &jag.jti,
                identity.expires_at + REPLAY_LEEWAY_SECS,
                now(),
            )
            .await?
        {
            return Err(self
                .refused(refusal(
                    Some(&user_key),
                    "invalid_grant",
                    "the assertion was already used; get a new one from the identity provider"
                        .into(),
                ))
                .await);
        }
        // The assertion's scopes, or the read scope when it names none.
        let asserted: Vec<String> = if identity.scopes.is_empty() {
            self.scopes.first().cloned().into_iter().collect()
        } else {
            identity.scopes.clone()
        };
        let requested: Vec<&str> = match form.scope.as_deref() {
            Some(scope) if !scope.trim().is_empty() => scope.split_whitespace().collect(),
            _ => asserted.iter().map(String::as_str).collect(),
        };
        let granted: Vec<String> = requested
            .iter()
            .filter(|s| asserted.iter().any(|a| a == *s) && self.scopes.iter().any(|o| o == *s))
            .map(|s| (*s).to_owned())
            .collect();
        if granted.is_empty() {
            return Err(self
                .refused(refusal(
                    Some(&user_key),
                    "invalid_scope",
                    format!(
                        "none of the requested scopes is both in the assertion and offered here ({})",
                        self.scopes.join(" ")
                    ),
                ))
                .await);
        }
        identity.scopes = granted.clone();
        identity.expires_at = now() + self.access_ttl();
        if let Err(reason) = (self.admit)(&identity) {
            return Err(self
                .refused(refusal(
                    Some(&user_key),
                    "invalid_grant",
                    format!("the person may not use this server: {reason}"),
                ))
                .await);
        }
        self.access_only(GRANT, id, &identity, &granted.join(" "))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_is_read_without_trusting_it() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"iss":"https://acme.okta.com"}"#);
        assert_eq!(
            unverified_issuer(&format!("e30.{payload}.sig")).as_deref(),
            Some("https://acme.okta.com")
        );
        for bad in ["", "a.b.c", "e30.e30.x", "e30.!!!.x"] {
            assert_eq!(unverified_issuer(bad), None, "{bad}");
        }
    }
}
