//! Issue 3: Zebrunner requests and wall time of `analyze_launch_failures` on
//! launch 1041 (500 tests) and `get_test_case_history` on DEMO-1 (120
//! executions), over Streamable HTTP against the sandbox (`--scale small`),
//! requests read from the sandbox's request log. Each tool is called `runs`
//! times on one server: the first call starts with empty client caches
//! (project id, bearer), later ones are warm.

use std::path::Path;

use rmcp::{ServiceExt, transport::StreamableHttpClientTransport};
use serde_json::{Value, json};

use crate::{procs, requests::Repeated};

struct Case {
    tool: &'static str,
    label: &'static str,
    args: Value,
}

pub async fn run(bin: &Path, runs: usize) -> anyhow::Result<()> {
    let sandbox = procs::sandbox(bin, "small").await?;
    let (_server, url) = procs::http_server(bin, &sandbox, &[]).await?;
    let client = ().serve(StreamableHttpClientTransport::from_uri(url)).await?;
    let http = reqwest::Client::new();
    let cases = [
        Case {
            tool: "analyze_launch_failures",
            label: "launch 1041 (500 tests), history on (default)",
            args: json!({"project_key": "DEMO", "launch_id": 1041, "format": "json"}),
        },
        Case {
            tool: "analyze_launch_failures",
            label: "launch 1041 (500 tests), `history: false`",
            args: json!({"project_key": "DEMO", "launch_id": 1041, "history": false, "format": "json"}),
        },
        Case {
            tool: "get_test_case_history",
            label: "DEMO-1 (120 executions), limit 100",
            args: json!({"key": "DEMO-1", "limit": 100, "format": "json"}),
        },
    ];
    println!("## Issue 3: analysis and history tools against the sandbox ({runs} calls each)\n");
    println!(
        "| Tool | Input | Zebrunner requests, first call | Requests, warm | Wall time, first | Wall time, warm median | Answer |\n|---|---|---|---|---|---|---|"
    );
    for case in &cases {
        let calls = Repeated::call(
            &client,
            &http,
            &sandbox.url,
            case.tool,
            &case.args,
            runs.max(1),
        )
        .await?;
        let out = &calls.first.out;
        let answer = match case.tool {
            "analyze_launch_failures" => format!(
                "{} failed, {} signatures",
                out["summary"]["failed"], out["summary"]["signatures"]
            ),
            _ => format!(
                "{} executions, {} returned",
                out["executions"]["total"], out["executions"]["returned"]
            ),
        };
        println!(
            "| `{}` | {} | {} | {} | {:.0} ms | {} | {answer} |",
            case.tool,
            case.label,
            calls.first.requests.len(),
            calls.warm_requests(),
            calls.first.elapsed.as_secs_f64() * 1000.0,
            calls.warm_time(),
        );
    }
    println!();
    let _ = client.cancel().await;
    Ok(())
}
