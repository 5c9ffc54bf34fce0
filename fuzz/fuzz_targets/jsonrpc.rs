//! JSON-RPC through the server's entry point: the Streamable HTTP application (`/mcp`, the
//! guard, rmcp's transport, the `ZebrunnerMcp` handler and its tools) called in process with
//! `tower::ServiceExt::oneshot`, no socket in front of it. Behind it, the tools talk to an
//! in-process sandbox Zebrunner over loopback, so `tools/call` runs the tools for real.
//! Identity `none` (a loopback server), every tool offered, a fixed cursor key.
//!
//! Input: one mode byte, then the POST body (any bytes):
//! - `0`: a stateless 2026-07-28 request without the routing headers (refused: they are
//!   required);
//! - `2`: inside a fresh 2025-11-25 session (initialize and `notifications/initialized`
//!   first, `DELETE` after);
//! - `3`: no session and no version header (the handshake path: `initialize` opens a
//!   session, which is deleted after);
//! - anything else (seeds use `1`): a stateless 2026-07-28 request, with the `Mcp-Method`
//!   and `Mcp-Name` routing headers (SEP-2243) taken from the body when it is JSON.
//!
//! Never panics, and every request is answered within 10 s. `ZMCP_FUZZ_VERBOSE=1` prints each
//! answer (for writing seeds and reading a crash).
#![no_main]

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use http::{HeaderValue, Method, Request, Response, header};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;
use zebrunner_client::{ClientConfig, SecretString, ZebrunnerClient, ZebrunnerUrl};
use zebrunner_fuzz as fz;
use zebrunner_mcp_server::tools::cursor::CursorKey;
use zebrunner_mcp_server::transport::http::{Security, app};
use zebrunner_mcp_server::{Credentials, HttpOptions, ZebrunnerMcp};
use zebrunner_sandbox::{RunningSandbox, Sandbox, SandboxConfig};

const HOST: &str = "127.0.0.1:8080";
const SESSION_VERSION: &str = "2025-11-25";
const STATELESS_VERSION: &str = "2026-07-28";
/// Longest an answer may take: everything is in process, so ms are normal.
const DEADLINE: Duration = Duration::from_secs(10);

struct Harness {
    app: Router,
    verbose: bool,
    _sandbox: RunningSandbox,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        fz::block_on(async {
            zebrunner_client::install_crypto_provider();
            let sandbox = Sandbox::spawn(SandboxConfig::default(), "127.0.0.1:0")
                .await
                .unwrap_or_else(|e| panic!("sandbox: {e}"));
            let user = sandbox
                .sandbox
                .users()
                .into_iter()
                .find(|u| u.login.starts_with("alice"))
                .unwrap_or_else(|| panic!("the sandbox has no alice"));
            let url = ZebrunnerUrl::parse(&sandbox.url).unwrap_or_else(|e| panic!("url: {e}"));
            let mut client = ClientConfig::new(url, user.login, SecretString::from(user.token));
            // Nothing here is slow; a retry loop would only hide a hang.
            client.retry_deadline = Duration::from_secs(2);
            client.timeout = Duration::from_secs(2);
            let client = ZebrunnerClient::new(client).unwrap_or_else(|e| panic!("client: {e}"));
            let server = ZebrunnerMcp::new(Credentials::ServiceAccount(client))
                .with_cursor_key(CursorKey::new(fz::CURSOR_KEY));
            let bound: SocketAddr = HOST.parse().unwrap_or_else(|e| panic!("{e}"));
            let options = HttpOptions::new(bound);
            let app = app(
                server,
                &options,
                Security::open(false),
                bound,
                CancellationToken::new(),
                CancellationToken::new(),
            )
            .unwrap_or_else(|e| panic!("app: {e}"));
            Harness {
                app,
                verbose: fz::verbose(),
                _sandbox: sandbox,
            }
        })
    })
}

fn request(method: Method, body: Vec<u8>, headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::new(Body::from(body));
    *request.method_mut() = method;
    *request.uri_mut() = http::Uri::from_static("/mcp");
    let h = request.headers_mut();
    h.insert(header::HOST, HeaderValue::from_static(HOST));
    h.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            h.insert(name, value);
        }
    }
    request
}

/// Sends `request`, reads the whole answer; panics when there is none within [`DEADLINE`].
async fn send(h: &Harness, request: Request<Body>) -> (Response<()>, Vec<u8>) {
    let what = format!("{} {:?}", request.method(), request.headers());
    let answer = tokio::time::timeout(DEADLINE, async {
        let response = match h.app.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, 64 << 20)
            .await
            .map(|b| b.to_vec())
            .unwrap_or_else(|e| format!("(body error: {e})").into_bytes());
        (Response::from_parts(parts, ()), body)
    })
    .await;
    match answer {
        Ok((response, body)) => {
            if h.verbose {
                eprintln!(
                    "{} {:?}\n{}",
                    response.status(),
                    response.headers(),
                    String::from_utf8_lossy(&body)
                );
            }
            (response, body)
        }
        Err(_) => panic!("no answer within {DEADLINE:?} to {what}"),
    }
}

fn session_of(response: &Response<()>) -> Option<String> {
    response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn delete_session(h: &Harness, session: &str) {
    let headers = [
        ("mcp-session-id", session),
        ("mcp-protocol-version", SESSION_VERSION),
    ];
    send(h, request(Method::DELETE, Vec::new(), &headers)).await;
}

/// `Mcp-Method` and `Mcp-Name` as a client sets them for this body (SEP-2243).
fn routing_headers(body: &[u8]) -> Vec<(&'static str, String)> {
    let Ok(message) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(method) = message.get("method").and_then(Value::as_str) {
        out.push(("mcp-method", method.to_owned()));
    }
    let params = message.get("params");
    if let Some(name) = params
        .and_then(|p| p.get("name").or_else(|| p.get("uri")))
        .and_then(Value::as_str)
    {
        out.push(("mcp-name", name.to_owned()));
    }
    out
}

async fn in_session(h: &Harness, body: Vec<u8>) {
    let initialize = serde_json::json!({
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": SESSION_VERSION, "capabilities": {},
                   "clientInfo": {"name": "fuzz", "version": "1"}}
    });
    let (response, _) = send(
        h,
        request(
            Method::POST,
            serde_json::to_vec(&initialize).unwrap_or_default(),
            &[],
        ),
    )
    .await;
    let Some(session) = session_of(&response) else {
        panic!("initialize opened no session: {}", response.status());
    };
    let headers = [
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", SESSION_VERSION),
    ];
    let initialized = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_vec();
    send(h, request(Method::POST, initialized, &headers)).await;
    send(h, request(Method::POST, body, &headers)).await;
    delete_session(h, &session).await;
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let h = harness();
    let body = body.to_vec();
    fz::block_on(async {
        match mode {
            b'2' => in_session(h, body).await,
            b'3' => {
                let (response, _) = send(h, request(Method::POST, body, &[])).await;
                if let Some(session) = session_of(&response) {
                    delete_session(h, &session).await;
                }
            }
            _ => {
                let routing = if mode == b'0' {
                    Vec::new()
                } else {
                    routing_headers(&body)
                };
                let mut headers: Vec<(&str, &str)> =
                    vec![("mcp-protocol-version", STATELESS_VERSION)];
                headers.extend(routing.iter().map(|(n, v)| (*n, v.as_str())));
                let (response, _) = send(h, request(Method::POST, body, &headers)).await;
                // `initialize` always takes the session path, whatever version it names.
                if let Some(session) = session_of(&response) {
                    delete_session(h, &session).await;
                }
            }
        }
    });
});
