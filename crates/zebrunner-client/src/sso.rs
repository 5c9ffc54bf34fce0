//! Connecting an account through Zebrunner's single sign-on.
//!
//! After a SAML sign-in, Zebrunner's browser lands on
//! `https://<workspace>/sso?refresh-token=<temp token>`; the temp token is
//! single use and short-lived. Exchanged once at
//! `POST /api/iam/v1/auth/refresh`, it yields a long-lived `refreshToken`
//! that works exactly like a personal API token (the Basic password of the
//! Public API and the refresh token of IAM).
//!
//! * [`parse_sso_address`] checks the address a person pasted and takes the
//!   temp token out of it; its errors speak to that person and never repeat
//!   what was pasted.
//! * [`Workspace::redeem_sso_token`] makes the one exchange (never retried)
//!   and returns an [`SsoGrant`]: the login and the long-lived token, ready
//!   for [`Workspace::client`].
//!
//! The Okta token exchange ([`crate::token_exchange`]) ends in an
//! [`SsoGrant`] too.

use std::fmt;

use secrecy::SecretString;
use url::Url;

use crate::auth::{Exchange, REFRESH_PATH, iam_exchange};
use crate::client::Workspace;
use crate::error::Error;
use crate::transport::Transport;

/// Longest address accepted, in bytes (after trimming).
pub const MAX_SSO_ADDRESS_BYTES: usize = 4096;
/// Longest `refresh-token` accepted, in bytes.
pub const MAX_SSO_TOKEN_BYTES: usize = 2048;
/// The query parameter Zebrunner puts the temp token in.
const TOKEN_PARAM: &str = "refresh-token";
/// Stands in for the login in errors of the exchange: none is known yet.
const SSO_LOGIN: &str = "the single sign-on token";

/// Why a pasted address is not a usable SSO sign-in address. The messages
/// are for the person who pasted it; none contains the token or the pasted
/// text (only the expected workspace address, from the server's own
/// configuration).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SsoAddressError {
    /// Nothing (or only white space) was pasted.
    #[error("Nothing was pasted: paste the whole address from the browser's address bar")]
    Empty,
    /// Longer than [`MAX_SSO_ADDRESS_BYTES`].
    #[error(
        "That is too long to be the address of Zebrunner's sign-in page: paste only the address from the browser's address bar"
    )]
    TooLong,
    /// Not an `http(s)://` URL (e.g. only the token, or some other text).
    #[error("That is not an address: paste the whole address from the browser's address bar")]
    NotAnAddress,
    /// An address of another server (scheme, host or port differ).
    #[error(
        "That address is not this server's Zebrunner workspace (expected {expected}): sign in to that workspace and copy the address of the page it lands on"
    )]
    OtherWorkspace {
        /// The workspace address, e.g. `https://acme.zebrunner.com`.
        expected: String,
    },
    /// The right workspace, but not its `/sso` page.
    #[error(
        "That is not the address of the page Zebrunner shows after signing in (expected {expected}/sso?refresh-token=…): sign in to Zebrunner again and copy the address of the page it lands on"
    )]
    NotSsoPage {
        /// The workspace address, e.g. `https://acme.zebrunner.com`.
        expected: String,
    },
    /// No `refresh-token` parameter, or an empty one.
    #[error(
        "The address has no refresh-token: sign in to Zebrunner again and copy the address of the page it lands on"
    )]
    NoToken,
    /// More than one `refresh-token` parameter.
    #[error(
        "The address has more than one refresh-token: copy the address again, exactly as the browser shows it"
    )]
    SeveralTokens,
    /// A token with characters other than visible ASCII, or too long.
    #[error(
        "The refresh-token in the address is damaged (unexpected characters, or too long): copy the address again, exactly as the browser shows it"
    )]
    MalformedToken,
    /// The server's own workspace address is unusable (a configuration fault).
    #[error(
        "This server's Zebrunner workspace address is not a valid http(s) address: ask its administrator to check ZEBRUNNER_URL"
    )]
    InvalidWorkspace,
}

