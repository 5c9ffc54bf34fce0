//! `get_test_case` throughput and latency over Streamable HTTP, each
//! simulated client holding its own MCP connection, and the server's memory
//! idle and under load.

use std::{
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use rand::Rng;
use rmcp::{ServiceExt, model::CallToolRequestParams, transport::StreamableHttpClientTransport};
use serde_json::json;
use tokio::sync::Mutex;

use crate::{procs, stats};

/// DEMO has 250 cases at the small scale.
const CASES: u32 = 250;

pub async fn run(bin: &Path, clients: &[usize], duration: Duration) -> anyhow::Result<()> {
    let sandbox = procs::sandbox(bin, "small").await?;
    let (server, url) = procs::http_server(bin, &sandbox).await?;
    let pid = server.pid().context("server pid")?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = procs::rss_kib(pid);
    println!(
        "## get_test_case over Streamable HTTP ({}s per row)\n",
        duration.as_secs()
    );
    println!("Server RSS idle: {}\n", kib(idle));
    println!(
        "| Clients | protocol | calls/s | p50 | p99 | errors | peak RSS under load |\n|---|---|---|---|---|---|---|"
    );
    for &n in clients {
        let (row, peak) = measure(&url, n, duration, pid).await?;
        println!(
            "| {n} | {} | {:.0} | {} | {} | {} | {} |",
            row.protocol,
            row.calls as f64 / duration.as_secs_f64(),
            stats::ms(stats::quantile(&row.latencies, 0.5)),
            stats::ms(stats::quantile(&row.latencies, 0.99)),
            row.errors,
            kib(peak)
        );
    }
    println!();
    Ok(())
}

struct Row {
    protocol: String,
    calls: usize,
    errors: usize,
    latencies: Vec<Duration>,
}

async fn measure(
    url: &str,
    clients: usize,
    duration: Duration,
    pid: u32,
) -> anyhow::Result<(Row, Option<u64>)> {
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut sessions = Vec::new();
    for _ in 0..clients {
        let client = ().serve(StreamableHttpClientTransport::from_uri(url.to_string())).await?;
        sessions.push(client);
    }
    let protocol = sessions
        .first()
        .and_then(|c| c.peer_info().map(|i| i.protocol_version.to_string()))
        .unwrap_or_default();
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for client in &sessions {
        let peer = client.peer().clone();
        let latencies = latencies.clone();
        let errors = errors.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while Instant::now() < deadline {
                let n = rand::rng().random_range(1..=CASES);
                let args = json!({"key": format!("DEMO-{n}")});
                let params = CallToolRequestParams::new("get_test_case")
                    .with_arguments(args.as_object().cloned().unwrap_or_default());
                let started = Instant::now();
                match peer.call_tool(params).await {
                    Ok(result) if result.is_error != Some(true) => mine.push(started.elapsed()),
                    _ => {
                        errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }
            latencies.lock().await.extend(mine);
        }));
    }
    let mut peak = None;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        peak = peak.max(procs::rss_kib(pid));
    }
    for task in tasks {
        task.await?;
    }
    for client in sessions {
        let _ = client.cancel().await;
    }
    let mut latencies = std::mem::take(&mut *latencies.lock().await);
    latencies.sort();
    Ok((
        Row {
            protocol,
            calls: latencies.len(),
            errors: errors.load(std::sync::atomic::Ordering::Relaxed),
            latencies,
        },
        peak,
    ))
}

fn kib(v: Option<u64>) -> String {
    v.map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".into())
}
