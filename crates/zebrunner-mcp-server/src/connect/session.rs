//! The connect page's browser state, kept in two signed cookies so that any replica can
//! serve any request without a session table:
//!
//! - the **sign-in cookie** holds a random `state` while the person is at the issuer. The
//!   PKCE verifier and the nonce are derived from it with the server key, so they never
//!   leave the server, and a callback is accepted only in the browser that started it
//!   (login CSRF);
//! - the **session cookie** says who signed in (user key, e-mail, name), until when, and a
//!   random session id from which each form's CSRF token is derived.
//!
//! Both are `HttpOnly`, `SameSite=Lax`, `Path=/`, and on HTTPS `Secure` with the `__Host-`
//! prefix (no `Domain`, so no sibling host can set or read them). On a plain-http loopback
//! address (tests, a laptop) browsers drop `Secure` cookies, so there the names lose the
//! prefix and the flag: the documented fallback. Payloads are base64url JSON followed by
//! an HMAC-SHA256 tag over a purpose label and the payload; a cookie of one kind never
//! passes as the other, and none holds a secret.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

/// How long a person stays signed in to the page.
pub const SESSION_SECS: i64 = 30 * 60;
/// How long a sign-in at the issuer may take.
pub const SIGN_IN_SECS: i64 = 10 * 60;
/// Cookies longer than this are not ours.
const MAX_COOKIE: usize = 4096;

/// Signs and checks the page's cookies and derives per-sign-in secrets.
#[derive(Clone)]
pub struct CookieKey {
    key: Zeroizing<Vec<u8>>,
    /// `__Host-` names and `Secure` (HTTPS), or the loopback fallback.
    secure: bool,
}

/// Who is signed in to the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    #[serde(rename = "u")]
    pub user_key: String,
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "s")]
    pub session_id: String,
    #[serde(rename = "x")]
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SignIn {
    #[serde(rename = "t")]
    state: String,
    #[serde(rename = "x")]
    expires_at: i64,
}

impl CookieKey {
    pub fn new(key: &[u8], secure: bool) -> Self {
        Self {
            key: Zeroizing::new(key.to_vec()),
            secure,
        }
    }

    /// HMAC-SHA256 keyed with the server key, over `purpose`, a zero byte, then `data`.
    /// (HMAC takes keys of any length, so there is no failure to handle: `None` never
    /// happens, and would only make every check fail.)
    fn mac(&self, purpose: &str, data: &[u8]) -> Option<HmacSha256> {
        let mut mac = HmacSha256::new_from_slice(&self.key).ok()?;
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(data);
        Some(mac)
    }

    fn tag(&self, purpose: &str, data: &[u8]) -> Vec<u8> {
        self.mac(purpose, data)
            .map(|mac| mac.finalize().into_bytes().to_vec())
            .unwrap_or_default()
    }

    fn verify(&self, purpose: &str, data: &[u8], tag: &[u8]) -> bool {
        self.mac(purpose, data)
            .is_some_and(|mac| mac.verify_slice(tag).is_ok())
    }

    fn seal<T: Serialize>(&self, purpose: &str, value: &T) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default());
        let tag = URL_SAFE_NO_PAD.encode(self.tag(purpose, payload.as_bytes()));
        format!("{payload}.{tag}")
    }

    fn open<T: for<'de> Deserialize<'de>>(&self, purpose: &str, cookie: &str) -> Option<T> {
        if cookie.len() > MAX_COOKIE {
            return None;
        }
        let (payload, tag) = cookie.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        if !self.verify(purpose, payload.as_bytes(), &tag) {
            return None;
        }
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
    }

    /// The session cookie's name.
    pub fn session_name(&self) -> &'static str {
        if self.secure {
            "__Host-zmcp-connect"
        } else {
            "zmcp-connect"
        }
    }

    /// The sign-in cookie's name.
    pub fn sign_in_name(&self) -> &'static str {
        if self.secure {
            "__Host-zmcp-signin"
        } else {
            "zmcp-signin"
        }
    }

    /// A `Set-Cookie` value; `max_age` 0 deletes the cookie.
    fn set_cookie(&self, name: &str, value: &str, max_age: i64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
    }

    /// Start a sign-in: a fresh random `state` and the cookie that binds it to this browser.
    pub fn begin_sign_in(&self, now: i64) -> (String, String) {
        let state = random_token();
        let cookie = self.seal(
            "signin",
            &SignIn {
                state: state.clone(),
                expires_at: now + SIGN_IN_SECS,
            },
        );
        (
            state,
            self.set_cookie(self.sign_in_name(), &cookie, SIGN_IN_SECS),
        )
    }

    /// The `state` this browser's sign-in cookie holds, if it is ours and fresh and equals
    /// the callback's `state`.
    pub fn sign_in_matches(&self, cookie: Option<&str>, state: &str, now: i64) -> bool {
        cookie
            .and_then(|c| self.open::<SignIn>("signin", c))
            .is_some_and(|s| s.expires_at > now && !state.is_empty() && s.state == state)
    }

    pub fn clear_sign_in(&self) -> String {
        self.set_cookie(self.sign_in_name(), "", 0)
    }

    /// The PKCE verifier (RFC 7636 §4.1: 43 characters of base64url) for a sign-in's state.
    pub fn pkce_verifier(&self, state: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.tag("pkce", state.as_bytes()))
    }

    /// Its S256 challenge (RFC 7636 §4.2).
    pub fn pkce_challenge(&self, state: &str) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.pkce_verifier(state).as_bytes()))
    }

    /// The OIDC nonce for a sign-in's state.
    pub fn nonce(&self, state: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.tag("nonce", state.as_bytes()))
    }

    /// A session for someone who just signed in, and its `Set-Cookie`.
    pub fn begin_session(
        &self,
        user_key: String,
        email: Option<String>,
        name: Option<String>,
        now: i64,
    ) -> (Session, String) {
        let session = Session {
            user_key,
            email,
            name,
            session_id: random_token(),
            expires_at: now + SESSION_SECS,
        };
        let cookie = self.seal("session", &session);
        (
            session,
            self.set_cookie(self.session_name(), &cookie, SESSION_SECS),
        )
    }

    /// The signed-in session this cookie carries, if valid now.
    pub fn session(&self, cookie: Option<&str>, now: i64) -> Option<Session> {
        cookie
            .and_then(|c| self.open::<Session>("session", c))
            .filter(|s| s.expires_at > now)
    }

    pub fn end_session(&self) -> String {
        self.set_cookie(self.session_name(), "", 0)
    }

    /// The CSRF token every form of this session carries.
    pub fn csrf_token(&self, session: &Session) -> String {
        URL_SAFE_NO_PAD.encode(self.tag("csrf", session.session_id.as_bytes()))
    }

    /// Whether a form's CSRF token belongs to this session (constant time).
    pub fn csrf_ok(&self, session: &Session, token: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(token)
            .is_ok_and(|tag| self.verify("csrf", session.session_id.as_bytes(), &tag))
    }
}

