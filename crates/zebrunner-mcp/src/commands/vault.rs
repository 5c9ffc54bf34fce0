//! `zebrunner-mcp vault keygen|put|list|delete|verify|rekey|export-metadata`: the per-user
//! credential vault from the command line, for administrators.
//!
//! Tokens are read from standard input or a file, never from arguments (they would show in
//! process listings), and no command prints one. Keys come from `ZMCP_VAULT_KEYS` or
//! `ZMCP_VAULT_KEYS_FILE`, as for the server, and the records from the configured backend
//! (`vault.backend`: the database, or AWS Secrets Manager in a binary built with `aws`).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use secrecy::{ExposeSecret, SecretString};
use zebrunner_client::Workspace;
use zebrunner_mcp_server::credentials::revalidate::{Verdict, check_record, check_token};
use zebrunner_storage::Storage;
use zebrunner_storage::audit::export::{aligned, printable};
use zebrunner_storage::vault::{NewCredential, RecordStatus, Vault, VaultMetadata};
use zebrunner_vault_crypto::KeyId;

use super::setup;
use crate::output::reportln;

#[derive(Debug, Args)]
pub struct VaultArgs {
    #[command(subcommand)]
    pub command: VaultCommand,
    /// Database holding the vault: sqlite:///path/to/file.db or postgres://... (default: the
    /// server's, zebrunner-mcp.db in the data directory).
    #[arg(long, global = true, env = "ZMCP_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Data directory holding zebrunner-mcp.db (default: the platform's data directory).
    #[arg(long, global = true, env = "ZMCP_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Print a new key line (`id:base64key`) for ZMCP_VAULT_KEYS or its file. Append it as the
    /// last entry: the last key seals, every key opens. Then run `vault rekey`.
    Keygen {
        /// The key's id (default: the UTC date and time, e.g. 20261201-120000).
        #[arg(long)]
        id: Option<String>,
    },
    /// Store a person's Zebrunner login and API token. The token is read from standard input
    /// (one line) or --token-file, and checked against Zebrunner first.
    Put(PutArgs),
    /// List the records: who, which login, state and times; never a token.
    List {
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Delete a person's record.
    Delete {
        /// User key (`uid:...`, `sub:...`).
        #[arg(long)]
        user: String,
    },
    /// Check every record (or one) against Zebrunner; mark those it refuses invalid. Network
    /// errors and Zebrunner outages change nothing.
    Verify {
        /// Only this user key.
        #[arg(long)]
        user: Option<String>,
    },
    /// Re-encrypt every record with the newest key, in batches; safe to stop and run again.
    Rekey {
        /// Records per batch.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        batch: u32,
    },
    /// Write the records' metadata (never tokens) as CSV or JSON lines.
    ExportMetadata {
        #[arg(long, value_enum)]
        format: MetadataFormat,
    },
}

#[derive(Debug, Args)]
pub struct PutArgs {
    /// The person's user key, as the server sees it (`uid:<okta uid>`, or `sub:<sub>`).
    #[arg(long)]
    pub user: String,
    /// Their Zebrunner login.
    #[arg(long)]
    pub login: String,
    /// Read the token from this file instead of standard input.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Store without asking Zebrunner whether the token works (and belongs to the login).
    #[arg(long)]
    pub no_verify: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MetadataFormat {
    Csv,
    Jsonl,
}

pub async fn run(config_file: Option<&Path>, args: VaultArgs) -> anyhow::Result<()> {
    let config = setup::load_config(config_file, Default::default())?;
    if let VaultCommand::Keygen { id } = &args.command {
        return keygen(&config, id.as_deref()).await;
    }
    let url = match &args.database_url {
        Some(url) => url.clone(),
        None => {
            let mut config = config.clone();
            if let Some(dir) = &args.data_dir {
                config.data_dir = Some(dir.clone());
            }
            setup::database_url(&config)?
        }
    };
    let storage = Storage::connect(&url).await.with_context(|| {
        format!(
            "cannot open the vault database ({})",
            setup::redact_url(&url)
        )
    })?;
    let vault = super::vault_backend::open(&config, &storage).await?;
    match args.command {
        VaultCommand::Keygen { .. } => Ok(()),
        VaultCommand::Put(put_args) => put(&vault, &setup::workspace(&config)?, put_args).await,
        VaultCommand::List { json } => list(&vault, json).await,
        VaultCommand::Delete { user } => {
            if vault.delete(&user).await? {
                eprintln!("deleted the record of {}", clean(&user));
                Ok(())
            } else {
                bail!("no record for {}", clean(&user))
            }
        }
        VaultCommand::Verify { user } => verify(&vault, &setup::workspace(&config)?, user).await,
        VaultCommand::Rekey { batch } => {
            let ring = vault.key_ring().await?;
            let newest = ring.newest().to_string();
            let records_left = rekey(&vault, &newest, batch).await?;
            let issuer = config.public_base(None);
            let keys_left = rekey_signing_keys(&issuer, storage, ring).await?;
            rekey_verdict(&newest, &issuer, records_left, &keys_left)
        }
        VaultCommand::ExportMetadata { format } => export(&vault, format).await,
    }
}

async fn keygen(
    config: &zebrunner_mcp_server::config::Config,
    id: Option<&str>,
) -> anyhow::Result<()> {
    let id = match id {
        Some(id) => id.to_owned(),
        None => {
            let now = time::OffsetDateTime::now_utc();
            let format =
                time::macros::format_description!("[year][month][day]-[hour][minute][second]");
            now.format(&format).context("cannot format the time")?
        }
    };
    let id = KeyId::new(&id)
        .with_context(|| format!("{id:?} is not a key id: use 1 to 32 letters, digits, - or _"))?;
    // With key source aws-kms, KMS makes the key and only its wrapped form is printed.
    let (entry, kind) = match super::vault_backend::wrapped_keygen(config, &id).await? {
        Some(wrapped) => (zeroize::Zeroizing::new(wrapped), "wrapped by KMS "),
        None => (zebrunner_vault_crypto::generate_entry(&id)?, ""),
    };
    let mut out = crate::output::stdout();
    out.write_all(entry.as_bytes())?;
    out.write_all(b"\n")?;
    eprintln!(
        "new vault key {id} ({kind}`id:base64`): append this line to ZMCP_VAULT_KEYS \
         (comma-separated) or its file, as the last entry, restart the servers, then run \
         `zebrunner-mcp vault rekey`"
    );
    Ok(())
}

async fn put(vault: &Vault, workspace: &Workspace, args: PutArgs) -> anyhow::Result<()> {
    let token = read_token(args.token_file.as_deref())?;
    let login = args.login.trim();
    if !args.no_verify {
        match check_token(workspace, login, token.clone()).await {
            Verdict::Valid => {}
            Verdict::Invalid(reason) => bail!(
                "not stored: {}; nobody may store a token Zebrunner refuses, or another \
                 person's token under their own login",
                clean(&reason)
            ),
            Verdict::Unknown(why) => bail!(
                "Zebrunner could not check the token for {login} ({}); retry, or store it \
                 anyway with --no-verify",
                clean(&why)
            ),
        }
    }
    let meta = vault
        .put(&NewCredential {
            user_key: &args.user,
            zebrunner_url: workspace.web_url(),
            login,
            token: &token,
            validated: !args.no_verify,
        })
        .await?;
    eprintln!(
        "stored {} for {} (revision {}, key {}{})",
        clean(&meta.login),
        clean(&meta.user_key),
        meta.revision,
        meta.key_id,
        if args.no_verify {
            ", not verified"
        } else {
            ", verified"
        }
    );
    Ok(())
}

/// One line from `path` or standard input, trimmed; never echoed.
fn read_token(path: Option<&Path>) -> anyhow::Result<SecretString> {
    let mut line = String::new();
    match path {
        Some(path) => {
            line = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the token file {}", path.display()))?;
        }
        None => {
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                eprintln!("paste the Zebrunner API token and press Enter:");
            }
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("cannot read the token from standard input")?;
        }
    }
    let token = SecretString::from(line.trim().to_owned());
    line.clear();
    if token.expose_secret().is_empty() {
        bail!("no token given: pipe it on standard input or name a file with --token-file");
    }
    Ok(token)
}

async fn all(vault: &Vault) -> anyhow::Result<Vec<VaultMetadata>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = vault.list(after.as_deref(), 500).await?;
        let done = page.len() < 500;
        after = page.last().map(|m| m.user_key.clone());
        out.extend(page);
        if done {
            return Ok(out);
        }
    }
}

