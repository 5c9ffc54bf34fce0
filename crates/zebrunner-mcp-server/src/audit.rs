//! Building audit records: one per tool call and one per authorization
//! decision. Records carry who, what (arguments redacted: ids and keys kept,
//! free text and secrets removed), which Zebrunner requests the call made,
//! the outcome and the latency; never a token. They are stored through
//! [`crate::observe::Observer`] only.
//!
//! Names and keys come from the caller, so they are bounded before they are
//! recorded: a tool the server does not offer is recorded as `unknown:` and
//! a short, printable prefix of the name; an argument key that is not in the
//! tool's input schema is recorded as `key:` and a hash of it.

use std::time::Duration;

use zebrunner_client::RequestCount;
use zebrunner_storage::audit::{
    AuditKind, AuditRecord, Outcome, ZebrunnerRequest, now_rfc3339, redact_arguments,
};

use crate::caller::Caller;

/// A fresh random correlation id (UUID v4 text).
pub fn correlation_id() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bytes: [u8; 16] = rand::random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x0f) | 0xa0; // the variant, as `a`
    // Written digit by digit: one allocation, where a `format!` per byte made seventeen.
    let mut id = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            id.push('-');
        }
        id.push(char::from(HEX[usize::from(byte >> 4)]));
        id.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    id
}

fn base(
    caller: Option<&Caller>,
    correlation_id: String,
    transport: &str,
    kind: AuditKind,
) -> AuditRecord {
    let identity = caller.and_then(|c| c.identity.as_ref());
    AuditRecord {
        id: None,
        at: now_rfc3339(),
        correlation_id,
        kind,
        user_key: identity.map(|i| i.user_key.clone()),
        email: identity.and_then(|i| i.email.clone()),
        client_id: identity.and_then(|i| i.client_id.clone()),
        zebrunner_login: None,
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

/// Characters of an unknown tool's name kept in its record.
const UNKNOWN_NAME_PREFIX: usize = 32;

/// What a record names as the tool.
#[derive(Clone, Copy)]
pub enum CalledTool<'a> {
    /// A tool this server offers.
    Known(&'a rmcp::model::Tool),
    /// A resource template (`resource:zebrunner://...`), named by us.
    Resource(&'a str),
    /// Whatever name the caller sent for a tool that is not offered to them.
    Unknown(&'a str),
}

impl CalledTool<'_> {
    fn recorded_name(&self) -> String {
        match self {
            CalledTool::Known(tool) => tool.name.to_string(),
            CalledTool::Resource(name) => name.to_string(),
            CalledTool::Unknown(name) => {
                let printable: String = name
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                    .take(UNKNOWN_NAME_PREFIX)
                    .collect();
                format!("unknown:{printable}")
            }
        }
    }

    /// Whether `key` is an argument the tool declares.
    fn declares(&self, key: &str) -> bool {
        match self {
            CalledTool::Known(tool) => tool
                .input_schema
                .get("properties")
                .and_then(serde_json::Value::as_object)
                .is_some_and(|properties| properties.contains_key(key)),
            CalledTool::Resource(_) => key == "project_key" || key == "uri",
            CalledTool::Unknown(_) => false,
        }
    }
}

/// `key:` and the first 12 hex digits of the key's SHA-256: enough to tell
/// keys apart in an investigation, nothing a caller can write into the log.
fn hashed_key(key: &str) -> String {
    format!("key:{}", &crate::confirm::sha256_hex(key)[..12])
}

/// Nested keys (inside arrays of steps, say) are kept when they look like
/// field names, else hashed.
fn plain_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn bound_keys(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let key = if plain_key(k) {
                    k.clone()
                } else {
                    hashed_key(k)
                };
                (key, bound_keys(v))
            })
            .collect::<serde_json::Map<_, _>>()
            .into(),
        serde_json::Value::Array(items) => items.iter().map(bound_keys).collect(),
        other => other.clone(),
    }
}

/// The arguments as they may be recorded: top-level keys the tool does not
/// declare hashed, nested keys bounded, then redacted.
fn recorded_arguments(
    tool: CalledTool<'_>,
    arguments: Option<&serde_json::Map<String, serde_json::Value>>,
) -> serde_json::Value {
    let Some(arguments) = arguments else {
        return serde_json::Value::Null;
    };
    let bounded: serde_json::Map<String, serde_json::Value> = arguments
        .iter()
        .map(|(k, v)| {
            let key = if tool.declares(k) {
                k.clone()
            } else {
                hashed_key(k)
            };
            (key, bound_keys(v))
        })
        .collect();
    redact_arguments(&serde_json::Value::Object(bounded))
}

