//! The issuer's signing keys (JWKS), cached.
//!
//! - Lifetime from the response's `Cache-Control: max-age`, clamped to
//!   [`CachePolicy::min_ttl`]..[`CachePolicy::max_ttl`]; `no-cache`,
//!   `no-store` or `max-age=0` mean the minimum; no header means
//!   [`CachePolicy::default_ttl`].
//! - An unknown `kid` triggers a refetch, at most
//!   [`CachePolicy::max_fetches_per_minute`] fetches in any 60 s window
//!   (every fetch counts, the first one too). Concurrent lookups of unknown
//!   kids share one fetch: whoever waited for a fetch in flight reuses its
//!   result instead of fetching again.
//! - Expired keys keep working: the lookup returns the cached key at once and
//!   refreshes in the background. A failed fetch never empties the cache
//!   (stale keys keep validating while the issuer is unreachable); it only
//!   postpones the next background refresh by the minimum lifetime.
//! - Keys are kept only if they are asymmetric (RSA, EC P-256/P-384,
//!   Ed25519), have a `kid`, and are not marked for encryption.
//!
//! Metrics (the `metrics` facade), labelled by `source` (`issuer`: a `jwks_uri`; `local`: our
//! own authorization server's keys), never by address: `zmcp_jwks_lookups_total` by `result`
//! (`hit`, `stale`: served from an expired cache while refreshing, `miss`: an unknown `kid`),
//! `zmcp_jwks_fetches_total` by `result` (`ok`, `failed`), and
//! `zmcp_jwks_fetches_limited_total` for refetches the rate limit skipped.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

use crate::discovery::{FetchError, fetch};
use crate::error::TokenError;

/// How the key set is cached and refetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachePolicy {
    /// Lifetime when the response has no `Cache-Control` max-age. Default 5 min.
    pub default_ttl: Duration,
    /// Shortest lifetime (also used for `no-cache`/`no-store`). Default 1 min.
    pub min_ttl: Duration,
    /// Longest lifetime. Default 24 h.
    pub max_ttl: Duration,
    /// Most fetches in any 60 s window. Default 10 (as Okta's verifiers).
    pub max_fetches_per_minute: usize,
}

impl Default for CachePolicy {
    fn default() -> Self {
        CachePolicy {
            default_ttl: Duration::from_secs(300),
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(24 * 3600),
            max_fetches_per_minute: 10,
        }
    }
}

impl CachePolicy {
    /// The lifetime for a response with this `Cache-Control` value.
    pub fn ttl(&self, cache_control: Option<&str>) -> Duration {
        let Some(value) = cache_control else {
            return self
                .default_ttl
                .clamp(self.min_ttl, self.max_ttl.max(self.min_ttl));
        };
        let mut max_age = None;
        for directive in value.split(',').map(str::trim) {
            let lower = directive.to_ascii_lowercase();
            if lower == "no-cache" || lower == "no-store" {
                return self.min_ttl;
            }
            if let Some(n) = lower.strip_prefix("max-age=") {
                max_age = n.trim_matches('"').parse::<u64>().ok().or(Some(0));
            }
        }
        let ttl = max_age.map(Duration::from_secs).unwrap_or(self.default_ttl);
        ttl.clamp(self.min_ttl, self.max_ttl.max(self.min_ttl))
    }
}

/// What kind of public key a JWK is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

/// A verification key from the JWKS.
pub(crate) struct VerifyKey {
    pub key: DecodingKey,
    pub kind: KeyKind,
    /// The JWK's `alg`, when it names one.
    pub alg: Option<Algorithm>,
}

impl VerifyKey {
    /// Whether a token signed with `alg` may be verified with this key.
    pub fn accepts(&self, alg: Algorithm) -> bool {
        use Algorithm::*;
        let kind_ok = match self.kind {
            KeyKind::Rsa => matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
            KeyKind::P256 => alg == ES256,
            KeyKind::P384 => alg == ES384,
            KeyKind::Ed25519 => alg == EdDSA,
        };
        kind_ok && self.alg.is_none_or(|a| a == alg)
    }
}

