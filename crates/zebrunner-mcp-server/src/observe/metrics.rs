//! Prometheus metrics: the recorder behind the `metrics` facade, what the server records at
//! its observation point, and the text a scrape of `/metrics` returns.
//!
//! Every crate records through the `metrics` facade at its own choke point, and nothing is
//! kept unless [`install`] has put the Prometheus recorder in place (`serve` does when
//! `metrics_listen` is set), so a server without metrics pays one relaxed load per call site.
//! Label values are bounded: tool names from the server's own list (anything else is
//! `unknown`), routes as templates, endpoint classes from a fixed list, outcomes and classes
//! from code; never a user, a path with ids in it, or an address.
//!
//! | Metric | Type | Labels | Recorded in |
//! |---|---|---|---|
//! | `zmcp_build_info` | gauge (1) | `version` | [`install`] |
//! | `zmcp_http_requests_total` | counter | `route`, `method`, `status` | `transport::http` |
//! | `zmcp_http_request_duration_seconds` | histogram | `route`, `method` | `transport::http` |
//! | `zmcp_mcp_sessions_active` | gauge | — | `transport::http` sessions |
//! | `zmcp_tool_calls_total` | counter | `tool`, `outcome` | [`super::Observer`] |
//! | `zmcp_tool_call_duration_seconds` | histogram | `tool` | [`super::Observer`] |
//! | `zmcp_resource_reads_total` | counter | `resource`, `outcome` | [`super::Observer`] |
//! | `zmcp_authorization_decisions_total` | counter | `outcome`, `class` | [`super::Observer`] |
//! | `zmcp_anonymous_refusals_total` | counter | `class` | [`super::Observer`] |
//! | `zmcp_audit_write_failures_total` | counter | — | the audit log's own count, at scrape |
//! | `zmcp_audit_queue_depth` | gauge | — | the audit writer's queue, at scrape |
//! | `zmcp_audit_batches_total` | counter | — | the audit writer's own count, at scrape |
//! | `zmcp_vault_lookups_total` | counter | `result` | `credentials::vault` |
//! | `zmcp_zebrunner_requests_total` | counter | `endpoint`, `method`, `status` | `zebrunner_client` |
//! | `zmcp_zebrunner_request_duration_seconds` | histogram | `endpoint` | `zebrunner_client` |
//! | `zmcp_zebrunner_retries_total` | counter | `endpoint`, `reason` | `zebrunner_client` |
//! | `zmcp_zebrunner_rate_limit_wait_seconds` | histogram | `source` | `zebrunner_client` |
//! | `zmcp_jwks_lookups_total` | counter | `source`, `result` | `zebrunner_identity` |
//! | `zmcp_jwks_fetches_total` | counter | `source`, `result` | `zebrunner_identity` |
//! | `zmcp_jwks_fetches_limited_total` | counter | `source` | `zebrunner_identity` |

use std::sync::{LazyLock, OnceLock};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use zebrunner_storage::audit::{AuditKind, AuditRecord, Outcome};

use crate::tools;

pub const BUILD_INFO: &str = "zmcp_build_info";
pub const HTTP_REQUESTS: &str = "zmcp_http_requests_total";
pub const HTTP_DURATION: &str = "zmcp_http_request_duration_seconds";
pub const SESSIONS_ACTIVE: &str = "zmcp_mcp_sessions_active";
pub const TOOL_CALLS: &str = "zmcp_tool_calls_total";
pub const TOOL_DURATION: &str = "zmcp_tool_call_duration_seconds";
pub const RESOURCE_READS: &str = "zmcp_resource_reads_total";
pub const AUTHORIZATION: &str = "zmcp_authorization_decisions_total";
pub const ANONYMOUS_REFUSALS: &str = "zmcp_anonymous_refusals_total";
pub const AUDIT_FAILURES: &str = "zmcp_audit_write_failures_total";
pub const AUDIT_QUEUE_DEPTH: &str = "zmcp_audit_queue_depth";
pub const AUDIT_BATCHES: &str = "zmcp_audit_batches_total";
pub const VAULT_LOOKUPS: &str = "zmcp_vault_lookups_total";

