//! Who is calling: an OAuth 2.1 resource server for access tokens from Okta
//! custom authorization servers (or any OpenID Connect provider).
//!
//! # Layout
//!
//! A request flows: [`bearer::bearer_token`] takes the token from the
//! `Authorization` header, [`OidcValidator::validate`] checks it against the
//! issuer's cached keys and our configuration and returns an [`Identity`];
//! on failure the server answers with a [`challenge::BearerChallenge`] that
//! points at the [`resource_metadata`] document.
//!
//! - [`config`]: [`OidcConfig`] (issuer, audience, algorithms, leeway,
//!   client allow-list, groups claim, service clients) and its validation.
//! - [`discovery`]: issuer metadata (OIDC Discovery and RFC 8414 forms).
//! - [`keys`]: the JWKS cache (Cache-Control lifetimes, rate-limited refetch
//!   on unknown `kid`, stale keys kept while the issuer is down).
//! - [`validate`]: [`OidcValidator`]: token shape, header, key and signature.
//! - [`claims`]: claim checks (`iss`, `aud`, times, ID-token rule, clients)
//!   and the mapping to [`Identity`].
//! - [`id_jag`]: identity assertion authorization grants (enterprise-managed
//!   authorization): the claim rules, after the same header, key and signature checks.
//! - [`identity`]: the [`Identity`] a token maps to.
//! - [`bearer`]: `Authorization: Bearer` parsing.
//! - [`challenge`]: `WWW-Authenticate: Bearer` (RFC 6750 §3, RFC 9728 §5.1).
//! - [`resource_metadata`]: RFC 9728 protected resource metadata.
//! - [`signin`]: [`SignInClient`], a person's sign-in at the issuer (authorization code
//!   with PKCE and nonce, confidential client), for our own web pages.
//! - [`error`]: [`TokenError`], [`SetupError`], [`ConfigError`].
//! - `tls`: [`install_crypto_provider`]: ring as the process-wide crypto provider of rustls
//!   and of `jsonwebtoken` (both are built without one of their own).
//! - `jwt_crypto`: the ring-backed `jsonwebtoken` provider.
//!
//! Tokens are never logged, stored, forwarded, or echoed in errors.

pub mod bearer;
pub mod challenge;
pub mod claims;
pub mod config;
pub mod discovery;
pub mod error;
pub mod id_jag;
pub mod identity;
mod jwt_crypto;
pub mod keys;
pub mod resource_metadata;
pub mod signin;
mod tls;
pub mod validate;

pub use bearer::{MalformedAuthorization, bearer_token};
pub use config::OidcConfig;
pub use discovery::IssuerMetadata;
pub use error::{ConfigError, SetupError, TokenError};
pub use id_jag::{IdJag, IdJagRules};
pub use identity::Identity;
pub use jsonwebtoken::Algorithm;
pub use keys::{CachePolicy, LocalKeys};
pub use signin::{SignInClient, SignInError, SignedIn};
pub use tls::install_crypto_provider;
pub use validate::{MAX_TOKEN_BYTES, OidcValidator};
