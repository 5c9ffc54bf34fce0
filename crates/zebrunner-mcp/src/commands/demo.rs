//! `zebrunner-mcp demo`: the sandbox Zebrunner and the MCP server in one
//! process, with ready-to-paste client configuration.

use std::net::SocketAddr;

use anyhow::Context;
use serde_json::json;
use zebrunner_client::ClientConfig;
use zebrunner_mcp_server::{Credentials, ZebrunnerMcp, transport};
use zebrunner_sandbox::{Sandbox, SandboxConfig};

use super::{connect, parse_url, shutdown_signal};
use crate::cli::DemoArgs;
use crate::output::reportln;

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let mut overrides = serde_json::Map::new();
    args.http.overrides(&mut overrides);
    let config = super::setup::load_config(None, overrides)?;
    // Before anything starts, so a refused address leaves nothing running.
    refuse_beyond_loopback(config.listen)?;
    let sandbox_config = SandboxConfig {
        scale: args
            .scale
            .parse()
            .map_err(|e| anyhow::anyhow!("--scale: {e}"))?,
        seed: args.seed,
    };
    let sandbox = Sandbox::spawn(sandbox_config, "127.0.0.1:0")
        .await
        .context("could not start the sandbox")?;
    let user = sandbox
        .sandbox
        .users()
        .into_iter()
        .next()
        .context("the sandbox has no users")?;
    let client_config = ClientConfig::new(
        parse_url(&sandbox.url)?,
        user.login.clone(),
        user.token.clone().into(),
    );
    let client = connect(client_config, true).await?;
    // The same audit sinks and database as `serve` with this configuration,
    // so `zebrunner-mcp audit tail` shows the demo's calls too.
    let audit = super::setup::audit_log(&config).await?;
    let storage = super::setup::token_storage(&config, &audit).await?;
    let audit_at = audit_location(&config);
    let server = ZebrunnerMcp::new(Credentials::ServiceAccount(client))
        .with_audit(audit)
        .with_storage(storage);
    let security = transport::http::Security::open(false);
    let http = transport::http::HttpServer::bind(server, &config.http_options(), security).await?;
    let mcp_url = format!("http://{}/mcp", http.local_addr()?);
    reportln!(
        "{}",
        instructions(&sandbox.url, &mcp_url, &user.login, &user.token)
    )?;
    reportln!("{audit_at}")?;
    http.run(shutdown_signal()).await
}

/// Where the demo's audit records go, and how to read them.
fn audit_location(config: &zebrunner_mcp_server::config::Config) -> String {
    use zebrunner_mcp_server::config::AuditSinkKind;
    let sinks: Vec<String> = config
        .audit
        .sinks
        .iter()
        .map(|sink| match sink {
            AuditSinkKind::Database => match super::setup::database_url(config) {
                Ok(url) => format!(
                    "the database {} (`zebrunner-mcp audit tail` reads it)",
                    super::setup::redact_url(&url)
                ),
                Err(_) => "the database".to_string(),
            },
            AuditSinkKind::Stdout => "standard output".to_string(),
            AuditSinkKind::File => format!(
                "the file {}",
                config
                    .audit
                    .file
                    .as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            ),
        })
        .collect();
    if sinks.is_empty() {
        "Audit log: off (audit.sinks is empty).".into()
    } else {
        format!("Audit log: {}.", sinks.join(", "))
    }
}

/// The demo has no identity (anyone who reaches it acts as the sandbox
/// account, writes included), so, like `serve` with identity `none`, it
/// listens only on loopback.
fn refuse_beyond_loopback(listen: SocketAddr) -> anyhow::Result<()> {
    if listen.ip().is_loopback() {
        return Ok(());
    }
    anyhow::bail!(
        "demo will not listen on {listen}: it has no caller identity, so anyone who reaches that \
         address could use every sandbox project and tool. Listen on loopback (the default \
         127.0.0.1:8080, or --listen 127.0.0.1:PORT); to share a server, run `zebrunner-mcp \
         serve --transport http` with identity = \"oidc\" (docs/configuration.md)"
    )
}