/// Upper bounds of every `*_seconds` histogram: 1 ms (a cached answer) to 30 s (Zebrunner's
/// retry deadline).
pub const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Install the Prometheus recorder as the process's `metrics` recorder (once; later calls
/// return the same handle). Fails only when another recorder was installed first.
pub fn install() -> Result<PrometheusHandle, String> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
        .map_err(|e| e.to_string())?
        .build_recorder();
    let handle = recorder.handle();
    // Two first callers at once: one recorder wins, the other handle is never used.
    if metrics::set_global_recorder(recorder).is_err() {
        return HANDLE
            .get()
            .cloned()
            .ok_or_else(|| "another metrics recorder is already installed".to_string());
    }
    let handle = HANDLE.get_or_init(|| handle).clone();
    describe();
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    Ok(handle)
}

/// The `# HELP` lines.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_gauge!(
        BUILD_INFO,
        "Always 1; the version label says which build runs."
    );
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route template, method and status."
    );
    describe_histogram!(
        HTTP_DURATION,
        "Seconds until the response head of an HTTP request (an SSE answer streams on)."
    );
    describe_gauge!(SESSIONS_ACTIVE, "MCP sessions open (Mcp-Session-Id).");
    describe_counter!(
        TOOL_CALLS,
        "Tool calls, by tool (unknown for names the server does not offer) and outcome (ok, error, denied)."
    );
    describe_histogram!(TOOL_DURATION, "Seconds a tool call took, by tool.");
    describe_counter!(
        RESOURCE_READS,
        "MCP resource reads, by template and outcome."
    );
    describe_counter!(
        AUTHORIZATION,
        "Authorization decisions recorded in the audit log (refusals, sessions, grants), by outcome and class."
    );
    describe_counter!(
        ANONYMOUS_REFUSALS,
        "Requests refused for want of a valid access token (counted, not audited), by class."
    );
    describe_counter!(
        AUDIT_FAILURES,
        "Audit sink writes that failed since start (a write's call fails with its record)."
    );
    describe_gauge!(
        AUDIT_QUEUE_DEPTH,
        "Audit records queued for the writer (bounded; a full queue holds callers until there is room)."
    );
    describe_counter!(
        AUDIT_BATCHES,
        "Batches the audit writer has stored (one transaction per database sink each, however many records)."
    );
    describe_counter!(
        VAULT_LOOKUPS,
        "Per-user credential lookups: hit (cached client), opened (read and decrypted), no_credentials, error."
    );
    describe_counter!(
        "zmcp_zebrunner_requests_total",
        "HTTP requests sent to Zebrunner (every attempt), by endpoint class, method and status (network: no answer)."
    );
    describe_histogram!(
        "zmcp_zebrunner_request_duration_seconds",
        "Seconds one request to Zebrunner took, by endpoint class."
    );
    describe_counter!(
        "zmcp_zebrunner_retries_total",
        "Requests to Zebrunner retried, by endpoint class and the status (or network) that caused it."
    );
    describe_histogram!(
        "zmcp_zebrunner_rate_limit_wait_seconds",
        "Waits before a request to Zebrunner: source client (requests_per_second) or zebrunner (Retry-After)."
    );
    describe_gauge!(
        "zmcp_zebrunner_circuit_open",
        "1 while the circuit breaker towards Zebrunner is open or half-open (calls fail fast), 0 when closed."
    );
    describe_counter!(
        "zmcp_zebrunner_circuit_transitions_total",
        "Circuit breaker state changes, by the state entered (open, half_open, closed)."
    );
    describe_counter!(
        "zmcp_zebrunner_circuit_rejections_total",
        "Requests to Zebrunner failed at once by the open circuit breaker (never sent)."
    );
    describe_counter!(
        "zmcp_jwks_lookups_total",
        "Signing-key lookups while validating tokens: hit, stale (expired, refreshed behind), miss (unknown kid)."
    );
    describe_counter!(
        "zmcp_jwks_fetches_total",
        "JWKS fetches, by source (issuer, local) and result (ok, failed)."
    );
    describe_counter!(
        "zmcp_jwks_fetches_limited_total",
        "JWKS refetches skipped by the rate limit (unknown kids beyond it)."
    );
}

/// The scrape: the recorder's metrics, with the counts kept elsewhere brought up to date.
#[derive(Clone)]
pub struct Exporter {
    handle: PrometheusHandle,
    observer: super::Observer,
}

