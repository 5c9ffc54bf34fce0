//! `zebrunner-mcp serve`: MCP on stdio or Streamable HTTP against a real
//! Zebrunner workspace, as the configured service account, with the
//! configured identity, policy and audit log.
//!
//! On SIGTERM or Ctrl-C it shuts down gracefully (`shutdown_grace_secs`; see
//! `zebrunner_mcp_server::transport::http` and `::stdio`), then closes the audit log. While it
//! runs it prunes audit records older than `audit.retention_days` and, with `metrics_listen`,
//! serves Prometheus metrics there.

use std::{net::SocketAddr, path::Path, time::Duration};

use anyhow::Context;

use zebrunner_mcp_server::{
    Caller, ZebrunnerMcp,
    config::{Config, Transport},
    observe::{self, Observer},
    tools::cursor::CursorKey,
    transport,
};
use zebrunner_storage::audit::{AuditLog, AuditSink, retention};

use super::{setup, shutdown_signal};
use crate::cli::ServeArgs;

/// Load the configuration, then serve on the runtime the transport suits: on stdio one client
/// sends one request at a time, so everything runs on the calling thread (no hand-offs between
/// worker threads for each call); over HTTP, the multi-threaded runtime shares the cores among
/// many clients.
pub fn run(config_file: Option<&Path>, args: ServeArgs) -> anyhow::Result<()> {
    // The tool schemas take longest to build; they build while the rest starts.
    zebrunner_mcp_server::tools::build_router_in_background();
    let config = setup::load_config(config_file, args.overrides())?;
    setup::refuse_errors(&config)?;
    if let Some(path) = &config.review_rules_file {
        let rules = zebrunner_mcp_server::tools::review_test_case::ReviewRules::from_file(path)
            .map_err(|e| anyhow::anyhow!("review_rules_file: {e}"))?;
        zebrunner_mcp_server::tools::review_test_case::install_rules(rules);
    }
    let runtime = match config.transport {
        Transport::Stdio => tokio::runtime::Builder::new_current_thread(),
        Transport::Http => tokio::runtime::Builder::new_multi_thread(),
    }
    .enable_all()
    .build()
    .context("could not start the async runtime")?;
    runtime.block_on(run_with(config))
}

async fn run_with(config: Config) -> anyhow::Result<()> {
    let audit = setup::audit_log(&config).await?;
    // Before the rest of start-up, so that it (the issuer's keys) is counted too.
    let metrics = match config.metrics_listen {
        Some(listen) => Some(metrics(listen, &audit).await?),
        None => None,
    };
    let pruning = retention(&config, &audit);
    let served = serve(&config, audit.clone()).await;
    if let Some(job) = pruning {
        job.abort();
    }
    if let Some(stop) = metrics {
        let _ = stop.send(());
    }
    // Stores every record still queued for the audit writer (reads' records; a write's was
    // stored before its call answered), then closes the database cleanly.
    if tokio::time::timeout(AUDIT_CLOSE, audit.close())
        .await
        .is_err()
    {
        tracing::warn!("audit records still being written after {AUDIT_CLOSE:?}; exiting anyway");
    }
    served
}

/// Install the Prometheus recorder and serve `/metrics` on `listen` until the returned sender
/// is used (or dropped).
async fn metrics(
    listen: SocketAddr,
    audit: &AuditLog,
) -> anyhow::Result<tokio::sync::oneshot::Sender<()>> {
    let handle = observe::metrics::install().map_err(|e| anyhow::anyhow!("metrics: {e}"))?;
    let exporter = observe::metrics::Exporter::new(handle, Observer::new(audit.clone()));
    let server = transport::http::metrics::MetricsServer::bind(listen, exporter).await?;
    // On stderr (the log): with stdio, stdout is the MCP channel.
    tracing::info!("metrics on http://{}/metrics", server.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let stopped = async move {
            let _ = stopped.await;
        };
        if let Err(error) = server.run(stopped).await {
            tracing::error!(error = %format!("{error:#}"), "the metrics server stopped");
        }
    });
    Ok(stop)
}

/// At shutdown, how long the audit records still queued get to be stored.
const AUDIT_CLOSE: Duration = Duration::from_secs(5);
/// How often `serve` prunes the audit log (one replica at a time).
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// The pruning job, when records go to the database and `audit.retention_days` is not 0.
fn retention(config: &Config, audit: &AuditLog) -> Option<tokio::task::JoinHandle<()>> {
    let days = config.audit.retention_days;
    let storage = audit.sinks().iter().find_map(|sink| match sink {
        AuditSink::Database(storage) => Some(storage.clone()),
        _ => None,
    })?;
    if days == 0 {
        tracing::info!("audit retention off (audit.retention_days = 0): records are kept forever");
        return None;
    }
    tracing::info!(
        days,
        "audit records older than the retention period are deleted hourly"
    );
    Some(retention::spawn_pruning(storage, days, PRUNE_EVERY))
}

async fn serve(config: &Config, audit: AuditLog) -> anyhow::Result<()> {
    let tokens = setup::token_storage(config, &audit).await?;
    let credentials = setup::credentials(config, &tokens).await?;
    let server = ZebrunnerMcp::new(credentials.clone())
        .with_audit(audit.clone())
        .with_confirmation_ttl(config.confirmation_ttl())
        .with_tool_deadline(config.tool_deadline())
        .with_cursor_key(cursor_key(&tokens).await?)
        .with_storage(tokens.clone())
        .with_toolsets(config.toolsets())
        .with_message_limits((&config.limits).into());
    let server = match config.start_toolsets() {
        Some(start) => server.with_dynamic_toolsets(start),
        None => server,
    };
    match config.transport {
        Transport::Stdio => {
            let server = server.with_local_caller(Caller::local("stdio", config.read_only));
            transport::stdio::serve_until(server, shutdown_signal(), config.shutdown_grace()).await
        }
        Transport::Http => {
            let okta = setup::okta(config).await?;
            let connect = setup::connect_page(config, &credentials, &tokens, okta.as_ref()).await?;
            let security = setup::security(
                config,
                &tokens,
                okta.as_ref(),
                &credentials,
                &audit,
                connect,
            )
            .await?;
            let http =
                transport::http::HttpServer::bind(server, &config.http_options(), security).await?;
            // Printed on stdout so scripts and tests can find a port chosen with :0.
            crate::output::reportln!("mcp listening on http://{}/mcp", http.local_addr()?)?;
            http.run(shutdown_signal()).await
        }
    }
}

/// The key that signs pagination cursors, shared through the database so a
/// cursor from one replica works on every other.
async fn cursor_key(storage: &zebrunner_storage::Storage) -> anyhow::Result<CursorKey> {
    let key = storage
        .server_secret(CursorKey::STORAGE_NAME, CursorKey::LEN)
        .await
        .context("could not read or create the cursor key in the database")?;
    Ok(CursorKey::new(&key))
}
