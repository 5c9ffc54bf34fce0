//! Signing a person in with the issuer: OpenID Connect authorization code flow with PKCE
//! (S256) and a nonce, as a confidential client (RFC 6749 §4.1, RFC 7636, OIDC Core §3.1).
//!
//! [`SignInClient::authorization_url`] builds the redirect to the issuer;
//! [`SignInClient::finish`] redeems the code at the token endpoint with the client secret
//! (HTTP Basic, RFC 6749 §2.3.1), checks the ID token (signature, issuer, audience, nonce)
//! and validates the access token that came with it exactly like an MCP call's, so the
//! person gets the same [`Identity`] (user key, groups, scopes) here as on `/mcp`.
//!
//! Callers keep `state`, `nonce` and the PKCE verifier between the two steps; nothing here
//! logs, stores or returns the code, the verifier or the tokens.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::claims::IdTokenClaims;
use crate::discovery::http_client;
use crate::error::TokenError;
use crate::identity::Identity;
use crate::validate::OidcValidator;

/// Largest token response read (Okta's are a few KiB).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The scopes a sign-in asks for: who the person is, and the read scope of our resource,
/// so that the access token is the same kind the MCP endpoint accepts.
pub const SIGN_IN_SCOPES: &str = "openid email profile";

/// A confidential OIDC client of the issuer the validator trusts.
pub struct SignInClient {
    validator: OidcValidator,
    authorization_endpoint: Url,
    token_endpoint: Url,
    client_id: String,
    client_secret: SecretString,
    redirect_uri: String,
    scope: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for SignInClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInClient")
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// Why a sign-in could not be set up or finished. Messages name no token, code or secret.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("the issuer's metadata has no {0}")]
    NoEndpoint(&'static str),
    #[error("the issuer's {0} is not a valid URL")]
    BadEndpoint(&'static str),
    #[error("the issuer could not be reached: {0}")]
    Unreachable(String),
    #[error("the issuer refused the sign-in ({error}{})", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Refused {
        error: String,
        description: Option<String>,
    },
    #[error("the issuer's token response was not understood: {0}")]
    BadResponse(&'static str),
    #[error("the ID token was refused: {0}")]
    IdToken(TokenError),
    #[error("the access token was refused: {0}")]
    AccessToken(TokenError),
}

/// A finished sign-in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// From the access token, as `/mcp` would see it.
    pub identity: Identity,
    /// From the ID token.
    pub person: IdTokenClaims,
    /// The ID token itself, for Zebrunner's token exchange where it is offered (never
    /// logged or stored).
    pub id_token: SecretString,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    id_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl SignInClient {
    /// A client for the validator's issuer. `redirect_uri` is where the issuer sends the
    /// browser back; it must be registered with the issuer for `client_id`.
    pub fn new(
        validator: OidcValidator,
        client_id: impl Into<String>,
        client_secret: SecretString,
        redirect_uri: impl Into<String>,
    ) -> Result<Self, SignInError> {
        let metadata = validator.metadata();
        let endpoint = |value: &Option<String>, name: &'static str| {
            let value = value.as_deref().ok_or(SignInError::NoEndpoint(name))?;
            Url::parse(value).map_err(|_| SignInError::BadEndpoint(name))
        };
        let authorization_endpoint =
            endpoint(&metadata.authorization_endpoint, "authorization_endpoint")?;
        let token_endpoint = endpoint(&metadata.token_endpoint, "token_endpoint")?;
        Ok(Self {
            authorization_endpoint,
            token_endpoint,
            validator,
            client_id: client_id.into(),
            client_secret,
            redirect_uri: redirect_uri.into(),
            scope: SIGN_IN_SCOPES.to_owned(),
            http: http_client(),
        })
    }

    /// Ask for more scopes than [`SIGN_IN_SCOPES`] (space-separated), e.g. the resource's
    /// read scope, which an Okta custom authorization server needs to mint an access token.
    pub fn with_extra_scopes(mut self, scopes: &str) -> Self {
        for scope in scopes.split_whitespace() {
            if !self.scope.split(' ').any(|s| s == scope) {
                self.scope.push(' ');
                self.scope.push_str(scope);
            }
        }
        self
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The issuer people sign in at.
    pub fn issuer(&self) -> &str {
        &self.validator.metadata().issuer
    }

    /// The validator of the issuer's tokens (the one identity `oidc` uses).
    pub fn validator(&self) -> &OidcValidator {
        &self.validator
    }

    /// Where to send the browser: the issuer's authorization endpoint with our client,
    /// redirect URI, scopes, `state`, `nonce` and the S256 PKCE challenge.
    pub fn authorization_url(&self, state: &str, nonce: &str, code_challenge: &str) -> Url {
        let mut url = self.authorization_endpoint.clone();
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", &self.scope)
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", code_challenge)
            .append_pair("code_challenge_method", "S256");
        url
    }

    /// Redeem `code` with the PKCE `verifier`; check the ID token against `nonce` and the
    /// access token like any other.
    pub async fn finish(
        &self,
        code: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<SignedIn, SignInError> {
        // Built before the request: the serializer is not `Send`, so it must not live across
        // the await below.
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("code_verifier", verifier)
            .finish();
        let response = self
            .http
            .post(self.token_endpoint.clone())
            // RFC 6749 §2.3.1: the id and secret are form-encoded before Basic encoding.
            .basic_auth(
                form_encode(&self.client_id),
                Some(form_encode(self.client_secret.expose_secret())),
            )
            .header(http::header::ACCEPT, "application/json")
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(|e| SignInError::Unreachable(without_url(&e)))?;
        let status = response.status();
        let body = read_limited(response).await?;
        let parsed: TokenResponse = serde_json::from_slice(&body)
            .map_err(|_| SignInError::BadResponse("the body is not the expected JSON"))?;
        if !status.is_success() || parsed.error.is_some() {
            return Err(SignInError::Refused {
                error: printable(parsed.error.as_deref().unwrap_or("no error code")),
                description: parsed.error_description.as_deref().map(printable),
            });
        }
        let id_token = parsed
            .id_token
            .ok_or(SignInError::BadResponse("it has no id_token"))?;
        let access_token = parsed
            .access_token
            .ok_or(SignInError::BadResponse("it has no access_token"))?;
        let person = self
            .validator
            .validate_id_token(&id_token, &self.client_id, nonce)
            .await
            .map_err(SignInError::IdToken)?;
        let identity = self
            .validator
            .validate(&access_token)
            .await
            .map_err(SignInError::AccessToken)?;
        Ok(SignedIn {
            identity,
            person,
            id_token: SecretString::from(id_token),
        })
    }
}

fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, SignInError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| SignInError::Unreachable(without_url(&e)))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(SignInError::BadResponse("the body is too large"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// reqwest's messages name the URL; the token endpoint's is harmless, but keep the kind only.
fn without_url(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "connection failed".into()
    } else {
        "the request failed".into()
    }
}

/// The issuer's error words, kept short and free of control characters.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_secrets_are_form_encoded_before_basic() {
        assert_eq!(form_encode("a b+c:d"), "a+b%2Bc%3Ad");
    }

    #[test]
    fn issuer_words_are_bounded() {
        assert_eq!(printable("bad\r\nthing"), "badthing");
        assert_eq!(printable(&"x".repeat(500)).len(), 200);
    }
}