impl Exporter {
    pub fn new(handle: PrometheusHandle, observer: super::Observer) -> Self {
        Self { handle, observer }
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        metrics::counter!(AUDIT_FAILURES).absolute(self.observer.audit_failures());
        metrics::gauge!(AUDIT_QUEUE_DEPTH).set(self.observer.audit_queue_depth() as f64);
        metrics::counter!(AUDIT_BATCHES).absolute(self.observer.audit_batches());
        self.handle.run_upkeep();
        self.handle.render()
    }

    /// Drain histograms between scrapes, so memory stays bounded when nobody scrapes.
    pub fn run_upkeep(&self) {
        self.handle.run_upkeep();
    }
}

/// The server's tool names: label values for `tool`, so a caller's made-up name never becomes
/// a series.
static TOOL_NAMES: LazyLock<Vec<String>> = LazyLock::new(|| {
    tools::router()
        .list_all()
        .into_iter()
        .map(|tool| tool.name.to_string())
        .collect()
});

/// A bounded `tool` label for a recorded name.
fn tool_label(name: &str) -> &'static str {
    TOOL_NAMES
        .iter()
        .find(|known| known.as_str() == name)
        .map_or("unknown", String::as_str)
}

/// A bounded `resource` label for a recorded template: `projects`, or the family's segment
/// (`suites` for `zebrunner://projects/{project_key}/suites`).
fn resource_label(template: &str) -> &'static str {
    use crate::resources::{Family, PROJECTS_URI};
    if template == PROJECTS_URI {
        return "projects";
    }
    Family::ALL
        .into_iter()
        .find(|family| family.template() == template)
        .map_or("unknown", Family::segment)
}

fn outcome_label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Ok => "ok",
        Outcome::Error => "error",
        Outcome::Denied => "denied",
    }
}

/// A class from code (`invalid_token`, `oauth.client_credentials`, `session_opened`): kept
/// when it looks like one, `other` otherwise.
fn class_label(class: Option<&str>) -> metrics::SharedString {
    match class {
        Some(class)
            if class.len() <= 48
                && class.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b)
                }) =>
        {
            metrics::SharedString::from(class.to_owned())
        }
        Some(_) => metrics::SharedString::const_str("other"),
        None => metrics::SharedString::const_str("none"),
    }
}

/// What one audit record counts for.
pub(crate) fn record(record: &AuditRecord) {
    let outcome = outcome_label(record.outcome);
    match record.kind {
        AuditKind::ToolCall => {
            let name = record.tool.as_deref().unwrap_or_default();
            if let Some(template) = name.strip_prefix("resource:") {
                let resource = resource_label(template);
                metrics::counter!(RESOURCE_READS, "resource" => resource, "outcome" => outcome)
                    .increment(1);
                return;
            }
            let tool = tool_label(name);
            metrics::counter!(TOOL_CALLS, "tool" => tool, "outcome" => outcome).increment(1);
            metrics::histogram!(TOOL_DURATION, "tool" => tool)
                .record(record.latency_ms as f64 / 1000.0);
        }
        AuditKind::Authorization => {
            metrics::counter!(
                AUTHORIZATION,
                "outcome" => outcome,
                "class" => class_label(record.error_class.as_deref()),
            )
            .increment(1);
        }
    }
}

/// One refusal of a request without a valid token.
pub(crate) fn anonymous_refusal(class: &str) {
    metrics::counter!(ANONYMOUS_REFUSALS, "class" => class_label(Some(class))).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded() {
        assert_eq!(tool_label("get_test_case"), "get_test_case");
        assert_eq!(tool_label("unknown:drop_tables"), "unknown");
        assert_eq!(tool_label("alice@example.com"), "unknown");
        assert_eq!(
            resource_label("zebrunner://projects/{project_key}/suites"),
            "suites"
        );
        assert_eq!(resource_label("zebrunner://projects"), "projects");
        assert_eq!(
            resource_label("zebrunner://projects/DEMO/suites"),
            "unknown"
        );
        assert_eq!(class_label(Some("invalid_token")).as_ref(), "invalid_token");
        assert_eq!(
            class_label(Some("oauth.client_credentials")).as_ref(),
            "oauth.client_credentials"
        );
        assert_eq!(class_label(Some("Bearer eyJ...")).as_ref(), "other");
        assert_eq!(class_label(Some(&"x".repeat(100))).as_ref(), "other");
    }
}
