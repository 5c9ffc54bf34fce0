//! A tiny Okta stand-in for token-exchange tests: OIDC discovery
//! (`<issuer>/.well-known/openid-configuration`) and a JWKS with one RSA key,
//! and ID tokens signed with `jsonwebtoken` (the test-only keys of
//! `zebrunner-identity/tests/keys/`). Shared by this crate's tests and
//! zebrunner-client's (`#[path]`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::get;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// Zebrunner's Okta client id: the `aud` of the ID tokens the exchange takes.
pub const AUDIENCE: &str = "0oa-zebrunner-web";
/// The key id the issuer publishes.
pub const KID: &str = "okta-test-1";

const SIGNING_PEM: &str = include_str!("../../../zebrunner-identity/tests/keys/rsa-a.pem");
const OTHER_PEM: &str = include_str!("../../../zebrunner-identity/tests/keys/rsa-b.pem");

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A running issuer at `http://127.0.0.1:<port>/oauth2/default`; stops on drop.
pub struct TestIssuer {
    pub issuer: String,
    key: EncodingKey,
    other: EncodingKey,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestIssuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestIssuer {
    pub async fn start() -> TestIssuer {
        // jsonwebtoken has no crypto backend of its own (see the workspace Cargo.toml).
        zebrunner_identity::install_crypto_provider();
        let key = EncodingKey::from_rsa_pem(SIGNING_PEM.as_bytes()).unwrap();
        let other = EncodingKey::from_rsa_pem(OTHER_PEM.as_bytes()).unwrap();
        let mut jwk =
            serde_json::to_value(Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap()).unwrap();
        jwk["kid"] = json!(KID);
        jwk["use"] = json!("sig");

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}/oauth2/default", listener.local_addr().unwrap());
        let metadata = json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/v1/keys"),
            "authorization_endpoint": format!("{issuer}/v1/authorize"),
            "token_endpoint": format!("{issuer}/v1/token"),
            "id_token_signing_alg_values_supported": ["RS256"],
        });
        let keys = json!({ "keys": [jwk] });
        let app = Router::new()
            .route(
                "/oauth2/default/.well-known/openid-configuration",
                get(move || async move { axum::Json(metadata) }),
            )
            .route(
                "/oauth2/default/v1/keys",
                get(move || async move { axum::Json(keys) }),
            );
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        TestIssuer {
            issuer,
            key,
            other,
            task,
        }
    }

    /// The claims of an Okta ID token for the person with e-mail `email`.
    pub fn claims(&self, email: &str) -> Value {
        let now = now();
        json!({
            "ver": 1, "jti": "ID.test", "iss": self.issuer, "aud": AUDIENCE,
            "sub": "00u1testperson", "iat": now - 5, "exp": now + 3600, "auth_time": now - 60,
            "amr": ["pwd"], "idp": "00o1test", "nonce": "n-0S6_WzA2Mj",
            "name": "Test Person", "email": email, "preferred_username": email,
            "at_hash": "77QmUPtjPfzWtF2AnpK9RQ"
        })
    }

    /// An ID token with `claims`, signed by the issuer's key.
    pub fn sign(&self, claims: &Value) -> String {
        sign(&self.key, claims)
    }

    /// An ID token naming the issuer's key id but signed with another key.
    pub fn sign_with_other_key(&self, claims: &Value) -> String {
        sign(&self.other, claims)
    }

    /// A valid ID token for `email`.
    pub fn id_token(&self, email: &str) -> String {
        self.sign(&self.claims(email))
    }
}

fn sign(key: &EncodingKey, claims: &Value) -> String {
    zebrunner_identity::install_crypto_provider();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(KID.to_owned());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}
