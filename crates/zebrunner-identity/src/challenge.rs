//! [`BearerChallenge`]: the `WWW-Authenticate: Bearer ...` header of RFC 6750
//! §3, with the `resource_metadata` parameter of RFC 9728 §5.1.
//!
//! Values are quoted strings with `\` and `"` escaped. The `scope` value keeps
//! only scope tokens made of RFC 6749's `scope-token` characters; the
//! `error_description` keeps only RFC 6750's allowed characters (visible ASCII
//! and space, without `"` and `\`; a `"` becomes `'`, anything else becomes
//! `?`). The header value is therefore always valid.

use std::fmt;

use http::{HeaderValue, StatusCode};

/// The RFC 6750 §3.1 error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeError {
    /// Malformed request, e.g. a bad `Authorization` header: HTTP 400.
    InvalidRequest,
    /// Expired, revoked, malformed or otherwise invalid token: HTTP 401.
    InvalidToken,
    /// The token lacks a scope the request needs: HTTP 403.
    InsufficientScope,
}

impl ChallengeError {
    /// The wire name, e.g. `invalid_token`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ChallengeError::InvalidRequest => "invalid_request",
            ChallengeError::InvalidToken => "invalid_token",
            ChallengeError::InsufficientScope => "insufficient_scope",
        }
    }

    /// The status RFC 6750 §3.1 pairs with the error.
    pub fn status(&self) -> StatusCode {
        match self {
            ChallengeError::InvalidRequest => StatusCode::BAD_REQUEST,
            ChallengeError::InvalidToken => StatusCode::UNAUTHORIZED,
            ChallengeError::InsufficientScope => StatusCode::FORBIDDEN,
        }
    }
}

/// A `WWW-Authenticate: Bearer` challenge.
///
/// Without an `error` it is the plain "authentication required" challenge
/// sent with a 401 when no token came at all (RFC 6750 §3.1: no error code
/// then).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BearerChallenge {
    /// URL of the protected resource metadata document (RFC 9728 §5.1).
    pub resource_metadata: String,
    /// Scopes the request needs; all of them, in one go.
    pub scope: Vec<String>,
    /// The error code, if a token (or header) was sent and refused.
    pub error: Option<ChallengeError>,
    /// Human-readable text; never put token contents here.
    pub error_description: Option<String>,
}

impl BearerChallenge {
    /// A challenge pointing at the metadata document, with no scope or error.
    pub fn new(resource_metadata: impl Into<String>) -> Self {
        BearerChallenge {
            resource_metadata: resource_metadata.into(),
            ..Default::default()
        }
    }

    /// Sets the scopes to request.
    pub fn with_scope<I, S>(mut self, scope: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scope = scope.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the error code and optional description.
    pub fn with_error(mut self, error: ChallengeError, description: Option<&str>) -> Self {
        self.error = Some(error);
        self.error_description = description.map(str::to_owned);
        self
    }

    /// The header value (always valid; see the module docs for escaping).
    pub fn to_header_value(&self) -> HeaderValue {
        HeaderValue::from_str(&self.to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
    }
}

impl fmt::Display for BearerChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut params: Vec<(&str, String)> = Vec::new();
        if !self.resource_metadata.is_empty() {
            params.push(("resource_metadata", visible_ascii(&self.resource_metadata)));
        }
        let scopes: Vec<&str> = self
            .scope
            .iter()
            .map(String::as_str)
            .filter(|s| is_scope_token(s))
            .collect();
        if !scopes.is_empty() {
            params.push(("scope", scopes.join(" ")));
        }
        if let Some(error) = self.error {
            params.push(("error", error.as_str().to_owned()));
        }
        if let Some(desc) = self.error_description.as_deref().map(description_chars)
            && !desc.is_empty()
        {
            params.push(("error_description", desc));
        }
        f.write_str("Bearer")?;
        for (i, (name, value)) in params.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(f, "{sep}{name}=\"{}\"", quote_escape(value))?;
        }
        Ok(())
    }
}

/// RFC 6749 §3.3 `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// RFC 6750 §3: `error_description` uses `%x20-21 / %x23-5B / %x5D-7E`.
fn description_chars(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            ' '..='~' => c,
            _ => '?',
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Keeps visible ASCII and space (a URL should be nothing else).
fn visible_ascii(s: &str) -> String {
    s.chars().filter(|c| (' '..='~').contains(c)).collect()
}

/// RFC 9110 §5.6.4 quoted-string: backslash-escape `"` and `\`.
fn quote_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRM: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";

    #[test]
    fn no_token_challenge() {
        let c = BearerChallenge::new(PRM).with_scope(["zebrunner:read"]);
        assert_eq!(
            c.to_string(),
            format!(r#"Bearer resource_metadata="{PRM}", scope="zebrunner:read""#)
        );
        assert_eq!(c.to_header_value().to_str().unwrap(), c.to_string());
    }

    #[test]
    fn invalid_token_challenge_has_all_parameters_in_order() {
        let c = BearerChallenge::new(PRM)
            .with_scope(["zebrunner:read", "zebrunner:write"])
            .with_error(
                ChallengeError::InvalidToken,
                Some("The access token expired"),
            );
        assert_eq!(
            c.to_string(),
            format!(
                r#"Bearer resource_metadata="{PRM}", scope="zebrunner:read zebrunner:write", error="invalid_token", error_description="The access token expired""#
            )
        );
    }

    #[test]
    fn bare_challenge_and_empty_parts_are_omitted() {
        assert_eq!(BearerChallenge::default().to_string(), "Bearer");
        let c = BearerChallenge::new(PRM)
            .with_scope(Vec::<String>::new())
            .with_error(ChallengeError::InsufficientScope, Some("  "));
        assert_eq!(
            c.to_string(),
            format!(r#"Bearer resource_metadata="{PRM}", error="insufficient_scope""#)
        );
    }

    #[test]
    fn error_codes_and_statuses() {
        assert_eq!(ChallengeError::InvalidRequest.as_str(), "invalid_request");
        assert_eq!(
            ChallengeError::InvalidRequest.status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            ChallengeError::InvalidToken.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            ChallengeError::InsufficientScope.as_str(),
            "insufficient_scope"
        );
        assert_eq!(
            ChallengeError::InsufficientScope.status(),
            StatusCode::FORBIDDEN
        );
    }

    #[test]
    fn description_is_restricted_to_rfc6750_characters() {
        let c = BearerChallenge::new("").with_error(
            ChallengeError::InvalidToken,
            Some("say \"hi\" \\ to café\r\nSet-Cookie: x"),
        );
        let s = c.to_string();
        assert_eq!(
            s,
            r#"Bearer error="invalid_token", error_description="say 'hi' / to caf???Set-Cookie: x""#
        );
        assert!(c.to_header_value().to_str().is_ok());
    }

    #[test]
    fn quoted_strings_are_escaped_and_controls_dropped() {
        let c = BearerChallenge::new("https://h/x\"y\\z\r\n");
        assert_eq!(
            c.to_string(),
            r#"Bearer resource_metadata="https://h/x\"y\\z""#
        );
        assert!(c.to_header_value().to_str().is_ok());
    }

    #[test]
    fn invalid_scope_tokens_are_dropped() {
        let c = BearerChallenge::new(PRM).with_scope([
            "ok:read",
            "has space",
            "quo\"te",
            "back\\slash",
            "",
            "é",
            "ok:write",
        ]);
        assert!(
            c.to_string().ends_with(r#"scope="ok:read ok:write""#),
            "{c}"
        );
    }
}
