//! `zebrunner-mcp serve`: MCP on stdio or Streamable HTTP against a real
//! Zebrunner workspace, as the configured service account, with the
//! configured identity, policy and audit log.

use std::path::Path;

use anyhow::Context;

use zebrunner_mcp_server::{
    Caller, ZebrunnerMcp, config::Transport, tools::cursor::CursorKey, transport,
};

use super::{setup, shutdown_signal};
use crate::cli::ServeArgs;

pub async fn run(config_file: Option<&Path>, args: ServeArgs) -> anyhow::Result<()> {
    let config = setup::load_config(config_file, args.overrides())?;
    setup::refuse_errors(&config)?;
    if let Some(path) = &config.review_rules_file {
        let rules = zebrunner_mcp_server::tools::review_test_case::ReviewRules::from_file(path)
            .map_err(|e| anyhow::anyhow!("review_rules_file: {e}"))?;
        zebrunner_mcp_server::tools::review_test_case::install_rules(rules);
    }
    let audit = setup::audit_log(&config).await?;
    let tokens = setup::token_storage(&config, &audit).await?;
    let credentials = setup::credentials(&config, &tokens).await?;
    let server = ZebrunnerMcp::new(credentials.clone())
        .with_audit(audit)
        .with_confirmation_ttl(config.confirmation_ttl())
        .with_cursor_key(cursor_key(&tokens).await?)
        .with_storage(tokens.clone())
        .with_toolsets(config.toolsets());
    match config.transport {
        Transport::Stdio => {
            let server = server.with_local_caller(Caller::local("stdio", config.read_only));
            transport::stdio::serve(server).await
        }
        Transport::Http => {
            let okta = setup::okta(&config).await?;
            let mut security = setup::security(&config, &tokens, okta.as_ref()).await?;
            security.connect =
                setup::connect_page(&config, &credentials, &tokens, okta.as_ref()).await?;
            let http =
                transport::http::HttpServer::bind(server, &config.http_options(), security).await?;
            // Printed on stdout so scripts and tests can find a port chosen with :0.
            println!("mcp listening on http://{}/mcp", http.local_addr()?);
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
