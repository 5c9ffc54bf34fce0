//! Bearer tokens for the internal APIs.
//!
//! `POST /api/iam/v1/auth/refresh` with `{"refreshToken": <API token>}`
//! returns a short-lived JWT (`authToken`) and its lifetime
//! (`authTokenExpirationInSecs`). [`BearerCache`] keeps it until shortly
//! before expiry. The cache lock is held during a refresh, so concurrent
//! callers share one refresh instead of stampeding IAM. A 401 from an
//! internal API invalidates the bearer by *generation*: only the first
//! caller that saw the stale bearer drops it; the rest pick up the new one.
//!
//! [`iam_exchange`] is the request itself; the SSO redemption
//! ([`crate::sso`]) sends it too, without retries. [`decode_exchange`] reads
//! its answer, which the Okta token exchange ([`crate::token_exchange`])
//! shares.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use reqwest::Method;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::error::Error;
use crate::lenient;
use crate::transport::{Answer, Api, Call, Transport};

/// Assumed lifetime when IAM does not say (the reference client's default).
const DEFAULT_TTL_SECS: u64 = 3600;
/// Refresh this long before expiry at most ...
const MAX_MARGIN: Duration = Duration::from_secs(60);
/// ... or this fraction of the lifetime for short-lived tokens.
const MARGIN_FRACTION: u32 = 10;

/// Who the token belongs to, as reported by IAM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthIdentity {
    /// Zebrunner user id.
    pub user_id: i64,
    /// Username from the JWT `unm` claim (falls back to the configured login).
    pub username: String,
    /// Lifetime of the issued bearer.
    pub expires_in_secs: u64,
}

/// The part of the IAM response we use. Not `Debug`: it holds the bearer.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RefreshResponse {
    auth_token: String,
    #[serde(deserialize_with = "lenient::opt_i64")]
    auth_token_expiration_in_secs: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    user_id: Option<i64>,
    /// Kept as a value: a shape we do not expect must not fail a plain refresh.
    refresh_token: Value,
}

struct Cached {
    token: SecretString,
    refresh_at: Instant,
    generation: u64,
}

/// Single-flight bearer cache.
#[derive(Default)]
pub(crate) struct BearerCache {
    state: Mutex<Option<Cached>>,
    generations: AtomicU64,
}

impl BearerCache {
    /// A valid bearer and its generation, refreshing if needed.
    pub(crate) async fn get(&self, t: &Transport) -> Result<(SecretString, u64), Error> {
        let mut state = self.state.lock().await;
        if let Some(c) = state.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok((c.token.clone(), c.generation));
        }
        let (cached, _) = self.refresh_locked(t).await?;
        let out = (cached.token.clone(), cached.generation);
        *state = Some(cached);
        Ok(out)
    }

    /// Drops the bearer if it is still the one of `generation`.
    pub(crate) async fn invalidate(&self, generation: u64) {
        let mut state = self.state.lock().await;
        if state.as_ref().is_some_and(|c| c.generation == generation) {
            *state = None;
        }
    }

    /// Forces a refresh (used to check credentials) and caches the result.
    pub(crate) async fn refresh(&self, t: &Transport) -> Result<AuthIdentity, Error> {
        let mut state = self.state.lock().await;
        let (cached, identity) = self.refresh_locked(t).await?;
        *state = Some(cached);
        Ok(identity)
    }

    /// Calls IAM; the caller holds the state lock.
    async fn refresh_locked(&self, t: &Transport) -> Result<(Cached, AuthIdentity), Error> {
        // Exchanging the same token again is harmless, so retrying is safe.
        let exchange = iam_exchange(t, true).await?;
        let ttl_secs = exchange.ttl_secs;
        let ttl = Duration::from_secs(ttl_secs);
        let margin = MAX_MARGIN.min(ttl / MARGIN_FRACTION);
        let identity = AuthIdentity {
            user_id: exchange.user_id.unwrap_or_default(),
            username: exchange.username.unwrap_or_else(|| t.login().to_owned()),
            expires_in_secs: ttl_secs,
        };
        let generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
        let cached = Cached {
            token: exchange.auth_token,
            refresh_at: Instant::now() + ttl - margin,
            generation,
        };
        tracing::debug!(
            user_id = identity.user_id,
            expires_in_secs = ttl_secs,
            "refreshed Zebrunner bearer"
        );
        Ok((cached, identity))
    }
}

