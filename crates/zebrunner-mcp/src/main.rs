//! `zebrunner-mcp`: the MCP server for Zebrunner, its bundled sandbox
//! Zebrunner, and a demo that runs both.
//!
//! # Layout
//!
//! - [`cli`]: the command line (clap).
//! - [`settings`]: configuration read from the environment, with `<NAME>_FILE`
//!   variants for Docker secrets.
//! - [`logging`]: the `RUST_LOG` filter, which keeps payload-logging crates
//!   (rmcp) at `info` unless named.
//! - [`telemetry`]: trace export over OTLP (`[telemetry]`, feature `otlp`), a layer beside
//!   the log's.
//! - [`commands`]: one file per subcommand (`serve`, `sandbox`, `demo`,
//!   `config` with `env`, `reference` and `online` (`config check --online`), `audit`,
//!   `vault`, `oauth`, `tools`, `healthcheck`), and `setup`, which turns configuration into
//!   running parts.
//! - [`output`]: standard output for the commands' answers: a reader that closes it early
//!   (`| head`) ends the command quietly, never with a panic.

mod cli;
mod commands;
mod logging;
mod output;
mod settings;
mod telemetry;

use std::io::IsTerminal;

use anyhow::Context as _;
use clap::Parser;
use tracing_subscriber::{EnvFilter, layer::SubscriberExt as _, util::SubscriberInitExt as _};

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let mut exporting = None;
    // `tools` and `healthcheck` print their answer and nothing else (the in-memory session
    // `tools` opens would otherwise log at info).
    if !matches!(
        cli.command,
        cli::Command::Tools(_) | cli::Command::Healthcheck(_)
    ) {
        // Traces are exported for `serve` only (when configured).
        let telemetry = matches!(cli.command, cli::Command::Serve(_))
            .then(|| telemetry::settings(cli.config.as_deref()));
        exporting = init_logging(cli.log_format, telemetry.as_ref());
    }
    let outcome = run(cli);
    if let Some(exporting) = exporting {
        exporting.shutdown();
    }
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // The reader of standard output has all it wanted (`| head`).
        Err(error) if output::closed(&error) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` prints the whole context chain on one line.
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Run the command on the runtime that suits it: `serve` picks its own (one thread for the
/// single client of stdio), every other command runs on the multi-threaded one.
fn run(cli: cli::Cli) -> anyhow::Result<()> {
    let config = cli.config.as_deref();
    let command: std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>>>> =
        match cli.command {
            cli::Command::Serve(args) => return commands::serve::run(config, args),
            cli::Command::Sandbox(args) => Box::pin(commands::sandbox::run(args)),
            cli::Command::Demo(args) => Box::pin(commands::demo::run(args)),
            cli::Command::Audit(args) => Box::pin(commands::audit::run(config, args)),
            cli::Command::Vault(args) => Box::pin(commands::vault::run(config, args)),
            cli::Command::OAuth(args) => Box::pin(commands::oauth::run(config, args)),
            cli::Command::Config { command } => Box::pin(commands::config::run(config, command)),
            cli::Command::Tools(args) => Box::pin(commands::tools::run(args)),
            cli::Command::Healthcheck(args) => {
                Box::pin(async move { commands::healthcheck::run(config, args) })
            }
        };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?
        .block_on(command)
}

/// Logs go to stderr: on stdio, stdout carries the MCP protocol. With `telemetry` configured,
/// spans are exported too; the export is returned, to be shut down at exit.
fn init_logging(
    format: cli::LogFormat,
    telemetry: Option<&zebrunner_mcp_server::config::telemetry::TelemetryConfig>,
) -> Option<telemetry::Telemetry> {
    let rust_log = std::env::var(EnvFilter::DEFAULT_ENV).ok();
    let filter = logging::LogFilter::new(rust_log.as_deref());
    let (directives, rule) = match filter.into_layers() {
        Ok(layers) => layers,
        Err(error) => {
            // Before the subscriber exists, so straight to stderr.
            eprintln!(
                "warning: RUST_LOG is not a valid log filter ({error}); logging at info. \
                 Write a level (debug) or target=level pairs (info,zebrunner_mcp=debug)"
            );
            // The default directives always parse; `None` here logs nothing
            // rather than stopping the server over its log settings.
            match logging::LogFilter::new(None).into_layers() {
                Ok(layers) => layers,
                Err(_) => return None,
            }
        }
    };
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let exporting = match telemetry.map(telemetry::Telemetry::start).transpose() {
        Ok(exporting) => exporting.flatten(),
        Err(error) => {
            eprintln!("warning: {error:#}");
            None
        }
    };
    let registry = tracing_subscriber::registry().with(directives).with(rule);
    #[cfg(feature = "otlp")]
    let registry = registry.with(exporting.as_ref().map(|t| t.layer()));
    match format {
        cli::LogFormat::Text => registry.with(layer).init(),
        cli::LogFormat::Json => registry.with(layer.json()).init(),
    }
    exporting
}
