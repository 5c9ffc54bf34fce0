//! A signed-in page's browser state, in two signed cookies (see [`crate::cookies`]) so that
//! any replica can serve any request without a session table:
//!
//! - the **sign-in cookie** (10 minutes) holds a random `state` while the person is at the
//!   issuer. The PKCE verifier and the nonce are derived from it with the server key, so they
//!   never leave the server, and a callback is accepted only in the browser that started it
//!   (login CSRF);
//! - the **session cookie** (30 minutes) says who signed in (user key, e-mail, name), until
//!   when, and a random session id from which each form's CSRF token is derived.
//!
//! Each page names its own cookies and purpose prefix ([`Names`]), so one page's cookie or
//! token never passes on another page, even with the same key.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cookies::{CookieKey, random_token};

/// How long a person stays signed in to a page.
pub const SESSION_SECS: i64 = 30 * 60;
/// How long a sign-in at the issuer may take.
pub const SIGN_IN_SECS: i64 = 10 * 60;

/// A page's cookie names and the prefix of the purposes its values are signed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Names {
    /// The session cookie (`zmcp-apps`).
    pub session: &'static str,
    /// The sign-in cookie (`zmcp-apps-signin`).
    pub sign_in: &'static str,
    /// Put before each purpose (`signin`, `session`, `csrf`, `pkce`, `nonce`): `apps.`.
    pub purpose: &'static str,
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
    /// The page was opened from a step of another flow (an authorization waiting for the
    /// person to connect): when its work is done, the page hands back to that flow.
    #[serde(rename = "r", default, skip_serializing_if = "std::ops::Not::not")]
    pub resume: bool,
}

impl Session {
    /// How the page names the person: `Name (email)`, one of them, or the user key.
    pub fn who(&self) -> String {
        match (&self.name, &self.email) {
            (Some(name), Some(email)) => format!("{name} ({email})"),
            (Some(one), None) | (None, Some(one)) => one.clone(),
            (None, None) => self.user_key.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SignIn {
    #[serde(rename = "t")]
    state: String,
    #[serde(rename = "x")]
    expires_at: i64,
}

/// A page's sign-in and session cookies, on a [`CookieKey`].
#[derive(Clone, Debug)]
pub struct Sessions {
    key: CookieKey,
    names: Names,
}

impl Sessions {
    pub fn new(key: CookieKey, names: Names) -> Self {
        Self { key, names }
    }

    fn purpose(&self, what: &str) -> String {
        format!("{}{what}", self.names.purpose)
    }

    /// Start a sign-in: a fresh random `state` and the `Set-Cookie` that binds it to this
    /// browser.
    pub fn begin_sign_in(&self, now: i64) -> (String, String) {
        let state = random_token();
        let cookie = self.key.seal(
            &self.purpose("signin"),
            &SignIn {
                state: state.clone(),
                expires_at: now + SIGN_IN_SECS,
            },
        );
        (
            state,
            self.key
                .set_cookie(self.names.sign_in, &cookie, SIGN_IN_SECS),
        )
    }

    /// Whether this browser's sign-in cookie is ours, fresh, and holds the callback's `state`.
    pub fn sign_in_matches(&self, cookie_header: Option<&str>, state: &str, now: i64) -> bool {
        self.key
            .read(cookie_header, self.names.sign_in)
            .and_then(|c| self.key.open::<SignIn>(&self.purpose("signin"), c))
            .is_some_and(|s| s.expires_at > now && !state.is_empty() && s.state == state)
    }

    pub fn clear_sign_in(&self) -> String {
        self.key.set_cookie(self.names.sign_in, "", 0)
    }

    /// The PKCE verifier (RFC 7636 §4.1: 43 characters of base64url) for a sign-in's state.
    pub fn pkce_verifier(&self, state: &str) -> String {
        self.key.derive(&self.purpose("pkce"), state)
    }

    /// Its S256 challenge (RFC 7636 §4.2).
    pub fn pkce_challenge(&self, state: &str) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.pkce_verifier(state).as_bytes()))
    }

    /// The OIDC nonce for a sign-in's state.
    pub fn nonce(&self, state: &str) -> String {
        self.key.derive(&self.purpose("nonce"), state)
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
            resume: false,
        };
        let cookie = self.set_session(&session);
        (session, cookie)
    }

    /// The `Set-Cookie` that holds `session` (after a change such as [`Session::resume`]).
    pub fn set_session(&self, session: &Session) -> String {
        let cookie = self.key.seal(&self.purpose("session"), session);
        self.key
            .set_cookie(self.names.session, &cookie, SESSION_SECS)
    }

    /// The signed-in session the request's cookies carry, if valid now.
    pub fn session(&self, cookie_header: Option<&str>, now: i64) -> Option<Session> {
        self.key
            .read(cookie_header, self.names.session)
            .and_then(|c| self.key.open::<Session>(&self.purpose("session"), c))
            .filter(|s| s.expires_at > now)
    }

    pub fn end_session(&self) -> String {
        self.key.set_cookie(self.names.session, "", 0)
    }

    /// The CSRF token every form of this session carries.
    pub fn csrf_token(&self, session: &Session) -> String {
        self.key.derive(&self.purpose("csrf"), &session.session_id)
    }

    /// Whether a form's CSRF token belongs to this session (constant time).
    pub fn csrf_ok(&self, session: &Session, token: &str) -> bool {
        self.key
            .verify_derived(&self.purpose("csrf"), &session.session_id, token)
    }
}

