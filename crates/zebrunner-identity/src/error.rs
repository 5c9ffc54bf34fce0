//! Errors: why a token was refused ([`TokenError`]), why the validator could
//! not start ([`SetupError`]), and why a configuration is wrong
//! ([`ConfigError`]).
//!
//! No error here ever carries any part of a token: variants hold only static
//! text, claim names, or values from our own configuration and the issuer's
//! metadata. [`TokenError::description`] is safe to send back to the caller
//! in a `WWW-Authenticate` `error_description`.

use jsonwebtoken::Algorithm;

/// Why an access token was refused. Every variant maps to HTTP 401 with
/// `error="invalid_token"`, except [`TokenError::KeysUnavailable`], which is
/// our problem rather than the caller's (see [`TokenError::is_temporary`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a compact JWS: wrong number of segments, bad base64url, a header
    /// or payload that is not a JSON object, whitespace, non-ASCII.
    #[error("the token is not a well-formed JWT")]
    Malformed,
    /// Larger than [`crate::validate::MAX_TOKEN_BYTES`].
    #[error("the token is too large")]
    TooLarge,
    /// `alg` is `none`, HMAC, unknown, or not in the configured allow-list.
    #[error("the token's signing algorithm is not accepted")]
    UnsupportedAlgorithm,
    /// The header names a `crit` extension, or points at key material
    /// (`jku`, `x5u`, `jwk`, `x5c`); we never use keys a token brings.
    #[error("the token header carries parameters we refuse (crit, jku, x5u, jwk or x5c)")]
    ForbiddenHeader,
    /// The header has no `kid`.
    #[error("the token header has no key id (kid)")]
    MissingKeyId,
    /// No key with the token's `kid` in the issuer's key set, even after a
    /// refetch (or the refetch was rate limited).
    #[error("the token was signed with a key the issuer does not publish")]
    UnknownKey,
    /// The key named by `kid` is of another type, curve or `alg` than the
    /// token's `alg`, or is not a signing key.
    #[error("the token's algorithm does not match its key")]
    AlgorithmMismatch,
    /// The signature does not verify.
    #[error("the token's signature is invalid")]
    BadSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("the token was issued in the future")]
    IssuedInFuture,
    /// `iss` is not exactly the configured issuer.
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    /// `aud` does not contain the configured audience.
    #[error("the token was issued for another audience")]
    WrongAudience,
    /// The `typ` header is neither absent, `JWT` nor `at+jwt`.
    #[error("the token's type is not an access token")]
    WrongType,
    /// An ID token's `nonce` is not the one our sign-in sent.
    #[error("the ID token's nonce does not match the sign-in")]
    WrongNonce,
    /// An OpenID Connect ID token was offered as an access token.
    #[error("an ID token was sent instead of an access token")]
    IdToken,
    /// A required claim is absent.
    #[error("the token has no `{0}` claim")]
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type (e.g. `exp` as a string).
    #[error("the token's `{0}` claim has the wrong type")]
    InvalidClaim(&'static str),
    /// The client id is not in the configured allow-list (or absent while
    /// an allow-list is set).
    #[error("the token was issued to a client that is not allowed")]
    ClientNotAllowed,
    /// A token without a user (client credentials) from a client that is not
    /// a configured service client.
    #[error("the token has no user and its client is not an allowed service client")]
    NoUser,
    /// The key is unknown and the issuer's key set cannot be fetched right
    /// now. Not the caller's fault.
    #[error("the issuer's signing keys are unavailable")]
    KeysUnavailable,
    /// An ID-JAG's `client_id` is not the client presenting it.
    #[error("the assertion was issued to another client")]
    WrongClient,
    /// An ID-JAG's `resource` is not ours.
    #[error("the assertion is for another resource")]
    WrongResource,
    /// An ID-JAG lives longer (`exp - iat`) than we accept.
    #[error("the assertion's lifetime is longer than this server accepts")]
    TooLongLived,
    /// An ID-JAG asks for something we do not enforce (`cnf`, `authorization_details`).
    #[error("the assertion carries `{0}`, which this server does not support")]
    UnsupportedClaim(&'static str),
}

impl TokenError {
    /// A short, fixed sentence for `WWW-Authenticate: ... error_description`.
    /// Never contains any part of the token.
    pub fn description(&self) -> &'static str {
        match self {
            TokenError::Malformed => "The access token is not a well-formed JWT",
            TokenError::TooLarge => "The access token is too large",
            TokenError::UnsupportedAlgorithm => {
                "The access token's signing algorithm is not accepted"
            }
            TokenError::ForbiddenHeader => "The access token header carries refused parameters",
            TokenError::MissingKeyId => "The access token has no key id",
            TokenError::UnknownKey => "The access token was signed with an unknown key",
            TokenError::AlgorithmMismatch => "The access token's algorithm does not match its key",
            TokenError::BadSignature => "The access token's signature is invalid",
            TokenError::Expired => "The access token expired",
            TokenError::NotYetValid => "The access token is not valid yet",
            TokenError::IssuedInFuture => "The access token was issued in the future",
            TokenError::WrongIssuer => "The access token was issued by another issuer",
            TokenError::WrongAudience => "The access token was issued for another audience",
            TokenError::WrongType => "The token is not an access token",
            TokenError::IdToken => "An ID token was sent; send the access token",
            TokenError::WrongNonce => "The ID token does not belong to this sign-in",
            TokenError::MissingClaim(_) => "The access token lacks a required claim",
            TokenError::InvalidClaim(_) => "The access token has a claim of the wrong type",
            TokenError::ClientNotAllowed => {
                "The access token was issued to a client that is not allowed"
            }
            TokenError::NoUser => "The access token has no user",
            TokenError::KeysUnavailable => {
                "The issuer's signing keys are unavailable; try again later"
            }
            TokenError::WrongClient => "The assertion was issued to another client",
            TokenError::WrongResource => "The assertion is for another resource",
            TokenError::TooLongLived => "The assertion lives longer than accepted",
            TokenError::UnsupportedClaim(_) => "The assertion carries an unsupported claim",
        }
    }

    /// True when the refusal is not the caller's fault (the issuer's keys
    /// could not be fetched); a server may answer 503 instead of 401.
    pub fn is_temporary(&self) -> bool {
        matches!(self, TokenError::KeysUnavailable)
    }

    /// A stable machine name for logs and metrics (`snake_case`).
    pub fn kind(&self) -> &'static str {
        match self {
            TokenError::Malformed => "malformed",
            TokenError::TooLarge => "too_large",
            TokenError::UnsupportedAlgorithm => "unsupported_algorithm",
            TokenError::ForbiddenHeader => "forbidden_header",
            TokenError::MissingKeyId => "missing_key_id",
            TokenError::UnknownKey => "unknown_key",
            TokenError::AlgorithmMismatch => "algorithm_mismatch",
            TokenError::BadSignature => "bad_signature",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::IssuedInFuture => "issued_in_future",
            TokenError::WrongIssuer => "wrong_issuer",
            TokenError::WrongAudience => "wrong_audience",
            TokenError::WrongType => "wrong_type",
            TokenError::IdToken => "id_token",
            TokenError::WrongNonce => "wrong_nonce",
            TokenError::MissingClaim(_) => "missing_claim",
            TokenError::InvalidClaim(_) => "invalid_claim",
            TokenError::ClientNotAllowed => "client_not_allowed",
            TokenError::NoUser => "no_user",
            TokenError::KeysUnavailable => "keys_unavailable",
            TokenError::WrongClient => "wrong_client",
            TokenError::WrongResource => "wrong_resource",
            TokenError::TooLongLived => "too_long_lived",
            TokenError::UnsupportedClaim(_) => "unsupported_claim",
        }
    }
}

