//! The command line. Secrets are never accepted as arguments (they would
//! show in process listings); they come from the environment or files.
//! Flags override the configuration file and `ZMCP_*` variables.

use std::{net::SocketAddr, num::NonZeroU32, path::PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{Map, Value, json};

#[derive(Debug, Parser)]
#[command(
    name = "zebrunner-mcp",
    version,
    about = "MCP server for Zebrunner test management"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Configuration file (TOML); see docs/configuration.md.
    #[arg(long, global = true, env = "ZMCP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "ZMCP_LOG_FORMAT")]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP against a Zebrunner workspace (ZEBRUNNER_URL, ZEBRUNNER_LOGIN,
    /// ZEBRUNNER_TOKEN, each also readable from <NAME>_FILE).
    Serve(ServeArgs),
    /// Run the bundled sandbox Zebrunner (a faithful fake of its HTTP API).
    Sandbox(SandboxArgs),
    /// Run the sandbox and the MCP server together and print client setup.
    Demo(DemoArgs),
    /// Read the audit log: tail, search, export (CSV / JSON lines).
    Audit(crate::commands::audit::AuditArgs),
    /// The per-user credential vault: keygen, put, list, delete, verify, rekey,
    /// export-metadata (keys from ZMCP_VAULT_KEYS or ZMCP_VAULT_KEYS_FILE).
    Vault(crate::commands::vault::VaultArgs),
    /// The authorization server of identity `broker`: list clients and grants, revoke a
    /// person's, a client's or one grant.
    #[command(name = "oauth")]
    OAuth(crate::commands::oauth::OAuthArgs),
    /// Check or describe the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// The tools as `tools/list` offers them to an unrestricted local caller; needs no
    /// credentials and no network.
    Tools(ToolsArgs),
    /// Exit 0 when the HTTP server answers 200 on /healthz, else 1 (container health checks).
    Healthcheck(HealthcheckArgs),
}

#[derive(Debug, Args)]
pub struct ToolsArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// With --json: `registry` (the Docker MCP Registry's tools.json) or `mcp` (the
    /// tools/list result as MCP sends it).
    #[arg(long, value_enum, default_value_t = ToolsFormat::Registry)]
    pub format: ToolsFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ToolsFormat {
    Registry,
    Mcp,
}

#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// The URL to GET (http only); default /healthz on the configured listen address
    /// (ZMCP_LISTEN), asked on loopback when it is 0.0.0.0 or [::].
    #[arg(long)]
    pub url: Option<url::Url>,
    /// Seconds to wait for the connection and for each read or write.
    #[arg(long, default_value_t = 3)]
    pub timeout: u64,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Explain every problem in the effective configuration (file, ZMCP_* variables,
    /// Zebrunner settings, secret files, vault keys); exits non-zero on errors. Contacts
    /// nothing unless --online.
    Check {
        /// Also reach what the configuration depends on, and say for each whether it works:
        /// the database (opened as it is, migrations state; nothing is created or migrated),
        /// the OIDC issuer (metadata, keys, a key for oidc.algorithms), each
        /// oauth.id_jag_issuers issuer, Zebrunner (ZEBRUNNER_URL answers; the service
        /// account's login and token are accepted) and, with credentials = "vault", that the
        /// key ring opens a sample of the stored records. Exits non-zero when any fails.
        #[arg(long)]
        online: bool,
    },
    /// Print the JSON Schema of the configuration file.
    Schema,
    /// List every environment variable the binary reads (settings, secrets with their
    /// <NAME>_FILE variants, flags, logging).
    Env {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print every setting as Markdown (TOML key, variable, flag, type, default, description);
    /// docs/config-reference.md is its output.
    Reference,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Transport {
    Stdio,
    Http,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// MCP transport (default stdio).
    #[arg(long, value_enum)]
    pub transport: Option<Transport>,
    #[command(flatten)]
    pub http: HttpArgs,
    /// Start without checking the Zebrunner credentials (offline starts).
    #[arg(long)]
    pub skip_credential_check: bool,
    /// Client-side limit on requests per second to Zebrunner.
    #[arg(long)]
    pub requests_per_second: Option<NonZeroU32>,
    /// Address for Prometheus metrics (GET /metrics), apart from --listen, e.g.
    /// 127.0.0.1:9464 (default: no metrics).
    #[arg(long)]
    pub metrics_listen: Option<SocketAddr>,
}

#[derive(Debug, Args)]
pub struct HttpArgs {
    /// Address for the Streamable HTTP transport (endpoint /mcp; default 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Host header values accepted (DNS-rebinding protection); repeat for several.
    #[arg(long = "allowed-host")]
    pub allowed_hosts: Vec<String>,
    /// Browser origins accepted, e.g. https://app.example.com:443; repeat for several.
    #[arg(long = "allowed-origin")]
    pub allowed_origins: Vec<String>,
    /// Largest request body accepted, in bytes.
    #[arg(long)]
    pub max_body_bytes: Option<usize>,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: String,
    /// Data size: small, or large (5,000 test cases in DEMO).
    #[arg(long, default_value = "small")]
    pub scale: String,
    /// Seed for the generated data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Serve the proposed Okta token exchange (POST /api/iam/v1/auth/token-exchange),
    /// trusting ID tokens from this issuer, e.g. https://acme.okta.com/oauth2/default
    /// (https, or http on loopback). Off unless set; needs --token-exchange-audience.
    #[arg(long, requires = "token_exchange_audience")]
    pub token_exchange_issuer: Option<String>,
    /// The `aud` the token exchange's ID tokens must carry: Zebrunner's Okta client id.
    #[arg(long, requires = "token_exchange_issuer")]
    pub token_exchange_audience: Option<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub http: HttpArgs,
    /// Sandbox data size: small or large.
    #[arg(long, default_value = "small")]
    pub scale: String,
    /// Seed for the sandbox data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

impl HttpArgs {
    /// The flags given, as configuration overrides.
    pub fn overrides(&self, into: &mut Map<String, Value>) {
        if let Some(listen) = self.listen {
            into.insert("listen".into(), json!(listen.to_string()));
        }
        if !self.allowed_hosts.is_empty() {
            into.insert("allowed_hosts".into(), json!(self.allowed_hosts));
        }
        if !self.allowed_origins.is_empty() {
            into.insert("allowed_origins".into(), json!(self.allowed_origins));
        }
        if let Some(bytes) = self.max_body_bytes {
            into.insert("max_body_bytes".into(), json!(bytes));
        }
    }
}

impl ServeArgs {
    /// The flags given, as configuration overrides.
    pub fn overrides(&self) -> Map<String, Value> {
        let mut map = Map::new();
        if let Some(transport) = self.transport {
            let name = match transport {
                Transport::Stdio => "stdio",
                Transport::Http => "http",
            };
            map.insert("transport".into(), json!(name));
        }
        self.http.overrides(&mut map);
        if self.skip_credential_check {
            map.insert("skip_credential_check".into(), json!(true));
        }
        if let Some(metrics) = self.metrics_listen {
            map.insert("metrics_listen".into(), json!(metrics.to_string()));
        }
        if let Some(rps) = self.requests_per_second {
            map.insert(
                "zebrunner".into(),
                json!({ "requests_per_second": rps.get() }),
            );
        }
        map
    }
}
