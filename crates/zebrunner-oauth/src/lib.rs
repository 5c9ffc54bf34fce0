//! Our own OAuth 2.1 authorization server for MCP clients (identity `broker`): clients
//! register themselves, a person signs in with the company's Okta and consents, and we issue
//! tokens for our MCP resource only, signed with our own keys. Okta offers MCP clients
//! neither dynamic registration nor client metadata documents; we do.
//!
//! # Layout
//!
//! - [`config`]: the `[oauth]` section.
//! - [`keys`]: our ES256 signing keys, sealed with the vault's key ring in the database, and
//!   the JWKS.
//! - [`register`]: clients (configured, or registered by RFC 7591) and the redirect-URI
//!   policy.
//! - [`cimd`]: clients whose id is the URL of their client ID metadata document, fetched
//!   (with an SSRF-safe client) and cached in the database.
//! - [`authorize`]: `/authorize`, the Okta sign-in (`/oauth/callback`) and the consent page.
//! - [`apps`]: `/oauth/apps`, the page where a person signs in, sees the applications they
//!   allowed and revokes them (consent and grants at once).
//! - [`token`]: `/token` (authorization code with PKCE, refresh with rotation and reuse
//!   detection, and the dispatch to the grants below) and `/revoke` (RFC 7009).
//! - [`client_auth`]: who asks at `/token`: a public client, or a confidential one and its
//!   secret.
//! - [`client_credentials`], [`exchange`] (RFC 8693, Zebrunner tokens for a person through
//!   the vault), [`jwt_bearer`] (enterprise-managed authorization with ID-JAGs): the grants
//!   of the operator's confidential clients.
//! - [`events`]: what those grants tell the audit log.
//! - [`connect_step`]: with credentials `vault`, the connect page inside `/authorize` for a
//!   person who has not connected Zebrunner yet, and `/oauth/resume` back from it.
//! - this file: [`AuthorizationServer`], its metadata (RFC 8414) and its router.
//!
//! All state (clients, cached metadata documents, pending sign-ins, codes, refresh-token
//! families, consents, keys) is in `zebrunner_storage::oauth`, so a sign-in started on one
//! replica finishes on another and a restart loses nothing. Codes and refresh tokens are stored as SHA-256 hashes only.

pub mod apps;
pub mod authorize;
pub mod cimd;
pub mod client_auth;
pub mod client_credentials;
pub mod config;
pub mod connect_step;
pub mod events;
pub mod exchange;
pub mod jwt_bearer;
pub mod keys;
pub mod register;
pub mod token;

use std::sync::{Arc, OnceLock};

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    http::{StatusCode, header},
    middleware,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use zebrunner_identity::{
    Identity, IssuerMetadata, LocalKeys, OidcConfig, OidcValidator, SetupError, SignInClient,
};
use zebrunner_pages::{CookieKey, headers};
use zebrunner_storage::{StorageError, oauth::OAuthStore};

pub use config::{ConfidentialClient, ConfidentialGrant, OAuthConfig, StaticClient};
pub use connect_step::{ConnectStep, RESUME_PATH};
pub use events::{GrantAudit, GrantEvent, GrantOutcome, RecordLost};
pub use exchange::{NoZebrunnerToken, ZebrunnerToken, ZebrunnerTokens};
pub use jwt_bearer::{ID_JAG_ALGORITHMS, trusted_issuer, trusted_issuers};
pub use keys::SigningKeys;

/// Largest request body the endpoints read (forms and registration documents).
const MAX_BODY_BYTES: usize = 16 * 1024;

/// Whether a signed-in person may use this server at all (the server's access policy); the
/// refusal's reason is shown to them.
pub type Admission = Arc<dyn Fn(&Identity) -> Result<(), String> + Send + Sync>;

