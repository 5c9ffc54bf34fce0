//! The `[oauth]` section: our authorization server's settings (identity `broker`).

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// A list as a TOML array, or from the environment as one comma-separated value
/// (`ZMCP_OAUTH_ALLOWED_REDIRECT_HOSTS=mcp.docker.com,claude.ai`).
fn list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
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
    #[serde(deserialize_with = "list")]
    pub allowed_redirect_hosts: Vec<String>,
    /// Days a signing key signs before a new one takes over; the old one stays published
    /// until every token it signed has expired.
    pub signing_key_days: u64,
    /// Clients registered by the operator.
    pub clients: Vec<StaticClient>,
    /// Confidential clients registered by the operator (CI pipelines, internal services,
    /// MCP clients using enterprise-managed authorization): each authenticates with a secret
    /// and may use only the grants listed for it.
    pub confidential_clients: Vec<ConfidentialClient>,
    /// Identity providers whose identity assertion grants (ID-JAG, Okta Cross App Access)
    /// we accept in the JWT bearer grant: their issuer identifiers (for Okta, the org URL
    /// `https://acme.okta.com`). Empty turns enterprise-managed authorization off.
    #[serde(deserialize_with = "list")]
    pub id_jag_issuers: Vec<String>,
    /// Longest lifetime (`exp - iat`, seconds) of an accepted ID-JAG (Okta issues 300).
    pub id_jag_max_lifetime_secs: u64,
    /// For tests only: accept client ID metadata documents at `http://127.0.0.1:<port>/...`
    /// (and let `https` document hosts resolve to loopback). Private, link-local and other
    /// internal addresses stay refused. Never enable it in production.
    pub cimd_allow_loopback_http: bool,
}

/// A client the operator registers (a public client with fixed redirect URIs).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StaticClient {
    /// The id the client sends as `client_id`; no other client may have it.
    pub client_id: String,
    /// A name the consent page shows.
    pub client_name: String,
    /// Where `/authorize` may send the browser back, matched exactly (only a loopback
    /// `http` port may differ): https, loopback http or a private-use scheme;
    /// `allowed_redirect_hosts` does not apply.
    pub redirect_uris: Vec<String>,
}

/// A confidential client the operator registers.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfidentialClient {
    /// The id it authenticates with at `/token` (1 to 200 printable ASCII characters, no
    /// spaces or colons); no other client may have it.
    pub client_id: String,
    /// A name for logs, the audit log and `zebrunner-mcp oauth clients`.
    pub client_name: String,
    /// The SHA-256 (64 hex digits) of the client's secret, never the secret itself:
    /// `zebrunner-mcp oauth client-secret` makes a secret and prints both.
    pub secret_sha256: String,
    /// What it may do at `/token`: `client_credentials` (tokens for itself, seen by the
    /// policy as `client:<client_id>`), `token_exchange` (RFC 8693: a person's Okta or our
    /// access token for a short-lived Zebrunner token of that person), `jwt_bearer`
    /// (enterprise-managed authorization: an ID-JAG from a trusted identity provider).
    pub grants: Vec<ConfidentialGrant>,
    /// Scopes its `client_credentials` tokens may carry; empty means the read scope.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Groups the policy sees on its `client_credentials` tokens.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Whether the token exchange may hand this client a person's long-lived Zebrunner API
    /// token (`requested_token_type` `urn:zebrunner:params:oauth:token-type:api-token`),
    /// not only a short-lived bearer. Off unless an operator decides otherwise.
    #[serde(default)]
    pub personal_api_token: bool,
}

/// A grant a confidential client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConfidentialGrant {
    ClientCredentials,
    TokenExchange,
    JwtBearer,
}

impl ConfidentialClient {
    pub fn may(&self, grant: ConfidentialGrant) -> bool {
        self.grants.contains(&grant)
    }
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
            confidential_clients: Vec::new(),
            id_jag_issuers: Vec::new(),
            id_jag_max_lifetime_secs: 300,
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
        if !(30..=3600).contains(&self.id_jag_max_lifetime_secs) {
            out.push((
                "oauth.id_jag_max_lifetime_secs",
                "must be between 30 and 3600 seconds".into(),
            ));
        }
        for issuer in &self.id_jag_issuers {
            if !issuer.starts_with("https://") && !is_loopback_http(issuer) {
                out.push((
                    "oauth.id_jag_issuers",
                    format!("{issuer}: an identity provider's issuer must be an https URL"),
                ));
            }
        }
        let mut ids: Vec<&str> = self.clients.iter().map(|c| c.client_id.as_str()).collect();
        for client in &self.confidential_clients {
            let id = client.client_id.as_str();
            if id.is_empty()
                || id.len() > 200
                || !id.bytes().all(|b| b.is_ascii_graphic() && b != b':')
            {
                out.push((
                    "oauth.confidential_clients",
                    format!(
                        "{id:?}: a client id is 1 to 200 printable ASCII characters, no spaces or colons"
                    ),
                ));
            }
            if ids.contains(&id) {
                out.push((
                    "oauth.confidential_clients",
                    format!("{id}: the client id is registered twice"),
                ));
            }
            ids.push(id);
            if client.secret_sha256.len() != 64
                || !client.secret_sha256.bytes().all(|b| b.is_ascii_hexdigit())
            {
                out.push((
                    "oauth.confidential_clients",
                    format!(
                        "{id}: secret_sha256 must be 64 hex digits (run `zebrunner-mcp oauth client-secret`)"
                    ),
                ));
            }
            if client.grants.is_empty() {
                out.push((
                    "oauth.confidential_clients",
                    format!(
                        "{id}: grants is empty; name client_credentials, token_exchange or jwt_bearer"
                    ),
                ));
            }
            if client.may(ConfidentialGrant::JwtBearer) && self.id_jag_issuers.is_empty() {
                out.push((
                    "oauth.confidential_clients",
                    format!("{id}: jwt_bearer needs oauth.id_jag_issuers"),
                ));
            }
            if client.personal_api_token && !client.may(ConfidentialGrant::TokenExchange) {
                out.push((
                    "oauth.confidential_clients",
                    format!("{id}: personal_api_token applies only with the token_exchange grant"),
                ));
            }
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
        for client in &self.confidential_clients {
            if client.personal_api_token {
                out.push((
                    "oauth.confidential_clients",
                    format!(
                        "{}: may receive people's long-lived Zebrunner API tokens by token exchange",
                        client.client_id
                    ),
                ));
            }
        }
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

/// `http://127.0.0.1...`, `http://[::1]...` or `http://localhost...` (identity providers in
/// tests).
fn is_loopback_http(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| {
        u.scheme() == "http" && matches!(u.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"))
    })
}
