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

use std::io::IsTerminal;

use clap::Parser;
use tracing_subscriber::{EnvFilter, layer::SubscriberExt as _, util::SubscriberInitExt as _};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    // `tools` and `healthcheck` print their answer and nothing else (the in-memory session
    // `tools` opens would otherwise log at info).
    if !matches!(
        cli.command,
        cli::Command::Tools(_) | cli::Command::Healthcheck(_)
    ) {
        init_logging(cli.log_format);
    }
    let outcome = match cli.command {
        cli::Command::Serve(args) => commands::serve::run(cli.config.as_deref(), args).await,
        cli::Command::Sandbox(args) => commands::sandbox::run(args).await,
        cli::Command::Demo(args) => commands::demo::run(args).await,
        cli::Command::Audit(args) => commands::audit::run(cli.config.as_deref(), args).await,
        cli::Command::Vault(args) => commands::vault::run(cli.config.as_deref(), args).await,
        cli::Command::OAuth(args) => commands::oauth::run(cli.config.as_deref(), args).await,
        cli::Command::Config { command } => {
            commands::config::run(cli.config.as_deref(), command).await
        }
        cli::Command::Tools(args) => commands::tools::run(args).await,
        cli::Command::Healthcheck(args) => commands::healthcheck::run(cli.config.as_deref(), args),
    };
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

/// Logs go to stderr: on stdio, stdout carries the MCP protocol.
fn init_logging(format: cli::LogFormat) {
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
                Err(_) => return,
            }
        }
    };
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(directives).with(rule);
    match format {
        cli::LogFormat::Text => registry.with(layer).init(),
        cli::LogFormat::Json => registry.with(layer.json()).init(),
    }
}