/// Why a request failed inside the server (not the client's fault, unless `Invalid`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("signing keys: {0}")]
    Keys(String),
    /// An issuance could not be recorded in the audit log, so it was not made.
    #[error("the audit record of an issuance could not be stored")]
    AuditLost,
    /// An OAuth error the client caused: `error` is the RFC's code.
    #[error("{error}: {description}")]
    Invalid {
        error: &'static str,
        description: String,
    },
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match self {
            Error::Invalid { error, description } => {
                oauth_error(StatusCode::BAD_REQUEST, error, &description)
            }
            other => {
                tracing::error!(error = %other, "the authorization server failed");
                oauth_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "the authorization server failed; retry shortly",
                )
            }
        }
    }
}

/// An RFC 6749 §5.2 error body.
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// The authorization server: its settings, its state, its keys, and the Okta sign-in.
pub struct AuthorizationServer {
    pub(crate) config: OAuthConfig,
    /// Our issuer identifier: this server's public base URL.
    pub(crate) issuer: String,
    /// The one resource our tokens are for: `<issuer>/mcp`.
    pub(crate) resource: String,
    pub(crate) store: OAuthStore,
    pub(crate) keys: Arc<SigningKeys>,
    /// Okta sign-in, returning to `<issuer>/oauth/callback`.
    pub(crate) sign_in: SignInClient,
    pub(crate) cookies: CookieKey,
    pub(crate) admit: Admission,
    /// Scopes clients may ask for (the policy's read and write scopes).
    pub(crate) scopes: Vec<String>,
    /// The claim our tokens carry groups in (what the validator reads).
    pub(crate) groups_claim: String,
    /// Fetches client ID metadata documents.
    pub(crate) documents: cimd::Fetcher,
    /// Validators of the identity providers whose ID-JAGs we accept.
    pub(crate) trusted_issuers: Vec<OidcValidator>,
    /// Zebrunner tokens for the token exchange (credentials `vault` only).
    pub(crate) zebrunner: Option<Arc<dyn ZebrunnerTokens>>,
    pub(crate) audit: Option<Arc<dyn GrantAudit>>,
    /// The connect page, with credentials `vault`.
    pub(crate) connect: Option<Arc<dyn ConnectStep>>,
    /// The validator of our own tokens, once [`AuthorizationServer::validator`] made it.
    pub(crate) own_validator: OnceLock<OidcValidator>,
}

/// What [`AuthorizationServer::new`] needs.
pub struct Parts {
    pub config: OAuthConfig,
    pub issuer: String,
    pub store: OAuthStore,
    pub keys: Arc<SigningKeys>,
    pub sign_in: SignInClient,
    pub cookies: CookieKey,
    pub admit: Admission,
    pub scopes: Vec<String>,
    pub groups_claim: String,
    /// From [`trusted_issuers`].
    pub trusted_issuers: Vec<OidcValidator>,
    pub zebrunner: Option<Arc<dyn ZebrunnerTokens>>,
    pub audit: Option<Arc<dyn GrantAudit>>,
    /// The connect step inside `/authorize` (credentials `vault`).
    pub connect: Option<Arc<dyn ConnectStep>>,
}

impl AuthorizationServer {
    /// Record a refusal (best effort: a refusal stands whether or not it was recorded) and
    /// return it as the client's error.
    pub(crate) async fn refused(&self, event: GrantEvent) -> Error {
        let GrantOutcome::Refused(error, description) = event.outcome.clone() else {
            return Error::Keys("a refusal was recorded as an issuance".into());
        };
        tracing::info!(grant = event.grant, client_id = %event.client_id, error, "token request refused");
        if let Some(audit) = &self.audit
            && audit.record(event).await.is_err()
        {
            tracing::warn!("the audit record of a refused token request was lost");
        }
        Error::Invalid { error, description }
    }

    /// Record an issuance; when the record cannot be stored, nothing may be issued.
    pub(crate) async fn issued(&self, event: GrantEvent) -> Result<(), Error> {
        tracing::info!(grant = event.grant, client_id = %event.client_id, user_key = event.user_key.as_deref().unwrap_or("-"), "token issued");
        match &self.audit {
            Some(audit) => audit.record(event).await.map_err(|_| Error::AuditLost),
            None => Ok(()),
        }
    }

