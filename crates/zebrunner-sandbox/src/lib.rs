//! A faithful fake of Zebrunner's HTTP API, for demos and tests.
//!
//! The sandbox serves the TCM Public API (`/api/public/v1`, Basic auth) and the
//! internal IAM / projects / reporting / TCM / logs APIs (Bearer auth) on one
//! host, with seeded, deterministic data, Zebrunner's paging styles and error
//! bodies, plus a `/__sandbox/` control API for tests (request log, fault
//! injection, reset, bearer expiry, SSO sign-in, token revocation).
//!
//! Off unless configured through [`Sandbox::builder`]: the proposed Okta
//! token exchange (`POST /api/iam/v1/auth/token-exchange`, see
//! [`token_exchange`]).
//!
//! # Layout
//!
//! * [`Sandbox`] (this file): shared state (`Arc` inside), router assembly,
//!   `serve`/`spawn`, and [`RunningSandbox`] for tests.
//! * [`seed`]: deterministic data generation from [`SandboxConfig`]; builds a
//!   [`store::Store`] out of [`model`] entities.
//! * [`store`]: the in-memory state and its lookups; mutated by write routes.
//! * [`views`]: JSON shapes of entities, as Zebrunner serialises them.
//! * [`auth`]: Basic and Bearer extractors, JWT-shaped bearer issuance, SSO
//!   temp and long-lived tokens, per-user revocation.
//! * [`token_exchange`]: [`TokenExchangeConfig`] and the ID-token validation
//!   of the token exchange (with `zebrunner-identity`).
//! * [`paging`]: query-parameter parsing, token paging and page paging.
//! * [`rql`]: the filter language parser, printer and evaluator.
//! * [`errors`]: the `{message, error, timestamp}` error type every route uses.
//! * [`test_logs`]: a launch test's log lines, screenshots and session log,
//!   generated on demand; [`screenshots`] draws the PNGs.
//! * [`widgets`]: the widget SQL templates (R17), computed from launches.
//! * [`control`]: `/__sandbox/` endpoints and the fault/log middleware.
//! * `routes::public::{suites, cases, runs, settings}`,
//!   `routes::internal::{iam, projects, launches, launch_actions, milestones,
//!   tcm, test_logs, files}` and
//!   `routes::web` (the `/sso` landing page): handlers, one module per
//!   resource family.
//!
//! A request flows: [`control::observe`] (faults, log) → auth extractor →
//! [`paging::Params`] → handler (read or write lock on the store) → [`views`].

pub mod auth;
pub mod control;
pub mod errors;
pub mod model;
pub mod paging;
mod routes;
pub mod rql;
pub mod screenshots;
pub mod seed;
pub mod store;
pub mod test_logs;
pub mod token_exchange;
pub mod views;
pub mod widgets;

use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::auth::AuthState;
use crate::control::ControlState;
use crate::store::Store;
use crate::token_exchange::TokenExchange;
pub use crate::token_exchange::TokenExchangeConfig;

/// How much data to seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scale {
    /// DEMO 250 cases, MOBILE 60, API 40.
    #[default]
    Small,
    /// DEMO 5,000 cases (the others as in `Small`).
    Large,
}

impl FromStr for Scale {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "small" => Ok(Scale::Small),
            "large" => Ok(Scale::Large),
            other => Err(format!(
                "unknown scale '{other}' (expected 'small' or 'large')"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxConfig {
    pub scale: Scale,
    pub seed: u64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            scale: Scale::Small,
            seed: 42,
        }
    }
}

/// A login that can use the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxUser {
    pub login: String,
    pub token: String,
    pub user_id: i64,
    pub display_name: String,
    /// Keys of the projects this user may access.
    pub projects: Vec<String>,
}

struct Inner {
    config: SandboxConfig,
    store: RwLock<Store>,
    auth: Mutex<AuthState>,
    control: Mutex<ControlState>,
    /// The token exchange, when configured (never changed by a reset).
    token_exchange: Option<TokenExchange>,
}

