//! MCP sessions (2025-11-25 `Mcp-Session-Id`) over Streamable HTTP: our session manager for
//! rmcp's HTTP service, and the binding of each session to the identity that opened it, so
//! that a session id alone never authenticates anyone.
//!
//! # Layout
//! - [`session`]: one session's state, and the transport its rmcp service reads and writes.
//!   Messages pass between the HTTP handlers and the service under a lock, with no task of
//!   their own: why this manager exists instead of rmcp's `LocalSessionManager`.
//! - [`bindings`]: which user opened which session. With identity on, a request naming a
//!   session is let through only when the session is bound to the caller: another user's
//!   session is refused, and so is a session id with no binding at all (fail closed). Past
//!   [`MAX_BINDINGS`](bindings::MAX_BINDINGS) the oldest binding is dropped, which only ends
//!   that session for its owner: it can never be taken over.
//!
//! - [`trim`]: giving the memory of closed sessions back to the system.
//!
//! [`Sessions`] drops a binding when its session ends: closed (`DELETE`), or idle for
//! [`KEEP_ALIVE`] with no request in flight. It also keeps the `zmcp_mcp_sessions_active`
//! gauge, set whenever a session opens or ends.

mod bindings;
mod session;
mod trim;

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

pub use bindings::{Binding, SessionBindings};
use futures::Stream;
use rmcp::{
    model::{ClientJsonRpcMessage, ServerJsonRpcMessage},
    transport::streamable_http_server::{SessionId, SessionManager, session::ServerSseMessage},
};
use session::{Session, SessionError, SessionTransport};
use tokio::sync::mpsc;

/// A session with no message in or out for this long, and no request in flight, ends (as
/// with rmcp's default manager).
pub const KEEP_ALIVE: Duration = Duration::from_secs(300);

/// The open sessions, for rmcp's Streamable HTTP service.
pub struct Sessions {
    open: RwLock<HashMap<SessionId, Arc<Session>>>,
    bindings: SessionBindings,
    keep_alive: Duration,
    trim: trim::Trim,
}

impl Sessions {
    pub fn new(bindings: SessionBindings) -> Self {
        Self {
            open: RwLock::default(),
            bindings,
            keep_alive: KEEP_ALIVE,
            trim: trim::Trim::default(),
        }
    }

    fn get(&self, id: &SessionId) -> Result<Arc<Session>, SessionError> {
        let open = self.open.read().unwrap_or_else(|p| p.into_inner());
        open.get(id).cloned().ok_or(SessionError::NotFound)
    }

    fn counted(&self, open: usize) {
        metrics::gauge!(crate::observe::metrics::SESSIONS_ACTIVE).set(open as f64);
    }
}

/// A stream of what a channel receives, ending when every sender is gone.
fn stream(
    mut receiver: mpsc::Receiver<ServerSseMessage>,
) -> impl Stream<Item = ServerSseMessage> + Send + Sync + 'static {
    futures::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

impl SessionManager for Sessions {
    type Error = SessionError;
    type Transport = SessionTransport;

    async fn create_session(&self) -> Result<(SessionId, SessionTransport), SessionError> {
        // A UUID v4 from the thread's CSPRNG, as rmcp's own session ids were.
        let id: SessionId = crate::audit::correlation_id().into();
        let session = Session::new();
        let count = {
            let mut open = self.open.write().unwrap_or_else(|p| p.into_inner());
            open.insert(id.clone(), session.clone());
            open.len()
        };
        self.counted(count);
        Ok((id, SessionTransport::new(session, self.keep_alive)))
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, SessionError> {
        let answered = self.get(id)?.initialize(message)?;
        answered.await.map_err(|_| SessionError::NoInitializeAnswer)
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, SessionError> {
        let live = self.get(id).is_ok();
        if !live {
            // Ended on its own: its binding goes with it.
            self.bindings.forget(id);
        }
        Ok(live)
    }

    /// Called on `DELETE`, and by rmcp when a session's service ends (an idle session too).
    async fn close_session(&self, id: &SessionId) -> Result<(), SessionError> {
        self.bindings.forget(id);
        let (session, count) = {
            let mut open = self.open.write().unwrap_or_else(|p| p.into_inner());
            (open.remove(id), open.len())
        };
        if let Some(session) = session {
            session.end();
            self.counted(count);
            self.trim.after_close();
        }
        Ok(())
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, SessionError> {
        Ok(stream(self.get(id)?.request(message)?))
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), SessionError> {
        self.get(id)?.accept(message)
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, SessionError> {
        Ok(stream(self.get(id)?.standalone()?))
    }

    /// The only event id a client holds is rmcp's priming id on a standalone stream; what
    /// was meant for that stream while it was closed waits in the session's backlog, so
    /// resuming is opening the standalone stream again.
    async fn resume(
        &self,
        id: &SessionId,
        _last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, SessionError> {
        self.create_standalone_stream(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn closing_a_session_drops_its_binding() {
        let bindings = SessionBindings::default();
        let sessions = Sessions::new(bindings.clone());
        let (id, _transport) = sessions.create_session().await.unwrap();
        bindings.bind(&id, "alice");
        assert!(sessions.has_session(&id).await.unwrap());
        sessions.close_session(&id).await.unwrap();
        assert_eq!(bindings.check(&id, "alice"), Binding::Unbound);
        assert!(!sessions.has_session(&id).await.unwrap());
        // An id the manager does not know loses any binding it had.
        bindings.bind("gone", "alice");
        assert!(!sessions.has_session(&"gone".into()).await.unwrap());
        assert_eq!(bindings.check("gone", "alice"), Binding::Unbound);
    }
}
