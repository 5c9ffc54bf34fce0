//! Graceful shutdown of the HTTP server (SIGTERM, Ctrl-C), in three steps:
//!
//! 1. **Drain** (the signal): the listener is closed, so new connections are refused at once
//!    and a load balancer moves on to another replica; every open connection is told to close
//!    after its current request (HTTP/1 keep-alive off, HTTP/2 `GOAWAY`); and the long-lived
//!    GET streams of `/mcp` (a session's standalone SSE stream, which never ends by itself)
//!    are ended by [`end_streams`]. Requests in flight, including a POST whose answer streams
//!    as SSE, go on: their streams end when the answer has been sent.
//! 2. **Deadline** (`shutdown_grace_secs` after the signal, or as soon as every connection
//!    has closed): rmcp's cancellation token is cancelled, which ends the MCP sessions and any
//!    response stream still open.
//! 3. **Close**: up to [`CLOSE`] more for connections to finish, then `run` returns; the caller
//!    closes the audit log and exits.
//!
//! rmcp's token is not cancelled at the signal because it cancels the session tasks, which
//! would cut off the calls the drain is waiting for.

use std::time::Duration;

use axum::{
    body::Body,
    extract::{Request, State},
    http::{Method, header::CONTENT_TYPE},
    middleware::Next,
    response::Response,
};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

/// After the deadline, how long connections get to close before `run` returns anyway.
pub const CLOSE: Duration = Duration::from_secs(2);

/// End a GET stream of `/mcp` (`text/event-stream`) when draining starts. Other responses,
/// including the SSE answer of a POST, pass unchanged: they end when their call does.
pub(super) async fn end_streams(
    State(draining): State<CancellationToken>,
    request: Request,
    next: Next,
) -> Response {
    let get = request.method() == Method::GET;
    let response = next.run(request).await;
    if get {
        until_drained(response, draining)
    } else {
        response
    }
}

/// `response` cut short when `draining` fires, if it is an event stream.
fn until_drained(response: Response, draining: CancellationToken) -> Response {
    let stream = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/event-stream"));
    if !stream {
        return response;
    }
    let (parts, body) = response.into_parts();
    // The SSE body's frames are whole events, so ending between two of them leaves the client
    // a well-formed stream that simply stops (it may reconnect elsewhere).
    let body = body
        .into_data_stream()
        .take_until(draining.cancelled_owned());
    Response::from_parts(parts, Body::from_stream(body))
}

#[cfg(test)]
mod tests {
    use axum::body::Bytes;
    use futures::stream;

    use super::*;

    /// An SSE answer that sends one event and then nothing, forever, like an idle session
    /// stream.
    fn idle_stream(content_type: &str) -> Response {
        let events = stream::iter([Ok::<_, std::io::Error>(Bytes::from("data: hi\n\n"))])
            .chain(stream::pending());
        Response::builder()
            .header(CONTENT_TYPE, content_type)
            .body(Body::from_stream(events))
            .unwrap()
    }

    #[tokio::test]
    async fn event_streams_end_when_draining_starts() {
        let draining = CancellationToken::new();
        let mut sse = until_drained(idle_stream("text/event-stream"), draining.clone())
            .into_body()
            .into_data_stream();
        let mut other = until_drained(idle_stream("application/json"), draining.clone())
            .into_body()
            .into_data_stream();
        assert_eq!(sse.next().await.unwrap().unwrap(), "data: hi\n\n");
        assert_eq!(other.next().await.unwrap().unwrap(), "data: hi\n\n");
        draining.cancel();
        let ended = tokio::time::timeout(Duration::from_secs(5), sse.next()).await;
        assert!(matches!(ended, Ok(None)), "the event stream ends");
        let open = tokio::time::timeout(Duration::from_millis(100), other.next()).await;
        assert!(open.is_err(), "anything else is left alone");
    }
}
