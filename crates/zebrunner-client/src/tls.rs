//! The TLS crypto provider: rustls with ring.
//!
//! reqwest is built with `rustls-no-provider` (no aws-lc, whose C build by cmake was most of a
//! fresh release build), so a rustls provider must be the process default before the first
//! `reqwest::Client` is built, or reqwest panics. [`install_crypto_provider`] makes ring that
//! default; [`ZebrunnerClient::new`](crate::ZebrunnerClient::new) calls it, and programs and
//! tests that build their own reqwest clients call it first.

/// Makes rustls' ring provider the process default unless a provider is installed already
/// (then that one stays). Idempotent, cheap and safe to call from any thread.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another thread's install leaves its provider in place, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
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