/// 256 random bits, base64url.
fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value<'a>(header: Option<&'a str>, name: &str) -> Option<&'a str> {
    header?.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn key() -> CookieKey {
        CookieKey::new(&[7; 32], true)
    }

    fn value(set_cookie: &str) -> &str {
        set_cookie
            .split_once('=')
            .unwrap()
            .1
            .split(';')
            .next()
            .unwrap()
    }

    #[test]
    fn a_session_cookie_round_trips_and_expires() {
        let (session, set) = key().begin_session("uid:1".into(), Some("a@x".into()), None, NOW);
        assert!(set.starts_with("__Host-zmcp-connect="));
        assert!(
            set.contains("; Path=/;") && set.contains("HttpOnly") && set.contains("SameSite=Lax")
        );
        assert!(set.ends_with("; Secure") && !set.contains("Domain"));
        assert_eq!(key().session(Some(value(&set)), NOW + 10), Some(session));
        assert_eq!(key().session(Some(value(&set)), NOW + SESSION_SECS), None);
    }

    #[test]
    fn tampered_foreign_or_cross_purpose_cookies_are_refused() {
        let (_, set) = key().begin_session("uid:1".into(), None, None, NOW);
        let cookie = value(&set);
        let other = CookieKey::new(&[8; 32], true);
        assert_eq!(other.session(Some(cookie), NOW), None);
        let (payload, tag) = cookie.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(
            String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap())
                .unwrap()
                .replace("uid:1", "uid:2"),
        );
        assert_eq!(key().session(Some(&format!("{forged}.{tag}")), NOW), None);
        assert_eq!(key().session(Some("garbage"), NOW), None);
        assert_eq!(key().session(Some(&"a.b".repeat(3000)), NOW), None);
        // A sign-in cookie is not a session.
        let (_, sign_in) = key().begin_sign_in(NOW);
        assert_eq!(key().session(Some(value(&sign_in)), NOW), None);
    }

    #[test]
    fn a_callback_needs_the_browser_that_started_it() {
        let (state, set) = key().begin_sign_in(NOW);
        let cookie = Some(value(&set));
        assert!(key().sign_in_matches(cookie, &state, NOW + 5));
        assert!(!key().sign_in_matches(cookie, "another-state", NOW + 5));
        assert!(!key().sign_in_matches(None, &state, NOW + 5));
        assert!(!key().sign_in_matches(cookie, &state, NOW + SIGN_IN_SECS));
    }

    #[test]
    fn pkce_and_nonce_derive_from_the_state_and_the_key() {
        let k = key();
        let verifier = k.pkce_verifier("s1");
        assert_eq!(verifier.len(), 43, "RFC 7636: 43 to 128 characters");
        assert_eq!(verifier, k.pkce_verifier("s1"));
        assert_ne!(verifier, k.pkce_verifier("s2"));
        assert_ne!(verifier, CookieKey::new(&[8; 32], true).pkce_verifier("s1"));
        assert_ne!(k.nonce("s1"), verifier);
        // RFC 7636 Appendix B: BASE64URL(SHA256(verifier)).
        let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        assert_eq!(k.pkce_challenge("s1"), expected);
    }

    #[test]
    fn csrf_tokens_belong_to_one_session() {
        let k = key();
        let (alice, _) = k.begin_session("uid:1".into(), None, None, NOW);
        let (again, _) = k.begin_session("uid:1".into(), None, None, NOW);
        let token = k.csrf_token(&alice);
        assert!(k.csrf_ok(&alice, &token));
        assert!(!k.csrf_ok(&again, &token), "a new sign-in gets new tokens");
        assert!(!k.csrf_ok(&alice, ""));
        assert!(!k.csrf_ok(&alice, "not base64!"));
    }

    #[test]
    fn loopback_fallback_drops_the_prefix_and_secure() {
        let k = CookieKey::new(&[7; 32], false);
        let (_, set) = k.begin_session("uid:1".into(), None, None, NOW);
        assert!(set.starts_with("zmcp-connect=") && !set.contains("Secure"));
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"));
    }

    #[test]
    fn cookie_values_are_found_by_exact_name() {
        let header = Some("a=1; zmcp-connect=xyz; zmcp-connect-old=no");
        assert_eq!(cookie_value(header, "zmcp-connect"), Some("xyz"));
        assert_eq!(cookie_value(header, "zmcp"), None);
        assert_eq!(cookie_value(None, "a"), None);
    }
}
