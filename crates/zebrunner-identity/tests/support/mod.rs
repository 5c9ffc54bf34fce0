//! Test support: a tiny issuer (OIDC discovery, RFC 8414 forms and a JWKS
//! endpoint with `Cache-Control`, a switchable key set, a fetch counter and
//! an outage switch), the test-only keys under `tests/keys/`, and token
//! minting with `jsonwebtoken`.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

pub const AUDIENCE: &str = "api://zebrunner-mcp";
pub const ISSUER_PATH: &str = "/oauth2/default";

/// A signing key with its public JWK.
#[derive(Clone)]
pub struct TestKey {
    pub kid: String,
    pub alg: Algorithm,
    pub encoding: EncodingKey,
    pub jwk: Value,
}

impl TestKey {
    fn new(kid: &str, alg: Algorithm, encoding: EncodingKey) -> Self {
        zebrunner_identity::install_crypto_provider(); // before jsonwebtoken's first use
        let mut jwk =
            serde_json::to_value(Jwk::from_encoding_key(&encoding, alg).expect("jwk")).unwrap();
        jwk["kid"] = json!(kid);
        jwk["use"] = json!("sig");
        TestKey {
            kid: kid.to_owned(),
            alg,
            encoding,
            jwk,
        }
    }

    /// The same key published under another kid, optionally without `alg`.
    pub fn renamed(&self, kid: &str, keep_alg: bool) -> Self {
        let mut k = self.clone();
        k.kid = kid.to_owned();
        k.jwk["kid"] = json!(kid);
        if !keep_alg {
            k.jwk.as_object_mut().unwrap().remove("alg");
        }
        k
    }
}

pub fn rsa(name: &str) -> TestKey {
    let pem = match name {
        "rsa-a" => include_str!("../keys/rsa-a.pem"),
        "rsa-b" => include_str!("../keys/rsa-b.pem"),
        "rsa-c" => include_str!("../keys/rsa-c.pem"),
        other => panic!("no key {other}"),
    };
    TestKey::new(
        name,
        Algorithm::RS256,
        EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    )
}

pub fn ec() -> TestKey {
    let pem = include_str!("../keys/ec-p256.pem");
    TestKey::new(
        "ec-p256",
        Algorithm::ES256,
        EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
    )
}

