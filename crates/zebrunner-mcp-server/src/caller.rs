//! The caller of one request: who they are (when identity is on), what the
//! policy grants them, and how they reached us.

use zebrunner_identity::Identity;

use crate::credentials::RequestCredentials;
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
    /// The Zebrunner login and token the request itself carried
    /// (`X-Zebrunner-Username`, `X-Zebrunner-Api-Token`), used only with
    /// `credentials = "headers"`; `Err` says what is wrong with them.
    pub zebrunner_headers: Option<Result<RequestCredentials, &'static str>>,
}

impl Caller {
    /// A caller without identity: the local user on stdio, or anyone who can
    /// reach a loopback HTTP server.
    pub fn local(transport: &'static str, read_only: bool) -> Self {
        Self {
            identity: None,
            grant: Grant::unrestricted(read_only),
            transport,
            zebrunner_headers: None,
        }
    }

    pub fn user_key(&self) -> Option<&str> {
        self.identity.as_ref().map(|i| i.user_key.as_str())
    }
}
