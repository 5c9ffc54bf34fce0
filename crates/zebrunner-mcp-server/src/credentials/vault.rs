//! Each person's own Zebrunner account, from the encrypted vault
//! (`credentials = "vault"`).
//!
//! A call resolves the caller's record by their user key. Opened clients are
//! cached per user (bounded, evicted when idle), so a busy person costs one
//! decryption per cache miss, not one per call; the cache entry remembers
//! which revision of the record it came from, so a token Zebrunner rejects is
//! marked invalid only if it is still the stored one.
//!
//! Each lookup counts in `zmcp_vault_lookups_total` by `result`: `hit` (a cached client),
//! `opened` (read from the vault and decrypted), `no_credentials` (nothing usable stored for
//! the person) or `error` (the vault could not be read).

use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use secrecy::SecretString;
use zebrunner_client::{Workspace, ZebrunnerClient};
use zebrunner_identity::Identity;
use zebrunner_storage::vault::{NewCredential, RecordStatus, Vault, VaultError, VaultMetadata};

use super::logins::LoginRules;
use super::waiting::ConnectWaiters;
use crate::{caller::Caller, tools::error::ToolError};

/// A person's client and where it came from.
#[derive(Clone)]
pub struct VaultClient {
    pub client: ZebrunnerClient,
    pub login: String,
    pub revision: i64,
}

/// A person's stored login and token, opened.
pub(crate) struct OpenRecord {
    pub(crate) login: String,
    pub(crate) token: SecretString,
    pub(crate) revision: i64,
}

pub struct VaultCredentials {
    vault: Vault,
    workspace: Workspace,
    logins: LoginRules,
    connect_url: Option<String>,
    clients: Cache<String, VaultClient>,
    waiters: ConnectWaiters,
}

/// Why a person's token was not stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The login is not one this person may use (see [`LoginRules`]).
    #[error("{0}")]
    LoginNotAllowed(String),
    #[error(transparent)]
    Vault(#[from] VaultError),
}

impl VaultCredentials {
    pub fn new(
        vault: Vault,
        workspace: Workspace,
        logins: LoginRules,
        connect_url: Option<String>,
        max_users: u64,
        idle: Duration,
    ) -> Self {
        Self {
            vault,
            workspace,
            logins,
            connect_url,
            clients: Cache::builder()
                .max_capacity(max_users)
                .time_to_idle(idle)
                .build(),
            waiters: ConnectWaiters::default(),
        }
    }

    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    pub fn logins(&self) -> &LoginRules {
        &self.logins
    }

    /// MCP clients waiting for people to connect (URL elicitation).
    pub fn waiters(&self) -> &ConnectWaiters {
        &self.waiters
    }

    /// A person's record, without its token.
    pub async fn metadata(&self, user_key: &str) -> Result<Option<VaultMetadata>, VaultError> {
        self.vault.metadata(user_key).await
    }

    /// Whether the login rules let `identity` connect `login`, with what to do if not.
    pub fn check_login(&self, identity: &Identity, login: &str) -> Result<(), StoreError> {
        if self.logins.allows(identity, login) {
            return Ok(());
        }
        Err(StoreError::LoginNotAllowed(
            match self.logins.login_for(identity) {
                Some(allowed) => format!(
                    "You may connect only the Zebrunner login {allowed:?}; ask the administrator \
                     of this server if yours differs"
                ),
                None => "Your sign-in carries no e-mail address to match a Zebrunner login; ask \
                         the administrator of this server to map your account"
                    .into(),
            },
        ))
    }

    /// Store `token` for the signed-in `identity` as Zebrunner `login`, which Zebrunner has
    /// just confirmed is the token's owner. Refused unless the login rules let this person use
    /// `login`. The next call uses the new token, and clients waiting for this person hear
    /// that they connected.
    pub async fn store(
        &self,
        identity: &Identity,
        login: &str,
        token: &SecretString,
    ) -> Result<VaultMetadata, StoreError> {
        self.check_login(identity, login)?;
        let meta = self
            .vault
            .put(&NewCredential {
                user_key: &identity.user_key,
                zebrunner_url: self.workspace.web_url(),
                login,
                token,
                validated: true,
            })
            .await?;
        self.clients.invalidate(&identity.user_key).await;
        self.waiters.connected(&identity.user_key).await;
        Ok(meta)
    }

    /// Forget a person's token (the connect page's "disconnect"). Returns whether one was
    /// stored.
    pub async fn remove(&self, user_key: &str) -> Result<bool, VaultError> {
        let removed = self.vault.delete(user_key).await?;
        self.clients.invalidate(user_key).await;
        Ok(removed)
    }

    pub fn connect_url(&self) -> Option<&str> {
        self.connect_url.as_deref()
    }

