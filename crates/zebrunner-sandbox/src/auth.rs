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
//!
//! SSO sign-in, as Zebrunner does it after SAML: `POST /__sandbox/sso` stands
//! in for the identity provider and mints a single-use *temp* token (the one
//! in `/sso?refresh-token=...`); the IAM refresh consumes it and answers with
//! a new long-lived refresh token, which then works exactly like a personal
//! token (Basic password, IAM refresh). [`AuthState`] keeps the pending temp
//! tokens, the long-lived SSO tokens and the logins whose personal token was
//! revoked through the control API.
//!
//! The token exchange (`POST /api/iam/v1/auth/token-exchange`, off unless
//! configured; see [`crate::token_exchange`]) ends the same way: a verified
//! Okta ID token gets a new long-lived token from
//! [`AuthState::mint_sso_long_lived`].
//!
//! Lock order: `AuthState` (a `Mutex`) and the store (an `RwLock`) are never
//! held together; every function here takes one, copies what it needs out
//! and releases it before taking the other.

use std::collections::{HashMap, HashSet};

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
/// Lifetime of an SSO temp token (`/sso?refresh-token=...`), in seconds.
pub const SSO_TEMP_TOKEN_TTL_SECS: u64 = 300;
/// At most this many temp tokens wait to be exchanged; the oldest is dropped.
pub const SSO_PENDING_CAP: usize = 1000;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: i64,
    pub login: String,
    pub projects: Vec<String>,
    /// IAM permissions, as the IAM refresh lists them.
    pub permissions: Vec<String>,
}

impl Caller {
    pub fn may_access(&self, project_key: &str) -> bool {
        self.projects.iter().any(|p| p == project_key)
    }

    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }
}

#[derive(Debug)]
struct Bearer {
    login: String,
    expires_at: i64,
}

/// An SSO temp token waiting for its one IAM exchange.
#[derive(Debug)]
struct PendingSso {
    login: String,
    expires_at: i64,
}

/// Issued bearers, the TTL for new ones, and SSO and revocation state.
#[derive(Debug)]
pub struct AuthState {
    pub token_ttl_secs: u64,
    bearers: HashMap<String, Bearer>,
    /// SSO temp token -> who signed in (single use, short-lived).
    sso_pending: HashMap<String, PendingSso>,
    /// Long-lived refresh token from an SSO exchange -> login.
    sso_tokens: HashMap<String, String>,
    /// Logins whose personal token was revoked (`POST /__sandbox/users/revoke`).
    revoked_personal: HashSet<String>,
    rng: StdRng,
}

impl AuthState {
    pub fn new(seed: u64) -> Self {
        AuthState {
            token_ttl_secs: DEFAULT_TOKEN_TTL_SECS,
            bearers: HashMap::new(),
            sso_pending: HashMap::new(),
            sso_tokens: HashMap::new(),
            revoked_personal: HashSet::new(),
            rng: StdRng::seed_from_u64(seed ^ 0xA17E_5EED),
        }
    }

    pub fn revoke_all(&mut self) {
        self.bearers.clear();
    }

    /// Mints a single-use SSO temp token for `login`, valid `ttl_secs`.
    ///
    /// SSO tokens come from the OS RNG, not the seeded one: a reset re-seeds
    /// that, and a token minted after a reset must never equal one a client
    /// still holds from before it.
    pub fn mint_sso_temp(&mut self, login: &str, ttl_secs: u64) -> String {
        let now = unix_now();
        self.sso_pending.retain(|_, p| p.expires_at > now);
        // One in, at most one out: the map never exceeds the cap.
        if self.sso_pending.len() >= SSO_PENDING_CAP
            && let Some(oldest) = self
                .sso_pending
                .iter()
                .min_by_key(|(_, p)| p.expires_at)
                .map(|(t, _)| t.clone())
        {
            self.sso_pending.remove(&oldest);
        }
        let token = format!("sso_{}", random_hex(16));
        let ttl = i64::try_from(ttl_secs).unwrap_or(i64::MAX);
        self.sso_pending.insert(
            token.clone(),
            PendingSso {
                login: login.to_string(),
                expires_at: now.saturating_add(ttl),
            },
        );
        token
    }

    /// Consumes a temp token: on success, a new long-lived refresh token for
    /// its login, as `(login, token)`. Unknown, used and expired → `None`.
    pub fn exchange_sso_temp(&mut self, temp: &str) -> Option<(String, String)> {
        let pending = self.sso_pending.remove(temp)?;
        if pending.expires_at <= unix_now() {
            return None;
        }
        let token = self.mint_sso_long_lived(&pending.login);
        Some((pending.login, token))
    }

