//! A fault proxy between the SDK and moto: HTTP/1.1 in, one request at a time per connection,
//! each forwarded to moto on a connection of its own, except those the rule refuses, which
//! get AWS's throttling answer or a dropped connection. Bounded: requests of at most 1 MiB,
//! and it stops with the test's runtime.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const MAX_REQUEST: usize = 1 << 20;

/// What the proxy does with the n-th request (counted from 0).
#[derive(Clone, Copy)]
pub enum Rule {
    /// Every `n`-th request answered with `ThrottlingException`.
    ThrottleEvery(usize),
    /// Everything forwarded.
    Pass,
}

pub struct FaultProxy {
    pub url: String,
    pub forwarded: Arc<AtomicUsize>,
    pub throttled: Arc<AtomicUsize>,
    /// While set, connections are closed at once (the service is unreachable).
    pub down: Arc<AtomicBool>,
}

impl FaultProxy {
    pub async fn start(upstream: &str, rule: Rule) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let proxy = FaultProxy {
            url,
            forwarded: Arc::default(),
            throttled: Arc::default(),
            down: Arc::default(),
        };
        let (forwarded, throttled, down) = (
            proxy.forwarded.clone(),
            proxy.throttled.clone(),
            proxy.down.clone(),
        );
        let seen = Arc::new(AtomicUsize::new(0));
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if down.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let (upstream, seen, forwarded, throttled, down) = (
                    upstream.clone(),
                    seen.clone(),
                    forwarded.clone(),
                    throttled.clone(),
                    down.clone(),
                );
                tokio::spawn(async move {
                    let counters = Counters {
                        seen: &seen,
                        forwarded: &forwarded,
                        throttled: &throttled,
                        down: &down,
                    };
                    let _ = serve(client, &upstream, rule, counters).await;
                });
            }
        });
        proxy
    }
}

struct Counters<'a> {
    seen: &'a AtomicUsize,
    forwarded: &'a AtomicUsize,
    throttled: &'a AtomicUsize,
    down: &'a AtomicBool,
}

async fn serve(
    mut client: TcpStream,
    upstream: &str,
    rule: Rule,
    counters: Counters<'_>,
) -> std::io::Result<()> {
    let Counters {
        seen,
        forwarded,
        throttled,
        down,
    } = counters;
    let mut buffer = Vec::new();
    loop {
        let Some((head, body)) = read_request(&mut client, &mut buffer).await? else {
            return Ok(());
        };
        // Down: kept-alive connections are cut too, mid-conversation.
        if down.load(Ordering::SeqCst) {
            return Ok(());
        }
        let n = seen.fetch_add(1, Ordering::SeqCst);
        let refuse = match rule {
            Rule::ThrottleEvery(every) => every > 0 && n % every == 0,
            Rule::Pass => false,
        };
        if refuse {
            throttled.fetch_add(1, Ordering::SeqCst);
            let body = br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
            let answer = format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\n\
                 x-amzn-ErrorType: ThrottlingException\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            client.write_all(answer.as_bytes()).await?;
            client.write_all(body).await?;
            continue;
        }
        forwarded.fetch_add(1, Ordering::SeqCst);
        // One upstream connection per request, closed by moto after its answer.
        let mut up = TcpStream::connect(upstream).await?;
        let head = with_connection_close(&head);
        up.write_all(head.as_bytes()).await?;
        up.write_all(&body).await?;
        let mut answer = Vec::new();
        up.read_to_end(&mut answer).await?;
        let answer = strip_connection_close(answer);
        client.write_all(&answer).await?;
    }
}

/// One request from `client`: its head (as text) and body; `None` at end of stream.
async fn read_request(
    client: &mut TcpStream,
    buffer: &mut Vec<u8>,
) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = find(buffer, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end + 4]).into_owned();
            let length = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())
                        .flatten()
                })
                .unwrap_or(0)
                .min(MAX_REQUEST);
            while buffer.len() < end + 4 + length {
                let n = client.read(&mut chunk).await?;
                if n == 0 {
                    return Ok(None);
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
            let body = buffer[end + 4..end + 4 + length].to_vec();
            buffer.drain(..end + 4 + length);
            return Ok(Some((head, body)));
        }
        if buffer.len() > MAX_REQUEST {
            return Ok(None);
        }
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn with_connection_close(head: &str) -> String {
    let mut lines: Vec<&str> = head
        .trim_end_matches("\r\n")
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    lines.push("Connection: close");
    format!("{}\r\n\r\n", lines.join("\r\n"))
}

/// moto's answer with its `Connection: close` removed, so the SDK keeps its connection to us.
fn strip_connection_close(answer: Vec<u8>) -> Vec<u8> {
    let Some(end) = find(&answer, b"\r\n\r\n") else {
        return answer;
    };
    let head = String::from_utf8_lossy(&answer[..end]).into_owned();
    let kept: Vec<&str> = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    let mut out = format!("{}\r\n\r\n", kept.join("\r\n")).into_bytes();
    out.extend_from_slice(&answer[end + 4..]);
    out
}
