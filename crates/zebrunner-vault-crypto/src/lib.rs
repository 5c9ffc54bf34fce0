//! The vault's cryptography, small enough to review alone: no storage, no
//! HTTP, no configuration loading beyond parsing a key list.
//!
//! # Layout
//!
//! - [`key_ring`]: 256-bit keys with ids, parsed from
//!   `id:base64key[,id:base64key…]` (the value of `ZMCP_VAULT_KEYS`, or the
//!   lines of the file `ZMCP_VAULT_KEYS_FILE` names). The **last** key is the
//!   newest: it seals; every key opens. [`parse_entries`] reads the same list without
//!   the length check, for a key file of KMS-wrapped data keys, which a key source
//!   unwraps and hands to [`KeyRing::from_keys`].
//! - [`seal`]: [`KeyRing::seal`] and [`KeyRing::open`], AES-256-GCM with a
//!   random 96-bit nonce per seal and associated data that binds the
//!   ciphertext to its record's owner ([`Binding`]: user key, Zebrunner URL,
//!   login), so a ciphertext copied onto another row does not open.
//!
//! Keys and opened plaintexts are wiped from memory when dropped
//! (`zeroize`); nothing here logs, and no error carries key or plaintext
//! bytes.
//!
//! # Key-usage limits
//!
//! With random 96-bit nonces, NIST SP 800-38D (section 8.3) allows at most
//! 2^32 seals under one key, keeping the chance of a repeated nonce below
//! 2^-32. The vault seals once per stored or replaced token and once per
//! record per rekey, so a deployment reaches that limit only after billions
//! of writes; rotate keys (add a new one, run `vault rekey`) long before, and
//! whenever a key may have been exposed. Each seal also authenticates at most
//! 2^36 - 32 bytes, far above any API token.

pub mod key_ring;
pub mod seal;

pub use key_ring::{
    KEY_LEN, KeyEntry, KeyId, KeyRing, KeyRingError, generate_entry, parse_entries,
};
pub use seal::{Binding, Bound, NONCE_LEN, OpenError, SealError, Sealed, SigningKeyBinding};
