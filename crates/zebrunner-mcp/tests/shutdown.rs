//! Graceful shutdown of `zebrunner-mcp serve`, for real: the binary against the sandbox
//! Zebrunner (in this process), a tool call slowed down by the sandbox's fault injection, and
//! SIGTERM in the middle of it.
//!
//! - HTTP: the call in flight finishes and is answered, the session's idle GET stream is
//!   closed at once, new connections are refused at once, the process exits 0 within the grace
//!   period, and the call's audit record is in the database.
//! - HTTP, deadline passed: the process still exits 0 promptly, the call cut off.
//! - stdio: SIGTERM with stdin still open (as `docker stop` leaves it) ends the session after
//!   the call in flight has answered, exit 0, the record stored; so does EOF.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zebrunner_sandbox::{RunningSandbox, Sandbox, SandboxConfig};
use zebrunner_storage::Storage;
use zebrunner_storage::audit::{AuditFilter, AuditRecord, Outcome};

const PROTOCOL: &str = "2025-11-25";
/// A path every `get_test_case` call asks the sandbox for.
const SLOW_PATH: &str = "/api/public/v1/test-cases";

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1, one request per connection (`Connection: close`), so the test sees exactly
// when the server ends a response.

/// A request sent, its response read as it comes.
struct Exchange {
    stream: TcpStream,
    raw: Vec<u8>,
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Exchange {
    async fn send(
        addr: SocketAddr,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> std::io::Result<Exchange> {
        let mut stream = TcpStream::connect(addr).await?;
        let body = body.map(Value::to_string);
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(body) = &body {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await?;
        if let Some(body) = &body {
            stream.write_all(body.as_bytes()).await?;
        }
        Ok(Exchange {
            stream,
            raw: Vec::new(),
        })
    }

    /// Read until the response so far contains `needle`; false at end of stream.
    async fn until(&mut self, needle: &str) -> bool {
        let mut buffer = [0u8; 8192];
        loop {
            if contains(&self.raw, needle.as_bytes()) {
                return true;
            }
            match self.stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return false,
                Ok(read) => self.raw.extend_from_slice(&buffer[..read]),
            }
        }
    }

    /// Read to the end of the stream (a reset counts as the end).
    async fn finish(mut self) -> Reply {
        let mut buffer = [0u8; 8192];
        loop {
            match self.stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => self.raw.extend_from_slice(&buffer[..read]),
            }
        }
        parse(&self.raw)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn parse(raw: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(raw);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Reply {
            status: 0,
            headers: Vec::new(),
            body: text.into_owned(),
        };
    };
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// A chunked body, as far as it goes (a cut-off one gives what arrived).
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
        else {
            break;
        };
        if size == 0 || rest.len() < size {
            out.push_str(&rest[..size.min(rest.len())]);
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].strip_prefix("\r\n").unwrap_or(&rest[size..]);
    }
    out
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The JSON-RPC messages of a JSON or SSE body.
    fn messages(&self) -> Vec<Value> {
        if self
            .header("content-type")
            .is_some_and(|t| t.contains("text/event-stream"))
        {
            self.body
                .split("\n\n")
                .map(|event| {
                    event
                        .lines()
                        .filter_map(|l| l.strip_prefix("data:"))
                        .map(|l| l.strip_prefix(' ').unwrap_or(l))
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .filter(|data| data.trim_start().starts_with('{'))
                .filter_map(|data| serde_json::from_str(&data).ok())
                .collect()
        } else {
            serde_json::from_str(&self.body).into_iter().collect()
        }
    }

    fn response(&self, id: u64) -> Option<Value> {
        self.messages().into_iter().find(|m| {
            m["id"] == json!(id) && (m.get("result").is_some() || m.get("error").is_some())
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The sandbox and the server.

async fn sandbox() -> RunningSandbox {
    Sandbox::spawn(SandboxConfig::default(), "127.0.0.1:0")
        .await
        .unwrap()
}

fn sandbox_addr(sandbox: &RunningSandbox) -> SocketAddr {
    let url = url::Url::parse(&sandbox.url).unwrap();
    url.socket_addrs(|| None).unwrap()[0]
}

/// Slow down the next Zebrunner request for a test case by `latency`.
async fn slow_down_next_call(sandbox: &RunningSandbox, latency: Duration) {
    let fault =
        json!({"path_prefix": SLOW_PATH, "latency_ms": latency.as_millis() as u64, "count": 1});
    let reply = Exchange::send(
        sandbox_addr(sandbox),
        "POST",
        "/__sandbox/faults",
        &[],
        Some(&fault),
    )
    .await
    .unwrap()
    .finish()
    .await;
    assert!(
        reply.status < 300,
        "add fault: {} {}",
        reply.status,
        reply.body
    );
}

/// Wait until the slowed-down request has reached the sandbox (its fault is used up).
async fn wait_for_the_slow_request(sandbox: &RunningSandbox) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = Exchange::send(sandbox_addr(sandbox), "GET", "/__sandbox/faults", &[], None)
            .await
            .unwrap()
            .finish()
            .await;
        let faults: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
        let pending = match &faults {
            Value::Array(list) => !list.is_empty(),
            Value::Object(map) => map
                .get("faults")
                .and_then(Value::as_array)
                .is_some_and(|l| !l.is_empty()),
            _ => true,
        };
        if !pending {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the tool call never reached the sandbox: {}",
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct Server {
    child: Child,
    data: tempfile::TempDir,
    log: std::path::PathBuf,
    stdout: mpsc::Receiver<String>,
    stdin: Option<ChildStdin>,
}

impl Server {
    fn start(sandbox: &RunningSandbox, transport: &str, grace_secs: u64) -> Server {
        let data = tempfile::tempdir().unwrap();
        let log = data.path().join("server.log");
        let user = sandbox.sandbox.users().into_iter().next().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_zebrunner-mcp"));
        command
            .args(["serve", "--transport", transport])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .env("ZMCP_DATA_DIR", data.path())
            .env("ZMCP_SHUTDOWN_GRACE_SECS", grace_secs.to_string())
            .env("ZEBRUNNER_URL", &sandbox.url)
            .env("ZEBRUNNER_LOGIN", &user.login)
            .env("ZEBRUNNER_TOKEN", &user.token)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        if transport == "http" {
            command.args(["--listen", "127.0.0.1:0"]);
        }
        let mut child = command.spawn().unwrap();
        let out = child.stdout.take().unwrap();
        let (lines, stdout) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Server {
            child,
            data,
            log,
            stdout,
            stdin,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The next line on stdout.
    fn line(&self, within: Duration) -> String {
        self.stdout
            .recv_timeout(within)
            .unwrap_or_else(|e| panic!("no line on stdout ({e}); log:\n{}", self.log()))
    }

    /// The HTTP address the server printed.
    fn http_addr(&self) -> SocketAddr {
        let line = self.line(Duration::from_secs(60));
        let url = line
            .strip_prefix("mcp listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}; log:\n{}", self.log()));
        url::Url::parse(url).unwrap().socket_addrs(|| None).unwrap()[0]
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Wait for the process to end, at most `within`.
    fn wait(&mut self, within: Duration) -> (ExitStatus, Duration) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, started.elapsed());
            }
            if started.elapsed() > within {
                let _ = self.child.kill();
                panic!(
                    "the server did not exit within {within:?}; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    async fn audit(&self, tool: &str) -> Vec<AuditRecord> {
        let storage = Storage::connect(&Storage::default_sqlite_url(self.data.path()))
            .await
            .unwrap();
        let records = storage
            .query_audit(&AuditFilter {
                tool: Some(tool.into()),
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        storage.close().await;
        records
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// MCP over HTTP with a session (2025-11-25).

fn session_headers(session: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Accept", "application/json, text/event-stream".into()),
        ("Mcp-Session-Id", session.into()),
        ("Mcp-Protocol-Version", PROTOCOL.into()),
    ]
}

fn borrowed<'a>(headers: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    headers.iter().map(|(n, v)| (*n, v.as_str())).collect()
}

/// `initialize` and `notifications/initialized`; the session id.
async fn open_session(addr: SocketAddr) -> String {
    let init = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": PROTOCOL, "capabilities": {},
                   "clientInfo": {"name": "shutdown-test", "version": "1.0.0"}}
    });
    let reply = Exchange::send(
        addr,
        "POST",
        "/mcp",
        &[("Accept", "application/json, text/event-stream")],
        Some(&init),
    )
    .await
    .unwrap()
    .finish()
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.response(1).is_some(), "{}", reply.body);
    let session = reply.header("mcp-session-id").unwrap().to_string();
    let headers = session_headers(&session);
    let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let reply = Exchange::send(addr, "POST", "/mcp", &borrowed(&headers), Some(&done))
        .await
        .unwrap()
        .finish()
        .await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    session
}

fn get_test_case(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": "get_test_case", "arguments": {"key": "DEMO-1"}}})
}

async fn refused(addr: SocketAddr) -> bool {
    matches!(TcpStream::connect(addr).await, Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_call_in_flight_finish_and_refuses_new_connections() {
    let sandbox = sandbox().await;
    let mut server = Server::start(&sandbox, "http", 15);
    let addr = server.http_addr();
    let session = open_session(addr).await;
    let headers = session_headers(&session);

    // The session's standalone GET stream, open and idle.
    let mut stream = Exchange::send(addr, "GET", "/mcp", &borrowed(&headers), None)
        .await
        .unwrap();
    assert!(stream.until("\r\n\r\n").await, "the GET stream opens");
    let stream = tokio::spawn(async move {
        let reply = stream.finish().await;
        (reply, Instant::now())
    });

    // A call that takes 3 s in Zebrunner.
    slow_down_next_call(&sandbox, Duration::from_secs(3)).await;
    let call = Exchange::send(
        addr,
        "POST",
        "/mcp",
        &borrowed(&headers),
        Some(&get_test_case(7)),
    )
    .await
    .unwrap();
    let call = tokio::spawn(async move {
        let reply = call.finish().await;
        (reply, Instant::now())
    });
    wait_for_the_slow_request(&sandbox).await;

    server.sigterm();
    let signalled = Instant::now();

    // New connections are refused at once, long before the call ends.
    let deadline = signalled + Duration::from_secs(2);
    while !refused(addr).await {
        assert!(
            Instant::now() < deadline,
            "connections still accepted 2 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused_after = signalled.elapsed();

    // The idle GET stream is closed at once, too.
    let (get, get_ended) = tokio::time::timeout(Duration::from_secs(5), stream)
        .await
        .expect("the GET stream ends after SIGTERM")
        .unwrap();
    assert_eq!(get.status, 200, "{}", get.body);
    assert!(
        get_ended - signalled < Duration::from_secs(2),
        "the GET stream ended {:?} after SIGTERM",
        get_ended - signalled
    );

    // The call in flight is answered.
    let (reply, answered) = tokio::time::timeout(Duration::from_secs(20), call)
        .await
        .expect("the call is answered")
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let response = reply.response(7).unwrap_or_else(|| {
        panic!(
            "no answer to the call: {}; log:\n{}",
            reply.body,
            server.log()
        )
    });
    let result = &response["result"];
    assert_ne!(result["isError"], json!(true), "{response}");
    assert!(
        result["structuredContent"]["test_case"].is_object(),
        "{response}"
    );
    assert!(answered > get_ended && answered - signalled > refused_after);

    // The process exits 0 soon after, well within the grace period.
    let (status, waited) = server.wait(Duration::from_secs(15));
    assert!(status.success(), "exit {status:?}; log:\n{}", server.log());
    assert!(
        signalled.elapsed() < Duration::from_secs(10),
        "exited {:?} after SIGTERM (waited {waited:?})",
        signalled.elapsed()
    );

    // And the call's audit record is in the database.
    let records = server.audit("get_test_case").await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].outcome, Outcome::Ok);
    assert_eq!(records[0].transport, "http");
    assert!(
        server.log().contains("every request in flight finished"),
        "{}",
        server.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_deadline_the_server_still_exits_promptly() {
    let sandbox = sandbox().await;
    let mut server = Server::start(&sandbox, "http", 1);
    let addr = server.http_addr();
    let session = open_session(addr).await;
    let headers = session_headers(&session);

    // A call that would take 20 s in Zebrunner.
    slow_down_next_call(&sandbox, Duration::from_secs(20)).await;
    let call = Exchange::send(
        addr,
        "POST",
        "/mcp",
        &borrowed(&headers),
        Some(&get_test_case(9)),
    )
    .await
    .unwrap();
    let call = tokio::spawn(call.finish());
    wait_for_the_slow_request(&sandbox).await;

    server.sigterm();
    let signalled = Instant::now();
    let (status, _) = server.wait(Duration::from_secs(15));
    let took = signalled.elapsed();
    assert!(status.success(), "exit {status:?}; log:\n{}", server.log());
    // 1 s of grace, then at most a couple of seconds to close.
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "exited {took:?} after SIGTERM; log:\n{}",
        server.log()
    );
    let reply = tokio::time::timeout(Duration::from_secs(5), call)
        .await
        .expect("the cut-off call's connection is closed")
        .unwrap();
    assert!(reply.response(9).is_none(), "{}", reply.body);
    assert!(
        server.log().contains("cut off"),
        "the log says calls were cut off:\n{}",
        server.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_every_answered_call_is_audited() {
    let sandbox = sandbox().await;
    let mut server = Server::start(&sandbox, "http", 15);
    let addr = server.http_addr();
    let session = open_session(addr).await;
    // Every call takes 300 ms in Zebrunner, so some are always in flight.
    let fault = json!({"path_prefix": SLOW_PATH, "latency_ms": 300});
    let reply = Exchange::send(
        sandbox_addr(&sandbox),
        "POST",
        "/__sandbox/faults",
        &[],
        Some(&fault),
    )
    .await
    .unwrap()
    .finish()
    .await;
    assert!(reply.status < 300, "{}", reply.body);

    // Four clients call in a loop until the server stops taking connections.
    let workers: Vec<_> = (0..4u64)
        .map(|worker| {
            let headers = session_headers(&session);
            tokio::spawn(async move {
                let (mut answered, mut unanswered) = (0u32, 0u32);
                for n in 0.. {
                    let id = 1000 * (worker + 1) + n;
                    let Ok(call) = Exchange::send(
                        addr,
                        "POST",
                        "/mcp",
                        &borrowed(&headers),
                        Some(&get_test_case(id)),
                    )
                    .await
                    else {
                        break;
                    };
                    let reply = call.finish().await;
                    match reply.response(id) {
                        Some(response) => {
                            assert_ne!(response["result"]["isError"], json!(true), "{response}");
                            answered += 1;
                        }
                        None => unanswered += 1,
                    }
                }
                (answered, unanswered)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.sigterm();
    let (mut answered, mut unanswered) = (0, 0);
    for worker in workers {
        let (a, u) = tokio::time::timeout(Duration::from_secs(20), worker)
            .await
            .expect("the clients stop once connections are refused")
            .unwrap();
        answered += a;
        unanswered += u;
    }
    let (status, _) = server.wait(Duration::from_secs(20));
    assert!(status.success(), "exit {status:?}; log:\n{}", server.log());
    eprintln!("{answered} calls answered, {unanswered} closed without an answer");
    assert!(answered >= 8, "{answered} calls answered");
    let records = server.audit("get_test_case").await;
    let ok = records.iter().filter(|r| r.outcome == Outcome::Ok).count();
    assert_eq!(
        ok, answered as usize,
        "every answered call is audited, and only those ({unanswered} got no answer)"
    );
}

// ---------------------------------------------------------------------------------------------
// stdio.

fn send_line(stdin: &mut ChildStdin, message: &Value) {
    writeln!(stdin, "{message}").unwrap();
    stdin.flush().unwrap();
}

/// Initialize a stdio session.
fn stdio_session(server: &mut Server) -> ChildStdin {
    let mut stdin = server.stdin.take().unwrap();
    send_line(
        &mut stdin,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": PROTOCOL, "capabilities": {},
                           "clientInfo": {"name": "shutdown-test", "version": "1.0.0"}}}),
    );
    let init: Value = serde_json::from_str(&server.line(Duration::from_secs(60))).unwrap();
    assert!(init["result"].is_object(), "{init}");
    send_line(
        &mut stdin,
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    );
    stdin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_sigterm_answers_the_call_in_flight_and_exits_cleanly() {
    let sandbox = sandbox().await;
    let mut server = Server::start(&sandbox, "stdio", 10);
    // Kept open, as `docker stop` leaves it: the server must not wait for EOF.
    let mut stdin = stdio_session(&mut server);

    slow_down_next_call(&sandbox, Duration::from_millis(1500)).await;
    send_line(&mut stdin, &get_test_case(5));
    wait_for_the_slow_request(&sandbox).await;
    server.sigterm();
    let signalled = Instant::now();

    let answer: Value = serde_json::from_str(&server.line(Duration::from_secs(10))).unwrap();
    assert_eq!(answer["id"], json!(5), "{answer}");
    assert_ne!(answer["result"]["isError"], json!(true), "{answer}");
    let (status, _) = server.wait(Duration::from_secs(10));
    assert!(status.success(), "exit {status:?}; log:\n{}", server.log());
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "exited {:?} after SIGTERM",
        signalled.elapsed()
    );
    let records = server.audit("get_test_case").await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].transport, "stdio");
    drop(stdin);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_eof_ends_the_session_with_the_record_stored() {
    let sandbox = sandbox().await;
    let mut server = Server::start(&sandbox, "stdio", 10);
    let mut stdin = stdio_session(&mut server);
    send_line(&mut stdin, &get_test_case(2));
    let answer: Value = serde_json::from_str(&server.line(Duration::from_secs(30))).unwrap();
    assert_eq!(answer["id"], json!(2), "{answer}");
    drop(stdin);
    let (status, _) = server.wait(Duration::from_secs(10));
    assert!(status.success(), "exit {status:?}; log:\n{}", server.log());
    assert_eq!(server.audit("get_test_case").await.len(), 1);
}
