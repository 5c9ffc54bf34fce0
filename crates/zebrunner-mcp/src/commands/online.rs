//! `zebrunner-mcp config check --online`: reach each thing the configuration depends on, the
//! way `serve` would at start, and say for each whether it works, why not and what to do.
//!
//! - the database: opened as it is ([`Storage::open_existing`]: nothing created, nothing
//!   migrated) and its migrations state read;
//! - the OIDC issuer (identity `oidc` or `broker`): metadata, keys, and a key for
//!   `oidc.algorithms`, as `serve` discovers it; and, when this server signs people in
//!   (`oidc.client_id`), the endpoints that sign-in needs;
//! - each `oauth.id_jag_issuers` issuer (identity `broker`);
//! - Zebrunner: `ZEBRUNNER_URL` answers (asked without credentials), and with the service
//!   account its login and token are accepted (the IAM exchange `serve` does at start);
//! - with credentials `vault`: the AWS parts in use (Secrets Manager: list and read; KMS:
//!   unwrap the keys, make and unwrap a probe key), each failure naming the IAM permission
//!   refused; then the key ring opens a sample of the stored records, wherever they live.
//!
//! Nothing here writes: no database file, schema, record or token is created or changed.

use std::future::Future;
use std::time::Duration;

use std::sync::Arc;
use zebrunner_client::{ClientConfig, ErrorKind, Workspace, WorkspaceConfig, ZebrunnerClient};

use zebrunner_mcp_server::config::{
    Config, CredentialsMode, IdentityMode, VaultBackend, VaultKeySource,
};
use zebrunner_storage::Storage;
use zebrunner_storage::migrate::{MIGRATIONS, SchemaState};
use zebrunner_storage::vault::Vault;
use zebrunner_storage::vault::database::DatabaseRecords;
use zebrunner_storage::vault::keys::{KeySource, StaticKeys};
use zebrunner_storage::vault::store::RecordStore;
use zebrunner_vault_crypto::KeyRing;

use super::setup;
use crate::settings;

/// Longest wait for any one check (each also has its own, shorter, network timeouts).
const CHECK_DEADLINE: Duration = Duration::from_secs(45);
/// How many vault records the key ring is tried on (the first by user key).
const VAULT_SAMPLE: u32 = 20;
/// Time budget of the Zebrunner requests (one attempt, or retries of the IAM exchange).
const ZEBRUNNER_DEADLINE: Duration = Duration::from_secs(10);

/// How one check went.
#[derive(Debug)]
pub enum Outcome {
    Ok(String),
    /// Why, and what to do.
    Failed(String),
    /// Not tried, because something it needs is missing (reported as a configuration error).
    Skipped(String),
}

/// One thing the configuration depends on, and how reaching it went.
#[derive(Debug)]
pub struct Reached {
    /// What was reached: the setting and its value, e.g. `oidc.issuer https://...`.
    pub item: String,
    pub outcome: Outcome,
}

impl Reached {
    fn new(item: impl Into<String>, outcome: Outcome) -> Reached {
        Reached {
            item: item.into(),
            outcome,
        }
    }

    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Failed(_))
    }
}

impl std::fmt::Display for Reached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.outcome {
            Outcome::Ok(detail) => write!(f, "online: {}: ok: {detail}", self.item),
            Outcome::Failed(why) => write!(f, "online: {}: FAILED: {why}", self.item),
            Outcome::Skipped(why) => write!(f, "online: {}: skipped: {why}", self.item),
        }
    }
}

/// What the offline part of the check already knows.
pub struct Known<'a> {
    pub config: &'a Config,
    /// The vault's key ring, when it parsed.
    pub ring: Option<KeyRing>,
    /// Whether the configuration has errors about `oidc.*` (then the issuer is not asked).
    pub oidc_errors: bool,
}

/// Every check that applies to this configuration, in order.
pub async fn run(known: Known<'_>) -> Vec<Reached> {
    let config = known.config;
    let mut reached = Vec::new();
    let storage = database(config, &mut reached).await;
    if config.identity != IdentityMode::None {
        reached.push(issuer(config, known.oidc_errors).await);
    }
    if config.identity == IdentityMode::Broker {
        for issuer in &config.oauth.id_jag_issuers {
            reached.push(id_jag_issuer(issuer, &config.oidc.groups_claim).await);
        }
    }
    reached.extend(zebrunner(config).await);
    if config.credentials == CredentialsMode::Vault {
        for (item, probe) in super::vault_backend::probes(config).await {
            let outcome = match probe {
                Ok(detail) => Outcome::Ok(detail),
                Err(why) => Outcome::Failed(why),
            };
            reached.push(Reached::new(item, outcome));
        }
        reached.push(vault(config, storage, known.ring).await);
    }
    reached
}

