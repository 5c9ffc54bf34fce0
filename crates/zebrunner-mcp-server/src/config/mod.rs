//! Typed configuration: defaults, then a TOML file (`--config` or
//! `ZMCP_CONFIG`), then `ZMCP_*` environment variables, then command-line
//! flags. [`Config::problems`] explains everything wrong with a result, and
//! [`Config::json_schema`] documents the file format.
//!
//! Two settings are independent: **identity** says who is calling (`none`,
//! `oidc`, `broker`) and **credentials** says which Zebrunner account serves
//! the call (`service-account`, `vault`).
//!
//! Environment variables map to settings by name: `ZMCP_LISTEN` is `listen`,
//! `ZMCP_OIDC_ISSUER` is `oidc.issuer`, `ZMCP_POLICY_ALLOWED_GROUPS` is
//! `policy.allowed_groups` (lists may be comma-separated). Zebrunner secrets
//! never live here: `ZEBRUNNER_TOKEN` (or `ZEBRUNNER_TOKEN_FILE`) only.

mod check;
pub mod http;
mod lists;
pub mod telemetry;

use std::{collections::BTreeMap, net::SocketAddr, num::NonZeroU32, path::PathBuf};

use figment::{
    Figment,
    providers::{Env, Format as _, Serialized, Toml},
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use check::{Problem, Severity};
pub use http::{
    DEFAULT_MAX_BODY_BYTES, DEFAULT_SHUTDOWN_GRACE, HttpOptions, SUPPORTED_PROTOCOL_VERSIONS,
};
use lists::{comma_list, optional_comma_list};

/// Sections whose environment variables are `ZMCP_<SECTION>_<KEY>`.
const SECTIONS: [&str; 8] = [
    "zebrunner",
    "vault",
    "oidc",
    "oauth",
    "policy",
    "audit",
    "limits",
    "telemetry",
];
/// `ZMCP_*` variables that are not settings (the vault's keys and the sign-in client's secret
/// are secrets: environment or secret file only).
const NOT_SETTINGS: [&str; 6] = [
    "config",
    "log_format",
    "vault_keys",
    "vault_keys_file",
    "oidc_client_secret",
    "oidc_client_secret_file",
];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// One client that starts the server as a child process.
    #[default]
    Stdio,
    /// Streamable HTTP at `/mcp`.
    Http,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IdentityMode {
    /// No caller identity: stdio, or HTTP bound to a loopback address only.
    #[default]
    None,
    /// Access tokens from the company's Okta (or any OIDC) authorization
    /// server, validated here.
    Oidc,
    /// Tokens issued by this server's own OAuth authorization server (`[oauth]`) after an
    /// Okta sign-in: MCP clients register themselves (RFC 7591) and people consent.
    Broker,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialsMode {
    /// One shared Zebrunner account (`ZEBRUNNER_LOGIN` / `ZEBRUNNER_TOKEN`).
    #[default]
    ServiceAccount,
    /// Each person's own Zebrunner login and API token, from the encrypted
    /// vault (keys in `ZMCP_VAULT_KEYS` or `ZMCP_VAULT_KEYS_FILE`).
    Vault,
    /// HTTP only: each request carries `X-Zebrunner-Username` and
    /// `X-Zebrunner-Api-Token`; nothing is stored.
    Headers,
}

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// MCP transport.
    pub transport: Transport,
    /// Address the HTTP transport listens on.
    pub listen: SocketAddr,
    /// The URL clients use to reach this server, e.g. `https://mcp.example.com`
    /// (no trailing `/mcp`). Needed with identity `oidc` or `broker` unless listening on
    /// loopback; `https` with identity `broker` or the connect page unless its host is
    /// loopback; defaults to `http://<listen>`.
    pub public_url: Option<String>,
    /// `Host` headers accepted (DNS-rebinding protection); default loopback names.
    #[serde(deserialize_with = "comma_list")]
    pub allowed_hosts: Vec<String>,
    /// Browser origins accepted; default loopback origins.
    #[serde(deserialize_with = "comma_list")]
    pub allowed_origins: Vec<String>,
    /// Largest HTTP request body, in bytes.
    pub max_body_bytes: usize,
    /// On SIGTERM or Ctrl-C: seconds calls in flight get to finish (new connections are
    /// refused at once, idle streams closed), before what is left is cut off and the server
    /// exits. Keep it below the orchestrator's kill timeout (Kubernetes: 30 s).
    pub shutdown_grace_secs: u64,
    /// Address of the Prometheus endpoint `GET /metrics`, a listener of its own so metrics
    /// are never on the public one by accident, e.g. `127.0.0.1:9464`; unset, no metrics are
    /// kept or served. Keep it on loopback or a private network: it shows tool names and
    /// traffic, and takes no token.
    pub metrics_listen: Option<SocketAddr>,
    /// Where the embedded database lives; default the platform data directory.
    pub data_dir: Option<PathBuf>,
    /// `sqlite:///path/file.db` or `postgres://...`; default SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// Review rules for `review_test_case` (TOML, see docs/review-rules.md);
    /// default the built-in rules.
    pub review_rules_file: Option<PathBuf>,
    /// Who is calling.
    pub identity: IdentityMode,
    /// Which Zebrunner credentials serve a call.
    pub credentials: CredentialsMode,
    /// Refuse every write, whoever asks.
    pub read_only: bool,
    /// Tool groups offered: `cases`, `suites`, `runs`, `launches`, `analysis`,
    /// `writes` (default all). A request may narrow them further with the
    /// `X-Zebrunner-Toolsets` header, never widen them.
    #[serde(deserialize_with = "comma_list")]
    pub toolsets: Vec<String>,
    /// Start each MCP session with only `start_toolsets` and offer the tools `list_toolsets`
    /// and `enable_toolset` to add the others for that session (the client is told with
    /// `notifications/tools/list_changed`). Off by default: every offered tool from the start.
    pub dynamic_toolsets: bool,
    /// With `dynamic_toolsets`: the toolsets a session starts with, of those offered
    /// (default `cases`, `launches`: under 15 KB of tool definitions for the model).
    #[serde(deserialize_with = "comma_list")]
    pub start_toolsets: Vec<String>,
    /// Seconds a write preview's confirmation token stays valid (default 600).
    pub confirmation_ttl_secs: u64,
    /// Seconds one tool call may take; past it the call ends with an error saying Zebrunner
    /// did not answer in time. More than the Zebrunner client's 30 s retry deadline, so a
    /// single slow request reports its own failure first.
    pub tool_deadline_secs: u64,
    /// Start without proving the Zebrunner credentials.
    pub skip_credential_check: bool,
    pub zebrunner: ZebrunnerConfig,
    pub vault: VaultConfig,
    pub oidc: OidcConfig,
    pub oauth: zebrunner_oauth::OAuthConfig,
    pub policy: PolicyConfig,
    pub audit: AuditConfig,
    /// Rate limits per person and per client, the cap on requests in flight (HTTP), and the
    /// limits on what one message carries in and out.
    pub limits: crate::transport::http::limits::LimitsConfig,
    /// Trace export over OpenTelemetry (OTLP), off by default.
    pub telemetry: telemetry::TelemetryConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            transport: Transport::Stdio,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            shutdown_grace_secs: DEFAULT_SHUTDOWN_GRACE.as_secs(),
            metrics_listen: None,
            data_dir: None,
            database_url: None,
            review_rules_file: None,
            identity: IdentityMode::None,
            credentials: CredentialsMode::ServiceAccount,
            read_only: false,
            toolsets: crate::toolsets::Toolset::ALL
                .map(|t| t.name().to_string())
                .to_vec(),
            dynamic_toolsets: false,
            start_toolsets: crate::dynamic_toolsets::DEFAULT_START
                .map(String::from)
                .to_vec(),
            confirmation_ttl_secs: 600,
            tool_deadline_secs: crate::handler::DEFAULT_TOOL_DEADLINE.as_secs(),
            skip_credential_check: false,
            zebrunner: ZebrunnerConfig::default(),
            vault: VaultConfig::default(),
            oidc: OidcConfig::default(),
            oauth: zebrunner_oauth::OAuthConfig::default(),
            policy: PolicyConfig::default(),
            audit: AuditConfig::default(),
            limits: Default::default(),
            telemetry: Default::default(),
        }
    }
}

