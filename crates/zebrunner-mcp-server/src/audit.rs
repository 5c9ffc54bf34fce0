//! Building audit records: one per tool call and one per authorization
//! decision. Records carry who, what (arguments redacted: ids and keys kept,
//! free text and secrets removed), which Zebrunner requests the call made,
//! the outcome and the latency; never a token.

use std::time::Duration;

use zebrunner_client::RequestCount;
use zebrunner_storage::audit::{
    AuditKind, AuditRecord, Outcome, ZebrunnerRequest, now_rfc3339, redact_arguments,
};

use crate::caller::Caller;

/// A fresh random correlation id (UUID v4 text).
pub fn correlation_id() -> String {
    let bytes: [u8; 16] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

fn base(caller: Option<&Caller>, transport: &str, kind: AuditKind) -> AuditRecord {
    let identity = caller.and_then(|c| c.identity.as_ref());
    AuditRecord {
        id: None,
        at: now_rfc3339(),
        correlation_id: correlation_id(),
        kind,
        user_key: identity.map(|i| i.user_key.clone()),
        email: identity.and_then(|i| i.email.clone()),
        client_id: identity.and_then(|i| i.client_id.clone()),
        transport: transport.to_string(),
        tool: None,
        arguments: serde_json::Value::Null,
        zebrunner_requests: Vec::new(),
        outcome: Outcome::Ok,
        error_class: None,
        detail: None,
        latency_ms: 0,
    }
}

/// The record of one tool call.
pub fn tool_call(
    caller: &Caller,
    tool: &str,
    arguments: Option<&serde_json::Map<String, serde_json::Value>>,
    requests: Vec<RequestCount>,
    outcome: Outcome,
    error_class: Option<&str>,
    latency: Duration,
) -> AuditRecord {
    let mut record = base(Some(caller), caller.transport, AuditKind::ToolCall);
    record.tool = Some(tool.to_string());
    record.arguments = arguments
        .map(|a| redact_arguments(&serde_json::Value::Object(a.clone())))
        .unwrap_or(serde_json::Value::Null);
    record.zebrunner_requests = requests
        .into_iter()
        .map(|r| ZebrunnerRequest {
            method: r.method,
            path: r.path,
            count: r.count,
        })
        .collect();
    record.outcome = outcome;
    record.error_class = error_class.map(str::to_string);
    record.latency_ms = latency.as_millis() as u64;
    record
}

/// The record of an authorization decision made before any tool ran.
pub fn decision(
    caller: Option<&Caller>,
    outcome: Outcome,
    error_class: &str,
    detail: impl Into<String>,
    latency: Duration,
) -> AuditRecord {
    let mut record = base(caller, "http", AuditKind::Authorization);
    record.outcome = outcome;
    record.error_class = Some(error_class.to_string());
    record.detail = Some(detail.into());
    record.latency_ms = latency.as_millis() as u64;
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_ids_are_uuid_shaped_and_distinct() {
        let a = correlation_id();
        let b = correlation_id();
        assert_eq!(a.len(), 36);
        assert_eq!(a.chars().filter(|c| *c == '-').count(), 4);
        assert_ne!(a, b);
    }
}
