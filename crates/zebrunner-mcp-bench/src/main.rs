//! `zebrunner-mcp-bench`: measures the built `zebrunner-mcp` binary the way a
//! user runs it, as separate processes on loopback (sandbox Zebrunner, MCP
//! server, and this load generator), and prints Markdown figures.
//!
//! # Layout
//!
//! - [`procs`]: starting the sandbox and server processes, reading their
//!   ready lines, and reading a process's resident memory.
//! - [`cold_start`]: stdio start-up to the `initialize` response.
//! - [`stdio`]: the cost of one call on stdio: sequential `get_test_case` calls,
//!   server CPU per call, latency and memory, against a direct sandbox request
//!   (and another binary, alternating).
//! - [`load`]: `get_test_case` over Streamable HTTP with N concurrent clients,
//!   with identity `none`, `oidc` (also with the vault) and `broker`, and the
//!   server's overhead over direct sandbox requests at the same concurrency.
//! - [`direct`]: those direct requests to the sandbox.
//! - [`sessions`]: memory with many open MCP sessions, and after they close.
//! - [`issuer`]: an in-process OpenID issuer and the tokens it signs.
//! - [`broker`]: identity `broker`'s settings and its tokens, from the
//!   `client_credentials` grant.
//! - [`requests`]: Zebrunner requests made by one tool call, from the
//!   sandbox's request log.
//! - [`analysis`]: issue 3: requests and wall time of `analyze_launch_failures`
//!   and `get_test_case_history`.
//! - [`qa`]: issue 12: requests and wall time of `analyze_test_failure`,
//!   `find_flaky_tests` and `release_readiness`, beside the fewest possible.
//! - [`stats`]: medians and percentiles.

mod analysis;
mod broker;
mod cold_start;
mod direct;
mod issuer;
mod load;
mod procs;
mod qa;
mod raw_client;
mod requests;
mod sessions;
mod stats;
mod stdio;

use std::{path::PathBuf, time::Duration};

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Measure zebrunner-mcp (build it with --release first)")]
struct Cli {
    /// The zebrunner-mcp binary to measure.
    #[arg(long, default_value = "target/release/zebrunner-mcp")]
    bin: PathBuf,
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// stdio cold start to the initialize response.
    ColdStart {
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// Sequential get_test_case calls over stdio: server CPU per call, p50/p99, RSS after,
    /// beside direct requests to the sandbox.
    Stdio {
        /// Measured calls per run (after 20 warm-up calls).
        #[arg(long, default_value_t = 500)]
        calls: usize,
        /// Runs per server; the table ends with the medians.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Another zebrunner-mcp binary to measure alternately (for example the previous
        /// release).
        #[arg(long)]
        baseline: Option<PathBuf>,
    },
    /// Memory with many MCP sessions open over Streamable HTTP, and after they are closed.
    Sessions {
        #[arg(long, default_value_t = 1000)]
        count: usize,
    },
    /// get_test_case over Streamable HTTP, and the server's overhead over direct sandbox
    /// requests at the same number of clients.
    Load {
        /// Concurrent clients, comma-separated.
        #[arg(long, default_value = "1,32", value_delimiter = ',')]
        clients: Vec<usize>,
        /// Seconds per measurement.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Instead of `seconds`: exactly this many calls per client (issue 11's load test:
        /// `--clients 200 --calls-per-client 50`).
        #[arg(long)]
        calls_per_client: Option<usize>,
        /// Identity modes to measure, comma-separated, one server each, Zebrunner calls as
        /// the sandbox's service account except with `vault`.
        #[arg(
            long,
            value_enum,
            default_value = "none,oidc,vault,broker",
            value_delimiter = ','
        )]
        identity: Vec<load::IdentityMode>,
        /// The MCP client making the calls: rmcp's, or POSTs written down to the wire, so
        /// that only the server's work is measured.
        #[arg(long, value_enum, default_value = "rmcp")]
        driver: load::Driver,
    },
    /// Zebrunner requests made by search_test_cases count_only on 5,000 cases.
    SearchRequests,
    /// Issue 3: requests and wall time of analyze_launch_failures (launch
    /// 1041, 500 tests) and get_test_case_history (DEMO-1, 120 executions).
    Analysis {
        /// Calls per tool (the first with cold client caches).
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Issue 12: requests and wall time of analyze_test_failure, find_flaky_tests (14 days)
    /// and release_readiness (a milestone), beside the fewest requests possible.
    Qa {
        /// Calls per tool (the first with cold client caches).
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Everything above.
    All,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // reqwest and jsonwebtoken are built without a crypto provider of their own: install ring
    // before any client is built or token signed.
    zebrunner_identity::install_crypto_provider();
    anyhow::ensure!(
        cli.bin.exists(),
        "{} does not exist; run `cargo build --release -p zebrunner-mcp` first",
        cli.bin.display()
    );
    match cli.what {
        What::ColdStart { runs } => cold_start::run(&cli.bin, runs).await?,
        What::Stdio {
            calls,
            runs,
            baseline,
        } => stdio::run(&cli.bin, baseline.as_deref(), calls, runs).await?,
        What::Sessions { count } => sessions::run(&cli.bin, count).await?,
        What::Load {
            clients,
            seconds,
            calls_per_client,
            identity,
            driver,
        } => {
            let amount = match calls_per_client {
                Some(n) => load::Amount::Calls(n),
                None => load::Amount::For(Duration::from_secs(seconds)),
            };
            load::run(&cli.bin, &clients, amount, &identity, driver).await?
        }
        What::SearchRequests => requests::run(&cli.bin).await?,
        What::Analysis { runs } => analysis::run(&cli.bin, runs).await?,
        What::Qa { runs } => qa::run(&cli.bin, runs).await?,
        What::All => {
            cold_start::run(&cli.bin, 20).await?;
            stdio::run(&cli.bin, None, 500, 3).await?;
            let modes = [
                load::IdentityMode::None,
                load::IdentityMode::Oidc,
                load::IdentityMode::Vault,
                load::IdentityMode::Broker,
            ];
            let ten_seconds = load::Amount::For(Duration::from_secs(10));
            load::run(&cli.bin, &[1, 32], ten_seconds, &modes, load::Driver::Rmcp).await?;
            sessions::run(&cli.bin, 1000).await?;
            requests::run(&cli.bin).await?;
            analysis::run(&cli.bin, 5).await?;
            qa::run(&cli.bin, 5).await?;
        }
    }
    Ok(())
}