    pub fn new(parts: Parts) -> Arc<Self> {
        let issuer = parts.issuer.trim_end_matches('/').to_owned();
        for (setting, message) in parts.config.warnings() {
            tracing::warn!(setting, "{message}");
        }
        let documents = cimd::Fetcher::new(parts.config.cimd_allow_loopback_http);
        Arc::new(Self {
            resource: format!("{issuer}/mcp"),
            issuer,
            config: parts.config,
            store: parts.store,
            keys: parts.keys,
            sign_in: parts.sign_in,
            cookies: parts.cookies,
            admit: parts.admit,
            scopes: parts.scopes,
            groups_claim: parts.groups_claim,
            documents,
            trusted_issuers: parts.trusted_issuers,
            zebrunner: parts.zebrunner,
            audit: parts.audit,
            connect: parts.connect,
            own_validator: OnceLock::new(),
        })
    }

    /// The validator of our own access tokens (identity `broker`), with `settings` for the
    /// leeway, groups claim and service clients; issuer, audience and algorithm are ours.
    /// The token exchange uses the same one for subject tokens of ours.
    pub async fn validator(
        self: &Arc<Self>,
        mut settings: OidcConfig,
    ) -> Result<OidcValidator, SetupError> {
        settings.issuer = self.issuer.clone();
        settings.audience = self.resource.clone();
        settings.algorithms = vec![zebrunner_identity::Algorithm::ES256];
        settings.service_clients = self.service_clients();
        let validator =
            OidcValidator::with_local_keys(settings, self.issuer_metadata(), self.local_keys())
                .await?;
        let _ = self.own_validator.set(validator.clone());
        Ok(validator)
    }

    /// Confidential clients whose own tokens (client credentials) are accepted.
    fn service_clients(&self) -> Vec<String> {
        self.config
            .confidential_clients
            .iter()
            .filter(|c| c.may(ConfidentialGrant::ClientCredentials))
            .map(|c| c.client_id.clone())
            .collect()
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Whether a signing key is loaded, so tokens can be issued (readiness).
    pub fn signing_keys_loaded(&self) -> bool {
        self.keys.loaded() > 0
    }

    /// Our metadata as the token validator needs it (no discovery over HTTP).
    pub fn issuer_metadata(&self) -> IssuerMetadata {
        IssuerMetadata {
            scopes_supported: self.scopes.clone(),
            ..IssuerMetadata::local(&self.issuer)
        }
    }

    /// Our published keys, read from the database (so keys another replica made are found),
    /// for the validator of identity `broker`.
    pub fn local_keys(self: &Arc<Self>) -> LocalKeys {
        let keys = self.keys.clone();
        Arc::new(move || {
            let keys = keys.clone();
            Box::pin(async move {
                keys.refresh(now()).await.map_err(|e| e.to_string())?;
                serde_json::to_vec(&keys.jwks()).map_err(|e| e.to_string())
            })
        })
    }

    /// Whether the grant an access token of ours names is still live (not revoked by
    /// `/revoke`, a reused code or refresh token, or `zebrunner-mcp oauth revoke`). Asked on
    /// every request that carries one of our tokens: one primary-key read.
    pub async fn grant_live(&self, grant_id: &str) -> Result<bool, Error> {
        Ok(self.store.family_live(grant_id).await?)
    }

    /// The RFC 8414 document.
    pub fn metadata_document(&self) -> Value {
        metadata_document(&self.issuer, &self.config, &self.scopes)
    }

    /// Make or load the signing keys; then, once an hour, keep them fresh (a new key when the
    /// newest is old) and tidy the state (retired keys, unused registrations, dead grants).
    pub async fn start(self: &Arc<Self>) -> Result<(), Error> {
        self.keys.refresh(now()).await?;
        let server = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                server.maintain().await;
            }
        });
        Ok(())
    }

    async fn maintain(&self) {
        let now = now();
        if let Err(error) = self.keys.refresh(now).await {
            tracing::error!(%error, "could not refresh the OAuth signing keys");
        }
        let store = &self.store;
        let tidied = [
            store.delete_retired_signing_keys(now).await,
            store.delete_expired_clients(now).await,
            store.delete_dead_families(now).await,
        ];
        for error in tidied.into_iter().filter_map(Result::err) {
            tracing::warn!(%error, "could not tidy the authorization server's state");
        }
    }

    /// The routes: metadata (root well-known paths, as the Docker gateway and most clients
    /// look only there), `/register`, `/authorize`, `/oauth/callback`, `/oauth/consent`,
    /// `/oauth/apps` (and below), `/token`, `/revoke`, `/oauth/jwks.json`. The pages'
    /// stylesheet (`zebrunner_pages::headers::assets`) is the embedding server's to serve,
    /// once for all its pages.
    pub fn router(self: &Arc<Self>) -> Router {
        let pages = Router::new()
            .route("/authorize", get(authorize::authorize))
            .route("/oauth/callback", get(authorize::callback))
            .route("/oauth/consent", post(authorize::consent))
            .route(RESUME_PATH, get(authorize::resume))
            .merge(apps::routes())
            .layer(middleware::from_fn(headers::layer));
        let api = Router::new()
            .route("/.well-known/oauth-authorization-server", get(metadata))
            .route("/.well-known/openid-configuration", get(metadata))
            .route("/oauth/jwks.json", get(jwks))
            .route("/register", post(register::register))
            .route("/token", post(token::token))
            .route("/revoke", post(token::revoke));
        pages
            .merge(api)
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .with_state(self.clone())
    }
}

