//! What a per-user client cache miss costs with `credentials = "vault"`: finding the
//! person's record in SQLite and opening its token (`read`), and the same plus noting the use
//! (`get`, one UPDATE: what the server does on a miss). 1,000 records in a file database.
//!
//!     cargo bench -p zebrunner-storage --bench vault

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use base64::Engine;
use criterion::{Criterion, criterion_group, criterion_main};
use secrecy::SecretString;
use zebrunner_storage::Storage;
use zebrunner_storage::vault::{NewCredential, Vault};
use zebrunner_vault_crypto::KeyRing;

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let vault = runtime.block_on(async {
        let storage = Storage::connect(&Storage::default_sqlite_url(dir.path()))
            .await
            .unwrap();
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let vault = Vault::new(
            storage,
            Arc::new(KeyRing::parse(&format!("k1:{key}")).unwrap()),
        );
        for i in 0..1000 {
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
                .unwrap();
        }
        vault
    });
    let mut i = 0usize;
    c.bench_function("vault read: SQLite lookup + AES-GCM open", |b| {
        b.to_async(&runtime).iter(|| {
            i = (i + 1) % 1000;
            let user = format!("uid:00ubench{i:04}");
            let vault = vault.clone();
            async move { vault.read(&user).await.unwrap().unwrap() }
        })
    });
    c.bench_function(
        "vault get: lookup + open + last-used update (a cache miss)",
        |b| {
            b.to_async(&runtime).iter(|| {
                i = (i + 1) % 1000;
                let user = format!("uid:00ubench{i:04}");
                let vault = vault.clone();
                async move { vault.get(&user).await.unwrap().unwrap() }
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
