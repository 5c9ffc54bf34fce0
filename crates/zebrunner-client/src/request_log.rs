//! A per-call record of the Zebrunner requests made, so that an audit
//! record can say which requests one tool call caused even when many calls
//! share one client concurrently.
//!
//! Run the call inside [`RequestLog::scope`]; every HTTP attempt made in that
//! task is counted by method and path (never query strings or headers).

use std::{
    collections::BTreeMap,
    future::Future,
    sync::{Arc, Mutex},
};

tokio::task_local! {
    static CURRENT: RequestLog;
}

/// Requests counted by method and path.
#[derive(Debug, Clone, Default)]
pub struct RequestLog {
    counts: Arc<Mutex<BTreeMap<(String, String), u32>>>,
}

/// One line of a [`RequestLog`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCount {
    pub method: String,
    pub path: String,
    pub count: u32,
}

impl RequestLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Run `future` with every Zebrunner request it makes counted here.
    pub async fn scope<F: Future>(&self, future: F) -> F::Output {
        CURRENT.scope(self.clone(), future).await
    }

    /// The requests counted so far, ordered by method and path.
    pub fn entries(&self) -> Vec<RequestCount> {
        let counts = match self.counts.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        counts
            .iter()
            .map(|((method, path), count)| RequestCount {
                method: method.clone(),
                path: path.clone(),
                count: *count,
            })
            .collect()
    }

    /// Total requests counted.
    pub fn total(&self) -> u32 {
        self.entries().iter().map(|e| e.count).sum()
    }

    fn add(&self, method: &str, path: &str) {
        let mut counts = match self.counts.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *counts
            .entry((method.to_string(), path.to_string()))
            .or_insert(0) += 1;
    }
}

/// Count a request in the current call's log, if there is one.
pub(crate) fn record(method: &str, path: &str) {
    let _ = CURRENT.try_with(|log| log.add(method, path));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_only_inside_the_scope() {
        record("GET", "/outside");
        let log = RequestLog::new();
        log.scope(async {
            record("GET", "/a");
            record("GET", "/a");
            record("POST", "/b");
        })
        .await;
        assert_eq!(log.total(), 3);
        assert_eq!(
            log.entries()[0],
            RequestCount {
                method: "GET".into(),
                path: "/a".into(),
                count: 2
            }
        );
    }
}
