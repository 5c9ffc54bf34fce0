//! The caller of one request: who they are (when identity is on), what the
//! policy grants them, and how they reached us.

use zebrunner_identity::Identity;

use crate::policy::Grant;

/// Set by the HTTP guard on each request (and once for stdio), read by the
/// handler, carried into the audit record.
#[derive(Debug, Clone)]
pub struct Caller {
    /// `None` with identity `none` (stdio, or HTTP on loopback).
    pub identity: Option<Identity>,
    pub grant: Grant,
    /// `stdio` or `http`.
    pub transport: &'static str,
}

impl Caller {
    /// A caller without identity: the local user on stdio, or anyone who can
    /// reach a loopback HTTP server.
    pub fn local(transport: &'static str, read_only: bool) -> Self {
        Self {
            identity: None,
            grant: Grant::unrestricted(read_only),
            transport,
        }
    }

    pub fn user_key(&self) -> Option<&str> {
        self.identity.as_ref().map(|i| i.user_key.as_str())
    }
}
