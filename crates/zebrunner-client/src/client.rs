//! [`ZebrunnerClient`]: the cheap-to-clone handle the rest of the crate hangs
//! endpoint methods on, plus the per-client caches.
//!
//! Caches follow the reference server's choices (§1.6 of the anchor):
//! project by key and all suites of a project for 5 minutes, automation
//! states / priorities / fields layout for 10 minutes. They are per client,
//! so per-user clients never share data.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;

use crate::auth::AuthIdentity;
use secrecy::SecretString;

use crate::config::{ClientConfig, WorkspaceConfig};
use crate::error::Error;
use crate::models::{FieldsLayout, NamedItem, Project, TestSuite};
use crate::transport::{Shared, Transport};

const SHORT_TTL: Duration = Duration::from_secs(5 * 60);
const LONG_TTL: Duration = Duration::from_secs(10 * 60);

/// Async client for one Zebrunner workspace and one user. Clones share the
/// connection pool, bearer, caches, rate limiter and request counter.
#[derive(Clone)]
pub struct ZebrunnerClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) transport: Transport,
    pub(crate) web_url: String,
    pub(crate) caches: Caches,
}

pub(crate) struct Caches {
    pub(crate) projects: Cache<String, Project>,
    pub(crate) suites: Cache<String, Arc<Vec<TestSuite>>>,
    pub(crate) automation_states: Cache<String, Arc<Vec<NamedItem>>>,
    pub(crate) priorities: Cache<String, Arc<Vec<NamedItem>>>,
    pub(crate) layouts: Cache<i64, FieldsLayout>,
}

impl Caches {
    fn new() -> Self {
        fn cache<K, V>(ttl: Duration, cap: u64) -> Cache<K, V>
        where
            K: std::hash::Hash + Eq + Send + Sync + 'static,
            V: Clone + Send + Sync + 'static,
        {
            Cache::builder().time_to_live(ttl).max_capacity(cap).build()
        }
        Self {
            projects: cache(SHORT_TTL, 100),
            suites: cache(SHORT_TTL, 50),
            automation_states: cache(LONG_TTL, 50),
            priorities: cache(LONG_TTL, 50),
            layouts: cache(LONG_TTL, 50),
        }
    }
}

/// One Zebrunner workspace, for clients of several users (the per-user vault, per-request
/// headers): they share one connection pool and one client-side rate limit, and each has its
/// own credentials, bearer, caches and request counter.
#[derive(Clone)]
pub struct Workspace {
    shared: Shared,
    web_url: String,
}

impl Workspace {
    /// Does not contact Zebrunner.
    pub fn new(cfg: &WorkspaceConfig) -> Result<Self, Error> {
        Ok(Self {
            shared: Shared::new(cfg)?,
            web_url: cfg.url.web_url(),
        })
    }

    /// A client acting as `login` with `token`. Does not contact Zebrunner; see
    /// [`ZebrunnerClient::check_credentials`].
    pub fn client(
        &self,
        login: impl Into<String>,
        token: SecretString,
    ) -> Result<ZebrunnerClient, Error> {
        Ok(ZebrunnerClient {
            inner: Arc::new(Inner {
                transport: Transport::new(self.shared.clone(), login.into(), token)?,
                web_url: self.web_url.clone(),
                caches: Caches::new(),
            }),
        })
    }

    /// The workspace address for links (no trailing slash).
    pub fn web_url(&self) -> &str {
        &self.web_url
    }

    /// Whether Zebrunner answers at this workspace's address, asked without credentials:
    /// one `GET <public API>/test-suites`, not retried, which Zebrunner refuses with 401 (or
    /// 403), the answer this expects. Sends no login or token, so it proves nothing about
    /// anyone's credentials (see [`ZebrunnerClient::check_credentials`]). An error says why:
    /// not reachable ([`Error::Network`]), no Zebrunner API there (404), failing (5xx), or an
    /// answer Zebrunner would not give.
    pub async fn check_reachable(&self) -> Result<(), Error> {
        self.shared.probe().await
    }