async fn list(vault: &Vault, json: bool) -> anyhow::Result<()> {
    let records = all(vault).await?;
    let mut out = crate::output::stdout();
    if json {
        for m in &records {
            writeln!(out, "{}", json_line(m))?;
        }
        return Ok(());
    }
    let header = [
        "USER",
        "LOGIN",
        "STATUS",
        "KEY",
        "UPDATED",
        "LAST USED",
        "LAST CHECKED",
    ];
    let rows: Vec<[String; 7]> = records
        .iter()
        .map(|m| {
            let status = match &m.status {
                RecordStatus::Active => "active".to_owned(),
                RecordStatus::Invalid { reason } => format!("invalid: {reason}"),
            };
            [
                m.user_key.clone(),
                m.login.clone(),
                status,
                m.key_id.clone(),
                m.updated_at.clone(),
                m.last_used_at.clone().unwrap_or_else(|| "-".into()),
                m.last_validated_at.clone().unwrap_or_else(|| "-".into()),
            ]
            .map(|cell| clean(&cell))
        })
        .collect();
    out.write_all(aligned(header, &rows).as_bytes())?;
    eprintln!("{} record(s)", records.len());
    Ok(())
}

async fn verify(vault: &Vault, workspace: &Workspace, user: Option<String>) -> anyhow::Result<()> {
    let records = match &user {
        Some(user) => vec![
            vault
                .metadata(user)
                .await?
                .with_context(|| format!("no record for {}", clean(user)))?,
        ],
        None => all(vault).await?,
    };
    let (mut ok, mut invalid, mut unknown) = (0, 0, 0);
    for meta in records {
        let who = clean(&meta.user_key);
        match check_record(vault, workspace, &meta).await? {
            Verdict::Valid => {
                reportln!("{who}: ok ({})", clean(&meta.login))?;
                ok += 1;
            }
            Verdict::Invalid(reason) => {
                reportln!("{who}: invalid: {}", clean(&reason))?;
                invalid += 1;
            }
            Verdict::Unknown(why) => {
                reportln!("{who}: not checked, left as it was ({})", clean(&why))?;
                unknown += 1;
            }
        }
    }
    eprintln!("{ok} ok, {invalid} marked invalid, {unknown} not checked");
    if unknown > 0 {
        bail!("{unknown} record(s) could not be checked; run verify again later");
    }
    Ok(())
}