/// `check`, or a failure once [`CHECK_DEADLINE`] has passed.
async fn within(item: &str, check: impl Future<Output = Outcome>) -> Reached {
    match tokio::time::timeout(CHECK_DEADLINE, check).await {
        Ok(outcome) => Reached::new(item, outcome),
        Err(_) => Reached::new(
            item,
            Outcome::Failed(format!(
                "no answer within {} s; check that this host can reach it (firewall, proxy, \
                 DNS)",
                CHECK_DEADLINE.as_secs()
            )),
        ),
    }
}

/// The database, opened as it is; its storage when it exists and its schema could be read
/// (the vault check reads from it).
async fn database(config: &Config, reached: &mut Vec<Reached>) -> Option<(Storage, SchemaState)> {
    let url = match setup::database_url(config) {
        Ok(url) => url,
        Err(e) => {
            reached.push(Reached::new(
                "database",
                Outcome::Skipped(format!("no database URL: {e:#}")),
            ));
            return None;
        }
    };
    let item = format!("database {}", setup::redact_url(&url));
    let mut found = None;
    let outcome = tokio::time::timeout(CHECK_DEADLINE, async {
        match Storage::open_existing(&url).await {
            Ok(None) => Outcome::Ok(
                "no database file yet; the server creates it and its schema when it first starts \
                 (its directory must be writable by the server's user)"
                    .into(),
            ),
            Ok(Some(storage)) => match storage.schema_state().await {
                Ok(state) => {
                    let outcome = schema_outcome(&state);
                    found = Some((storage, state));
                    outcome
                }
                Err(e) => Outcome::Failed(format!(
                    "it opens, but its schema cannot be read: {e}; check that the database \
                     user may read the tables (and, on PostgreSQL, the search_path)"
                )),
            },
            Err(e) => Outcome::Failed(format!(
                "{e}; check database_url (ZMCP_DATABASE_URL), that the database server is up \
                 and reachable from this host, and the user and password"
            )),
        }
    })
    .await
    .unwrap_or_else(|_| {
        Outcome::Failed(format!(
            "no answer within {} s; check that the database server is up and reachable",
            CHECK_DEADLINE.as_secs()
        ))
    });
    reached.push(Reached::new(item, outcome));
    found
}

