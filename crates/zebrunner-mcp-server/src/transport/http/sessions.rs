//! Binding MCP sessions (2025-11-25 `Mcp-Session-Id`) to the identity that
//! opened them, so that a session id alone never authenticates anyone.
//!
//! With identity on, a request naming a session is let through only when the
//! session is bound to the caller: another user's session is refused, and so
//! is a session id with no binding at all (fail closed). A binding lives as
//! long as its MCP session: [`BoundSessions`] wraps rmcp's session manager
//! and drops the binding when the session is closed (DELETE) or found gone
//! (idle expiry). Past [`MAX_BINDINGS`] the oldest binding is dropped, which
//! only ends that session for its owner: it can never be taken over.
//!
//! [`BoundSessions`] also keeps the `zmcp_mcp_sessions_active` gauge: the number of sessions
//! rmcp holds, set whenever one opens or closes (rmcp closes a session that idles out too).

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use futures::Stream;
use rmcp::{
    model::{ClientJsonRpcMessage, ServerJsonRpcMessage},
    transport::streamable_http_server::{
        SessionId, SessionManager, session::ServerSseMessage, session::local::LocalSessionManager,
    },
};

/// Most sessions remembered at once.
pub const MAX_BINDINGS: usize = 100_000;

#[derive(Debug, Clone, Default)]
pub struct SessionBindings {
    inner: Arc<Mutex<HashMap<String, (String, u64)>>>,
    counter: Arc<AtomicU64>,
}

/// What a request may do with the session it names.
#[derive(Debug, PartialEq, Eq)]
pub enum Binding {
    /// The session is the caller's.
    Owner,
    /// The session belongs to someone else.
    OtherUser,
    /// No binding: closed, expired, evicted, or never opened here.
    Unbound,
}

impl SessionBindings {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, u64)>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn check(&self, session: &str, user: &str) -> Binding {
        match self.lock().get(session) {
            Some((owner, _)) if owner == user => Binding::Owner,
            Some(_) => Binding::OtherUser,
            None => Binding::Unbound,
        }
    }

    /// Bind a newly issued session to its user.
    pub fn bind(&self, session: &str, user: &str) {
        let order = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut map = self.lock();
        if map.len() >= MAX_BINDINGS
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, (_, n))| *n)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(session.to_string(), (user.to_string(), order));
    }

    pub fn forget(&self, session: &str) {
        self.lock().remove(session);
    }
}

/// rmcp's in-memory session manager, with bindings that end with their
/// sessions.
pub struct BoundSessions {
    inner: LocalSessionManager,
    bindings: SessionBindings,
}

impl BoundSessions {
    pub fn new(bindings: SessionBindings) -> Self {
        Self {
            inner: LocalSessionManager::default(),
            bindings,
        }
    }

    /// Set the gauge of open sessions from rmcp's own table.
    async fn count(&self) {
        let open = self.inner.sessions.read().await.len();
        metrics::gauge!(crate::observe::metrics::SESSIONS_ACTIVE).set(open as f64);
    }
}

impl SessionManager for BoundSessions {
    type Error = <LocalSessionManager as SessionManager>::Error;
    type Transport = <LocalSessionManager as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        let created = self.inner.create_session().await;
        self.count().await;
        created
    }

    fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> impl Future<Output = Result<ServerJsonRpcMessage, Self::Error>> + Send {
        self.inner.initialize_session(id, message)
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        let live = self.inner.has_session(id).await?;
        if !live {
            // Expired on its own: its binding goes with it.
            self.bindings.forget(id);
        }
        Ok(live)
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.bindings.forget(id);
        let closed = self.inner.close_session(id).await;
        self.count().await;
        closed
    }

    fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> impl Future<
        Output = Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error>,
    > + Send {
        self.inner.create_stream(id, message)
    }

    fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.accept_message(id, message)
    }

    fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> impl Future<
        Output = Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error>,
    > + Send {
        self.inner.create_standalone_stream(id)
    }

    fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> impl Future<
        Output = Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error>,
    > + Send {
        self.inner.resume(id, last_event_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_belong_to_their_opener_and_unbound_ones_to_nobody() {
        let b = SessionBindings::default();
        assert_eq!(b.check("s1", "alice"), Binding::Unbound);
        b.bind("s1", "alice");
        assert_eq!(b.check("s1", "alice"), Binding::Owner);
        assert_eq!(b.check("s1", "bob"), Binding::OtherUser);
        b.forget("s1");
        assert_eq!(b.check("s1", "bob"), Binding::Unbound);
        assert_eq!(b.check("s1", "alice"), Binding::Unbound);
    }

    #[tokio::test]
    async fn closing_a_session_drops_its_binding() {
        let bindings = SessionBindings::default();
        let sessions = BoundSessions::new(bindings.clone());
        let (id, _transport) = sessions.create_session().await.unwrap();
        bindings.bind(&id, "alice");
        assert!(sessions.has_session(&id).await.unwrap());
        sessions.close_session(&id).await.unwrap();
        assert_eq!(bindings.check(&id, "alice"), Binding::Unbound);
        // An id the manager does not know loses any binding it had.
        bindings.bind("gone", "alice");
        assert!(!sessions.has_session(&"gone".into()).await.unwrap());
        assert_eq!(bindings.check("gone", "alice"), Binding::Unbound);
    }
}