    /// What a person without usable credentials is told to do.
    pub fn reconnect_advice(&self) -> String {
        match &self.connect_url {
            Some(url) => format!("connect your Zebrunner account at {url}"),
            None => "ask the administrator of this server to store your Zebrunner login and \
                     API token (zebrunner-mcp vault put)"
                .into(),
        }
    }

    pub async fn client_for(&self, caller: &Caller) -> Result<VaultClient, ToolError> {
        let (Some(identity), Some(user_key)) = (&caller.identity, caller.user_key()) else {
            return Err(ToolError::NoCredentials(
                "This server uses each person's own Zebrunner account, and this request is not \
                 signed in"
                    .into(),
            ));
        };
        let entry = self
            .clients
            .entry_by_ref(user_key)
            .or_try_insert_with(self.load(user_key))
            .await;
        let result = match &entry {
            Ok(entry) if entry.is_fresh() => "opened",
            Ok(_) => "hit",
            Err(error) if matches!(**error, ToolError::Internal(_)) => "error",
            Err(_) => "no_credentials",
        };
        metrics::counter!(crate::observe::metrics::VAULT_LOOKUPS, "result" => result).increment(1);
        let loaded = entry
            .map(|entry| entry.into_value())
            .map_err(|e: Arc<ToolError>| unshare(&e))?;
        // The rules may have changed since the record was stored.
        if !self.logins.allows(identity, &loaded.login) {
            self.clients.invalidate(user_key).await;
            return Err(ToolError::Denied(format!(
                "Your stored Zebrunner login {:?} is not one you may use any more; {}",
                loaded.login,
                self.reconnect_advice()
            )));
        }
        Ok(loaded)
    }

    async fn load(&self, user_key: &str) -> Result<VaultClient, ToolError> {
        let record = self.open(user_key).await?;
        let client = self
            .workspace
            .client(record.login.clone(), record.token)
            .map_err(|e| ToolError::NoCredentials(format!("{e}; {}", self.reconnect_advice())))?;
        Ok(VaultClient {
            client,
            login: record.login,
            revision: record.revision,
        })
    }

    /// `user_key`'s usable record: present, not marked invalid, for this workspace. The
    /// error says what the person should do.
    pub(crate) async fn open(&self, user_key: &str) -> Result<OpenRecord, ToolError> {
        let record = self
            .vault
            .get(user_key)
            .await
            .map_err(|error| match error {
                VaultError::Open { .. } => {
                    tracing::warn!(%error, "a vault record does not open");
                    ToolError::NoCredentials(format!(
                        "Your stored Zebrunner token cannot be read any more; {}",
                        self.reconnect_advice()
                    ))
                }
                other => {
                    tracing::error!(error = %other, "the vault could not be read");
                    ToolError::Internal(
                        "the credential vault could not be read; retry shortly, and tell the \
                     administrator if it persists"
                            .into(),
                    )
                }
            })?;
        let Some(record) = record else {
            return Err(ToolError::NoCredentials(format!(
                "No Zebrunner account is connected for you yet: {}",
                self.reconnect_advice()
            )));
        };
        if let RecordStatus::Invalid { reason } = &record.meta.status {
            return Err(ToolError::NoCredentials(format!(
                "Zebrunner no longer accepts your stored token ({reason}); {}",
                self.reconnect_advice()
            )));
        }
        if record.meta.zebrunner_url != self.workspace.web_url() {
            return Err(ToolError::NoCredentials(format!(
                "Your stored token is for another Zebrunner workspace; {}",
                self.reconnect_advice()
            )));
        }
        Ok(OpenRecord {
            login: record.meta.login,
            token: record.token,
            revision: record.meta.revision,
        })
    }

    /// Zebrunner answered 401 to `user_key`'s revision `revision`: mark it invalid (unless it
    /// was replaced meanwhile) and forget the cached client.
    pub async fn rejected(&self, user_key: &str, revision: i64) {
        self.clients.invalidate(user_key).await;
        match self
            .vault
            .mark_invalid(user_key, revision, "Zebrunner answered 401 Unauthorized")
            .await
        {
            Ok(true) => tracing::info!(user_key, revision, "vault record marked invalid"),
            Ok(false) => {}
            Err(error) => {
                tracing::error!(%error, user_key, "could not mark a vault record invalid")
            }
        }
    }
}

/// The cache hands every waiting caller the same error; each gets its own copy.
fn unshare(error: &ToolError) -> ToolError {
    match error {
        ToolError::NoCredentials(m) => ToolError::NoCredentials(m.clone()),
        ToolError::Denied(m) => ToolError::Denied(m.clone()),
        other => ToolError::Internal(other.message()),
    }
}
