//! Zebrunner requests made by one tool call, read from the sandbox's request log
//! ([`call_logged`]), and the figure for `search_test_cases` with `count_only` over the
//! 5,000-case project. Its floor is one request per 100 cases (Zebrunner's largest page).

use std::{
    path::Path,
    time::{Duration, Instant},
};

use anyhow::Context;
use rmcp::{
    RoleClient, ServiceExt, model::CallToolRequestParams, service::RunningService,
    transport::StreamableHttpClientTransport,
};
use serde_json::{Value, json};

use crate::{procs, stats};

/// One tool call as measured: the sandbox's log of the Zebrunner requests it caused, its wall
/// time and its structured answer.
pub struct Measured {
    pub requests: Vec<Value>,
    pub elapsed: Duration,
    pub out: Value,
}

/// Clear the request log of the sandbox at `sandbox_url`, call `tool`, and read the log back.
pub async fn call_logged(
    client: &RunningService<RoleClient, ()>,
    http: &reqwest::Client,
    sandbox_url: &str,
    tool: &str,
    args: &Value,
) -> anyhow::Result<Measured> {
    let log = format!("{sandbox_url}/__sandbox/requests");
    http.delete(&log).send().await?.error_for_status()?;
    let started = Instant::now();
    let result = client
        .call_tool(
            CallToolRequestParams::new(tool.to_string())
                .with_arguments(args.as_object().cloned().unwrap_or_default()),
        )
        .await?;
    let elapsed = started.elapsed();
    anyhow::ensure!(result.is_error != Some(true), "{tool} failed: {result:?}");
    let out = result
        .structured_content
        .with_context(|| format!("{tool}: no structuredContent"))?;
    let requests: Vec<Value> = http
        .get(&log)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(Measured {
        requests,
        elapsed,
        out,
    })
}

/// One tool called `runs` times on one server: the first call, with cold client caches (bearer,
/// project id), and the warm ones after it.
pub struct Repeated {
    pub first: Measured,
    pub warm: Vec<Measured>,
}

impl Repeated {
    pub async fn call(
        client: &RunningService<RoleClient, ()>,
        http: &reqwest::Client,
        sandbox_url: &str,
        tool: &str,
        args: &Value,
        runs: usize,
    ) -> anyhow::Result<Self> {
        let first = call_logged(client, http, sandbox_url, tool, args).await?;
        let mut warm = Vec::with_capacity(runs.saturating_sub(1));
        for _ in 1..runs {
            warm.push(call_logged(client, http, sandbox_url, tool, args).await?);
        }
        Ok(Repeated { first, warm })
    }

    /// The median number of requests of the warm calls, or "-" without any.
    pub fn warm_requests(&self) -> String {
        let mut counts: Vec<usize> = self.warm.iter().map(|m| m.requests.len()).collect();
        counts.sort_unstable();
        counts
            .get(counts.len() / 2)
            .map_or("-".to_string(), |n| n.to_string())
    }

    /// The median wall time of the warm calls.
    pub fn warm_time(&self) -> String {
        let mut times: Vec<Duration> = self.warm.iter().map(|m| m.elapsed).collect();
        times.sort();
        stats::ms(stats::quantile(&times, 0.5))
    }
}

pub async fn run(bin: &Path) -> anyhow::Result<()> {
    let sandbox = procs::sandbox(bin, "large").await?;
    let (_server, url) = procs::http_server(bin, &sandbox, &[]).await?;
    let client = ().serve(StreamableHttpClientTransport::from_uri(url)).await?;
    let http = reqwest::Client::new();
    let args = json!({"project_key": "DEMO", "count_only": true});
    let Measured {
        requests,
        elapsed,
        out,
    } = call_logged(&client, &http, &sandbox.url, "search_test_cases", &args).await?;
    let total = out
        .get("total_matched")
        .and_then(Value::as_u64)
        .context("no total_matched in the result")?;
    let floor = total.div_ceil(100);
    println!("## search_test_cases count_only on DEMO at --scale large\n");
    println!(
        "| Cases counted | Zebrunner requests | Floor (1 per 100) | Wall time |\n|---|---|---|---|"
    );
    println!(
        "| {total} | {} | {floor} | {:.0} ms |\n",
        requests.len(),
        elapsed.as_secs_f64() * 1000.0
    );
    let _ = client.cancel().await;
    Ok(())
}