fn schema_outcome(state: &SchemaState) -> Outcome {
    let unknown = state.unknown();
    let pending = state.pending();
    if !unknown.is_empty() {
        return Outcome::Failed(format!(
            "the schema is at version {}, newer than this zebrunner-mcp knows ({}): a newer \
             release migrated it; run that release (or a later one) here, not this one",
            state.version(),
            state.known()
        ));
    }
    if state.applied.is_empty() {
        return Outcome::Ok(
            "reachable, no schema yet; the server creates it when it first starts".into(),
        );
    }
    if pending.is_empty() {
        return Outcome::Ok(format!(
            "reachable, schema up to date (version {})",
            state.version()
        ));
    }
    Outcome::Ok(format!(
        "reachable, schema at version {} of {}; the first server of this release to start \
         applies {} migration(s): {}",
        state.version(),
        state.known(),
        pending.len(),
        pending
            .iter()
            .map(|m| format!("{} {}", m.version, m.name))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// The company's issuer, discovered as `serve` does.
async fn issuer(config: &Config, oidc_errors: bool) -> Reached {
    let Some(issuer) = config.oidc.issuer.as_deref() else {
        return Reached::new(
            "oidc.issuer",
            Outcome::Skipped("not set (see the error above)".into()),
        );
    };
    let item = format!("oidc.issuer {issuer}");
    if oidc_errors {
        return Reached::new(
            item,
            Outcome::Skipped("fix the oidc.* errors above first".into()),
        );
    }
    within(&item, async {
        match setup::okta(config).await {
            Ok(Some(okta)) => {
                let metadata = okta.metadata();
                let mut missing = Vec::new();
                if config.oidc.client_id.is_some() {
                    if metadata.authorization_endpoint.is_none() {
                        missing.push("authorization_endpoint");
                    }
                    if metadata.token_endpoint.is_none() {
                        missing.push("token_endpoint");
                    }
                }
                if missing.is_empty() {
                    Outcome::Ok(format!(
                        "metadata read; the keys at {} include one for {}",
                        metadata.jwks_uri,
                        config.oidc.algorithms.join(" or ")
                    ))
                } else {
                    Outcome::Failed(format!(
                        "its metadata has no {}, which signing people in as oidc.client_id \
                         needs; use the issuer of an authorization server that signs people \
                         in (for Okta: https://<domain>/oauth2/<server id>)",
                        missing.join(" or ")
                    ))
                }
            }
            Ok(None) => Outcome::Skipped("identity none".into()),
            // The issuer's own reason (unreachable, wrong metadata, no usable key) without
            // `serve`'s "could not reach" context, which is not always what happened.
            Err(e) => Outcome::Failed(format!(
                "{}; an HTTP server with this configuration does not start while this fails",
                match e.downcast_ref::<zebrunner_identity::SetupError>() {
                    Some(reason) => reason.to_string(),
                    None => format!("{e:#}"),
                }
            )),
        }
    })
    .await
}

/// One identity provider whose ID-JAGs the authorization server accepts.
async fn id_jag_issuer(issuer: &str, groups_claim: &str) -> Reached {
    let item = format!("oauth.id_jag_issuers {issuer}");
    within(&item, async {
        match zebrunner_oauth::trusted_issuer(issuer, groups_claim).await {
            Ok(validator) => Outcome::Ok(format!(
                "metadata read; the keys at {} include one for {}",
                validator.metadata().jwks_uri,
                zebrunner_oauth::ID_JAG_ALGORITHMS
                    .iter()
                    .map(|a| format!("{a:?}"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )),
            Err(e) => Outcome::Failed(format!(
                "{e}; the server does not start while an ID-JAG issuer cannot be read (it is \
                 the Okta org URL, e.g. https://acme.okta.com, not the custom authorization \
                 server)"
            )),
        }
    })
    .await
}

/// `ZEBRUNNER_URL` answers; with the service account, its credentials are accepted.
async fn zebrunner(config: &Config) -> Vec<Reached> {
    let url = match settings::env_or_file(settings::ZEBRUNNER_URL) {
        Ok(Some(url)) => url,
        _ => {
            return vec![Reached::new(
                "ZEBRUNNER_URL",
                Outcome::Skipped("not usable (see the error above)".into()),
            )];
        }
    };
    let Ok(parsed) = super::parse_url(&url) else {
        return vec![Reached::new(
            format!("ZEBRUNNER_URL {url}"),
            Outcome::Skipped("not a workspace address (see the error above)".into()),
        )];
    };
    let item = format!("ZEBRUNNER_URL {}", parsed.web_url());
    let mut workspace = WorkspaceConfig::new(parsed.clone());
    workspace.timeout = ZEBRUNNER_DEADLINE;
    workspace.retry_deadline = ZEBRUNNER_DEADLINE;
    let answers = within(&item, async {
        let workspace = match Workspace::new(&workspace) {
            Ok(workspace) => workspace,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        match workspace.check_reachable().await {
            Ok(()) => Outcome::Ok(match config.credentials {
                CredentialsMode::ServiceAccount => "Zebrunner answers".into(),
                CredentialsMode::Vault => "Zebrunner answers; each person's token is checked \
                                           when stored (`zebrunner-mcp vault verify` checks them \
                                           again)"
                    .into(),
                CredentialsMode::Headers => {
                    "Zebrunner answers; each request brings its caller's login and token".into()
                }
            }),
            Err(e) => Outcome::Failed(zebrunner_advice(&e)),
        }
    })
    .await;
    let reachable = !answers.failed();
    let mut reached = vec![answers];
    if config.credentials != CredentialsMode::ServiceAccount {
        return reached;
    }
    let (Ok(Some(login)), Ok(Some(token))) = (
        settings::env_or_file(settings::ZEBRUNNER_LOGIN),
        settings::env_or_file(settings::ZEBRUNNER_TOKEN),
    ) else {
        reached.push(Reached::new(
            "service account",
            Outcome::Skipped("ZEBRUNNER_LOGIN or ZEBRUNNER_TOKEN is not usable (see above)".into()),
        ));
        return reached;
    };
    let item = format!("service account {login}");
    if !reachable {
        reached.push(Reached::new(
            item,
            Outcome::Skipped("Zebrunner does not answer (see above)".into()),
        ));
        return reached;
    }
    let mut client = ClientConfig::new(parsed, login, secrecy::SecretString::from(token));
    client.timeout = ZEBRUNNER_DEADLINE;
    client.retry_deadline = ZEBRUNNER_DEADLINE;
    reached.push(
        within(&item, async {
            let client = match ZebrunnerClient::new(client) {
                Ok(client) => client,
                Err(e) => return Outcome::Failed(e.to_string()),
            };
            match client.check_credentials().await {
                Ok(identity) => Outcome::Ok(format!(
                    "Zebrunner accepts the login and token (user {})",
                    identity.username
                )),
                Err(e) => Outcome::Failed(zebrunner_advice(&e)),
            }
        })
        .await,
    );
    reached
}

/// A Zebrunner error, with what to do when its message does not say.
fn zebrunner_advice(error: &zebrunner_client::Error) -> String {
    match error.kind() {
        ErrorKind::Network => format!(
            "{error}; check ZEBRUNNER_URL and that this host can reach it (proxy, firewall, DNS, \
             TLS)"
        ),
        ErrorKind::Unavailable | ErrorKind::RateLimited => {
            format!("{error}; Zebrunner is failing or busy: try again later")
        }
        _ => error.to_string(),
    }
}

/// The key ring opens the first [`VAULT_SAMPLE`] records, wherever they live.
async fn vault(
    config: &Config,
    storage: Option<(Storage, SchemaState)>,
    ring: Option<KeyRing>,
) -> Reached {
    let item = "vault";
    let keys: Arc<dyn KeySource> = match (config.vault.key_source, ring) {
        (VaultKeySource::Local, Some(ring)) => Arc::new(StaticKeys(Arc::new(ring))),
        (VaultKeySource::Local, None) => {
            return Reached::new(
                item,
                Outcome::Skipped("no usable key ring (see the error above)".into()),
            );
        }
        (VaultKeySource::AwsKms, _) => match super::vault_backend::keys(config).await {
            Ok(keys) => keys,
            Err(e) => return Reached::new(item, Outcome::Skipped(format!("{e:#}"))),
        },
    };
    let has_table = |state: &SchemaState| {
        MIGRATIONS
            .iter()
            .any(|m| m.name == "vault_records" && state.applied.contains(&m.version))
    };
    let records: Arc<dyn RecordStore> = match (config.vault.backend, storage) {
        (VaultBackend::Database, Some((storage, state))) if has_table(&state) => {
            Arc::new(DatabaseRecords::new(storage))
        }
        (VaultBackend::Database, _) => {
            return Reached::new(
                item,
                Outcome::Ok("no records yet (the database has no vault table yet)".into()),
            );
        }
        (VaultBackend::AwsSecretsManager, _) => {
            match super::vault_backend::secrets_manager_records(config).await {
                Ok(records) => records,
                Err(e) => return Reached::new(item, Outcome::Skipped(format!("{e:#}"))),
            }
        }
    };
    let vault = Vault::with(records, keys);
    within(item, async {
        let records = match vault.list(None, VAULT_SAMPLE).await {
            Ok(records) => records,
            Err(e) => return Outcome::Failed(format!("the records cannot be listed: {e}")),
        };
        if records.is_empty() {
            return Outcome::Ok("no records yet".into());
        }
        let mut failures = Vec::new();
        for record in &records {
            if let Err(e) = vault.read(&record.user_key).await {
                failures.push(e.to_string());
            }
        }
        let mut keys: Vec<&str> = records.iter().map(|r| r.key_id.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        if failures.is_empty() {
            Outcome::Ok(format!(
                "the key ring opens all {} sampled record(s) (the first {VAULT_SAMPLE} by user \
                 key; sealed with {})",
                records.len(),
                keys.join(", ")
            ))
        } else {
            let shown = failures.iter().take(3).cloned().collect::<Vec<_>>();
            Outcome::Failed(format!(
                "{} of {} sampled record(s) do not open: {}{}; `zebrunner-mcp vault list` shows \
                 each record's key",
                failures.len(),
                records.len(),
                shown.join("; "),
                if failures.len() > shown.len() {
                    "; ..."
                } else {
                    ""
                }
            ))
        }
    })
    .await
}
