//! The proposed Okta token exchange (RFC 8693 style): an Okta ID token for the
//! person's long-lived Zebrunner token, with no page to paste anything into.
//!
//! `POST /api/iam/v1/auth/token-exchange` with
//! `{subjectToken: <ID token>, subjectTokenType: ID_TOKEN_TYPE, grantType: TOKEN_EXCHANGE_GRANT}`
//! answers like the IAM refresh (`{authToken, refreshToken, userId, …}`).
//! Zebrunner does not have this endpoint yet (anchor §3.4 R1b, §4.1), so a
//! caller must expect [`ErrorKind::NotOffered`](crate::ErrorKind::NotOffered)
//! and fall back to another way of connecting (the SSO address or an API
//! token); the sandbox offers it when configured to.

use reqwest::Method;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::json;

use crate::auth::decode_exchange;
use crate::client::Workspace;
use crate::error::Error;
use crate::sso::SsoGrant;
use crate::transport::{Api, Call, Transport};

/// `subjectTokenType` of an OpenID Connect ID token (RFC 8693 §3).
pub const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
/// `grantType` of a token exchange (RFC 8693 §2.1).
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The path of the exchange, as errors name it.
pub const TOKEN_EXCHANGE_PATH: &str = "/api/iam/v1/auth/token-exchange";
/// Stands in for the login in the transport: none is known yet.
const EXCHANGE_LOGIN: &str = "the Okta ID token";
/// What the exchange is, in errors.
const WHAT: &str = "the Okta token exchange";

impl Workspace {
    /// Exchanges the person's Okta ID token for their Zebrunner login,
    /// long-lived token and user id: one `POST /api/iam/v1/auth/token-exchange`
    /// through this workspace's pool and rate limit, never retried (the ID
    /// token may be single use at the server).
    ///
    /// * 404, 405 or 501: [`Error::NotOffered`] (`ErrorKind::NotOffered`),
    ///   this Zebrunner has no token exchange; connect another way.
    /// * 401 or 403: [`Error::ExchangeRefused`] (`ErrorKind::Unauthorized`),
    ///   the ID token was not accepted or Zebrunner knows no user for the
    ///   person; with Zebrunner's reason.
    /// * A blank ID token is [`Error::Config`], before any request; an answer
    ///   without a `refreshToken`, a login (`unm`) or a user id is
    ///   [`Error::Decode`]; other failures as for any call (not retried).
    ///
    /// No error contains the ID token or the tokens of the answer.
    pub async fn exchange_id_token(&self, id_token: SecretString) -> Result<SsoGrant, Error> {
        if id_token.expose_secret().trim().is_empty() {
            return Err(Error::config("the Okta ID token is empty"));
        }
        let body = json!({
            "subjectToken": id_token.expose_secret(),
            "subjectTokenType": ID_TOKEN_TYPE,
            "grantType": TOKEN_EXCHANGE_GRANT,
        });
        // A transport of its own, so that the ID token is the token redacted
        // from any error text; it shares the workspace's pool.
        let transport = Transport::new(self.shared().clone(), EXCHANGE_LOGIN.to_owned(), id_token)?;
        let call = Call::new(
            Method::POST,
            Api::Iam,
            ["api", "iam", "v1", "auth", "token-exchange"],
        )
        .json(body)
        .idempotent(false)
        .what(WHAT)
        .status_map(exchange_status);
        let answer = transport.send(&call, None).await?;
        let exchange = decode_exchange(answer, TOKEN_EXCHANGE_PATH)?;
        let grant = SsoGrant::from_exchange(exchange, TOKEN_EXCHANGE_PATH)?;
        tracing::debug!(
            user_id = grant.user_id,
            "exchanged an Okta ID token for a Zebrunner token"
        );
        Ok(grant)
    }
}

/// The token exchange's own statuses: "not offered" and "refused".
fn exchange_status(status: u16, message: &str, method: &str, path: &str) -> Option<Error> {
    match status {
        404 | 405 | 501 => Some(Error::NotOffered {
            what: WHAT.to_owned(),
            status,
            method: method.to_owned(),
            path: path.to_owned(),
        }),
        401 | 403 => Some(Error::ExchangeRefused {
            status,
            message: (!message.is_empty()).then(|| message.to_owned()),
            method: method.to_owned(),
            path: path.to_owned(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn statuses_of_the_exchange() {
        let map = |status| exchange_status(status, "why", "POST", TOKEN_EXCHANGE_PATH);
        for status in [404, 405, 501] {
            let e = map(status).unwrap();
            assert_eq!(
                (e.kind(), e.status()),
                (ErrorKind::NotOffered, Some(status))
            );
            assert!(!e.is_transient());
            assert!(
                e.to_string()
                    .starts_with("Zebrunner does not offer the Okta token exchange (HTTP ")
            );
        }
        for status in [401, 403] {
            let e = map(status).unwrap();
            assert_eq!(
                (e.kind(), e.status()),
                (ErrorKind::Unauthorized, Some(status))
            );
            assert!(e.to_string().ends_with(": why"), "{e}");
        }
        let quiet = exchange_status(401, "", "POST", TOKEN_EXCHANGE_PATH).unwrap();
        assert_eq!(
            quiet.to_string(),
            format!("Zebrunner refused the Okta sign-in (HTTP 401 on POST {TOKEN_EXCHANGE_PATH})")
        );
        for status in [400, 409, 422, 429, 500, 503] {
            assert!(map(status).is_none(), "{status}");
        }
    }
}
