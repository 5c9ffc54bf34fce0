//! The web app's pages the sandbox needs: only `GET /sso`, where Zebrunner's
//! browser lands after an SSO sign-in (`/sso?refresh-token=<temp token>`).
//!
//! Real Zebrunner serves its single-page app there, which at once exchanges
//! the temp token at `POST /api/iam/v1/auth/refresh`. The sandbox's page does
//! not: the token stays unused so that a person (or a test) can copy the
//! address and hand it to the MCP server, which redeems it itself.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, REFERRER_POLICY};
use axum::response::IntoResponse;

const SSO_PAGE: &str = "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
<title>Zebrunner (sandbox)</title></head>\n<body>\n<h1>Signed in to Zebrunner (sandbox)</h1>\n\
<p>This page stands in for Zebrunner's web app after a single sign-on. Copy this page's \
address from the address bar: it carries a single-use token that expires in a few minutes.</p>\n\
</body>\n</html>\n";

/// `GET /sso`: a small page; the token in the address is not consumed.
pub async fn sso_page() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            // The address carries a credential: keep it out of caches and Referer headers.
            (CACHE_CONTROL, "no-store"),
            (REFERRER_POLICY, "no-referrer"),
        ],
        SSO_PAGE,
    )
}

pub fn router() -> axum::Router<crate::Sandbox> {
    axum::Router::new().route("/sso", axum::routing::get(sso_page))
}
