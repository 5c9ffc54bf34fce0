//! The vault in the company's AWS account, behind the same [`zebrunner_storage::vault::Vault`]
//! interface as the database (feature `aws`; without it this crate is empty and the AWS SDK is
//! not built):
//!
//! - `vault.backend = "aws-secrets-manager"`: [`SecretsManagerRecords`], each person's record one
//!   secret `<prefix><sha256(user key)>` whose value is the sealed record the database would
//!   hold (so a leaked value is still ciphertext);
//! - `vault.key_source = "aws-kms"`: [`KmsKeys`], the key ring's data keys wrapped by a KMS key
//!   (envelope encryption): the key file holds only wrapped keys, unwrapped with `kms:Decrypt`
//!   on demand and kept in memory for a bounded time.
//!
//! # Layout
//!
//! - [`sdk`]: the SDK's shared configuration: the standard provider chain (environment, shared
//!   config, web identity, instance metadata) for credentials and region, HTTPS by rustls on
//!   ring, standard retries with exponential backoff (throttling included).
//! - [`failure`]: SDK errors turned into messages that say what to do, naming the IAM
//!   permission that was refused; never a secret value.
//! - `record` (private): the JSON a secret's value holds, and the tag encoding.
//! - [`secrets`]: [`SecretsManagerRecords`], the record store.
//! - [`kms`]: [`KmsKeys`], the key source, and [`kms::generate_wrapped_entry`] for `vault keygen`.
//! - [`probe`]: what `config check --online` asks AWS, each probe naming the permission it
//!   needs.
//!
//! docs/storage.md describes what is stored where and the minimal IAM policy of each backend.

#[cfg(feature = "aws")]
pub mod failure;
#[cfg(feature = "aws")]
pub mod kms;
#[cfg(feature = "aws")]
pub mod probe;
#[cfg(feature = "aws")]
mod record;
#[cfg(feature = "aws")]
pub mod sdk;
#[cfg(feature = "aws")]
pub mod secrets;

#[cfg(feature = "aws")]
pub use kms::KmsKeys;
#[cfg(feature = "aws")]
pub use sdk::AwsSettings;
#[cfg(feature = "aws")]
pub use secrets::SecretsManagerRecords;

/// The SDK's clients, for callers (and tests) that speak to the services directly.
#[cfg(feature = "aws")]
pub use aws_sdk_kms;
#[cfg(feature = "aws")]
pub use aws_sdk_secretsmanager;
