//! Credentials a request carries itself (`credentials = "headers"`): the
//! header names of Zebrunner's own hosted MCP server and of the existing
//! TypeScript server, so configurations written for them (and the Docker
//! MCP Gateway, which injects headers from its secret store) work here.
//!
//! The token is never stored or logged; it goes only to Zebrunner. Clients
//! are cached by a hash of login and token, so a busy caller costs one
//! client per token, not per call.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use moka::future::Cache;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use zebrunner_client::{Workspace, ZebrunnerClient};

use super::logins::LoginRules;
use crate::{caller::Caller, tools::error::ToolError};

/// Header names, the first of each pair being the canonical one (public for the Docker MCP
/// Registry entry's test, which checks the headers it sends against these).
pub const LOGIN_HEADERS: [&str; 2] = ["x-zebrunner-username", "x-zebrunner-api-username"];
pub const TOKEN_HEADERS: [&str; 2] = ["x-zebrunner-api-token", "x-zebrunner-token"];
const MAX_LOGIN: usize = 256;
const MAX_TOKEN: usize = 4096;

/// A login and token from the request's headers. `Debug` never shows the token.
#[derive(Clone)]
pub struct RequestCredentials {
    pub login: String,
    pub token: SecretString,
}

impl std::fmt::Debug for RequestCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestCredentials")
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

impl RequestCredentials {
    /// `None` when the request carries neither header; `Err` with what is wrong when it
    /// carries one, both twice, or values no Zebrunner login or token can have.
    pub fn from_headers(headers: &HeaderMap) -> Option<Result<RequestCredentials, &'static str>> {
        let login = one_of(headers, &LOGIN_HEADERS);
        let token = one_of(headers, &TOKEN_HEADERS);
        match (login, token) {
            (None, None) => None,
            (Some(login), Some(token)) => Some(Self::parse(login, token)),
            _ => Some(Err(
                "send both X-Zebrunner-Username and X-Zebrunner-Api-Token, or neither",
            )),
        }
    }

    fn parse(
        login: Result<&str, &'static str>,
        token: Result<&str, &'static str>,
    ) -> Result<RequestCredentials, &'static str> {
        let (login, token) = (login?.trim(), token?.trim());
        if login.is_empty() || login.len() > MAX_LOGIN || login.chars().any(char::is_control) {
            return Err("X-Zebrunner-Username must be your Zebrunner login (1 to 256 characters)");
        }
        if token.is_empty()
            || token.len() > MAX_TOKEN
            || !token.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(
                "X-Zebrunner-Api-Token must be a Zebrunner API token (printable, no spaces)",
            );
        }
        Ok(RequestCredentials {
            login: login.to_owned(),
            token: SecretString::from(token),
        })
    }

    /// SHA-256 of login and token: the cache key, so the cache holds no token as a key.
    fn fingerprint(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(self.login.as_bytes());
        hash.update([0]);
        hash.update(self.token.expose_secret().as_bytes());
        hash.finalize().into()
    }
}

/// One value from the first of `names` present; an error when it repeats or is not text.
fn one_of<'h>(headers: &'h HeaderMap, names: &[&str]) -> Option<Result<&'h str, &'static str>> {
    let mut values = names.iter().flat_map(|name| headers.get_all(*name).iter());
    let first = values.next()?;
    if values.next().is_some() {
        return Some(Err("send each X-Zebrunner credential header once"));
    }
    Some(
        first
            .to_str()
            .map_err(|_| "X-Zebrunner credential headers must be plain text"),
    )
}

/// Clients for the credentials requests carry.
pub struct HeaderCredentials {
    workspace: Workspace,
    logins: LoginRules,
    clients: Cache<[u8; 32], ZebrunnerClient>,
}

impl HeaderCredentials {
    pub fn new(workspace: Workspace, logins: LoginRules) -> Self {
        Self {
            workspace,
            logins,
            clients: Cache::builder()
                .max_capacity(1000)
                .time_to_idle(Duration::from_secs(30 * 60))
                .build(),
        }
    }

    /// The Zebrunner workspace every request's client is made for.
    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    pub async fn client_for(
        &self,
        caller: &Caller,
    ) -> Result<(ZebrunnerClient, String), ToolError> {
        let credentials = match &caller.zebrunner_headers {
            None => {
                return Err(ToolError::NoCredentials(
                    "This server uses your own Zebrunner account: send your login in \
                     X-Zebrunner-Username and your API token (Zebrunner: Account and profile, \
                     API tokens) in X-Zebrunner-Api-Token with every request"
                        .into(),
                ));
            }
            Some(Err(problem)) => return Err(ToolError::NoCredentials(format!("{problem}."))),
            Some(Ok(credentials)) => credentials,
        };
        // With identity, the header login must be one this person may use.
        if let Some(identity) = &caller.identity
            && !self.logins.allows(identity, &credentials.login)
        {
            return Err(ToolError::Denied(format!(
                "You are signed in as {}, who may not act as the Zebrunner login {:?}; send your \
                 own login and token, or ask the administrator to list the login under \
                 zebrunner.logins",
                identity.email.as_deref().unwrap_or(&identity.subject),
                credentials.login
            )));
        }
        let key = credentials.fingerprint();
        let workspace = &self.workspace;
        let client = self
            .clients
            .try_get_with(key, async {
                workspace.client(credentials.login.clone(), credentials.token.clone())
            })
            .await
            .map_err(|e: Arc<zebrunner_client::Error>| ToolError::Internal(e.to_string()))?;
        Ok((client, credentials.login.clone()))
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn both_headers_or_neither() {
        assert!(RequestCredentials::from_headers(&HeaderMap::new()).is_none());
        let ok = RequestCredentials::from_headers(&headers(&[
            ("x-zebrunner-username", " alice "),
            ("x-zebrunner-api-token", "tok-1"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(ok.login, "alice");
        assert_eq!(ok.token.expose_secret(), "tok-1");
        assert!(!format!("{ok:?}").contains("tok-1"));
        // The TypeScript server's aliases.
        let alias = RequestCredentials::from_headers(&headers(&[
            ("x-zebrunner-api-username", "bob"),
            ("x-zebrunner-token", "tok-2"),
        ]));
        assert_eq!(alias.unwrap().unwrap().login, "bob");
        for bad in [
            headers(&[("x-zebrunner-username", "alice")]),
            headers(&[("x-zebrunner-api-token", "s3cr3t")]),
            headers(&[
                ("x-zebrunner-username", "a"),
                ("x-zebrunner-api-username", "b"),
                ("x-zebrunner-api-token", "s3cr3t"),
            ]),
            headers(&[
                ("x-zebrunner-username", "alice"),
                ("x-zebrunner-api-token", "s3 cr3t"),
            ]),
            headers(&[
                ("x-zebrunner-username", ""),
                ("x-zebrunner-api-token", "s3cr3t"),
            ]),
        ] {
            let err = RequestCredentials::from_headers(&bad).unwrap().unwrap_err();
            assert!(!err.contains("s3"), "{err}");
        }
    }

    #[test]
    fn the_cache_key_depends_on_login_and_token() {
        let a = |l: &str, t: &str| RequestCredentials {
            login: l.into(),
            token: SecretString::from(t),
        };
        assert_eq!(a("x", "1").fingerprint(), a("x", "1").fingerprint());
        assert_ne!(a("x", "1").fingerprint(), a("x", "2").fingerprint());
        assert_ne!(a("x1", "").fingerprint(), a("x", "1").fingerprint());
    }
}
