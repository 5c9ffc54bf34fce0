//! A minimal OpenID issuer inside the harness (discovery and JWKS) and the
//! access tokens it signs, so the server's identity `oidc` path is measured
//! with real RS256 validation and no third process competing for the CPU.
//! The key is the identity crate's test-only key. With identity `broker` it is
//! the upstream sign-in issuer: the server needs its discovery document to name
//! an authorization and a token endpoint, which nothing here calls.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use axum::{Json, Router, routing::get};
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use serde_json::{Value, json};

const KEY_PEM: &str = include_str!("../../zebrunner-identity/tests/keys/rsa-a.pem");
const KID: &str = "bench-key";
pub const AUDIENCE: &str = "api://zebrunner-mcp-bench";

pub struct Issuer {
    pub issuer: String,
    key: EncodingKey,
    _task: tokio::task::JoinHandle<()>,
}

impl Issuer {
    pub async fn start() -> anyhow::Result<Self> {
        let key = EncodingKey::from_rsa_pem(KEY_PEM.as_bytes()).context("bench key")?;
        let mut jwk = serde_json::to_value(Jwk::from_encoding_key(&key, Algorithm::RS256)?)?;
        jwk["kid"] = json!(KID);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let issuer = format!("http://{}/oauth2/default", listener.local_addr()?);
        let metadata = json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/v1/keys"),
            "authorization_endpoint": format!("{issuer}/v1/authorize"),
            "token_endpoint": format!("{issuer}/v1/token"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        });
        let jwks = json!({ "keys": [jwk] });
        let app = Router::new()
            .route(
                "/oauth2/default/.well-known/openid-configuration",
                get(move || async move { Json(metadata) }),
            )
            .route(
                "/oauth2/default/v1/keys",
                get(move || async move { Json(jwks) }),
            );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            issuer,
            key,
            _task: task,
        })
    }

    /// An Okta-shaped access token for a user, valid for an hour.
    pub fn token(&self, user: usize) -> anyhow::Result<String> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        let claims: Value = json!({
            "ver": 1,
            "jti": format!("AT.bench{user}"),
            "iss": self.issuer,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 3600,
            "cid": "bench-client",
            "uid": format!("00ubench{user}"),
            "sub": format!("user{user}@bench.test"),
            "scp": ["zebrunner:read"],
            "groups": ["qa"],
        });
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(KID.to_string());
        Ok(jsonwebtoken::encode(&header, &claims, &self.key)?)
    }
}
