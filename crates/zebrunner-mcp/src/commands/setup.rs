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
use zebrunner_mcp_server::observe::Observer;
use zebrunner_mcp_server::{
    Credentials,
    config::{AuditSinkKind, Config, CredentialsMode, IdentityMode, Severity},
    connect::{ConnectPage, session},
    credentials::{
        HeaderCredentials, VaultCredentials, logins::LoginRules, revalidate::Revalidation,
    },
    policy::Policy,
    transport::http::Security,
};
use zebrunner_oauth::{AuthorizationServer, Parts as OAuthParts, SigningKeys, ZebrunnerTokens};
use zebrunner_pages::CookieKey;
use zebrunner_storage::oauth::OAuthStore;

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

/// The database a command that only looks opens: `database_url` as given, or the SQLite file
/// in the data directory, which must already exist, so that looking never creates an empty
/// database somewhere unexpected. `what` names it in the error ("audit database").
pub fn existing_database_url(
    database_url: Option<&str>,
    data_dir: Option<&Path>,
    what: &str,
) -> anyhow::Result<String> {
    if let Some(url) = database_url {
        return Ok(url.to_owned());
    }
    let dir = match data_dir {
        Some(dir) => dir.to_path_buf(),
        None => zebrunner_storage::default_data_dir()
            .context("no data directory on this platform: set ZMCP_DATA_DIR or --database-url")?,
    };
    let file = dir.join("zebrunner-mcp.db");
    if !file.exists() {
        bail!(
            "no {what} at {} (the server creates it when it starts; set --data-dir/\
             ZMCP_DATA_DIR or --database-url/ZMCP_DATABASE_URL)",
            file.display()
        );
    }
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
            client_config.breaker = config.zebrunner.breaker();
            let client = super::connect(client_config, !config.skip_credential_check).await?;
            Ok(Credentials::ServiceAccount(client))
        }
        CredentialsMode::Vault => {
            let vault = super::vault_backend::open(config, storage).await?;
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
    settings.breaker = config.zebrunner.breaker();
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

/// The company's issuer (Okta), discovered: it validates access tokens with identity `oidc`,
/// and signs people in on our own pages (the connect page; the authorization server of
/// identity `broker`). `None` with identity `none`.
pub async fn okta(config: &Config) -> anyhow::Result<Option<OidcValidator>> {
    match config.identity {
        IdentityMode::None => Ok(None),
        IdentityMode::Oidc | IdentityMode::Broker => Ok(Some(validator(config).await?)),
    }
}

/// What guards `/mcp`, from the identity settings: Okta's tokens (`oidc`), or ours
/// (`broker`, with the authorization server that issues them).
/// With identity `broker`, the authorization server's token exchange draws on the vault
/// (`credentials`), its decisions go to the audit log (`audit`), and the connect page
/// (`connect`, see [`connect_page`]) becomes a step of `/authorize`.
pub async fn security(
    config: &Config,
    storage: &Storage,
    okta: Option<&OidcValidator>,
    credentials: &Credentials,
    audit: &AuditLog,
    connect: Option<Arc<ConnectPage>>,
) -> anyhow::Result<Security> {
    let policy = Policy::new(config.policy.clone(), config.read_only);
    let (validator, oauth) = match (config.identity, okta) {
        (IdentityMode::None, _) => (None, None),
        (IdentityMode::Oidc, Some(okta)) => (Some(okta.clone()), None),
        (IdentityMode::Broker, Some(okta)) => {
            let server = authorization_server(
                config,
                storage,
                okta,
                &policy,
                Grants {
                    credentials,
                    audit,
                    connect: connect.clone(),
                },
            )
            .await?;
            // Issuer, audience, algorithm and service clients are the server's own.
            let mut settings = ValidatorConfig::new(server.issuer(), config.resource_url(None));
            settings.leeway = Duration::from_secs(config.oidc.leeway_secs);
            settings.groups_claim = config.oidc.groups_claim.clone();
            let validator = server
                .validator(settings)
                .await
                .context("could not load the authorization server's signing keys")?;
            (Some(validator), Some(server))
        }
        (_, None) => bail!("identity {:?} needs oidc.issuer", config.identity),
    };
    Ok(Security {
        validator,
        policy,
        read_only: config.read_only,
        public_url: config.public_url.clone(),
        connect,
        oauth,
    })
}

/// Our own authorization server (identity `broker`): people sign in at Okta as
/// `oidc.client_id`, returning to `<public_url>/oauth/callback`; signing keys are sealed with
/// the vault's key ring; all state is in the database.
/// What the authorization server draws on besides its own settings.
struct Grants<'a> {
    credentials: &'a Credentials,
    audit: &'a AuditLog,
    connect: Option<Arc<ConnectPage>>,
}

