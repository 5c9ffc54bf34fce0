//! MCP over stdin/stdout, for clients that start the server as a child
//! process (Claude Desktop, Claude Code, Cursor, VS Code).
//!
//! The session ends when the client closes stdin (EOF), or on the shutdown signal (SIGTERM,
//! Ctrl-C): then stdin is treated as closed, so no new request is read, and rmcp gives the
//! calls in flight a few seconds to answer (at most the shutdown grace period). Either way
//! the function returns normally and the caller closes the audit log.

use std::{future::Future, io::Read, time::Duration};

use anyhow::Context;
use futures::future::BoxFuture;
use rmcp::ServiceExt;
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::handler::ZebrunnerMcp;

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
            inner: stdin_thread()?,
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
    let running = match server.serve((stdin, tokio::io::stdout())).await {
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
/// thread is not waited for.
fn stdin_thread() -> anyhow::Result<tokio::io::DuplexStream> {
    let (reader, mut writer) = tokio::io::duplex(64 * 1024);
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buffer = vec![0u8; 64 * 1024];
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
                if futures::executor::block_on(writer.write_all(&buffer[..read])).is_err() {
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
