//! Which user opened which session: a request naming a session is let through only when
//! the session is bound to the caller (see the [parent module](super)).

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
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
}