    /// The pool, addresses and limits every client of this workspace shares.
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }
}

impl ZebrunnerClient {
    /// Builds a client. Does not contact Zebrunner; see
    /// [`Self::check_credentials`].
    pub fn new(cfg: ClientConfig) -> Result<Self, Error> {
        Workspace::new(&cfg.workspace())?.client(cfg.login, cfg.token)
    }

    /// The configured Zebrunner login.
    pub fn login(&self) -> &str {
        self.inner.transport.login()
    }

    /// The workspace address for links (no trailing slash).
    pub fn web_url(&self) -> &str {
        &self.inner.web_url
    }

    /// HTTP requests sent since creation (every attempt, IAM refreshes included).
    pub fn requests_made(&self) -> u64 {
        self.inner.transport.requests_made()
    }

    /// Whether Zebrunner answers at this client's workspace, asked without credentials (see
    /// [`Workspace::check_reachable`]): for readiness probes, which must not spend the
    /// account's rate budget or prove its token.
    pub async fn check_reachable(&self) -> Result<(), Error> {
        self.inner.transport.shared().probe().await
    }

    /// Exchanges the token at IAM (always a fresh call) and reports who it
    /// belongs to. The new bearer is kept for later internal-API calls.
    pub async fn check_credentials(&self) -> Result<AuthIdentity, Error> {
        let t = &self.inner.transport;
        t.bearer.refresh(t).await
    }

    /// Empties every cache (the bearer is kept).
    pub fn clear_caches(&self) {
        let c = &self.inner.caches;
        c.projects.invalidate_all();
        c.suites.invalidate_all();
        c.automation_states.invalidate_all();
        c.priorities.invalidate_all();
        c.layouts.invalidate_all();
    }
}

impl fmt::Debug for ZebrunnerClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZebrunnerClient")
            .field("url", &self.inner.web_url)
            .field("login", &self.login())
            .field("requests_made", &self.requests_made())
            .finish_non_exhaustive()
    }
}

/// Runs `init` through a moka cache, handing every waiter the same result.
pub(crate) async fn cached<K, V, F>(cache: &Cache<K, V>, key: K, init: F) -> Result<V, Error>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    F: Future<Output = Result<V, Error>>,
{
    cache
        .try_get_with(key, init)
        .await
        .map_err(|e: Arc<Error>| Error::clone(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LaunchQuery, PageRequest, SecretString, TokenPageRequest, ZebrunnerUrl};

    fn is_send<T: Send>(_: &T) {}

    /// The MCP server spawns these futures on a multi-threaded runtime.
    #[test]
    fn futures_are_send() -> Result<(), Error> {
        let url = ZebrunnerUrl::parse("http://127.0.0.1:9")?;
        let c = ZebrunnerClient::new(ClientConfig::new(url, "a", SecretString::from("t")))?;
        is_send(&c.check_credentials());
        is_send(&c.test_cases_page("D", None, TokenPageRequest::default()));
        is_send(&c.all_test_suites("D"));
        is_send(&c.resolve_priority("D", "x"));
        is_send(&c.fields_layout("D"));
        is_send(&c.launches_page(1, &LaunchQuery::default(), PageRequest::default()));
        is_send(&c.test_case_changes(1, 1, 5));
        Ok(())
    }

    #[test]
    fn empty_credentials_are_rejected() -> Result<(), Error> {
        let url = ZebrunnerUrl::parse("https://ws.zebrunner.com")?;
        let err =
            ZebrunnerClient::new(ClientConfig::new(url.clone(), " ", SecretString::from("t")));
        assert!(matches!(err, Err(Error::Config(_))));
        let err = ZebrunnerClient::new(ClientConfig::new(url, "a", SecretString::from("")));
        assert!(matches!(err, Err(Error::Config(_))));
        Ok(())
    }
}
