//! The connect step inside `/authorize`: with credentials `vault`, a person who signs in for
//! an application but has no usable Zebrunner credentials yet is taken to the connect page
//! right there, once, and comes back to the authorization (`GET /oauth/resume`) when they
//! have connected, so the application's first tool call already works. The step is the
//! embedding server's ([`ConnectStep`]); this crate only decides when to take it.

use axum::response::Response;
use futures::future::BoxFuture;
use secrecy::SecretString;
use zebrunner_identity::Identity;

/// Where the connect page sends the person back to, once connected.
pub const RESUME_PATH: &str = "/oauth/resume";

/// The server's connect page, as the authorization needs it.
pub trait ConnectStep: Send + Sync {
    /// Whether `identity` has usable Zebrunner credentials. When not, and an `id_token` from
    /// the sign-in is at hand, the step may first try to connect them without a page
    /// (Zebrunner's token exchange, where offered and enabled). `Err` is a reason to show
    /// when that cannot be known now.
    fn connected<'a>(
        &'a self,
        identity: &'a Identity,
        id_token: Option<&'a SecretString>,
    ) -> BoxFuture<'a, Result<bool, String>>;

    /// The response that opens the connect page for `identity`, already signed in, which
    /// sends them to [`RESUME_PATH`] once they have connected.
    fn begin(&self, identity: &Identity) -> Response;
}