pub fn ed() -> TestKey {
    let pem = include_str!("../keys/ed25519.pem");
    TestKey::new(
        "ed25519",
        Algorithm::EdDSA,
        EncodingKey::from_ed_pem(pem.as_bytes()).unwrap(),
    )
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Which metadata URLs the issuer answers.
#[derive(Clone, Copy)]
pub struct Forms {
    pub openid: bool,
    pub rfc8414_inserted: bool,
    pub rfc8414_legacy: bool,
}

pub struct IssuerState {
    pub issuer: Mutex<String>,
    /// Overrides the `issuer` in the metadata document.
    pub advertised_issuer: Mutex<Option<String>>,
    pub keys: Mutex<Vec<Value>>,
    pub cache_control: Mutex<String>,
    pub jwks_fetches: AtomicUsize,
    pub metadata_fetches: AtomicUsize,
    pub down: AtomicBool,
    pub forms: Mutex<Forms>,
}

/// A running test issuer at `http://127.0.0.1:<port>/oauth2/default`.
pub struct TestIssuer {
    pub issuer: String,
    pub state: Arc<IssuerState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestIssuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestIssuer {
    pub async fn start(keys: &[&TestKey]) -> Self {
        let state = Arc::new(IssuerState {
            issuer: Mutex::new(String::new()),
            advertised_issuer: Mutex::new(None),
            keys: Mutex::new(keys.iter().map(|k| k.jwk.clone()).collect()),
            cache_control: Mutex::new("public, max-age=300".to_owned()),
            jwks_fetches: AtomicUsize::new(0),
            metadata_fetches: AtomicUsize::new(0),
            down: AtomicBool::new(false),
            forms: Mutex::new(Forms {
                openid: true,
                rfc8414_inserted: true,
                rfc8414_legacy: true,
            }),
        });
        let app = Router::new()
            .route(
                "/oauth2/default/.well-known/openid-configuration",
                get(openid),
            )
            .route(
                "/.well-known/oauth-authorization-server/oauth2/default",
                get(inserted),
            )
            .route(
                "/oauth2/default/.well-known/oauth-authorization-server",
                get(legacy),
            )
            .route("/oauth2/default/v1/keys", get(jwks))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let issuer = format!("http://{addr}{ISSUER_PATH}");
        *state.issuer.lock().unwrap() = issuer.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        TestIssuer {
            issuer,
            state,
            task,
        }
    }

    pub fn set_keys(&self, keys: &[&TestKey]) {
        *self.state.keys.lock().unwrap() = keys.iter().map(|k| k.jwk.clone()).collect();
    }

    pub fn set_raw_keys(&self, keys: Vec<Value>) {
        *self.state.keys.lock().unwrap() = keys;
    }

    pub fn set_cache_control(&self, value: &str) {
        *self.state.cache_control.lock().unwrap() = value.to_owned();
    }

    pub fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }

    pub fn set_forms(&self, forms: Forms) {
        *self.state.forms.lock().unwrap() = forms;
    }

    pub fn advertise_issuer(&self, issuer: &str) {
        *self.state.advertised_issuer.lock().unwrap() = Some(issuer.to_owned());
    }

    pub fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Claims of a typical Okta custom-AS access token for user jane.
    pub fn okta_claims(&self) -> Value {
        let now = now();
        json!({
            "ver": 1, "jti": "AT.test", "iss": self.issuer, "aud": AUDIENCE,
            "iat": now - 5, "exp": now + 600, "auth_time": now - 60,
            "cid": "web-app", "uid": "00u1jane", "sub": "jane.doe@acme.com",
            "scp": ["zebrunner:read", "openid"], "groups": ["qa", "Everyone"],
            "name": "Jane Doe"
        })
    }
}

fn metadata(state: &IssuerState) -> Response {
    state.metadata_fetches.fetch_add(1, Ordering::SeqCst);
    if state.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let issuer = state.issuer.lock().unwrap().clone();
    let advertised = state
        .advertised_issuer
        .lock()
        .unwrap()
        .clone()
        .unwrap_or_else(|| issuer.clone());
    axum::Json(json!({
        "issuer": advertised,
        "jwks_uri": format!("{issuer}/v1/keys"),
        "authorization_endpoint": format!("{issuer}/v1/authorize"),
        "token_endpoint": format!("{issuer}/v1/token"),
        "scopes_supported": ["openid", "zebrunner:read", "zebrunner:write"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["ver", "jti", "iss", "aud", "iat", "exp", "cid", "uid", "scp", "sub"]
    }))
    .into_response()
}

async fn openid(State(s): State<Arc<IssuerState>>) -> Response {
    if !s.forms.lock().unwrap().openid {
        return StatusCode::NOT_FOUND.into_response();
    }
    metadata(&s)
}

async fn inserted(State(s): State<Arc<IssuerState>>) -> Response {
    if !s.forms.lock().unwrap().rfc8414_inserted {
        return StatusCode::NOT_FOUND.into_response();
    }
    metadata(&s)
}

async fn legacy(State(s): State<Arc<IssuerState>>) -> Response {
    if !s.forms.lock().unwrap().rfc8414_legacy {
        return StatusCode::NOT_FOUND.into_response();
    }
    metadata(&s)
}

async fn jwks(State(s): State<Arc<IssuerState>>) -> Response {
    s.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    if s.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let keys = s.keys.lock().unwrap().clone();
    let cache_control = s.cache_control.lock().unwrap().clone();
    (
        [(header::CACHE_CONTROL, cache_control)],
        axum::Json(json!({ "keys": keys })),
    )
        .into_response()
}

/// A token through `jsonwebtoken::encode`, header `{alg, typ: JWT, kid}`.
pub fn encode(key: &TestKey, claims: &Value) -> String {
    zebrunner_identity::install_crypto_provider();
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
}

/// A token with an arbitrary JSON header, signed by `key` with `alg`.
pub fn sign_raw(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    zebrunner_identity::install_crypto_provider();
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap())
    );
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).unwrap();
    format!("{message}.{signature}")
}

/// Signs arbitrary header and payload bytes (for garbage-JSON cases).
pub fn sign_bytes(header: &[u8], payload: &[u8], key: &TestKey) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key.encoding, key.alg).unwrap();
    format!("{message}.{signature}")
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}
