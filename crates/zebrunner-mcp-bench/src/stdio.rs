//! The cost of one call on stdio (issue 11): `get_test_case` sent `calls` times in a row to
//! `serve --transport stdio`, one request at a time, as a desktop client does. Per server:
//! the CPU the server process used per call, latency percentiles, and its resident memory
//! after the calls; beside them, in the same run, the latency of the same Zebrunner request
//! made directly to the sandbox, the floor for a call.
//!
//! With `--baseline`, a second binary is measured the same way, the two alternating run by
//! run, so that a before/after comparison is a ratio within one run on the same machine.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines},
    process::{Child, ChildStdin, ChildStdout, Command},
};

use crate::{direct, procs, stats};

/// DEMO has 250 cases at the small scale.
const CASES: usize = 250;
/// Calls made before measuring: the first fills the client's caches (project id, suites).
const WARM_UP: usize = 20;
/// Linux reports `/proc/<pid>/stat` times in USER_HZ, 100 per second on every architecture
/// the project builds for.
const TICKS_PER_SECOND: f64 = 100.0;

/// What one run of one server gave.
#[derive(Clone, Copy)]
struct Figures {
    /// From `/proc/<pid>/stat`, utime + stime: whole process, 10 ms resolution.
    cpu_per_call_stat: Duration,
    /// From `/proc/<pid>/task/*/schedstat`, time on CPU of the threads alive at the end, in ns.
    cpu_per_call_sched: Duration,
    p50: Duration,
    p99: Duration,
    rss_kib: u64,
    threads: usize,
}

pub async fn run(
    bin: &Path,
    baseline: Option<&Path>,
    calls: usize,
    runs: usize,
) -> anyhow::Result<()> {
    let sandbox = procs::sandbox(bin, "small").await?;
    let mut servers: Vec<(String, PathBuf)> = vec![(label(bin), bin.to_path_buf())];
    if let Some(baseline) = baseline {
        servers.push((label(baseline), baseline.to_path_buf()));
    }
    println!("## stdio: get_test_case, {calls} sequential calls ({runs} runs, alternating)\n");
    println!(
        "| Run | Server | CPU/call (stat) | CPU/call (schedstat) | p50 | p99 | RSS after | threads | direct GET p50 / p99 |\n|---|---|---|---|---|---|---|---|---|"
    );
    let mut all: Vec<Vec<Figures>> = vec![Vec::new(); servers.len()];
    let mut direct_p50 = Vec::new();
    for run in 0..runs {
        let direct = direct::sequential(&sandbox, calls, WARM_UP).await?;
        direct_p50.push(stats::quantile(&direct, 0.5).unwrap_or_default());
        let direct_text = format!(
            "{} / {}",
            stats::ms(stats::quantile(&direct, 0.5)),
            stats::ms(stats::quantile(&direct, 0.99))
        );
        // Alternate which server goes first, so neither always follows the other.
        let mut order: Vec<usize> = (0..servers.len()).collect();
        if run % 2 == 1 {
            order.reverse();
        }
        for index in order {
            let (name, path) = &servers[index];
            let figures = once(path, &sandbox, calls).await?;
            println!(
                "| {} | {name} | {} | {} | {} | {} | {} | {} | {direct_text} |",
                run + 1,
                us(figures.cpu_per_call_stat),
                us(figures.cpu_per_call_sched),
                stats::ms(Some(figures.p50)),
                stats::ms(Some(figures.p99)),
                mib(figures.rss_kib),
                figures.threads,
            );
            all[index].push(figures);
        }
    }
    println!("\nMedians of the {runs} runs:\n");
    println!(
        "| Server | CPU/call (stat) | CPU/call (schedstat) | p50 | p99 | RSS after | p50 over direct GET |\n|---|---|---|---|---|---|---|"
    );
    let direct = median(direct_p50);
    for ((name, _), figures) in servers.iter().zip(&all) {
        let p50 = median(figures.iter().map(|f| f.p50).collect());
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} |",
            us(median(
                figures.iter().map(|f| f.cpu_per_call_stat).collect()
            )),
            us(median(
                figures.iter().map(|f| f.cpu_per_call_sched).collect()
            )),
            stats::ms(Some(p50)),
            stats::ms(Some(median(figures.iter().map(|f| f.p99).collect()))),
            mib(median_u64(figures.iter().map(|f| f.rss_kib).collect())),
            stats::ms(Some(p50.saturating_sub(direct))),
        );
    }
    println!(
        "| direct GET to the sandbox | | | {} | | | |\n",
        stats::ms(Some(direct))
    );
    Ok(())
}

