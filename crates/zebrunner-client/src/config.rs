//! Client configuration: the workspace URL and the credentials.
//!
//! `ZEBRUNNER_URL` comes in two spellings in the wild — the bare workspace
//! host and the Public API base — so [`ZebrunnerUrl::parse`] accepts both and
//! derives the other. Secrets live in [`secrecy::SecretString`] and the
//! hand-written `Debug` impls never print them.

use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::error::Error;

/// Path of the TCM Public API below the workspace host.
const PUBLIC_API_PATH: &str = "/api/public/v1";

/// A validated Zebrunner workspace URL with both API bases derived from it.
#[derive(Clone, PartialEq, Eq)]
pub struct ZebrunnerUrl {
    /// Workspace host (plus an optional reverse-proxy prefix), used by the
    /// internal APIs (`/api/iam`, `/api/projects`, `/api/reporting`, ...).
    host: Url,
    /// `host` + `/api/public/v1`, used by the TCM Public API.
    public_api: Url,
}

impl ZebrunnerUrl {
    /// Parses `https://ws.zebrunner.com`, `https://ws.zebrunner.com/` or
    /// `https://ws.zebrunner.com/api/public/v1[/]`.
    ///
    /// Rejects non-http(s) schemes and URLs carrying credentials, a query or
    /// a fragment: those would either leak secrets into logs or be silently
    /// dropped when endpoint paths are appended.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let raw = s.trim();
        if raw.is_empty() {
            return Err(Error::config("ZEBRUNNER_URL is empty"));
        }
        let mut url = Url::parse(raw).map_err(|e| {
            Error::config(format!(
                "ZEBRUNNER_URL is not a valid URL ({e}); expected e.g. https://your-workspace.zebrunner.com"
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::config(format!(
                "ZEBRUNNER_URL must use http or https, not '{}'",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Error::config("ZEBRUNNER_URL has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::config(
                "ZEBRUNNER_URL must not contain credentials; use ZEBRUNNER_LOGIN and ZEBRUNNER_TOKEN",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(Error::config(
                "ZEBRUNNER_URL must not contain a query string or fragment",
            ));
        }

        let path = url.path().trim_end_matches('/');
        let prefix = path
            .strip_suffix(PUBLIC_API_PATH)
            .unwrap_or(path)
            .to_owned();
        url.set_path(if prefix.is_empty() { "/" } else { &prefix });
        let host = url;
        let mut public_api = host.clone();
        public_api.set_path(&format!("{prefix}{PUBLIC_API_PATH}"));
        Ok(Self { host, public_api })
    }

    /// Base for the internal APIs (Bearer auth).
    pub fn host(&self) -> &Url {
        &self.host
    }

    /// Base for the TCM Public API (Basic auth).
    pub fn public_api(&self) -> &Url {
        &self.public_api
    }

    /// The workspace address for links shown to people, without a trailing slash.
    pub fn web_url(&self) -> String {
        self.host.as_str().trim_end_matches('/').to_owned()
    }
}

impl fmt::Display for ZebrunnerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.web_url())
    }
}

impl fmt::Debug for ZebrunnerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZebrunnerUrl")
            .field("host", &self.host.as_str())
            .field("public_api", &self.public_api.as_str())
            .finish()
    }
}

impl std::str::FromStr for ZebrunnerUrl {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

/// Everything [`crate::ZebrunnerClient::new`] needs.
#[derive(Clone)]
pub struct ClientConfig {
    /// Workspace URL.
    pub url: ZebrunnerUrl,
    /// Zebrunner username (`ZEBRUNNER_LOGIN`), the Basic-auth user.
    pub login: String,
    /// API token (`ZEBRUNNER_TOKEN`): the Basic password and the IAM refresh token.
    pub token: SecretString,
    /// Client-side rate limit; `None` means unlimited.
    pub requests_per_second: Option<NonZeroU32>,
    /// Total time budget for one logical request including all retries.
    pub retry_deadline: Duration,
    /// Timeout of a single HTTP attempt.
    pub timeout: Duration,
    /// When to stop sending requests to a Zebrunner that does not answer.
    pub breaker: BreakerConfig,
}

/// The circuit breaker in front of a workspace (see `breaker` in the crate docs): after
/// `failures` requests in a row get no answer (connection errors, timeouts, 502/503/504
/// after their retries), requests fail at once for `cool_down`, then one probe decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Unanswered requests in a row that open the breaker; 0 turns it off.
    pub failures: u32,
    /// How long requests fail fast before one probe is let through.
    pub cool_down: Duration,
}

impl BreakerConfig {
    /// Default run of unanswered requests that opens the breaker.
    pub const DEFAULT_FAILURES: u32 = 5;
    /// Default time the breaker stays open.
    pub const DEFAULT_COOL_DOWN: Duration = Duration::from_secs(30);
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failures: Self::DEFAULT_FAILURES,
            cool_down: Self::DEFAULT_COOL_DOWN,
        }
    }
}