/// Takes the single-use temp token out of the address the browser shows
/// after Zebrunner's SSO sign-in (`https://acme.zebrunner.com/sso?refresh-token=…`).
///
/// `workspace_web_url` is the workspace address without a trailing slash, as
/// [`Workspace::web_url`] returns it. The address must be http(s) with the
/// same scheme, host and port, the path `/sso` (below the workspace's path,
/// if it has one; a trailing slash is fine) and exactly one non-empty
/// `refresh-token` of visible ASCII characters, at most
/// [`MAX_SSO_TOKEN_BYTES`]. Other query parameters and a fragment are
/// ignored.
pub fn parse_sso_address(
    input: &str,
    workspace_web_url: &str,
) -> Result<SecretString, SsoAddressError> {
    let workspace = Url::parse(workspace_web_url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
        .ok_or(SsoAddressError::InvalidWorkspace)?;
    let prefix = workspace.path().trim_end_matches('/');
    let expected = format!("{}{prefix}", workspace.origin().ascii_serialization());

    let input = input.trim();
    if input.is_empty() {
        return Err(SsoAddressError::Empty);
    }
    if input.len() > MAX_SSO_ADDRESS_BYTES {
        return Err(SsoAddressError::TooLong);
    }
    let address = Url::parse(input)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
        .ok_or(SsoAddressError::NotAnAddress)?;
    if address.origin() != workspace.origin() {
        return Err(SsoAddressError::OtherWorkspace { expected });
    }
    let path = address.path();
    let sso_path = format!("{prefix}/sso");
    if path != sso_path && path.strip_suffix('/') != Some(sso_path.as_str()) {
        return Err(SsoAddressError::NotSsoPage { expected });
    }

    let mut tokens = address
        .query_pairs()
        .filter(|(name, _)| name == TOKEN_PARAM)
        .map(|(_, value)| value);
    let token = tokens.next().ok_or(SsoAddressError::NoToken)?;
    if tokens.next().is_some() {
        return Err(SsoAddressError::SeveralTokens);
    }
    if token.is_empty() {
        return Err(SsoAddressError::NoToken);
    }
    if token.len() > MAX_SSO_TOKEN_BYTES || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SsoAddressError::MalformedToken);
    }
    Ok(SecretString::from(token.into_owned()))
}

/// What a single sign-on gives, through the SSO redemption
/// ([`Workspace::redeem_sso_token`]) or the Okta token exchange
/// ([`Workspace::exchange_id_token`]): who signed in and a long-lived token
/// that works like a personal API token. `Debug` leaves the token out.
#[derive(Clone)]
pub struct SsoGrant {
    /// The Zebrunner login (the `unm` claim of the bearer IAM issued).
    pub login: String,
    /// The long-lived `refreshToken`: Basic password and IAM refresh token.
    pub token: SecretString,
    /// The Zebrunner user id.
    pub user_id: i64,
}

impl fmt::Debug for SsoGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SsoGrant")
            .field("login", &self.login)
            .field("token", &"[REDACTED]")
            .field("user_id", &self.user_id)
            .finish()
    }
}

impl Workspace {
    /// Exchanges an SSO temp token (from [`parse_sso_address`]) for the
    /// person's login and long-lived token: one `POST /api/iam/v1/auth/refresh`
    /// through this workspace's pool and rate limit, never retried, since the
    /// temp token is single use (a second try would only be refused).
    ///
    /// A used, expired or unknown temp token is [`Error::Unauthorized`]
    /// (`ErrorKind::Unauthorized`): the person has to sign in again. An
    /// answer without a `refreshToken`, a login (`unm`) or a user id is
    /// [`Error::Decode`]. No error contains either token.
    pub async fn redeem_sso_token(&self, temp: SecretString) -> Result<SsoGrant, Error> {
        // A transport of its own, so that the temp token is the refresh token
        // sent (and redacted from any error); it shares the workspace's pool.
        let transport = Transport::new(self.shared().clone(), SSO_LOGIN.to_owned(), temp)?;
        let exchange = iam_exchange(&transport, false).await?;
        let grant = SsoGrant::from_exchange(exchange, REFRESH_PATH)?;
        tracing::debug!(user_id = grant.user_id, "redeemed a Zebrunner SSO sign-in");
        Ok(grant)
    }
}

