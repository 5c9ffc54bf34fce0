//! The connect page's browser state, in two signed cookies (see [`zebrunner_pages::cookies`])
//! so that any replica can serve any request without a session table:
//!
//! - the **sign-in cookie** (`zmcp-signin`, 10 minutes) holds a random `state` while the
//!   person is at the issuer. The PKCE verifier and the nonce are derived from it with the
//!   server key, so they never leave the server, and a callback is accepted only in the
//!   browser that started it (login CSRF);
//! - the **session cookie** (`zmcp-connect`, 30 minutes) says who signed in (user key,
//!   e-mail, name), until when, and a random session id from which each form's CSRF token
//!   is derived.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zebrunner_pages::{CookieKey, cookies::random_token};

/// How long a person stays signed in to the page.
pub const SESSION_SECS: i64 = 30 * 60;
/// How long a sign-in at the issuer may take.
pub const SIGN_IN_SECS: i64 = 10 * 60;
const SESSION_COOKIE: &str = "zmcp-connect";
const SIGN_IN_COOKIE: &str = "zmcp-signin";

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

/// The page's cookies, on a [`CookieKey`].
#[derive(Clone, Debug)]
pub struct Cookies {
    key: CookieKey,
}

impl Cookies {
    pub fn new(key: CookieKey) -> Self {
        Self { key }
    }

    /// Start a sign-in: a fresh random `state` and the `Set-Cookie` that binds it to this
    /// browser.
    pub fn begin_sign_in(&self, now: i64) -> (String, String) {
        let state = random_token();
        let cookie = self.key.seal(
            "signin",
            &SignIn {
                state: state.clone(),
                expires_at: now + SIGN_IN_SECS,
            },
        );
        (
            state,
            self.key.set_cookie(SIGN_IN_COOKIE, &cookie, SIGN_IN_SECS),
        )
    }

    /// Whether this browser's sign-in cookie is ours, fresh, and holds the callback's `state`.
    pub fn sign_in_matches(&self, cookie_header: Option<&str>, state: &str, now: i64) -> bool {
        self.key
            .read(cookie_header, SIGN_IN_COOKIE)
            .and_then(|c| self.key.open::<SignIn>("signin", c))
            .is_some_and(|s| s.expires_at > now && !state.is_empty() && s.state == state)
    }

    pub fn clear_sign_in(&self) -> String {
        self.key.set_cookie(SIGN_IN_COOKIE, "", 0)
    }

    /// The PKCE verifier (RFC 7636 §4.1: 43 characters of base64url) for a sign-in's state.
    pub fn pkce_verifier(&self, state: &str) -> String {
        self.key.derive("pkce", state)
    }

    /// Its S256 challenge (RFC 7636 §4.2).
    pub fn pkce_challenge(&self, state: &str) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.pkce_verifier(state).as_bytes()))
    }

    /// The OIDC nonce for a sign-in's state.
    pub fn nonce(&self, state: &str) -> String {
        self.key.derive("nonce", state)
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
        let cookie = self.key.seal("session", &session);
        (
            session,
            self.key.set_cookie(SESSION_COOKIE, &cookie, SESSION_SECS),
        )
    }

    /// The signed-in session the request's cookies carry, if valid now.
    pub fn session(&self, cookie_header: Option<&str>, now: i64) -> Option<Session> {
        self.key
            .read(cookie_header, SESSION_COOKIE)
            .and_then(|c| self.key.open::<Session>("session", c))
            .filter(|s| s.expires_at > now)
    }

    pub fn end_session(&self) -> String {
        self.key.set_cookie(SESSION_COOKIE, "", 0)
    }

    /// The CSRF token every form of this session carries.
    pub fn csrf_token(&self, session: &Session) -> String {
        self.key.derive("csrf", &session.session_id)
    }

    /// Whether a form's CSRF token belongs to this session (constant time).
    pub fn csrf_ok(&self, session: &Session, token: &str) -> bool {
        self.key.verify_derived("csrf", &session.session_id, token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn cookies() -> Cookies {
        Cookies::new(CookieKey::new(&[7; 32], true))
    }

    /// The `Cookie` header a browser sends back for a `Set-Cookie`.
    fn sent(set_cookie: &str) -> String {
        set_cookie.split(';').next().unwrap().to_owned()
    }

    #[test]
    fn a_session_round_trips_and_expires() {
        let (session, set) = cookies().begin_session("uid:1".into(), Some("a@x".into()), None, NOW);
        assert!(set.starts_with("__Host-zmcp-connect="));
        let header = sent(&set);
        assert_eq!(cookies().session(Some(&header), NOW + 10), Some(session));
        assert_eq!(cookies().session(Some(&header), NOW + SESSION_SECS), None);
        // A sign-in cookie is not a session, even renamed.
        let (_, sign_in) = cookies().begin_sign_in(NOW);
        let renamed = sent(&sign_in).replace("zmcp-signin", "zmcp-connect");
        assert_eq!(cookies().session(Some(&renamed), NOW), None);
    }

    #[test]
    fn a_callback_needs_the_browser_that_started_it() {
        let (state, set) = cookies().begin_sign_in(NOW);
        let header = sent(&set);
        assert!(cookies().sign_in_matches(Some(&header), &state, NOW + 5));
        assert!(!cookies().sign_in_matches(Some(&header), "another-state", NOW + 5));
        assert!(!cookies().sign_in_matches(None, &state, NOW + 5));
        assert!(!cookies().sign_in_matches(Some(&header), &state, NOW + SIGN_IN_SECS));
    }

    #[test]
    fn pkce_and_nonce_derive_from_the_state_and_the_key() {
        let c = cookies();
        let verifier = c.pkce_verifier("s1");
        assert_eq!(verifier.len(), 43, "RFC 7636: 43 to 128 characters");
        assert_ne!(verifier, c.pkce_verifier("s2"));
        assert_ne!(c.nonce("s1"), verifier);
        // RFC 7636 Appendix B: BASE64URL(SHA256(verifier)).
        let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        assert_eq!(c.pkce_challenge("s1"), expected);
    }

    #[test]
    fn csrf_tokens_belong_to_one_session() {
        let c = cookies();
        let (alice, _) = c.begin_session("uid:1".into(), None, None, NOW);
        let (again, _) = c.begin_session("uid:1".into(), None, None, NOW);
        let token = c.csrf_token(&alice);
        assert!(c.csrf_ok(&alice, &token));
        assert!(!c.csrf_ok(&again, &token), "a new sign-in gets new tokens");
    }
}
