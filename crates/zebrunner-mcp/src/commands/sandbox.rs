//! `zebrunner-mcp sandbox`: the bundled fake Zebrunner on its own.

use anyhow::Context;
use zebrunner_sandbox::{Sandbox, SandboxConfig, TokenExchangeConfig};

use super::shutdown_signal;
use crate::cli::SandboxArgs;
use crate::output::reportln;

pub async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    let config = SandboxConfig {
        scale: args
            .scale
            .parse()
            .map_err(|e| anyhow::anyhow!("--scale: {e}"))?,
        seed: args.seed,
    };
    let mut builder = Sandbox::builder(config);
    // clap requires both flags or neither.
    if let (Some(issuer), Some(audience)) =
        (args.token_exchange_issuer, args.token_exchange_audience)
    {
        builder = builder.token_exchange(TokenExchangeConfig::new(issuer, audience));
    }
    let running = builder
        .spawn(&args.listen)
        .await
        .with_context(|| format!("could not start the sandbox on {}", args.listen))?;
    // Tests read the first line to learn the address, so print it at once.
    reportln!("{}", running.banner())?;
    shutdown_signal().await;
    Ok(())
}
