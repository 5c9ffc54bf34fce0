//! Clients: the operator's (configuration), and open dynamic client registration (RFC 7591)
//! for public clients, whose redirect URIs must be loopback `http` (any port, RFC 8252 §7.3),
//! `https` (limited to `oauth.allowed_redirect_hosts` when set) or a private-use scheme of a
//! native app (RFC 8252 §7.1). Registrations that never obtain a token expire. A client id
//! that is a URL names a client metadata document instead ([`crate::cimd`]).

use std::sync::Arc;

use axum::{
    Json,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;
use zebrunner_pages::cookies::random_token;
use zebrunner_storage::oauth::{ClientKind, ClientRow};

use crate::{AuthorizationServer, Error, now};

/// At most this many redirect URIs per client.
pub(crate) const MAX_REDIRECT_URIS: usize = 10;
const MAX_URI: usize = 2000;
const MAX_NAME: usize = 200;
/// Schemes a redirect must never use, whatever the client says.
const FORBIDDEN_SCHEMES: [&str; 7] = [
    "javascript",
    "data",
    "file",
    "vbscript",
    "about",
    "blob",
    "ftp",
];

/// A client as the authorization endpoint sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    pub client_name: Option<String>,
    pub redirect_uris: Vec<String>,
}

impl Client {
    /// The redirect URI a request names, if registered: exact match, except that the port of
    /// a loopback `http` URI may differ (RFC 8252 §7.3).
    pub fn redirect_uri(&self, requested: Option<&str>) -> Option<String> {
        let Some(requested) = requested else {
            // Only unambiguous when one is registered (RFC 6749 §3.1.2.3).
            return match self.redirect_uris.as_slice() {
                [only] => Some(only.clone()),
                _ => None,
            };
        };
        let matches = |registered: &String| {
            if registered == requested {
                return true;
            }
            match (Url::parse(registered), Url::parse(requested)) {
                (Ok(a), Ok(b)) if a.scheme() == "http" && is_loopback(&a) && is_loopback(&b) => {
                    a.scheme() == b.scheme()
                        && a.host_str() == b.host_str()
                        && a.path() == b.path()
                        && a.query() == b.query()
                        && b.fragment().is_none()
                }
                _ => false,
            }
        };
        self.redirect_uris
            .iter()
            .any(matches)
            .then(|| requested.to_owned())
    }

    /// The name the consent page shows: the registered one, marked as self-declared.
    pub fn display_name(&self) -> String {
        self.client_name
            .clone()
            .unwrap_or_else(|| self.client_id.clone())
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Why `uri` cannot be a redirect URI, given the allowed https hosts (empty: any).
pub fn check_redirect_uri(uri: &str, allowed_hosts: &[String]) -> Result<(), String> {
    if uri.len() > MAX_URI {
        return Err("a redirect URI is too long".into());
    }
    let url = Url::parse(uri).map_err(|_| format!("{uri:?} is not an absolute URI"))?;
    if url.fragment().is_some() {
        return Err(format!("{uri:?} has a fragment (RFC 6749 §3.1.2)"));
    }
    match url.scheme() {
        "http" if is_loopback(&url) => Ok(()),
        "http" => Err(format!(
            "{uri:?} uses plain http on a non-loopback host; use https, or http://127.0.0.1 for a native app"
        )),
        "https" => {
            let host = url.host_str().unwrap_or_default();
            if allowed_hosts.is_empty()
                || allowed_hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
            {
                Ok(())
            } else {
                Err(format!(
                    "redirects to {host} are not allowed here (allowed: {})",
                    allowed_hosts.join(", ")
                ))
            }
        }
        scheme if FORBIDDEN_SCHEMES.contains(&scheme) => {
            Err(format!("the {scheme}: scheme cannot be a redirect URI"))
        }
        // A native app's private-use scheme (RFC 8252 §7.1), e.g. cursor://.
        _ => Ok(()),
    }
}

/// A client's self-declared name as we keep it: control characters dropped, at most 200
/// characters, `None` when nothing is left.
pub(crate) fn clean_name(name: &str) -> Option<String> {
    let name: String = name
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME)
        .collect();
    (!name.trim().is_empty()).then_some(name)
}

/// The RFC 7591 request fields we read; others are ignored (§2: unknown metadata is ignored).
#[derive(Debug, Deserialize)]
pub struct RegistrationRequest {
    #[serde(default)]
    redirect_uris: Vec<String>,
    token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    grant_types: Vec<String>,
    #[serde(default)]
    response_types: Vec<String>,
    client_name: Option<String>,
    scope: Option<String>,
}

fn registration_error(error: &str, description: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// `POST /register`.
pub async fn register(
    State(server): State<Arc<AuthorizationServer>>,
    body: axum::body::Bytes,
) -> Response {
    if !server.config.dynamic_registration {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"error": "access_denied", "error_description": "dynamic client registration is off on this server; ask its administrator to register your client"})),
        )
            .into_response();
    }
    let request: RegistrationRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(_) => {
            return registration_error(
                "invalid_client_metadata",
                "the body must be a JSON object of client metadata (RFC 7591 §2)".into(),
            );
        }
    };
    match server.register_client(request).await {
        Ok(document) => (
            StatusCode::CREATED,
            [(header::CACHE_CONTROL, "no-store")],
            Json(document),
        )
            .into_response(),
        Err(Error::Invalid { error, description }) => registration_error(error, description),
        Err(other) => other.into_response(),
    }
}

