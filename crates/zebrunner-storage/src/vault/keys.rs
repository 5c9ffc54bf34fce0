//! The key-source seam: where the key ring comes from. [`StaticKeys`] is a ring parsed once
//! from `ZMCP_VAULT_KEYS` (or its file); `zebrunner-vault-aws` adds keys unwrapped by AWS KMS
//! on demand and kept in memory for a bounded time. The vault asks for the ring on every
//! operation, so a source may refresh or drop it between two.

use std::sync::Arc;

use zebrunner_vault_crypto::KeyRing;

use super::VaultError;
use crate::BoxFuture;

/// Where the vault's key ring comes from.
pub trait KeySource: Send + Sync + std::fmt::Debug {
    /// For messages and `Debug`: "ZMCP_VAULT_KEYS", "AWS KMS".
    fn name(&self) -> &'static str;

    /// The ring now: the newest key seals, every key opens.
    fn key_ring(&self) -> BoxFuture<'_, Result<Arc<KeyRing>, VaultError>>;
}

/// A key ring held in memory for the life of the process.
#[derive(Debug, Clone)]
pub struct StaticKeys(pub Arc<KeyRing>);

impl KeySource for StaticKeys {
    fn name(&self) -> &'static str {
        "ZMCP_VAULT_KEYS"
    }

    fn key_ring(&self) -> BoxFuture<'_, Result<Arc<KeyRing>, VaultError>> {
        let ring = self.0.clone();
        Box::pin(async move { Ok(ring) })
    }
}
