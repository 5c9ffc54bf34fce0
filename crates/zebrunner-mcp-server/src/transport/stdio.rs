//! MCP over stdin/stdout, for clients that start the server as a child
//! process (Claude Desktop, Claude Code, Cursor, VS Code).

use anyhow::Context;
use rmcp::ServiceExt;

use crate::handler::ZebrunnerMcp;

/// Serve one MCP session on stdin/stdout until the client closes it.
/// Logs must go to stderr: stdout carries the protocol.
pub async fn serve(server: ZebrunnerMcp) -> anyhow::Result<()> {
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .context("the MCP client did not complete initialization on stdio")?;
    running
        .waiting()
        .await
        .context("the stdio session failed")?;
    Ok(())
}
