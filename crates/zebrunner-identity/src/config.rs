//! [`OidcConfig`]: which issuer and audience to trust, which algorithms and
//! clients to accept, and how to read groups. [`OidcConfig::validate`]
//! refuses configurations that cannot be safe (plain-http issuers off
//! loopback, symmetric algorithms).

use std::time::Duration;

use jsonwebtoken::Algorithm;
use url::{Host, Url};

use crate::error::ConfigError;

/// Algorithms a configuration may allow: asymmetric only.
pub const ACCEPTABLE_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Largest accepted clock-skew leeway.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);

/// How to validate access tokens from one OIDC / OAuth issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// Exact `iss`, e.g. `https://acme.okta.com/oauth2/default`.
    pub issuer: String,
    /// Exact `aud` the tokens must carry (string, or one of an array).
    pub audience: String,
    /// Allowed signing algorithms. Default `[RS256]` (what Okta uses).
    pub algorithms: Vec<Algorithm>,
    /// Clock-skew leeway for `exp`, `nbf` and `iat`. Default 60 s.
    pub leeway: Duration,
    /// Allowed client ids (`cid`, else `client_id`, else `azp`); empty
    /// accepts any client.
    pub allowed_client_ids: Vec<String>,
    /// Claim holding the user's groups. Default `groups`.
    pub groups_claim: String,
    /// Client ids whose user-less (client-credentials) tokens are accepted.
    pub service_clients: Vec<String>,
}

impl OidcConfig {
    /// A configuration with the defaults: RS256, 60 s leeway, any client,
    /// `groups`, no service clients.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        OidcConfig {
            issuer: issuer.into(),
            audience: audience.into(),
            algorithms: vec![Algorithm::RS256],
            leeway: Duration::from_secs(60),
            allowed_client_ids: Vec::new(),
            groups_claim: "groups".to_owned(),
            service_clients: Vec::new(),
        }
    }

    /// Checks the configuration; the error says what to change.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url =
            Url::parse(&self.issuer).map_err(|_| ConfigError::IssuerNotUrl(self.issuer.clone()))?;
        if url.cannot_be_a_base() || url.host().is_none() {
            return Err(ConfigError::IssuerNotUrl(self.issuer.clone()));
        }
        check_secure_url(&url).map_err(|()| ConfigError::IssuerNotHttps(self.issuer.clone()))?;
        if url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
            || self.issuer.contains(['?', '#'])
        {
            return Err(ConfigError::IssuerHasExtras(self.issuer.clone()));
        }
        if self.audience.trim().is_empty() {
            return Err(ConfigError::AudienceEmpty);
        }
        if self.algorithms.is_empty() {
            return Err(ConfigError::NoAlgorithms);
        }
        if let Some(bad) = self
            .algorithms
            .iter()
            .find(|a| !ACCEPTABLE_ALGORITHMS.contains(a))
        {
            return Err(ConfigError::AlgorithmNotAllowed(*bad));
        }
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::LeewayTooLarge(self.leeway.as_secs()));
        }
        if self.groups_claim.trim().is_empty() {
            return Err(ConfigError::GroupsClaimEmpty);
        }
        if self
            .allowed_client_ids
            .iter()
            .chain(&self.service_clients)
            .any(|c| c.trim().is_empty())
        {
            return Err(ConfigError::EmptyClientId);
        }
        Ok(())
    }
}

/// `https`, or `http` to a loopback host.
pub(crate) fn check_secure_url(url: &Url) -> Result<(), ()> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(url) => Ok(()),
        _ => Err(()),
    }
}

/// True for 127.0.0.0/8, `::1` and `localhost`.
pub fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost") || d.eq_ignore_ascii_case("localhost.")
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(issuer: &str) -> OidcConfig {
        OidcConfig::new(issuer, "https://mcp.example.com/mcp")
    }

    #[test]
    fn defaults() {
        let c = cfg("https://acme.okta.com/oauth2/default");
        assert_eq!(c.algorithms, vec![Algorithm::RS256]);
        assert_eq!(c.leeway, Duration::from_secs(60));
        assert_eq!(c.groups_claim, "groups");
        assert!(c.allowed_client_ids.is_empty() && c.service_clients.is_empty());
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn https_and_loopback_http_are_accepted() {
        for ok in [
            "https://acme.okta.com",
            "https://acme.okta.com/oauth2/default",
            "http://127.0.0.1:4011/oauth2/default",
            "http://127.8.9.10/x",
            "http://[::1]:8080",
            "http://localhost:9000/oauth2/default",
            "http://LOCALHOST:9000",
        ] {
            assert_eq!(cfg(ok).validate(), Ok(()), "{ok}");
        }
    }

    #[test]
    fn plain_http_off_loopback_is_refused() {
        for bad in [
            "http://acme.okta.com/oauth2/default",
            "http://10.0.0.1",
            "http://[::2]",
            "http://localhost.evil.com",
            "http://128.0.0.1",
            "ftp://127.0.0.1",
        ] {
            assert!(
                matches!(cfg(bad).validate(), Err(ConfigError::IssuerNotHttps(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn issuer_must_be_a_plain_url() {
        assert!(matches!(
            cfg("acme.okta.com").validate(),
            Err(ConfigError::IssuerNotUrl(_))
        ));
        assert!(matches!(
            cfg("").validate(),
            Err(ConfigError::IssuerNotUrl(_))
        ));
        assert!(matches!(
            cfg("mailto:a@b.c").validate(),
            Err(ConfigError::IssuerNotUrl(_))
        ));
        for bad in [
            "https://a.okta.com/oauth2/default?x=1",
            "https://a.okta.com/#f",
            "https://a.okta.com/?",
            "https://u:p@a.okta.com",
        ] {
            assert!(
                matches!(cfg(bad).validate(), Err(ConfigError::IssuerHasExtras(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn audience_algorithms_leeway_and_names() {
        let mut c = cfg("https://a.okta.com");
        c.audience = "  ".into();
        assert_eq!(c.validate(), Err(ConfigError::AudienceEmpty));

        let mut c = cfg("https://a.okta.com");
        c.algorithms.clear();
        assert_eq!(c.validate(), Err(ConfigError::NoAlgorithms));
        for sym in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            c.algorithms = vec![Algorithm::RS256, sym];
            assert_eq!(c.validate(), Err(ConfigError::AlgorithmNotAllowed(sym)));
        }
        c.algorithms = ACCEPTABLE_ALGORITHMS.to_vec();
        assert_eq!(c.validate(), Ok(()));

        c.leeway = Duration::from_secs(301);
        assert_eq!(c.validate(), Err(ConfigError::LeewayTooLarge(301)));
        c.leeway = Duration::from_secs(300);
        assert_eq!(c.validate(), Ok(()));

        c.groups_claim = String::new();
        assert_eq!(c.validate(), Err(ConfigError::GroupsClaimEmpty));
        c.groups_claim = "roles".into();
        c.service_clients = vec![String::new()];
        assert_eq!(c.validate(), Err(ConfigError::EmptyClientId));
    }

    #[test]
    fn errors_say_what_to_do() {
        let e = cfg("http://acme.okta.com")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("https") && e.contains("loopback"), "{e}");
    }
}