/// The path of the IAM refresh, as errors name it.
pub(crate) const REFRESH_PATH: &str = "/api/iam/v1/auth/refresh";

/// One decoded IAM refresh answer. Not `Debug`: it holds tokens.
pub(crate) struct Exchange {
    /// The bearer (`authToken`), never blank.
    pub(crate) auth_token: SecretString,
    /// `refreshToken` of the answer, if present and not blank: the token sent
    /// back for a personal token, a new long-lived one for an SSO temp token.
    pub(crate) refresh_token: Option<SecretString>,
    /// Lifetime of the bearer (the default when IAM does not say).
    pub(crate) ttl_secs: u64,
    /// `userId`, else the JWT's `sub`.
    pub(crate) user_id: Option<i64>,
    /// The JWT's `unm` claim, if present and not blank.
    pub(crate) username: Option<String>,
}

/// `POST /api/iam/v1/auth/refresh` with `{"refreshToken": <t's token>}`, through `t`'s
/// pool, rate limit and request counting. `retry` allows retries on 429/5xx and connection
/// errors: safe for a personal token, never for an SSO temp token (it is single use). Any
/// 400/403/404 means the token was rejected and becomes [`Error::Unauthorized`].
pub(crate) async fn iam_exchange(t: &Transport, retry: bool) -> Result<Exchange, Error> {
    let call = Call::new(
        Method::POST,
        Api::Iam,
        ["api", "iam", "v1", "auth", "refresh"],
    )
    .json(json!({ "refreshToken": t.token().expose_secret() }))
    .idempotent(retry)
    .what("the IAM token refresh");
    let body = t.send(&call, None).await.map_err(|e| match e {
        // IAM answers a bad refresh token with various 4xx; all mean "token rejected".
        Error::BadRequest { method, path, .. }
        | Error::Forbidden { method, path, .. }
        | Error::NotFound { method, path, .. } => Error::Unauthorized {
            login: t.login().to_owned(),
            method,
            path,
        },
        other => other,
    })?;
    decode_exchange(body, REFRESH_PATH)
}

/// Reads an IAM answer (`POST` at `path`: the refresh or the token exchange,
/// which answer the same shape).
pub(crate) fn decode_exchange(answer: Answer, path: &str) -> Result<Exchange, Error> {
    let resp: RefreshResponse = answer
        .into_value()
        .and_then(serde_json::from_value)
        .map_err(|e| Error::Decode {
            message: e.to_string(),
            method: "POST".into(),
            path: path.into(),
        })?;
    if resp.auth_token.is_empty() {
        return Err(Error::Decode {
            message: "the IAM response has no authToken".into(),
            method: "POST".into(),
            path: path.into(),
        });
    }
    let ttl_secs = resp
        .auth_token_expiration_in_secs
        .and_then(|s| u64::try_from(s).ok())
        .filter(|s| *s > 0)
        .unwrap_or(DEFAULT_TTL_SECS);
    let claims = jwt_claims(&resp.auth_token);
    Ok(Exchange {
        user_id: resp.user_id.or_else(|| claim_i64(claims.as_ref(), "sub")),
        username: claims
            .as_ref()
            .and_then(|c| c.get("unm"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned),
        refresh_token: resp
            .refresh_token
            .as_str()
            .filter(|r| !r.trim().is_empty())
            .map(SecretString::from),
        auth_token: SecretString::from(resp.auth_token),
        ttl_secs,
    })
}

/// Decodes the (unverified) payload of a JWT; `None` if it is not one.
/// We only read display claims here — Zebrunner verifies the signature.
fn jwt_claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn claim_i64(claims: Option<&Value>, name: &str) -> Option<i64> {
    match claims?.get(name)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_jwt_claims() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"unm":"alice@sandbox.test","sub":"1"}"#);
        let token = format!("eyJhbGciOiJFZERTQSJ9.{payload}.sig");
        let claims = jwt_claims(&token);
        assert_eq!(
            claims
                .as_ref()
                .and_then(|c| c.get("unm"))
                .and_then(Value::as_str),
            Some("alice@sandbox.test")
        );
        assert_eq!(claim_i64(claims.as_ref(), "sub"), Some(1));
        assert!(jwt_claims("opaque-token").is_none());
    }
}
