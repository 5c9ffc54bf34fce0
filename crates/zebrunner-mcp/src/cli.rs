//! The command line. Secrets are never accepted as arguments (they would
//! show in process listings); they come from the environment or files.

use std::{net::SocketAddr, num::NonZeroU32};

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "zebrunner-mcp",
    version,
    about = "MCP server for Zebrunner test management"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Transport {
    Stdio,
    Http,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// MCP transport.
    #[arg(long, value_enum, default_value_t = Transport::Stdio, env = "ZMCP_TRANSPORT")]
    pub transport: Transport,
    #[command(flatten)]
    pub http: HttpArgs,
    /// Start without checking the Zebrunner credentials (offline starts).
    #[arg(long, env = "ZMCP_SKIP_CREDENTIAL_CHECK")]
    pub skip_credential_check: bool,
    /// Client-side limit on requests per second to Zebrunner.
    #[arg(long, env = "ZMCP_ZEBRUNNER_RPS")]
    pub requests_per_second: Option<NonZeroU32>,
}

#[derive(Debug, Args)]
pub struct HttpArgs {
    /// Address for the Streamable HTTP transport (endpoint /mcp).
    #[arg(long, default_value = "127.0.0.1:8080", env = "ZMCP_LISTEN")]
    pub listen: SocketAddr,
    /// Host header values accepted (DNS-rebinding protection); repeat for
    /// several. Default: loopback names.
    #[arg(
        long = "allowed-host",
        env = "ZMCP_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,
    /// Browser origins accepted, e.g. https://app.example.com:443; repeat for
    /// several. Default: loopback origins.
    #[arg(
        long = "allowed-origin",
        env = "ZMCP_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = zebrunner_mcp_server::config::DEFAULT_MAX_BODY_BYTES, env = "ZMCP_MAX_BODY_BYTES")]
    pub max_body_bytes: usize,
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
    pub fn options(&self) -> zebrunner_mcp_server::HttpOptions {
        let mut options = zebrunner_mcp_server::HttpOptions::new(self.listen);
        options.allowed_hosts = self.allowed_hosts.clone();
        options.allowed_origins = self.allowed_origins.clone();
        options.max_body_bytes = self.max_body_bytes;
        options
    }
}