/// Zebrunner connection settings other than secrets.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ZebrunnerConfig {
    /// Client-side limit on requests per second to Zebrunner (for all users
    /// together with per-user credentials).
    pub requests_per_second: Option<NonZeroU32>,
    /// Requests in a row that Zebrunner does not answer (connection errors, timeouts,
    /// 502/503/504 after their retries) before the circuit breaker opens and calls fail at
    /// once, saying when to retry; 0 turns the breaker off.
    pub breaker_failures: u32,
    /// Seconds the open circuit breaker fails calls at once before one request probes
    /// whether Zebrunner answers again.
    pub breaker_cooldown_secs: u64,
    /// With per-user credentials (`vault`, `headers`): the Zebrunner login a
    /// person may use when it is not their verified e-mail address, by
    /// e-mail address or user key (`uid:...`). A person listed here may use
    /// only the login listed; anyone else only their own e-mail address.
    pub logins: BTreeMap<String, String>,
}

impl Default for ZebrunnerConfig {
    fn default() -> Self {
        let breaker = zebrunner_client::BreakerConfig::default();
        Self {
            requests_per_second: None,
            breaker_failures: breaker.failures,
            breaker_cooldown_secs: breaker.cool_down.as_secs(),
            logins: BTreeMap::new(),
        }
    }
}

impl ZebrunnerConfig {
    /// The client's circuit breaker settings.
    pub fn breaker(&self) -> zebrunner_client::BreakerConfig {
        zebrunner_client::BreakerConfig {
            failures: self.breaker_failures,
            cool_down: std::time::Duration::from_secs(self.breaker_cooldown_secs),
        }
    }
}

