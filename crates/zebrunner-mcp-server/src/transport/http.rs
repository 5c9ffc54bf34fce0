//! MCP over Streamable HTTP at `/mcp`, plus `GET /healthz` for liveness.
//!
//! rmcp implements the transport: sessions (`Mcp-Session-Id`, the GET
//! stream, DELETE) for protocol versions before 2026-07-28, stateless
//! requests for 2026-07-28, `Host` validation against DNS rebinding, `Origin`
//! validation (403) and the request body limit (413). This module chooses
//! those settings and mounts the service; identity and policy middleware go
//! in front of `/mcp` when they land.

use std::{future::Future, net::SocketAddr, sync::Arc};

use anyhow::Context;
use axum::{Json, Router, routing::get};
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{config::HttpOptions, handler::ZebrunnerMcp};

/// The HTTP application: `/mcp` and `/healthz`.
pub fn app(
    server: ZebrunnerMcp,
    options: &HttpOptions,
    bound: SocketAddr,
    shutdown: CancellationToken,
) -> Router {
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(options.effective_allowed_hosts(bound))
        .with_allowed_origins(options.effective_allowed_origins())
        .enforce_origin_validation()
        .with_max_request_body_bytes(options.max_body_bytes)
        .with_cancellation_token(shutdown);
    let mcp = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    Router::new()
        .nest_service("/mcp", mcp)
        .route("/healthz", get(healthz))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

/// A bound HTTP server, ready to run.
pub struct HttpServer {
    listener: TcpListener,
    app: Router,
    shutdown: CancellationToken,
}

impl HttpServer {
    /// Bind `options.listen` and build the app.
    pub async fn bind(server: ZebrunnerMcp, options: &HttpOptions) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(options.listen)
            .await
            .with_context(|| format!("could not listen on {}", options.listen))?;
        let bound = listener.local_addr().context("no local address")?;
        let shutdown = CancellationToken::new();
        let app = app(server, options, bound, shutdown.clone());
        Ok(Self {
            listener,
            app,
            shutdown,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        self.listener.local_addr().context("no local address")
    }

    /// Serve until `signal` completes, then close sessions and stop.
    pub async fn run(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let shutdown = self.shutdown.clone();
        axum::serve(self.listener, self.app)
            .with_graceful_shutdown(async move {
                signal.await;
                shutdown.cancel();
            })
            .await
            .context("the HTTP server failed")
    }
}
