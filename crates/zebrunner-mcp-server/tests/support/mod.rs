//! The parts of a running server for call-path tests: the sandbox Zebrunner,
//! an in-process OpenID issuer (discovery and JWKS, RS256 with the identity
//! crate's test key), a SQLite audit database in a temporary directory, and
//! the HTTP app on a loopback port.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::{Json, Router, routing::get};
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use serde_json::{Value, json};
use zebrunner_client::{ClientConfig, SecretString, ZebrunnerClient, ZebrunnerUrl};
use zebrunner_identity::{OidcConfig, OidcValidator};
use zebrunner_mcp_server::{
    Credentials, HttpOptions, ZebrunnerMcp,
    config::PolicyConfig,
    credentials::{HeaderCredentials, VaultCredentials, logins::LoginRules},
    observe::Observer,
    policy::Policy,
    transport::http::{HttpServer, Security},
};
use zebrunner_sandbox::{RunningSandbox, SandboxConfig};
use zebrunner_storage::{
    Storage,
    audit::{AuditFilter, AuditLog, AuditSink},
};

pub const READ: &str = "zebrunner:read";
pub const WRITE: &str = "zebrunner:write";
pub const AUDIENCE: &str = "api://zebrunner-mcp-tests";
/// The sandbox login the server's service account uses.
pub const SERVICE_LOGIN: &str = "alice";

const KEY_PEM: &str = include_str!("../../../zebrunner-identity/tests/keys/rsa-a.pem");
const KID: &str = "call-path-tests";

/// Where the server under test takes its Zebrunner credentials from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The sandbox's alice, or a wrong token for her.
    ServiceAccount { bad_token: bool },
    /// The vault, with test keys; `Harness::vault` stores records.
    Vault,
    /// Each request's X-Zebrunner-* headers.
    Headers,
}

/// Signed-in test users and the sandbox logins they may use (`zebrunner.logins`).
pub const LOGINS: [(&str, &str); 2] = [
    ("alice@example.test", "alice@sandbox.test"),
    ("bob@example.test", "bob@sandbox.test"),
];

pub struct Harness {
    pub http: reqwest::Client,
    /// With `Source::Vault`: the server's vault.
    pub vault: Option<zebrunner_storage::vault::Vault>,
    /// The sandbox's accounts (login, token, projects).
    pub users: Vec<zebrunner_sandbox::SandboxUser>,
    pub sandbox_url: String,
    addr: std::net::SocketAddr,
    issuer: String,
    key: EncodingKey,
    storage: Storage,
    observer: Observer,
    _sandbox: RunningSandbox,
    _dir: tempfile::TempDir,
}

impl Harness {
    pub async fn start(policy: PolicyConfig) -> Self {
        Self::start_with(policy, Source::ServiceAccount { bad_token: false }).await
    }

    /// The service account's token is wrong, so every Zebrunner call fails.
    pub async fn start_with_bad_token() -> Self {
        Self::start_with(
            PolicyConfig::default(),
            Source::ServiceAccount { bad_token: true },
        )
        .await
    }

    pub async fn start_with(policy: PolicyConfig, source: Source) -> Self {
        Self::start_limited(policy, source, Default::default()).await
    }

