//! Identity `broker` in the load harness: the server is its own OAuth authorization
//! server (crate `zebrunner-oauth`) and validates its own ES256 access tokens, plus one
//! grant-liveness read in its database, on every request. Its upstream sign-in issuer is
//! the harness's [`crate::issuer`], which nobody signs in at here: the harness gets its
//! tokens without a browser, as the confidential client `bench` with the
//! `client_credentials` grant (`POST <public>/token`, HTTP Basic).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use anyhow::Context;
use serde_json::Value;

use crate::{load::BENCH_VAULT_KEY, procs};

/// The confidential client the harness registers in the server's configuration.
const CLIENT_ID: &str = "bench";
/// Its secret (a bench, not a secret), and the SHA-256 the configuration holds instead:
/// `printf %s <secret> | sha256sum`. A mismatch fails the first token request with 401.
const CLIENT_SECRET: &str = "bench-only-client-secret-0123456789";
const CLIENT_SECRET_SHA256: &str =
    "3e011ea9c02649273f1a15340f4e55342ddd4b09850417cbfdcbd33241efc38f";

/// A broker server's settings, made before it starts: it must know its own URL (the token
/// issuer and audience), so it listens on a port chosen here, not on port 0.
pub struct Broker {
    /// Where the server listens, as `--listen`.
    pub listen: SocketAddr,
    public_url: String,
    config: PathBuf,
    http: reqwest::Client,
}

impl Broker {
    /// A free loopback address, and in `dir` a configuration file that registers the
    /// client `bench` (its secret as SHA-256) for the `client_credentials` grant.
    pub fn prepare(dir: &Path) -> anyhow::Result<Self> {
        let listen = procs::free_loopback_addr()?;
        std::fs::create_dir_all(dir)?;
        let config = dir.join("broker-bench.toml");
        // Groups as on the oidc mode's tokens; the bench's policy is the default (everyone).
        std::fs::write(
            &config,
            format!(
                "[[oauth.confidential_clients]]\n\
                 client_id = \"{CLIENT_ID}\"\n\
                 client_name = \"bench\"\n\
                 secret_sha256 = \"{CLIENT_SECRET_SHA256}\"\n\
                 grants = [\"client_credentials\"]\n\
                 groups = [\"qa\"]\n"
            ),
        )?;
        Ok(Self {
            listen,
            public_url: format!("http://{listen}"),
            config,
            http: reqwest::Client::new(),
        })
    }

    /// The server's environment: identity `broker`, signing people in at `issuer` as a web
    /// client whose id and secret are never used here, signing keys sealed with the bench's
    /// vault key.
    pub fn env(&self, issuer: &str) -> Vec<(&'static str, String)> {
        vec![
            ("ZMCP_IDENTITY", "broker".into()),
            ("ZMCP_PUBLIC_URL", self.public_url.clone()),
            ("ZMCP_OIDC_ISSUER", issuer.into()),
            ("ZMCP_OIDC_CLIENT_ID", "bench-sign-in".into()),
            ("ZMCP_OIDC_CLIENT_SECRET", "bench-sign-in-secret".into()),
            ("ZMCP_VAULT_KEYS", BENCH_VAULT_KEY.into()),
            ("ZMCP_CONFIG", self.config.display().to_string()),
        ]
    }

    /// A fresh access token of ours for `client:bench` (each its own grant).
    pub async fn token(&self) -> anyhow::Result<String> {
        let response = self
            .http
            .post(format!("{}/token", self.public_url))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body("grant_type=client_credentials")
            .send()
            .await
            .context("POST /token")?;
        let status = response.status();
        let body = response.text().await?;
        anyhow::ensure!(status.is_success(), "POST /token: {status}: {body}");
        let body: Value = serde_json::from_str(&body).context("POST /token: not JSON")?;
        let token = body
            .get("access_token")
            .and_then(Value::as_str)
            .context("POST /token: no access_token")?
            .to_owned();
        let alg = jsonwebtoken::decode_header(&token)?.alg;
        anyhow::ensure!(
            alg == jsonwebtoken::Algorithm::ES256,
            "the broker signed with {alg:?}, not ES256"
        );
        Ok(token)
    }
}
