//! One correlation id per HTTP request ([`RequestId`]), outermost after the metrics layer: the
//! request's `X-Request-Id` when it is a bounded safe token, else a new one. The request runs
//! inside a `http.request` span carrying the id, the id and span travel in the request's
//! extensions to the tool call (which rmcp runs on another task, so it names the span as its
//! parent), and the response echoes the id in `X-Request-Id`. An unsafe inbound id is not
//! logged: it is replaced, and the response says which id was used.

use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};
use tracing::Instrument as _;

use crate::context::RequestId;

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

pub async fn correlate(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(RequestId::accept)
        .map(str::to_string)
        .unwrap_or_else(crate::audit::correlation_id);
    let span = tracing::info_span!(
        "http.request",
        correlation_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    request.extensions_mut().insert(RequestId {
        id: id.clone(),
        span: span.clone(),
    });
    let mut response = next.run(request).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}
