//! Identity assertion authorization grants (ID-JAG): the JWT an enterprise identity provider
//! (Okta Cross App Access) issues to an MCP client for one person, which the client then
//! presents to our authorization server in the JWT bearer grant (RFC 7523) to get an access
//! token with no sign-in page (MCP enterprise-managed authorization).
//!
//! After the header (`typ` exactly `oauth-id-jag+jwt`), key and signature checks of
//! [`crate::validate`], the claims must hold, in this order (the first failure is reported):
//! `iss` exactly the trusted issuer; `aud` our issuer (a string, or an array of just that:
//! an assertion for several audiences could be replayed at the others); `client_id` the
//! client that authenticated at our token endpoint; `resource`, when present (the MCP
//! profile makes it optional), our MCP resource and nothing else; `exp` and
//! `iat` present, not expired, not issued in the future, and no further apart than the
//! maximum lifetime; `jti` and `sub` present; and neither `cnf` nor `authorization_details`,
//! which would ask for proof of possession or fine-grained rights we do not enforce (fail
//! closed). Whether the `jti` was seen before is the caller's check (its replay cache lives
//! in storage, shared by every replica).
//!
//! The person's user key follows the access-token rule of [`crate::claims`] (`uid:` when
//! the assertion carries Okta's user id, else `sub:`), so a person is the same user whether
//! they came by a sign-in or by an assertion.

use serde_json::{Map, Value};

use crate::claims::{audiences, groups, issued_and_unexpired, string_claim};
use crate::config::OidcConfig;
use crate::error::TokenError;
use crate::identity::Identity;

/// Longest `jti` kept in the replay cache.
pub const MAX_JTI_CHARS: usize = 256;

/// What an assertion must name to be for us and for the client presenting it.
#[derive(Debug, Clone, Copy)]
pub struct IdJagRules<'a> {
    /// Our authorization server's issuer identifier (the assertion's `aud`).
    pub audience: &'a str,
    /// The client that authenticated at our token endpoint.
    pub client_id: &'a str,
    /// Our MCP resource.
    pub resource: &'a str,
    /// Longest accepted `exp - iat`, seconds.
    pub max_lifetime_secs: i64,
}

/// A checked assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdJag {
    /// The person, with the presenting client as `client_id` and the assertion's `scope`.
    pub identity: Identity,
    /// The assertion's id, for the replay cache.
    pub jti: String,
}