async fn authorization_server(
    config: &Config,
    storage: &Storage,
    okta: &OidcValidator,
    policy: &Policy,
    grants: Grants<'_>,
) -> anyhow::Result<Arc<AuthorizationServer>> {
    let base = config.public_base(None);
    let (client_id, secret) = sign_in_client(config)?;
    let ring = super::vault_backend::key_ring(config)
        .await
        .context("identity \"broker\" seals its signing keys with the vault's keys")?;
    let store = OAuthStore::new(storage.clone());
    let keys = Arc::new(SigningKeys::new(
        store.clone(),
        ring,
        &base,
        i64::try_from(config.oauth.signing_key_days.saturating_mul(86_400)).unwrap_or(i64::MAX / 4),
        i64::try_from(config.oauth.access_token_ttl_secs).unwrap_or(3600),
    ));
    let sign_in = SignInClient::new(
        okta.clone(),
        client_id,
        secret,
        format!("{base}/oauth/callback"),
    )
    .context("the issuer cannot sign people in for the authorization server")?
    .with_extra_scopes(policy.read_scope());
    let admission_policy = policy.clone();
    let server = AuthorizationServer::new(OAuthParts {
        config: config.oauth.clone(),
        issuer: base.clone(),
        store,
        keys,
        sign_in,
        cookies: cookie_key(config, storage).await?,
        admit: Arc::new(move |identity| admission_policy.grant(identity).map(|_| ())),
        scopes: policy.scopes_needed(true),
        groups_claim: config.oidc.groups_claim.clone(),
        trusted_issuers: zebrunner_oauth::trusted_issuers(&config.oauth, &config.oidc.groups_claim)
            .await
            .context("could not reach an identity provider of oauth.id_jag_issuers")?,
        zebrunner: match grants.credentials {
            Credentials::Vault(vault) => Some(vault.clone() as Arc<dyn ZebrunnerTokens>),
            _ => None,
        },
        audit: Some(Arc::new(Observer::new(grants.audit.clone()))),
        connect: grants
            .connect
            .map(|page| page as Arc<dyn zebrunner_oauth::ConnectStep>),
    });
    server
        .start()
        .await
        .context("could not make or load the authorization server's signing keys")?;
    tracing::info!(issuer = %base, "authorization server on");
    Ok(server)
}

/// This server's own client at the issuer and its secret (`ZMCP_OIDC_CLIENT_SECRET`/`_FILE`).
fn sign_in_client(config: &Config) -> anyhow::Result<(String, SecretString)> {
    let client_id = config.oidc.client_id.clone().context(
        "set oidc.client_id (ZMCP_OIDC_CLIENT_ID), this server's web client at the issuer",
    )?;
    let secret = settings::env_or_file("ZMCP_OIDC_CLIENT_SECRET")?.context(
        "oidc.client_id needs the client's secret: set ZMCP_OIDC_CLIENT_SECRET or \
         ZMCP_OIDC_CLIENT_SECRET_FILE",
    )?;
    Ok((client_id, SecretString::from(secret)))
}

/// The key that signs our pages' cookies, kept in the database so every replica accepts every
/// other's; `__Host-` cookies unless the public URL is plain-http loopback.
async fn cookie_key(config: &Config, storage: &Storage) -> anyhow::Result<CookieKey> {
    let public = url::Url::parse(&config.public_base(None)).context("public_url is not a URL")?;
    let key = storage
        .server_secret(COOKIE_KEY_NAME, 32)
        .await
        .context("could not read or create the pages' cookie key in the database")?;
    Ok(CookieKey::new(&key, public.scheme() == "https"))
}

/// The connect page, when this server serves one (see [`Config::serves_connect_page`]):
/// people sign in at `okta` as `oidc.client_id` and store their Zebrunner token in the vault.
pub async fn connect_page(
    config: &Config,
    credentials: &Credentials,
    storage: &Storage,
    okta: Option<&OidcValidator>,
) -> anyhow::Result<Option<Arc<ConnectPage>>> {
    let (true, Credentials::Vault(vault), Some(okta)) =
        (config.serves_connect_page(), credentials, okta)
    else {
        return Ok(None);
    };
    let (client_id, secret) = sign_in_client(config)?;
    let base = config.public_base(None);
    let public = url::Url::parse(&base).context("public_url is not a URL")?;
    let policy = Policy::new(config.policy.clone(), config.read_only);
    let sign_in = SignInClient::new(
        okta.clone(),
        client_id,
        secret,
        format!("{base}/connect/callback"),
    )
    .context("the issuer cannot sign people in for the connect page")?
    .with_extra_scopes(policy.read_scope());
    tracing::info!(url = %format!("{base}/connect"), "connect page on");
    Ok(Some(Arc::new(ConnectPage {
        sign_in,
        vault: vault.clone(),
        policy,
        cookies: session::cookies(cookie_key(config, storage).await?),
        issuer: okta.metadata().issuer.clone(),
        origin: public.origin().ascii_serialization(),
        zebrunner_token_exchange: config.vault.zebrunner_token_exchange,
    })))
}

/// The database name of the pages' cookie-signing key (the connect page's and the
/// authorization server's).
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