/// The per-user vault (`credentials = "vault"`). Its keys never come from
/// here: `ZMCP_VAULT_KEYS` or `ZMCP_VAULT_KEYS_FILE`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct VaultConfig {
    /// Where people connect their Zebrunner account, named in the error a
    /// caller without credentials gets. Default: none (the error says to ask
    /// an administrator, who stores tokens with `zebrunner-mcp vault put`).
    pub connect_url: Option<String>,
    /// Per-user Zebrunner clients kept in memory (each holds an opened token).
    pub cache_max_users: u64,
    /// Seconds a per-user client stays cached without use.
    pub cache_idle_secs: u64,
    /// Hours between checks of each stored token against Zebrunner (one replica at a time);
    /// 0 turns the background check off.
    pub revalidate_hours: u64,
    /// Tokens checked at once by the background check.
    pub revalidate_concurrency: usize,
    /// When a person signs in (connect page, or an authorization with identity `broker`) and
    /// has no stored token, first ask Zebrunner to exchange their Okta ID token for one
    /// (`POST /api/iam/v1/auth/token-exchange`, proposed, not offered by Zebrunner today);
    /// when Zebrunner does not offer it or refuses, the person connects on the page.
    pub zebrunner_token_exchange: bool,
    /// Where the records live: `database` (the server's database) or `aws-secrets-manager`
    /// (one secret per person under `aws_secret_prefix`; needs a binary built with the `aws`
    /// feature, as the container image is). AWS credentials and region come from the standard
    /// provider chain (`AWS_REGION`, `AWS_PROFILE`, web identity, instance metadata).
    pub backend: VaultBackend,
    /// Where the key ring comes from: `local` (`ZMCP_VAULT_KEYS` holds the keys) or `aws-kms`
    /// (`ZMCP_VAULT_KEYS` holds data keys wrapped by `aws_kms_key_id`, unwrapped by KMS when
    /// needed; needs the `aws` feature).
    pub key_source: VaultKeySource,
    /// With backend `aws-secrets-manager`: the start of every record's secret name (letters,
    /// digits and `/_+=.@-`); the name is this plus the SHA-256 of the user key.
    pub aws_secret_prefix: String,
    /// With backend `aws-secrets-manager`: days a deleted record's secret can be restored
    /// (7 to 30); 0 deletes it at once.
    pub aws_recovery_window_days: u32,
    /// With key source `aws-kms`: the KMS key (id, ARN or `alias/...`) that wraps the data keys.
    pub aws_kms_key_id: Option<String>,
    /// With key source `aws-kms`: seconds the unwrapped key ring stays in memory before KMS is
    /// asked again.
    pub aws_kms_cache_secs: u64,
}

/// Where vault records live.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum VaultBackend {
    /// The server's database (table `vault_records`).
    #[default]
    Database,
    /// AWS Secrets Manager, one secret per person.
    AwsSecretsManager,
}

/// Where the vault's key ring comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum VaultKeySource {
    /// The keys themselves, in `ZMCP_VAULT_KEYS` or its file.
    #[default]
    Local,
    /// Data keys wrapped by an AWS KMS key (envelope encryption).
    AwsKms,
}

impl Default for VaultConfig {
    fn default() -> Self {
        Self {
            connect_url: None,
            cache_max_users: 1000,
            cache_idle_secs: 30 * 60,
            revalidate_hours: 24,
            revalidate_concurrency: 4,
            zebrunner_token_exchange: false,
            backend: VaultBackend::Database,
            key_source: VaultKeySource::Local,
            aws_secret_prefix: "zebrunner-mcp/".into(),
            aws_recovery_window_days: 7,
            aws_kms_key_id: None,
            aws_kms_cache_secs: 300,
        }
    }
}

/// Access-token validation for identity `oidc`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct OidcConfig {
    /// Issuer, exactly as in its tokens, e.g. `https://acme.okta.com/oauth2/default`.
    pub issuer: Option<String>,
    /// Required `aud`; default the canonical resource URL (`public_url` + `/mcp`).
    pub audience: Option<String>,
    /// Accepted signing algorithms (asymmetric only).
    #[serde(deserialize_with = "comma_list")]
    pub algorithms: Vec<String>,
    /// Clock leeway for `exp`, `nbf` and `iat`, in seconds.
    pub leeway_secs: u64,
    /// Client ids (`cid`) accepted; empty accepts any.
    #[serde(deserialize_with = "comma_list")]
    pub allowed_client_ids: Vec<String>,
    /// Claim holding the user's groups.
    pub groups_claim: String,
    /// Client ids whose tokens without a user (client credentials) are accepted.
    #[serde(deserialize_with = "comma_list")]
    pub service_clients: Vec<String>,
    /// This server's own client at the issuer (a confidential web application whose
    /// redirect URI is `<public_url>/connect/callback`), for the connect page where people
    /// sign in and store their Zebrunner token (`credentials = "vault"`). Its secret comes
    /// from `ZMCP_OIDC_CLIENT_SECRET` or `ZMCP_OIDC_CLIENT_SECRET_FILE`, never from here.
    pub client_id: Option<String>,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            issuer: None,
            audience: None,
            algorithms: vec!["RS256".into()],
            leeway_secs: 60,
            allowed_client_ids: Vec::new(),
            groups_claim: "groups".into(),
            service_clients: Vec::new(),
            client_id: None,
        }
    }
}

/// Who may do what. Mirrors Zebrunner's own SAML attributes
/// (`Zebrunner.Access`, `Zebrunner.Groups`) with Okta groups.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// Scope every call needs (the write scope implies it).
    pub read_scope: String,
    /// Scope write tools need.
    pub write_scope: String,
    /// Groups allowed to use the server; empty allows every authenticated caller.
    #[serde(deserialize_with = "comma_list")]
    pub allowed_groups: Vec<String>,
    /// Groups that may only read (unless also admins).
    #[serde(deserialize_with = "comma_list")]
    pub read_only_groups: Vec<String>,
    /// Groups that may use every tool and project.
    #[serde(deserialize_with = "comma_list")]
    pub admin_groups: Vec<String>,
    /// Groups limited to listed Zebrunner projects. A caller in several
    /// limited groups gets the union; a caller in an allowed group without a
    /// limit sees every project.
    pub project_access: Vec<ProjectAccess>,
    /// Projects for a non-admin caller in none of the `project_access`
    /// groups and in no allowed group without a limit, e.g. `["DEMO"]`; `[]`
    /// gives such a caller no project. Unset gives every project, so leaving
    /// a limited group widens access: set it whenever `project_access` is set.
    #[serde(deserialize_with = "project_keys")]
    pub default_projects: Option<Vec<String>>,
}

