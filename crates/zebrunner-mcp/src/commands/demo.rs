//! `zebrunner-mcp demo`: the sandbox Zebrunner and the MCP server in one
//! process, with ready-to-paste client configuration.

use anyhow::Context;
use serde_json::json;
use zebrunner_client::ClientConfig;
use zebrunner_mcp_server::{Credentials, ZebrunnerMcp, transport};
use zebrunner_sandbox::{Sandbox, SandboxConfig};

use super::{connect, parse_url, shutdown_signal};
use crate::cli::DemoArgs;

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let config = SandboxConfig {
        scale: args
            .scale
            .parse()
            .map_err(|e| anyhow::anyhow!("--scale: {e}"))?,
        seed: args.seed,
    };
    let sandbox = Sandbox::spawn(config, "127.0.0.1:0")
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
    let server = ZebrunnerMcp::new(Credentials::ServiceAccount(client));
    let mut overrides = serde_json::Map::new();
    args.http.overrides(&mut overrides);
    let config = super::setup::load_config(None, overrides)?;
    let security = transport::http::Security::open(false);
    let http = transport::http::HttpServer::bind(server, &config.http_options(), security).await?;
    let mcp_url = format!("http://{}/mcp", http.local_addr()?);
    println!(
        "{}",
        instructions(&sandbox.url, &mcp_url, &user.login, &user.token)
    );
    http.run(shutdown_signal()).await
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
    format!(
        "Zebrunner MCP demo is running (Ctrl-C stops it).\n\
         \n\
         Sandbox Zebrunner: {sandbox_url} (signed in as {login}; sandbox data only)\n\
         MCP endpoint (Streamable HTTP): {mcp_url}\n\
         \n\
         Claude Desktop (stdio), in claude_desktop_config.json, while this demo runs:\n\
         {pretty}\n\
         \n\
         Claude Code:    claude mcp add --transport http zebrunner {mcp_url}\n\
         Cursor/VS Code: add an MCP server of type \"http\" with url {mcp_url}\n\
         MCP Inspector:  npx @modelcontextprotocol/inspector --cli {mcp_url} --transport http --method tools/list\n"
    )
}
