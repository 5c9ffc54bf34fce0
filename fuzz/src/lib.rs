//! What the fuzz targets share: a single-threaded Tokio runtime, the identity crate's
//! test-only signing keys (never used anywhere else), a validator for them, and the cursor
//! key the `cursor` and `jsonrpc` targets sign with.
//!
//! Input formats are described at the top of each target and in docs/fuzzing.md.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use zebrunner_identity::{IssuerMetadata, LocalKeys, OidcConfig, OidcValidator};

/// The issuer and audience of the tokens the targets validate.
pub const ISSUER: &str = "https://issuer.example.test/oauth2/default";
pub const AUDIENCE: &str = "api://zebrunner-mcp";
/// The client an ID token is for, and the nonce its sign-in sent.
pub const CLIENT_ID: &str = "web-app";
pub const NONCE: &str = "n-0S6_WzA2Mj";
/// A client whose user-less (client-credentials) tokens are accepted.
pub const SERVICE_CLIENT: &str = "ci-bot";
/// The cursor-signing key of the `cursor` and `jsonrpc` targets (so committed seeds that
/// carry a cursor keep a valid signature).
pub const CURSOR_KEY: &[u8; 32] = b"zebrunner-mcp-fuzz-cursor-key-01";

/// One current-thread runtime per process: the targets run one input at a time.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("no tokio runtime: {e}"))
    })
}

/// Whether `ZMCP_FUZZ_VERBOSE` is set: targets then print what each input led to (for
/// writing seeds and reading a crash).
pub fn verbose() -> bool {
    static V: OnceLock<bool> = OnceLock::new();
    *V.get_or_init(|| std::env::var_os("ZMCP_FUZZ_VERBOSE").is_some())
}

/// Runs `future` to completion on [`runtime`].
pub fn block_on<F: Future>(future: F) -> F::Output {
    runtime().block_on(future)
}

/// A signing key with its public JWK.
pub struct TestKey {
    pub kid: &'static str,
    pub alg: Algorithm,
    pub encoding: EncodingKey,
    pub jwk: Value,
}

fn key(kid: &'static str, alg: Algorithm, encoding: EncodingKey) -> TestKey {
    zebrunner_identity::install_crypto_provider();
    let mut jwk = serde_json::to_value(
        Jwk::from_encoding_key(&encoding, alg).unwrap_or_else(|e| panic!("jwk of {kid}: {e}")),
    )
    .unwrap_or_else(|e| panic!("jwk of {kid}: {e}"));
    jwk["kid"] = json!(kid);
    jwk["use"] = json!("sig");
    TestKey {
        kid,
        alg,
        encoding,
        jwk,
    }
}

const RSA_A: &str = include_str!("../../crates/zebrunner-identity/tests/keys/rsa-a.pem");
const RSA_B: &str = include_str!("../../crates/zebrunner-identity/tests/keys/rsa-b.pem");
const EC_P256: &str = include_str!("../../crates/zebrunner-identity/tests/keys/ec-p256.pem");
const ED25519: &str = include_str!("../../crates/zebrunner-identity/tests/keys/ed25519.pem");

/// The test keys: `rsa-a` (RS256), `ec-p256` (ES256), `ed25519` (EdDSA), and `rsa-b`
/// (published without `alg`, so any RSA algorithm may use it).
pub fn keys() -> &'static [TestKey; 4] {
    static KEYS: OnceLock<[TestKey; 4]> = OnceLock::new();
    KEYS.get_or_init(|| {
        let pem = |what: &str, r: Result<EncodingKey, jsonwebtoken::errors::Error>| {
            r.unwrap_or_else(|e| panic!("test key {what}: {e}"))
        };
        let mut rsa_b = key(
            "rsa-b",
            Algorithm::RS256,
            pem("rsa-b", EncodingKey::from_rsa_pem(RSA_B.as_bytes())),
        );
        if let Some(o) = rsa_b.jwk.as_object_mut() {
            o.remove("alg");
        }
        [
            key(
                "rsa-a",
                Algorithm::RS256,
                pem("rsa-a", EncodingKey::from_rsa_pem(RSA_A.as_bytes())),
            ),
            key(
                "ec-p256",
                Algorithm::ES256,
                pem("ec-p256", EncodingKey::from_ec_pem(EC_P256.as_bytes())),
            ),
            key(
                "ed25519",
                Algorithm::EdDSA,
                pem("ed25519", EncodingKey::from_ed_pem(ED25519.as_bytes())),
            ),
            rsa_b,
        ]
    })
}

/// The JWKS document publishing every test key.
pub fn jwks() -> Vec<u8> {
    let keys: Vec<&Value> = keys().iter().map(|k| &k.jwk).collect();
    serde_json::to_vec(&json!({ "keys": keys })).unwrap_or_default()
}

/// The validator configuration: RS256, PS256, ES256 and EdDSA allowed, one service client.
pub fn config(algorithms: Vec<Algorithm>) -> OidcConfig {
    let mut config = OidcConfig::new(ISSUER, AUDIENCE);
    config.algorithms = algorithms;
    config.service_clients = vec![SERVICE_CLIENT.to_owned()];
    config
}

/// A validator whose key set is `jwks`, read through the local key source (as identity
/// `broker` reads its own keys); the same parsing and checks as for Okta's keys.
pub async fn validator(config: OidcConfig, jwks: Vec<u8>) -> Result<OidcValidator, String> {
    let jwks = Arc::new(jwks);
    let source: LocalKeys = Arc::new(move || {
        let jwks = Arc::clone(&jwks);
        Box::pin(async move { Ok(jwks.as_ref().clone()) })
    });
    OidcValidator::with_local_keys(config, IssuerMetadata::local(ISSUER), source)
        .await
        .map_err(|e| e.to_string())
}

/// `header.payload.signature` over the raw header and payload bytes.
pub fn sign(header: &[u8], payload: &[u8], key: &TestKey, alg: Algorithm) -> Option<String> {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key.encoding, alg).ok()?;
    Some(format!("{message}.{signature}"))
}

/// A cursor over exactly these payload bytes, signed as the server signs cursors
/// (base64url JSON, `.`, base64url of the first 16 bytes of its HMAC-SHA256).
pub fn sign_cursor(key: &[u8], payload: &[u8]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let tag = match Hmac::<sha2::Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(payload);
            mac.finalize().into_bytes()[..16].to_vec()
        }
        Err(_) => Vec::new(),
    };
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(tag)
    )
}
