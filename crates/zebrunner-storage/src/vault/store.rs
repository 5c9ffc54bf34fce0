//! The record-store seam: where sealed records live. [`super::Vault`] seals and opens tokens
//! and checks input; a [`RecordStore`] only keeps what it is given. The database
//! ([`super::sql::SqlRecords`], table `vault_records`) is one; `zebrunner-vault-aws` adds AWS
//! Secrets Manager. A store never sees a token in the clear, only [`Sealed`] bytes.
//!
//! What every store promises, and the shared test suite checks on each:
//! - a write is all or nothing: a process killed at any instant leaves a record as it was or
//!   as written;
//! - [`RecordStore::reseal`] and the revision-bound status changes are compare-and-swap, so a
//!   record stored again meanwhile is never overwritten with an older token;
//! - listings are ordered by user key and resume after a given one.

use zebrunner_vault_crypto::Sealed;

use super::{RecordStatus, VaultError, VaultMetadata};
use crate::BoxFuture;

/// A record as a store holds it, before its token is opened.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub meta: VaultMetadata,
    pub sealed: Sealed,
}

/// A record to store (or replace), already sealed. A replacement counts a new revision, makes
/// the record active again and keeps `created_at` and `last_used_at`.
#[derive(Debug, Clone, Copy)]
pub struct Upsert<'a> {
    pub user_key: &'a str,
    pub zebrunner_url: &'a str,
    pub login: &'a str,
    pub sealed: &'a Sealed,
    /// RFC 3339 UTC: `created_at` of a new record, `updated_at` always.
    pub now: &'a str,
    /// `last_validated_at` (None when Zebrunner was not asked).
    pub validated_at: Option<&'a str>,
}

/// Which records a listing returns, each ordered by user key.
#[derive(Debug, Clone, Copy)]
pub enum Selection<'a> {
    All,
    /// Records sealed with any key but this one (what a rekey moves).
    NotSealedWith(&'a str),
    /// Active records last checked before this RFC 3339 UTC time, or never.
    DueBefore(&'a str),
}

impl Selection<'_> {
    /// Whether `meta` belongs to this selection (stores that filter in memory use it).
    pub fn admits(&self, meta: &VaultMetadata) -> bool {
        match self {
            Selection::All => true,
            Selection::NotSealedWith(key) => meta.key_id != *key,
            Selection::DueBefore(before) => {
                meta.status == RecordStatus::Active
                    && meta
                        .last_validated_at
                        .as_deref()
                        .is_none_or(|at| at < *before)
            }
        }
    }
}

/// Where sealed vault records are kept.
pub trait RecordStore: Send + Sync + std::fmt::Debug {
    /// For messages and `Debug`: "database", "AWS Secrets Manager".
    fn name(&self) -> &'static str;

    /// Store or replace one record (see [`Upsert`]).
    fn upsert<'a>(&'a self, record: Upsert<'a>) -> BoxFuture<'a, Result<(), VaultError>>;

    /// One record; `None` when there is none (or it was deleted).
    fn find<'a>(
        &'a self,
        user_key: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredRecord>, VaultError>>;

    /// Up to `limit` (at least 1) records of `selection` with a user key after `after`.
    fn select<'a>(
        &'a self,
        selection: Selection<'a>,
        after: Option<&'a str>,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<StoredRecord>, VaultError>>;

    /// Note a use at `now`.
    fn touch<'a>(
        &'a self,
        user_key: &'a str,
        now: &'a str,
    ) -> BoxFuture<'a, Result<(), VaultError>>;

    /// Remove a record; whether there was one.
    fn delete<'a>(&'a self, user_key: &'a str) -> BoxFuture<'a, Result<bool, VaultError>>;

    /// Set the status of revision `revision` (and `last_validated_at = now`); false, changing
    /// nothing, when the record holds another revision or is gone.
    fn set_status<'a>(
        &'a self,
        user_key: &'a str,
        revision: i64,
        status: &'a RecordStatus,
        now: &'a str,
    ) -> BoxFuture<'a, Result<bool, VaultError>>;

    /// Replace the sealed token with `resealed` only if the record still holds the one whose
    /// nonce is `expected_nonce`; whether it did.
    fn reseal<'a>(
        &'a self,
        user_key: &'a str,
        expected_nonce: &'a [u8],
        resealed: &'a Sealed,
    ) -> BoxFuture<'a, Result<bool, VaultError>>;
}
