//! Arguments that do not fit a tool's input schema, explained in a sentence.
//!
//! rmcp deserializes a tool's arguments before the tool runs and answers a
//! mismatch with serde's text ("failed to deserialize parameters: invalid
//! type: string \"ten\", expected u32"),
//! which names neither the argument nor what to send. Here that error
//! becomes a tool result (`isError`, so the model can correct itself) saying
//! which argument is missing, unknown or of the wrong type, from the tool's
//! own input schema.

use rmcp::{
    ErrorData as McpError,
    model::{CallToolResponse, ErrorCode, JsonObject, Tool},
};
use serde_json::Value;

use super::error::ToolError;
use crate::context::CallContext;

/// The prefix rmcp gives argument deserialization failures.
const DESERIALIZE_PREFIX: &str = "failed to deserialize parameters";

/// `outcome`, with an argument deserialization failure (rmcp's `isError`
/// result, or its JSON-RPC error) turned into a tool result that explains
/// it; anything else unchanged. No tool's own error starts with rmcp's
/// prefix, so only rmcp's are rewritten.
pub fn explained(
    cx: &CallContext,
    tool: &Tool,
    arguments: Option<&JsonObject>,
    outcome: Result<CallToolResponse, McpError>,
) -> Result<CallToolResponse, McpError> {
    let serde_text = match &outcome {
        Err(error)
            if error.code == ErrorCode::INVALID_PARAMS
                && error.message.starts_with(DESERIALIZE_PREFIX) =>
        {
            error.message.to_string()
        }
        Ok(CallToolResponse::Complete(result)) if result.is_error == Some(true) => {
            match result.content.as_slice() {
                [only] => match only.as_text() {
                    Some(text) if text.text.starts_with(DESERIALIZE_PREFIX) => text.text.clone(),
                    _ => return outcome,
                },
                _ => return outcome,
            }
        }
        _ => return outcome,
    };
    let error = ToolError::InvalidArgument(explain(tool, arguments, &serde_text));
    Ok(ToolError::into_result(cx.render_error(&error)).into())
}

/// What is wrong with `arguments` for `tool`, as a sentence.
pub fn explain(tool: &Tool, arguments: Option<&JsonObject>, serde_text: &str) -> String {
    let schema = tool.input_schema.as_ref();
    let properties = schema.get("properties").and_then(Value::as_object);
    let empty = JsonObject::new();
    let given = arguments.unwrap_or(&empty);
    let name = &tool.name;
    let mut problems = Vec::new();
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for field in &required {
        if given.get(*field).is_none_or(Value::is_null) {
            problems.push(format!(
                "`{field}` is missing ({})",
                expectation(properties.and_then(|p| p.get(*field)))
            ));
        }
    }
    if let Some(properties) = properties {
        for (field, value) in given {
            match properties.get(field) {
                None => {
                    let mut known: Vec<&str> = properties.keys().map(String::as_str).collect();
                    known.sort_unstable();
                    problems.push(format!(
                        "`{field}` is not an argument of {name} (it takes {})",
                        known.join(", ")
                    ));
                }
                Some(spec) if !fits(spec, value) => problems.push(format!(
                    "`{field}` is {}, but {name} needs {}",
                    describe(value),
                    expectation(Some(spec))
                )),
                Some(_) => {}
            }
        }
    }
    if problems.is_empty() {
        // Something the schema check does not see (a value out of an
        // untagged choice, ...): serde's reason, without its prefix.
        let reason = serde_text
            .trim_start_matches(DESERIALIZE_PREFIX)
            .trim_start_matches(':')
            .trim();
        problems.push(format!("{name} could not read them ({reason})"));
    }
    problems.join("; ")
}

