//! Issue 12: Zebrunner requests and wall time of `analyze_test_failure` (a failed test of
//! launch 1041), `find_flaky_tests` over 14 days of DEMO launches and `release_readiness` for
//! milestone Release 1.5, over Streamable HTTP against the sandbox (`--scale small`), each
//! beside the fewest requests that can give its answer, computed here from the sandbox's own
//! REST answers:
//!
//! - `find_flaky_tests`: the launch-list pages down to the window's start, and each launch's
//!   tests at Zebrunner's largest page (100);
//! - `release_readiness`: the milestone list, the launch-list pages of the milestone and of the
//!   one before, the test pages of each job's newest launch and one case page per 100 cases;
//! - `analyze_test_failure`: every distinct request it made (no request repeated); each one
//!   feeds a section of the answer (launch, test, log, sessions, screenshots, history, the last
//!   passing run, similar failures, linked cases).
//!
//! Each call is made `runs` times on one server: the first with cold client caches (project id,
//! bearer), later ones warm.

use std::{collections::BTreeSet, path::Path};

use anyhow::Context;
use rmcp::{ServiceExt, transport::StreamableHttpClientTransport};
use serde_json::{Value, json};

use crate::{
    procs::{self, Sandbox},
    requests::Repeated,
};

const FROM: &str = "2026-01-05";
const TO: &str = "2026-01-18";
/// The window as the tool reads it: from the start of FROM to the end of TO (UTC), epoch ms.
const FROM_MS: i64 = 1_767_571_200_000;
const TO_MS: i64 = 1_768_780_800_000 - 1;
const MILESTONE: &str = "Release 1.5";
const BASELINE: &str = "Release 1.4";
const LAUNCH: i64 = 1041;

/// Direct REST reads of the sandbox, for the floors.
struct Rest<'a> {
    http: &'a reqwest::Client,
    sandbox: &'a Sandbox,
    bearer: String,
    project_id: i64,
}

