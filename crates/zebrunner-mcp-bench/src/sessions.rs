//! Memory held per MCP session: `count` sessions opened over Streamable HTTP (initialize and
//! the initialized notification, as a client does) and left open, then closed with `DELETE`.
//! The server's resident memory idle, with them all open, and after they are closed.

use std::{path::Path, time::Duration};

use anyhow::Context;

use crate::{procs, raw_client::RawSession};

/// Sessions opened at once (each opening is two requests).
const AT_ONCE: usize = 32;

pub async fn run(bin: &Path, count: usize) -> anyhow::Result<()> {
    let sandbox = procs::sandbox(bin, "small").await?;
    let (server, url) = procs::http_server(bin, &sandbox, &[]).await?;
    let pid = server.pid().context("server pid")?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = procs::rss_kib(pid);
    let http = reqwest::Client::new();
    let mut sessions = Vec::with_capacity(count);
    let started = std::time::Instant::now();
    while sessions.len() < count {
        let batch = AT_ONCE.min(count - sessions.len());
        let tasks: Vec<_> = (0..batch)
            .map(|_| {
                let (http, url) = (http.clone(), url.clone());
                tokio::spawn(async move { RawSession::open_with(http, &url, None).await })
            })
            .collect();
        for task in tasks {
            sessions.push(task.await??);
        }
    }
    let opening = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let open_rss = procs::rss_kib(pid);
    for session in sessions {
        session.close().await?;
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

fn mib(kib: Option<u64>) -> String {
    kib.map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".into())
}
