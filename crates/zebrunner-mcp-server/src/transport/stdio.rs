//! MCP over stdin/stdout, for clients that start the server as a child
//! process (Claude Desktop, Claude Code, Cursor, VS Code).
//!
//! The session ends when the client closes stdin (EOF), or on the shutdown signal (SIGTERM,
//! Ctrl-C): then stdin is treated as closed, so no new request is read, and rmcp gives the
//! calls in flight a few seconds to answer (at most the shutdown grace period). Either way
//! the function returns normally and the caller closes the audit log.
//!
//! A call crosses one thread boundary: the stdin thread hands the request to the runtime
//! (`serve` runs stdio on a single-threaded runtime). Answers are written to stdout on the
//! runtime's thread itself ([`Stdout`]), not on Tokio's blocking pool, which would add two
//! hand-offs per answer.

use std::{
    future::Future,
    io::{Read, Write},
    task::Poll,
    time::Duration,
};

use anyhow::Context;
use futures::future::BoxFuture;
use rmcp::ServiceExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::{handler::ZebrunnerMcp, transport::json_depth};

/// Serve one MCP session on stdin/stdout until the client closes it.
/// Logs must go to stderr: stdout carries the protocol.
///
/// The future comes boxed so that rmcp's session machinery is compiled here,
/// once, and not again in every crate that awaits it (the binary, each test):
/// an `async fn` body is compiled where its future is polled.
pub fn serve(server: ZebrunnerMcp) -> BoxFuture<'static, anyhow::Result<()>> {
    serve_until(server, std::future::pending(), Duration::ZERO)
}

/// [`serve`] until the client closes stdin or `signal` completes; after the signal, calls in
/// flight get up to `grace` to answer.
pub fn serve_until(
    server: ZebrunnerMcp,
    signal: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> BoxFuture<'static, anyhow::Result<()>> {
    let signal: BoxFuture<'static, ()> = Box::pin(signal);
    Box::pin(async move {
        let stop = CancellationToken::new();
        let stdin = ClosedOn {
            inner: stdin_thread(server.message_limits().max_json_depth)?,
            stop: Box::pin(stop.clone().cancelled_owned()),
        };
        let watcher = {
            let stop = stop.clone();
            tokio::spawn(async move {
                signal.await;
                tracing::info!("shutting down: no new requests are read from stdin");
                stop.cancel();
            })
        };
        let result = session(server, stdin, &stop, grace).await;
        watcher.abort();
        result
    })
}

async fn session(
    server: ZebrunnerMcp,
    stdin: ClosedOn,
    stop: &CancellationToken,
    grace: Duration,
) -> anyhow::Result<()> {
    let running = match server.serve((stdin, Stdout)).await {
        Ok(running) => running,
        // Stopped before the client finished initializing: nothing to wait for.
        Err(_) if stop.is_cancelled() => return Ok(()),
        Err(error) => {
            return Err(error).context("the MCP client did not complete initialization on stdio");
        }
    };
    let waiting = running.waiting();
    tokio::pin!(waiting);
    let ended = tokio::select! {
        ended = &mut waiting => ended,
        () = stop.cancelled() => match tokio::time::timeout(grace, &mut waiting).await {
            Ok(ended) => ended,
            Err(_) => {
                tracing::warn!(
                    grace_secs = grace.as_secs_f64(),
                    "calls still in flight at the shutdown deadline were cut off"
                );
                return Ok(());
            }
        },
    };
    ended.context("the stdio session failed")?;
    Ok(())
}

/// Stdin, read on a thread of its own. Tokio's `stdin()` reads on the runtime's blocking
/// pool, and a read there cannot be cancelled: after a SIGTERM with stdin still open (as
/// `docker stop` leaves it) the runtime would wait for that read forever on exit. A plain
/// thread is not waited for. Lines nested deeper than `max_json_depth` are refused on the way
/// ([`json_depth::LineGate`]).
fn stdin_thread(max_json_depth: u32) -> anyhow::Result<tokio::io::DuplexStream> {
    let (reader, mut writer) = tokio::io::duplex(64 * 1024);
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buffer = vec![0u8; 64 * 1024];
            let mut gate = json_depth::LineGate::new(
                max_json_depth,
                rmcp::transport::async_rw::DEFAULT_MAX_LINE_LENGTH,
            );
            loop {
                let read = match stdin.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(read) => read,
                    Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(error) => {
                        tracing::warn!(%error, "could not read stdin");
                        break;
                    }
                };
                // The reading half is gone once the session ended: stop reading.
                let mut pass = |bytes: &[u8]| futures::executor::block_on(writer.write_all(bytes));
                if gate.feed(&buffer[..read], &mut pass).is_err() {
                    break;
                }
            }
            // Dropping the writer is the EOF the session sees.
        })
        .context("could not start the thread that reads stdin")?;
    Ok(reader)
}

/// A reader that reports end of input once `stop` is cancelled.
struct ClosedOn {
    inner: tokio::io::DuplexStream,
    stop: std::pin::Pin<Box<WaitForCancellationFutureOwned>>,
}

impl AsyncRead for ClosedOn {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.stop.as_mut().poll(cx).is_ready() {
            // Zero bytes read: end of input.
            return std::task::Poll::Ready(Ok(()));
        }
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

/// Stdout written directly from the runtime's thread. A pipe takes an answer at once unless the
/// client has stopped reading its answers, and then this one-client session cannot go on
/// anyway; Tokio's `stdout()` would instead hand every answer to its blocking pool and wait
/// for the pool to finish it.
struct Stdout;

impl AsyncWrite for Stdout {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(std::io::stdout().lock().write(buf))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Poll::Ready(std::io::stdout().lock().flush())
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.poll_flush(cx)
    }
}