/// Parses a JWKS document, keeping the usable keys (see module docs).
pub(crate) fn parse_jwks(body: &[u8]) -> Result<HashMap<String, Arc<VerifyKey>>, String> {
    let doc: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let keys = doc
        .get("keys")
        .and_then(|k| k.as_array())
        .ok_or("no `keys` array")?;
    let mut out = HashMap::new();
    for raw in keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(raw.clone()) else {
            tracing::debug!("skipping a JWKS entry that is not a supported JWK");
            continue;
        };
        let Some(kid) = jwk.common.key_id.clone() else {
            continue;
        };
        if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
            continue;
        }
        let kind = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => KeyKind::Rsa,
            AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
                KeyKind::P256
            }
            AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P384 => {
                KeyKind::P384
            }
            AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
                KeyKind::Ed25519
            }
            _ => continue,
        };
        let alg = match jwk.common.key_algorithm {
            None => None,
            Some(ka) => match key_algorithm(ka) {
                Some(a) => Some(a),
                None => continue,
            },
        };
        let Ok(key) = DecodingKey::from_jwk(&jwk) else {
            continue;
        };
        out.entry(kid)
            .or_insert_with(|| Arc::new(VerifyKey { key, kind, alg }));
    }
    Ok(out)
}

fn key_algorithm(ka: KeyAlgorithm) -> Option<Algorithm> {
    Some(match ka {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

struct KeyState {
    keys: HashMap<String, Arc<VerifyKey>>,
    expires_at: Instant,
}

/// Why a fetch did not replace the key set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refresh {
    /// Fetched now.
    Fetched,
    /// Another caller fetched (or tried) while we waited.
    Shared,
    /// Over the rate limit; nothing fetched.
    Limited,
    /// The fetch failed; the cache is unchanged.
    Failed,
}

/// Reads a key set (a JWKS document) without HTTP: our own authorization server's published
/// keys, read from the database every replica shares, so a key another replica made is found.
pub type LocalKeys =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send>> + Send + Sync>;

/// Where a key set comes from.
pub(crate) enum KeySource {
    /// The issuer's `jwks_uri`.
    Remote {
        client: reqwest::Client,
        uri: String,
    },
    /// This process ([`LocalKeys`]).
    Local(LocalKeys),
}

impl KeySource {
    /// The metrics label: which kind of source, never its address.
    fn label(&self) -> &'static str {
        match self {
            KeySource::Remote { .. } => "issuer",
            KeySource::Local(_) => "local",
        }
    }

    fn describe(&self) -> &str {
        match self {
            KeySource::Remote { uri, .. } => uri,
            KeySource::Local(_) => "local keys",
        }
    }

    /// The key set's document and its `Cache-Control`.
    async fn fetch(&self) -> Result<(Vec<u8>, Option<String>), String> {
        match self {
            KeySource::Remote { client, uri } => match fetch(client, uri).await {
                Ok(fetched) => Ok((fetched.body, fetched.cache_control)),
                Err(FetchError::NotFound(s)) => Err(format!("HTTP {s}")),
                Err(e) => Err(e.reason()),
            },
            KeySource::Local(read) => read().await.map(|body| (body, None)),
        }
    }
}

/// The cached key set of one issuer.
pub(crate) struct KeyCache {
    source: KeySource,
    policy: CachePolicy,
    state: RwLock<KeyState>,
    /// Times of recent fetches (for the rate limit); the lock also makes
    /// fetches one at a time.
    fetches: tokio::sync::Mutex<VecDeque<Instant>>,
    /// Completed fetch attempts, bumped after the state is updated.
    attempts: AtomicU64,
    /// Fetches actually sent (for tests and metrics).
    sent: AtomicU64,
}

impl KeyCache {
    /// Fetches the key set once; errors are for start-up.
    pub(crate) async fn load(
        source: KeySource,
        policy: CachePolicy,
    ) -> Result<Arc<KeyCache>, String> {
        let now = Instant::now();
        let fetched = source
            .fetch()
            .await
            .and_then(|(body, cache_control)| Ok((parse_jwks(&body)?, cache_control)));
        count_fetch(&source, fetched.is_ok());
        let (keys, cache_control) = fetched?;
        let ttl = policy.ttl(cache_control.as_deref());
        Ok(Arc::new(KeyCache {
            source,
            state: RwLock::new(KeyState {
                keys,
                expires_at: now + ttl,
            }),
            fetches: tokio::sync::Mutex::new(VecDeque::from([now])),
            attempts: AtomicU64::new(1),
            sent: AtomicU64::new(1),
            policy,
        }))
    }

    /// Whether any cached key can verify one of `algs`.
    pub(crate) fn has_key_for(&self, algs: &[Algorithm]) -> bool {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        state
            .keys
            .values()
            .any(|k| algs.iter().any(|a| k.accepts(*a)))
    }

    /// Number of JWKS fetches sent so far.
    pub(crate) fn fetch_count(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    fn lookup(&self, kid: &str) -> (Option<Arc<VerifyKey>>, bool) {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        (
            state.keys.get(kid).cloned(),
            Instant::now() < state.expires_at,
        )
    }

    /// The key for `kid`, refetching as the module docs describe.
    pub(crate) async fn get(self: &Arc<Self>, kid: &str) -> Result<Arc<VerifyKey>, TokenError> {
        // Read the attempt counter before the cache, so a fetch that lands
        // between the two is noticed and not repeated.
        let seen = self.attempts.load(Ordering::SeqCst);
        let lookup = self.lookup(kid);
        let result = match lookup {
            (Some(_), true) => "hit",
            (Some(_), false) => "stale",
            (None, _) => "miss",
        };
        metrics::counter!(LOOKUPS, "source" => self.source.label(), "result" => result)
            .increment(1);
        match lookup {
            (Some(key), true) => Ok(key),
            (Some(key), false) => {
                let this = Arc::clone(self);
                tokio::spawn(async move {
                    this.refresh(seen, false).await;
                });
                Ok(key)
            }
            (None, _) => {
                let outcome = self.refresh(seen, true).await;
                match self.lookup(kid).0 {
                    Some(key) => Ok(key),
                    None if outcome == Refresh::Failed => Err(TokenError::KeysUnavailable),
                    None => Err(TokenError::UnknownKey),
                }
            }
        }
    }

    /// Fetches the key set unless another caller did since `seen`, or the
    /// rate limit is reached. With `wait == false`, gives up at once if a
    /// fetch is in flight.
    async fn refresh(&self, seen: u64, wait: bool) -> Refresh {
        let mut recent = if wait {
            self.fetches.lock().await
        } else {
            match self.fetches.try_lock() {
                Ok(guard) => guard,
                Err(_) => return Refresh::Shared,
            }
        };
        if self.attempts.load(Ordering::SeqCst) != seen {
            return Refresh::Shared;
        }
        let now = Instant::now();
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
        {
            recent.pop_front();
        }
        if recent.len() >= self.policy.max_fetches_per_minute {
            tracing::debug!(jwks_uri = %self.source.describe(), "JWKS refetch skipped: rate limit reached");
            metrics::counter!(FETCHES_LIMITED, "source" => self.source.label()).increment(1);
            return Refresh::Limited;
        }
        recent.push_back(now);
        self.sent.fetch_add(1, Ordering::SeqCst);
        let result =
            self.source.fetch().await.and_then(|(body, cache_control)| {
                parse_jwks(&body).map(|keys| (keys, cache_control))
            });
        let jwks_uri = self.source.describe();
        count_fetch(
            &self.source,
            matches!(&result, Ok((keys, _)) if !keys.is_empty()),
        );
        let outcome = {
            let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
            match result {
                Ok((keys, cache_control)) if !keys.is_empty() => {
                    tracing::debug!(jwks_uri = %jwks_uri, keys = keys.len(), "JWKS refreshed");
                    state.keys = keys;
                    state.expires_at = Instant::now() + self.policy.ttl(cache_control.as_deref());
                    Refresh::Fetched
                }
                Ok(_) => {
                    tracing::warn!(jwks_uri = %jwks_uri, "JWKS refresh returned no usable keys; keeping the cached keys");
                    state.expires_at = Instant::now() + self.policy.min_ttl;
                    Refresh::Failed
                }
                Err(reason) => {
                    tracing::warn!(jwks_uri = %jwks_uri, %reason, "JWKS refresh failed; keeping the cached keys");
                    state.expires_at = Instant::now() + self.policy.min_ttl;
                    Refresh::Failed
                }
            }
        };
        self.attempts.fetch_add(1, Ordering::SeqCst);
        outcome
    }
}

/// Metric names (see the module docs).
const LOOKUPS: &str = "zmcp_jwks_lookups_total";
const FETCHES: &str = "zmcp_jwks_fetches_total";
const FETCHES_LIMITED: &str = "zmcp_jwks_fetches_limited_total";

fn count_fetch(source: &KeySource, ok: bool) {
    let result = if ok { "ok" } else { "failed" };
    metrics::counter!(FETCHES, "source" => source.label(), "result" => result).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_follows_cache_control_within_bounds() {
        let p = CachePolicy::default();
        assert_eq!(p.ttl(None), Duration::from_secs(300));
        assert_eq!(p.ttl(Some("max-age=3600")), Duration::from_secs(3600));
        assert_eq!(
            p.ttl(Some("public, max-age=7200, must-revalidate")),
            Duration::from_secs(7200)
        );
        assert_eq!(p.ttl(Some("max-age=5")), Duration::from_secs(60));
        assert_eq!(p.ttl(Some("max-age=0")), Duration::from_secs(60));
        assert_eq!(p.ttl(Some("max-age=999999")), Duration::from_secs(86400));
        assert_eq!(p.ttl(Some("no-cache")), Duration::from_secs(60));
        assert_eq!(
            p.ttl(Some("max-age=600, no-store")),
            Duration::from_secs(60)
        );
        assert_eq!(p.ttl(Some("Max-Age=\"120\"")), Duration::from_secs(120));
        assert_eq!(p.ttl(Some("max-age=abc")), Duration::from_secs(60));
        assert_eq!(p.ttl(Some("private")), Duration::from_secs(300));
    }

    #[test]
    fn jwks_keeps_only_usable_signing_keys() {
        let body = br#"{"keys":[
            {"kty":"RSA","kid":"r","alg":"RS256","use":"sig","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","kid":"oaep","alg":"RSA-OAEP","n":"AQAB","e":"AQAB"},
            {"kty":"oct","kid":"h","k":"c2VjcmV0"},
            {"kty":"EC","kid":"e","crv":"P-256","x":"AQ","y":"AQ"},
            {"kty":"EC","kid":"e521","crv":"P-521","x":"AQ","y":"AQ"},
            {"kty":"OKP","kid":"ed","crv":"Ed25519","x":"AQ"},
            {"kty":"weird","kid":"w"},
            "not an object"
        ]}"#;
        let keys = parse_jwks(body).unwrap();
        let mut kids: Vec<_> = keys.keys().cloned().collect();
        kids.sort();
        assert_eq!(kids, ["e", "ed", "r"]);
        assert!(keys["r"].accepts(Algorithm::RS256));
        assert!(
            !keys["r"].accepts(Algorithm::PS256),
            "the JWK's alg pins it"
        );
        assert!(keys["e"].accepts(Algorithm::ES256));
        assert!(!keys["e"].accepts(Algorithm::ES384));
        assert!(!keys["e"].accepts(Algorithm::RS256));
        assert!(keys["ed"].accepts(Algorithm::EdDSA));
        assert!(parse_jwks(b"{}").is_err());
        assert!(parse_jwks(b"[").is_err());
    }
}
