//! Who is asking at `/token`: a public client (its `client_id` in the body, no secret), or
//! one of the operator's confidential clients, authenticated by its secret (RFC 6749 §2.3.1:
//! HTTP Basic with the form-encoded id and secret, or both in the body; one method only).
//!
//! Secrets are compared by their SHA-256, the only form the configuration holds. Comparing
//! digests byte by byte leaks at most how long a prefix of the *digest* of a guess matched,
//! which gives no way towards a secret whose digest it is (a preimage would be needed).

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zebrunner_storage::oauth::MAX_CLIENT_ID_CHARS;

use crate::config::ConfidentialClient;
use crate::{AuthorizationServer, hash, oauth_error};

/// Longest secret read (ours are 43 characters).
const MAX_SECRET_CHARS: usize = 512;

/// The client behind a token request.
pub(crate) enum Presented<'a> {
    Public(&'a str),
    Confidential(&'a ConfidentialClient),
}

/// Why a token request's client is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// `400 invalid_request`: the request's authentication is malformed.
    Request(&'static str),
    /// `401 invalid_client`: unknown client, wrong secret, or a confidential client that did
    /// not authenticate.
    Client(&'static str),
}

impl Refused {
    /// The answer. A 401 carries the challenge RFC 6749 §5.2 asks for when the client tried
    /// HTTP Basic (we send it whenever authentication failed, naming the scheme we accept).
    pub(crate) fn response(self) -> Response {
        match self {
            Refused::Request(description) => {
                oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
            }
            Refused::Client(description) => {
                let mut refused =
                    oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description);
                refused.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"zebrunner-mcp\""),
                );
                refused
            }
        }
    }
}

/// The id and secret of an `Authorization: Basic` header, each form-decoded.
fn basic(value: &HeaderValue) -> Option<(String, String)> {
    let text = value.to_str().ok()?;
    let (scheme, encoded) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") || encoded.len() > 4 * MAX_CLIENT_ID_CHARS {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

/// A fresh secret for a confidential client (256 random bits, base64url) and its SHA-256
/// (hex), the form `secret_sha256` holds.
pub fn new_secret() -> (String, String) {
    let secret = zebrunner_pages::cookies::random_token();
    let digest = hash(&secret);
    (secret, digest)
}

impl AuthorizationServer {
    /// The confidential client `id`, if `secret` is its secret.
    fn confidential(&self, id: &str, secret: &str) -> Option<&ConfidentialClient> {
        if secret.is_empty() || secret.len() > MAX_SECRET_CHARS {
            return None;
        }
        let presented = hash(secret);
        self.config
            .confidential_clients
            .iter()
            .find(|c| c.client_id == id)
            .filter(|c| c.secret_sha256.eq_ignore_ascii_case(&presented))
    }

    /// Authenticate the client of a token request (`client_id` and `client_secret` are the
    /// body's). The refusal is the response to send.
    pub(crate) fn authenticate<'a>(
        &'a self,
        headers: &HeaderMap,
        client_id: Option<&'a str>,
        client_secret: Option<&str>,
    ) -> Result<Presented<'a>, Refused> {
        let authorization = headers.get(header::AUTHORIZATION);
        if authorization.is_some() && client_secret.is_some() {
            return Err(Refused::Request(
                "use one client authentication method: HTTP Basic or client_secret in the body, not both",
            ));
        }
        if let Some(value) = authorization {
            let Some((id, secret)) = basic(value) else {
                return Err(Refused::Client(
                    "the Authorization header is not HTTP Basic with a client id and secret",
                ));
            };
            if client_id.is_some_and(|body| body != id) {
                return Err(Refused::Request(
                    "client_id in the body differs from the authenticated client",
                ));
            }
            return self
                .confidential(&id, &secret)
                .map(Presented::Confidential)
                .ok_or(Refused::Client("unknown client or wrong secret"));
        }
        let Some(id) = client_id.filter(|c| !c.is_empty() && c.len() <= MAX_CLIENT_ID_CHARS) else {
            return Err(Refused::Request("client_id is required"));
        };
        if let Some(secret) = client_secret {
            return self
                .confidential(id, secret)
                .map(Presented::Confidential)
                .ok_or(Refused::Client("unknown client or wrong secret"));
        }
        if self
            .config
            .confidential_clients
            .iter()
            .any(|c| c.client_id == id)
        {
            return Err(Refused::Client(
                "this client is confidential: authenticate with its secret (HTTP Basic)",
            ));
        }
        Ok(Presented::Public(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header =
            |raw: &str| HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(raw))).unwrap();
        assert_eq!(
            basic(&header("ci%3Abot:s%2Bcret")),
            Some(("ci:bot".into(), "s+cret".into()))
        );
        assert_eq!(basic(&header("ci:")), Some(("ci".into(), String::new())));
        assert_eq!(basic(&header("no-colon")), None);
        assert_eq!(basic(&HeaderValue::from_static("Bearer abc")), None);
        assert_eq!(basic(&HeaderValue::from_static("Basic !!!")), None);
    }
}
