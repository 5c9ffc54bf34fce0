//! Issue 3: Zebrunner requests and wall time of `analyze_launch_failures` on
//! launch 1041 (500 tests) and `get_test_case_history` on DEMO-1 (120
//! executions), over Streamable HTTP against the sandbox (`--scale small`),
//! requests read from the sandbox's request log. Each tool is called `runs`
//! times on one server: the first call starts with empty client caches
//! (project id, bearer), later ones are warm.

use std::{path::Path, time::Duration};

use rmcp::{ServiceExt, transport::StreamableHttpClientTransport};
use serde_json::{Value, json};

use crate::{
    procs,
    requests::{Measured, call_logged},
    stats,
};

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
        let mut first_requests = 0;
        let mut warm_requests = Vec::new();
        let mut first_time = Duration::ZERO;
        let mut warm = Vec::new();
        let mut answer = String::new();
        for run in 0..runs.max(1) {
            let Measured {
                requests,
                elapsed,
                out,
            } = call_logged(&client, &http, &sandbox.url, case.tool, &case.args).await?;
            if run == 0 {
                first_requests = requests.len();
                first_time = elapsed;
                answer = match case.tool {
                    "analyze_launch_failures" => format!(
                        "{} failed, {} signatures",
                        out["summary"]["failed"], out["summary"]["signatures"]
                    ),
                    _ => format!(
                        "{} executions, {} returned",
                        out["executions"]["total"], out["executions"]["returned"]
                    ),
                };
            } else {
                warm_requests.push(requests.len());
                warm.push(elapsed);
            }
        }
        warm.sort();
        warm_requests.sort();
        let warm_req = warm_requests
            .get(warm_requests.len() / 2)
            .map_or("-".to_string(), |n| n.to_string());
        println!(
            "| `{}` | {} | {first_requests} | {warm_req} | {:.0} ms | {} | {answer} |",
            case.tool,
            case.label,
            first_time.as_secs_f64() * 1000.0,
            stats::ms(stats::quantile(&warm, 0.5)),
        );
    }
    println!();
    let _ = client.cancel().await;
    Ok(())
}
