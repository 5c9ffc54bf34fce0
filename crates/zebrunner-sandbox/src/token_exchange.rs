//! The proposed Okta token exchange (anchor §3.4 R1b, §4.1), off unless
//! configured with [`TokenExchangeConfig`].
//!
//! `POST /api/iam/v1/auth/token-exchange` with
//! `{subjectToken: <Okta ID token>, subjectTokenType: ID_TOKEN_TYPE, grantType: TOKEN_EXCHANGE_GRANT}`
//! answers like the IAM refresh of an SSO sign-in: a new long-lived
//! `refreshToken` for the person, plus a bearer (`authToken`). It is not an
//! endpoint real Zebrunner has; when it is off the sandbox answers its usual
//! 404 for an unknown path, as Zebrunner does today.
//!
//! [`TokenExchange`] checks the ID token for real with `zebrunner-identity`
//! (`OidcValidator::validate_presented_id_token`): the issuer's keys come from
//! OIDC discovery (`<issuer>/.well-known/openid-configuration` → `jwks_uri`,
//! read at start-up and cached), then header rules, signature, `iss`, `aud`
//! (and `azp`), `exp`, `iat` and `sub` (OpenID Connect Core §3.1.3.7). A token
//! exchange has no sign-in of its own, so there is no nonce to compare: a
//! `nonce` the token carries is accepted as it is. The route handler is
//! `routes::internal::iam::token_exchange`.
//!
//! Nothing here logs or returns any part of a token.

use zebrunner_identity::{OidcConfig, OidcValidator, SetupError, TokenError};

/// `subjectTokenType` of an OpenID Connect ID token (RFC 8693 §3).
pub const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
/// `grantType` of a token exchange (RFC 8693 §2.1).
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// Where the exchange is served when it is on.
pub const TOKEN_EXCHANGE_PATH: &str = "/api/iam/v1/auth/token-exchange";

/// Which ID tokens the token exchange trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenExchangeConfig {
    /// The company's Okta issuer, exactly the tokens' `iss`
    /// (e.g. `https://acme.okta.com/oauth2/default`); https, or http on loopback.
    pub issuer: String,
    /// The `aud` the ID tokens must carry: Zebrunner's Okta client id.
    pub audience: String,
}

impl TokenExchangeConfig {
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        TokenExchangeConfig {
            issuer: issuer.into(),
            audience: audience.into(),
        }
    }
}

/// Who a verified ID token names: the claims the sandbox maps to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenPerson {
    pub subject: String,
    pub email: Option<String>,
    pub preferred_username: Option<String>,
}

impl IdTokenPerson {
    /// The names to look the person up by, in order: `email`, then
    /// `preferred_username` (blank ones skipped).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        [self.email.as_deref(), self.preferred_username.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|n| !n.is_empty())
    }
}

/// The validator of a configured token exchange.
#[derive(Debug, Clone)]
pub(crate) struct TokenExchange {
    config: TokenExchangeConfig,
    validator: OidcValidator,
}

impl TokenExchange {
    /// Checks the configuration and reads the issuer's metadata and keys.
    pub(crate) async fn discover(config: TokenExchangeConfig) -> Result<Self, SetupError> {
        let validator =
            OidcValidator::discover(OidcConfig::new(&config.issuer, &config.audience)).await?;
        Ok(TokenExchange { config, validator })
    }

    pub(crate) fn config(&self) -> &TokenExchangeConfig {
        &self.config
    }

    /// Verifies `id_token` and says who it names.
    pub(crate) async fn verify(&self, id_token: &str) -> Result<IdTokenPerson, TokenError> {
        let claims = self
            .validator
            .validate_presented_id_token(id_token, &self.config.audience)
            .await?;
        Ok(IdTokenPerson {
            subject: claims.subject,
            email: claims.email,
            preferred_username: claims.preferred_username,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_skip_blank_claims() {
        let person = IdTokenPerson {
            subject: "00u1".into(),
            email: Some(" ".into()),
            preferred_username: Some("alice@sandbox.test".into()),
        };
        assert_eq!(person.names().collect::<Vec<_>>(), ["alice@sandbox.test"]);
    }
}
