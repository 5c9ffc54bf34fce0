//! Signed cookies and values derived from a server key.
//!
//! A cookie value is base64url JSON followed by an HMAC-SHA256 tag over a purpose label and
//! the payload, so a cookie made for one purpose never passes as another, and none can be
//! edited. Nothing secret goes in a cookie: secrets the browser must not hold (a PKCE
//! verifier, a nonce, a form's CSRF token) are *derived* from a random value the cookie does
//! hold, with the same key.
//!
//! Cookies are `HttpOnly`, `SameSite=Lax`, `Path=/`, and on HTTPS `Secure` with the
//! `__Host-` prefix (no `Domain`, so no sibling host can set or read them). On a plain-http
//! loopback address (tests, a laptop) browsers refuse `Secure` cookies, so there the names
//! lose the prefix and the flag: the one documented fallback. The key lives in the database
//! (`server_secrets`), so every replica accepts every other's cookies.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

/// Cookies longer than this are not ours.
const MAX_COOKIE: usize = 4096;

/// Signs and checks cookies, and derives per-value secrets.
#[derive(Clone)]
pub struct CookieKey {
    key: Zeroizing<Vec<u8>>,
    /// `__Host-` names and `Secure` (HTTPS), or the loopback fallback.
    secure: bool,
}

impl std::fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieKey")
            .field("secure", &self.secure)
            .finish_non_exhaustive()
    }
}

impl CookieKey {
    pub fn new(key: &[u8], secure: bool) -> Self {
        Self {
            key: Zeroizing::new(key.to_vec()),
            secure,
        }
    }

    /// HMAC-SHA256 over `purpose`, a zero byte, then `data`. (HMAC takes keys of any length,
    /// so `None` never happens; it would only make every check fail.)
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

    /// A secret derived from `data` for `purpose` (43 characters of base64url).
    pub fn derive(&self, purpose: &str, data: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.tag(purpose, data.as_bytes()))
    }

    /// Whether `token` is [`derive`](Self::derive)`(purpose, data)` (constant time).
    pub fn verify_derived(&self, purpose: &str, data: &str, token: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(token)
            .is_ok_and(|tag| self.verify(purpose, data.as_bytes(), &tag))
    }

    /// `value` as a signed cookie value for `purpose`.
    pub fn seal<T: Serialize>(&self, purpose: &str, value: &T) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default());
        let tag = URL_SAFE_NO_PAD.encode(self.tag(purpose, payload.as_bytes()));
        format!("{payload}.{tag}")
    }

    /// The value a cookie made by [`seal`](Self::seal) for `purpose` holds, if untouched.
    pub fn open<T: for<'de> Deserialize<'de>>(&self, purpose: &str, cookie: &str) -> Option<T> {
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

    /// The cookie name for `base`: `__Host-<base>` on HTTPS, `<base>` on the fallback.
    pub fn name(&self, base: &str) -> String {
        if self.secure {
            format!("__Host-{base}")
        } else {
            base.to_owned()
        }
    }

    /// A `Set-Cookie` value for the cookie `base`; `max_age` 0 deletes it.
    pub fn set_cookie(&self, base: &str, value: &str, max_age: i64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
            self.name(base)
        )
    }

    /// The value of the cookie `base` in a `Cookie` header.
    pub fn read<'a>(&self, cookie_header: Option<&'a str>, base: &str) -> Option<&'a str> {
        cookie_value(cookie_header, &self.name(base))
    }
}

/// 256 random bits, base64url: state values, session ids.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// The request's `Cookie` header, if it is text.
pub fn request_cookies(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::COOKIE).and_then(|v| v.to_str().ok())
}

/// `response` with a `Set-Cookie` header for each value (as [`CookieKey::set_cookie`] makes them).
pub fn with_cookies<S: AsRef<str>>(mut response: Response, set_cookies: &[S]) -> Response {
    for cookie in set_cookies {
        if let Ok(value) = HeaderValue::from_str(cookie.as_ref()) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
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

    fn key() -> CookieKey {
        CookieKey::new(&[7; 32], true)
    }

    #[test]
    fn sealed_values_round_trip_only_for_their_purpose_and_key() {
        let sealed = key().seal("a", &("uid:1", 5));
        assert_eq!(
            key().open::<(String, i64)>("a", &sealed),
            Some(("uid:1".into(), 5))
        );
        assert_eq!(key().open::<(String, i64)>("b", &sealed), None);
        assert_eq!(
            CookieKey::new(&[8; 32], true).open::<(String, i64)>("a", &sealed),
            None
        );
        let (payload, tag) = sealed.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(
            String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap())
                .unwrap()
                .replace("uid:1", "uid:2"),
        );
        assert_eq!(
            key().open::<(String, i64)>("a", &format!("{forged}.{tag}")),
            None
        );
        assert_eq!(key().open::<(String, i64)>("a", "garbage"), None);
        assert_eq!(key().open::<(String, i64)>("a", &"a.b".repeat(3000)), None);
    }

    #[test]
    fn derived_values_depend_on_purpose_data_and_key() {
        let k = key();
        let token = k.derive("csrf", "s1");
        assert_eq!(token.len(), 43);
        assert!(k.verify_derived("csrf", "s1", &token));
        assert!(!k.verify_derived("csrf", "s2", &token));
        assert!(!k.verify_derived("pkce", "s1", &token));
        assert!(!CookieKey::new(&[8; 32], true).verify_derived("csrf", "s1", &token));
        assert!(!k.verify_derived("csrf", "s1", ""));
        assert!(!k.verify_derived("csrf", "s1", "not base64!"));
    }

    #[test]
    fn cookies_are_host_only_secure_httponly_lax_or_the_loopback_fallback() {
        let set = key().set_cookie("zmcp-x", "v", 60);
        assert_eq!(
            set,
            "__Host-zmcp-x=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
        let plain = CookieKey::new(&[7; 32], false).set_cookie("zmcp-x", "v", 0);
        assert_eq!(plain, "zmcp-x=v; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
    }

    #[test]
    fn cookie_values_are_found_by_exact_name() {
        let header = Some("a=1; zmcp-connect=xyz; zmcp-connect-old=no");
        assert_eq!(cookie_value(header, "zmcp-connect"), Some("xyz"));
        assert_eq!(cookie_value(header, "zmcp"), None);
        assert_eq!(cookie_value(None, "a"), None);
        let k = CookieKey::new(&[7; 32], false);
        assert_eq!(k.read(header, "zmcp-connect"), Some("xyz"));
    }
}
