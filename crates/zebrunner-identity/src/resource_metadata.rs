//! RFC 9728 protected resource metadata: the [`ProtectedResourceMetadata`]
//! document and the two [`well_known_urls`] it is served at.

use serde::{Deserialize, Serialize};
use url::Url;

/// The RFC 9728 well-known suffix.
pub const WELL_KNOWN_SUFFIX: &str = "/.well-known/oauth-protected-resource";

/// RFC 9728 §2 metadata for this MCP server. We publish no `jwks_uri`
/// (we sign nothing), so the field does not exist here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtectedResourceMetadata {
    /// The canonical resource identifier (the audience tokens must carry).
    pub resource: String,
    /// Issuers of the authorization servers that issue tokens for us.
    pub authorization_servers: Vec<String>,
    /// The minimal scopes for basic use (never `offline_access`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// Always `["header"]`: tokens only in the `Authorization` header.
    pub bearer_methods_supported: Vec<String>,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// A page with documentation for developers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_documentation: Option<String>,
}

impl ProtectedResourceMetadata {
    /// Metadata with `bearer_methods_supported: ["header"]`.
    pub fn new(
        resource: impl Into<String>,
        authorization_servers: Vec<String>,
        scopes_supported: Vec<String>,
        resource_name: Option<String>,
    ) -> Self {
        ProtectedResourceMetadata {
            resource: resource.into(),
            authorization_servers,
            scopes_supported,
            bearer_methods_supported: vec!["header".to_owned()],
            resource_name,
            resource_documentation: None,
        }
    }

    /// Problems with the document by RFC 9728 and the MCP authorization
    /// rules (empty when fine): `resource` an absolute https URL (http only on
    /// loopback) without fragment, at least one authorization server, no
    /// `offline_access` in `scopes_supported`, only the `header` method.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        match Url::parse(&self.resource) {
            Ok(u) => {
                if crate::config::check_secure_url(&u).is_err() {
                    out.push(format!(
                        "resource `{}` must be https (http only on loopback)",
                        self.resource
                    ));
                }
                if u.fragment().is_some() || self.resource.contains('#') {
                    out.push(format!(
                        "resource `{}` must not have a fragment",
                        self.resource
                    ));
                }
            }
            Err(_) => out.push(format!(
                "resource `{}` is not an absolute URL",
                self.resource
            )),
        }
        if self.authorization_servers.is_empty() {
            out.push(
                "authorization_servers must name at least one authorization server".to_owned(),
            );
        }
        for server in &self.authorization_servers {
            if Url::parse(server).is_err() {
                out.push(format!(
                    "authorization server `{server}` is not an absolute URL"
                ));
            }
        }
        if self.scopes_supported.iter().any(|s| s == "offline_access") {
            out.push("scopes_supported should not contain offline_access".to_owned());
        }
        if self.bearer_methods_supported.iter().any(|m| m != "header") {
            out.push(
                "bearer_methods_supported must be [\"header\"]: tokens never in a body or query"
                    .to_owned(),
            );
        }
        out
    }
}

/// The two URLs a client may fetch the metadata of `resource` from:
/// `(root, path_inserted)`.
///
/// - root: `{origin}/.well-known/oauth-protected-resource`;
/// - path-inserted (RFC 9728 §3.1): the suffix inserted between the host and
///   the path (and query), with a terminating `/` of the path removed, e.g.
///   `https://h/mcp` → `https://h/.well-known/oauth-protected-resource/mcp`.
///
/// For a resource without a path both are the same URL. A fragment is
/// dropped. The port is kept when it is not the scheme's default.
pub fn well_known_urls(resource: &Url) -> (String, String) {
    let origin = resource.origin().ascii_serialization();
    let root = format!("{origin}{WELL_KNOWN_SUFFIX}");
    let path = resource.path();
    let path = path.strip_suffix('/').unwrap_or(path);
    let mut inserted = format!("{root}{path}");
    if let Some(q) = resource.query() {
        inserted.push('?');
        inserted.push_str(q);
    }
    (root, inserted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(s: &str) -> (String, String) {
        well_known_urls(&Url::parse(s).unwrap())
    }

    #[test]
    fn well_known_urls_for_common_resources() {
        assert_eq!(
            urls("https://mcp.example.com/mcp"),
            (
                "https://mcp.example.com/.well-known/oauth-protected-resource".into(),
                "https://mcp.example.com/.well-known/oauth-protected-resource/mcp".into()
            )
        );
        let (root, inserted) = urls("https://mcp.example.com");
        assert_eq!(
            root,
            "https://mcp.example.com/.well-known/oauth-protected-resource"
        );
        assert_eq!(inserted, root);
        let (root, inserted) = urls("https://mcp.example.com/");
        assert_eq!(inserted, root);
    }

    #[test]
    fn well_known_urls_keep_port_and_deep_paths_drop_fragment() {
        assert_eq!(
            urls("http://127.0.0.1:8080/tenants/acme/mcp/#frag"),
            (
                "http://127.0.0.1:8080/.well-known/oauth-protected-resource".into(),
                "http://127.0.0.1:8080/.well-known/oauth-protected-resource/tenants/acme/mcp"
                    .into()
            )
        );
        assert_eq!(
            urls("https://h:443/mcp").1,
            "https://h/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            urls("HTTPS://MCP.Example.COM/mcp").0,
            "https://mcp.example.com/.well-known/oauth-protected-resource"
        );
        assert_eq!(
            urls("https://h/mcp?x=1").1,
            "https://h/.well-known/oauth-protected-resource/mcp?x=1"
        );
    }

    #[test]
    fn document_serializes_with_rfc9728_names_and_no_jwks_uri() {
        let mut prm = ProtectedResourceMetadata::new(
            "https://mcp.example.com/mcp",
            vec!["https://acme.okta.com/oauth2/default".into()],
            vec!["zebrunner:read".into()],
            Some("Zebrunner MCP".into()),
        );
        prm.resource_documentation = Some("https://mcp.example.com/docs".into());
        let v = serde_json::to_value(&prm).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "resource": "https://mcp.example.com/mcp",
                "authorization_servers": ["https://acme.okta.com/oauth2/default"],
                "scopes_supported": ["zebrunner:read"],
                "bearer_methods_supported": ["header"],
                "resource_name": "Zebrunner MCP",
                "resource_documentation": "https://mcp.example.com/docs"
            })
        );
        assert!(v.get("jwks_uri").is_none());
        assert!(prm.problems().is_empty(), "{:?}", prm.problems());
        let back: ProtectedResourceMetadata = serde_json::from_value(v).unwrap();
        assert_eq!(back, prm);
    }

    #[test]
    fn problems_are_reported() {
        let mut prm = ProtectedResourceMetadata::new(
            "http://mcp.example.com/mcp#x",
            vec![],
            vec!["offline_access".into()],
            None,
        );
        prm.bearer_methods_supported.push("query".into());
        let p = prm.problems();
        assert_eq!(p.len(), 5, "{p:?}");
        let prm =
            ProtectedResourceMetadata::new("not a url", vec!["also not".into()], vec![], None);
        assert_eq!(prm.problems().len(), 2);
    }
}
