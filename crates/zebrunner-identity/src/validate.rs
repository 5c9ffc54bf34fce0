//! [`OidcValidator`]: discovery at start-up, then per-request validation of
//! access tokens.
//!
//! Steps, in order (the first failure is reported):
//! 1. size (at most [`MAX_TOKEN_BYTES`]) and shape: exactly three non-empty
//!    base64url segments, nothing else (no whitespace, padding or non-ASCII);
//! 2. header: a JSON object; refuse `crit`, `jku`, `x5u`, `jwk`, `x5c`;
//!    `alg` must be in the configured allow-list (so never `none` or HMAC);
//!    `typ` absent, `JWT` or `at+jwt` (case-insensitive, optional
//!    `application/` prefix); `kid` required;
//! 3. key: from the cached JWKS by `kid` (see [`crate::keys`]); its type,
//!    curve and `alg` must agree with the token's `alg`;
//! 4. signature;
//! 5. payload: a JSON object, then the claim checks of [`crate::claims`].
//!
//! Nothing here logs or returns any part of the token.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use crate::config::OidcConfig;
use crate::discovery::{IssuerMetadata, discover_metadata, http_client};
use crate::error::{SetupError, TokenError};
use crate::identity::Identity;
use crate::keys::{CachePolicy, KeyCache, KeySource, LocalKeys};

/// Largest token accepted (Okta tokens are 1–2 KiB even with many groups).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Validates access tokens from one issuer. Cheap to clone (an `Arc`
/// inside); share one per process.
#[derive(Clone)]
pub struct OidcValidator {
    inner: Arc<Inner>,
}

struct Inner {
    config: OidcConfig,
    metadata: IssuerMetadata,
    keys: Arc<KeyCache>,
}

impl std::fmt::Debug for OidcValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcValidator")
            .field("issuer", &self.inner.config.issuer)
            .field("audience", &self.inner.config.audience)
            .field("jwks_uri", &self.inner.metadata.jwks_uri)
            .finish_non_exhaustive()
    }
}

impl OidcValidator {
    /// Checks the configuration, reads the issuer's metadata, then its keys,
    /// with the default [`CachePolicy`].
    pub async fn discover(config: OidcConfig) -> Result<Self, SetupError> {
        Self::discover_with_policy(config, CachePolicy::default()).await
    }

    /// [`OidcValidator::discover`] with another key-cache policy.
    pub async fn discover_with_policy(
        config: OidcConfig,
        policy: CachePolicy,
    ) -> Result<Self, SetupError> {
        config.validate()?;
        let client = http_client();
        let metadata = discover_metadata(&client, &config.issuer).await?;
        let source = KeySource::Remote {
            client,
            uri: metadata.jwks_uri.clone(),
        };
        let keys = KeyCache::load(source, policy)
            .await
            .map_err(|reason| SetupError::Jwks {
                url: metadata.jwks_uri.clone(),
                reason,
            })?;
        if !keys.has_key_for(&config.algorithms) {
            return Err(SetupError::NoUsableKeys {
                url: metadata.jwks_uri.clone(),
            });
        }
        tracing::info!(issuer = %config.issuer, jwks_uri = %metadata.jwks_uri, "OIDC issuer discovered");
        Ok(OidcValidator {
            inner: Arc::new(Inner {
                config,
                metadata,
                keys,
            }),
        })
    }

    /// A validator for tokens this server issues itself (identity `broker`): the issuer is
    /// ours, its metadata is known without discovery, and its keys come from `keys`, not
    /// over HTTP. Everything else (header rules, claims, user keys) is as for Okta's tokens,
    /// so a person has the same user key either way.
    pub async fn with_local_keys(
        config: OidcConfig,
        metadata: IssuerMetadata,
        keys: LocalKeys,
    ) -> Result<Self, SetupError> {
        config.validate()?;
        let keys = KeyCache::load(KeySource::Local(keys), CachePolicy::default())
            .await
            .map_err(|reason| SetupError::Jwks {
                url: "local keys".into(),
                reason,
            })?;
        if !keys.has_key_for(&config.algorithms) {
            return Err(SetupError::NoUsableKeys {
                url: "local keys".into(),
            });
        }
        Ok(OidcValidator {
            inner: Arc::new(Inner {
                config,
                metadata,
                keys,
            }),
        })
    }

