//! One file per subcommand.

pub mod audit;
pub mod config;
pub mod demo;
pub mod env;
pub mod healthcheck;
pub mod oauth;
pub mod online;
pub mod reference;
pub mod sandbox;
pub mod serve;
pub mod setup;
pub mod tools;
pub mod vault;
pub mod vault_backend;

use anyhow::Context;
use zebrunner_client::{ClientConfig, ZebrunnerClient, ZebrunnerUrl};

/// Wait for Ctrl-C or SIGTERM (containers stop with SIGTERM).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Build the Zebrunner client and, unless skipped, prove the credentials work.
pub async fn connect(
    config: ClientConfig,
    check_credentials: bool,
) -> anyhow::Result<ZebrunnerClient> {
    let host = config.url.host().to_string();
    let client = ZebrunnerClient::new(config).context("invalid Zebrunner client settings")?;
    if check_credentials {
        let identity = client.check_credentials().await.with_context(|| {
            format!(
                "Zebrunner at {host} did not accept the configured credentials \
                 (use --skip-credential-check to start offline)"
            )
        })?;
        tracing::info!(zebrunner = %host, user = %identity.username, "Zebrunner credentials accepted");
    }
    Ok(client)
}

pub fn parse_url(url: &str) -> anyhow::Result<ZebrunnerUrl> {
    ZebrunnerUrl::parse(url).with_context(|| {
        "ZEBRUNNER_URL must be the workspace address, e.g. https://acme.zebrunner.com \
         (optionally ending in /api/public/v1)"
            .to_string()
    })
}