impl ClientConfig {
    /// Default total retry budget per logical request.
    pub const DEFAULT_RETRY_DEADLINE: Duration = Duration::from_secs(30);
    /// Default timeout of one HTTP attempt.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// A config with no rate limit, a 30 s retry deadline, a 30 s per-attempt timeout and the
    /// default circuit breaker.
    pub fn new(url: ZebrunnerUrl, login: impl Into<String>, token: SecretString) -> Self {
        Self {
            url,
            login: login.into(),
            token,
            requests_per_second: None,
            retry_deadline: Self::DEFAULT_RETRY_DEADLINE,
            timeout: Self::DEFAULT_TIMEOUT,
            breaker: BreakerConfig::default(),
        }
    }
}

/// What the clients of one workspace share (see [`crate::Workspace`]): everything of a
/// [`ClientConfig`] but the credentials.
#[derive(Clone, Debug)]
pub struct WorkspaceConfig {
    pub url: ZebrunnerUrl,
    /// Client-side rate limit for all clients of the workspace together; `None` means unlimited.
    pub requests_per_second: Option<NonZeroU32>,
    pub retry_deadline: Duration,
    pub timeout: Duration,
    /// One breaker for all clients of the workspace together.
    pub breaker: BreakerConfig,
}

impl WorkspaceConfig {
    /// No rate limit, the default retry deadline, per-attempt timeout and circuit breaker.
    pub fn new(url: ZebrunnerUrl) -> Self {
        Self {
            url,
            requests_per_second: None,
            retry_deadline: ClientConfig::DEFAULT_RETRY_DEADLINE,
            timeout: ClientConfig::DEFAULT_TIMEOUT,
            breaker: BreakerConfig::default(),
        }
    }
}

impl ClientConfig {
    /// The workspace part, without the credentials.
    pub fn workspace(&self) -> WorkspaceConfig {
        WorkspaceConfig {
            url: self.url.clone(),
            requests_per_second: self.requests_per_second,
            retry_deadline: self.retry_deadline,
            timeout: self.timeout,
            breaker: self.breaker,
        }
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("url", &self.url)
            .field("login", &self.login)
            .field("token", &"[REDACTED]")
            .field("requests_per_second", &self.requests_per_second)
            .field("retry_deadline", &self.retry_deadline)
            .field("timeout", &self.timeout)
            .field("breaker", &self.breaker)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> ZebrunnerUrl {
        match ZebrunnerUrl::parse(s) {
            Ok(u) => u,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn bare_host_with_and_without_slash() {
        for s in [
            "https://ws.zebrunner.com",
            "https://ws.zebrunner.com/",
            "  https://ws.zebrunner.com//  ",
        ] {
            let u = ok(s);
            assert_eq!(u.host().as_str(), "https://ws.zebrunner.com/");
            assert_eq!(
                u.public_api().as_str(),
                "https://ws.zebrunner.com/api/public/v1"
            );
            assert_eq!(u.web_url(), "https://ws.zebrunner.com");
        }
    }

    #[test]
    fn public_api_suffix_is_stripped() {
        for s in [
            "https://ws.zebrunner.com/api/public/v1",
            "https://ws.zebrunner.com/api/public/v1/",
        ] {
            let u = ok(s);
            assert_eq!(u.web_url(), "https://ws.zebrunner.com");
            assert_eq!(
                u.public_api().as_str(),
                "https://ws.zebrunner.com/api/public/v1"
            );
        }
    }

    #[test]
    fn port_and_prefix_are_kept() {
        let u = ok("http://127.0.0.1:8080/zeb/api/public/v1");
        assert_eq!(u.host().as_str(), "http://127.0.0.1:8080/zeb");
        assert_eq!(
            u.public_api().as_str(),
            "http://127.0.0.1:8080/zeb/api/public/v1"
        );
        assert_eq!(u.web_url(), "http://127.0.0.1:8080/zeb");
    }

    #[test]
    fn rejects_bad_urls() {
        for (s, needle) in [
            ("", "empty"),
            ("ws.zebrunner.com", "not a valid URL"),
            ("ftp://ws.zebrunner.com", "http or https"),
            ("https://bob:secret@ws.zebrunner.com", "credentials"),
            ("https://bob@ws.zebrunner.com", "credentials"),
            ("https://ws.zebrunner.com/?x=1", "query"),
            ("https://ws.zebrunner.com/#frag", "fragment"),
        ] {
            let err = ZebrunnerUrl::parse(s).expect_err(s).to_string();
            assert!(err.contains(needle), "{s}: {err}");
            assert!(!err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn debug_never_prints_the_token() {
        let cfg = ClientConfig::new(
            ok("https://ws.zebrunner.com"),
            "alice",
            SecretString::from("super-secret-token"),
        );
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains("super-secret-token"), "{dbg}");
        assert!(dbg.contains("alice"));
    }
}
