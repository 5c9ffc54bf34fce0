//! Turning configuration into running parts: the configuration itself, the
//! audit log and its storage, and the HTTP security (token validator,
//! policy). Shared by `serve` and `config check`.

use std::{path::Path, str::FromStr, time::Duration};

use anyhow::{Context, bail};
use serde_json::{Map, Value};
use std::sync::Arc;
use zebrunner_identity::{OidcConfig as ValidatorConfig, OidcValidator};

use secrecy::SecretString;
use zebrunner_client::{ClientConfig, Workspace, WorkspaceConfig};
use zebrunner_identity::SignInClient;
use zebrunner_mcp_server::{
    Credentials,
    config::{AuditSinkKind, Config, CredentialsMode, IdentityMode, Severity},
    connect::{ConnectPage, session::Cookies},
    credentials::{
        HeaderCredentials, VaultCredentials, logins::LoginRules, revalidate::Revalidation,
    },
    policy::Policy,
    transport::http::Security,
};
use zebrunner_pages::CookieKey;
use zebrunner_storage::vault::Vault;

use crate::settings::{self, ZebrunnerSettings};
use zebrunner_storage::{
    Storage,
    audit::{AuditLog, AuditSink},
};

/// Defaults, then the file, then `ZMCP_*`, then command-line flags.
pub fn load_config(file: Option<&Path>, overrides: Map<String, Value>) -> anyhow::Result<Config> {
    let figment = Config::figment(file).merge(figment::providers::Serialized::globals(overrides));
    Config::from_figment(figment).map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))
}

/// Refuse to start on configuration errors, listing all of them; print
/// warnings.
pub fn refuse_errors(config: &Config) -> anyhow::Result<()> {
    let problems = config.problems();
    for warning in problems.iter().filter(|p| p.severity == Severity::Warning) {
        tracing::warn!("{warning}");
    }
    let errors: Vec<String> = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| p.to_string())
        .collect();
    if !errors.is_empty() {
        bail!(
            "the configuration has problems (run `zebrunner-mcp config check` for details):\n  {}",
            errors.join("\n  ")
        );
    }
    Ok(())
}

/// The database URL: configured, or SQLite in the data directory.
pub fn database_url(config: &Config) -> anyhow::Result<String> {
    if let Some(url) = &config.database_url {
        return Ok(url.clone());
    }
    let dir = match &config.data_dir {
        Some(dir) => dir.clone(),
        None => zebrunner_storage::default_data_dir()
            .context("no data directory on this platform; set ZMCP_DATA_DIR")?,
    };
    Ok(Storage::default_sqlite_url(&dir))
}

/// The configured database, opened and migrated.
pub async fn storage(config: &Config) -> anyhow::Result<Storage> {
    let url = database_url(config)?;
    Storage::connect(&url)
        .await
        .with_context(|| format!("could not open the database ({})", redact_url(&url)))
}

/// The database for write confirmation tokens: the audit sink's when the
/// audit log goes to the database, otherwise the configured one, opened now.
pub async fn token_storage(config: &Config, audit: &AuditLog) -> anyhow::Result<Storage> {
    let shared = audit.sinks().iter().find_map(|sink| match sink {
        AuditSink::Database(storage) => Some(storage.clone()),
        _ => None,
    });
    match shared {
        Some(storage) => Ok(storage),
        None => storage(config).await,
    }
}

/// The audit log with every configured sink.
pub async fn audit_log(config: &Config) -> anyhow::Result<AuditLog> {
    let mut sinks = Vec::new();
    for sink in &config.audit.sinks {
        sinks.push(match sink {
            AuditSinkKind::Database => {
                let url = database_url(config)?;
                let storage = Storage::connect(&url).await.with_context(|| {
                    format!("could not open the audit database ({})", redact_url(&url))
                })?;
                AuditSink::Database(storage)
            }
            AuditSinkKind::Stdout => AuditSink::Stdout,
            AuditSinkKind::File => AuditSink::File(
                config
                    .audit
                    .file
                    .clone()
                    .context("audit.file is needed for the file sink")?,
            ),
        });
    }
    Ok(AuditLog::new(sinks))
}

/// The credential source `config.credentials` names, ready to serve calls. The service account
/// is proven against Zebrunner unless `skip_credential_check`; the vault needs its keys.
pub async fn credentials(config: &Config, storage: &Storage) -> anyhow::Result<Credentials> {
    let logins = || LoginRules::new(&config.zebrunner.logins);
    match config.credentials {
        CredentialsMode::ServiceAccount => {
            let settings = ZebrunnerSettings::from_env()?;
            let mut client_config = ClientConfig::new(
                super::parse_url(&settings.url)?,
                settings.login,
                settings.token,
            );
            client_config.requests_per_second = config.zebrunner.requests_per_second;
            let client = super::connect(client_config, !config.skip_credential_check).await?;
            Ok(Credentials::ServiceAccount(client))
        }
        CredentialsMode::Vault => {
            let ring = Arc::new(settings::required_vault_keys()?);
            tracing::info!(keys = ring.ids().count(), newest = %ring.newest(), "vault keys loaded");
            let vault = Vault::new(storage.clone(), ring);
            let workspace = workspace(config)?;
            if config.vault.revalidate_hours > 0 {
                Arc::new(Revalidation {
                    vault: vault.clone(),
                    workspace: workspace.clone(),
                    storage: storage.clone(),
                    every: Duration::from_secs(config.vault.revalidate_hours.saturating_mul(3600)),
                    concurrency: config.vault.revalidate_concurrency,
                    holder: zebrunner_mcp_server::audit::correlation_id(),
                })
                .spawn();
            }
            Ok(Credentials::Vault(Arc::new(VaultCredentials::new(
                vault,
                workspace,
                logins(),
                config.connect_url(None),
                config.vault.cache_max_users,
                Duration::from_secs(config.vault.cache_idle_secs),
            ))))
        }
        CredentialsMode::Headers => Ok(Credentials::Headers(Arc::new(HeaderCredentials::new(
            workspace(config)?,
            logins(),
        )))),
    }
}