impl<'a> Rest<'a> {
    async fn new(http: &'a reqwest::Client, sandbox: &'a Sandbox) -> anyhow::Result<Self> {
        let auth: Value = http
            .post(format!("{}/api/iam/v1/auth/refresh", sandbox.url))
            .json(&json!({"refreshToken": sandbox.token}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let bearer = auth["authToken"]
            .as_str()
            .context("no authToken")?
            .to_string();
        let mut rest = Rest {
            http,
            sandbox,
            bearer,
            project_id: 0,
        };
        rest.project_id = rest.get("/api/projects/v1/projects/DEMO", &[]).await?["data"]["id"]
            .as_i64()
            .context("no project id")?;
        Ok(rest)
    }

    async fn get(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<Value> {
        Ok(self
            .http
            .get(format!("{}{path}", self.sandbox.url))
            .bearer_auth(&self.bearer)
            .query(query)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// Every launch of DEMO (newest first), optionally of one milestone, with the pages read.
    async fn launches(&self, milestone: Option<&str>) -> anyhow::Result<Vec<Value>> {
        let mut all = Vec::new();
        for page in 1.. {
            let mut q = vec![
                ("projectId", self.project_id.to_string()),
                ("page", page.to_string()),
                ("pageSize", "100".into()),
            ];
            if let Some(m) = milestone {
                q.push(("milestone", m.to_string()));
            }
            let body = self.get("/api/reporting/v1/launches", &q).await?;
            all.extend(body["items"].as_array().cloned().unwrap_or_default());
            if page >= body["_meta"]["totalPages"].as_i64().unwrap_or(0) {
                break;
            }
        }
        Ok(all)
    }
}

fn num(v: &Value) -> i64 {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

fn finished(l: &Value) -> bool {
    !matches!(l["status"].as_str(), Some("IN_PROGRESS" | "QUEUED"))
}

fn test_pages(launches: &[&Value]) -> u64 {
    launches
        .iter()
        .map(|l| (num(&l["total"]).max(0) as u64).div_ceil(100).max(1))
        .sum()
}

/// The list pages a newest-first scan reads down to `from` (epoch ms), and the finished
/// launches in `[from, to]`.
fn window(all: &[Value], from: i64, to: i64) -> (u64, Vec<&Value>) {
    let oldest_needed = all
        .iter()
        .position(|l| num(&l["startedAt"]) < from)
        .unwrap_or(all.len());
    // The scan reads the page holding the first launch before the window, to know it ended.
    let pages = (oldest_needed as u64 / 100 + 1).min((all.len() as u64).div_ceil(100).max(1));
    let inside = all
        .iter()
        .filter(|l| finished(l))
        .filter(|l| (from..=to).contains(&num(&l["startedAt"])))
        .collect();
    (pages, inside)
}

async fn flaky_floor(rest: &Rest<'_>) -> anyhow::Result<u64> {
    let all = rest.launches(None).await?;
    let (pages, inside) = window(&all, FROM_MS, TO_MS);
    Ok(pages + test_pages(&inside))
}

async fn readiness_floor(rest: &Rest<'_>) -> anyhow::Result<u64> {
    let launches = rest.launches(Some(MILESTONE)).await?;
    let before = rest.launches(Some(BASELINE)).await?;
    let mut names = BTreeSet::new();
    let newest: Vec<&Value> = launches
        .iter()
        .filter(|l| finished(l))
        .filter(|l| names.insert(l["name"].as_str().unwrap_or("").trim().to_string()))
        .collect();
    let mut cases = 0u64;
    let mut token: Option<String> = None;
    loop {
        let mut q = vec![
            ("projectKey", "DEMO".to_string()),
            ("maxPageSize", "100".into()),
        ];
        if let Some(t) = &token {
            q.push(("pageToken", t.clone()));
        }
        let body: Value = rest
            .http
            .get(format!("{}/api/public/v1/test-cases", rest.sandbox.url))
            .basic_auth(&rest.sandbox.login, Some(&rest.sandbox.token))
            .query(&q)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        cases += body["items"].as_array().map_or(0, |a| a.len() as u64);
        match body["_meta"]["nextPageToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    let list_pages = |n: usize| (n as u64).div_ceil(100).max(1);
    Ok(1 + list_pages(launches.len())
        + list_pages(before.len())
        + test_pages(&newest)
        + cases.div_ceil(100).max(1))
}

pub async fn run(bin: &Path, runs: usize) -> anyhow::Result<()> {
    let sandbox = procs::sandbox(bin, "small").await?;
    let (_server, url) = procs::http_server(bin, &sandbox, &[]).await?;
    let client = ().serve(StreamableHttpClientTransport::from_uri(url)).await?;
    let http = reqwest::Client::new();
    let rest = Rest::new(&http, &sandbox).await?;
    let failed = rest
        .get(
            &format!("/api/reporting/v1/launches/{LAUNCH}/tests"),
            &[
                ("projectId", rest.project_id.to_string()),
                ("page", "1".into()),
                ("pageSize", "100".into()),
                ("status", "FAILED".into()),
            ],
        )
        .await?["items"][0]["id"]
        .as_i64()
        .context("launch 1041 has no failed test")?;
    let cases: [(&str, String, Value, Option<u64>); 3] = [
        (
            "analyze_test_failure",
            format!("launch {LAUNCH}, failed test {failed}"),
            json!({"project_key": "DEMO", "launch_id": LAUNCH, "test_id": failed, "format": "json"}),
            None,
        ),
        (
            "find_flaky_tests",
            format!("DEMO launches {FROM} to {TO}"),
            json!({"project_key": "DEMO", "from": FROM, "to": TO, "accept_cost": true, "format": "json"}),
            Some(flaky_floor(&rest).await?),
        ),
        (
            "release_readiness",
            format!("milestone {MILESTONE}"),
            json!({"project_key": "DEMO", "milestone": MILESTONE, "format": "json"}),
            Some(readiness_floor(&rest).await?),
        ),
    ];
    println!("## Issue 12: QA-loop tools against the sandbox ({runs} calls each)\n");
    println!(
        "| Tool | Input | Requests, first call | Requests, warm | Fewest possible (warm) | Wall time, first | Wall time, warm median | Answer |\n|---|---|---|---|---|---|---|---|"
    );
    for (tool, label, args, floor) in &cases {
        let calls = Repeated::call(&client, &http, &sandbox.url, tool, args, runs.max(1)).await?;
        let out = &calls.first.out;
        let answer = match *tool {
            "analyze_test_failure" => format!(
                "{} log lines, {} screenshots",
                out["log"]["total"],
                out["screenshots"].as_array().map_or(0, Vec::len)
            ),
            "find_flaky_tests" => format!(
                "{} launches, {} flaky of {} tests",
                out["launches"], out["total"], out["tests_seen"]
            ),
            _ => format!(
                "{}, {} launches",
                out["verdict"],
                out["launch_ids"].as_array().map_or(0, Vec::len)
            ),
        };
        // Without a formula, the floor is the distinct requests of a warm call.
        let floor = match (floor, calls.warm.last()) {
            (Some(f), _) => f.to_string(),
            (None, Some(warm)) => {
                let distinct: BTreeSet<String> = warm
                    .requests
                    .iter()
                    .map(|r| format!("{} {} {}", r["method"], r["path"], r["query"]))
                    .collect();
                format!("{} distinct", distinct.len())
            }
            (None, None) => "-".into(),
        };
        println!(
            "| `{tool}` | {label} | {} | {} | {floor} | {:.0} ms | {} | {answer} |",
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
