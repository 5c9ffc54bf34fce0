//! `zebrunner-mcp serve`: MCP on stdio or Streamable HTTP against a real
//! Zebrunner workspace, as the configured service account.

use zebrunner_client::ClientConfig;
use zebrunner_mcp_server::{Credentials, ZebrunnerMcp, transport};

use super::{connect, parse_url, shutdown_signal};
use crate::{
    cli::{ServeArgs, Transport},
    settings::ZebrunnerSettings,
};

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let settings = ZebrunnerSettings::from_env()?;
    let mut config = ClientConfig::new(parse_url(&settings.url)?, settings.login, settings.token);
    config.requests_per_second = args.requests_per_second;
    let client = connect(config, !args.skip_credential_check).await?;
    let server = ZebrunnerMcp::new(Credentials::ServiceAccount(client));
    match args.transport {
        Transport::Stdio => transport::stdio::serve(server).await,
        Transport::Http => {
            let http = transport::http::HttpServer::bind(server, &args.http.options()).await?;
            // Printed on stdout so scripts and tests can find a port chosen with :0.
            println!("mcp listening on http://{}/mcp", http.local_addr()?);
            http.run(shutdown_signal()).await
        }
    }
}
