//! Issuer discovery: [`IssuerMetadata`] from OpenID Connect Discovery
//! (`{issuer}/.well-known/openid-configuration`) or RFC 8414
//! (`{origin}/.well-known/oauth-authorization-server{path}`, then Okta's
//! legacy `{issuer}/.well-known/oauth-authorization-server`), tried in that
//! order. The document's `issuer` must equal the configured issuer exactly
//! (OIDC Discovery §4.3, RFC 8414 §3.3), and its `jwks_uri` must be https
//! (http only on loopback).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::SetupError;

/// Largest metadata or JWKS document we read.
pub(crate) const MAX_DOCUMENT_BYTES: usize = 512 * 1024;

/// The parts of the issuer's metadata we use or pass on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerMetadata {
    pub issuer: String,
    pub jwks_uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grant_types_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code_challenge_methods_supported: Vec<String>,
    /// Where the document was read (not part of the issuer's document).
    #[serde(skip)]
    pub source_url: String,
}

impl IssuerMetadata {
    /// The metadata of an issuer known without discovery: this server's own authorization
    /// server (identity `broker`), whose keys come from a local key source.
    pub fn local(issuer: &str) -> Self {
        let issuer = issuer.trim_end_matches('/');
        IssuerMetadata {
            issuer: issuer.to_owned(),
            jwks_uri: format!("{issuer}/oauth/jwks.json"),
            authorization_endpoint: Some(format!("{issuer}/authorize")),
            token_endpoint: Some(format!("{issuer}/token")),
            registration_endpoint: Some(format!("{issuer}/register")),
            introspection_endpoint: None,
            scopes_supported: Vec::new(),
            grant_types_supported: vec!["authorization_code".into(), "refresh_token".into()],
            code_challenge_methods_supported: vec!["S256".into()],
            source_url: "local".into(),
        }
    }
}

/// The discovery URLs for `issuer`, in the order they are tried.
pub fn discovery_urls(issuer: &str) -> Vec<String> {
    let trimmed = issuer.trim_end_matches('/');
    let mut urls = vec![format!("{trimmed}/.well-known/openid-configuration")];
    if let Ok(url) = Url::parse(issuer) {
        let origin = url.origin().ascii_serialization();
        let path = url.path().trim_end_matches('/');
        urls.push(format!(
            "{origin}/.well-known/oauth-authorization-server{path}"
        ));
        let legacy = format!("{trimmed}/.well-known/oauth-authorization-server");
        if !urls.contains(&legacy) {
            urls.push(legacy);
        }
    }
    urls
}

