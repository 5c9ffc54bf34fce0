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

use crate::procs;

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