/// One server process: start, initialize, warm up, then `calls` measured calls.
async fn once(bin: &Path, sandbox: &procs::Sandbox, calls: usize) -> anyhow::Result<Figures> {
    let mut session = Session::start(bin, sandbox).await?;
    for i in 0..WARM_UP {
        session.call(i).await?;
    }
    let pid = session.child.id().context("server pid")?;
    let (stat_before, sched_before) = (cpu_stat(pid)?, procs::cpu_time(pid)?);
    let mut latencies = Vec::with_capacity(calls);
    for i in 0..calls {
        let started = Instant::now();
        session.call(WARM_UP + i).await?;
        latencies.push(started.elapsed());
    }
    let (stat_after, sched_after) = (cpu_stat(pid)?, procs::cpu_time(pid)?);
    let rss_kib = procs::rss_kib(pid).context("server RSS")?;
    let threads = std::fs::read_dir(format!("/proc/{pid}/task"))?.count();
    session.end().await;
    latencies.sort();
    let per_call = |total: Duration| total / u32::try_from(calls.max(1)).unwrap_or(u32::MAX);
    Ok(Figures {
        cpu_per_call_stat: per_call(stat_after.saturating_sub(stat_before)),
        cpu_per_call_sched: per_call(sched_after.saturating_sub(sched_before)),
        p50: stats::quantile(&latencies, 0.5).unwrap_or_default(),
        p99: stats::quantile(&latencies, 0.99).unwrap_or_default(),
        rss_kib,
        threads,
    })
}

/// An MCP session with a server on stdio, as a desktop client holds one.
struct Session {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Session {
    async fn start(bin: &Path, sandbox: &procs::Sandbox) -> anyhow::Result<Session> {
        let mut child = Command::new(bin)
            .args(["serve", "--transport", "stdio"])
            .env("ZEBRUNNER_URL", &sandbox.url)
            .env("ZEBRUNNER_LOGIN", &sandbox.login)
            .env("ZEBRUNNER_TOKEN", &sandbox.token)
            .env("RUST_LOG", "warn")
            .env("ZMCP_DATA_DIR", procs::data_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("could not start the server")?;
        let stdin = child.stdin.take().context("stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("stdout")?).lines();
        let mut session = Session {
            child,
            stdin,
            stdout,
        };
        let init = json!({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "zebrunner-mcp-bench", "version": "1"}}});
        session.send(&init).await?;
        session.answer().await?;
        session
            .send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await?;
        Ok(session)
    }

    async fn send(&mut self, message: &Value) -> anyhow::Result<()> {
        let mut line = message.to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await?;
        self.stdin.flush().await?;
        Ok(())
    }

    /// The next response line; notifications the server sends meanwhile are skipped.
    async fn answer(&mut self) -> anyhow::Result<Value> {
        loop {
            let line = tokio::time::timeout(Duration::from_secs(30), self.stdout.next_line())
                .await
                .context("no answer within 30 s")??
                .context("the server closed stdout")?;
            let message: Value = serde_json::from_str(&line).context("not JSON")?;
            if message.get("id").is_some() {
                if message.get("error").is_some() {
                    bail!("error answer: {line}");
                }
                return Ok(message);
            }
        }
    }

    /// `get_test_case` for the `i`-th key (DEMO-1..250 in turn).
    async fn call(&mut self, i: usize) -> anyhow::Result<()> {
        let key = format!("DEMO-{}", i % CASES + 1);
        let request = json!({"jsonrpc": "2.0", "id": i, "method": "tools/call",
            "params": {"name": "get_test_case", "arguments": {"key": key}}});
        self.send(&request).await?;
        let answer = self.answer().await?;
        if answer["result"]["isError"] == json!(true) {
            bail!("get_test_case {key} failed: {answer}");
        }
        Ok(())
    }

    /// Close stdin (the client's EOF) and give the server a moment to exit by itself.
    async fn end(mut self) {
        drop(self.stdin);
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// utime + stime of the whole process (threads that ended included).
fn cpu_stat(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces; the fields after it are plain numbers.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("unexpected /proc/<pid>/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the line; `rest` starts at field 3.
    let ticks: u64 = [11, 12]
        .iter()
        .map(|&i| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum();
    Ok(Duration::from_secs_f64(ticks as f64 / TICKS_PER_SECOND))
}

fn label(bin: &Path) -> String {
    bin.display().to_string()
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    stats::quantile(&values, 0.5).unwrap_or_default()
}

fn median_u64(mut values: Vec<u64>) -> u64 {
    values.sort();
    values
        .get(values.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(0)
}

fn us(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}
