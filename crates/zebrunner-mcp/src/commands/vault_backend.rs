//! The vault as configured: records in the database (`vault.backend = "database"`) or AWS
//! Secrets Manager (`"aws-secrets-manager"`), the key ring from `ZMCP_VAULT_KEYS` itself
//! (`vault.key_source = "local"`) or from data keys there wrapped by AWS KMS (`"aws-kms"`).
//! The AWS parts exist only in a binary built with the `aws` feature; without it, choosing
//! them is an error that says how to get one. Shared by `serve`, `vault` and `config check`.

use std::sync::Arc;

use anyhow::Context;
#[cfg(not(feature = "aws"))]
use anyhow::bail;
use zebrunner_mcp_server::config::{Config, VaultBackend, VaultKeySource};
use zebrunner_storage::Storage;
use zebrunner_storage::vault::Vault;
use zebrunner_storage::vault::database::DatabaseRecords;
use zebrunner_storage::vault::keys::{KeySource, StaticKeys};
use zebrunner_storage::vault::store::RecordStore;
use zebrunner_vault_crypto::KeyRing;

use crate::settings;

/// Why an AWS part cannot be used by this binary.
#[cfg(not(feature = "aws"))]
const NO_AWS: &str = "this zebrunner-mcp was built without the `aws` feature; use the container \
                      image, or build with `cargo build --release -p zebrunner-mcp --features aws`";

/// The configured vault over `storage` (used by the database backend).
pub async fn open(config: &Config, storage: &Storage) -> anyhow::Result<Vault> {
    let records = records(config, storage).await?;
    let keys = keys(config).await?;
    tracing::info!(records = records.name(), keys = keys.name(), "vault opened");
    Ok(Vault::with(records, keys))
}

/// Where the records live.
pub async fn records(config: &Config, storage: &Storage) -> anyhow::Result<Arc<dyn RecordStore>> {
    match config.vault.backend {
        VaultBackend::Database => Ok(Arc::new(DatabaseRecords::new(storage.clone()))),
        VaultBackend::AwsSecretsManager => secrets_manager_records(config).await,
    }
}

/// The Secrets Manager record store (`vault.backend = "aws-secrets-manager"`), which needs no
/// database.
pub async fn secrets_manager_records(config: &Config) -> anyhow::Result<Arc<dyn RecordStore>> {
    aws::records(config).await
}

/// Where the key ring comes from. Local keys are parsed now; KMS is asked when first needed.
pub async fn keys(config: &Config) -> anyhow::Result<Arc<dyn KeySource>> {
    match config.vault.key_source {
        VaultKeySource::Local => {
            let ring = settings::required_vault_keys()?;
            tracing::info!(keys = ring.ids().count(), newest = %ring.newest(), "vault keys loaded");
            Ok(Arc::new(StaticKeys(Arc::new(ring))))
        }
        VaultKeySource::AwsKms => aws::kms_keys(config).await,
    }
}

/// The key ring now, for what seals with it outside the vault (the broker's signing keys).
/// With KMS the ring is unwrapped once for the caller, who holds it.
pub async fn key_ring(config: &Config) -> anyhow::Result<Arc<KeyRing>> {
    let keys = keys(config).await?;
    Ok(keys.key_ring().await?)
}

/// `vault keygen` with key source `aws-kms`: a new data key made and wrapped by KMS, as the
/// key list's `id:base64` line. `None` with local keys (the caller makes a plain one).
pub async fn wrapped_keygen(
    config: &Config,
    id: &zebrunner_vault_crypto::KeyId,
) -> anyhow::Result<Option<String>> {
    match config.vault.key_source {
        VaultKeySource::Local => Ok(None),
        VaultKeySource::AwsKms => aws::keygen(config, id).await.map(Some),
    }
}

/// `config check`: what the key list holds, without unwrapping anything; `None` with local
/// keys (their ring is parsed and shown by the caller).
pub fn wrapped_summary(config: &Config) -> Option<anyhow::Result<String>> {
    if config.vault.key_source != VaultKeySource::AwsKms {
        return None;
    }
    let summary = (|| {
        let text = settings::env_or_file(settings::ZMCP_VAULT_KEYS)?.context(
            "key source \"aws-kms\" needs the wrapped data keys: set ZMCP_VAULT_KEYS or \
             ZMCP_VAULT_KEYS_FILE to the lines `zebrunner-mcp vault keygen` prints",
        )?;
        let entries = zebrunner_vault_crypto::parse_entries(&text)
            .map_err(|e| anyhow::anyhow!("ZMCP_VAULT_KEYS: {e}"))?;
        let ids: Vec<&str> = entries.iter().map(|(id, _)| id.as_str()).collect();
        Ok(format!(
            "vault keys: {} wrapped by KMS key {} (newest {}, which seals new records; \
             --online unwraps them)",
            ids.join(", "),
            config
                .vault
                .aws_kms_key_id
                .as_deref()
                .unwrap_or("(not set)"),
            ids.last().copied().unwrap_or_default()
        ))
    })();
    Some(summary)
}

