//! Dynamic toolsets: a session that starts small and grows on request.
//!
//! Every tool in `tools/list` is read by the model on every turn, so a client may want only a
//! few at first. With `dynamic_toolsets` on, each MCP session starts with the toolsets in
//! `start_toolsets` (of those configured) and two more tools: `list_toolsets` says what else
//! there is, `enable_toolset` adds one toolset to this session and tells the client with
//! `notifications/tools/list_changed`. The configuration and the `X-Zebrunner-Toolsets` header
//! still bound what can be enabled: a session never sees a tool the server does not offer it.
//!
//! The state is per session: the HTTP transport makes each session's handler with
//! [`crate::ZebrunnerMcp::for_session`], which starts a fresh [`SessionToolsets`]. A request
//! without a session (the stateless 2026-07-28 protocol) has nothing to remember an enabled
//! toolset in; it chooses its toolsets with the header instead.

use std::sync::{Arc, Mutex};

use crate::toolsets::{Toolset, Toolsets};

/// The toolsets a session starts with unless configured otherwise: under 15 KB of tool
/// definitions (the `tool_list_budget` test measures it).
pub const DEFAULT_START: [&str; 2] = ["cases", "launches"];

/// The tools that manage a session's toolsets; offered only with dynamic toolsets on.
pub const TOOLS: [&str; 2] = ["list_toolsets", "enable_toolset"];

/// The toolsets one session has enabled so far.
#[derive(Debug, Clone)]
pub struct SessionToolsets {
    start: Toolsets,
    enabled: Arc<Mutex<Toolsets>>,
}

impl SessionToolsets {
    /// A session that starts with `start`.
    pub fn new(start: Toolsets) -> Self {
        Self {
            start,
            enabled: Arc::new(Mutex::new(start)),
        }
    }

    /// The same starting point for a new session, sharing nothing with this one.
    pub fn fresh(&self) -> Self {
        Self::new(self.start)
    }

    /// What this session has enabled (the start set and every toolset added since).
    pub fn enabled(&self) -> Toolsets {
        *self.enabled.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Enable `toolset` for the rest of the session; false when it already was.
    pub fn enable(&self, toolset: Toolset) -> bool {
        let mut enabled = self.enabled.lock().unwrap_or_else(|p| p.into_inner());
        if enabled.contains(toolset) {
            return false;
        }
        *enabled = enabled.with(toolset);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_start_alike_and_grow_apart() {
        let start = Toolsets::parse(&["cases"]).unwrap_or_default();
        let one = SessionToolsets::new(start);
        let two = one.fresh();
        assert!(one.enable(Toolset::Runs));
        assert!(
            !one.enable(Toolset::Runs),
            "a second enable changes nothing"
        );
        assert!(
            !one.enable(Toolset::Cases),
            "the start set is enabled already"
        );
        assert_eq!(one.enabled().to_string(), "cases,runs");
        assert_eq!(
            two.enabled().to_string(),
            "cases",
            "another session is unaffected"
        );
        assert_eq!(one.fresh().enabled().to_string(), "cases");
    }
}
