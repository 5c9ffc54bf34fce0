//! The headers every page response carries, and the shared stylesheet.

use axum::{
    Router,
    extract::Request,
    http::{HeaderMap, HeaderName, HeaderValue, header},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
};

/// No scripts, styles from this server only, forms post here only, never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Where the stylesheet is served; pages link it from `pages/base.html`.
pub const STYLE_PATH: &str = "/assets/pages.css";
const STYLE: &str = include_str!("../templates/pages/style.css");

/// [`CONTENT_SECURITY_POLICY`], with one more origin (or scheme, `cursor:`) a form of this
/// page may end at. Browsers apply `form-action` to the redirects that follow a form's
/// submission too, so a consent form whose answer redirects to the application needs this.
pub fn policy_with_form_target(target: &str) -> Option<HeaderValue> {
    if !is_source(target) {
        return None;
    }
    let policy = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'",
        &format!("form-action 'self' {target}"),
    );
    HeaderValue::from_str(&policy).ok()
}

/// Whether `target` is one CSP source of the two shapes we add: a scheme (`cursor:`), or a
/// scheme with a host and an optional port (`https://app.example`, `http://127.0.0.1:5000`).
/// Anything else (spaces, `;`, quotes, paths) could change the policy, so it is refused.
fn is_source(target: &str) -> bool {
    let Some((scheme, rest)) = target.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_lowercase())
        && scheme
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '+' | '.' | '-'));
    let host_ok = rest.is_empty()
        || rest.strip_prefix("//").is_some_and(|host| {
            !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        });
    scheme_ok && host_ok
}

/// Never framed or cached, no referrer (a pasted address never travels onward), no MIME
/// sniffing. A `Cache-Control` or `Content-Security-Policy` the handler set is kept (the
/// handler's may only add a form target, see [`policy_with_form_target`]).
pub fn protect(headers: &mut HeaderMap) {
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    let fixed: [(HeaderName, &str); 5] = [
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=()",
        ),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
}

/// [`protect`] as a middleware (`axum::middleware::from_fn(headers::layer)`).
pub async fn layer(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    protect(response.headers_mut());
    response
}

/// The stylesheet's route, with the same headers.
pub fn assets() -> Router {
    Router::new()
        .route(
            STYLE_PATH,
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    STYLE,
                )
                    .into_response()
            }),
        )
        .layer(axum::middleware::from_fn(layer))
}

/// Whether a form POST comes from this server's own pages: `Origin` (when sent) is ours and
/// `Sec-Fetch-Site` (when sent) says same-origin. Under `Referrer-Policy: no-referrer`,
/// Chromium sends `Origin: null` on a page's own forms, so `null` passes only when
/// `Sec-Fetch-Site` vouches for the same origin.
pub fn same_origin(headers: &HeaderMap, origin: &str) -> bool {
    let site = headers.get("sec-fetch-site").map(HeaderValue::as_bytes);
    let site_ok = site.is_none_or(|s| matches!(s, b"same-origin" | b"none"));
    let origin_ok = match headers.get(header::ORIGIN).map(HeaderValue::as_bytes) {
        None => true,
        Some(b"null") => site == Some(b"same-origin".as_slice()),
        Some(sent) => sent == origin.as_bytes(),
    };
    origin_ok && site_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn only_our_own_forms_pass() {
        let ours = "https://mcp.example.com";
        assert!(same_origin(&headers(&[]), ours));
        assert!(same_origin(
            &headers(&[("origin", "https://mcp.example.com")]),
            ours
        ));
        assert!(same_origin(
            &headers(&[("origin", "null"), ("sec-fetch-site", "same-origin")]),
            ours
        ));
        assert!(!same_origin(&headers(&[("origin", "null")]), ours));
        assert!(!same_origin(
            &headers(&[("origin", "null"), ("sec-fetch-site", "cross-site")]),
            ours
        ));
        assert!(!same_origin(
            &headers(&[("origin", "https://evil.example")]),
            ours
        ));
        assert!(!same_origin(
            &headers(&[
                ("origin", "https://mcp.example.com"),
                ("sec-fetch-site", "same-site")
            ]),
            ours
        ));
    }

    #[test]
    fn a_form_target_is_added_to_form_action_only() {
        let policy = policy_with_form_target("http://127.0.0.1:5000").unwrap();
        let policy = policy.to_str().unwrap();
        assert!(policy.contains("form-action 'self' http://127.0.0.1:5000;"));
        assert!(policy.contains("default-src 'none'") && policy.contains("frame-ancestors 'none'"));
        assert!(policy_with_form_target("cursor:").is_some());
        assert!(policy_with_form_target("https://[::1]:8443").is_some());
        for sneaky in [
            "x; script-src *",
            "https://a.example/path",
            "'unsafe-inline'",
            "*",
            "https://a b",
            "",
        ] {
            assert!(policy_with_form_target(sneaky).is_none(), "{sneaky}");
        }
    }

    #[test]
    fn handler_cache_control_is_kept() {
        let mut map = headers(&[("cache-control", "public, max-age=3600")]);
        protect(&mut map);
        assert_eq!(map[header::CACHE_CONTROL], "public, max-age=3600");
        let mut fresh = HeaderMap::new();
        protect(&mut fresh);
        assert_eq!(fresh[header::CACHE_CONTROL], "no-store");
        assert!(
            fresh[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
    }
}
