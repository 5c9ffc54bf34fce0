//! Inbound protection for `/mcp`: token buckets per person and per client, and a global cap
//! on requests in flight that sheds load instead of queueing it.
//!
//! - **Per person and per client** ([`RateLimits`]): after the caller is known (the guard
//!   validated the token), one bucket per user key and one per OAuth client id, refilled at
//!   the configured rate with the configured burst. An empty bucket is `429 Too Many Requests`
//!   with `Retry-After` (RFC 9110 §10.2.3) saying when a request will pass; nothing waits in
//!   the server. Buckets of people who went quiet are dropped every minute, so memory follows
//!   the active callers.
//! - **In flight** ([`shed`]): at most `max_concurrent_requests` requests to `/mcp` are
//!   handled at once, before any token is checked; one more is answered `503` with
//!   `Retry-After: 1` at once. There is no queue to grow. A request counts until its answer
//!   has been sent whole (a tool call's answer streamed over SSE included). `GET` (the
//!   idle listening stream of a session, which does no work) does not count.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::{
    Json,
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use futures::StreamExt as _;
use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::Semaphore;
use zebrunner_identity::Identity;

/// The `[limits]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Requests to `/mcp` one person (user key) may make per minute, sustained; 0 turns the
    /// per-person limit off.
    pub requests_per_minute_per_user: u32,
    /// Requests one person may make at once above the sustained rate.
    pub burst_per_user: u32,
    /// Requests to `/mcp` all people together may make per minute through one OAuth client
    /// (its client id); 0 turns the per-client limit off.
    pub requests_per_minute_per_client: u32,
    /// Requests all people together may make at once through one client.
    pub burst_per_client: u32,
    /// Requests to `/mcp` handled at once; more are refused with 503 at once (load
    /// shedding). 0 turns the cap off.
    pub max_concurrent_requests: u32,
    /// Deepest nesting of an incoming JSON-RPC message, on stdio and HTTP; a deeper one is
    /// refused with a JSON-RPC error before it is parsed. 0 turns the check off (serde's own
    /// limit of 128 still holds).
    pub max_json_depth: u32,
    /// Longest text one tool argument (or a text inside it) may carry, in bytes; a longer
    /// one is refused with an error naming the argument.
    pub max_argument_bytes: usize,
    /// Most items one list argument (or a list inside it) may hold.
    pub max_argument_items: usize,
    /// Most bytes of text one tool answer sends at once. A longer answer comes in parts, the
    /// next one fetched with `cursor` (tools that page), or is refused with advice on
    /// narrowing the request (tools that do not). Never cut silently.
    pub max_result_bytes: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            requests_per_minute_per_user: 600,
            burst_per_user: 60,
            requests_per_minute_per_client: 6000,
            burst_per_client: 300,
            max_concurrent_requests: 256,
            max_json_depth: 32,
            max_argument_bytes: 64 * 1024,
            max_argument_items: 1000,
            max_result_bytes: 100_000,
        }
    }
}

impl LimitsConfig {
    /// Everything wrong with these settings: (setting, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.requests_per_minute_per_user > 0 && self.burst_per_user == 0 {
            out.push((
                "limits.burst_per_user",
                "must be at least 1 while requests_per_minute_per_user is on".into(),
            ));
        }
        if self.requests_per_minute_per_client > 0 && self.burst_per_client == 0 {
            out.push((
                "limits.burst_per_client",
                "must be at least 1 while requests_per_minute_per_client is on".into(),
            ));
        }
        if self.max_json_depth > 0 && self.max_json_depth < 8 {
            out.push((
                "limits.max_json_depth",
                "must be 0 (off) or at least 8: MCP's own messages nest that deep".into(),
            ));
        }
        if self.max_result_bytes < 4096 {
            out.push((
                "limits.max_result_bytes",
                "must be at least 4096: a part of an answer must have room for its text".into(),
            ));
        }
        if self.max_argument_bytes == 0 || self.max_argument_items == 0 {
            out.push((
                "limits.max_argument_bytes",
                "max_argument_bytes and max_argument_items must be at least 1".into(),
            ));
        }
        out
    }
}

/// Which bucket ran dry, and when the next request will pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    User(Duration),
    Client(Duration),
}

impl Limited {
    /// Whole seconds for `Retry-After`, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        let (Limited::User(wait) | Limited::Client(wait)) = *self;
        (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
    }
}

/// The per-person and per-client buckets.
pub struct RateLimits {
    per_user: Option<DefaultKeyedRateLimiter<String>>,
    per_client: Option<DefaultKeyedRateLimiter<String>>,
    clock: DefaultClock,
}

fn limiter(per_minute: u32, burst: u32) -> Option<DefaultKeyedRateLimiter<String>> {
    let per_minute = NonZeroU32::new(per_minute)?;
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Some(RateLimiter::keyed(
        Quota::per_minute(per_minute).allow_burst(burst),
    ))
}

