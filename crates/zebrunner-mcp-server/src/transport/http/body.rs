//! The body of a `POST /mcp`, checked before anything parses it: at most `max_body_bytes`
//! (413, as rmcp would answer) and nested at most `limits.max_json_depth` levels (400 with a
//! JSON-RPC error, see [`crate::transport::json_depth`]). It runs after the guard, so only
//! admitted callers get their body read; the bytes are passed on as read.

use std::sync::Arc;

use axum::{
    Json,
    body::Body,
    extract::{Request, State},
    http::{Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::transport::json_depth;

/// The limits the check applies.
pub struct BodyLimits {
    pub max_body_bytes: usize,
    pub max_json_depth: u32,
}

pub async fn check(
    State(limits): State<Arc<BodyLimits>>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST || limits.max_json_depth == 0 {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, limits.max_body_bytes).await else {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is larger than the {} bytes this server accepts \
                 (setting max_body_bytes)",
                limits.max_body_bytes
            ),
        );
    };
    let depth = json_depth::depth(&bytes);
    if depth > limits.max_json_depth {
        tracing::warn!(
            depth,
            limit = limits.max_json_depth,
            "refused a request nested too deeply"
        );
        return refuse(
            StatusCode::BAD_REQUEST,
            json_depth::too_deep_message(limits.max_json_depth),
        );
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// A JSON-RPC error without an id: the message was refused before its id was read.
fn refuse(status: StatusCode, message: String) -> Response {
    let body = json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": json_depth::INVALID_REQUEST, "message": message },
    });
    (status, Json(body)).into_response()
}
