//! The floor for a `get_test_case` call: the same Zebrunner request (`GET
//! /api/public/v1/test-cases/key:DEMO-n`) made straight to the sandbox, with no MCP server in
//! between. Measured in the same run as the server, so that overhead is a difference (or a
//! ratio) of figures taken under the same load.

use std::time::{Duration, Instant};

use rand::Rng;

use crate::procs::Sandbox;

/// DEMO has 250 cases at the small scale.
const CASES: usize = 250;

/// One request for the `i`-th test case, its body read in full.
async fn get(http: &reqwest::Client, sandbox: &Sandbox, i: usize) -> anyhow::Result<Duration> {
    let url = format!(
        "{}/api/public/v1/test-cases/key:DEMO-{}?projectKey=DEMO",
        sandbox.url,
        i % CASES + 1
    );
    let started = Instant::now();
    let response = http
        .get(&url)
        .basic_auth(&sandbox.login, Some(&sandbox.token))
        .send()
        .await?
        .error_for_status()?;
    response.bytes().await?;
    Ok(started.elapsed())
}

/// `calls` requests one after another over one kept-alive connection (after `warm_up` not
/// counted), sorted.
pub async fn sequential(
    sandbox: &Sandbox,
    calls: usize,
    warm_up: usize,
) -> anyhow::Result<Vec<Duration>> {
    let http = reqwest::Client::new();
    let mut latencies = Vec::with_capacity(calls);
    for i in 0..warm_up + calls {
        let took = get(&http, sandbox, i).await?;
        if i >= warm_up {
            latencies.push(took);
        }
    }
    latencies.sort();
    Ok(latencies)
}

/// `clients` concurrent clients, each on its own connection, requesting random cases for
/// `duration`; every latency, sorted.
pub async fn concurrent(
    sandbox: &Sandbox,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Vec<Duration>> {
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let http = reqwest::Client::new();
        let sandbox = sandbox.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while Instant::now() < deadline {
                let i = rand::rng().random_range(0..CASES);
                mine.push(get(&http, &sandbox, i).await?);
            }
            Ok::<_, anyhow::Error>(mine)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    latencies.sort();
    Ok(latencies)
}