/// An optional list of Zebrunner project keys, in upper case as Zebrunner
/// writes them (tools compare keys in upper case).
fn project_keys<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    let keys: Option<Vec<String>> = optional_comma_list(deserializer)?;
    Ok(keys.map(|keys| keys.iter().map(|k| k.to_ascii_uppercase()).collect()))
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            read_scope: "zebrunner:read".into(),
            write_scope: "zebrunner:write".into(),
            allowed_groups: Vec::new(),
            read_only_groups: Vec::new(),
            admin_groups: Vec::new(),
            project_access: Vec::new(),
            default_projects: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectAccess {
    /// The group, as the token's groups claim names it.
    pub group: String,
    /// Zebrunner project keys, e.g. `["DEMO"]`.
    pub projects: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuditSinkKind {
    /// The storage database (SQLite by default, PostgreSQL when configured).
    Database,
    /// JSON lines on stdout (HTTP transport only).
    Stdout,
    /// JSON lines appended to `audit.file`.
    File,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// Where audit records go.
    #[serde(deserialize_with = "comma_list")]
    pub sinks: Vec<AuditSinkKind>,
    /// File for the `file` sink.
    pub file: Option<PathBuf>,
    /// Days records stay in the database sink; older ones are deleted by `serve` (hourly, one
    /// replica at a time) and by `zebrunner-mcp audit prune`. 0 keeps them forever.
    pub retention_days: u32,
}

/// A year: the period audits of access logs usually look back over, while e-mail addresses
/// and the database do not grow without end.
pub const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 365;

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            sinks: vec![AuditSinkKind::Database],
            file: None,
            retention_days: DEFAULT_AUDIT_RETENTION_DAYS,
        }
    }
}

/// Map `ZMCP_OIDC_ISSUER` (figment gives `oidc_issuer`) to `oidc.issuer`.
fn env_key(key: &str) -> String {
    for section in SECTIONS {
        if let Some(rest) = key.strip_prefix(section).and_then(|r| r.strip_prefix('_')) {
            return format!("{section}.{rest}");
        }
    }
    key.to_string()
}

impl Config {
    /// The configured toolsets (all when the setting is invalid; `problems` reports it).
    pub fn toolsets(&self) -> crate::toolsets::Toolsets {
        crate::toolsets::Toolsets::parse(&self.toolsets).unwrap_or_default()
    }

    /// With dynamic toolsets, the toolsets a session starts with (of those offered).
    pub fn start_toolsets(&self) -> Option<crate::toolsets::Toolsets> {
        self.dynamic_toolsets.then(|| {
            crate::toolsets::Toolsets::parse(&self.start_toolsets)
                .unwrap_or_default()
                .intersection(self.toolsets())
        })
    }

    /// How long a write preview's confirmation token stays valid.
    pub fn confirmation_ttl(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.confirmation_ttl_secs.max(1))
    }

    /// How long one tool call may take.
    pub fn tool_deadline(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.tool_deadline_secs.max(1))
    }

    /// The layered sources: defaults, the TOML file, `ZMCP_*` variables.
    /// Merge command-line overrides on top before extracting.
    pub fn figment(file: Option<&std::path::Path>) -> Figment {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment.merge(
            Env::prefixed("ZMCP_")
                .filter(|key| !NOT_SETTINGS.contains(&key.as_str().to_ascii_lowercase().as_str()))
                .map(|key| env_key(&key.as_str().to_ascii_lowercase()).into())
                .split("__"),
        )
    }

    /// Extract a configuration, with errors that name the setting.
    pub fn from_figment(figment: Figment) -> Result<Config, String> {
        figment.extract().map_err(|e| {
            e.into_iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// The canonical URL of this server (no trailing slash).
    pub fn public_base(&self, bound: Option<SocketAddr>) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", bound.unwrap_or(self.listen)),
        }
    }

    /// The MCP endpoint's URL: the resource identifier of RFC 8707/9728.
    pub fn resource_url(&self, bound: Option<SocketAddr>) -> String {
        format!("{}/mcp", self.public_base(bound))
    }

    /// Whether this server serves the connect page: the vault, over HTTP, signed in with
    /// the issuer through `oidc.client_id`.
    pub fn serves_connect_page(&self) -> bool {
        self.credentials == CredentialsMode::Vault
            && self.transport == Transport::Http
            && matches!(self.identity, IdentityMode::Oidc | IdentityMode::Broker)
            && self.oidc.client_id.is_some()
    }

    /// Where people connect their Zebrunner account: `vault.connect_url`, or this server's
    /// own connect page when it serves one.
    pub fn connect_url(&self, bound: Option<SocketAddr>) -> Option<String> {
        self.vault.connect_url.clone().or_else(|| {
            self.serves_connect_page()
                .then(|| format!("{}/connect", self.public_base(bound)))
        })
    }

    /// The audience tokens must carry.
    pub fn audience(&self, bound: Option<SocketAddr>) -> String {
        self.oidc
            .audience
            .clone()
            .unwrap_or_else(|| self.resource_url(bound))
    }

    /// HTTP options for the transport.
    pub fn http_options(&self) -> HttpOptions {
        let mut options = HttpOptions::new(self.listen);
        options.allowed_hosts = self.allowed_hosts.clone();
        options.allowed_origins = self.allowed_origins.clone();
        options.max_body_bytes = self.max_body_bytes;
        options.shutdown_grace = self.shutdown_grace();
        options.limits = self.limits.clone();
        options
    }

    /// How long calls in flight get to finish on SIGTERM or Ctrl-C.
    pub fn shutdown_grace(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.shutdown_grace_secs)
    }

    /// JSON Schema of the configuration file.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Config)).unwrap_or_default()
    }
}

