//! Binding MCP sessions (2025-11-25 `Mcp-Session-Id`) to the identity that
//! opened them, so that a session id alone never authenticates anyone: a
//! request on a session with another user's token is refused.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

/// Most sessions remembered; the oldest binding is dropped beyond this (its
/// session is then unusable by anyone but a new owner, never shared).
const MAX_BINDINGS: usize = 100_000;

#[derive(Debug, Clone, Default)]
pub struct SessionBindings {
    inner: Arc<Mutex<HashMap<String, (String, u64)>>>,
    counter: Arc<std::sync::atomic::AtomicU64>,
}

/// What a request may do with the session it names.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionCheck {
    /// The session is the caller's, or not yet bound.
    Allowed,
    /// The session belongs to someone else.
    OtherUser,
}

impl SessionBindings {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, u64)>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn check(&self, session: &str, user: &str) -> SessionCheck {
        match self.lock().get(session) {
            Some((owner, _)) if owner != user => SessionCheck::OtherUser,
            _ => SessionCheck::Allowed,
        }
    }

    /// Bind a newly issued session to its user.
    pub fn bind(&self, session: &str, user: &str) {
        let order = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_belong_to_their_opener() {
        let b = SessionBindings::default();
        assert_eq!(b.check("s1", "alice"), SessionCheck::Allowed);
        b.bind("s1", "alice");
        assert_eq!(b.check("s1", "alice"), SessionCheck::Allowed);
        assert_eq!(b.check("s1", "bob"), SessionCheck::OtherUser);
        b.forget("s1");
        assert_eq!(b.check("s1", "bob"), SessionCheck::Allowed);
    }
}
