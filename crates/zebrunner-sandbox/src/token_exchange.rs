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
//! [`TokenExchange`] checks the ID token for real with `zebrunner-identity`:
//! the issuer's keys come from OIDC discovery (`<issuer>/.well-known/openid-configuration`
//! → `jwks_uri`, read at start-up and cached), then header rules, signature,
//! `iss`, `aud` (and `azp`), `exp`, `iat` and `sub` (OpenID Connect Core
//! §3.1.3.7). A token exchange has no sign-in of its own, so there is no
//! nonce to compare: a `nonce` the token carries is accepted as it is. The
//! route handler is `routes::internal::iam::token_exchange`.
//!
//! Nothing here logs or returns any part of a token.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use zebrunner_identity::{OidcConfig, OidcValidator, SetupError, TokenError};

/// `subjectTokenType` of an OpenID Connect ID token (RFC 8693 §3).
pub const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
/// `grantType` of a token exchange (RFC 8693 §2.1).
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// Where the exchange is served when it is on.
pub const TOKEN_EXCHANGE_PATH: &str = "/api/iam/v1/auth/token-exchange";
/// Clock-skew leeway for `exp` and `iat` (as `zebrunner-identity`'s default).
const LEEWAY_SECS: i64 = 60;

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
        // Read before the signature is checked only to learn the nonce to pass
        // on; the claims are used only once the token verified.
        let payload = unverified_payload(id_token);
        let nonce = payload
            .as_ref()
            .and_then(|p| p.get("nonce"))
            .and_then(Value::as_str);
        let audience = &self.config.audience;
        let result = self
            .validator
            .validate_id_token(id_token, audience, nonce.unwrap_or(""))
            .await;
        match result {
            Ok(_) => {}
            // No nonce at all, which a token exchange has no use for. The
            // validator reports it only for a token whose signature verified,
            // so the payload is authentic; its other claims are checked here,
            // whatever the validator did before it reached the nonce.
            Err(TokenError::MissingClaim("nonce")) if nonce.is_none() => {
                let claims = payload.as_ref().ok_or(TokenError::Malformed)?;
                check_claims(claims, &self.config.issuer, audience, unix_now())?;
            }
            Err(e) => return Err(e),
        }
        let claims = payload.ok_or(TokenError::Malformed)?;
        let text = |name: &'static str| -> Result<Option<String>, TokenError> {
            match claims.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(TokenError::InvalidClaim(name)),
            }
        };
        Ok(IdTokenPerson {
            subject: text("sub")?.unwrap_or_default(),
            email: text("email")?,
            preferred_username: text("preferred_username")?,
        })
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The payload of a compact JWS as a JSON object, without any check.
fn unverified_payload(token: &str) -> Option<Map<String, Value>> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// The ID-token claim checks of OpenID Connect Core §3.1.3.7 but the nonce:
/// `iss` exact, `aud` containing `audience` (and `azp` equal to it when
/// present or when there are several audiences), `exp` and `iat` required
/// and current, `sub` non-empty.
fn check_claims(
    claims: &Map<String, Value>,
    issuer: &str,
    audience: &str,
    now: i64,
) -> Result<(), TokenError> {
    let text = |name: &'static str| -> Result<Option<&str>, TokenError> {
        match claims.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(TokenError::InvalidClaim(name)),
        }
    };
    let time = |name: &'static str| -> Result<i64, TokenError> {
        match claims.get(name) {
            None => Err(TokenError::MissingClaim(name)),
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| {
                    n.as_f64()
                        .filter(|f| f.is_finite() && f.abs() < 1e15)
                        .map(|f| f.floor() as i64)
                })
                .ok_or(TokenError::InvalidClaim(name)),
            Some(_) => Err(TokenError::InvalidClaim(name)),
        }
    };

    if text("iss")?.ok_or(TokenError::MissingClaim("iss"))? != issuer {
        return Err(TokenError::WrongIssuer);
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().ok_or(TokenError::InvalidClaim("aud")))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(TokenError::InvalidClaim("aud")),
    };
    if !audiences.contains(&audience) {
        return Err(TokenError::WrongAudience);
    }
    let azp = text("azp")?;
    if (audiences.len() > 1 || azp.is_some()) && azp != Some(audience) {
        return Err(TokenError::WrongAudience);
    }
    if now >= time("exp")?.saturating_add(LEEWAY_SECS) {
        return Err(TokenError::Expired);
    }
    if time("iat")? > now.saturating_add(LEEWAY_SECS) {
        return Err(TokenError::IssuedInFuture);
    }
    match text("sub")? {
        Some(sub) if !sub.is_empty() => Ok(()),
        _ => Err(TokenError::MissingClaim("sub")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;
    const ISS: &str = "https://acme.okta.com/oauth2/default";
    const AUD: &str = "0oa-zebrunner";

    fn check(v: Value) -> Result<(), TokenError> {
        check_claims(v.as_object().unwrap(), ISS, AUD, NOW)
    }

    fn good() -> Value {
        json!({"iss": ISS, "aud": AUD, "sub": "00u1", "exp": NOW + 300, "iat": NOW - 5,
               "email": "alice@sandbox.test"})
    }

    fn with(field: &str, value: Value) -> Value {
        let mut v = good();
        v[field] = value;
        v
    }

    fn without(field: &str) -> Value {
        let mut v = good();
        v.as_object_mut().unwrap().remove(field);
        v
    }

    #[test]
    fn claims_without_a_nonce() {
        assert_eq!(check(good()), Ok(()));
        assert_eq!(
            check(with("aud", json!(["x", AUD]))),
            Err(TokenError::WrongAudience)
        );
        assert_eq!(check(with("azp", json!(AUD))), Ok(()));
        let mut several = with("aud", json!(["x", AUD]));
        several["azp"] = json!(AUD);
        assert_eq!(check(several), Ok(()));
        assert_eq!(
            check(with("azp", json!("other"))),
            Err(TokenError::WrongAudience)
        );
        assert_eq!(
            check(with("iss", json!("https://evil.test"))),
            Err(TokenError::WrongIssuer)
        );
        assert_eq!(
            check(with("iss", json!(ISS.to_owned() + "/"))),
            Err(TokenError::WrongIssuer)
        );
        assert_eq!(check(without("iss")), Err(TokenError::MissingClaim("iss")));
        assert_eq!(
            check(with("aud", json!("other"))),
            Err(TokenError::WrongAudience)
        );
        assert_eq!(check(without("aud")), Err(TokenError::WrongAudience));
        assert_eq!(
            check(with("aud", json!(7))),
            Err(TokenError::InvalidClaim("aud"))
        );
        assert_eq!(
            check(with("exp", json!(NOW - 61))),
            Err(TokenError::Expired)
        );
        assert_eq!(check(with("exp", json!(NOW - 59))), Ok(()), "leeway");
        assert_eq!(check(without("exp")), Err(TokenError::MissingClaim("exp")));
        assert_eq!(
            check(with("exp", json!("soon"))),
            Err(TokenError::InvalidClaim("exp"))
        );
        assert_eq!(
            check(with("iat", json!(NOW + 61))),
            Err(TokenError::IssuedInFuture)
        );
        assert_eq!(check(without("iat")), Err(TokenError::MissingClaim("iat")));
        assert_eq!(
            check(with("sub", json!(""))),
            Err(TokenError::MissingClaim("sub"))
        );
        assert_eq!(check(without("sub")), Err(TokenError::MissingClaim("sub")));
        assert_eq!(
            check(with("sub", json!(1))),
            Err(TokenError::InvalidClaim("sub"))
        );
    }

    #[test]
    fn names_skip_blank_claims() {
        let person = IdTokenPerson {
            subject: "00u1".into(),
            email: Some(" ".into()),
            preferred_username: Some("alice@sandbox.test".into()),
        };
        assert_eq!(person.names().collect::<Vec<_>>(), ["alice@sandbox.test"]);
        assert!(unverified_payload("a.b").is_none());
        assert!(
            unverified_payload("x.W10.y").is_none(),
            "[] is not an object"
        );
        assert_eq!(unverified_payload("x.e30.y").map(|m| m.len()), Some(0));
    }
}
