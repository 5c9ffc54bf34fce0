//! Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document, as MCP
//! 2025-11-25 uses them): a client whose `client_id` is an `https` URL with a path publishes
//! its metadata at that URL, and we fetch it instead of looking up a registration.
//!
//! - The URL ([`document_url`]): `https`, a path beyond `/`, no `.`/`..` segments, no fragment,
//!   no user name or password, written in normal form (what we fetch is what the id says).
//! - The fetch (submodule `fetch`): 5 s, at most [`MAX_DOCUMENT_BYTES`], no redirects, and only
//!   from public addresses, vetted by the resolver the connection uses (SSRF defence).
//! - The document ([`validate_document`]): a JSON object whose `client_id` is the URL exactly,
//!   with 1 to 10 redirect URIs our policy allows (as for registered clients), for a public
//!   client (`token_endpoint_auth_method` absent or `none`); other fields are ignored.
//! - Caching ([`cache_secs`]): in the database, as a `cimd` client row, so replicas share it,
//!   for the response's `Cache-Control: max-age` held to 60 s..24 h, 5 minutes without one,
//!   not at all with `no-store` or `no-cache`. An expired document is fetched again, and a
//!   failed fetch is an error (never the stale copy). Errors and invalid documents are never
//!   cached.
//!
//! `oauth.cimd_allow_loopback_http` (tests only) admits `http://127.0.0.1:<port>/...` documents
//! and loopback addresses; every other refused range stays refused.

mod fetch;

use std::net::IpAddr;

use serde_json::Value;
use url::{Host, Url};
use zebrunner_storage::oauth::{ClientKind, ClientRow};

use crate::{
    AuthorizationServer, Error, now,
    register::{self, Client},
};

pub(crate) use fetch::Fetcher;
pub use fetch::{refused_address, vet_addresses};

/// Largest document we read.
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024;
/// Longest client id URL we accept.
pub const MAX_URL_CHARS: usize = 2000;
const MIN_CACHE_SECS: i64 = 60;
const MAX_CACHE_SECS: i64 = 86_400;
const DEFAULT_CACHE_SECS: i64 = 300;

/// Whether `client_id` names a metadata document (an `http(s)` URL) rather than a
/// registration. Plain `http` ids are routed here too, to be refused with a reason.
pub fn is_document_url(client_id: &str) -> bool {
    client_id.split_once("://").is_some_and(|(scheme, _)| {
        scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http")
    })
}

/// `text` without control characters, at most `max` characters (an ellipsis marks a cut): safe
/// to show a person or write to a log.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(max)
        .collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

