//! MCP clients waiting for a person to connect their Zebrunner account.
//!
//! A tool call without credentials asks the client, by URL-mode elicitation (MCP
//! 2025-11-25), to open the connect page. When the person then stores a token there, the
//! clients that accepted are told with `notifications/elicitation/complete` naming their
//! elicitation, so they can retry without the person saying so.
//!
//! The list lives in this process: with several replicas, only the clients connected to the
//! replica that served the page hear of it (the others see the token on their next call).
//! It is bounded: entries expire after [`WAIT_LIMIT`], and each person keeps their newest
//! [`MAX_PER_USER`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rmcp::{
    Peer, RoleServer,
    model::{CustomNotification, ServerNotification},
};
use serde_json::json;

/// How long a person may take between the client's question and the page.
pub const WAIT_LIMIT: Duration = Duration::from_secs(15 * 60);
const MAX_PER_USER: usize = 8;
const MAX_USERS: usize = 10_000;
/// The method MCP 2025-11-25 names for a finished URL-mode elicitation.
pub const COMPLETE_METHOD: &str = "notifications/elicitation/complete";

struct Waiter {
    peer: Peer<RoleServer>,
    elicitation_id: String,
    since: Instant,
}

#[derive(Default)]
pub struct ConnectWaiters {
    waiting: Mutex<HashMap<String, Vec<Waiter>>>,
}

impl ConnectWaiters {
    /// `peer` accepted elicitation `elicitation_id` for the person `user_key`.
    pub fn wait(&self, user_key: &str, peer: Peer<RoleServer>, elicitation_id: String) {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        waiting.retain(|_, list| {
            list.retain(|w| w.since.elapsed() < WAIT_LIMIT);
            !list.is_empty()
        });
        if waiting.len() >= MAX_USERS && !waiting.contains_key(user_key) {
            return;
        }
        let list = waiting.entry(user_key.to_owned()).or_default();
        if list.len() >= MAX_PER_USER {
            list.remove(0);
        }
        list.push(Waiter {
            peer,
            elicitation_id,
            since: Instant::now(),
        });
    }

    /// `user_key` connected: tell every client still waiting for them. Returns how many were
    /// told.
    pub async fn connected(&self, user_key: &str) -> usize {
        let waiters = {
            let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
            waiting.remove(user_key).unwrap_or_default()
        };
        let mut told = 0;
        for waiter in waiters
            .into_iter()
            .filter(|w| w.since.elapsed() < WAIT_LIMIT)
        {
            let notification = CustomNotification::new(
                COMPLETE_METHOD,
                Some(json!({ "elicitationId": waiter.elicitation_id })),
            );
            match waiter
                .peer
                .send_notification(ServerNotification::CustomNotification(notification))
                .await
            {
                Ok(()) => told += 1,
                // The client went away meanwhile; nothing to do.
                Err(error) => tracing::debug!(%error, "could not send elicitation/complete"),
            }
        }
        told
    }

    /// People with a client waiting (for tests and metrics).
    pub fn waiting_users(&self) -> usize {
        self.waiting.lock().map(|w| w.len()).unwrap_or_default()
    }
}