/// A configuration that cannot work; each message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error(
        "OIDC issuer `{0}` is not an absolute URL; use e.g. https://acme.okta.com/oauth2/default"
    )]
    IssuerNotUrl(String),
    #[error(
        "OIDC issuer `{0}` must use https (http is allowed only for a loopback host: 127.0.0.0/8, ::1, localhost)"
    )]
    IssuerNotHttps(String),
    #[error(
        "OIDC issuer `{0}` must not have a query, fragment or user info; use the exact `iss` of the tokens"
    )]
    IssuerHasExtras(String),
    #[error(
        "OIDC audience is empty; set it to the exact `aud` of the access tokens (e.g. the server's public URL)"
    )]
    AudienceEmpty,
    #[error("no token signing algorithms are allowed; allow at least RS256")]
    NoAlgorithms,
    #[error(
        "token signing algorithm {0:?} is not accepted; use asymmetric ones only (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA)"
    )]
    AlgorithmNotAllowed(Algorithm),
    #[error("leeway of {0} s is too large; use at most 300 s")]
    LeewayTooLarge(u64),
    #[error("the groups claim name is empty; use e.g. `groups`")]
    GroupsClaimEmpty,
    #[error("an empty client id is listed in allowed_client_ids or service_clients")]
    EmptyClientId,
}

/// Why [`crate::OidcValidator::discover`] could not start; each message
/// says what to check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "could not read the issuer's metadata from any of {tried:?}: {reason}. Check the issuer URL (for Okta: https://<domain>/oauth2/<server id>) and that this host can reach it"
    )]
    Discovery { tried: Vec<String>, reason: String },
    #[error(
        "the issuer's metadata at {url} names issuer `{found}`, but the configured issuer is `{expected}`; set the issuer to exactly `{found}` if that is the right server (mind trailing slashes)"
    )]
    IssuerMismatch {
        url: String,
        expected: String,
        found: String,
    },
    #[error("the issuer's metadata at {url} is not valid: {reason}")]
    BadMetadata { url: String, reason: String },
    #[error("could not fetch the issuer's signing keys from {url}: {reason}")]
    Jwks { url: String, reason: String },
    #[error(
        "the issuer's key set at {url} has no usable signing key (asymmetric, with a kid, for an allowed algorithm); check the allowed algorithms"
    )]
    NoUsableKeys { url: String },
}
