//! The crypto providers: ring, for TLS (rustls) and for JWT signatures (`jsonwebtoken`).
//!
//! reqwest is built with `rustls-no-provider` and `jsonwebtoken` without a backend (no aws-lc,
//! whose C build by cmake was most of a fresh release build), so both need a process-wide
//! provider before the first `reqwest::Client` is built (or reqwest panics) and before the first
//! signature is checked (or `jsonwebtoken` panics). [`install_crypto_provider`] installs ring
//! for both; the discovery and key fetchers call it before building their client, and programs
//! and tests that build their own reqwest clients or sign tokens call it first.

/// Makes ring the process default for rustls and for `jsonwebtoken`, unless a provider is
/// installed already (then that one stays). Idempotent, cheap and safe to call from any thread.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another thread's install leaves its provider in place, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    // Refused only when a provider is installed already.
    let _ = jsonwebtoken::crypto::CryptoProvider::install_default(&crate::jwt_crypto::RING);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installs_ring_once_and_reqwest_clients_build() {
        install_crypto_provider();
        install_crypto_provider();
        let provider = rustls::crypto::CryptoProvider::get_default().expect("a provider");
        assert_eq!(format!("{:?}", provider.secure_random), "Ring");
        reqwest::Client::builder().build().expect("a client builds");
    }
}
