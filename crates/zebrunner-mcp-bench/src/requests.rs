//! Zebrunner requests made by `search_test_cases` with `count_only` over the
//! 5,000-case project, read from the sandbox's request log. The floor is one
//! request per 100 cases (Zebrunner's largest page).

use std::path::Path;

use anyhow::Context;
use rmcp::{ServiceExt, model::CallToolRequestParams, transport::StreamableHttpClientTransport};
use serde_json::{Value, json};

use crate::procs;

pub async fn run(bin: &Path) -> anyhow::Result<()> {
    let sandbox = procs::sandbox(bin, "large").await?;
    let (_server, url) = procs::http_server(bin, &sandbox, &[]).await?;
    let client = ().serve(StreamableHttpClientTransport::from_uri(url)).await?;
    let http = reqwest::Client::new();
    let log = format!("{}/__sandbox/requests", sandbox.url);
    http.delete(&log).send().await?.error_for_status()?;
    let started = std::time::Instant::now();
    let args = json!({"project_key": "DEMO", "count_only": true});
    let result = client
        .call_tool(
            CallToolRequestParams::new("search_test_cases")
                .with_arguments(args.as_object().cloned().unwrap_or_default()),
        )
        .await?;
    let elapsed = started.elapsed();
    let total = result
        .structured_content
        .as_ref()
        .and_then(|v| v.get("total_matched"))
        .and_then(Value::as_u64)
        .context("no total_matched in the result")?;
    let requests: Vec<Value> = http
        .get(&log)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
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