/// The Zebrunner workspace per-user clients share (`ZEBRUNNER_URL`).
pub fn workspace(config: &Config) -> anyhow::Result<Workspace> {
    let mut settings = WorkspaceConfig::new(super::parse_url(&settings::zebrunner_url()?)?);
    settings.requests_per_second = config.zebrunner.requests_per_second;
    Workspace::new(&settings).context("invalid Zebrunner client settings")
}

/// Hide a password in a database URL for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// What guards `/mcp`, from the identity settings.
pub async fn security(config: &Config) -> anyhow::Result<Security> {
    let policy = Policy::new(config.policy.clone(), config.read_only);
    let validator = match config.identity {
        IdentityMode::None => None,
        IdentityMode::Oidc => Some(validator(config).await?),
        IdentityMode::Broker => bail!("identity \"broker\" is not available in this version"),
    };
    Ok(Security {
        validator,
        policy,
        read_only: config.read_only,
        public_url: config.public_url.clone(),
        connect: None,
    })
}

/// The connect page, when this server serves one (see [`Config::serves_connect_page`]):
/// people sign in as `oidc.client_id` (its secret from `ZMCP_OIDC_CLIENT_SECRET` or
/// `_FILE`) and store their Zebrunner token in the vault. Its cookies are signed with a key
/// kept in the database, so every replica accepts every other's.
pub async fn connect_page(
    config: &Config,
    credentials: &Credentials,
    storage: &Storage,
    security: &Security,
) -> anyhow::Result<Option<Arc<ConnectPage>>> {
    let (true, Credentials::Vault(vault), Some(validator), Some(client_id)) = (
        config.serves_connect_page(),
        credentials,
        &security.validator,
        &config.oidc.client_id,
    ) else {
        return Ok(None);
    };
    let secret = settings::env_or_file(settings::ZMCP_OIDC_CLIENT_SECRET)?.context(
        "the connect page (oidc.client_id) needs the client's secret: set \
         ZMCP_OIDC_CLIENT_SECRET or ZMCP_OIDC_CLIENT_SECRET_FILE",
    )?;
    let base = config.public_base(None);
    let public = url::Url::parse(&base).context("public_url is not a URL")?;
    let policy = Policy::new(config.policy.clone(), config.read_only);
    let sign_in = SignInClient::new(
        validator.clone(),
        client_id.clone(),
        SecretString::from(secret),
        format!("{base}/connect/callback"),
    )
    .context("the issuer cannot sign people in for the connect page")?
    .with_extra_scopes(policy.read_scope());
    let key = storage
        .server_secret(COOKIE_KEY_NAME, 32)
        .await
        .context("could not read or create the connect page's cookie key in the database")?;
    tracing::info!(url = %format!("{base}/connect"), "connect page on");
    Ok(Some(Arc::new(ConnectPage {
        sign_in,
        vault: vault.clone(),
        policy,
        cookies: Cookies::new(CookieKey::new(&key, public.scheme() == "https")),
        issuer: validator.metadata().issuer.clone(),
        origin: public.origin().ascii_serialization(),
    })))
}

/// The database name of the connect page's cookie-signing key.
const COOKIE_KEY_NAME: &str = "connect_cookie_key";

async fn validator(config: &Config) -> anyhow::Result<OidcValidator> {
    let issuer = config
        .oidc
        .issuer
        .clone()
        .context("identity \"oidc\" needs oidc.issuer (ZMCP_OIDC_ISSUER)")?;
    let mut settings = ValidatorConfig::new(issuer.clone(), config.audience(None));
    settings.algorithms = config
        .oidc
        .algorithms
        .iter()
        .map(|a| {
            jsonwebtoken::Algorithm::from_str(a)
                .map_err(|_| anyhow::anyhow!("oidc.algorithms: unknown algorithm {a:?}"))
        })
        .collect::<anyhow::Result<_>>()?;
    settings.leeway = Duration::from_secs(config.oidc.leeway_secs);
    settings.allowed_client_ids = config.oidc.allowed_client_ids.clone();
    // The connect page's own sign-in client is trusted like the listed ones: its access
    // tokens are validated like an MCP call's to learn who signed in.
    if let Some(client) = &config.oidc.client_id
        && !settings.allowed_client_ids.is_empty()
        && !settings.allowed_client_ids.contains(client)
    {
        settings.allowed_client_ids.push(client.clone());
    }
    settings.groups_claim = config.oidc.groups_claim.clone();
    settings.service_clients = config.oidc.service_clients.clone();
    settings
        .validate()
        .map_err(|e| anyhow::anyhow!("oidc settings: {e}"))?;
    OidcValidator::discover(settings).await.with_context(|| {
        format!("could not reach the issuer {issuer} to load its metadata and keys")
    })
}