/// `config check --online`: each AWS part in use, asked whether it works (item, outcome).
pub async fn probes(config: &Config) -> Vec<(String, Result<String, String>)> {
    let mut out = Vec::new();
    if config.vault.backend == VaultBackend::AwsSecretsManager {
        let item = format!(
            "vault.backend aws-secrets-manager ({})",
            config.vault.aws_secret_prefix
        );
        out.push((item, aws::probe_records(config).await));
    }
    if config.vault.key_source == VaultKeySource::AwsKms {
        let item = format!(
            "vault.key_source aws-kms ({})",
            config.vault.aws_kms_key_id.as_deref().unwrap_or("no key")
        );
        out.push((item, aws::probe_kms(config).await));
    }
    out
}

#[cfg(feature = "aws")]
mod aws {
    use std::sync::Arc;
    use std::time::Duration;

    use anyhow::Context;
    use zebrunner_mcp_server::config::Config;
    use zebrunner_storage::vault::keys::KeySource;
    use zebrunner_storage::vault::store::RecordStore;
    use zebrunner_vault_aws::sdk::SdkConfig;
    use zebrunner_vault_aws::secrets::SecretsSettings;
    use zebrunner_vault_aws::{AwsSettings, KmsKeys, SecretsManagerRecords};

    use crate::settings;

    async fn sdk() -> SdkConfig {
        zebrunner_vault_aws::sdk::load(&AwsSettings::default()).await
    }

    fn secrets(config: &Config, sdk: &SdkConfig) -> anyhow::Result<SecretsManagerRecords> {
        SecretsManagerRecords::new(
            sdk,
            SecretsSettings {
                prefix: config.vault.aws_secret_prefix.clone(),
                recovery_window_days: config.vault.aws_recovery_window_days,
            },
        )
        .map_err(|e| anyhow::anyhow!("vault.aws_secret_prefix / aws_recovery_window_days: {e}"))
    }

    fn kms(config: &Config, sdk: &SdkConfig) -> anyhow::Result<KmsKeys> {
        let list = settings::env_or_file(settings::ZMCP_VAULT_KEYS)?.context(
            "key source \"aws-kms\" needs the wrapped data keys: set ZMCP_VAULT_KEYS or \
             ZMCP_VAULT_KEYS_FILE to the lines `zebrunner-mcp vault keygen` prints",
        )?;
        KmsKeys::new(
            sdk,
            config.vault.aws_kms_key_id.as_deref().unwrap_or_default(),
            &list,
            Duration::from_secs(config.vault.aws_kms_cache_secs.max(1)),
        )
        .map_err(|e| anyhow::anyhow!(e))
    }

    pub async fn records(config: &Config) -> anyhow::Result<Arc<dyn RecordStore>> {
        Ok(Arc::new(secrets(config, &sdk().await)?))
    }

    pub async fn kms_keys(config: &Config) -> anyhow::Result<Arc<dyn KeySource>> {
        Ok(Arc::new(kms(config, &sdk().await)?))
    }

    pub async fn keygen(
        config: &Config,
        id: &zebrunner_vault_crypto::KeyId,
    ) -> anyhow::Result<String> {
        let key = config.vault.aws_kms_key_id.as_deref().context(
            "vault.aws_kms_key_id is not set: name the KMS key that wraps the data keys",
        )?;
        zebrunner_vault_aws::kms::generate_wrapped_entry(&sdk().await, key, id)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    pub async fn probe_records(config: &Config) -> Result<String, String> {
        let records = secrets(config, &sdk().await).map_err(|e| format!("{e:#}"))?;
        zebrunner_vault_aws::probe::secrets_manager(&records).await
    }

    pub async fn probe_kms(config: &Config) -> Result<String, String> {
        let keys = kms(config, &sdk().await).map_err(|e| format!("{e:#}"))?;
        zebrunner_vault_aws::probe::kms(&keys).await
    }
}

#[cfg(not(feature = "aws"))]
mod aws {
    use std::sync::Arc;

    use zebrunner_mcp_server::config::Config;
    use zebrunner_storage::vault::keys::KeySource;
    use zebrunner_storage::vault::store::RecordStore;

    use super::{NO_AWS, bail};

    pub async fn records(_: &Config) -> anyhow::Result<Arc<dyn RecordStore>> {
        bail!("vault.backend = \"aws-secrets-manager\": {NO_AWS}")
    }

    pub async fn kms_keys(_: &Config) -> anyhow::Result<Arc<dyn KeySource>> {
        bail!("vault.key_source = \"aws-kms\": {NO_AWS}")
    }

    pub async fn keygen(_: &Config, _: &zebrunner_vault_crypto::KeyId) -> anyhow::Result<String> {
        bail!("vault.key_source = \"aws-kms\": {NO_AWS}")
    }

    pub async fn probe_records(_: &Config) -> Result<String, String> {
        Err(format!("vault.backend = \"aws-secrets-manager\": {NO_AWS}"))
    }

    pub async fn probe_kms(_: &Config) -> Result<String, String> {
        Err(format!("vault.key_source = \"aws-kms\": {NO_AWS}"))
    }
}
