//! `config check`: every problem in a configuration, each with the setting
//! it concerns and what to do about it.

use std::net::IpAddr;

use super::{
    AuditSinkKind, Config, CredentialsMode, IdentityMode, Transport, VaultBackend, VaultKeySource,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The server refuses to start.
    Error,
    /// It starts, but probably not as intended.
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    /// The setting, as written in the file (`oidc.issuer`).
    pub setting: &'static str,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}: {}: {}", self.setting, self.message)
    }
}

const ASYMMETRIC: [&str; 9] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `public` is a plain `http` URL on a host other than loopback: fine for tests on this
/// machine, never for pages or an authorization server that others reach.
fn plain_http_beyond_loopback(public: &str) -> bool {
    url::Url::parse(public)
        .is_ok_and(|url| url.scheme() == "http" && !url.host_str().is_some_and(is_loopback_host))
}

fn is_project_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

impl Config {
    /// Everything wrong with this configuration; empty when it is sound.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut error = |setting, message: String| {
            out.push(Problem {
                severity: Severity::Error,
                setting,
                message,
            })
        };
        let http = self.transport == Transport::Http;
        let loopback = self.listen.ip().is_loopback();
        for (setting, message) in self
            .limits
            .problems()
            .into_iter()
            .chain(self.telemetry.problems())
        {
            error(setting, message);
        }

        match self.identity {
            IdentityMode::None if http && !loopback => error(
                "identity",
                format!(
                    "identity \"none\" lets anyone who reaches {} act as the service account; \
                     use it only on stdio or a loopback address, or set identity = \"oidc\"",
                    self.listen
                ),
            ),
            IdentityMode::Broker => {
                if !http {
                    error(
                        "identity",
                        "identity \"broker\" makes this server an OAuth authorization server, \
                         which needs the HTTP transport"
                            .into(),
                    );
                }
                if self.oidc.client_id.is_none() {
                    error(
                        "oidc.client_id",
                        "identity \"broker\" signs people in at Okta as this server's own web \
                         client: set oidc.client_id (ZMCP_OIDC_CLIENT_ID) and its secret \
                         (ZMCP_OIDC_CLIENT_SECRET or _FILE); redirect URI <public_url>/oauth/callback"
                            .into(),
                    );
                }
                if let Some(public) = &self.public_url
                    && plain_http_beyond_loopback(public)
                {
                    error(
                        "public_url",
                        format!(
                            "identity \"broker\" makes this server an OAuth authorization server \
                             whose issuer is public_url, and an authorization server must use \
                             HTTPS (OAuth 2.1, RFC 8414); {public:?} is plain http on a \
                             non-loopback host (put TLS in front and set an https public_url)"
                        ),
                    );
                }
                for (setting, message) in self.oauth.problems() {
                    error(setting, message);
                }
                if self.credentials != CredentialsMode::Vault
                    && let Some(client) = self
                        .oauth
                        .confidential_clients
                        .iter()
                        .find(|c| c.may(zebrunner_oauth::ConfidentialGrant::TokenExchange))
                {
                    error(
                        "oauth.confidential_clients",
                        format!(
                            "{}: the token_exchange grant hands out people's Zebrunner tokens \
                             from the vault, so it needs credentials = \"vault\"",
                            client.client_id
                        ),
                    );
                }
            }
            _ => {}
        }
        self.check_credentials(&mut error, http);
        if let Some(public) = &self.public_url {
            match url::Url::parse(public) {
                Ok(url) if !matches!(url.scheme(), "http" | "https") => {
                    error("public_url", format!("{public:?} must be an http(s) URL"))
                }
                Ok(url) if url.query().is_some() || url.fragment().is_some() => error(
                    "public_url",
                    format!("{public:?} must not have a query or fragment"),
                ),
                Ok(url) if url.path().trim_end_matches('/').ends_with("/mcp") => error(
                    "public_url",
                    format!("{public:?} is the base URL; leave out the trailing /mcp"),
                ),
                Ok(_) => {}
                Err(e) => error("public_url", format!("{public:?} is not a URL: {e}")),
            }
        }
        if matches!(self.identity, IdentityMode::Oidc | IdentityMode::Broker) {
            self.check_oidc(&mut error, http, loopback);
        }
        self.check_policy(&mut error);
        self.check_storage(&mut error);
        self.check_writes(&mut error);
        if let Some(path) = &self.review_rules_file
            && let Err(e) = crate::tools::review_test_case::ReviewRules::from_file(path)
        {
            error(
                "review_rules_file",
                format!("{e} (the format is in docs/review-rules.md)"),
            );
        }
        if self.max_body_bytes < 1024 {
            error(
                "max_body_bytes",
                format!(
                    "{} bytes is too small for MCP messages; use at least 1024",
                    self.max_body_bytes
                ),
            );
        }
        if let Some(metrics) = self.metrics_listen
            && http
            && metrics.port() == self.listen.port()
            && (metrics.ip() == self.listen.ip()
                || metrics.ip().is_unspecified()
                || self.listen.ip().is_unspecified())
        {
            error(
                "metrics_listen",
                format!(
                    "{metrics} is the MCP listener's address ({}): metrics get a listener of                      their own, so that they are never public by accident; pick another port",
                    self.listen
                ),
            );
        }
        if let Some(metrics) = self.metrics_listen
            && !metrics.ip().is_loopback()
        {
            out.push(Problem {
                severity: Severity::Warning,
                setting: "metrics_listen",
                message: format!(
                    "/metrics on {metrics} takes no token and shows tool names and traffic:                      make sure only the scraper reaches it (a private network or a firewall)"
                ),
            });
        }
        if self.shutdown_grace_secs >= 30 {
            out.push(Problem {
                severity: Severity::Warning,
                setting: "shutdown_grace_secs",
                message: format!(
                    "{} s is not below Kubernetes' default terminationGracePeriodSeconds \
                     (30 s): the server may be killed before it has closed and flushed; give \
                     the orchestrator's stop timeout about 10 s more than this",
                    self.shutdown_grace_secs
                ),
            });
        }
        if self.identity == IdentityMode::Oidc && !http {
            out.push(Problem {
                severity: Severity::Warning,
                setting: "identity",
                message: "stdio takes no access tokens (the MCP authorization spec applies to \
                          HTTP); identity \"oidc\" has no effect with transport \"stdio\""
                    .into(),
            });
        }
        if self.identity == IdentityMode::Broker {
            for (setting, message) in self.oauth.warnings() {
                out.push(Problem {
                    severity: Severity::Warning,
                    setting,
                    message,
                });
            }
        }
        if let Some(problem) = self.default_projects_problem() {
            out.push(problem);
        }
        if self.policy.read_scope == self.policy.write_scope {
            out.push(Problem {
                severity: Severity::Warning,
                setting: "policy.write_scope",
                message: "read and write scopes are the same, so every reader may write".into(),
            });
        }
        out
    }

    fn check_oidc(&self, error: &mut impl FnMut(&'static str, String), http: bool, loopback: bool) {
        match &self.oidc.issuer {
            None => error(
                "oidc.issuer",
                "identity \"oidc\" needs the issuer, e.g. https://acme.okta.com/oauth2/default \
                 (ZMCP_OIDC_ISSUER)"
                    .into(),
            ),
            Some(issuer) => match url::Url::parse(issuer) {
                Err(e) => error("oidc.issuer", format!("{issuer:?} is not a URL: {e}")),
                Ok(url) if url.scheme() == "https" => {}
                Ok(url)
                    if url.scheme() == "http" && url.host_str().is_some_and(is_loopback_host) => {}
                Ok(_) => error(
                    "oidc.issuer",
                    format!(
                        "{issuer:?} must use https (http is accepted only for a loopback issuer in tests)"
                    ),
                ),
            },
        }
        if self.oidc.algorithms.is_empty() {
            error(
                "oidc.algorithms",
                "list at least one algorithm, e.g. RS256".into(),
            );
        }
        for alg in &self.oidc.algorithms {
            if !ASYMMETRIC.contains(&alg.as_str()) {
                error(
                    "oidc.algorithms",
                    format!(
                        "{alg:?} is not accepted: only asymmetric algorithms ({}) can prove a token came from the issuer",
                        ASYMMETRIC.join(", ")
                    ),
                );
            }
        }
        if http && !loopback && self.public_url.is_none() {
            error(
                "public_url",
                format!(
                    "identity \"oidc\" on {} needs the URL clients use (ZMCP_PUBLIC_URL), for the \
                     token audience and the protected resource metadata",
                    self.listen
                ),
            );
        }
        if self.oidc.groups_claim.trim().is_empty() {
            error(
                "oidc.groups_claim",
                "must name a claim, e.g. \"groups\"".into(),
            );
        }
    }

    /// The AWS settings of the vault, when the vault uses AWS (the binary's `aws` feature is
    /// checked where the vault is opened).
    fn check_vault_aws(&self, error: &mut impl FnMut(&'static str, String)) {
        let vault = &self.vault;
        if vault.backend == VaultBackend::AwsSecretsManager {
            let prefix = &vault.aws_secret_prefix;
            if prefix.is_empty()
                || prefix.len() > 256
                || !prefix
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c))
            {
                error(
                    "vault.aws_secret_prefix",
                    "use 1 to 256 letters, digits and / _ + = . @ - (Secrets Manager's name \
                     characters), e.g. \"zebrunner-mcp/\""
                        .into(),
                );
            }
            let days = vault.aws_recovery_window_days;
            if days != 0 && !(7..=30).contains(&days) {
                error(
                    "vault.aws_recovery_window_days",
                    format!(
                        "{days}: Secrets Manager keeps deleted secrets 7 to 30 days; 0 deletes at once"
                    ),
                );
            }
        }
        if vault.key_source == VaultKeySource::AwsKms {
            if vault
                .aws_kms_key_id
                .as_deref()
                .is_none_or(|k| k.trim().is_empty())
            {
                error(
                    "vault.aws_kms_key_id",
                    "key source \"aws-kms\" needs the KMS key that wraps the data keys (key id, \
                     ARN or alias/...)"
                        .into(),
                );
            }
            if vault.aws_kms_cache_secs == 0 {
                error("vault.aws_kms_cache_secs", "must be at least 1".into());
            }
        }
    }

    /// Per-user credentials need a per-user key (identity) and, for headers, HTTP. The vault's
    /// keys come from the environment, which `zebrunner-mcp config check` and `serve` read.
    fn check_credentials(&self, error: &mut impl FnMut(&'static str, String), http: bool) {
        match self.credentials {
            CredentialsMode::ServiceAccount => {}
            CredentialsMode::Vault => {
                if !http {
                    error(
                        "credentials",
                        "credentials \"vault\" serves many people over HTTP; on stdio the local \
                         user's own ZEBRUNNER_LOGIN and ZEBRUNNER_TOKEN are the credentials \
                         (credentials = \"service-account\")"
                            .into(),
                    );
                } else if self.identity == IdentityMode::None {
                    error(
                        "credentials",
                        "credentials \"vault\" keeps one Zebrunner token per person, so it needs \
                         to know who calls: set identity = \"oidc\""
                            .into(),
                    );
                }
                if let Some(url) = &self.vault.connect_url
                    && !url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
                {
                    error(
                        "vault.connect_url",
                        format!("{url:?} is not an http(s) URL"),
                    );
                }
                // With identity broker the authorization server's rule has reported it.
                if self.oidc.client_id.is_some()
                    && self.identity != IdentityMode::Broker
                    && let Some(public) = &self.public_url
                    && plain_http_beyond_loopback(public)
                {
                    error(
                        "public_url",
                        format!(
                            "the connect page (oidc.client_id) takes people's Zebrunner tokens \
                             and sets sign-in cookies, so it needs HTTPS; {public:?} is plain \
                             http on a non-loopback host (put TLS in front and set an https \
                             public_url)"
                        ),
                    );
                }
                if self.vault.cache_max_users == 0 {
                    error("vault.cache_max_users", "must be at least 1".into());
                }
                if self.vault.revalidate_concurrency == 0 {
                    error("vault.revalidate_concurrency", "must be at least 1".into());
                }
                self.check_vault_aws(error);
            }
            CredentialsMode::Headers if !http => error(
                "credentials",
                "credentials \"headers\" reads X-Zebrunner-Username and X-Zebrunner-Api-Token \
                 from each HTTP request; stdio has no headers (use \"service-account\")"
                    .into(),
            ),
            CredentialsMode::Headers => {}
        }
        for (who, login) in &self.zebrunner.logins {
            if who.trim().is_empty() || login.trim().is_empty() {
                error(
                    "zebrunner.logins",
                    format!("{who:?} = {login:?}: neither side may be empty"),
                );
            }
        }
    }
    fn check_policy(&self, error: &mut impl FnMut(&'static str, String)) {
        let p = &self.policy;
        for (setting, scope) in [
            ("policy.read_scope", &p.read_scope),
            ("policy.write_scope", &p.write_scope),
        ] {
            if scope.trim().is_empty() || scope.contains(char::is_whitespace) || scope.contains('"')
            {
                error(setting, format!("{scope:?} is not a valid OAuth scope"));
            }
        }
        for access in &p.project_access {
            if access.projects.is_empty() {
                error(
                    "policy.project_access",
                    format!(
                        "group {:?} lists no projects; remove the entry or list project keys",
                        access.group
                    ),
                );
            }
            for key in &access.projects {
                if !is_project_key(key) {
                    error(
                        "policy.project_access",
                        format!(
                            "{key:?} (group {:?}) is not a Zebrunner project key such as DEMO",
                            access.group
                        ),
                    );
                }
            }
        }
        for key in p.default_projects.iter().flatten() {
            if !is_project_key(key) {
                error(
                    "policy.default_projects",
                    format!("{key:?} is not a Zebrunner project key such as DEMO"),
                );
            }
        }
        let grouped = !p.allowed_groups.is_empty()
            || !p.read_only_groups.is_empty()
            || !p.admin_groups.is_empty()
            || !p.project_access.is_empty()
            || p.default_projects.is_some();
        if grouped && self.identity == IdentityMode::None {
            error(
                "policy",
                "group rules need caller identities; set identity = \"oidc\" or remove them".into(),
            );
        }
    }

    /// The trap of project limits without a default: a caller outside every
    /// limited group sees every project, so taking someone out of a limited
    /// group widens their access. With allowed groups every admitted caller
    /// is an admin or in an allowed group, so there the default never applies.
    fn default_projects_problem(&self) -> Option<Problem> {
        let p = &self.policy;
        let message = match (&p.default_projects, p.allowed_groups.is_empty()) {
            (None, true) if !p.project_access.is_empty() => {
                let limited: Vec<&str> = p.project_access.iter().map(|a| a.group.as_str()).collect();
                format!(
                    "a caller in none of the project_access groups ({}) and not an admin sees every \
                     project, so removing someone from a limited group widens their access; set \
                     default_projects = [] (ZMCP_POLICY_DEFAULT_PROJECTS=\"\") to give such callers \
                     no project, list the projects they may use (default_projects = [\"DEMO\"]), or \
                     set allowed_groups to refuse them",
                    limited.join(", ")
                )
            }
            (Some(_), false) => "has no effect while allowed_groups is set: every caller let in is an \
                                 admin, in a project_access group, or in an allowed group without a \
                                 limit (every project); to limit an allowed group, list it in \
                                 project_access"
                .to_string(),
            _ => return None,
        };
        Some(Problem {
            severity: Severity::Warning,
            setting: "policy.default_projects",
            message,
        })
    }

    fn check_writes(&self, error: &mut impl FnMut(&'static str, String)) {
        let names = crate::toolsets::Toolset::ALL.map(crate::toolsets::Toolset::name);
        match crate::toolsets::Toolsets::parse(&self.toolsets) {
            Err(unknown) => error(
                "toolsets",
                format!(
                    "unknown toolset(s) {}; the toolsets are {}",
                    unknown.join(", "),
                    names.join(", ")
                ),
            ),
            Ok(set) if set == crate::toolsets::Toolsets::none() => error(
                "toolsets",
                format!(
                    "no toolset is enabled, so no tool would be offered; list some of {}",
                    names.join(", ")
                ),
            ),
            Ok(_) => {}
        }
        if let Err(unknown) = crate::toolsets::Toolsets::parse(&self.start_toolsets) {
            error(
                "start_toolsets",
                format!(
                    "unknown toolset(s) {}; the toolsets are {}",
                    unknown.join(", "),
                    names.join(", ")
                ),
            );
        }
        if self.confirmation_ttl_secs == 0 {
            error(
                "confirmation_ttl_secs",
                "must be at least 1 second (default 600)".into(),
            );
        }
        let retry_deadline = zebrunner_client::ClientConfig::DEFAULT_RETRY_DEADLINE.as_secs();
        if self.tool_deadline_secs <= retry_deadline {
            error(
                "tool_deadline_secs",
                format!(
                    "must be more than the Zebrunner client's {retry_deadline} s retry deadline, \
                     or calls would be cut off while a request is still being retried (default 60)"
                ),
            );
        }
        if self.zebrunner.breaker_failures > 0 && self.zebrunner.breaker_cooldown_secs == 0 {
            error(
                "zebrunner.breaker_cooldown_secs",
                "must be at least 1 second while the breaker is on (default 30; \
                 zebrunner.breaker_failures = 0 turns it off)"
                    .into(),
            );
        }
    }

    fn check_storage(&self, error: &mut impl FnMut(&'static str, String)) {
        if let Some(url) = &self.database_url
            && !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
        {
            error(
                "database_url",
                "use sqlite:///path/to/file.db or postgres://user@host/db".into(),
            );
        }
        if self.audit.sinks.contains(&AuditSinkKind::File) && self.audit.file.is_none() {
            error(
                "audit.file",
                "the file sink needs audit.file (ZMCP_AUDIT_FILE)".into(),
            );
        }
        if self.audit.sinks.contains(&AuditSinkKind::Stdout) && self.transport == Transport::Stdio {
            error(
                "audit.sinks",
                "stdout carries the MCP protocol on stdio; use the database or file sink".into(),
            );
        }
        if self.audit.sinks.is_empty() {
            error(
                "audit.sinks",
                "list at least one sink: every tool call must leave a record".into(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ProjectAccess;

    fn settings(config: &Config) -> Vec<&'static str> {
        config
            .problems()
            .into_iter()
            .filter(|p| p.severity == Severity::Error)
            .map(|p| p.setting)
            .collect()
    }

    #[test]
    fn defaults_are_sound() {
        assert!(
            Config::default().problems().is_empty(),
            "{:?}",
            Config::default().problems()
        );
    }

    #[test]
    fn a_grace_period_as_long_as_kubernetes_waits_is_a_warning() {
        let warnings = |secs| {
            Config {
                shutdown_grace_secs: secs,
                ..Config::default()
            }
            .problems()
            .into_iter()
            .filter(|p| p.severity == Severity::Warning && p.setting == "shutdown_grace_secs")
            .count()
        };
        assert_eq!(warnings(29), 0);
        assert_eq!(warnings(30), 1);
    }

    #[test]
    fn metrics_have_a_listener_of_their_own() {
        let problems = |listen: &str, metrics: &str| {
            Config {
                transport: Transport::Http,
                listen: listen.parse().unwrap(),
                metrics_listen: Some(metrics.parse().unwrap()),
                ..Config::default()
            }
            .problems()
            .into_iter()
            .filter(|p| p.setting == "metrics_listen")
            .map(|p| p.severity)
            .collect::<Vec<_>>()
        };
        assert!(problems("127.0.0.1:8080", "127.0.0.1:9464").is_empty());
        assert_eq!(
            problems("127.0.0.1:8080", "127.0.0.1:8080"),
            [Severity::Error]
        );
        assert_eq!(
            problems("0.0.0.0:8080", "127.0.0.1:8080"),
            [Severity::Error]
        );
        assert_eq!(
            problems("127.0.0.1:8080", "0.0.0.0:9464"),
            [Severity::Warning]
        );
    }

    #[test]
    fn identity_none_only_on_loopback_or_stdio() {
        let mut c = Config {
            transport: Transport::Http,
            ..Config::default()
        };
        assert!(settings(&c).is_empty());
        c.listen = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(settings(&c), vec!["identity"]);
    }

    #[test]
    fn oidc_needs_a_secure_issuer_and_public_url() {
        let mut c = Config {
            transport: Transport::Http,
            identity: IdentityMode::Oidc,
            listen: "0.0.0.0:8080".parse().unwrap(),
            ..Config::default()
        };
        assert_eq!(settings(&c), vec!["oidc.issuer", "public_url"]);
        c.oidc.issuer = Some("http://idp.example/oauth2/default".into());
        c.public_url = Some("https://mcp.example.com".into());
        assert_eq!(settings(&c), vec!["oidc.issuer"]);
        c.oidc.issuer = Some("http://127.0.0.1:4011/oauth2/default".into());
        assert!(settings(&c).is_empty());
        c.oidc.algorithms = vec!["HS256".into(), "none".into()];
        assert_eq!(settings(&c), vec!["oidc.algorithms", "oidc.algorithms"]);
    }

    #[test]
    fn the_authorization_server_needs_https_beyond_loopback() {
        let mut c = Config {
            transport: Transport::Http,
            identity: IdentityMode::Broker,
            listen: "0.0.0.0:8080".parse().unwrap(),
            public_url: Some("https://mcp.example.com".into()),
            oidc: crate::config::OidcConfig {
                issuer: Some("https://acme.okta.com/oauth2/default".into()),
                client_id: Some("0oaweb".into()),
                ..Default::default()
            },
            ..Config::default()
        };
        assert!(settings(&c).is_empty(), "{:?}", c.problems());
        c.public_url = Some("http://mcp.example.com".into());
        assert_eq!(settings(&c), vec!["public_url"]);
        let problem = c.problems().into_iter().find(|p| p.setting == "public_url");
        let message = problem.map(|p| p.message).unwrap_or_default();
        assert!(
            message.contains("authorization server") && message.contains("https"),
            "{message}"
        );
        // With the vault's connect page as well, still one problem.
        c.credentials = CredentialsMode::Vault;
        assert_eq!(settings(&c), vec!["public_url"]);
        // Plain http on loopback is for tests on this machine.
        c.listen = "127.0.0.1:8080".parse().unwrap();
        for loopback in [
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
        ] {
            c.public_url = Some(loopback.into());
            assert!(settings(&c).is_empty(), "{loopback}: {:?}", c.problems());
        }
    }

    #[test]
    fn incomplete_modes_and_bad_policy_are_explained() {
        let c = Config {
            identity: IdentityMode::Broker,
            credentials: CredentialsMode::Vault,
            public_url: Some("https://mcp.example.com/mcp".into()),
            policy: crate::config::PolicyConfig {
                project_access: vec![ProjectAccess {
                    group: "dev".into(),
                    projects: vec!["demo".into()],
                }],
                ..Default::default()
            },
            audit: crate::config::AuditConfig {
                sinks: vec![AuditSinkKind::Stdout, AuditSinkKind::File],
                file: None,
                ..Default::default()
            },
            ..Config::default()
        };
        let found = settings(&c);
        for expected in [
            "oidc.client_id",
            "public_url",
            "public_url",
            "policy.project_access",
            "audit.file",
            "audit.sinks",
        ] {
            assert!(
                found.contains(&expected),
                "{expected} missing from {found:?}"
            );
        }
    }

    fn warnings(config: &Config) -> Vec<Problem> {
        config
            .problems()
            .into_iter()
            .filter(|p| p.severity == Severity::Warning)
            .collect()
    }

    fn limited(default_projects: Option<Vec<String>>) -> Config {
        Config {
            transport: Transport::Http,
            identity: IdentityMode::Oidc,
            oidc: crate::config::OidcConfig {
                issuer: Some("https://acme.okta.com/oauth2/default".into()),
                ..Default::default()
            },
            policy: crate::config::PolicyConfig {
                project_access: vec![ProjectAccess {
                    group: "limited".into(),
                    projects: vec!["DEMO".into()],
                }],
                default_projects,
                ..Default::default()
            },
            ..Config::default()
        }
    }

    #[test]
    fn project_limits_without_a_default_are_a_warning() {
        let trap = warnings(&limited(None));
        assert_eq!(trap.len(), 1, "{trap:?}");
        assert_eq!(trap[0].setting, "policy.default_projects");
        for needed in [
            "limited",
            "every project",
            "default_projects = []",
            "allowed_groups",
        ] {
            assert!(trap[0].message.contains(needed), "{needed}: {}", trap[0]);
        }
        assert!(warnings(&limited(Some(vec![]))).is_empty());
        assert!(warnings(&limited(Some(vec!["API".into()]))).is_empty());
        assert!(settings(&limited(Some(vec!["API".into()]))).is_empty());

        // With allowed groups nobody falls through to the default.
        let mut gated = limited(None);
        gated.policy.allowed_groups = vec!["limited".into(), "qa".into()];
        assert!(warnings(&gated).is_empty());
        gated.policy.default_projects = Some(vec![]);
        let unused = warnings(&gated);
        assert_eq!(unused.len(), 1, "{unused:?}");
        assert!(unused[0].message.contains("no effect"), "{}", unused[0]);
    }

    #[test]
    fn default_projects_need_identities_and_project_keys() {
        let c = Config {
            policy: crate::config::PolicyConfig {
                default_projects: Some(vec!["DE MO".into()]),
                ..Default::default()
            },
            ..Config::default()
        };
        assert_eq!(settings(&c), vec!["policy.default_projects", "policy"]);
    }
}
