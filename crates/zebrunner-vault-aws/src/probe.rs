//! What `zebrunner-mcp config check --online` asks AWS. Nothing here writes: the Secrets
//! Manager probe lists and reads, the KMS probe unwraps the configured keys and has KMS make
//! (and unwrap) a throwaway data key that is never stored. Each failure names the IAM
//! permission that was refused.

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType};
use zebrunner_storage::vault::store::RecordStore;

use crate::failure::{Call, classify};
use crate::kms::{CONTEXT_KEY, KmsKeys};
use crate::secrets::SecretsManagerRecords;

/// Secrets Manager: the prefix can be listed (`secretsmanager:ListSecrets`) and, when a record
/// exists, read (`GetSecretValue`, `DescribeSecret`).
pub async fn secrets_manager(records: &SecretsManagerRecords) -> Result<String, String> {
    let prefix = &records.settings().prefix;
    let page = records
        .client()
        .list_secrets()
        .filters(
            Filter::builder()
                .key(FilterNameStringType::Name)
                .values(prefix)
                .build(),
        )
        .max_results(1)
        .send()
        .await
        .map_err(|e| {
            classify(
                Call {
                    service: "AWS Secrets Manager",
                    permission: "secretsmanager:ListSecrets",
                    resource: prefix,
                },
                &e,
            )
            .message
        })?;
    let first = records
        .select(zebrunner_storage::vault::store::Selection::All, None, 1)
        .await
        .map_err(|e| e.to_string())?;
    Ok(match (page.secret_list().is_empty(), first.first()) {
        (_, Some(record)) => format!(
            "can list secrets under {prefix} and read them (read the record of {})",
            record.meta.user_key
        ),
        _ => format!("can list secrets under {prefix}; no records yet"),
    })
}

/// KMS: every configured data key unwraps (`kms:Decrypt`, what the server needs), and a
/// throwaway data key can be made and unwrapped (`kms:GenerateDataKey`, what `vault keygen`
/// needs).
pub async fn kms(keys: &KmsKeys) -> Result<String, String> {
    let ring = keys.unwrap_all().await.map_err(|e| e.to_string())?;
    let call = |permission| Call {
        service: "AWS KMS",
        permission,
        resource: keys.key_id(),
    };
    let made = keys
        .client()
        .generate_data_key()
        .key_id(keys.key_id())
        .key_spec(DataKeySpec::Aes256)
        .encryption_context(CONTEXT_KEY, "config-check-probe")
        .send()
        .await
        .map_err(|e| classify(call("kms:GenerateDataKey"), &e).message)?;
    let blob = made
        .ciphertext_blob()
        .map(|b| b.as_ref().to_vec())
        .unwrap_or_default();
    keys.client()
        .decrypt()
        .key_id(keys.key_id())
        .ciphertext_blob(Blob::new(blob))
        .encryption_context(CONTEXT_KEY, "config-check-probe")
        .send()
        .await
        .map_err(|e| classify(call("kms:Decrypt"), &e).message)?;
    Ok(format!(
        "{} unwraps the vault keys {} (newest {}) and can make and unwrap a probe data key",
        keys.key_id(),
        ring.ids()
            .map(|id| id.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        ring.newest()
    ))
}
