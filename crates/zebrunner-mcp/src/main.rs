//! `zebrunner-mcp`: the MCP server for Zebrunner, its bundled sandbox
//! Zebrunner, and a demo that runs both.
//!
//! # Layout
//!
//! - [`cli`]: the command line (clap).
//! - [`settings`]: configuration read from the environment, with `<NAME>_FILE`
//!   variants for Docker secrets.
//! - [`commands`]: one file per subcommand (`serve`, `sandbox`, `demo`,
//!   `config`, `audit`), and `setup`, which turns configuration into running parts.

mod cli;
mod commands;
mod settings;

use std::io::IsTerminal;

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    init_logging(cli.log_format);
    let outcome = match cli.command {
        cli::Command::Serve(args) => commands::serve::run(cli.config.as_deref(), args).await,
        cli::Command::Sandbox(args) => commands::sandbox::run(args).await,
        cli::Command::Demo(args) => commands::demo::run(args).await,
        cli::Command::Audit(args) => commands::audit::run(args).await,
        cli::Command::Config { command } => {
            commands::config::run(cli.config.as_deref(), command).await
        }
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` prints the whole context chain on one line.
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr: on stdio, stdout carries the MCP protocol.
fn init_logging(format: cli::LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        cli::LogFormat::Text => builder.init(),
        cli::LogFormat::Json => builder.json().init(),
    }
}