/// The record of one tool call or resource read.
#[allow(clippy::too_many_arguments)]
pub fn tool_call(
    caller: &Caller,
    correlation_id: &str,
    tool: CalledTool<'_>,
    arguments: Option<&serde_json::Map<String, serde_json::Value>>,
    requests: Vec<RequestCount>,
    outcome: Outcome,
    error_class: Option<&str>,
    latency: Duration,
) -> AuditRecord {
    let mut record = base(
        Some(caller),
        correlation_id.to_string(),
        caller.transport,
        AuditKind::ToolCall,
    );
    record.tool = Some(tool.recorded_name());
    record.arguments = recorded_arguments(tool, arguments);
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
    let mut record = base(caller, correlation_id(), "http", AuditKind::Authorization);
    record.outcome = outcome;
    record.error_class = Some(error_class.to_string());
    record.detail = Some(detail.into());
    record.latency_ms = latency.as_millis() as u64;
    record
}

/// The record of a token the authorization server issued, or refused, at its token endpoint
/// for a confidential client (client credentials, token exchange, ID-JAG): who it was for,
/// which client asked, what was issued or why not. Never the token.
pub fn grant(event: &zebrunner_oauth::GrantEvent) -> AuditRecord {
    use zebrunner_oauth::GrantOutcome;
    let mut record = base(None, correlation_id(), "http", AuditKind::Authorization);
    record.user_key = event.user_key.clone();
    record.email = event.email.clone();
    record.client_id = Some(event.client_id.clone());
    record.error_class = Some(format!("oauth.{}", event.grant));
    match &event.outcome {
        GrantOutcome::Issued(what) => {
            record.outcome = Outcome::Ok;
            record.detail = Some(format!("issued a {what}"));
        }
        GrantOutcome::Refused(error, description) => {
            record.outcome = Outcome::Denied;
            record.detail = Some(format!("refused ({error}): {description}"));
        }
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool() -> rmcp::model::Tool {
        let schema = serde_json::json!({
            "type": "object",
            "properties": {"project_key": {"type": "string"}, "steps": {"type": "array"}}
        });
        rmcp::model::Tool::new(
            "create_test_case",
            "d",
            std::sync::Arc::new(schema.as_object().cloned().unwrap_or_default()),
        )
    }

    #[test]
    fn unknown_tool_names_are_bounded_and_printable() {
        let long = format!("\u{1b}[2J{}", "x".repeat(900_000));
        let name = CalledTool::Unknown(&long).recorded_name();
        assert!(name.starts_with("unknown:"), "{name}");
        assert!(
            name.len() <= "unknown:".len() + UNKNOWN_NAME_PREFIX,
            "{name}"
        );
        assert!(!name.contains('\u{1b}'));
        let tool = tool();
        assert_eq!(CalledTool::Known(&tool).recorded_name(), "create_test_case");
    }

    #[test]
    fn undeclared_keys_are_hashed() {
        let tool = tool();
        let args = serde_json::json!({
            "project_key": "DEMO",
            "\u{1b}]0;pwned\u{7}": 1,
            "steps": [{"action": "a", "bad key\n": "b"}]
        });
        let recorded = recorded_arguments(CalledTool::Known(&tool), args.as_object());
        let text = recorded.to_string();
        assert!(text.contains("project_key"), "{text}");
        assert!(!text.contains("pwned"), "{text}");
        assert!(!text.contains("bad key"), "{text}");
        assert!(text.contains("key:"), "{text}");
        // An unknown tool's keys are all hashed.
        let recorded = recorded_arguments(CalledTool::Unknown("x"), args.as_object());
        assert!(!recorded.to_string().contains("project_key"));
    }

    #[test]
    fn correlation_ids_are_uuid_shaped_and_distinct() {
        let a = correlation_id();
        let b = correlation_id();
        assert_eq!(a.len(), 36);
        assert_eq!(a.chars().filter(|c| *c == '-').count(), 4);
        assert_ne!(a, b);
        assert_eq!(&a[14..15], "4");
        assert_eq!(&a[19..20], "a");
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }
}