/// The URL `client_id` names, if it may be a client identifier, or why not.
pub fn document_url(client_id: &str, allow_loopback_http: bool) -> Result<Url, String> {
    if client_id.chars().count() > MAX_URL_CHARS {
        return Err(format!(
            "a client_id URL may have at most {MAX_URL_CHARS} characters"
        ));
    }
    let url = Url::parse(client_id).map_err(|_| "the client_id is not a valid URL".to_owned())?;
    match url.scheme() {
        "https" => {}
        "http" if allow_loopback_http && is_loopback_literal(&url) => {}
        _ => return Err("a client_id URL must use https".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a client_id URL must not contain a user name or password".into());
    }
    if url.fragment().is_some() {
        return Err("a client_id URL must not contain a fragment".into());
    }
    if has_dot_segment(client_id) {
        return Err("a client_id URL must not contain . or .. path segments".into());
    }
    if url.path() == "/" || url.path().is_empty() {
        return Err(
            "a client_id URL must have a path, like https://app.example/oauth/client.json".into(),
        );
    }
    if url.as_str() != client_id {
        return Err(format!(
            "the client_id URL is not in normal form (written normally: {})",
            excerpt(url.as_str(), 200)
        ));
    }
    let literal = match url.host() {
        Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(Host::Domain(_)) => None,
        None => return Err("a client_id URL must name a host".into()),
    };
    if let Some(ip) = literal
        && let Some(why) = refused_address(ip, allow_loopback_http)
    {
        return Err(format!(
            "its host is {why}; documents are fetched only from public addresses"
        ));
    }
    Ok(url)
}

fn is_loopback_literal(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

/// Whether the path of `raw` (as written, before normalisation) has a `.` or `..` segment,
/// also percent-encoded.
fn has_dot_segment(raw: &str) -> bool {
    let Some((_, rest)) = raw.split_once("://") else {
        return false;
    };
    let Some(start) = rest.find('/') else {
        return false;
    };
    let path = &rest[start..];
    let path = path.split(['?', '#']).next().unwrap_or_default();
    path.split('/').any(|segment| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == "." || decoded == ".."
    })
}

/// The client a document describes, if it is a valid document for `client_id` under our
/// redirect-URI policy (`allowed_hosts`), or what is wrong with it, in words for a person.
pub fn validate_document(
    client_id: &str,
    body: &[u8],
    allowed_hosts: &[String],
) -> Result<Client, String> {
    let value: Value = serde_json::from_slice(body).map_err(|_| "it is not JSON".to_owned())?;
    let Value::Object(document) = value else {
        return Err("it is not a JSON object".into());
    };
    match document.get("client_id") {
        Some(Value::String(id)) if id == client_id => {}
        Some(Value::String(id)) => {
            return Err(format!(
                "its client_id {:?} is not its own URL (they must be identical)",
                excerpt(id, 100)
            ));
        }
        Some(_) => return Err("its client_id is not a string".into()),
        None => return Err("it has no client_id".into()),
    }
    match document.get("token_endpoint_auth_method") {
        None => {}
        Some(Value::String(method)) if method == "none" => {}
        Some(Value::String(method)) => {
            return Err(format!(
                "it asks for token_endpoint_auth_method {:?}; this server takes only public \
                 clients (\"none\") so far",
                excerpt(method, 40)
            ));
        }
        Some(_) => return Err("its token_endpoint_auth_method is not a string".into()),
    }
    if document.contains_key("client_secret") {
        return Err("it contains a client_secret, which a public document must never hold".into());
    }
    let uris = match document.get("redirect_uris") {
        Some(Value::Array(uris)) if !uris.is_empty() => uris,
        Some(Value::Array(_)) | None => return Err("it lists no redirect_uris".into()),
        Some(_) => return Err("its redirect_uris is not a list".into()),
    };
    if uris.len() > register::MAX_REDIRECT_URIS {
        return Err(format!(
            "it lists more than {} redirect_uris",
            register::MAX_REDIRECT_URIS
        ));
    }
    let mut redirect_uris = Vec::with_capacity(uris.len());
    for uri in uris {
        let Value::String(uri) = uri else {
            return Err("one of its redirect_uris is not a string".into());
        };
        register::check_redirect_uri(uri, allowed_hosts)
            .map_err(|why| format!("redirect URI: {}", excerpt(&why, 300)))?;
        redirect_uris.push(uri.clone());
    }
    let client_name = match document.get("client_name") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => register::clean_name(name),
        Some(_) => return Err("its client_name is not a string".into()),
    };
    Ok(Client {
        client_id: client_id.to_owned(),
        client_name,
        redirect_uris,
    })
}

/// How long a document may be kept, from its `Cache-Control`: `None` for `no-store` or
/// `no-cache`; `max-age` held to 60 s..24 h; 5 minutes without one.
pub fn cache_secs(cache_control: Option<&str>) -> Option<i64> {
    let mut max_age = None;
    for directive in cache_control.unwrap_or_default().split(',') {
        let (name, value) = match directive.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (directive.trim(), None),
        };
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return None;
        }
        if name.eq_ignore_ascii_case("max-age")
            && let Some(value) =
                value.filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        {
            // Digits only: too many of them still mean "long".
            max_age = Some(value.parse::<i64>().unwrap_or(MAX_CACHE_SECS));
        }
    }
    Some(max_age.map_or(DEFAULT_CACHE_SECS, |secs| {
        secs.clamp(MIN_CACHE_SECS, MAX_CACHE_SECS)
    }))
}

/// The host that publishes the document of `client_id`, for the consent page.
pub fn document_host(client_id: &str) -> Option<String> {
    if !is_document_url(client_id) {
        return None;
    }
    Url::parse(client_id)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
}

