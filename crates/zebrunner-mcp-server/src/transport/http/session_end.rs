//! `DELETE /mcp` (the client ending its session) answered with `204 No Content`.
//!
//! rmcp accepts the request and answers `202 Accepted`. The MCP Python SDK treats anything but
//! 200, 204 or 405 as a failed termination and logs "Session termination failed: 202" on every
//! close; the TypeScript SDK accepts any 2xx. The session is closed by the time rmcp answers,
//! so 204 is the accurate answer and both SDKs take it.

use axum::{
    extract::Request, http::Method, http::StatusCode, middleware::Next, response::Response,
};

/// Turn the 202 of a session end into 204 with no body.
pub async fn no_content(request: Request, next: Next) -> Response {
    let deleting = request.method() == Method::DELETE;
    let mut response = next.run(request).await;
    if deleting && response.status() == StatusCode::ACCEPTED {
        *response.status_mut() = StatusCode::NO_CONTENT;
        *response.body_mut() = axum::body::Body::empty();
        response
            .headers_mut()
            .remove(axum::http::header::CONTENT_LENGTH);
        response
            .headers_mut()
            .remove(axum::http::header::CONTENT_TYPE);
    }
    response
}
