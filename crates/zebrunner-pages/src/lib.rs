//! What the server's HTML pages share (the connect page, and the authorization server's
//! consent and client pages), so each page crate holds only its own story.
//!
//! # Layout
//!
//! - [`cookies`]: [`CookieKey`]: signed cookies (`__Host-` on HTTPS, the loopback fallback
//!   on plain http), values derived from a server key (CSRF tokens, PKCE verifiers, nonces).
//! - [`session`]: a signed-in page's sign-in and session cookies ([`session::Sessions`]):
//!   the sign-in `state` bound to the browser, PKCE verifier and nonce derived from it, who
//!   signed in, CSRF tokens derived from the session; each page with its own names.
//! - [`headers`]: the headers every page response carries (strict CSP, no caching, no
//!   framing, no referrer) as a middleware, and the stylesheet route.
//! - `templates/pages/base.html`: the layout every page template extends
//!   (`{% extends "pages/base.html" %}`; a page crate's `askama.toml` lists this crate's
//!   `templates/` directory), with the `problem` and `notice` messages.
//! - [`render`]: a template to a response; [`readable_time`]: a time as pages show it.

pub mod cookies;
pub mod headers;
pub mod session;

pub use cookies::{CookieKey, cookie_value, request_cookies, with_cookies};

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A rendered page with `status`, or a short plain error if the template fails.
pub fn render(status: StatusCode, page: &impl askama::Template) -> Response {
    match page.render() {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "a page did not render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be shown; try again.",
            )
                .into_response()
        }
    }
}

/// A time as the pages show it: `2026-12-06 23:50 UTC`.
pub fn readable_time(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_read_in_utc_to_the_minute() {
        let t = time::OffsetDateTime::from_unix_timestamp(1_796_601_012).unwrap();
        assert_eq!(super::readable_time(t), "2026-12-06 23:50 UTC");
        let shifted = t.to_offset(time::UtcOffset::from_hms(2, 0, 0).unwrap());
        assert_eq!(super::readable_time(shifted), "2026-12-06 23:50 UTC");
    }
}
