//! Which Zebrunner credentials serve a tool call.
//!
//! Today every call uses one configured service account. The per-user vault
//! (credentials looked up by the caller's identity) becomes another variant
//! here, so tools never care where their client came from.

use zebrunner_client::ZebrunnerClient;

/// The source of the Zebrunner client for a call.
#[derive(Clone)]
pub enum Credentials {
    /// One shared Zebrunner account (`ZEBRUNNER_LOGIN` / `ZEBRUNNER_TOKEN`).
    ServiceAccount(ZebrunnerClient),
}

impl Credentials {
    /// The client that serves the current call.
    pub fn client(&self) -> &ZebrunnerClient {
        match self {
            Credentials::ServiceAccount(client) => client,
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::ServiceAccount(client) => f
                .debug_struct("ServiceAccount")
                .field("login", &client.login())
                .finish(),
        }
    }
}