impl AuthorizationServer {
    async fn register_client(&self, request: RegistrationRequest) -> Result<Value, Error> {
        let invalid =
            |error: &'static str, description: String| Error::Invalid { error, description };
        if request.redirect_uris.is_empty() || request.redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(invalid(
                "invalid_redirect_uri",
                format!("give 1 to {MAX_REDIRECT_URIS} redirect_uris"),
            ));
        }
        for uri in &request.redirect_uris {
            check_redirect_uri(uri, &self.config.allowed_redirect_hosts)
                .map_err(|why| invalid("invalid_redirect_uri", why))?;
        }
        match request.token_endpoint_auth_method.as_deref() {
            None | Some("none") => {}
            Some(other) => {
                return Err(invalid(
                    "invalid_client_metadata",
                    format!(
                        "token_endpoint_auth_method {other:?}: open registration is for public clients (\"none\") only"
                    ),
                ));
            }
        }
        if let Some(grant) = request
            .grant_types
            .iter()
            .find(|g| !matches!(g.as_str(), "authorization_code" | "refresh_token"))
        {
            return Err(invalid(
                "invalid_client_metadata",
                format!(
                    "grant type {grant:?} is not offered to registered clients (authorization_code, refresh_token)"
                ),
            ));
        }
        if request.response_types.iter().any(|r| r != "code") {
            return Err(invalid(
                "invalid_client_metadata",
                "the only response type is \"code\"".into(),
            ));
        }
        let client_name = request.client_name.as_deref().and_then(clean_name);
        let now = now();
        // Registrations nobody used go away; this is as good a moment as any.
        if let Err(error) = self.store.delete_expired_clients(now).await {
            tracing::warn!(%error, "could not delete expired client registrations");
        }
        let client = Client {
            client_id: format!("dcr_{}", random_token()),
            client_name,
            redirect_uris: request.redirect_uris,
        };
        let grant_types = if request.grant_types.is_empty() {
            vec!["authorization_code".to_owned(), "refresh_token".to_owned()]
        } else {
            request.grant_types
        };
        let metadata = serde_json::to_string(&client).map_err(|e| Error::Keys(e.to_string()))?;
        self.store
            .put_client(&ClientRow {
                client_id: client.client_id.clone(),
                kind: ClientKind::Dcr,
                metadata,
                created_at: now,
                last_used_at: None,
                expires_at: Some(now + self.registration_idle_secs()),
            })
            .await?;
        tracing::info!(client_id = %client.client_id, name = ?client.client_name, "client registered");
        let mut document = json!({
            "client_id": client.client_id,
            "client_id_issued_at": now,
            "redirect_uris": client.redirect_uris,
            "token_endpoint_auth_method": "none",
            "grant_types": grant_types,
            "response_types": ["code"],
        });
        if let Some(name) = &client.client_name {
            document["client_name"] = json!(name);
        }
        if let Some(scope) = request.scope {
            document["scope"] = json!(scope);
        }
        Ok(document)
    }

    fn registration_idle_secs(&self) -> i64 {
        i64::try_from(self.config.registration_idle_days.saturating_mul(86_400))
            .unwrap_or(i64::MAX / 2)
    }

    /// The client `client_id`: the operator's, a live registration, or the client a metadata
    /// document describes (an error says what is wrong with a document that cannot be used).
    pub(crate) async fn client(&self, client_id: &str) -> Result<Option<Client>, Error> {
        if let Some(fixed) = self
            .config
            .clients
            .iter()
            .find(|c| c.client_id == client_id)
        {
            return Ok(Some(Client {
                client_id: fixed.client_id.clone(),
                client_name: Some(fixed.client_name.clone()),
                redirect_uris: fixed.redirect_uris.clone(),
            }));
        }
        if crate::cimd::is_document_url(client_id) {
            return self.document_client(client_id).await.map(Some);
        }
        if client_id.len() > 200 {
            return Ok(None);
        }
        let Some(row) = self.store.client(client_id).await? else {
            return Ok(None);
        };
        if row.expires_at.is_some_and(|t| t < now()) {
            return Ok(None);
        }
        Ok(serde_json::from_str(&row.metadata).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_follow_the_policy() {
        let none: [String; 0] = [];
        assert!(check_redirect_uri("http://127.0.0.1:5000/callback", &none).is_ok());
        assert!(check_redirect_uri("http://localhost/cb", &none).is_ok());
        assert!(check_redirect_uri("http://[::1]:9/cb", &none).is_ok());
        assert!(check_redirect_uri("https://mcp.docker.com/oauth/callback", &none).is_ok());
        assert!(check_redirect_uri("cursor://anysphere.cursor/oauth", &none).is_ok());
        assert!(check_redirect_uri("http://evil.example/cb", &none).is_err());
        assert!(check_redirect_uri("javascript:alert(1)", &none).is_err());
        assert!(check_redirect_uri("https://app.example/cb#x", &none).is_err());
        assert!(check_redirect_uri("/relative", &none).is_err());
        let docker = ["mcp.docker.com".to_string()];
        assert!(check_redirect_uri("https://mcp.docker.com/oauth/callback", &docker).is_ok());
        assert!(check_redirect_uri("https://claude.ai/cb", &docker).is_err());
        assert!(check_redirect_uri("http://127.0.0.1:5000/callback", &docker).is_ok());
    }

    #[test]
    fn redirect_uris_match_exactly_but_loopback_ports_may_differ() {
        let client = Client {
            client_id: "c".into(),
            client_name: None,
            redirect_uris: vec![
                "http://127.0.0.1:5000/callback".into(),
                "https://app.example/cb".into(),
            ],
        };
        assert!(
            client
                .redirect_uri(Some("https://app.example/cb"))
                .is_some()
        );
        assert!(
            client
                .redirect_uri(Some("https://app.example/cb/"))
                .is_none()
        );
        assert!(
            client
                .redirect_uri(Some("https://app.example/cb?x=1"))
                .is_none()
        );
        assert!(
            client
                .redirect_uri(Some("http://127.0.0.1:61234/callback"))
                .is_some()
        );
        assert!(
            client
                .redirect_uri(Some("http://127.0.0.1:61234/other"))
                .is_none()
        );
        assert!(
            client
                .redirect_uri(Some("http://localhost:5000/callback"))
                .is_none()
        );
        assert!(
            client.redirect_uri(None).is_none(),
            "ambiguous without redirect_uri"
        );
    }
}
