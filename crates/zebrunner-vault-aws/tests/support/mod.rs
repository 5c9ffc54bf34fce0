//! What the AWS tests share: the moto server they run against, the SDK configured for it,
//! the vault backends of the shared suite, and a fault proxy.
#![allow(dead_code)]

pub mod proxy;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use zebrunner_storage::Storage;
use zebrunner_storage::vault::Vault;
use zebrunner_storage::vault::database::DatabaseRecords;
use zebrunner_storage::vault::keys::StaticKeys;
use zebrunner_vault_aws::aws_sdk_kms;
use zebrunner_vault_aws::aws_sdk_secretsmanager;
use zebrunner_vault_aws::kms::CONTEXT_KEY;
use zebrunner_vault_aws::sdk::SdkConfig;
use zebrunner_vault_aws::secrets::SecretsSettings;
use zebrunner_vault_aws::{AwsSettings, KmsKeys, SecretsManagerRecords};

use crate::vault_suite::{Backend, Boxed, ring};

/// Where moto listens unless `ZEBRUNNER_MCP_TEST_MOTO_URL` says otherwise.
pub const MOTO_DEFAULT_URL: &str = "http://127.0.0.1:5055";

/// The moto server's URL. Without one answering, the test fails and says how to start it.
pub fn moto_url() -> String {
    let url = std::env::var("ZEBRUNNER_MCP_TEST_MOTO_URL")
        .unwrap_or_else(|_| MOTO_DEFAULT_URL.to_owned());
    let address = url.trim_start_matches("http://").trim_end_matches('/');
    let reachable = address
        .parse::<std::net::SocketAddr>()
        .ok()
        .is_some_and(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok());
    assert!(
        reachable,
        "these tests need moto (the AWS stand-in) in server mode at {url}: start it with \
         `scripts/moto start` (a venv with moto from tests/aws/requirements.txt, \
         `moto_server -H 127.0.0.1 -p 5055`), or set ZEBRUNNER_MCP_TEST_MOTO_URL"
    );
    for (name, want) in [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
    ] {
        assert!(
            std::env::var(name).is_ok(),
            "{name} is not set: run with AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
             AWS_REGION=us-east-1 (moto accepts any credentials; scripts/test sets them), e.g. \
             {name}={want}"
        );
    }
    url
}

/// The SDK configuration for `endpoint`, with the vault's retry settings (quick backoff).
pub async fn sdk_at(endpoint: &str, max_attempts: u32) -> SdkConfig {
    zebrunner_vault_aws::sdk::load(&AwsSettings {
        max_attempts,
        initial_backoff: Duration::from_millis(20),
        endpoint_url: Some(endpoint.to_owned()),
        ..AwsSettings::default()
    })
    .await
}

pub async fn sdk() -> SdkConfig {
    sdk_at(&moto_url(), 5).await
}

/// A prefix no other test uses (moto keeps one state for every test).
pub fn unique_prefix(test: &str) -> String {
    format!(
        "zmcp-test/{test}-{}-{:08x}/",
        std::process::id(),
        rand_u32()
    )
}

fn rand_u32() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    nanos ^ (std::process::id().rotate_left(16))
}

pub fn secrets(sdk: &SdkConfig, prefix: &str) -> SecretsManagerRecords {
    SecretsManagerRecords::new(
        sdk,
        SecretsSettings {
            prefix: prefix.to_owned(),
            recovery_window_days: 7,
        },
    )
    .unwrap()
}

/// A new symmetric KMS key in moto; its id.
pub async fn kms_key(sdk: &SdkConfig) -> String {
    let key = aws_sdk_kms::Client::new(sdk)
        .create_key()
        .description("zebrunner-mcp test")
        .send()
        .await
        .unwrap();
    key.key_metadata().unwrap().key_id().to_owned()
}

/// The key list `keys` (id, byte) as KMS-wrapped entries, as `vault keygen` would write them
/// had KMS made those bytes.
pub async fn wrapped_list(sdk: &SdkConfig, key_id: &str, keys: &[(&str, u8)]) -> String {
    let client = aws_sdk_kms::Client::new(sdk);
    let mut lines = Vec::new();
    for (id, byte) in keys {
        let wrapped = client
            .encrypt()
            .key_id(key_id)
            .plaintext(aws_sdk_kms::primitives::Blob::new(vec![*byte; 32]))
            .encryption_context(CONTEXT_KEY, *id)
            .send()
            .await
            .unwrap();
        let blob = wrapped.ciphertext_blob().unwrap().as_ref().to_vec();
        lines.push(format!(
            "{id}:{}",
            base64::engine::general_purpose::STANDARD.encode(blob)
        ));
    }
    lines.join("\n")
}