    /// With these rate limits and cap on requests in flight.
    pub async fn start_limited(
        policy: PolicyConfig,
        source: Source,
        limits: zebrunner_mcp_server::transport::http::limits::LimitsConfig,
    ) -> Self {
        let sandbox = zebrunner_sandbox::Sandbox::spawn(SandboxConfig::default(), "127.0.0.1:0")
            .await
            .unwrap();
        let user = sandbox
            .sandbox
            .users()
            .into_iter()
            .find(|u| u.login.starts_with(SERVICE_LOGIN))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::connect(&Storage::default_sqlite_url(dir.path()))
            .await
            .unwrap();
        let url = ZebrunnerUrl::parse(&sandbox.url).unwrap();
        let workspace =
            zebrunner_client::Workspace::new(&zebrunner_client::WorkspaceConfig::new(url.clone()))
                .unwrap();
        let logins = LoginRules::new(
            &LOGINS
                .iter()
                .map(|(who, login)| (who.to_string(), login.to_string()))
                .collect(),
        );
        let mut vault = None;
        let credentials = match source {
            Source::ServiceAccount { bad_token } => {
                let token = if bad_token {
                    "wrong".to_string()
                } else {
                    user.token
                };
                Credentials::ServiceAccount(
                    ZebrunnerClient::new(ClientConfig::new(
                        url,
                        user.login,
                        SecretString::from(token),
                    ))
                    .unwrap(),
                )
            }
            Source::Vault => {
                let keys = format!("test:{}", base64_key());
                let ring =
                    std::sync::Arc::new(zebrunner_vault_crypto::KeyRing::parse(&keys).unwrap());
                let store = zebrunner_storage::vault::Vault::new(storage.clone(), ring);
                vault = Some(store.clone());
                Credentials::Vault(std::sync::Arc::new(VaultCredentials::new(
                    store,
                    workspace,
                    logins,
                    Some("https://mcp.example.test/connect".into()),
                    100,
                    std::time::Duration::from_secs(60),
                )))
            }
            Source::Headers => Credentials::Headers(std::sync::Arc::new(HeaderCredentials::new(
                workspace, logins,
            ))),
        };
        let users = sandbox.sandbox.users();
        let sandbox_url = sandbox.url.clone();
        let server = ZebrunnerMcp::new(credentials)
            .with_audit(AuditLog::new(vec![AuditSink::Database(storage.clone())]))
            .with_storage(storage.clone());
        let observer = server.observer().clone();
        let (issuer, key) = start_issuer().await;
        let validator = OidcValidator::discover(OidcConfig::new(issuer.clone(), AUDIENCE))
            .await
            .unwrap();
        let security = Security {
            validator: Some(validator),
            policy: Policy::new(policy, false),
            read_only: false,
            public_url: None,
            connect: None,
            oauth: None,
        };
        let mut options = HttpOptions::new("127.0.0.1:0".parse().unwrap());
        options.limits = limits;
        let http_server = HttpServer::bind(server, &options, security).await.unwrap();
        let addr = http_server.local_addr().unwrap();
        tokio::spawn(http_server.run(std::future::pending()));
        Self {
            http: {
                zebrunner_client::install_crypto_provider();
                reqwest::Client::new()
            },
            vault,
            users,
            sandbox_url,
            addr,
            issuer,
            key,
            storage,
            observer,
            _sandbox: sandbox,
            _dir: dir,
        }
    }