/// The RFC 8414 document of the authorization server `issuer` with `config`, offering
/// `scopes`. `registration_endpoint` is listed only while dynamic registration is on (RFC 8414
/// §2: optional), so clients do not try a registration that would be refused.
pub fn metadata_document(issuer: &str, config: &OAuthConfig, scopes: &[String]) -> Value {
    let base = issuer;
    let confidential = &config.confidential_clients;
    let mut grants = vec!["authorization_code", "refresh_token"];
    for (grant, name) in [
        (
            ConfidentialGrant::ClientCredentials,
            token::CLIENT_CREDENTIALS,
        ),
        (ConfidentialGrant::TokenExchange, token::TOKEN_EXCHANGE),
        (ConfidentialGrant::JwtBearer, token::JWT_BEARER),
    ] {
        if confidential.iter().any(|c| c.may(grant)) {
            grants.push(name);
        }
    }
    let mut auth_methods = vec!["none"];
    if !confidential.is_empty() {
        auth_methods.extend(["client_secret_basic", "client_secret_post"]);
    }
    let mut document = json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "revocation_endpoint": format!("{base}/revoke"),
        "jwks_uri": format!("{base}/oauth/jwks.json"),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grants,
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": ["none"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "client_id_metadata_document_supported": true,
        "service_documentation": format!("{base}/"),
    });
    if config.dynamic_registration {
        document["registration_endpoint"] = json!(format!("{base}/register"));
    }
    if grants.contains(&token::JWT_BEARER) {
        // MCP enterprise-managed authorization §6 (draft-ietf-oauth-identity-assertion-
        // authz-grant §7.2): how clients find out we take ID-JAGs.
        document["authorization_grant_profiles_supported"] =
            json!(["urn:ietf:params:oauth:grant-profile:id-jag"]);
    }
    document
}

async fn metadata(State(server): State<Arc<AuthorizationServer>>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=3600")],
        Json(server.metadata_document()),
    )
        .into_response()
}

async fn jwks(State(server): State<Arc<AuthorizationServer>>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(server.keys.jwks()),
    )
        .into_response()
}

pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// What the store keeps of a code or token: its SHA-256, hex.
pub(crate) fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
