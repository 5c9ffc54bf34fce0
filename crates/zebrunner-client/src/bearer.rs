//! A short-lived Zebrunner bearer for one person's credentials, handed to someone else:
//! the token exchange of our authorization server gives an internal service the bearer
//! instead of the person's long-lived token, so what leaks from that service expires
//! within the hour.

use secrecy::SecretString;

use crate::auth::iam_exchange;
use crate::client::Workspace;
use crate::error::Error;
use crate::transport::Transport;

/// A bearer from IAM. `Debug` leaves the token out.
pub struct IssuedBearer {
    /// The `authToken`: `Authorization: Bearer` for Zebrunner's APIs.
    pub token: SecretString,
    /// Seconds it lives.
    pub expires_in_secs: u64,
    /// The login it belongs to (`unm`), else the one given.
    pub login: String,
}

impl std::fmt::Debug for IssuedBearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedBearer")
            .field("expires_in_secs", &self.expires_in_secs)
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

impl Workspace {
    /// One IAM refresh (`POST /api/iam/v1/auth/refresh`) with `login`'s long-lived `token`,
    /// through this workspace's pool and rate limit, retried like any refresh (exchanging
    /// the same token again is harmless). A refused token is [`Error::Unauthorized`].
    pub async fn issue_bearer(
        &self,
        login: &str,
        token: SecretString,
    ) -> Result<IssuedBearer, Error> {
        let transport = Transport::new(self.shared().clone(), login.to_owned(), token)?;
        let exchange = iam_exchange(&transport, true).await?;
        Ok(IssuedBearer {
            token: exchange.auth_token,
            expires_in_secs: exchange.ttl_secs,
            login: exchange.username.unwrap_or_else(|| login.to_owned()),
        })
    }
}
