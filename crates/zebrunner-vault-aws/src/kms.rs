//! [`KmsKeys`]: the vault's key ring from data keys wrapped by an AWS KMS key (envelope
//! encryption).
//!
//! The key list (`ZMCP_VAULT_KEYS` or its file) holds `id:base64` entries as for plain keys,
//! but each value is a KMS ciphertext blob of a 256-bit data key, made by
//! [`generate_wrapped_entry`] (`zebrunner-mcp vault keygen` with `key_source = "aws-kms"`,
//! `kms:GenerateDataKey`). The blob is bound to its id by the encryption context
//! `zebrunner-mcp:vault-key-id = <id>`, so entries cannot be swapped. A stolen database (or
//! Secrets Manager export) plus the key list decrypts nothing without `kms:Decrypt` on the key.
//!
//! The ring is unwrapped (`kms:Decrypt`, one call per entry) when first needed, kept in memory
//! for `vault.aws_kms_cache_secs`, then dropped (its key schedules wiped) and unwrapped again
//! on the next need. One unwrap runs at a time; callers meanwhile wait for it. When KMS cannot
//! be reached and the cached ring has expired, the vault fails with a message that says so.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::sync::Mutex;
use zebrunner_storage::BoxFuture;
use zebrunner_storage::vault::VaultError;
use zebrunner_storage::vault::keys::KeySource;
use zebrunner_vault_crypto::{KEY_LEN, KeyId, KeyRing, parse_entries};
use zeroize::Zeroizing;

use crate::failure::{Call, Failure, classify};

const SERVICE: &str = "AWS KMS";
const SOURCE: &str = "AWS KMS";
/// The encryption context's key: each wrapped data key is bound to its id.
pub const CONTEXT_KEY: &str = "zebrunner-mcp:vault-key-id";

/// The key ring, unwrapped by KMS on demand and cached for a bounded time.
pub struct KmsKeys {
    client: Client,
    /// The KMS key (id, ARN or alias) that wraps the data keys.
    key_id: String,
    /// The wrapped data keys, oldest first.
    wrapped: Vec<(KeyId, Vec<u8>)>,
    ttl: Duration,
    cache: Mutex<Option<(Instant, Arc<KeyRing>)>>,
}