pub(crate) fn check(
    claims: &Map<String, Value>,
    config: &OidcConfig,
    rules: &IdJagRules<'_>,
    now: i64,
) -> Result<IdJag, TokenError> {
    let iss = string_claim(claims, "iss")?.ok_or(TokenError::MissingClaim("iss"))?;
    if iss != config.issuer {
        return Err(TokenError::WrongIssuer);
    }
    if audiences(claims)? != [rules.audience] {
        return Err(TokenError::WrongAudience);
    }
    match string_claim(claims, "client_id")? {
        Some(client) if client == rules.client_id => {}
        Some(_) => return Err(TokenError::WrongClient),
        None => return Err(TokenError::MissingClaim("client_id")),
    }
    let resource = match claims.get("resource") {
        None | Some(Value::Null) => vec![rules.resource],
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().ok_or(TokenError::InvalidClaim("resource")))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(TokenError::InvalidClaim("resource")),
    };
    if resource
        .iter()
        .map(|r| r.trim_end_matches('/'))
        .ne([rules.resource.trim_end_matches('/')])
    {
        return Err(TokenError::WrongResource);
    }
    let (exp, iat) = issued_and_unexpired(claims, config, now)?;
    if exp.saturating_sub(iat) > rules.max_lifetime_secs {
        return Err(TokenError::TooLongLived);
    }
    let jti = string_claim(claims, "jti")?
        .filter(|j| !j.is_empty())
        .ok_or(TokenError::MissingClaim("jti"))?;
    if jti.chars().count() > MAX_JTI_CHARS || jti.chars().any(char::is_control) {
        return Err(TokenError::InvalidClaim("jti"));
    }
    let subject = string_claim(claims, "sub")?
        .filter(|s| !s.is_empty())
        .ok_or(TokenError::MissingClaim("sub"))?;
    for unsupported in ["cnf", "authorization_details"] {
        if claims.contains_key(unsupported) {
            return Err(TokenError::UnsupportedClaim(unsupported));
        }
    }
    let user_key = match string_claim(claims, "uid")?.filter(|u| !u.is_empty()) {
        Some(uid) => format!("uid:{uid}"),
        None => format!("sub:{subject}"),
    };
    let scope = string_claim(claims, "scope")?.unwrap_or_default();
    Ok(IdJag {
        identity: Identity {
            user_key,
            subject: subject.to_owned(),
            email: string_claim(claims, "email")?.map(str::to_owned),
            name: string_claim(claims, "name")?.map(str::to_owned),
            groups: groups(claims.get(config.groups_claim.as_str()))?,
            scopes: scope.split_whitespace().map(str::to_owned).collect(),
            client_id: Some(rules.client_id.to_owned()),
            is_service: false,
            expires_at: exp,
            grant_id: None,
        },
        jti: jti.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: i64 = 1_800_000_000;
    const IDP: &str = "https://acme.okta.com";
    const US: &str = "https://mcp.acme.com";

    fn rules() -> IdJagRules<'static> {
        IdJagRules {
            audience: US,
            client_id: "claude",
            resource: "https://mcp.acme.com/mcp",
            max_lifetime_secs: 300,
        }
    }

    fn good() -> Value {
        json!({
            "iss": IDP, "sub": "00u1", "aud": US, "client_id": "claude",
            "resource": "https://mcp.acme.com/mcp", "jti": "j-1",
            "iat": NOW - 10, "exp": NOW + 290, "scope": "zebrunner:read",
            "email": "jane@acme.com", "groups": ["qa"],
        })
    }

    type Change = Box<dyn FnOnce(&mut Map<String, Value>)>;

    fn run(claims: Value) -> Result<IdJag, TokenError> {
        let config = OidcConfig::new(IDP, "unused");
        check(claims.as_object().unwrap(), &config, &rules(), NOW)
    }

    fn with(change: impl FnOnce(&mut Map<String, Value>)) -> Result<IdJag, TokenError> {
        let mut claims = good();
        change(claims.as_object_mut().unwrap());
        run(claims)
    }

    #[test]
    fn a_good_assertion_names_the_person_and_the_client() {
        let jag = run(good()).unwrap();
        assert_eq!(jag.jti, "j-1");
        assert_eq!(jag.identity.user_key, "sub:00u1");
        assert_eq!(jag.identity.client_id.as_deref(), Some("claude"));
        assert_eq!(jag.identity.scopes, ["zebrunner:read"]);
        assert_eq!(jag.identity.groups, ["qa"]);
        assert_eq!(jag.identity.email.as_deref(), Some("jane@acme.com"));
        let with_uid = with(|c| {
            c.insert("uid".into(), json!("00u9"));
        })
        .unwrap();
        assert_eq!(with_uid.identity.user_key, "uid:00u9");
        // Without a resource the assertion is for us (the MCP profile makes it optional).
        with(|c| {
            c.remove("resource");
        })
        .unwrap();
        // One-element audience arrays and a trailing slash on the resource are the same.
        with(|c| {
            c.insert("aud".into(), json!([US]));
            c.insert("resource".into(), json!("https://mcp.acme.com/mcp/"));
        })
        .unwrap();
    }

    #[test]
    fn each_rule_refuses() {
        let cases: Vec<(&str, Change, TokenError)> = vec![
            (
                "issuer",
                Box::new(|c| {
                    c.insert("iss".into(), json!("https://evil.example"));
                }),
                TokenError::WrongIssuer,
            ),
            (
                "audience",
                Box::new(|c| {
                    c.insert("aud".into(), json!("https://other.example"));
                }),
                TokenError::WrongAudience,
            ),
            (
                "two audiences",
                Box::new(|c| {
                    c.insert("aud".into(), json!([US, "https://other.example"]));
                }),
                TokenError::WrongAudience,
            ),
            (
                "no audience",
                Box::new(|c| {
                    c.remove("aud");
                }),
                TokenError::WrongAudience,
            ),
            (
                "client",
                Box::new(|c| {
                    c.insert("client_id".into(), json!("cursor"));
                }),
                TokenError::WrongClient,
            ),
            (
                "no client",
                Box::new(|c| {
                    c.remove("client_id");
                }),
                TokenError::MissingClaim("client_id"),
            ),
            (
                "resource",
                Box::new(|c| {
                    c.insert("resource".into(), json!("https://mcp.acme.com/other"));
                }),
                TokenError::WrongResource,
            ),
            (
                "two resources",
                Box::new(|c| {
                    c.insert(
                        "resource".into(),
                        json!(["https://mcp.acme.com/mcp", "https://x.example"]),
                    );
                }),
                TokenError::WrongResource,
            ),
            (
                "expired",
                Box::new(|c| {
                    c.insert("exp".into(), json!(NOW - 61));
                }),
                TokenError::Expired,
            ),
            (
                "future",
                Box::new(|c| {
                    c.insert("iat".into(), json!(NOW + 61));
                }),
                TokenError::IssuedInFuture,
            ),
            (
                "no iat",
                Box::new(|c| {
                    c.remove("iat");
                }),
                TokenError::MissingClaim("iat"),
            ),
            (
                "long-lived",
                Box::new(|c| {
                    c.insert("exp".into(), json!(NOW + 3600));
                }),
                TokenError::TooLongLived,
            ),
            (
                "no jti",
                Box::new(|c| {
                    c.remove("jti");
                }),
                TokenError::MissingClaim("jti"),
            ),
            (
                "huge jti",
                Box::new(|c| {
                    c.insert("jti".into(), json!("j".repeat(300)));
                }),
                TokenError::InvalidClaim("jti"),
            ),
            (
                "no sub",
                Box::new(|c| {
                    c.remove("sub");
                }),
                TokenError::MissingClaim("sub"),
            ),
            (
                "cnf",
                Box::new(|c| {
                    c.insert("cnf".into(), json!({"jkt": "x"}));
                }),
                TokenError::UnsupportedClaim("cnf"),
            ),
            (
                "details",
                Box::new(|c| {
                    c.insert("authorization_details".into(), json!([]));
                }),
                TokenError::UnsupportedClaim("authorization_details"),
            ),
        ];
        for (name, change, want) in cases {
            assert_eq!(with(change), Err(want), "{name}");
        }
    }
}