    /// The issuer's metadata as discovered.
    pub fn metadata(&self) -> &IssuerMetadata {
        &self.inner.metadata
    }

    /// The configuration in use.
    pub fn config(&self) -> &OidcConfig {
        &self.inner.config
    }

    /// How many times the JWKS has been fetched (start-up included).
    pub fn jwks_fetch_count(&self) -> u64 {
        self.inner.keys.fetch_count()
    }

    /// Whether a cached key can verify one of the configured algorithms (readiness: true
    /// from start-up on, since a failed refresh never empties the cache).
    pub fn has_keys(&self) -> bool {
        self.inner.keys.has_key_for(&self.inner.config.algorithms)
    }

    /// Validates an access token and says who it belongs to.
    pub async fn validate(&self, token: &str) -> Result<Identity, TokenError> {
        let result = self.validate_inner(token).await;
        if let Err(e) = &result {
            tracing::debug!(reason = e.kind(), "access token refused");
        }
        result
    }

    async fn validate_inner(&self, token: &str) -> Result<Identity, TokenError> {
        let claims = self.verified_claims(token, TokenType::Access).await?;
        crate::claims::check(&claims, &self.inner.config, now())
    }

    /// Checks an ID token from this issuer for our sign-in client `client_id` (OpenID
    /// Connect Core §3.1.3.7): steps 1 to 4 as for access tokens, then `iss` exact, `aud`
    /// containing `client_id` (and `azp` equal to it when there are several audiences),
    /// `exp` and `iat`, and `nonce` equal to the one our authorization request sent.
    pub async fn validate_id_token(
        &self,
        token: &str,
        client_id: &str,
        nonce: &str,
    ) -> Result<crate::claims::IdTokenClaims, TokenError> {
        let claims = self.verified_claims(token, TokenType::Access).await?;
        crate::claims::check_id_token(&claims, &self.inner.config, client_id, Some(nonce), now())
    }

    /// Checks an ID token presented to us without a sign-in of ours (a token exchange: a
    /// client hands over the ID token its own sign-in got): as [`Self::validate_id_token`]
    /// for `audience` (the client the token was issued to), but there is no nonce of ours to
    /// compare, so a `nonce` the token carries is not checked. Never use it to finish a
    /// sign-in of ours: that must compare its nonce.
    pub async fn validate_presented_id_token(
        &self,
        token: &str,
        audience: &str,
    ) -> Result<crate::claims::IdTokenClaims, TokenError> {
        let claims = self.verified_claims(token, TokenType::Access).await?;
        crate::claims::check_id_token(&claims, &self.inner.config, audience, None, now())
    }

    /// Checks an identity assertion authorization grant (ID-JAG) from this issuer: steps 1
    /// to 5 with `typ` `oauth-id-jag+jwt` required, then the claim rules of
    /// [`crate::id_jag`].
    pub async fn validate_id_jag(
        &self,
        token: &str,
        rules: &crate::id_jag::IdJagRules<'_>,
    ) -> Result<crate::id_jag::IdJag, TokenError> {
        let claims = self.verified_claims(token, TokenType::IdJag).await?;
        crate::id_jag::check(&claims, &self.inner.config, rules, now())
    }

    /// Steps 1 to 5: a well-formed token of type `typ` signed by one of the issuer's keys;
    /// its payload.
    async fn verified_claims(
        &self,
        token: &str,
        typ: TokenType,
    ) -> Result<Map<String, Value>, TokenError> {
        let config = &self.inner.config;
        let parts = split(token)?;
        let header = decode_object(parts.header)?;
        let (alg, kid) = check_header(&header, &config.algorithms, typ)?;
        let key = self.inner.keys.get(kid).await?;
        if !key.accepts(alg) {
            return Err(TokenError::AlgorithmMismatch);
        }
        let verified =
            jsonwebtoken::crypto::verify(parts.signature, parts.message.as_bytes(), &key.key, alg)
                .map_err(|e| match e.kind() {
                    jsonwebtoken::errors::ErrorKind::Base64(_) => TokenError::Malformed,
                    _ => TokenError::BadSignature,
                })?;
        if !verified {
            return Err(TokenError::BadSignature);
        }
        decode_object(parts.payload)
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

struct Parts<'a> {
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
    /// `header.payload`, the signed bytes.
    message: &'a str,
}

fn split(token: &str) -> Result<Parts<'_>, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLarge);
    }
    if token.is_empty()
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return Err(TokenError::Malformed);
    }
    let mut it = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (it.next(), it.next(), it.next(), it.next())
    else {
        return Err(TokenError::Malformed);
    };
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err(TokenError::Malformed);
    }
    let message = &token[..header.len() + 1 + payload.len()];
    Ok(Parts {
        header,
        payload,
        signature,
        message,
    })
}