impl std::fmt::Debug for KmsKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsKeys")
            .field("key_id", &self.key_id)
            .field(
                "ids",
                &self
                    .wrapped
                    .iter()
                    .map(|(id, _)| id.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl KmsKeys {
    /// The ring of the wrapped key list `list` (`id:base64blob` entries), unwrapped with
    /// `key_id` and cached for `ttl`. Nothing is asked of KMS yet.
    pub fn new(
        config: &aws_config::SdkConfig,
        key_id: &str,
        list: &str,
        ttl: Duration,
    ) -> Result<KmsKeys, String> {
        if key_id.trim().is_empty() {
            return Err(
                "vault.aws_kms_key_id is not set: name the KMS key (id, ARN or \
                        alias/...) that wraps the vault's data keys"
                    .into(),
            );
        }
        let wrapped = parse_entries(list)
            .map_err(|e| format!("ZMCP_VAULT_KEYS (KMS-wrapped keys): {e}"))?
            .into_iter()
            .map(|(id, blob)| (id, blob.to_vec()))
            .collect();
        Ok(KmsKeys {
            client: Client::new(config),
            key_id: key_id.trim().to_owned(),
            wrapped,
            ttl,
            cache: Mutex::new(None),
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The ids in the list, oldest first (the last seals).
    pub fn ids(&self) -> impl Iterator<Item = &KeyId> {
        self.wrapped.iter().map(|(id, _)| id)
    }

    /// Unwrap every data key now (no cache).
    pub async fn unwrap_all(&self) -> Result<KeyRing, VaultError> {
        let mut keys = Vec::with_capacity(self.wrapped.len());
        for (id, blob) in &self.wrapped {
            let output = self
                .client
                .decrypt()
                .key_id(&self.key_id)
                .ciphertext_blob(Blob::new(blob.clone()))
                .encryption_context(CONTEXT_KEY, id.as_str())
                .send()
                .await
                .map_err(|e| {
                    keys_error(unwrap_failure(
                        classify(call("kms:Decrypt", &self.key_id), &e),
                        id,
                    ))
                })?;
            let plain = Zeroizing::new(
                output
                    .plaintext()
                    .map(|b| b.as_ref().to_vec())
                    .unwrap_or_default(),
            );
            if plain.len() != KEY_LEN {
                return Err(VaultError::Keys {
                    source_name: SOURCE,
                    message: format!(
                        "vault key {id} unwrapped to {} bytes, not {KEY_LEN}: it is not a data \
                         key made by `zebrunner-mcp vault keygen`",
                        plain.len()
                    ),
                });
            }
            keys.push((id.clone(), plain));
        }
        KeyRing::from_keys(keys).map_err(|e| VaultError::Keys {
            source_name: SOURCE,
            message: e.to_string(),
        })
    }
}

impl KeySource for KmsKeys {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn key_ring(&self) -> BoxFuture<'_, Result<Arc<KeyRing>, VaultError>> {
        Box::pin(async move {
            let mut cache = self.cache.lock().await;
            if let Some((at, ring)) = cache.as_ref()
                && at.elapsed() < self.ttl
            {
                return Ok(ring.clone());
            }
            // Expired: drop it before asking KMS, so a failure leaves no stale keys behind.
            *cache = None;
            let ring = Arc::new(self.unwrap_all().await?);
            *cache = Some((Instant::now(), ring.clone()));
            Ok(ring)
        })
    }
}

/// A new wrapped data key for `id`, as the key list's `id:base64blob` line: KMS makes the key
/// (`kms:GenerateDataKey` with `key_id`), and only its wrapped form leaves this function.
pub async fn generate_wrapped_entry(
    config: &aws_config::SdkConfig,
    key_id: &str,
    id: &KeyId,
) -> Result<String, Failure> {
    let output = Client::new(config)
        .generate_data_key()
        .key_id(key_id)
        .key_spec(DataKeySpec::Aes256)
        .encryption_context(CONTEXT_KEY, id.as_str())
        .send()
        .await
        .map_err(|e| classify(call("kms:GenerateDataKey", key_id), &e))?;
    let Some(blob) = output.ciphertext_blob() else {
        return Err(Failure {
            code: None,
            message: "KMS returned no wrapped key".into(),
        });
    };
    Ok(format!("{id}:{}", STANDARD.encode(blob.as_ref())))
}

fn call<'a>(permission: &'static str, key_id: &'a str) -> Call<'a> {
    Call {
        service: SERVICE,
        permission,
        resource: key_id,
    }
}

/// A failed unwrap of `id`, with what it means for the vault.
fn unwrap_failure(failure: Failure, id: &KeyId) -> Failure {
    let message = match failure.code.as_deref() {
        None => format!(
            "{}; until KMS answers, vault records can be neither opened nor stored (vault key \
             {id})",
            failure.message
        ),
        Some("InvalidCiphertextException" | "IncorrectKeyException") => format!(
            "vault key {id} was not wrapped by this KMS key for this id ({}): check \
             vault.aws_kms_key_id and that the line was made by `zebrunner-mcp vault keygen`",
            failure.code.as_deref().unwrap_or_default()
        ),
        Some("NotFoundException" | "DisabledException" | "KMSInvalidStateException") => format!(
            "{}; the KMS key must exist and be enabled (vault key {id})",
            failure.message
        ),
        Some(_) => failure.message.clone(),
    };
    Failure {
        code: failure.code,
        message,
    }
}

fn keys_error(failure: Failure) -> VaultError {
    VaultError::Keys {
        source_name: SOURCE,
        message: failure.message,
    }
}
