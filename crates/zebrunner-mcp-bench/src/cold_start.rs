//! stdio cold start: process spawn to the `initialize` response, which is
//! what a desktop client waits for, and on to the answer of the `tools/list`
//! it sends next (the tools are what it waits for in the end). Measured with
//! and without the start-up credential check (one IAM refresh against the
//! sandbox).

use std::{path::Path, process::Stdio, time::Instant};

use anyhow::Context;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    process::Command,
};

use crate::{procs, stats};

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#;
const THEN_TOOLS: &str = concat!(
    r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    "\n",
    r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
    "\n"
);

pub async fn run(bin: &Path, runs: usize) -> anyhow::Result<()> {
    let sandbox = procs::sandbox(bin, "small").await?;
    println!("## stdio cold start to the initialize response ({runs} runs each)\n");
    println!(
        "| Start-up | to `initialize`, median | min | max | to the `tools/list` answer, median |\n|---|---|---|---|---|"
    );
    for (label, skip) in [
        ("with credential check", false),
        ("--skip-credential-check", true),
    ] {
        let mut times = Vec::with_capacity(runs);
        let mut tools = Vec::with_capacity(runs);
        for _ in 0..runs {
            let (initialized, listed) = once(bin, &sandbox, skip).await?;
            times.push(initialized);
            tools.push(listed);
        }
        times.sort();
        tools.sort();
        println!(
            "| {label} | {} | {} | {} | {} |",
            stats::ms(stats::quantile(&times, 0.5)),
            stats::ms(times.first().copied()),
            stats::ms(times.last().copied()),
            stats::ms(stats::quantile(&tools, 0.5)),
        );
    }
    println!();
    Ok(())
}

async fn once(
    bin: &Path,
    sandbox: &procs::Sandbox,
    skip: bool,
) -> anyhow::Result<(std::time::Duration, std::time::Duration)> {
    let mut cmd = Command::new(bin);
    cmd.args(["serve", "--transport", "stdio"])
        .env("ZEBRUNNER_URL", &sandbox.url)
        .env("ZEBRUNNER_LOGIN", &sandbox.login)
        .env("ZEBRUNNER_TOKEN", &sandbox.token)
        .env("RUST_LOG", "warn")
        .env("ZMCP_DATA_DIR", procs::data_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if skip {
        cmd.arg("--skip-credential-check");
    }
    let started = Instant::now();
    let mut child = cmd.spawn().context("spawn")?;
    let mut stdin = child.stdin.take().context("stdin")?;
    stdin.write_all(INITIALIZE.as_bytes()).await?;
    stdin.write_all(b"\n").await?;
    let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
    let line = lines.next_line().await?.context("no initialize response")?;
    let initialized = started.elapsed();
    anyhow::ensure!(line.contains("\"result\""), "unexpected reply: {line}");
    stdin.write_all(THEN_TOOLS.as_bytes()).await?;
    let line = lines.next_line().await?.context("no tools/list response")?;
    let listed = started.elapsed();
    anyhow::ensure!(line.contains("\"tools\""), "unexpected reply: {line}");
    drop(stdin);
    let _ = child.kill().await;
    Ok((initialized, listed))
}