fn instructions(sandbox_url: &str, mcp_url: &str, login: &str, token: &str) -> String {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "zebrunner-mcp".into());
    let claude_desktop = json!({
        "mcpServers": {
            "zebrunner": {
                "command": exe,
                "args": ["serve", "--transport", "stdio"],
                "env": {
                    "ZEBRUNNER_URL": sandbox_url,
                    "ZEBRUNNER_LOGIN": login,
                    "ZEBRUNNER_TOKEN": token,
                }
            }
        }
    });
    let pretty = serde_json::to_string_pretty(&claude_desktop).unwrap_or_default();
    let cursor = json!({ "mcpServers": { "zebrunner": { "url": mcp_url } } });
    let cursor = serde_json::to_string_pretty(&cursor).unwrap_or_default();
    let vscode = json!({ "servers": { "zebrunner": { "type": "http", "url": mcp_url } } });
    let vscode = serde_json::to_string_pretty(&vscode).unwrap_or_default();
    format!(
        "Zebrunner MCP demo is running (Ctrl-C stops it).\n\
         \n\
         Sandbox Zebrunner: {sandbox_url} (signed in as {login}; sandbox data only)\n\
         MCP endpoint (Streamable HTTP): {mcp_url}\n\
         \n\
         Claude Desktop (stdio), in claude_desktop_config.json, while this demo runs:\n\
         {pretty}\n\
         \n\
         Cursor, in ~/.cursor/mcp.json (or .cursor/mcp.json in a project):\n\
         {cursor}\n\
         \n\
         VS Code, in .vscode/mcp.json:\n\
         {vscode}\n\
         \n\
         Claude Code:    claude mcp add --transport http zebrunner {mcp_url}\n\
         MCP Inspector:  npx @modelcontextprotocol/inspector --cli {mcp_url} --transport http --method tools/list\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::HttpArgs;

    fn args(listen: &str) -> DemoArgs {
        DemoArgs {
            http: HttpArgs {
                listen: Some(listen.parse().unwrap()),
                allowed_hosts: Vec::new(),
                allowed_origins: Vec::new(),
                max_body_bytes: None,
            },
            scale: "small".into(),
            seed: 42,
        }
    }

    #[test]
    fn instructions_give_paste_ready_configs_for_each_client() {
        let text = instructions(
            "http://127.0.0.1:1",
            "http://127.0.0.1:8080/mcp",
            "alice",
            "t",
        );
        let blocks: Vec<serde_json::Value> = text
            .split("\n{")
            .skip(1)
            .map(|rest| {
                let end = rest.find("\n}").expect("a closed JSON block") + 2;
                serde_json::from_str(&format!("{{{}", &rest[..end])).expect("JSON")
            })
            .collect();
        assert_eq!(blocks.len(), 3, "{text}");
        assert!(blocks[0]["mcpServers"]["zebrunner"]["command"].is_string());
        assert_eq!(
            blocks[1]["mcpServers"]["zebrunner"]["url"],
            "http://127.0.0.1:8080/mcp"
        );
        assert_eq!(blocks[2]["servers"]["zebrunner"]["type"], "http");
        assert_eq!(
            blocks[2]["servers"]["zebrunner"]["url"],
            "http://127.0.0.1:8080/mcp"
        );
    }

    #[test]
    fn loopback_addresses_are_fine() {
        for listen in ["127.0.0.1:8080", "127.1.2.3:0", "[::1]:0"] {
            assert!(
                refuse_beyond_loopback(listen.parse().unwrap()).is_ok(),
                "{listen}"
            );
        }
    }

    #[tokio::test]
    async fn refuses_addresses_beyond_loopback() {
        for listen in ["0.0.0.0:0", "[::]:0", "192.0.2.10:8080"] {
            // Without the check the demo would start serving and never return.
            let outcome =
                tokio::time::timeout(std::time::Duration::from_secs(20), run(args(listen))).await;
            let error = outcome
                .unwrap_or_else(|_| panic!("demo --listen {listen} started serving"))
                .unwrap_err()
                .to_string();
            for needed in [listen, "127.0.0.1", "serve", "identity = \"oidc\""] {
                assert!(error.contains(needed), "{needed} missing from: {error}");
            }
        }
    }
}
