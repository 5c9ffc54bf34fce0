//! Child processes under measurement: the sandbox and the MCP server.

use std::{path::Path, process::Stdio, time::Duration};

use anyhow::{Context, bail};
use tokio::{
    io::{AsyncBufReadExt, BufReader, Lines},
    process::{Child, ChildStdout, Command},
};

/// A child process killed when dropped.
pub struct Proc {
    pub child: Child,
    _lines: Lines<BufReader<ChildStdout>>,
}

impl Proc {
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// A running sandbox and the first user's credentials. Clones share the process.
#[derive(Clone)]
pub struct Sandbox {
    /// Kept so the sandbox lives as long as this value.
    _proc: std::sync::Arc<Proc>,
    pub url: String,
    pub login: String,
    pub token: String,
}

async fn start(mut cmd: Command, ready_prefix: &str) -> anyhow::Result<(Proc, Vec<String>)> {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut child = cmd.spawn().context("could not start the process")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    let ready = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await? {
            let found = line.starts_with(ready_prefix);
            seen.push(line);
            if found {
                return Ok::<bool, std::io::Error>(true);
            }
        }
        Ok(false)
    })
    .await
    .context("timed out waiting for the ready line")??;
    if !ready {
        bail!("process exited before printing {ready_prefix:?}");
    }
    Ok((
        Proc {
            child,
            _lines: lines,
        },
        seen,
    ))
}

pub async fn sandbox(bin: &Path, scale: &str) -> anyhow::Result<Sandbox> {
    let mut cmd = Command::new(bin);
    cmd.args(["sandbox", "--listen", "127.0.0.1:0", "--scale", scale]);
    let (mut proc, mut seen) = start(cmd, "sandbox listening on ").await?;
    let url = seen[0]
        .trim_start_matches("sandbox listening on ")
        .to_string();
    // The user lines follow the ready line.
    let user = loop {
        if let Some(line) = seen.iter().find(|l| l.starts_with("user ")) {
            break line.clone();
        }
        let line = proc
            ._lines
            .next_line()
            .await?
            .context("sandbox printed no user")?;
        seen.push(line);
    };
    let words: Vec<&str> = user.split_whitespace().collect();
    let (login, token) = match words.as_slice() {
        ["user", login, "token", token, ..] => (login.to_string(), token.to_string()),
        _ => bail!("unexpected user line {user:?}"),
    };
    Ok(Sandbox {
        _proc: std::sync::Arc::new(proc),
        url,
        login,
        token,
    })
}

/// The MCP server over HTTP on an ephemeral port; returns its `/mcp` URL.
pub async fn http_server(
    bin: &Path,
    sandbox: &Sandbox,
    env: &[(&str, String)],
) -> anyhow::Result<(Proc, String)> {
    http_server_at(bin, sandbox, env, "127.0.0.1:0").await
}

/// The MCP server over HTTP on `listen` (a fixed address, for settings that name the
/// server's own URL, like `ZMCP_PUBLIC_URL`); returns its `/mcp` URL.
pub async fn http_server_at(
    bin: &Path,
    sandbox: &Sandbox,
    env: &[(&str, String)],
    listen: &str,
) -> anyhow::Result<(Proc, String)> {
    let mut cmd = Command::new(bin);
    cmd.env("ZMCP_DATA_DIR", data_dir());
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.args(["serve", "--transport", "http", "--listen", listen])
        .env("ZEBRUNNER_URL", &sandbox.url)
        .env("ZEBRUNNER_LOGIN", &sandbox.login)
        .env("ZEBRUNNER_TOKEN", &sandbox.token)
        .env("RUST_LOG", "warn");
    let (proc, seen) = start(cmd, "mcp listening on ").await?;
    let url = seen
        .last()
        .map(|l| l.trim_start_matches("mcp listening on ").to_string())
        .context("no url")?;
    Ok((proc, url))
}

/// A loopback address with a port that was free a moment ago (bound, then released), for a
/// server that must know its own URL before it starts.
pub fn free_loopback_addr() -> anyhow::Result<std::net::SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("no free port")?;
    Ok(listener.local_addr()?)
}

/// A scratch data directory for the servers' audit databases.
pub fn data_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("zmcp-bench-{}", std::process::id()))
}

/// Resident set size of a process, in KiB (Linux `/proc`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Time on CPU of every thread alive now, in nanoseconds (`/proc/<pid>/task/*/schedstat`).
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let path = task?.path().join("schedstat");
        if let Ok(text) = std::fs::read_to_string(path) {
            total += text
                .split_whitespace()
                .next()
                .and_then(|ns| ns.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Ok(Duration::from_nanos(total))
}