impl RateLimits {
    pub fn new(config: &LimitsConfig) -> Self {
        Self {
            per_user: limiter(config.requests_per_minute_per_user, config.burst_per_user),
            per_client: limiter(
                config.requests_per_minute_per_client,
                config.burst_per_client,
            ),
            clock: DefaultClock::default(),
        }
    }

    /// Take one request from `identity`'s buckets (the person's first: a person over their
    /// limit does not use up their client's).
    pub fn check(&self, identity: &Identity) -> Result<(), Limited> {
        if let Some(per_user) = &self.per_user
            && let Err(not_until) = per_user.check_key(&identity.user_key)
        {
            return Err(Limited::User(not_until.wait_time_from(self.clock.now())));
        }
        if let (Some(per_client), Some(client)) = (&self.per_client, &identity.client_id)
            && let Err(not_until) = per_client.check_key(client)
        {
            return Err(Limited::Client(not_until.wait_time_from(self.clock.now())));
        }
        Ok(())
    }

    /// Drop the buckets that are full again (callers who went quiet), every minute, for as
    /// long as the returned task runs.
    pub fn spawn_cleanup(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let limits = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            every.tick().await;
            loop {
                every.tick().await;
                let Some(limits) = limits.upgrade() else {
                    return;
                };
                for limiter in [&limits.per_user, &limits.per_client].into_iter().flatten() {
                    limiter.retain_recent();
                    limiter.shrink_to_fit();
                }
            }
        })
    }
}

/// The cap on requests in flight.
#[derive(Clone)]
pub struct InFlight {
    permits: Arc<Semaphore>,
}

impl InFlight {
    /// `None` when the cap is off.
    pub fn new(config: &LimitsConfig) -> Option<Self> {
        let cap = usize::try_from(config.max_concurrent_requests).ok()?;
        (cap > 0).then(|| Self {
            permits: Arc::new(Semaphore::new(cap)),
        })
    }
}

/// Middleware: handle the request while a permit is free, else 503 at once. The permit is
/// held until the response body has been sent (or dropped). `None`: no cap.
pub async fn shed(
    State(in_flight): State<Option<InFlight>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(in_flight) = in_flight.filter(|_| request.method() != Method::GET) else {
        return next.run(request).await;
    };
    let Ok(permit) = in_flight.permits.clone().try_acquire_owned() else {
        tracing::warn!("request shed: the server is at its cap of requests in flight");
        let mut response = (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "error": "overloaded",
                "error_description": "The server is handling as many requests as it may; retry in a second",
            })),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    };
    let (parts, body) = next.run(request).await.into_parts();
    let guarded = body.into_data_stream().map(move |chunk| {
        let _held = &permit;
        chunk
    });
    Response::from_parts(parts, Body::from_stream(guarded))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(user: &str, client: &str) -> Identity {
        Identity {
            user_key: user.into(),
            subject: user.into(),
            email: None,
            name: None,
            groups: Vec::new(),
            scopes: Vec::new(),
            client_id: Some(client.into()),
            is_service: false,
            expires_at: 0,
            grant_id: None,
        }
    }

    #[test]
    fn a_person_gets_their_burst_then_waits_and_others_do_not() {
        let limits = RateLimits::new(&LimitsConfig {
            requests_per_minute_per_user: 60,
            burst_per_user: 3,
            requests_per_minute_per_client: 0,
            ..LimitsConfig::default()
        });
        let alice = person("uid:a", "claude");
        for _ in 0..3 {
            assert_eq!(limits.check(&alice), Ok(()));
        }
        let Err(Limited::User(wait)) = limits.check(&alice) else {
            panic!("the fourth request should wait");
        };
        assert!(
            wait <= Duration::from_secs(1),
            "one per second refills: {wait:?}"
        );
        assert_eq!(limits.check(&person("uid:b", "claude")), Ok(()));
    }

    #[test]
    fn a_client_is_limited_across_people() {
        let limits = RateLimits::new(&LimitsConfig {
            requests_per_minute_per_user: 0,
            requests_per_minute_per_client: 60,
            burst_per_client: 2,
            ..LimitsConfig::default()
        });
        assert_eq!(limits.check(&person("uid:a", "cursor")), Ok(()));
        assert_eq!(limits.check(&person("uid:b", "cursor")), Ok(()));
        assert!(matches!(
            limits.check(&person("uid:c", "cursor")),
            Err(Limited::Client(_))
        ));
        assert_eq!(limits.check(&person("uid:c", "claude")), Ok(()));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(
            Limited::User(Duration::from_millis(1)).retry_after_secs(),
            1
        );
        assert_eq!(Limited::User(Duration::ZERO).retry_after_secs(), 1);
        assert_eq!(
            Limited::Client(Duration::from_millis(2500)).retry_after_secs(),
            3
        );
        assert_eq!(
            Limited::Client(Duration::from_secs(2)).retry_after_secs(),
            2
        );
    }

    #[test]
    fn a_burst_without_a_rate_is_a_problem() {
        let config = LimitsConfig {
            burst_per_user: 0,
            ..LimitsConfig::default()
        };
        assert_eq!(config.problems().len(), 1);
        assert!(LimitsConfig::default().problems().is_empty());
    }
}
