//! Keeping stored tokens honest (the design note's open question 3): a background pass asks
//! Zebrunner about every vault record not checked for a while and marks the ones it refuses,
//! so a person hears "reconnect" before a call fails, and `vault list` shows the truth.
//!
//! One replica at a time runs a pass (a lease in storage), at a jittered interval, checking a
//! few records at once. Only a clear verdict changes a record: a 401, or a token that belongs
//! to someone else. Network errors and Zebrunner's own failures change nothing.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use rand::Rng;
use secrecy::SecretString;
use zebrunner_client::{ErrorKind, Workspace};
use zebrunner_storage::Storage;
use zebrunner_storage::vault::{Vault, VaultError, VaultMetadata};

/// What Zebrunner says of one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    /// Refused, or someone else's: the reason is stored with the record.
    Invalid(String),
    /// No verdict (network, outage): the record stays as it is.
    Unknown(String),
}

/// Ask Zebrunner (IAM refresh) whether `token` works and belongs to `login`.
pub async fn check_token(workspace: &Workspace, login: &str, token: SecretString) -> Verdict {
    let client = match workspace.client(login, token) {
        Ok(client) => client,
        Err(error) => return Verdict::Invalid(error.to_string()),
    };
    match client.check_credentials().await {
        Ok(identity) if identity.username.eq_ignore_ascii_case(login) => Verdict::Valid,
        Ok(identity) => Verdict::Invalid(format!(
            "the token belongs to the Zebrunner user {}, not {login}",
            identity.username
        )),
        Err(error) if error.kind() == ErrorKind::Unauthorized => {
            Verdict::Invalid("Zebrunner refused the token (401)".into())
        }
        Err(error) => Verdict::Unknown(format!("{:?}", error.kind())),
    }
}

/// Counts of one pass.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    pub valid: usize,
    pub invalid: usize,
    pub unknown: usize,
}

/// Check one record and store the verdict (for its revision only).
pub async fn check_record(
    vault: &Vault,
    workspace: &Workspace,
    meta: &VaultMetadata,
) -> Result<Verdict, VaultError> {
    let credential = match vault.read(&meta.user_key).await {
        Ok(Some(credential)) => credential,
        Ok(None) => return Ok(Verdict::Unknown("deleted meanwhile".into())),
        Err(VaultError::Open { source, .. }) => return Ok(Verdict::Unknown(source.to_string())),
        Err(other) => return Err(other),
    };
    let verdict = check_token(workspace, &credential.meta.login, credential.token).await;
    match &verdict {
        Verdict::Valid => {
            vault
                .mark_validated(&meta.user_key, credential.meta.revision)
                .await?;
        }
        Verdict::Invalid(reason) => {
            vault
                .mark_invalid(&meta.user_key, credential.meta.revision, reason)
                .await?;
        }
        Verdict::Unknown(_) => {}
    }
    Ok(verdict)
}

/// The periodic job's settings.
#[derive(Clone)]
pub struct Revalidation {
    pub vault: Vault,
    pub workspace: Workspace,
    pub storage: Storage,
    /// A record is checked again when its last check is older than this.
    pub every: Duration,
    /// Records checked at once.
    pub concurrency: usize,
    /// Who holds the lease (one id per process).
    pub holder: String,
}

const LEASE: &str = "vault_revalidation";

impl Revalidation {
    /// Check every active record last checked more than `every` ago.
    pub async fn run_once(&self) -> Result<PassReport, VaultError> {
        let cutoff = time::OffsetDateTime::now_utc()
            - time::Duration::try_from(self.every).unwrap_or(time::Duration::DAY);
        let before = zebrunner_storage::audit::timefmt::format_canonical(cutoff);
        let mut report = PassReport::default();
        let mut after: Option<String> = None;
        loop {
            let due = self
                .vault
                .due_for_validation(after.as_deref(), &before, 100)
                .await?;
            let Some(last) = due.last() else { break };
            after = Some(last.user_key.clone());
            let full = due.len() == 100;
            let checks = due.into_iter().map(|meta| {
                let (vault, workspace) = (self.vault.clone(), self.workspace.clone());
                async move { check_record(&vault, &workspace, &meta).await }
            });
            let verdicts: Vec<_> = futures::stream::iter(checks)
                .buffer_unordered(self.concurrency.max(1))
                .collect()
                .await;
            for verdict in verdicts {
                match verdict? {
                    Verdict::Valid => report.valid += 1,
                    Verdict::Invalid(_) => report.invalid += 1,
                    Verdict::Unknown(_) => report.unknown += 1,
                }
            }
            if !full {
                break;
            }
        }
        Ok(report)
    }

    /// Run passes forever: wake every tenth of `every` (jittered by up to a quarter), take
    /// the lease, and check what is due. Started by `serve` with `credentials = "vault"`.
    pub fn spawn(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let tick = (self.every / 10).max(Duration::from_secs(60));
            loop {
                let jitter = rand::rng().random_range(0..=tick.as_millis() as u64 / 4);
                tokio::time::sleep(tick + Duration::from_millis(jitter)).await;
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                let lease_secs = i64::try_from(tick.as_secs()).unwrap_or(i64::MAX / 4) * 2;
                match self
                    .storage
                    .try_lease(LEASE, &self.holder, now, lease_secs)
                    .await
                {
                    Ok(true) => match self.run_once().await {
                        Ok(report) => tracing::info!(
                            valid = report.valid,
                            invalid = report.invalid,
                            unknown = report.unknown,
                            "vault re-validation pass"
                        ),
                        Err(error) => tracing::warn!(%error, "vault re-validation pass failed"),
                    },
                    Ok(false) => {}
                    Err(error) => tracing::warn!(%error, "could not take the re-validation lease"),
                }
            }
        })
    }
}
