//! The `[oauth]` section: our authorization server's settings (identity `broker`).

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// Hosts as a TOML array, or from the environment as one comma-separated value
/// (`ZMCP_OAUTH_ALLOWED_REDIRECT_HOSTS=mcp.docker.com,claude.ai`).
fn hosts<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Array(Vec<String>),
        Text(String),
    }
    Ok(match Written::deserialize(deserializer)? {
        Written::Array(hosts) => hosts,
        Written::Text(text) => text
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// Our own OAuth 2.1 authorization server, for identity `broker`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct OAuthConfig {
    /// Seconds an access token lives (default one hour).
    pub access_token_ttl_secs: u64,
    /// Days a refresh token lives unused; every use rotates it.
    pub refresh_token_ttl_days: u64,
    /// Seconds an authorization code lives (default 60).
    pub code_ttl_secs: u64,
    /// Open dynamic client registration (RFC 7591) for public clients.
    pub dynamic_registration: bool,
    /// Days a dynamically registered client that never obtained a token is kept.
    pub registration_idle_days: u64,
    /// Hosts an `https` redirect URI of a registered client may use (`mcp.docker.com`,
    /// `claude.ai`); empty allows any https host. Loopback `http` redirect URIs are always
    /// allowed (native clients, RFC 8252).
    #[serde(deserialize_with = "hosts")]
    pub allowed_redirect_hosts: Vec<String>,
    /// Days a signing key signs before a new one takes over; the old one stays published
    /// until every token it signed has expired.
    pub signing_key_days: u64,
    /// Clients registered by the operator.
    pub clients: Vec<StaticClient>,
    /// For tests only: accept client ID metadata documents at `http://127.0.0.1:<port>/...`
    /// (and let `https` document hosts resolve to loopback). Private, link-local and other
    /// internal addresses stay refused. Never enable it in production.
    pub cimd_allow_loopback_http: bool,
}

/// A client the operator registers (a public client with fixed redirect URIs).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StaticClient {
    pub client_id: String,
    /// A name the consent page shows.
    pub client_name: String,
    pub redirect_uris: Vec<String>,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 3600,
            refresh_token_ttl_days: 30,
            code_ttl_secs: 60,
            dynamic_registration: true,
            registration_idle_days: 30,
            allowed_redirect_hosts: Vec::new(),
            signing_key_days: 30,
            clients: Vec::new(),
            cimd_allow_loopback_http: false,
        }
    }
}

impl OAuthConfig {
    /// Everything wrong with these settings: (setting, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !(60..=86_400).contains(&self.access_token_ttl_secs) {
            out.push((
                "oauth.access_token_ttl_secs",
                "must be between 60 and 86400 seconds".into(),
            ));
        }
        if !(10..=600).contains(&self.code_ttl_secs) {
            out.push((
                "oauth.code_ttl_secs",
                "must be between 10 and 600 seconds (RFC 6749 recommends at most 600)".into(),
            ));
        }
        if self.refresh_token_ttl_days == 0 || self.signing_key_days == 0 {
            out.push((
                "oauth.refresh_token_ttl_days",
                "refresh_token_ttl_days and signing_key_days must be at least 1".into(),
            ));
        }
        for client in &self.clients {
            for uri in &client.redirect_uris {
                if let Err(why) = crate::register::check_redirect_uri(uri, &[]) {
                    out.push(("oauth.clients", format!("{}: {why}", client.client_id)));
                }
            }
        }
        out
    }

    /// Settings that work but are probably not what a production server wants:
    /// (setting, message), for `config check` to show as warnings.
    pub fn warnings(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.cimd_allow_loopback_http {
            out.push((
                "oauth.cimd_allow_loopback_http",
                "client ID metadata documents may be fetched over plain http from loopback \
                 addresses: anything running on this host can then pose as an application; \
                 enable it only in tests"
                    .into(),
            ));
        }
        out
    }
}
