//! `get_test_case` throughput and latency over Streamable HTTP, each
//! simulated client holding its own MCP connection, and the server's memory
//! idle and under load. Run with identity `none`, identity `oidc` (every
//! request carries an RS256 access token the server validates), `vault`
//! (identity `oidc` with each client's own Zebrunner credentials from the
//! vault) and `broker` (every request carries one of the server's own ES256
//! access tokens, from the `client_credentials` grant: validated on the
//! server's keys plus one grant-liveness read in its database) in the same
//! run, so the cost of each is read off one table. Before them, the same Zebrunner request
//! straight to the sandbox at each number of clients: the server's overhead is read against
//! that floor.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use rand::Rng;
use rmcp::{
    ServiceExt,
    model::CallToolRequestParams,
    transport::{
        StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
    },
};
use serde_json::json;
use tokio::sync::Mutex;

use crate::{
    broker::Broker,
    direct,
    issuer::Issuer,
    procs,
    raw_client::{self, RawSession},
    stats,
};

/// DEMO has 250 cases at the small scale.
const CASES: u32 = 250;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IdentityMode {
    /// No access token (loopback): every caller is the service account.
    None,
    /// Okta-shaped RS256 access tokens from the issuer inside the harness, one user per
    /// simulated client.
    Oidc,
    /// `oidc` plus `credentials = "vault"`: one vault record per simulated user.
    Vault,
    /// The server's own ES256 access tokens (it is the authorization server), from the
    /// `client_credentials` grant of the confidential client `bench`, one per simulated
    /// client (each its own grant); validated on its own keys, plus one grant-liveness
    /// read in its database per request.
    Broker,
}

/// Which MCP client makes the calls.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Driver {
    /// rmcp's own client, as a Rust application would use it: its work is in the figures.
    Rmcp,
    /// POSTs written down to the wire ([`RawSession`]): what is measured is the server.
    Raw,
}

/// The vault key the bench seals its records (and identity `broker` its signing keys)
/// with (a bench, not a secret).
pub(crate) const BENCH_VAULT_KEY: &str = "bench:QkVOQ0gtT05MWS1LRVktMDEyMzQ1Njc4OUFCQ0RFRiE=";

/// One vault record per simulated user (all with the sandbox account's token, so each gets
/// its own per-user client), and a configuration that lets each use that login.
async fn fill_vault(
    bin: &Path,
    sandbox: &procs::Sandbox,
    users: usize,
) -> anyhow::Result<std::path::PathBuf> {
    let dir = procs::data_dir();
    std::fs::create_dir_all(&dir)?;
    let mut config = String::from("[zebrunner.logins]\n");
    for i in 0..users {
        config.push_str(&format!("\"user{i}@bench.test\" = \"{}\"\n", sandbox.login));
        let mut child = tokio::process::Command::new(bin)
            .args([
                "vault",
                "put",
                "--no-verify",
                "--user",
                &format!("uid:00ubench{i}"),
            ])
            .args(["--login", &sandbox.login])
            .env("ZMCP_DATA_DIR", &dir)
            .env("ZMCP_VAULT_KEYS", BENCH_VAULT_KEY)
            .env("ZEBRUNNER_URL", &sandbox.url)
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        let mut stdin = child.stdin.take().context("stdin")?;
        tokio::io::AsyncWriteExt::write_all(&mut stdin, format!("{}\n", sandbox.token).as_bytes())
            .await?;
        drop(stdin);
        anyhow::ensure!(child.wait().await?.success(), "vault put failed");
    }
    let file = dir.join("vault-bench.toml");
    std::fs::write(&file, config)?;
    Ok(file)
}

/// How much each simulated client does in one row.
#[derive(Clone, Copy)]
pub enum Amount {
    /// Calls back to back for this long.
    For(Duration),
    /// Exactly this many calls each, however long they take.
    Calls(usize),
}

impl Amount {
    /// How long the direct-request floor is measured.
    fn floor_duration(self) -> Duration {
        match self {
            Amount::For(d) => d,
            Amount::Calls(_) => Duration::from_secs(5),
        }
    }

    fn describe(self) -> String {
        match self {
            Amount::For(d) => format!("{}s per row", d.as_secs()),
            Amount::Calls(n) => format!("{n} calls per client"),
        }
    }
}