fn decode_object(segment: &str) -> Result<Map<String, Value>, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| TokenError::Malformed)?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(TokenError::Malformed),
    }
}

/// Header parameters that point at, or carry, key material, or demand
/// extensions we do not implement.
const FORBIDDEN_HEADERS: &[&str] = &["crit", "jku", "x5u", "jwk", "x5c"];

/// What the `typ` header must say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenType {
    /// An access token (or an ID token, which shares the rule): absent, `JWT` or `at+jwt`,
    /// because Okta's access tokens carry `JWT` or nothing and RFC 9068 ones `at+jwt`.
    Access,
    /// An ID-JAG: exactly `oauth-id-jag+jwt` (draft-ietf-oauth-identity-assertion-authz-grant
    /// §3.1; RFC 8725 §3.11 explicit typing), so no other JWT of the issuer passes as one.
    IdJag,
}

fn check_header<'a>(
    header: &'a Map<String, Value>,
    allowed: &[Algorithm],
    typ: TokenType,
) -> Result<(Algorithm, &'a str), TokenError> {
    if FORBIDDEN_HEADERS.iter().any(|h| header.contains_key(*h)) {
        return Err(TokenError::ForbiddenHeader);
    }
    let alg = match header.get("alg") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(TokenError::Malformed),
        None => return Err(TokenError::Malformed),
    };
    let alg = alg
        .parse::<Algorithm>()
        .map_err(|_| TokenError::UnsupportedAlgorithm)?;
    if !allowed.contains(&alg) || !crate::config::ACCEPTABLE_ALGORITHMS.contains(&alg) {
        return Err(TokenError::UnsupportedAlgorithm);
    }
    let bare = match header.get("typ") {
        None => None,
        Some(Value::String(written)) => {
            let lower = written.to_ascii_lowercase();
            Some(
                lower
                    .strip_prefix("application/")
                    .map(str::to_owned)
                    .unwrap_or(lower),
            )
        }
        Some(_) => return Err(TokenError::WrongType),
    };
    let accepted = match typ {
        TokenType::Access => bare.as_deref().is_none_or(|t| t == "jwt" || t == "at+jwt"),
        TokenType::IdJag => bare.as_deref() == Some("oauth-id-jag+jwt"),
    };
    if !accepted {
        return Err(TokenError::WrongType);
    }
    let kid = match header.get("kid") {
        None | Some(Value::Null) => return Err(TokenError::MissingKeyId),
        Some(Value::String(k)) if !k.is_empty() => k.as_str(),
        Some(Value::String(_)) => return Err(TokenError::MissingKeyId),
        Some(_) => return Err(TokenError::Malformed),
    };
    Ok((alg, kid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hdr(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn validator_is_clone_send_sync() {
        fn check<T: Clone + Send + Sync + 'static>() {}
        check::<OidcValidator>();
    }

    #[test]
    fn header_rules() {
        let rs = [Algorithm::RS256];
        assert_eq!(
            check_header(
                &hdr(json!({"alg":"RS256","kid":"k"})),
                &rs,
                TokenType::Access
            ),
            Ok((Algorithm::RS256, "k"))
        );
        assert!(
            check_header(
                &hdr(json!({"alg":"RS256","kid":"k","typ":"at+jwt"})),
                &rs,
                TokenType::Access
            )
            .is_ok()
        );
        assert!(
            check_header(
                &hdr(json!({"alg":"RS256","kid":"k","typ":"application/AT+JWT"})),
                &rs,
                TokenType::Access
            )
            .is_ok()
        );
        assert!(
            check_header(
                &hdr(json!({"alg":"RS256","kid":"k","typ":"JWT"})),
                &rs,
                TokenType::Access
            )
            .is_ok()
        );
        let cases = [
            (
                json!({"alg":"none","kid":"k"}),
                TokenError::UnsupportedAlgorithm,
            ),
            (
                json!({"alg":"HS256","kid":"k"}),
                TokenError::UnsupportedAlgorithm,
            ),
            (
                json!({"alg":"ES256","kid":"k"}),
                TokenError::UnsupportedAlgorithm,
            ),
            (
                json!({"alg":"RS257","kid":"k"}),
                TokenError::UnsupportedAlgorithm,
            ),
            (json!({"alg":7,"kid":"k"}), TokenError::Malformed),
            (json!({"kid":"k"}), TokenError::Malformed),
            (json!({"alg":"RS256"}), TokenError::MissingKeyId),
            (json!({"alg":"RS256","kid":""}), TokenError::MissingKeyId),
            (json!({"alg":"RS256","kid":5}), TokenError::Malformed),
            (
                json!({"alg":"RS256","kid":"k","typ":"id_token"}),
                TokenError::WrongType,
            ),
            (
                json!({"alg":"RS256","kid":"k","typ":"dpop+jwt"}),
                TokenError::WrongType,
            ),
            (
                json!({"alg":"RS256","kid":"k","typ":1}),
                TokenError::WrongType,
            ),
            (
                json!({"alg":"RS256","kid":"k","crit":["exp"]}),
                TokenError::ForbiddenHeader,
            ),
            (
                json!({"alg":"RS256","kid":"k","jku":"https://evil"}),
                TokenError::ForbiddenHeader,
            ),
            (
                json!({"alg":"RS256","kid":"k","x5u":"https://evil"}),
                TokenError::ForbiddenHeader,
            ),
            (
                json!({"alg":"RS256","kid":"k","jwk":{}}),
                TokenError::ForbiddenHeader,
            ),
            (
                json!({"alg":"RS256","kid":"k","x5c":[]}),
                TokenError::ForbiddenHeader,
            ),
        ];
        for (h, want) in cases {
            assert_eq!(
                check_header(&hdr(h.clone()), &rs, TokenType::Access).map(|_| ()),
                Err(want),
                "{h}"
            );
        }
        // Even a (mis)configured HS256 allow-list never admits HMAC.
        assert_eq!(
            check_header(
                &hdr(json!({"alg":"HS256","kid":"k"})),
                &[Algorithm::HS256],
                TokenType::Access
            )
            .map(|_| ()),
            Err(TokenError::UnsupportedAlgorithm)
        );
    }

    #[test]
    fn an_id_jag_must_say_so_and_nothing_else_may() {
        let rs = [Algorithm::RS256];
        let jag = |typ: Value| {
            let mut h = json!({"alg":"RS256","kid":"k"});
            if !typ.is_null() {
                h["typ"] = typ;
            }
            check_header(&hdr(h), &rs, TokenType::IdJag).map(|_| ())
        };
        assert_eq!(jag(json!("oauth-id-jag+jwt")), Ok(()));
        assert_eq!(jag(json!("application/OAuth-ID-JAG+JWT")), Ok(()));
        for wrong in [Value::Null, json!("JWT"), json!("at+jwt"), json!("id-jag")] {
            assert_eq!(jag(wrong.clone()), Err(TokenError::WrongType), "{wrong}");
        }
        // And an ID-JAG is not an access token.
        assert_eq!(
            check_header(
                &hdr(json!({"alg":"RS256","kid":"k","typ":"oauth-id-jag+jwt"})),
                &rs,
                TokenType::Access
            )
            .map(|_| ()),
            Err(TokenError::WrongType)
        );
    }

    #[test]
    fn shape_rules() {
        assert!(split("a.b.c").is_ok());
        assert_eq!(split("a.b.c").unwrap().message, "a.b");
        for bad in [
            "", "a.b", "a.b.c.d", "a..c", ".b.c", "a.b.", "a.b.c ", " a.b.c", "a.b.c=", "a+b.c.d",
            "a.b.é", "a.b\n.c",
        ] {
            assert_eq!(
                split(bad).map(|_| ()),
                Err(TokenError::Malformed),
                "{bad:?}"
            );
        }
        assert_eq!(
            split(&"a".repeat(MAX_TOKEN_BYTES + 1)).map(|_| ()),
            Err(TokenError::TooLarge)
        );
        assert_eq!(decode_object("W10").map(|_| ()), Err(TokenError::Malformed)); // "[]"
        assert_eq!(decode_object("e30").unwrap().len(), 0); // "{}"
        assert_eq!(
            decode_object("e30x").map(|_| ()),
            Err(TokenError::Malformed)
        );
    }
}