/// Reseal every record with the newest key; how many could not be (each printed, with why).
async fn rekey(vault: &Vault, newest: &str, batch: u32) -> anyhow::Result<usize> {
    let (mut resealed, mut failed) = (0usize, Vec::new());
    let mut after: Option<String> = None;
    loop {
        let step = vault.rekey_batch(after.as_deref(), batch).await?;
        resealed += step.resealed;
        failed.extend(step.failed);
        eprintln!("rekey: {resealed} record(s) now on key {newest}");
        match step.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    for (user, error) in &failed {
        reportln!("{}: not rekeyed: {error}", clean(user))?;
    }
    Ok(failed.len())
}

/// The authorization server's signing keys (identity `broker`) are sealed with the same key
/// ring: move them to the newest key too, or the old key could not be removed. Returns those
/// still sealed as they were.
async fn rekey_signing_keys(
    issuer: &str,
    storage: Storage,
    ring: Arc<zebrunner_vault_crypto::KeyRing>,
) -> anyhow::Result<Vec<zebrunner_oauth::keys::StillSealed>> {
    let keys = zebrunner_oauth::SigningKeys::new(
        zebrunner_storage::oauth::OAuthStore::new(storage),
        ring,
        issuer,
        i64::MAX / 4,
        0,
    );
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (resealed, failed) = keys.rekey(now).await?;
    if resealed > 0 {
        eprintln!("rekey: {resealed} OAuth signing key(s) now on the newest key");
    }
    Ok(failed)
}

/// Older vault keys may be removed only when every record and every signing key is sealed
/// with the newest one; otherwise say what still needs an older key.
fn rekey_verdict(
    newest: &str,
    issuer: &str,
    records_left: usize,
    keys_left: &[zebrunner_oauth::keys::StillSealed],
) -> anyhow::Result<()> {
    if records_left == 0 && keys_left.is_empty() {
        eprintln!(
            "rekey done: every record and OAuth signing key is sealed with {newest}; older keys \
             may be removed"
        );
        return Ok(());
    }
    let mut why = Vec::new();
    if records_left > 0 {
        why.push(format!(
            "{records_left} record(s) open with no key in the ring and were left as they are"
        ));
    }
    if !keys_left.is_empty() {
        let keys: Vec<String> = keys_left
            .iter()
            .map(|k| format!("{} (vault key {})", clean(&k.kid), clean(&k.vault_key)))
            .collect();
        let mut vault_keys: Vec<String> = keys_left.iter().map(|k| clean(&k.vault_key)).collect();
        vault_keys.sort();
        vault_keys.dedup();
        why.push(format!(
            "{} OAuth signing key(s) stay sealed with their old vault key: {}; they open with no \
             key in the ring, or belong to another public_url than {issuer}; keep vault key(s) \
             {} in ZMCP_VAULT_KEYS (put back any removed): the server needs them to open its \
             signing keys",
            keys_left.len(),
            keys.join(", "),
            vault_keys.join(", ")
        ));
    }
    bail!("rekey incomplete, older keys must stay: {}", why.join("; "))
}

async fn export(vault: &Vault, format: MetadataFormat) -> anyhow::Result<()> {
    let records = all(vault).await?;
    let mut out = crate::output::stdout();
    match format {
        MetadataFormat::Jsonl => {
            for m in &records {
                writeln!(out, "{}", json_line(m))?;
            }
        }
        MetadataFormat::Csv => {
            out.write_all(
                b"user_key,zebrunner_url,login,status,invalid_reason,key_id,revision,created_at,\
                  updated_at,last_used_at,last_validated_at\r\n",
            )?;
            for m in &records {
                let reason = match &m.status {
                    RecordStatus::Invalid { reason } => reason.as_str(),
                    RecordStatus::Active => "",
                };
                let fields = [
                    m.user_key.as_str(),
                    &m.zebrunner_url,
                    &m.login,
                    m.status.as_str(),
                    reason,
                    &m.key_id,
                    &m.revision.to_string(),
                    &m.created_at,
                    &m.updated_at,
                    m.last_used_at.as_deref().unwrap_or(""),
                    m.last_validated_at.as_deref().unwrap_or(""),
                ]
                .map(zebrunner_storage::audit::export::csv_field);
                out.write_all(format!("{}\r\n", fields.join(",")).as_bytes())?;
            }
        }
    }
    Ok(out.flush()?)
}

fn json_line(m: &VaultMetadata) -> serde_json::Value {
    let reason = match &m.status {
        RecordStatus::Invalid { reason } => Some(reason.as_str()),
        RecordStatus::Active => None,
    };
    serde_json::json!({
        "user_key": m.user_key,
        "zebrunner_url": m.zebrunner_url,
        "login": m.login,
        "status": m.status.as_str(),
        "invalid_reason": reason,
        "key_id": m.key_id,
        "revision": m.revision,
        "created_at": m.created_at,
        "updated_at": m.updated_at,
        "last_used_at": m.last_used_at,
        "last_validated_at": m.last_validated_at,
    })
}

/// A stored value as it may be printed on a terminal: no control characters or bidi overrides.
fn clean(value: &str) -> String {
    printable(value).into_owned()
}