    pub fn mcp_url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// An Okta-shaped access token for `user`, valid for an hour.
    pub fn token(&self, user: &str, scopes: &[&str], groups: &[&str]) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = json!({
            "ver": 1,
            "jti": format!("AT.{user}.{now}"),
            "iss": self.issuer,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 3600,
            "cid": "tests-client",
            "uid": format!("00u{user}"),
            "sub": format!("{user}@example.test"),
            "scp": scopes,
            "groups": groups,
        });
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(KID.to_string());
        jsonwebtoken::encode(&header, &claims, &self.key).unwrap()
    }

    pub fn initialize(&self) -> Value {
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "call-path-tests", "version": "1"}}})
    }

    pub fn list_tools(&self) -> Value {
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    }

    pub fn tool_call(&self, name: &str, arguments: Value) -> Value {
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
               "params": {"name": name, "arguments": arguments}})
    }

    pub async fn post(
        &self,
        token: Option<&str>,
        session: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        self.post_with(token, session, body, &[]).await
    }

    pub async fn post_with(
        &self,
        token: Option<&str>,
        session: Option<&str>,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .http
            .post(self.mcp_url())
            .header("accept", "application/json, text/event-stream")
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(session) = session {
            request = request
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", "2025-06-18");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    /// `initialize` and `notifications/initialized`; the session id.
    pub async fn open_session(&self, token: &str) -> String {
        let response = self.post(Some(token), None, &self.initialize()).await;
        assert_eq!(response.status(), 200, "initialize refused");
        let session = response.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_string();
        let _ = rpc_message(response).await;
        let done = self
            .post(
                Some(token),
                Some(&session),
                &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            )
            .await;
        assert!(done.status().is_success(), "{}", done.status());
        session
    }

    /// A tool call's `result`.
    pub async fn call(&self, token: &str, session: &str, tool: &str, arguments: Value) -> Value {
        let response = self
            .post(Some(token), Some(session), &self.tool_call(tool, arguments))
            .await;
        assert_eq!(response.status(), 200);
        let message = rpc_message(response).await;
        message.get("result").cloned().unwrap_or(message)
    }

    pub async fn tool_names(
        &self,
        token: &str,
        session: &str,
        toolsets: Option<&str>,
    ) -> Vec<String> {
        let headers: Vec<(&str, &str)> = toolsets
            .map(|t| vec![("x-zebrunner-toolsets", t)])
            .unwrap_or_default();
        let response = self
            .post_with(Some(token), Some(session), &self.list_tools(), &headers)
            .await;
        let message = rpc_message(response).await;
        message["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    }

    /// Every audit record, oldest first, as JSON (reads' records are queued for the audit
    /// writer: wait for them first).
    pub async fn audit_rows(&self) -> Vec<Value> {
        self.observer.flush_audit().await;
        let mut rows: Vec<Value> = self
            .storage
            .query_audit(&AuditFilter::default())
            .await
            .unwrap()
            .into_iter()
            .map(|r| serde_json::to_value(r).unwrap())
            .collect();
        rows.sort_by_key(|r| r["id"].as_i64());
        rows
    }

    pub fn observer_anonymous(&self) -> u64 {
        self.observer.anonymous_refusals()
    }
}

/// The JSON-RPC message of a response, whether sent as JSON or as SSE.
pub async fn rpc_message(response: reqwest::Response) -> Value {
    let text = response.text().await.unwrap();
    if let Ok(value) = serde_json::from_str::<Value>(&text) {
        return value;
    }
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|m| m.get("id").is_some())
        .unwrap_or_else(|| panic!("no JSON-RPC answer in {text:?}"))
}

async fn start_issuer() -> (String, EncodingKey) {
    // Before jsonwebtoken's first use: its crypto comes from the identity crate.
    zebrunner_identity::install_crypto_provider();
    let key = EncodingKey::from_rsa_pem(KEY_PEM.as_bytes()).unwrap();
    let mut jwk =
        serde_json::to_value(Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap()).unwrap();
    jwk["kid"] = json!(KID);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/oauth2/default", listener.local_addr().unwrap());
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
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (issuer, key)
}

/// A fixed 256-bit test key, base64.
fn base64_key() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode([42u8; 32])
}

impl Harness {
    /// The sandbox account whose login starts with `name`.
    pub fn user(&self, name: &str) -> &zebrunner_sandbox::SandboxUser {
        self.users
            .iter()
            .find(|u| u.login.starts_with(name))
            .unwrap()
    }

    /// Which sandbox login each Zebrunner request since the last clear was made as (IAM
    /// refreshes, which authenticate by their body, left out).
    pub async fn sandbox_logins(&self) -> Vec<Option<String>> {
        let log: Vec<Value> = self
            .http
            .get(format!("{}/__sandbox/requests", self.sandbox_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        log.iter()
            .filter(|r| r["path"] != "/api/iam/v1/auth/refresh")
            .map(|r| r["user"].as_str().map(str::to_string))
            .collect()
    }

    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    pub async fn clear_sandbox_log(&self) {
        self.http
            .delete(format!("{}/__sandbox/requests", self.sandbox_url))
            .send()
            .await
            .unwrap();
    }
}
