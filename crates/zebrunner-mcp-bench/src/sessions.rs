//! Memory held per MCP session: `count` sessions opened over Streamable HTTP (initialize and
//! the initialized notification, as a client does) and left open, then closed with `DELETE`.
//! The server's resident memory idle, with them all open, and after they are closed.

use std::{path::Path, time::Duration};

use anyhow::Context;
use serde_json::json;

use crate::procs;

/// Sessions opened at once (each opening is two requests).
const AT_ONCE: usize = 32;
const PROTOCOL: &str = "2025-11-25";

pub async fn run(bin: &Path, count: usize) -> anyhow::Result<()> {
    let sandbox = procs::sandbox(bin, "small").await?;
    let (server, url) = procs::http_server(bin, &sandbox, &[]).await?;
    let pid = server.pid().context("server pid")?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = procs::rss_kib(pid);
    let http = reqwest::Client::new();
    let mut ids = Vec::with_capacity(count);
    let started = std::time::Instant::now();
    while ids.len() < count {
        let batch = AT_ONCE.min(count - ids.len());
        let tasks: Vec<_> = (0..batch)
            .map(|_| tokio::spawn(open(http.clone(), url.clone())))
            .collect();
        for task in tasks {
            ids.push(task.await??);
        }
    }
    let opening = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let open_rss = procs::rss_kib(pid);
    for id in &ids {
        http.delete(&url)
            .header("mcp-session-id", id)
            .header("mcp-protocol-version", PROTOCOL)
            .send()
            .await?
            .error_for_status()
            .context("DELETE of a session")?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let closed = procs::rss_kib(pid);
    println!("## {count} MCP sessions over Streamable HTTP\n");
    println!(
        "| RSS idle | RSS with {count} sessions open | per session | RSS 2 s after closing them | opening took |\n|---|---|---|---|---|"
    );
    let per_session = match (idle, open_rss) {
        (Some(idle), Some(open)) if count > 0 => {
            format!("{:.1} KiB", open.saturating_sub(idle) as f64 / count as f64)
        }
        _ => "n/a".into(),
    };
    println!(
        "| {} | {} | {per_session} | {} | {:.2} s |\n",
        mib(idle),
        mib(open_rss),
        mib(closed),
        opening.as_secs_f64()
    );
    drop(server);
    Ok(())
}

/// Open one session; its `Mcp-Session-Id`.
async fn open(http: reqwest::Client, url: String) -> anyhow::Result<String> {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL, "capabilities": {},
        "clientInfo": {"name": "zebrunner-mcp-bench", "version": "1"}}});
    let response = http
        .post(&url)
        .header("accept", "application/json, text/event-stream")
        .json(&init)
        .send()
        .await?
        .error_for_status()
        .context("initialize")?;
    let id = response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .context("no Mcp-Session-Id on the initialize answer")?
        .to_string();
    response.bytes().await?;
    http.post(&url)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", &id)
        .header("mcp-protocol-version", PROTOCOL)
        .json(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .send()
        .await?
        .error_for_status()
        .context("notifications/initialized")?;
    Ok(id)
}

fn mib(kib: Option<u64>) -> String {
    kib.map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".into())
}