/// The HTTP client used for metadata and keys: short timeouts, few redirects.
pub(crate) fn http_client() -> reqwest::Client {
    crate::tls::install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::limited(3))
        .user_agent(concat!("zebrunner-mcp/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// The outcome of one GET: the body and the `Cache-Control` header.
pub(crate) struct Fetched {
    pub body: Vec<u8>,
    pub cache_control: Option<String>,
}

/// Why one GET failed.
pub(crate) enum FetchError {
    /// 404 or 405: try the next URL.
    NotFound(u16),
    /// Anything else (network, status, size).
    Other(String),
}

impl FetchError {
    pub(crate) fn reason(&self) -> String {
        match self {
            FetchError::NotFound(status) => format!("HTTP {status}"),
            FetchError::Other(reason) => reason.clone(),
        }
    }
}

/// GET `url`, expecting 200, reading at most [`MAX_DOCUMENT_BYTES`].
pub(crate) async fn fetch(client: &reqwest::Client, url: &str) -> Result<Fetched, FetchError> {
    let mut resp = client
        .get(url)
        .header(http::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| FetchError::Other(describe_reqwest(&e)))?;
    let status = resp.status();
    if status == http::StatusCode::NOT_FOUND || status == http::StatusCode::METHOD_NOT_ALLOWED {
        return Err(FetchError::NotFound(status.as_u16()));
    }
    if !status.is_success() {
        return Err(FetchError::Other(format!("HTTP {}", status.as_u16())));
    }
    let cache_control = resp
        .headers()
        .get_all(http::header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(", ");
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| FetchError::Other(describe_reqwest(&e)))?
    {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(FetchError::Other(format!(
                "document larger than {MAX_DOCUMENT_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched {
        body,
        cache_control: (!cache_control.is_empty()).then_some(cache_control),
    })
}

fn describe_reqwest(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        // reqwest errors name the URL, never a token (we send none).
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    }
}

/// Reads the issuer's metadata, trying [`discovery_urls`] in order.
pub(crate) async fn discover_metadata(
    client: &reqwest::Client,
    issuer: &str,
) -> Result<IssuerMetadata, SetupError> {
    let urls = discovery_urls(issuer);
    let mut reasons = Vec::new();
    for url in &urls {
        match fetch(client, url).await {
            Ok(fetched) => return parse_metadata(url, issuer, &fetched.body),
            Err(FetchError::NotFound(status)) => reasons.push(format!("{url}: HTTP {status}")),
            Err(e) => {
                tracing::debug!(url = %url, reason = %e.reason(), "issuer metadata fetch failed");
                reasons.push(format!("{url}: {}", e.reason()));
            }
        }
    }
    Err(SetupError::Discovery {
        tried: urls,
        reason: reasons.join("; "),
    })
}

fn parse_metadata(url: &str, issuer: &str, body: &[u8]) -> Result<IssuerMetadata, SetupError> {
    let bad = |reason: String| SetupError::BadMetadata {
        url: url.to_owned(),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("not JSON: {e}")))?;
    let found = value
        .get("issuer")
        .and_then(|v| v.as_str())
        .ok_or_else(|| bad("no `issuer` string".to_owned()))?;
    if found != issuer {
        return Err(SetupError::IssuerMismatch {
            url: url.to_owned(),
            expected: issuer.to_owned(),
            found: found.to_owned(),
        });
    }
    let mut metadata: IssuerMetadata =
        serde_json::from_value(value).map_err(|e| bad(format!("unexpected field types: {e}")))?;
    let jwks = Url::parse(&metadata.jwks_uri)
        .map_err(|_| bad(format!("`jwks_uri` `{}` is not a URL", metadata.jwks_uri)))?;
    if crate::config::check_secure_url(&jwks).is_err() {
        return Err(bad(format!(
            "`jwks_uri` `{}` must be https (http only on loopback)",
            metadata.jwks_uri
        )));
    }
    metadata.source_url = url.to_owned();
    Ok(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_urls_for_okta_custom_server() {
        assert_eq!(
            discovery_urls("https://acme.okta.com/oauth2/default"),
            vec![
                "https://acme.okta.com/oauth2/default/.well-known/openid-configuration",
                "https://acme.okta.com/.well-known/oauth-authorization-server/oauth2/default",
                "https://acme.okta.com/oauth2/default/.well-known/oauth-authorization-server",
            ]
        );
    }

    #[test]
    fn discovery_urls_for_root_issuer_do_not_repeat() {
        assert_eq!(
            discovery_urls("https://acme.okta.com/"),
            vec![
                "https://acme.okta.com/.well-known/openid-configuration",
                "https://acme.okta.com/.well-known/oauth-authorization-server",
            ]
        );
    }

    #[test]
    fn metadata_issuer_must_match_exactly() {
        let body = br#"{"issuer":"https://a.okta.com/oauth2/default/","jwks_uri":"https://a.okta.com/oauth2/default/v1/keys"}"#;
        let err = parse_metadata("u", "https://a.okta.com/oauth2/default", body).unwrap_err();
        assert!(matches!(err, SetupError::IssuerMismatch { .. }), "{err}");
        assert!(err.to_string().contains("trailing"), "{err}");
        let ok = parse_metadata("u", "https://a.okta.com/oauth2/default/", body).unwrap();
        assert_eq!(ok.jwks_uri, "https://a.okta.com/oauth2/default/v1/keys");
        assert_eq!(ok.source_url, "u");
    }

    #[test]
    fn metadata_needs_secure_jwks_uri() {
        let body = br#"{"issuer":"https://a.okta.com","jwks_uri":"http://a.okta.com/keys"}"#;
        assert!(matches!(
            parse_metadata("u", "https://a.okta.com", body),
            Err(SetupError::BadMetadata { .. })
        ));
        let body = br#"{"issuer":"https://a.okta.com"}"#;
        assert!(matches!(
            parse_metadata("u", "https://a.okta.com", body),
            Err(SetupError::BadMetadata { .. })
        ));
        assert!(matches!(
            parse_metadata("u", "https://a.okta.com", b"<html>"),
            Err(SetupError::BadMetadata { .. })
        ));
    }
}
