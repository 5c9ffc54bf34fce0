//! What a per-user client cache miss (`Vault::get`: find the record, open its token, note the
//! use) costs on each vault backend, in one run: the database (SQLite file) with local keys,
//! the database with KMS-wrapped keys (ring cache warm, and cold: every call unwraps with
//! `kms:Decrypt`), Secrets Manager with local keys, and Secrets Manager with KMS keys (warm).
//! AWS is moto on loopback, so the AWS rows show the HTTP round trips and our work, not AWS's
//! network latency (add one to a few ms per call in a region). A cache hit costs nothing on
//! every backend: the server keeps each person's opened client in memory.
//!
//!     scripts/moto start
//!     ZEBRUNNER_MCP_TEST_MOTO_URL=http://127.0.0.1:5055 AWS_ACCESS_KEY_ID=test \
//!       AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
//!       cargo bench -p zebrunner-vault-aws --features aws --bench backends

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use criterion::{Criterion, criterion_group, criterion_main};
use secrecy::SecretString;
use zebrunner_storage::Storage;
use zebrunner_storage::vault::database::DatabaseRecords;
use zebrunner_storage::vault::keys::{KeySource, StaticKeys};
use zebrunner_storage::vault::store::RecordStore;
use zebrunner_storage::vault::{NewCredential, Vault};
use zebrunner_vault_aws::aws_sdk_kms;
use zebrunner_vault_aws::kms::CONTEXT_KEY;
use zebrunner_vault_aws::secrets::{SecretsManagerRecords, SecretsSettings};
use zebrunner_vault_aws::{AwsSettings, KmsKeys};
use zebrunner_vault_crypto::KeyRing;

const RECORDS: usize = 200;

fn bench(c: &mut Criterion) {
    let moto = std::env::var("ZEBRUNNER_MCP_TEST_MOTO_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:5055".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let vaults = runtime.block_on(async {
        let sdk = zebrunner_vault_aws::sdk::load(&AwsSettings {
            endpoint_url: Some(moto),
            ..AwsSettings::default()
        })
        .await;
        let storage = Storage::connect(&Storage::default_sqlite_url(dir.path()))
            .await
            .unwrap();
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let local: Arc<dyn KeySource> = Arc::new(StaticKeys(Arc::new(
            KeyRing::parse(&format!("k1:{key}")).unwrap(),
        )));
        let kms = aws_sdk_kms::Client::new(&sdk);
        let key_id = kms
            .create_key()
            .send()
            .await
            .unwrap()
            .key_metadata()
            .unwrap()
            .key_id()
            .to_owned();
        let wrapped = kms
            .encrypt()
            .key_id(&key_id)
            .plaintext(aws_sdk_kms::primitives::Blob::new(vec![7u8; 32]))
            .encryption_context(CONTEXT_KEY, "k1")
            .send()
            .await
            .unwrap();
        let list = format!(
            "k1:{}",
            base64::engine::general_purpose::STANDARD
                .encode(wrapped.ciphertext_blob().unwrap().as_ref())
        );
        let kms_keys = |ttl| -> Arc<dyn KeySource> {
            Arc::new(KmsKeys::new(&sdk, &key_id, &list, ttl).unwrap())
        };
        let database: Arc<dyn RecordStore> = Arc::new(DatabaseRecords::new(storage));
        let secrets: Arc<dyn RecordStore> = Arc::new(
            SecretsManagerRecords::new(
                &sdk,
                SecretsSettings {
                    prefix: format!("zmcp-bench/{}/", std::process::id()),
                    recovery_window_days: 0,
                },
            )
            .unwrap(),
        );
        let vaults = vec![
            (
                "database, local keys",
                Vault::with(database.clone(), local.clone()),
            ),
            (
                "database, KMS keys (ring cached)",
                Vault::with(database.clone(), kms_keys(Duration::from_secs(3600))),
            ),
            (
                "database, KMS keys (cold: Decrypt per call)",
                Vault::with(database, kms_keys(Duration::ZERO)),
            ),
            (
                "Secrets Manager, local keys",
                Vault::with(secrets.clone(), local),
            ),
            (
                "Secrets Manager, KMS keys (ring cached)",
                Vault::with(secrets, kms_keys(Duration::from_secs(3600))),
            ),
        ];
        // Each store gets the same records (the KMS ring opens what local keys sealed: same key).
        for (name, vault) in [&vaults[0], &vaults[3]] {
            for i in 0..RECORDS {
                let token = SecretString::from(format!("zbr-bench-token-{i:04}-0123456789abcdef"));
                vault
                    .put(&NewCredential {
                        user_key: &format!("uid:00ubench{i:04}"),
                        zebrunner_url: "https://acme.zebrunner.com",
                        login: &format!("user{i}@acme.example"),
                        token: &token,
                        validated: true,
                    })
                    .await
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            }
        }
        vaults
    });
    let mut group = c.benchmark_group("vault get (a per-user client cache miss)");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(4));
    for (name, vault) in &vaults {
        let mut i = 0usize;
        group.bench_function(*name, |b| {
            b.to_async(&runtime).iter(|| {
                i = (i + 1) % RECORDS;
                let user = format!("uid:00ubench{i:04}");
                let vault = vault.clone();
                async move { vault.get(&user).await.unwrap().unwrap() }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
