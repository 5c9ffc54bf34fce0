//! What the vault's cryptography costs per call: opening one sealed token
//! (a cache miss pays this once), and sealing one (a store or a rekey).
//!
//!     cargo bench -p zebrunner-vault-crypto

#![allow(clippy::unwrap_used)]

use base64::{Engine, engine::general_purpose::STANDARD};
use criterion::{Criterion, criterion_group, criterion_main};
use secrecy::SecretString;
use zebrunner_vault_crypto::{Binding, KeyRing};

fn bench(c: &mut Criterion) {
    let ring = KeyRing::parse(&format!("k1:{}", STANDARD.encode([5u8; 32]))).unwrap();
    let binding = Binding {
        user_key: "uid:00u1a2b3c4d5e6f7g8h9",
        zebrunner_url: "https://acme.zebrunner.com",
        login: "alice@acme.example",
    };
    let token = SecretString::from("a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0");
    let sealed = ring.seal(&token, &binding).unwrap();
    c.bench_function("vault open (AES-256-GCM, 40-byte token)", |b| {
        b.iter(|| ring.open(&sealed, &binding).unwrap())
    });
    c.bench_function("vault seal (AES-256-GCM, 40-byte token)", |b| {
        b.iter(|| ring.seal(&token, &binding).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