/// The client a stored row gives while it is a cached metadata document that has not expired.
fn fresh(row: Option<ClientRow>, now: i64) -> Option<Client> {
    let row = row?;
    if row.kind != ClientKind::Cimd || row.expires_at.is_none_or(|t| t <= now) {
        return None;
    }
    serde_json::from_str(&row.metadata).ok()
}

fn unusable(client_id: &str, why: &str) -> Error {
    Error::Invalid {
        error: "invalid_client",
        description: format!(
            "the client metadata document {} cannot be used: {why}",
            excerpt(client_id, 200)
        ),
    }
}

impl AuthorizationServer {
    /// The client whose id is the URL of its metadata document: the cached document while it
    /// is fresh, else the document fetched now (and cached as its headers allow). A document
    /// that cannot be fetched or is invalid is an [`Error::Invalid`] (`invalid_client`) naming
    /// what is wrong.
    pub(crate) async fn document_client(&self, client_id: &str) -> Result<Client, Error> {
        let url = document_url(client_id, self.config.cimd_allow_loopback_http)
            .map_err(|why| unusable(client_id, &why))?;
        let now = now();
        if let Some(client) = fresh(self.store.client(client_id).await?, now) {
            return Ok(client);
        }
        let outcome = match self.documents.fetch(&url).await {
            Ok(fetched) => validate_document(
                client_id,
                &fetched.body,
                &self.config.allowed_redirect_hosts,
            )
            .map(|client| (client, cache_secs(fetched.cache_control.as_deref()))),
            Err(why) => Err(why),
        };
        let (client, keep) = outcome.map_err(|why| {
            tracing::info!(client_id = %excerpt(client_id, 200), %why, "client metadata document refused");
            unusable(client_id, &why)
        })?;
        tracing::info!(client_id = %client.client_id, name = ?client.client_name, cache_secs = ?keep, "client metadata document fetched");
        if let Some(keep) = keep {
            let metadata =
                serde_json::to_string(&client).map_err(|e| Error::Keys(e.to_string()))?;
            let row = ClientRow {
                client_id: client.client_id.clone(),
                kind: ClientKind::Cimd,
                metadata,
                created_at: now,
                last_used_at: None,
                expires_at: Some(now + keep),
            };
            if let Err(error) = self.store.put_client(&row).await {
                tracing::warn!(%error, "could not cache a client metadata document");
            }
        }
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_urls_follow_the_draft() {
        let ok = |u: &str| {
            document_url(u, false)
                .map(|_| ())
                .map_err(|e| format!("{u}: {e}"))
        };
        ok("https://app.example/oauth/client.json").unwrap();
        ok("https://app.example:8443/client?v=2").unwrap();
        ok("https://93.184.216.34/client.json").unwrap();
        for (url, why) in [
            ("http://app.example/client.json", "https"),
            ("ftp://app.example/client.json", "https"),
            ("https://app.example", "path"),
            ("https://app.example/", "path"),
            ("https://user:pw@app.example/client.json", "user name"),
            ("https://app.example/client.json#x", "fragment"),
            ("https://app.example/a/../client.json", ". or .."),
            ("https://app.example/./client.json", ". or .."),
            ("https://app.example/a/%2E%2E/client.json", ". or .."),
            ("https://APP.example/client.json", "normal form"),
            ("https://app.example:443/client.json", "normal form"),
            ("https://127.0.0.1/client.json", "loopback"),
            ("https://10.0.0.1/client.json", "private"),
            ("https://169.254.169.254/latest/meta-data", "link-local"),
            ("https://[::1]/client.json", "loopback"),
            ("https://[::ffff:c0a8:1]/client.json", "private"),
            ("https://[::ffff:192.168.0.1]/client.json", "normal form"),
            ("https://[fd00::1]/client.json", "private"),
            ("https://0x7f.1/client.json", "normal form"),
        ] {
            let error = document_url(url, false).unwrap_err();
            assert!(error.contains(why), "{url}: {error}");
        }
        let long = format!("https://app.example/{}", "a".repeat(MAX_URL_CHARS));
        assert!(document_url(&long, false).is_err());
    }

    #[test]
    fn the_test_setting_admits_http_on_loopback_literals_only() {
        document_url("http://127.0.0.1:8080/client.json", true).unwrap();
        document_url("https://127.0.0.1:8443/client.json", true).unwrap();
        assert!(document_url("http://127.0.0.1:8080/client.json", false).is_err());
        assert!(document_url("http://localhost:8080/client.json", true).is_err());
        assert!(document_url("http://app.example/client.json", true).is_err());
        assert!(document_url("http://10.0.0.1/client.json", true).is_err());
        assert!(document_url("https://10.0.0.1/client.json", true).is_err());
    }

    #[test]
    fn document_urls_are_told_from_registrations() {
        assert!(is_document_url("https://app.example/client.json"));
        assert!(is_document_url("HTTP://app.example/client.json"));
        assert!(!is_document_url("dcr_abc"));
        assert!(!is_document_url("cursor"));
        assert_eq!(
            document_host("https://app.example/client.json").as_deref(),
            Some("app.example")
        );
        assert_eq!(document_host("dcr_abc"), None);
    }

    const ID: &str = "https://app.example/oauth/client.json";

    fn validate(document: serde_json::Value) -> Result<Client, String> {
        validate_document(ID, document.to_string().as_bytes(), &[])
    }

    #[test]
    fn a_valid_document_becomes_a_client() {
        let client = validate(serde_json::json!({
            "client_id": ID,
            "client_name": "App\u{7}\nExample",
            "redirect_uris": ["https://app.example/callback", "http://127.0.0.1/cb"],
            "token_endpoint_auth_method": "none",
            "logo_uri": "https://app.example/logo.png",
            "grant_types": ["authorization_code"],
            "something_new": {"nested": true},
        }))
        .unwrap();
        assert_eq!(client.client_id, ID);
        assert_eq!(client.client_name.as_deref(), Some("AppExample"));
        assert_eq!(client.redirect_uris.len(), 2);
        let minimal = validate(serde_json::json!({
            "client_id": ID, "redirect_uris": ["https://app.example/callback"],
        }))
        .unwrap();
        assert_eq!(minimal.client_name, None);
        let long = validate(serde_json::json!({
            "client_id": ID, "client_name": "n".repeat(5000), "redirect_uris": ["https://app.example/cb"],
        }))
        .unwrap();
        assert_eq!(long.client_name.unwrap().chars().count(), 200);
    }

    #[test]
    fn invalid_documents_say_what_is_wrong() {
        let cb = ["https://app.example/callback"];
        for (document, why) in [
            (
                serde_json::json!(["not", "an", "object"]),
                "not a JSON object",
            ),
            (serde_json::json!({"redirect_uris": cb}), "no client_id"),
            (
                serde_json::json!({"client_id": "https://evil.example/client.json", "redirect_uris": cb}),
                "not its own URL",
            ),
            (
                serde_json::json!({"client_id": format!("{ID}/"), "redirect_uris": cb}),
                "not its own URL",
            ),
            (
                serde_json::json!({"client_id": 7, "redirect_uris": cb}),
                "not a string",
            ),
            (serde_json::json!({"client_id": ID}), "no redirect_uris"),
            (
                serde_json::json!({"client_id": ID, "redirect_uris": []}),
                "no redirect_uris",
            ),
            (
                serde_json::json!({"client_id": ID, "redirect_uris": "https://app.example/cb"}),
                "not a list",
            ),
            (
                serde_json::json!({"client_id": ID, "redirect_uris": [42]}),
                "not a string",
            ),
            (
                serde_json::json!({"client_id": ID, "redirect_uris": ["http://app.example/cb"]}),
                "plain http",
            ),
            (
                serde_json::json!({"client_id": ID, "redirect_uris": ["javascript:alert(1)"]}),
                "javascript",
            ),
            (
                serde_json::json!({"client_id": ID, "redirect_uris": cb, "token_endpoint_auth_method": "private_key_jwt"}),
                "public",
            ),
            (
                serde_json::json!({"client_id": ID, "redirect_uris": cb, "token_endpoint_auth_method": "client_secret_basic"}),
                "public",
            ),
            (
                serde_json::json!({"client_id": ID, "redirect_uris": cb, "client_secret": "s"}),
                "client_secret",
            ),
            (
                serde_json::json!({"client_id": ID, "redirect_uris": cb, "client_name": ["x"]}),
                "client_name",
            ),
            (
                serde_json::json!({"client_id": ID, "redirect_uris": vec!["https://app.example/cb"; 11]}),
                "more than 10",
            ),
        ] {
            let error = validate(document.clone()).unwrap_err();
            assert!(error.contains(why), "{document}: {error}");
        }
        assert_eq!(
            validate_document(ID, b"\x00\xff<html>", &[]).unwrap_err(),
            "it is not JSON"
        );
        let docker = ["mcp.docker.com".to_string()];
        let error = validate_document(
            ID,
            serde_json::json!({"client_id": ID, "redirect_uris": ["https://app.example/cb"]})
                .to_string()
                .as_bytes(),
            &docker,
        )
        .unwrap_err();
        assert!(error.contains("not allowed"), "{error}");
    }

    #[test]
    fn a_huge_client_id_is_not_echoed() {
        let huge = "x".repeat(10_000);
        let error = validate(
            serde_json::json!({"client_id": huge, "redirect_uris": ["https://a.example/cb"]}),
        )
        .unwrap_err();
        assert!(error.len() < 300, "{error}");
    }

    #[test]
    fn cache_lifetimes_follow_cache_control_within_bounds() {
        assert_eq!(cache_secs(None), Some(300));
        assert_eq!(cache_secs(Some("public")), Some(300));
        assert_eq!(cache_secs(Some("max-age=600")), Some(600));
        assert_eq!(cache_secs(Some("public, max-age=3600")), Some(3600));
        assert_eq!(cache_secs(Some("MAX-AGE=\"900\"")), Some(900));
        assert_eq!(cache_secs(Some("max-age=0")), Some(60));
        assert_eq!(cache_secs(Some("max-age=5")), Some(60));
        assert_eq!(cache_secs(Some("max-age=999999")), Some(86_400));
        assert_eq!(
            cache_secs(Some("max-age=99999999999999999999999")),
            Some(86_400)
        );
        assert_eq!(cache_secs(Some("max-age=-1")), Some(300));
        assert_eq!(cache_secs(Some("max-age=soon")), Some(300));
        assert_eq!(cache_secs(Some("no-store")), None);
        assert_eq!(cache_secs(Some("max-age=600, no-store")), None);
        assert_eq!(cache_secs(Some("no-cache")), None);
    }

    #[test]
    fn a_cached_document_is_used_until_it_expires() {
        let client = Client {
            client_id: ID.into(),
            client_name: Some("App".into()),
            redirect_uris: vec!["https://app.example/cb".into()],
        };
        let row = |kind, expires_at| ClientRow {
            client_id: ID.into(),
            kind,
            metadata: serde_json::to_string(&client).unwrap(),
            created_at: 0,
            last_used_at: None,
            expires_at,
        };
        let cached = fresh(Some(row(ClientKind::Cimd, Some(1000))), 999).unwrap();
        assert_eq!(cached.redirect_uris, client.redirect_uris);
        assert!(
            fresh(Some(row(ClientKind::Cimd, Some(1000))), 1000).is_none(),
            "expired"
        );
        assert!(
            fresh(Some(row(ClientKind::Cimd, None)), 0).is_none(),
            "no expiry: refetch"
        );
        assert!(
            fresh(Some(row(ClientKind::Dcr, Some(1000))), 0).is_none(),
            "not a document"
        );
        let mut broken = row(ClientKind::Cimd, Some(1000));
        broken.metadata = "{}".into();
        assert!(fresh(Some(broken), 0).is_none());
        assert!(fresh(None, 0).is_none());
    }

    #[test]
    fn excerpts_are_bounded_and_printable() {
        assert_eq!(excerpt("abc", 10), "abc");
        assert_eq!(excerpt("a\u{0}b\nc", 10), "a?b?c");
        assert_eq!(excerpt(&"x".repeat(50), 10), format!("{}…", "x".repeat(10)));
    }
}