#[cfg(test)]
mod resume_tests {
    use super::*;

    #[test]
    fn a_resuming_session_keeps_the_mark_through_its_cookie() {
        let sessions = Sessions::new(
            CookieKey::new(&[3; 32], true),
            Names {
                session: "s",
                sign_in: "i",
                purpose: "t:",
            },
        );
        let (mut session, plain) = sessions.begin_session("uid:1".into(), None, None, 100);
        let read = |set: &str| sessions.session(set.split(';').next(), 110);
        assert!(!read(&plain).is_some_and(|s| s.resume));
        session.resume = true;
        let marked = sessions.set_session(&session);
        assert_eq!(read(&marked), Some(session));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;
    const APPS: Names = Names {
        session: "zmcp-apps",
        sign_in: "zmcp-apps-signin",
        purpose: "apps.",
    };
    const OTHER: Names = Names {
        session: "zmcp-other",
        sign_in: "zmcp-other-signin",
        purpose: "other.",
    };

    fn sessions(names: Names) -> Sessions {
        Sessions::new(CookieKey::new(&[7; 32], true), names)
    }

    /// The `Cookie` header a browser sends back for a `Set-Cookie`.
    fn sent(set_cookie: &str) -> String {
        set_cookie.split(';').next().unwrap().to_owned()
    }

    #[test]
    fn a_session_round_trips_and_expires_and_stays_on_its_page() {
        let s = sessions(APPS);
        let (session, set) = s.begin_session("uid:1".into(), Some("a@x".into()), None, NOW);
        assert!(set.starts_with("__Host-zmcp-apps="));
        let header = sent(&set);
        assert_eq!(s.session(Some(&header), NOW + 10), Some(session.clone()));
        assert_eq!(s.session(Some(&header), NOW + SESSION_SECS), None);
        // A sign-in cookie is not a session, even renamed.
        let (_, sign_in) = s.begin_sign_in(NOW);
        let renamed = sent(&sign_in).replace("zmcp-apps-signin", "zmcp-apps");
        assert_eq!(s.session(Some(&renamed), NOW), None);
        // Another page's session, renamed, is not this page's, nor its CSRF tokens.
        let other = sessions(OTHER);
        let (theirs, set) = other.begin_session("uid:1".into(), None, None, NOW);
        let renamed = sent(&set).replace("zmcp-other", "zmcp-apps");
        assert_eq!(s.session(Some(&renamed), NOW), None);
        assert!(!s.csrf_ok(&theirs, &other.csrf_token(&theirs)));
        assert_eq!(session.who(), "a@x");
    }

    #[test]
    fn a_callback_needs_the_browser_that_started_it() {
        let s = sessions(APPS);
        let (state, set) = s.begin_sign_in(NOW);
        let header = sent(&set);
        assert!(s.sign_in_matches(Some(&header), &state, NOW + 5));
        assert!(!s.sign_in_matches(Some(&header), "another-state", NOW + 5));
        assert!(!s.sign_in_matches(Some(&header), "", NOW + 5));
        assert!(!s.sign_in_matches(None, &state, NOW + 5));
        assert!(!s.sign_in_matches(Some(&header), &state, NOW + SIGN_IN_SECS));
        let renamed = header.replace("zmcp-apps-signin", "zmcp-other-signin");
        assert!(!sessions(OTHER).sign_in_matches(Some(&renamed), &state, NOW + 5));
    }

    #[test]
    fn pkce_and_nonce_derive_from_the_state_the_page_and_the_key() {
        let s = sessions(APPS);
        let verifier = s.pkce_verifier("s1");
        assert_eq!(verifier.len(), 43, "RFC 7636: 43 to 128 characters");
        assert_ne!(verifier, s.pkce_verifier("s2"));
        assert_ne!(verifier, sessions(OTHER).pkce_verifier("s1"));
        assert_ne!(s.nonce("s1"), verifier);
        // RFC 7636 Appendix B: BASE64URL(SHA256(verifier)).
        let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        assert_eq!(s.pkce_challenge("s1"), expected);
    }

    #[test]
    fn csrf_tokens_belong_to_one_session() {
        let s = sessions(APPS);
        let (alice, _) = s.begin_session("uid:1".into(), None, None, NOW);
        let (again, _) = s.begin_session("uid:1".into(), None, None, NOW);
        let token = s.csrf_token(&alice);
        assert!(s.csrf_ok(&alice, &token));
        assert!(!s.csrf_ok(&again, &token), "a new sign-in gets new tokens");
        assert!(!s.csrf_ok(&alice, ""));
    }

    #[test]
    fn people_are_named_as_they_sign_in() {
        let mut session = Session {
            user_key: "uid:1".into(),
            email: Some("ann@x".into()),
            name: Some("Ann".into()),
            session_id: "s".into(),
            expires_at: NOW,
            resume: false,
        };
        assert_eq!(session.who(), "Ann (ann@x)");
        session.email = None;
        assert_eq!(session.who(), "Ann");
        session.name = None;
        assert_eq!(session.who(), "uid:1");
    }
}