#[cfg(test)]
// figment's test jail returns its large error type by design.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;
    use std::collections::BTreeSet;

    #[test]
    fn env_keys_map_to_sections() {
        assert_eq!(env_key("oidc_issuer"), "oidc.issuer");
        assert_eq!(env_key("policy_allowed_groups"), "policy.allowed_groups");
        assert_eq!(env_key("listen"), "listen");
        assert_eq!(env_key("public_url"), "public_url");
    }

    #[test]
    fn layers_file_then_environment() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "zmcp.toml",
                r#"
                transport = "http"
                identity = "oidc"
                [oidc]
                issuer = "https://file.example/oauth2/default"
                [policy]
                allowed_groups = ["qa"]
                [[policy.project_access]]
                group = "dev"
                projects = ["DEMO"]
                "#,
            )?;
            jail.set_env("ZMCP_OIDC_ISSUER", "https://env.example/oauth2/default");
            jail.set_env("ZMCP_POLICY_READ_ONLY_GROUPS", "dev, contractors");
            jail.set_env("ZMCP_LISTEN", "127.0.0.1:9000");
            jail.set_env("ZMCP_CONFIG", "ignored-here");
            let config = Config::from_figment(Config::figment(Some("zmcp.toml".as_ref()))).unwrap();
            assert_eq!(config.transport, Transport::Http);
            assert_eq!(config.identity, IdentityMode::Oidc);
            assert_eq!(
                config.oidc.issuer.as_deref(),
                Some("https://env.example/oauth2/default")
            );
            assert_eq!(config.policy.allowed_groups, vec!["qa"]);
            assert_eq!(config.policy.read_only_groups, vec!["dev", "contractors"]);
            assert_eq!(config.policy.project_access[0].projects, vec!["DEMO"]);
            assert_eq!(config.listen.port(), 9000);
            assert_eq!(config.oidc.algorithms, vec!["RS256"]);
            Ok(())
        });
    }

    #[test]
    fn toolsets_from_the_environment_and_their_problems() {
        Jail::expect_with(|jail| {
            let config = Config::from_figment(Config::figment(None)).unwrap();
            assert!(config.toolsets().is_all());
            assert_eq!(config.confirmation_ttl_secs, 600);
            jail.set_env("ZMCP_TOOLSETS", "cases, runs");
            jail.set_env("ZMCP_CONFIRMATION_TTL_SECS", "2");
            let config = Config::from_figment(Config::figment(None)).unwrap();
            assert_eq!(config.toolsets().to_string(), "cases,runs");
            assert_eq!(config.confirmation_ttl().as_secs(), 2);
            assert!(config.problems().iter().all(|p| p.setting != "toolsets"));
            jail.set_env("ZMCP_TOOLSETS", "cases,reports");
            jail.set_env("ZMCP_CONFIRMATION_TTL_SECS", "0");
            let config = Config::from_figment(Config::figment(None)).unwrap();
            let problems = config.problems();
            let toolsets = problems.iter().find(|p| p.setting == "toolsets").unwrap();
            assert_eq!(toolsets.severity, Severity::Error);
            assert!(toolsets.message.contains("reports"), "{toolsets}");
            assert!(
                problems
                    .iter()
                    .any(|p| p.setting == "confirmation_ttl_secs")
            );
            Ok(())
        });
    }

    #[test]
    fn the_tool_deadline_outlasts_the_retry_deadline_and_the_breaker_cools_down() {
        Jail::expect_with(|jail| {
            let config = Config::from_figment(Config::figment(None)).unwrap();
            assert_eq!(config.tool_deadline().as_secs(), 60);
            assert_eq!(config.zebrunner.breaker(), Default::default());
            let settings = |config: &Config| -> Vec<&'static str> {
                config.problems().iter().map(|p| p.setting).collect()
            };
            assert!(!settings(&config).contains(&"tool_deadline_secs"));
            jail.set_env("ZMCP_TOOL_DEADLINE_SECS", "30");
            jail.set_env("ZMCP_ZEBRUNNER_BREAKER_COOLDOWN_SECS", "0");
            let config = Config::from_figment(Config::figment(None)).unwrap();
            let problems = settings(&config);
            assert!(problems.contains(&"tool_deadline_secs"), "{problems:?}");
            assert!(problems.contains(&"zebrunner.breaker_cooldown_secs"));
            // A cool-down does not matter while the breaker is off.
            jail.set_env("ZMCP_ZEBRUNNER_BREAKER_FAILURES", "0");
            let config = Config::from_figment(Config::figment(None)).unwrap();
            assert!(!settings(&config).contains(&"zebrunner.breaker_cooldown_secs"));
            Ok(())
        });
    }

    #[test]
    fn a_wrong_list_entry_names_the_valid_values() {
        Jail::expect_with(|jail| {
            jail.set_env("ZMCP_AUDIT_SINKS", "database,fiel");
            let err = Config::from_figment(Config::figment(None)).unwrap_err();
            assert!(
                err.contains("fiel")
                    && err.contains("stdout")
                    && err.to_ascii_lowercase().contains("audit.sinks"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn default_projects_unset_empty_or_listed() {
        Jail::expect_with(|jail| {
            let config = Config::from_figment(Config::figment(None)).unwrap();
            assert_eq!(config.policy.default_projects, None);
            jail.set_env("ZMCP_POLICY_DEFAULT_PROJECTS", "");
            let config = Config::from_figment(Config::figment(None)).unwrap();
            assert_eq!(config.policy.default_projects, Some(vec![]));
            jail.set_env("ZMCP_POLICY_DEFAULT_PROJECTS", "[]");
            let config = Config::from_figment(Config::figment(None)).unwrap();
            assert_eq!(config.policy.default_projects, Some(vec![]));
            jail.clear_env();
            jail.create_file("zmcp.toml", "[policy]\ndefault_projects = [\"demo\"]\n")?;
            let config = Config::from_figment(Config::figment(Some("zmcp.toml".as_ref()))).unwrap();
            assert_eq!(config.policy.default_projects, Some(vec!["DEMO".into()]));
            Ok(())
        });
    }

    #[test]
    fn unknown_settings_are_errors() {
        Jail::expect_with(|jail| {
            jail.create_file("zmcp.toml", "identty = \"oidc\"\n")?;
            let err =
                Config::from_figment(Config::figment(Some("zmcp.toml".as_ref()))).unwrap_err();
            assert!(err.contains("identty"), "{err}");
            Ok(())
        });
    }

    /// Every `ZMCP_*` variable named in docs/configuration.md, a valid value
    /// for it, and whether that value reached its setting. A documented
    /// variable missing here, or one whose value does not arrive, fails
    /// `every_documented_variable_reaches_its_setting`.
    type Reaches = fn(&Config) -> bool;
    const DOCUMENTED: &[(&str, &str, Reaches)] = &[
        ("ZMCP_TRANSPORT", "http", |c| c.transport == Transport::Http),
        ("ZMCP_LISTEN", "127.0.0.1:9123", |c| c.listen.port() == 9123),
        ("ZMCP_PUBLIC_URL", "https://mcp.example.com", |c| {
            c.public_url.as_deref() == Some("https://mcp.example.com")
        }),
        // One value, not a list: the form `ZMCP_AUDIT_SINKS=file` once refused.
        ("ZMCP_ALLOWED_HOSTS", "mcp.example.com", |c| {
            c.allowed_hosts == ["mcp.example.com"]
        }),
        (
            "ZMCP_ALLOWED_ORIGINS",
            "https://a.example.com, https://b.example.com",
            |c| c.allowed_origins == ["https://a.example.com", "https://b.example.com"],
        ),
        ("ZMCP_MAX_BODY_BYTES", "2048", |c| c.max_body_bytes == 2048),
        ("ZMCP_SHUTDOWN_GRACE_SECS", "5", |c| {
            c.shutdown_grace_secs == 5
        }),
        ("ZMCP_METRICS_LISTEN", "127.0.0.1:9464", |c| {
            c.metrics_listen.map(|a| a.port()) == Some(9464)
        }),
        ("ZMCP_DATA_DIR", "/var/lib/zmcp", |c| {
            c.data_dir.as_deref() == Some("/var/lib/zmcp".as_ref())
        }),
        (
            "ZMCP_DATABASE_URL",
            "postgres://zmcp@db.internal/zmcp",
            |c| c.database_url.as_deref() == Some("postgres://zmcp@db.internal/zmcp"),
        ),
        ("ZMCP_REVIEW_RULES_FILE", "/etc/zmcp/rules.toml", |c| {
            c.review_rules_file.as_deref() == Some("/etc/zmcp/rules.toml".as_ref())
        }),
        ("ZMCP_IDENTITY", "oidc", |c| {
            c.identity == IdentityMode::Oidc
        }),
        ("ZMCP_CREDENTIALS", "vault", |c| {
            c.credentials == CredentialsMode::Vault
        }),
        ("ZMCP_READ_ONLY", "true", |c| c.read_only),
        ("ZMCP_TOOLSETS", "cases", |c| c.toolsets == ["cases"]),
        ("ZMCP_DYNAMIC_TOOLSETS", "true", |c| c.dynamic_toolsets),
        ("ZMCP_START_TOOLSETS", "runs", |c| {
            c.start_toolsets == ["runs"]
        }),
        ("ZMCP_CONFIRMATION_TTL_SECS", "30", |c| {
            c.confirmation_ttl_secs == 30
        }),
        ("ZMCP_TOOL_DEADLINE_SECS", "90", |c| {
            c.tool_deadline_secs == 90
        }),
        ("ZMCP_SKIP_CREDENTIAL_CHECK", "true", |c| {
            c.skip_credential_check
        }),
        ("ZMCP_ZEBRUNNER_REQUESTS_PER_SECOND", "7", |c| {
            c.zebrunner.requests_per_second.map(NonZeroU32::get) == Some(7)
        }),
        ("ZMCP_ZEBRUNNER_BREAKER_FAILURES", "9", |c| {
            c.zebrunner.breaker().failures == 9
        }),
        ("ZMCP_ZEBRUNNER_BREAKER_COOLDOWN_SECS", "45", |c| {
            c.zebrunner.breaker().cool_down.as_secs() == 45
        }),
        (
            "ZMCP_VAULT_CONNECT_URL",
            "https://mcp.example.com/connect",
            |c| c.vault.connect_url.as_deref() == Some("https://mcp.example.com/connect"),
        ),
        ("ZMCP_VAULT_CACHE_MAX_USERS", "50", |c| {
            c.vault.cache_max_users == 50
        }),
        ("ZMCP_VAULT_CACHE_IDLE_SECS", "120", |c| {
            c.vault.cache_idle_secs == 120
        }),
        ("ZMCP_VAULT_REVALIDATE_HOURS", "6", |c| {
            c.vault.revalidate_hours == 6
        }),
        ("ZMCP_VAULT_REVALIDATE_CONCURRENCY", "2", |c| {
            c.vault.revalidate_concurrency == 2
        }),
        ("ZMCP_VAULT_ZEBRUNNER_TOKEN_EXCHANGE", "true", |c| {
            c.vault.zebrunner_token_exchange
        }),
        ("ZMCP_VAULT_BACKEND", "aws-secrets-manager", |c| {
            c.vault.backend == VaultBackend::AwsSecretsManager
        }),
        ("ZMCP_VAULT_KEY_SOURCE", "aws-kms", |c| {
            c.vault.key_source == VaultKeySource::AwsKms
        }),
        ("ZMCP_VAULT_AWS_SECRET_PREFIX", "prod/zebrunner-mcp/", |c| {
            c.vault.aws_secret_prefix == "prod/zebrunner-mcp/"
        }),
        ("ZMCP_VAULT_AWS_RECOVERY_WINDOW_DAYS", "30", |c| {
            c.vault.aws_recovery_window_days == 30
        }),
        ("ZMCP_VAULT_AWS_KMS_KEY_ID", "alias/zebrunner-mcp", |c| {
            c.vault.aws_kms_key_id.as_deref() == Some("alias/zebrunner-mcp")
        }),
        ("ZMCP_VAULT_AWS_KMS_CACHE_SECS", "60", |c| {
            c.vault.aws_kms_cache_secs == 60
        }),
        ("ZMCP_LIMITS_REQUESTS_PER_MINUTE_PER_USER", "120", |c| {
            c.limits.requests_per_minute_per_user == 120
        }),
        ("ZMCP_LIMITS_BURST_PER_USER", "20", |c| {
            c.limits.burst_per_user == 20
        }),
        ("ZMCP_LIMITS_REQUESTS_PER_MINUTE_PER_CLIENT", "0", |c| {
            c.limits.requests_per_minute_per_client == 0
        }),
        ("ZMCP_LIMITS_BURST_PER_CLIENT", "50", |c| {
            c.limits.burst_per_client == 50
        }),
        ("ZMCP_LIMITS_MAX_CONCURRENT_REQUESTS", "64", |c| {
            c.limits.max_concurrent_requests == 64
        }),
        ("ZMCP_LIMITS_MAX_JSON_DEPTH", "16", |c| {
            c.limits.max_json_depth == 16
        }),
        ("ZMCP_LIMITS_MAX_ARGUMENT_BYTES", "4096", |c| {
            c.limits.max_argument_bytes == 4096
        }),
        ("ZMCP_LIMITS_MAX_ARGUMENT_ITEMS", "50", |c| {
            c.limits.max_argument_items == 50
        }),
        ("ZMCP_LIMITS_MAX_RESULT_BYTES", "20000", |c| {
            c.limits.max_result_bytes == 20000
        }),
        (
            "ZMCP_TELEMETRY_OTLP_ENDPOINT",
            "http://otel-collector:4318",
            |c| c.telemetry.otlp_endpoint.as_deref() == Some("http://otel-collector:4318"),
        ),
        ("ZMCP_TELEMETRY_SERVICE_NAME", "zmcp-eu", |c| {
            c.telemetry.service_name == "zmcp-eu"
        }),
        (
            "ZMCP_OIDC_ISSUER",
            "https://acme.okta.com/oauth2/default",
            |c| c.oidc.issuer.as_deref() == Some("https://acme.okta.com/oauth2/default"),
        ),
        ("ZMCP_OIDC_AUDIENCE", "api://zebrunner-mcp", |c| {
            c.oidc.audience.as_deref() == Some("api://zebrunner-mcp")
        }),
        ("ZMCP_OIDC_ALGORITHMS", "RS256,ES256", |c| {
            c.oidc.algorithms == ["RS256", "ES256"]
        }),
        ("ZMCP_OIDC_LEEWAY_SECS", "5", |c| c.oidc.leeway_secs == 5),
        // Digits only: the environment gives a number, still one client id.
        ("ZMCP_OIDC_ALLOWED_CLIENT_IDS", "12345", |c| {
            c.oidc.allowed_client_ids == ["12345"]
        }),
        ("ZMCP_OIDC_GROUPS_CLAIM", "roles", |c| {
            c.oidc.groups_claim == "roles"
        }),
        ("ZMCP_OIDC_SERVICE_CLIENTS", "ci,nightly", |c| {
            c.oidc.service_clients == ["ci", "nightly"]
        }),
        ("ZMCP_OIDC_CLIENT_ID", "0oa1connect", |c| {
            c.oidc.client_id.as_deref() == Some("0oa1connect")
        }),
        ("ZMCP_OAUTH_ACCESS_TOKEN_TTL_SECS", "900", |c| {
            c.oauth.access_token_ttl_secs == 900
        }),
        ("ZMCP_OAUTH_REFRESH_TOKEN_TTL_DAYS", "7", |c| {
            c.oauth.refresh_token_ttl_days == 7
        }),
        ("ZMCP_OAUTH_CODE_TTL_SECS", "30", |c| {
            c.oauth.code_ttl_secs == 30
        }),
        ("ZMCP_OAUTH_DYNAMIC_REGISTRATION", "false", |c| {
            !c.oauth.dynamic_registration
        }),
        ("ZMCP_OAUTH_REGISTRATION_IDLE_DAYS", "3", |c| {
            c.oauth.registration_idle_days == 3
        }),
        (
            "ZMCP_OAUTH_ALLOWED_REDIRECT_HOSTS",
            "mcp.docker.com, claude.ai",
            |c| c.oauth.allowed_redirect_hosts == ["mcp.docker.com", "claude.ai"],
        ),
        ("ZMCP_OAUTH_SIGNING_KEY_DAYS", "14", |c| {
            c.oauth.signing_key_days == 14
        }),
        ("ZMCP_OAUTH_CIMD_ALLOW_LOOPBACK_HTTP", "true", |c| {
            c.oauth.cimd_allow_loopback_http
        }),
        (
            "ZMCP_OAUTH_ID_JAG_ISSUERS",
            "https://acme.okta.com,https://other.example",
            |c| c.oauth.id_jag_issuers == ["https://acme.okta.com", "https://other.example"],
        ),
        ("ZMCP_OAUTH_ID_JAG_MAX_LIFETIME_SECS", "120", |c| {
            c.oauth.id_jag_max_lifetime_secs == 120
        }),
        ("ZMCP_POLICY_READ_SCOPE", "zmcp:read", |c| {
            c.policy.read_scope == "zmcp:read"
        }),
        ("ZMCP_POLICY_WRITE_SCOPE", "zmcp:write", |c| {
            c.policy.write_scope == "zmcp:write"
        }),
        ("ZMCP_POLICY_ALLOWED_GROUPS", "qa,dev", |c| {
            c.policy.allowed_groups == ["qa", "dev"]
        }),
        ("ZMCP_POLICY_READ_ONLY_GROUPS", "dev", |c| {
            c.policy.read_only_groups == ["dev"]
        }),
        ("ZMCP_POLICY_ADMIN_GROUPS", "qa-admins", |c| {
            c.policy.admin_groups == ["qa-admins"]
        }),
        // Keys in any case, kept in upper case.
        ("ZMCP_POLICY_DEFAULT_PROJECTS", "demo, Web", |c| {
            c.policy.default_projects.as_deref() == Some(&["DEMO".to_string(), "WEB".to_string()])
        }),
        ("ZMCP_AUDIT_SINKS", "file", |c| {
            c.audit.sinks == [AuditSinkKind::File]
        }),
        ("ZMCP_AUDIT_FILE", "/var/log/zmcp-audit.jsonl", |c| {
            c.audit.file.as_deref() == Some("/var/log/zmcp-audit.jsonl".as_ref())
        }),
        ("ZMCP_AUDIT_RETENTION_DAYS", "90", |c| {
            c.audit.retention_days == 90
        }),
    ];

    /// `ZMCP_*` variables the documentation names that the binary reads
    /// itself (clap), not through [`Config::figment`].
    const READ_BY_THE_BINARY: [&str; 6] = [
        "ZMCP_CONFIG",
        "ZMCP_LOG_FORMAT",
        "ZMCP_VAULT_KEYS",
        "ZMCP_VAULT_KEYS_FILE",
        "ZMCP_OIDC_CLIENT_SECRET",
        "ZMCP_OIDC_CLIENT_SECRET_FILE",
    ];

    /// Every `ZMCP_NAME` in the text (bare `ZMCP_`, as in `ZMCP_*`, skipped).
    fn variables_in(text: &str) -> BTreeSet<String> {
        text.match_indices("ZMCP_")
            .filter_map(|(at, _)| {
                let name: String = text[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                (name.len() > "ZMCP_".len()).then_some(name)
            })
            .collect()
    }

    #[test]
    fn every_documented_variable_reaches_its_setting() {
        let docs = variables_in(include_str!("../../../../docs/configuration.md"));
        let tested: BTreeSet<String> = DOCUMENTED.iter().map(|(n, _, _)| n.to_string()).collect();
        let binary: BTreeSet<String> = READ_BY_THE_BINARY.iter().map(|n| n.to_string()).collect();
        let untested: Vec<_> = docs
            .difference(&tested)
            .filter(|n| !binary.contains(*n))
            .collect();
        assert!(
            untested.is_empty(),
            "documented but not tested here: {untested:?}"
        );
        let undocumented: Vec<_> = tested.difference(&docs).collect();
        assert!(
            undocumented.is_empty(),
            "tested but not in docs/configuration.md: {undocumented:?}"
        );
        for name in READ_BY_THE_BINARY {
            let key = name.trim_start_matches("ZMCP_").to_ascii_lowercase();
            assert!(NOT_SETTINGS.contains(&key.as_str()), "{name}");
        }
        Jail::expect_with(|jail| {
            for (name, value, _) in DOCUMENTED {
                jail.set_env(name, value);
            }
            // Also set, and ignored here: they belong to the command line.
            jail.set_env("ZMCP_CONFIG", "zmcp.toml");
            jail.set_env("ZMCP_LOG_FORMAT", "json");
            let config = Config::from_figment(Config::figment(None)).map_err(|e| e.to_string())?;
            let missed: Vec<_> = DOCUMENTED
                .iter()
                .filter(|(_, _, reaches)| !reaches(&config))
                .map(|(name, value, _)| format!("{name}={value}"))
                .collect();
            assert!(
                missed.is_empty(),
                "did not reach their settings: {missed:?}"
            );
            Ok(())
        });
    }

    #[test]
    fn resource_url_and_audience_default_to_public_url() {
        let mut config = Config {
            public_url: Some("https://mcp.example.com/".into()),
            ..Config::default()
        };
        assert_eq!(config.resource_url(None), "https://mcp.example.com/mcp");
        assert_eq!(config.audience(None), "https://mcp.example.com/mcp");
        config.oidc.audience = Some("api://zebrunner-mcp".into());
        assert_eq!(config.audience(None), "api://zebrunner-mcp");
    }
}