impl SsoGrant {
    /// The grant in an IAM answer from `POST {path}`; an answer without a
    /// `refreshToken`, a login (`unm`) or a user id is [`Error::Decode`].
    pub(crate) fn from_exchange(exchange: Exchange, path: &str) -> Result<SsoGrant, Error> {
        let decode = |message: &str| Error::Decode {
            message: message.to_owned(),
            method: "POST".into(),
            path: path.into(),
        };
        let token = exchange
            .refresh_token
            .ok_or_else(|| decode("the IAM response has no refreshToken"))?;
        let login = exchange
            .username
            .ok_or_else(|| decode("the IAM response's authToken names no user (no unm claim)"))?;
        let user_id = exchange
            .user_id
            .ok_or_else(|| decode("the IAM response has no userId"))?;
        Ok(SsoGrant {
            login,
            token,
            user_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret as _;

    use super::*;

    const WS: &str = "https://acme.zebrunner.com";
    const TOKEN: &str = "sso_3f2a9c0e7b5d4a1f8e6c2b9d0a7f3e1c";

    fn ok(input: &str, ws: &str) -> String {
        match parse_sso_address(input, ws) {
            Ok(t) => t.expose_secret().to_owned(),
            Err(e) => panic!("{input}: {e}"),
        }
    }

    fn err(input: &str, ws: &str) -> SsoAddressError {
        match parse_sso_address(input, ws) {
            Ok(_) => panic!("{input} should be refused"),
            Err(e) => e,
        }
    }

    #[test]
    fn accepts_the_landing_address() {
        let address = format!("{WS}/sso?refresh-token={TOKEN}");
        assert_eq!(ok(&address, WS), TOKEN);
        // Trimmed, a trailing slash, the explicit default port, upper-case host,
        // other parameters and a fragment.
        assert_eq!(ok(&format!("  {address}\n"), WS), TOKEN);
        assert_eq!(ok(&format!("{WS}/sso/?refresh-token={TOKEN}"), WS), TOKEN);
        assert_eq!(
            ok(
                &format!("https://ACME.zebrunner.com:443/sso?x=1&refresh-token={TOKEN}#top"),
                WS
            ),
            TOKEN
        );
        // A workspace URL with a trailing slash, plain http with a port, a path prefix.
        assert_eq!(ok(&address, "https://acme.zebrunner.com/"), TOKEN);
        assert_eq!(
            ok(
                &format!("http://127.0.0.1:8123/sso?refresh-token={TOKEN}"),
                "http://127.0.0.1:8123"
            ),
            TOKEN
        );
        assert_eq!(
            ok(
                &format!("https://example.com/zeb/sso?refresh-token={TOKEN}"),
                "https://example.com/zeb"
            ),
            TOKEN
        );
        // Percent-encoded characters are decoded.
        assert_eq!(ok(&format!("{WS}/sso?refresh-token=a%2Bb%3D"), WS), "a+b=");
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        assert_eq!(err("", WS), SsoAddressError::Empty);
        assert_eq!(err(" \n\t", WS), SsoAddressError::Empty);
        assert_eq!(err(TOKEN, WS), SsoAddressError::NotAnAddress);
        assert_eq!(
            err(&format!("acme.zebrunner.com/sso?refresh-token={TOKEN}"), WS),
            SsoAddressError::NotAnAddress
        );
        assert_eq!(
            err(
                &format!("ftp://acme.zebrunner.com/sso?refresh-token={TOKEN}"),
                WS
            ),
            SsoAddressError::NotAnAddress
        );
        assert_eq!(
            err(&format!("mailto:{TOKEN}@acme.zebrunner.com"), WS),
            SsoAddressError::NotAnAddress
        );
        let long = format!(
            "{WS}/sso?refresh-token={}",
            "a".repeat(MAX_SSO_ADDRESS_BYTES)
        );
        assert_eq!(err(&long, WS), SsoAddressError::TooLong);
    }

    #[test]
    fn refuses_other_workspaces_and_pages() {
        let other = SsoAddressError::OtherWorkspace {
            expected: WS.to_owned(),
        };
        for address in [
            format!("https://evil.zebrunner.com/sso?refresh-token={TOKEN}"),
            format!("http://acme.zebrunner.com/sso?refresh-token={TOKEN}"),
            format!("https://acme.zebrunner.com:8443/sso?refresh-token={TOKEN}"),
            format!("https://acme.zebrunner.com.evil.test/sso?refresh-token={TOKEN}"),
            format!("https://acme.zebrunner.com@evil.test/sso?refresh-token={TOKEN}"),
        ] {
            assert_eq!(err(&address, WS), other, "{address}");
        }
        let page = SsoAddressError::NotSsoPage {
            expected: WS.to_owned(),
        };
        for address in [
            format!("{WS}/?refresh-token={TOKEN}"),
            format!("{WS}/login?refresh-token={TOKEN}"),
            format!("{WS}/sso/x?refresh-token={TOKEN}"),
            format!("{WS}/ssox?refresh-token={TOKEN}"),
            format!("{WS}/projects/sso?refresh-token={TOKEN}"),
        ] {
            assert_eq!(err(&address, WS), page, "{address}");
        }
        // Below a path prefix, /sso alone is not the page.
        assert_eq!(
            err(
                &format!("https://example.com/sso?refresh-token={TOKEN}"),
                "https://example.com/zeb"
            ),
            SsoAddressError::NotSsoPage {
                expected: "https://example.com/zeb".to_owned()
            }
        );
        assert_eq!(
            err(
                &format!("{WS}/sso?refresh-token={TOKEN}"),
                "acme.zebrunner.com"
            ),
            SsoAddressError::InvalidWorkspace
        );
        assert_eq!(
            err(&format!("{WS}/sso?refresh-token={TOKEN}"), "file:///tmp"),
            SsoAddressError::InvalidWorkspace
        );
    }

    #[test]
    fn refuses_missing_repeated_and_damaged_tokens() {
        assert_eq!(err(&format!("{WS}/sso"), WS), SsoAddressError::NoToken);
        assert_eq!(err(&format!("{WS}/sso?"), WS), SsoAddressError::NoToken);
        assert_eq!(
            err(&format!("{WS}/sso?refresh-token="), WS),
            SsoAddressError::NoToken
        );
        assert_eq!(
            err(&format!("{WS}/sso?refresh_token={TOKEN}"), WS),
            SsoAddressError::NoToken
        );
        assert_eq!(
            err(
                &format!("{WS}/sso?refresh-token={TOKEN}&refresh-token={TOKEN}"),
                WS
            ),
            SsoAddressError::SeveralTokens
        );
        assert_eq!(
            err(
                &format!("{WS}/sso?refresh-token=&refresh-token={TOKEN}"),
                WS
            ),
            SsoAddressError::SeveralTokens
        );
        for damaged in ["a%20b", "a+b", "a%0Ab", "%C3%A9t%C3%A9", "a%7Fb"] {
            assert_eq!(
                err(&format!("{WS}/sso?refresh-token={damaged}"), WS),
                SsoAddressError::MalformedToken,
                "{damaged}"
            );
        }
        let longest = "t".repeat(MAX_SSO_TOKEN_BYTES);
        assert_eq!(
            ok(&format!("{WS}/sso?refresh-token={longest}"), WS),
            longest
        );
        assert_eq!(
            err(&format!("{WS}/sso?refresh-token={longest}t"), WS),
            SsoAddressError::MalformedToken
        );
    }

    #[test]
    fn messages_never_contain_the_token_or_the_pasted_text() {
        let cases = [
            (String::new(), WS),
            (TOKEN.to_owned(), WS),
            (
                format!("{WS}/sso?refresh-token={TOKEN}{}", "x".repeat(5000)),
                WS,
            ),
            (
                format!("https://{TOKEN}.evil.test/sso?refresh-token={TOKEN}"),
                WS,
            ),
            (format!("{WS}/{TOKEN}?refresh-token={TOKEN}"), WS),
            (format!("{WS}/sso?{TOKEN}=1"), WS),
            (
                format!("{WS}/sso?refresh-token={TOKEN}&refresh-token={TOKEN}"),
                WS,
            ),
            (format!("{WS}/sso?refresh-token={TOKEN}%20"), WS),
            (format!("{WS}/sso?refresh-token={TOKEN}"), "not a url"),
        ];
        let mut seen = std::collections::HashSet::new();
        for (input, ws) in &cases {
            let e = err(input, ws);
            let text = e.to_string();
            assert!(!text.contains(TOKEN), "{text}");
            assert!(!text.contains("evil"), "{text}");
            assert!(!format!("{e:?}").contains(TOKEN));
            seen.insert(std::mem::discriminant(&e));
        }
        assert_eq!(seen.len(), cases.len(), "one case per variant");
        assert_eq!(
            err(
                &format!("http://acme.zebrunner.com/sso?refresh-token={TOKEN}"),
                WS
            )
            .to_string(),
            "That address is not this server's Zebrunner workspace (expected https://acme.zebrunner.com): sign in to that workspace and copy the address of the page it lands on"
        );
    }

    #[test]
    fn grant_debug_hides_the_token() {
        let grant = SsoGrant {
            login: "alice@sandbox.test".into(),
            token: SecretString::from("zbr_sso_secret"),
            user_id: 1,
        };
        let text = format!("{grant:?}");
        assert!(text.contains("alice@sandbox.test") && !text.contains("zbr_sso_secret"));
    }
}