    /// A new long-lived refresh token for `login`, as an SSO sign-in ends
    /// with (the temp-token exchange and the token exchange): it then works
    /// like the personal token (Basic password, IAM refresh) until the user
    /// is revoked or the sandbox reset. From the OS RNG, like the temp tokens.
    pub fn mint_sso_long_lived(&mut self, login: &str) -> String {
        let token = format!("zbr_sso_{}", random_hex(20));
        self.sso_tokens.insert(token.clone(), login.to_string());
        token
    }

    /// The login of a long-lived SSO refresh token.
    fn sso_login(&self, token: &str) -> Option<String> {
        self.sso_tokens.get(token).cloned()
    }

    fn personal_revoked(&self, login: &str) -> bool {
        self.revoked_personal.contains(login)
    }

    /// Makes every token `login` holds now answer 401: the personal token
    /// (until reset), SSO refresh tokens, pending temp tokens and bearers.
    /// A later SSO sign-in mints tokens that work, as a fresh sign-in would.
    pub fn revoke_user(&mut self, login: &str) {
        self.revoked_personal.insert(login.to_string());
        self.sso_tokens.retain(|_, l| l != login);
        self.sso_pending.retain(|_, p| p.login != login);
        self.bearers.retain(|_, b| b.login != login);
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

/// `bytes` random bytes from the OS-seeded thread RNG, as lower-case hex.
fn random_hex(bytes: usize) -> String {
    let mut rng = rand::rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
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
    /// Resolves a personal token, or a long-lived SSO refresh token, to its
    /// account. SSO temp tokens are not credentials: only the IAM refresh
    /// takes them (see [`AuthState::exchange_sso_temp`]).
    pub(crate) fn caller_by_token(&self, token: &str) -> Option<Caller> {
        // One lock at a time (see the module docs): the store, then auth.
        let personal = {
            let st = self.store();
            st.account_by_token(token).map(|(acc, person)| Caller {
                user_id: person.id,
                login: person.username.clone(),
                projects: acc.projects.clone(),
                permissions: acc.permissions.clone(),
            })
        };
        if let Some(caller) = personal {
            let revoked = self.auth().personal_revoked(&caller.login);
            return (!revoked).then_some(caller);
        }
        let login = self.auth().sso_login(token)?;
        self.caller_by_login(&login)
    }

    pub(crate) fn caller_by_login(&self, login: &str) -> Option<Caller> {
        let st = self.store();
        let (acc, person) = st.account_by_login(login)?;
        Some(Caller {
            user_id: person.id,
            login: person.username.clone(),
            projects: acc.projects.clone(),
            permissions: acc.permissions.clone(),
        })
    }

    /// The account whose person has e-mail or username `name` (any ASCII case).
    pub(crate) fn caller_by_email_or_username(&self, name: &str) -> Option<Caller> {
        let st = self.store();
        let (acc, person) = st.account_by_email_or_username(name)?;
        Some(Caller {
            user_id: person.id,
            login: person.username.clone(),
            projects: acc.projects.clone(),
            permissions: acc.permissions.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_temp_tokens_are_bounded_and_expired_ones_dropped() {
        let mut auth = AuthState::new(42);
        let expired = auth.mint_sso_temp("alice@sandbox.test", 0);
        let first = auth.mint_sso_temp("alice@sandbox.test", 10);
        assert!(
            !auth.sso_pending.contains_key(&expired),
            "expired on insert"
        );
        for _ in 0..SSO_PENDING_CAP + 5 {
            auth.mint_sso_temp("bob@sandbox.test", 300);
        }
        assert_eq!(auth.sso_pending.len(), SSO_PENDING_CAP);
        // The one closest to expiry made room first.
        assert!(!auth.sso_pending.contains_key(&first));
        assert!(auth.exchange_sso_temp(&first).is_none());
    }

    #[test]
    fn exchange_is_single_use_and_revocation_forgets_tokens() {
        let mut auth = AuthState::new(42);
        let temp = auth.mint_sso_temp("alice@sandbox.test", 300);
        let (login, long) = auth.exchange_sso_temp(&temp).unwrap();
        assert_eq!(login, "alice@sandbox.test");
        assert!(auth.exchange_sso_temp(&temp).is_none());
        assert_eq!(auth.sso_login(&long).as_deref(), Some("alice@sandbox.test"));
        auth.revoke_user("alice@sandbox.test");
        assert!(auth.sso_login(&long).is_none());
        assert!(auth.personal_revoked("alice@sandbox.test"));
        assert!(!auth.personal_revoked("bob@sandbox.test"));
    }
}