/// Records in Secrets Manager under a prefix of their own, keys in memory.
pub struct SecretsBackend {
    pub sdk: SdkConfig,
    pub prefix: String,
}

impl SecretsBackend {
    pub async fn new(test: &str) -> SecretsBackend {
        SecretsBackend {
            sdk: sdk().await,
            prefix: unique_prefix(test),
        }
    }
}

impl Backend for SecretsBackend {
    fn vault<'a>(&'a self, keys: &'a [(&'a str, u8)]) -> Boxed<'a, Vault> {
        Box::pin(async move {
            Vault::with(
                Arc::new(secrets(&self.sdk, &self.prefix)),
                Arc::new(StaticKeys(ring(keys))),
            )
        })
    }

    fn copy_sealed<'a>(&'a self, from: &'a str, to: &'a str) -> Boxed<'a, ()> {
        Box::pin(copy_sealed_secret(&self.sdk, &self.prefix, from, to))
    }
}

/// Copy `from`'s sealed fields into `to`'s secret value (as an attacker with
/// `secretsmanager:PutSecretValue` could).
pub async fn copy_sealed_secret(sdk: &SdkConfig, prefix: &str, from: &str, to: &str) {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let read = |user: &str| {
        let client = client.clone();
        let name = secret_name(prefix, user);
        async move {
            let value = client
                .get_secret_value()
                .secret_id(&name)
                .send()
                .await
                .unwrap();
            let json: serde_json::Value =
                serde_json::from_str(value.secret_string().unwrap()).unwrap();
            (name, json)
        }
    };
    let (_, source) = read(from).await;
    let (name, mut target) = read(to).await;
    for field in ["key_id", "nonce", "ciphertext"] {
        target[field] = source[field].clone();
    }
    client
        .put_secret_value()
        .secret_id(name)
        .secret_string(target.to_string())
        .send()
        .await
        .unwrap();
}

/// The secret name the store uses (`prefix` + hex SHA-256 of the user key), found by listing.
pub fn secret_name(prefix: &str, user_key: &str) -> String {
    use std::fmt::Write;
    let digest = <sha2_digest::Sha256 as sha2_digest::Digest>::digest(user_key.as_bytes());
    let mut name = prefix.to_owned();
    for byte in digest {
        let _ = write!(name, "{byte:02x}");
    }
    name
}

/// The SHA-256 the store names secrets with.
mod sha2_digest {
    pub use sha2::{Digest, Sha256};
}

/// Records in the database (SQLite), keys wrapped by a KMS key in moto.
pub struct KmsBackend {
    pub sdk: SdkConfig,
    pub key_id: String,
    pub storage: Storage,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl KmsBackend {
    pub async fn new() -> KmsBackend {
        let sdk = sdk().await;
        let key_id = kms_key(&sdk).await;
        let dir = tempfile::tempdir().unwrap();
        let url = Storage::default_sqlite_url(dir.path());
        KmsBackend {
            sdk,
            key_id,
            storage: Storage::connect(&url).await.unwrap(),
            url,
            _dir: dir,
        }
    }

    pub async fn keys(&self, keys: &[(&str, u8)]) -> KmsKeys {
        let list = wrapped_list(&self.sdk, &self.key_id, keys).await;
        KmsKeys::new(&self.sdk, &self.key_id, &list, Duration::from_secs(300)).unwrap()
    }
}

impl Backend for KmsBackend {
    fn vault<'a>(&'a self, keys: &'a [(&'a str, u8)]) -> Boxed<'a, Vault> {
        Box::pin(async move {
            Vault::with(
                Arc::new(DatabaseRecords::new(self.storage.clone())),
                Arc::new(self.keys(keys).await),
            )
        })
    }

    fn copy_sealed<'a>(&'a self, from: &'a str, to: &'a str) -> Boxed<'a, ()> {
        Box::pin(async move {
            crate::vault_suite::Database::at(&self.url)
                .await
                .copy_sealed(from, to)
                .await
        })
    }
}

/// Records in Secrets Manager and keys wrapped by KMS: everything in AWS.
pub struct AllAwsBackend {
    pub kms: KmsBackend,
    pub prefix: String,
}

impl Backend for AllAwsBackend {
    fn vault<'a>(&'a self, keys: &'a [(&'a str, u8)]) -> Boxed<'a, Vault> {
        Box::pin(async move {
            Vault::with(
                Arc::new(secrets(&self.kms.sdk, &self.prefix)),
                Arc::new(self.kms.keys(keys).await),
            )
        })
    }

    fn copy_sealed<'a>(&'a self, from: &'a str, to: &'a str) -> Boxed<'a, ()> {
        Box::pin(copy_sealed_secret(&self.kms.sdk, &self.prefix, from, to))
    }
}
