//! Streamable HTTP options and the protocol versions served.

use std::{net::SocketAddr, time::Duration};

use rmcp::model::ProtocolVersion;

/// Protocol revisions this server implements. 2026-07-28 is stateless; the
/// two before it use sessions (`Mcp-Session-Id`) on Streamable HTTP.
pub const SUPPORTED_PROTOCOL_VERSIONS: [ProtocolVersion; 3] = [
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_11_25,
    ProtocolVersion::V_2026_07_28,
];

/// Default cap on a request body: MCP messages are small; anything larger is
/// a mistake or an attack.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Default time calls in flight get to finish on SIGTERM: below Kubernetes' default
/// `terminationGracePeriodSeconds` (30 s), leaving time to close and flush.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Options for the Streamable HTTP transport.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// `Host` header values accepted (DNS-rebinding protection). Empty means
    /// the loopback names when bound to loopback.
    pub allowed_hosts: Vec<String>,
    /// Browser origins accepted. A request carrying any other `Origin` gets 403.
    pub allowed_origins: Vec<String>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// On shutdown, how long requests in flight get to finish.
    pub shutdown_grace: Duration,
    /// Rate limits and the cap on requests in flight.
    pub limits: crate::transport::http::limits::LimitsConfig,
}

impl HttpOptions {
    /// Options for `listen` with defaults that are safe on a laptop: only
    /// loopback hosts and loopback origins.
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            limits: Default::default(),
        }
    }

    /// Host names accepted: the configured ones, or loopback names (with and
    /// without the port) when none are configured.
    pub fn effective_allowed_hosts(&self, bound: SocketAddr) -> Vec<String> {
        if !self.allowed_hosts.is_empty() {
            return self.allowed_hosts.clone();
        }
        let port = bound.port();
        ["localhost", "127.0.0.1", "[::1]", "::1"]
            .iter()
            .flat_map(|h| [h.to_string(), format!("{h}:{port}")])
            .collect()
    }

    /// Origins accepted: the configured ones, or loopback origins on any port.
    pub fn effective_allowed_origins(&self) -> Vec<String> {
        if !self.allowed_origins.is_empty() {
            return self.allowed_origins.clone();
        }
        ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"]
            .iter()
            .map(|o| o.to_string())
            .collect()
    }
}
