//! MCP over stdin/stdout, for clients that start the server as a child
//! process (Claude Desktop, Claude Code, Cursor, VS Code).

use anyhow::Context;
use futures::future::BoxFuture;
use rmcp::ServiceExt;

use crate::handler::ZebrunnerMcp;

/// Serve one MCP session on stdin/stdout until the client closes it.
/// Logs must go to stderr: stdout carries the protocol.
///
/// The future comes boxed so that rmcp's session machinery is compiled here,
/// once, and not again in every crate that awaits it (the binary, each test):
/// an `async fn` body is compiled where its future is polled.
pub fn serve(server: ZebrunnerMcp) -> BoxFuture<'static, anyhow::Result<()>> {
    Box::pin(async move {
        let running = server
            .serve(rmcp::transport::stdio())
            .await
            .context("the MCP client did not complete initialization on stdio")?;
        running
            .waiting()
            .await
            .context("the stdio session failed")?;
        Ok(())
    })
}