/// The shared sandbox state; cheap to clone.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// A sandbox with the default options (the token exchange off).
    pub fn new(config: SandboxConfig) -> Sandbox {
        Sandbox::with_parts(config, None)
    }

    /// A sandbox with options that are off by default (the token exchange).
    pub fn builder(config: SandboxConfig) -> SandboxBuilder {
        SandboxBuilder {
            config,
            token_exchange: None,
        }
    }

    fn with_parts(config: SandboxConfig, token_exchange: Option<TokenExchange>) -> Sandbox {
        Sandbox {
            inner: Arc::new(Inner {
                config,
                store: RwLock::new(seed::generate(config.scale, config.seed)),
                auth: Mutex::new(AuthState::new(config.seed)),
                control: Mutex::new(ControlState::new(config.seed)),
                token_exchange,
            }),
        }
    }

    pub fn config(&self) -> SandboxConfig {
        self.inner.config
    }

    /// The token exchange's configuration, if it is on.
    pub fn token_exchange_config(&self) -> Option<&TokenExchangeConfig> {
        self.inner
            .token_exchange
            .as_ref()
            .map(TokenExchange::config)
    }

    pub(crate) fn token_exchange(&self) -> Option<&TokenExchange> {
        self.inner.token_exchange.as_ref()
    }

    pub fn users(&self) -> Vec<SandboxUser> {
        let st = self.store();
        st.accounts
            .iter()
            .filter_map(|a| {
                let p = st.person(a.person_id)?;
                Some(SandboxUser {
                    login: p.username.clone(),
                    token: a.token.clone(),
                    user_id: p.id,
                    display_name: p.display_name.clone(),
                    projects: a.projects.clone(),
                })
            })
            .collect()
    }

    /// Restores the seed data and clears the request log, faults, bearers,
    /// SSO tokens and revocations.
    pub fn reset(&self) {
        let fresh = seed::generate(self.inner.config.scale, self.inner.config.seed);
        *self.store_mut() = fresh;
        *self.auth() = AuthState::new(self.inner.config.seed);
        *self.control() = ControlState::new(self.inner.config.seed);
    }

    // Poisoned locks are recovered: a panicking handler must not take the
    // whole sandbox down with it.
    pub(crate) fn store(&self) -> RwLockReadGuard<'_, Store> {
        self.inner.store.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn store_mut(&self) -> RwLockWriteGuard<'_, Store> {
        self.inner.store.write().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn auth(&self) -> MutexGuard<'_, AuthState> {
        self.inner.auth.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn control(&self) -> MutexGuard<'_, ControlState> {
        self.inner.control.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Zebrunner paths plus the `/__sandbox/` control API. The token
    /// exchange's path exists only when it is on; otherwise it is an unknown
    /// path like any other (404).
    pub fn router(&self) -> Router {
        let mut zebrunner = Router::new()
            .merge(routes::public::router())
            .merge(routes::internal::router())
            .merge(routes::web::router());
        if self.inner.token_exchange.is_some() {
            zebrunner = zebrunner.merge(routes::internal::token_exchange_router());
        }
        zebrunner
            .fallback(routes::not_found)
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                control::observe,
            ))
            .merge(control::router())
            .with_state(self.clone())
    }

    /// Serves on `listener` until the task is cancelled.
    pub async fn serve(self, listener: TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }

    /// Binds `addr` (e.g. `127.0.0.1:0`) and serves in a background task.
    pub async fn spawn(config: SandboxConfig, addr: &str) -> std::io::Result<RunningSandbox> {
        Sandbox::new(config).spawn_on(addr).await
    }

    async fn spawn_on(self, addr: &str) -> std::io::Result<RunningSandbox> {
        let listener = TcpListener::bind(addr).await?;
        let mut local = listener.local_addr()?;
        if local.ip().is_unspecified() {
            local.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let sandbox = self;
        let server = sandbox.clone();
        let handle = tokio::spawn(async move {
            if let Err(e) = server.serve(listener).await {
                tracing::error!("sandbox server stopped: {e}");
            }
        });
        Ok(RunningSandbox {
            url: format!("http://{local}"),
            sandbox,
            handle,
        })
    }
}

/// Builds a [`Sandbox`] with options that are off by default.
#[derive(Debug, Clone)]
pub struct SandboxBuilder {
    config: SandboxConfig,
    token_exchange: Option<TokenExchangeConfig>,
}

impl SandboxBuilder {
    /// Serves the proposed token exchange (`POST /api/iam/v1/auth/token-exchange`),
    /// trusting ID tokens of `config.issuer` for `config.audience`.
    pub fn token_exchange(mut self, config: TokenExchangeConfig) -> Self {
        self.token_exchange = Some(config);
        self
    }

    /// The sandbox; with the token exchange on, after reading the issuer's
    /// metadata and keys (so a wrong issuer stops it at once).
    pub async fn build(self) -> Result<Sandbox, StartError> {
        let token_exchange = match self.token_exchange {
            Some(config) => Some(
                TokenExchange::discover(config)
                    .await
                    .map_err(StartError::TokenExchange)?,
            ),
            None => None,
        };
        if let Some(exchange) = &token_exchange {
            let config = exchange.config();
            tracing::info!(
                issuer = %config.issuer,
                audience = %config.audience,
                "sandbox token exchange on"
            );
        }
        Ok(Sandbox::with_parts(self.config, token_exchange))
    }

    /// [`SandboxBuilder::build`], then binds `addr` and serves in a background task.
    pub async fn spawn(self, addr: &str) -> Result<RunningSandbox, StartError> {
        self.build()
            .await?
            .spawn_on(addr)
            .await
            .map_err(StartError::Io)
    }
}

/// Why a configured sandbox could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The address could not be bound.
    Io(std::io::Error),
    /// The token exchange's issuer: configuration, metadata or keys.
    TokenExchange(zebrunner_identity::SetupError),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Io(e) => write!(f, "{e}"),
            StartError::TokenExchange(e) => write!(f, "token exchange: {e}"),
        }
    }
}

/// The text of the cause is in the message, so `source` is `None` (a chain
/// printed with `{:#}` would repeat it); match on the variant for the cause.
impl std::error::Error for StartError {}

/// A sandbox serving in a background task; aborted on drop.
#[derive(Debug)]
pub struct RunningSandbox {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub sandbox: Sandbox,
    handle: JoinHandle<()>,
}

impl RunningSandbox {
    /// `sandbox listening on <url>` then `user <login> token <token> projects <KEYS>` per user,
    /// and last, when it is on, `token exchange issuer <issuer> audience <client id>`.
    pub fn banner(&self) -> String {
        let mut out = format!("sandbox listening on {}", self.url);
        for u in self.sandbox.users() {
            out.push_str(&format!(
                "\nuser {} token {} projects {}",
                u.login,
                u.token,
                u.projects.join(",")
            ));
        }
        if let Some(config) = self.sandbox.token_exchange_config() {
            out.push_str(&format!(
                "\ntoken exchange issuer {} audience {}",
                config.issuer, config.audience
            ));
        }
        out
    }

    /// The Public API base for clients (`<url>/api/public/v1`).
    pub fn public_api_url(&self) -> String {
        format!("{}/api/public/v1", self.url)
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        self.handle.abort();
    }
}