pub async fn run(
    bin: &Path,
    clients: &[usize],
    amount: Amount,
    identities: &[IdentityMode],
    driver: Driver,
) -> anyhow::Result<()> {
    let duration = amount.floor_duration();
    let sandbox = procs::sandbox(bin, "small").await?;
    let issuer = Issuer::start().await?;
    println!(
        "## get_test_case over Streamable HTTP ({}, {} client)\n",
        amount.describe(),
        match driver {
            Driver::Rmcp => "rmcp's",
            Driver::Raw => "a raw HTTP",
        }
    );
    println!(
        "| Identity | Clients | protocol | calls/s | p50 | p99 | errors | server CPU/call | RSS idle | peak RSS |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    // The floor, at each concurrency: the same Zebrunner request straight to the sandbox.
    let mut floors = Vec::with_capacity(clients.len());
    for &n in clients {
        let direct = direct::concurrent(&sandbox, n, duration).await?;
        println!(
            "| direct GET to the sandbox | {n} | HTTP/1.1 | {:.0} | {} | {} | 0 | | | |",
            direct.len() as f64 / duration.as_secs_f64(),
            stats::ms(stats::quantile(&direct, 0.5)),
            stats::ms(stats::quantile(&direct, 0.99)),
        );
        floors.push((
            n,
            stats::quantile(&direct, 0.5).unwrap_or_default(),
            stats::quantile(&direct, 0.99).unwrap_or_default(),
        ));
    }
    let mut overheads = Vec::new();
    for &identity in identities {
        let broker = (identity == IdentityMode::Broker)
            .then(|| Broker::prepare(&procs::data_dir()))
            .transpose()?;
        let mut env: Vec<(&str, String)> = match identity {
            IdentityMode::None => Vec::new(),
            IdentityMode::Oidc | IdentityMode::Vault => vec![
                ("ZMCP_IDENTITY", "oidc".into()),
                ("ZMCP_OIDC_ISSUER", issuer.issuer.clone()),
                ("ZMCP_OIDC_AUDIENCE", crate::issuer::AUDIENCE.into()),
            ],
            IdentityMode::Broker => broker
                .as_ref()
                .map(|b| b.env(&issuer.issuer))
                .unwrap_or_default(),
        };
        // The load is the measure: no per-person or per-client rate limit in its way.
        env.push(("ZMCP_LIMITS_REQUESTS_PER_MINUTE_PER_USER", "0".into()));
        env.push(("ZMCP_LIMITS_REQUESTS_PER_MINUTE_PER_CLIENT", "0".into()));
        if identity == IdentityMode::Vault {
            let users = clients.iter().copied().max().unwrap_or(1);
            let config = fill_vault(bin, &sandbox, users).await?;
            env.push(("ZMCP_CREDENTIALS", "vault".into()));
            env.push(("ZMCP_VAULT_KEYS", BENCH_VAULT_KEY.into()));
            env.push(("ZMCP_CONFIG", config.display().to_string()));
        }
        let (server, url) = match &broker {
            Some(broker) => {
                procs::http_server_at(bin, &sandbox, &env, &broker.listen.to_string()).await?
            }
            None => procs::http_server(bin, &sandbox, &env).await?,
        };
        let pid = server.pid().context("server pid")?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let idle = procs::rss_kib(pid);
        for &n in clients {
            let tokens = match identity {
                IdentityMode::None => vec![None; n],
                IdentityMode::Oidc | IdentityMode::Vault => (0..n)
                    .map(|i| issuer.token(i).map(Some))
                    .collect::<anyhow::Result<_>>()?,
                IdentityMode::Broker => {
                    let broker = broker.as_ref().context("no broker settings")?;
                    let mut tokens = Vec::with_capacity(n);
                    for _ in 0..n {
                        tokens.push(Some(broker.token().await?));
                    }
                    tokens
                }
            };
            let (row, peak) = measure(&url, tokens, amount, pid, driver).await?;
            let name = match identity {
                IdentityMode::None => "none",
                IdentityMode::Oidc => "oidc",
                IdentityMode::Vault => "oidc + vault",
                IdentityMode::Broker => "broker",
            };
            if let Some(&(_, p50, p99)) = floors.iter().find(|(clients, ..)| *clients == n) {
                overheads.push((
                    name,
                    n,
                    stats::quantile(&row.latencies, 0.5).map(|v| v.saturating_sub(p50)),
                    stats::quantile(&row.latencies, 0.99)
                        .map(|v| v.as_secs_f64() / p99.as_secs_f64().max(1e-9)),
                ));
            }
            let cpu_per_call = row.server_cpu / u32::try_from(row.calls.max(1)).unwrap_or(u32::MAX);
            println!(
                "| {name} | {n} | {} | {:.0} | {} | {} | {} | {:.3} ms | {} | {} |",
                row.protocol,
                row.calls as f64 / row.wall.as_secs_f64().max(1e-9),
                stats::ms(stats::quantile(&row.latencies, 0.5)),
                stats::ms(stats::quantile(&row.latencies, 0.99)),
                row.errors,
                cpu_per_call.as_secs_f64() * 1e3,
                kib(idle),
                kib(peak)
            );
        }
        drop(server);
    }
    println!("\nThe server's overhead over the direct request at the same number of clients:\n");
    println!("| Identity | Clients | p50 − direct p50 | p99 ÷ direct p99 |\n|---|---|---|---|");
    for (name, n, p50, p99) in overheads {
        println!(
            "| {name} | {n} | {} | {} |",
            stats::ms(p50),
            p99.map_or_else(|| "n/a".into(), |r| format!("{r:.2}×"))
        );
    }
    println!();
    Ok(())
}

struct Row {
    protocol: String,
    calls: usize,
    /// From the first call to the last answer.
    wall: Duration,
    errors: usize,
    latencies: Vec<Duration>,
    /// The server's time on CPU over the calls (all its threads).
    server_cpu: Duration,
}

async fn measure(
    url: &str,
    tokens: Vec<Option<String>>,
    amount: Amount,
    pid: u32,
    driver: Driver,
) -> anyhow::Result<(Row, Option<u64>)> {
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(AtomicUsize::new(0));
    // Each simulated client calls through a `Caller`; rmcp's running clients are kept to be
    // cancelled at the end.
    let mut callers = Vec::new();
    let mut rmcp_clients = Vec::new();
    for token in tokens {
        match driver {
            Driver::Rmcp => {
                let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_string());
                if let Some(token) = token {
                    config = config.auth_header(token);
                }
                let transport =
                    StreamableHttpClientTransport::with_client(reqwest::Client::new(), config);
                let running = ().serve(transport).await?;
                callers.push(Caller::Rmcp(running.peer().clone()));
                rmcp_clients.push(running);
            }
            Driver::Raw => callers.push(Caller::Raw(RawSession::open(url, token).await?)),
        }
    }
    let protocol = match driver {
        Driver::Rmcp => rmcp_clients
            .first()
            .and_then(|c| c.peer_info())
            .map(|i| i.protocol_version.to_string())
            .unwrap_or_default(),
        Driver::Raw => raw_client::PROTOCOL.to_string(),
    };
    let cpu_before = procs::cpu_time(pid)?;
    let began = Instant::now();
    let deadline = match amount {
        Amount::For(d) => Some(began + d),
        Amount::Calls(_) => None,
    };
    let calls_each = match amount {
        Amount::For(_) => usize::MAX,
        Amount::Calls(n) => n,
    };
    let mut tasks = Vec::new();
    for mut caller in callers {
        let latencies = latencies.clone();
        let errors = errors.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut made = 0;
            while made < calls_each && deadline.is_none_or(|d| Instant::now() < d) {
                made += 1;
                let n = rand::rng().random_range(1..=CASES);
                let args = json!({"key": format!("DEMO-{n}")});
                let started = Instant::now();
                if caller.get_test_case(args).await {
                    mine.push(started.elapsed());
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies.lock().await.extend(mine);
        }));
    }
    let mut peak = None;
    while !tasks.iter().all(|t| t.is_finished()) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        peak = peak.max(procs::rss_kib(pid));
    }
    let wall = began.elapsed();
    let server_cpu = procs::cpu_time(pid)?.saturating_sub(cpu_before);
    for task in tasks {
        task.await?;
    }
    for client in rmcp_clients {
        let _ = client.cancel().await;
    }
    let mut latencies = std::mem::take(&mut *latencies.lock().await);
    latencies.sort();
    Ok((
        Row {
            protocol,
            calls: latencies.len(),
            wall,
            errors: errors.load(Ordering::Relaxed),
            latencies,
            server_cpu,
        },
        peak,
    ))
}

/// What a simulated client calls through.
enum Caller {
    Rmcp(rmcp::service::Peer<rmcp::RoleClient>),
    Raw(RawSession),
}

impl Caller {
    /// `get_test_case` with `args`; whether it answered without an error.
    async fn get_test_case(&mut self, args: serde_json::Value) -> bool {
        match self {
            Caller::Rmcp(peer) => {
                let params = CallToolRequestParams::new("get_test_case")
                    .with_arguments(args.as_object().cloned().unwrap_or_default());
                matches!(peer.call_tool(params).await, Ok(result) if result.is_error != Some(true))
            }
            Caller::Raw(session) => session
                .call_tool("get_test_case", args)
                .await
                .unwrap_or(false),
        }
    }
}

fn kib(v: Option<u64>) -> String {
    v.map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".into())
}