/// Whether `value` has a type `spec` allows (types only; ranges and
/// formats are the tool's to judge).
fn fits(spec: &Value, value: &Value) -> bool {
    if value.is_null() {
        return true;
    }
    if let Some(options) = spec.get("enum").and_then(Value::as_array) {
        return options.contains(value);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(choices) = spec.get(key).and_then(Value::as_array) {
            return choices.iter().any(|c| fits(c, value));
        }
    }
    let types: Vec<&str> = match spec.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return true,
    };
    types.iter().any(|t| match *t {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.as_array().is_some_and(|items| {
            spec.get("items")
                .is_none_or(|item| items.iter().all(|v| fits(item, v)))
        }),
        "object" => value.is_object(),
        "null" => value.is_null(),
        _ => true,
    })
}

/// What `spec` asks for, in words, with its description when it has one.
fn expectation(spec: Option<&Value>) -> String {
    let Some(spec) = spec else {
        return "see the tool's input schema".into();
    };
    let mut kind = if let Some(options) = spec.get("enum").and_then(Value::as_array) {
        let names: Vec<String> = options.iter().map(Value::to_string).collect();
        format!("one of {}", names.join(", "))
    } else if let Some(choices) = spec
        .get("anyOf")
        .or_else(|| spec.get("oneOf"))
        .and_then(Value::as_array)
    {
        let kinds: Vec<String> = choices
            .iter()
            .map(|c| expectation(Some(c)))
            .filter(|k| k != "null")
            .collect();
        kinds.join(" or ")
    } else {
        match spec.get("type") {
            Some(Value::String(t)) => article(t),
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .map(article)
                .collect::<Vec<_>>()
                .join(" or "),
            _ => "a value".into(),
        }
    };
    if let Some(description) = spec.get("description").and_then(Value::as_str) {
        kind.push_str(&format!(": {}", description.trim_end_matches('.')));
    }
    kind
}

fn article(json_type: &str) -> String {
    match json_type {
        "string" => "text".into(),
        "integer" => "a whole number".into(),
        "number" => "a number".into(),
        "boolean" => "true or false".into(),
        "array" => "a list".into(),
        "object" => "an object".into(),
        other => other.into(),
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("the text {s:?}"),
        Value::Number(n) => format!("the number {n}"),
        Value::Bool(b) => format!("{b}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
        Value::Null => "null".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    fn tool() -> Tool {
        let schema = json!({
            "type": "object",
            "required": ["project_key"],
            "properties": {
                "project_key": {"type": "string", "description": "E.g. DEMO."},
                "page_size": {"type": ["integer", "null"], "description": "Launches per answer (default 20)."},
                "statuses": {"type": "array", "items": {"type": "string"}},
                "format": {"enum": ["markdown", "json"]}
            }
        });
        let Value::Object(schema) = schema else {
            unreachable!()
        };
        Tool::new("list_launches", "", Arc::new(schema))
    }

    fn args(v: Value) -> JsonObject {
        let Value::Object(o) = v else { unreachable!() };
        o
    }

    #[test]
    fn sentences_name_the_argument_and_what_it_needs() {
        let t = tool();
        let m = explain(
            &t,
            Some(&args(json!({}))),
            "failed to deserialize parameters: missing field `project_key`",
        );
        assert_eq!(m, "`project_key` is missing (text: E.g. DEMO)");
        let m = explain(
            &t,
            Some(&args(json!({"project_key": "DEMO", "page_size": "ten"}))),
            "x",
        );
        assert_eq!(
            m,
            "`page_size` is the text \"ten\", but list_launches needs a whole number: Launches per answer (default 20)"
        );
        let m = explain(
            &t,
            Some(&args(json!({"project_key": "DEMO", "status": ["FAILED"]}))),
            "x",
        );
        assert!(m.starts_with("`status` is not an argument of list_launches (it takes format, page_size, project_key, statuses)"), "{m}");
        let m = explain(
            &t,
            Some(&args(json!({"project_key": "DEMO", "format": "html"}))),
            "x",
        );
        assert!(m.contains("one of \"markdown\", \"json\""), "{m}");
        assert!(!m.contains("deserialize"), "{m}");
    }
}
