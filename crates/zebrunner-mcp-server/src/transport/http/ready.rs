//! `GET /readyz`: whether this replica should get traffic, for load balancers and
//! orchestrators (`/healthz` only says the process answers).
//!
//! Ready (200) when every check passes; otherwise 503. The body names every check and, for
//! each failing one, why, in words fit for a shared deployment's probe log: "database
//! unreachable", never the database URL, Zebrunner's address or an error that could hold
//! either (those go to the server's log, at `warn`).
//!
//! - `storage`: the server's database answers `SELECT 1` within [`STORAGE_TIMEOUT`] (when it
//!   has one).
//! - `keys`: the token validator holds a key for its algorithms and, with identity `broker`,
//!   a signing key is loaded (when the server has either; the pages' cookie key is made at
//!   start-up, which fails without it).
//! - `zebrunner`: Zebrunner answers an unauthenticated request (no account's credentials or
//!   rate budget spent) within [`ZEBRUNNER_TIMEOUT`]. The answer is cached for
//!   [`ZEBRUNNER_CACHE`], and concurrent probes share one request, so probes cannot hammer
//!   Zebrunner.
//! - `shutdown`: not draining for a graceful shutdown (see the `drain` module); a draining
//!   replica must leave the load balancer's pool.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Json,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;
use zebrunner_client::ErrorKind;
use zebrunner_identity::OidcValidator;
use zebrunner_storage::Storage;

use crate::credentials::Credentials;

/// How long the database gets to answer.
pub const STORAGE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long Zebrunner gets to answer.
pub const ZEBRUNNER_TIMEOUT: Duration = Duration::from_secs(3);
/// How long Zebrunner's answer (either way) is reused.
pub const ZEBRUNNER_CACHE: Duration = Duration::from_secs(5);

/// What `/readyz` checks.
pub struct Readiness {
    pub storage: Option<Storage>,
    pub credentials: Credentials,
    pub validator: Option<OidcValidator>,
    pub oauth: Option<Arc<zebrunner_oauth::AuthorizationServer>>,
    pub draining: CancellationToken,
    /// Zebrunner's last answer and when it came; the lock makes concurrent probes share one
    /// request.
    zebrunner: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
}

impl Readiness {
    pub fn new(
        storage: Option<Storage>,
        credentials: Credentials,
        validator: Option<OidcValidator>,
        oauth: Option<Arc<zebrunner_oauth::AuthorizationServer>>,
        draining: CancellationToken,
    ) -> Self {
        Self {
            storage,
            credentials,
            validator,
            oauth,
            draining,
            zebrunner: tokio::sync::Mutex::new(None),
        }
    }

    /// Every check, by name: `Ok` or the reason it fails. Checks that do not apply to this
    /// server are left out.
    pub async fn checks(&self) -> Vec<(&'static str, Result<(), String>)> {
        let (storage, zebrunner) = tokio::join!(self.storage(), self.zebrunner());
        let mut checks = Vec::with_capacity(4);
        if let Some(storage) = storage {
            checks.push(("storage", storage));
        }
        if let Some(keys) = self.keys() {
            checks.push(("keys", keys));
        }
        checks.push(("zebrunner", zebrunner));
        checks.push((
            "shutdown",
            if self.draining.is_cancelled() {
                Err("shutting down: draining requests in flight".into())
            } else {
                Ok(())
            },
        ));
        checks
    }

    async fn storage(&self) -> Option<Result<(), String>> {
        let storage = self.storage.as_ref()?;
        Some(
            match tokio::time::timeout(STORAGE_TIMEOUT, storage.ping()).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(error)) => {
                    tracing::warn!(%error, "readiness: the database does not answer");
                    Err("database unreachable".into())
                }
                Err(_) => {
                    tracing::warn!(
                        timeout_secs = STORAGE_TIMEOUT.as_secs(),
                        "readiness: the database did not answer in time"
                    );
                    Err(format!(
                        "database did not answer within {} s",
                        STORAGE_TIMEOUT.as_secs()
                    ))
                }
            },
        )
    }

    fn keys(&self) -> Option<Result<(), String>> {
        if self.validator.is_none() && self.oauth.is_none() {
            return None;
        }
        if let Some(validator) = &self.validator
            && !validator.has_keys()
        {
            return Some(Err("no key to validate access tokens with".into()));
        }
        if let Some(oauth) = &self.oauth
            && !oauth.signing_keys_loaded()
        {
            return Some(Err("no signing key loaded".into()));
        }
        Some(Ok(()))
    }

    async fn zebrunner(&self) -> Result<(), String> {
        let mut last = self.zebrunner.lock().await;
        if let Some((at, answer)) = last.as_ref()
            && at.elapsed() < ZEBRUNNER_CACHE
        {
            return answer.clone();
        }
        let answer =
            match tokio::time::timeout(ZEBRUNNER_TIMEOUT, self.credentials.check_reachable()).await
            {
                Ok(Ok(())) => Ok(()),
                Ok(Err(error)) => {
                    tracing::warn!(%error, "readiness: Zebrunner does not answer as expected");
                    Err(zebrunner_reason(&error))
                }
                Err(_) => {
                    tracing::warn!(
                        timeout_secs = ZEBRUNNER_TIMEOUT.as_secs(),
                        "readiness: Zebrunner did not answer in time"
                    );
                    Err(format!(
                        "Zebrunner did not answer within {} s",
                        ZEBRUNNER_TIMEOUT.as_secs()
                    ))
                }
            };
        *last = Some((Instant::now(), answer.clone()));
        answer
    }
}

/// Why Zebrunner is not usable, without its address or anything its answer said.
fn zebrunner_reason(error: &zebrunner_client::Error) -> String {
    match (error.kind(), error.status()) {
        (ErrorKind::Network, _) => "Zebrunner unreachable".into(),
        (ErrorKind::NotFound, _) => "no Zebrunner API at the configured address".into(),
        (ErrorKind::Config, _) => "the Zebrunner address is not usable".into(),
        (_, Some(status)) => format!("Zebrunner answered HTTP {status}"),
        (_, None) => "Zebrunner answered unexpectedly".into(),
    }
}

/// The `/readyz` handler.
pub(super) async fn readyz(State(readiness): State<Arc<Readiness>>) -> Response {
    let checks = readiness.checks().await;
    let ready = checks.iter().all(|(_, check)| check.is_ok());
    let body: Map<String, Value> = checks
        .into_iter()
        .map(|(name, check)| {
            let value = match check {
                Ok(()) => json!({ "ok": true }),
                Err(reason) => json!({ "ok": false, "reason": reason }),
            };
            (name.to_owned(), value)
        })
        .collect();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut response = (
        status,
        Json(json!({
            "status": if ready { "ready" } else { "not_ready" },
            "checks": body,
        })),
    )
        .into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}
