//! `zebrunner-mcp config check|schema|env|reference`.
//!
//! `config check` alone contacts nothing: the settings, the files they name, the secrets'
//! presence and the vault keys' syntax. `config check --online` then reaches what the
//! configuration depends on (see [`super::online`]).

use std::path::Path;

use zebrunner_mcp_server::config::{Config, CredentialsMode, IdentityMode, Severity};

use super::setup;
use crate::output::{outln, reportln};
use crate::{cli::ConfigCommand, settings};

pub async fn run(config_file: Option<&Path>, command: ConfigCommand) -> anyhow::Result<()> {
    match command {
        ConfigCommand::Schema => {
            outln!("{}", serde_json::to_string_pretty(&Config::json_schema())?)?;
            Ok(())
        }
        ConfigCommand::Check { online } => check(config_file, online).await,
        ConfigCommand::Env { json } => super::env::run(json),
        ConfigCommand::Reference => super::reference::run(),
    }
}

async fn check(config_file: Option<&Path>, online: bool) -> anyhow::Result<()> {
    let config = setup::load_config(config_file, Default::default())?;
    let mut lines: Vec<(Severity, String)> = config
        .problems()
        .into_iter()
        .map(|p| (p.severity, p.to_string()))
        .collect();
    let shared_account = config.credentials == CredentialsMode::ServiceAccount;
    let names: &[&str] = if shared_account {
        &[
            settings::ZEBRUNNER_URL,
            settings::ZEBRUNNER_LOGIN,
            settings::ZEBRUNNER_TOKEN,
        ]
    } else {
        &[settings::ZEBRUNNER_URL]
    };
    let mut ring = None;
    let vault_keys_needed =
        config.credentials == CredentialsMode::Vault || config.identity == IdentityMode::Broker;
    // Keys wrapped by KMS are listed, not unwrapped (--online does that).
    let wrapped = vault_keys_needed
        .then(|| super::vault_backend::wrapped_summary(&config))
        .flatten();
    if let Some(summary) = wrapped {
        match summary {
            Ok(line) => reportln!("{line}")?,
            Err(e) => lines.push((Severity::Error, format!("error: {e:#}"))),
        }
    } else if vault_keys_needed {
        match settings::vault_keys() {
            Ok(Some(keys)) => {
                reportln!(
                    "vault keys: {} (newest {}, which seals new records)",
                    keys.ids()
                        .map(|id| id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    keys.newest()
                )?;
                ring = Some(keys);
            }
            Ok(None) => lines.push((
                Severity::Error,
                "error: ZMCP_VAULT_KEYS: credentials = \"vault\" needs the vault's keys; set \
                 ZMCP_VAULT_KEYS=id:base64key or ZMCP_VAULT_KEYS_FILE (make a key with \
                 `zebrunner-mcp vault keygen`); the server refuses to start without them"
                    .into(),
            )),
            Err(e) => lines.push((Severity::Error, format!("error: {e:#}"))),
        }
    }
    if config.serves_connect_page() {
        match settings::env_or_file(settings::ZMCP_OIDC_CLIENT_SECRET) {
            Ok(Some(_)) => reportln!(
                "connect page: {} (sign-in client {})",
                config.connect_url(None).unwrap_or_default(),
                config.oidc.client_id.as_deref().unwrap_or_default()
            )?,
            Ok(None) => lines.push((
                Severity::Error,
                "error: ZMCP_OIDC_CLIENT_SECRET: the connect page signs people in as the \
                 confidential client oidc.client_id and needs its secret; set \
                 ZMCP_OIDC_CLIENT_SECRET or ZMCP_OIDC_CLIENT_SECRET_FILE"
                    .into(),
            )),
            Err(e) => lines.push((Severity::Error, format!("error: {e:#}"))),
        }
    } else if config.credentials == CredentialsMode::Vault && config.vault.connect_url.is_none() {
        reportln!(
            "connect page: off (set oidc.client_id to serve /connect; until then people \
             without a token are told to ask an administrator, who uses `zebrunner-mcp vault put`)"
        )?;
    }
    for name in names {
        match settings::env_or_file(name) {
            Ok(Some(_)) => {}
            Ok(None) => lines.push((
                Severity::Error,
                format!("error: {name}: not set (set {name} or {name}_FILE)"),
            )),
            Err(e) => lines.push((Severity::Error, format!("error: {name}: {e}"))),
        }
    }
    if let Ok(Some(url)) = settings::env_or_file("ZEBRUNNER_URL")
        && let Err(e) = super::parse_url(&url)
    {
        lines.push((Severity::Error, format!("error: ZEBRUNNER_URL: {e:#}")));
    }
    // Where the database is; reaching it is --online's.
    match setup::database_url(&config) {
        Ok(url) => reportln!(
            "database: {}{}",
            setup::redact_url(&url),
            if online {
                ""
            } else {
                " (not opened; --online opens it)"
            }
        )?,
        Err(e) => lines.push((Severity::Error, format!("error: data_dir: {e:#}"))),
    }
    for (_, line) in &lines {
        reportln!("{line}")?;
    }
    let errors = lines.iter().filter(|(s, _)| *s == Severity::Error).count();
    let failed = if online {
        let oidc_errors = lines
            .iter()
            .any(|(s, l)| *s == Severity::Error && l.contains("oidc."));
        let reached = super::online::run(super::online::Known {
            config: &config,
            ring,
            oidc_errors,
        })
        .await;
        for item in &reached {
            reportln!("{item}")?;
        }
        reached.iter().filter(|r| r.failed()).count()
    } else {
        0
    };
    match (errors, failed) {
        (0, 0) => {}
        (errors, 0) => anyhow::bail!("{errors} configuration error(s)"),
        (0, failed) => anyhow::bail!("{failed} online check(s) failed"),
        (errors, failed) => {
            anyhow::bail!("{errors} configuration error(s); {failed} online check(s) failed")
        }
    }
    reportln!(
        "configuration ok: transport {:?}, identity {:?}, credentials {:?}{}",
        config.transport,
        config.identity,
        config.credentials,
        if online {
            "; everything it depends on answered"
        } else {
            " (offline: nothing was contacted; `config check --online` also reaches the \
             database, the issuer and Zebrunner)"
        }
    )?;
    Ok(())
}
