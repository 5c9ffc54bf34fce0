//! Authentication, the way Zebrunner does it.
//!
//! * Public API (`/api/public/v1`): HTTP Basic `login:token`
//!   ([`PublicUser`] extractor).
//! * Internal APIs (`/api/projects`, `/api/reporting`, `/api/tcm`,
//!   `/api/test-execution-logs`): `Authorization: Bearer <jwt>` where the JWT
//!   comes from `POST /api/iam/v1/auth/refresh` ([`BearerUser`] extractor).
//!
//! Issued bearers are remembered with their expiry so the control API can
//! shorten lifetimes or revoke them all. The JWT is only JWT-shaped: its
//! signature is random bytes, but its payload carries the real claim names
//! (`unm`, `sub`, `tnt`, `exp`, `pass`...), which clients decode.

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::Sandbox;
use crate::errors::ApiError;

/// Default `authTokenExpirationInSecs` (one hour, as observed on real tenants).
pub const DEFAULT_TOKEN_TTL_SECS: u64 = 3600;
pub const TENANT: &str = "sandbox";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: i64,
    pub login: String,
    pub projects: Vec<String>,
}

impl Caller {
    pub fn may_access(&self, project_key: &str) -> bool {
        self.projects.iter().any(|p| p == project_key)
    }
}

#[derive(Debug)]
struct Bearer {
    login: String,
    expires_at: i64,
}

/// Issued bearers and the TTL for new ones.
#[derive(Debug)]
pub struct AuthState {
    pub token_ttl_secs: u64,
    bearers: HashMap<String, Bearer>,
    rng: StdRng,
}

impl AuthState {
    pub fn new(seed: u64) -> Self {
        AuthState {
            token_ttl_secs: DEFAULT_TOKEN_TTL_SECS,
            bearers: HashMap::new(),
            rng: StdRng::seed_from_u64(seed ^ 0xA17E_5EED),
        }
    }

    pub fn revoke_all(&mut self) {
        self.bearers.clear();
    }

    /// Issues a JWT-shaped bearer for `caller`; returns (token, expires_at unix secs).
    pub fn issue(&mut self, caller: &Caller, project_ids: &[(i64, &str)]) -> (String, i64) {
        let now = unix_now();
        // Forget expired bearers so the map cannot grow without bound.
        self.bearers.retain(|_, b| b.expires_at > now);
        let exp = now + self.token_ttl_secs as i64;
        let sid: u64 = self.rng.random();
        let header = json!({"alg": "EdDSA", "kid": "sandbox-1", "typ": "JWT"});
        let payload = json!({
            "tnt": TENANT,
            "unm": caller.login,
            "sub": caller.user_id.to_string(),
            "ptp": "USER",
            "pms": ["reporting:test-runs:read", "tcm:test-cases:read", "tcm:test-cases:update"],
            "pass": project_ids.iter().map(|(id, role)| json!({"pid": id, "r": role})).collect::<Vec<_>>(),
            "exp": exp,
            "sid": format!("{sid:016x}"),
        });
        let sig: [u8; 64] = {
            let mut b = [0u8; 64];
            self.rng.fill(&mut b[..]);
            b
        };
        let token = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload.to_string()),
            URL_SAFE_NO_PAD.encode(sig)
        );
        self.bearers.insert(
            token.clone(),
            Bearer {
                login: caller.login.clone(),
                expires_at: exp,
            },
        );
        (token, exp)
    }

    /// The login of a live bearer.
    fn login_for(&self, token: &str) -> Option<&str> {
        let b = self.bearers.get(token)?;
        (b.expires_at > unix_now()).then_some(b.login.as_str())
    }
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `(login, token)` from a Basic header, if well-formed.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(rest.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (login, token) = text.split_once(':')?;
    Some((login.to_string(), token.to_string()))
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

impl Sandbox {
    /// Resolves a personal token to its account.
    pub(crate) fn caller_by_token(&self, token: &str) -> Option<Caller> {
        let st = self.store();
        let (acc, person) = st.account_by_token(token)?;
        Some(Caller {
            user_id: person.id,
            login: person.username.clone(),
            projects: acc.projects.clone(),
        })
    }

    fn caller_by_login(&self, login: &str) -> Option<Caller> {
        let st = self.store();
        let (acc, person) = st.account_by_login(login)?;
        Some(Caller {
            user_id: person.id,
            login: person.username.clone(),
            projects: acc.projects.clone(),
        })
    }

    pub(crate) fn basic_caller(&self, headers: &HeaderMap) -> Option<Caller> {
        let (login, token) = basic_credentials(headers)?;
        self.caller_by_token(&token).filter(|c| c.login == login)
    }

    pub(crate) fn bearer_caller(&self, headers: &HeaderMap) -> Option<Caller> {
        let token = bearer_token(headers)?;
        let login = self.auth().login_for(token)?.to_string();
        self.caller_by_login(&login)
    }

    /// Who made a request, for the request log (either scheme).
    pub(crate) fn identify(&self, headers: &HeaderMap) -> Option<String> {
        self.basic_caller(headers)
            .or_else(|| self.bearer_caller(headers))
            .map(|c| c.login)
    }
}

/// Extractor: a valid Basic `login:token` (Public API).
pub struct PublicUser(pub Caller);

impl FromRequestParts<Sandbox> for PublicUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, sb: &Sandbox) -> Result<Self, ApiError> {
        sb.basic_caller(&parts.headers)
            .map(PublicUser)
            .ok_or_else(ApiError::unauthorized)
    }
}

/// Extractor: a live bearer issued by the IAM refresh endpoint.
pub struct BearerUser(pub Caller);

impl FromRequestParts<Sandbox> for BearerUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, sb: &Sandbox) -> Result<Self, ApiError> {
        sb.bearer_caller(&parts.headers)
            .map(BearerUser)
            .ok_or_else(ApiError::unauthorized)
    }
}
