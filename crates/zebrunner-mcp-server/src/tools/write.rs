//! What every write tool shares: the preview → confirm protocol, the
//! answer (the exact request, a field-by-field diff against the current
//! state, the token) and diff rendering.
//!
//! 1. A call without `confirm` returns a **preview** and a single-use
//!    `confirmation_token` (see [`crate::confirm`]); nothing is written.
//! 2. The same call with `confirm: true` and that token plans the write
//!    again and performs it, if the plan is still the preview's: the token
//!    binds a hash of the request (method, path, body), the diff (with the
//!    `before` values it was computed from) and the plan's [`Plan::basis`].
//!    Otherwise it is refused ("changed since the preview") and stays unused.
//! 3. `dry_run: true` shows the request and the diff without any token.
//!
//! A plan may hold several requests of one kind (a batch: one rerun per
//! launch, [`Plan::more`]). They go through this same flow: all are bound
//! to the token, shown as one diff row each, and sent in order on confirm.
//! If one fails after others were sent, the answer says which were made
//! ([`ToolError::PartlyWritten`]); only a refusal of the first, when nothing
//! was written, hands the token back.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use zebrunner_client::WriteRequest;

use super::{
    error::ToolError,
    output::{ToolOutput, cell, truncate},
};
use crate::{confirm::LOCAL_USER, context::CallContext, handler::ZebrunnerMcp};

/// The protocol arguments every write tool takes.
#[derive(Debug, Clone, Default)]
pub struct Control {
    pub dry_run: bool,
    pub confirm: bool,
    pub confirmation_token: Option<String>,
}

/// What a write tool prepared: the request and what it changes.
pub struct Plan {
    pub request: WriteRequest,
    /// Further requests of the same write, sent in order after `request`
    /// (a batch); empty for a single write. The output shows `request`; the
    /// diff should give each request a row.
    pub more: Vec<WriteRequest>,
    /// Changes against the current state; `None` when nothing exists yet.
    pub diff: Option<Vec<Change>>,
    /// One line saying what the write does.
    pub summary: String,
    /// Current state the plan depends on that neither the request nor the
    /// diff shows in full (e.g. every case a suite selector adds); `Null`
    /// when there is none. Bound to the token with the request and diff.
    pub basis: Value,
}

impl Plan {
    /// What a confirmation token binds: the request exactly as it will be
    /// sent, the diff with the current values it was computed from, and the
    /// basis.
    pub fn hash(&self) -> String {
        let mut bound = serde_json::json!({
            "method": self.request.method.as_str(),
            "path": self.request.path(),
            "body": self.request.body,
            "diff": self.diff,
            "basis": self.basis,
        });
        // Only a batch adds the key, so single writes hash as they always did.
        if !self.more.is_empty() {
            bound["more"] = self
                .more
                .iter()
                .map(|r| serde_json::json!([r.method.as_str(), r.path(), r.body]))
                .collect();
        }
        crate::confirm::plan_hash(&bound)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Only shown; no token, nothing written.
    DryRun,
    /// Shown with a confirmation token; nothing written yet.
    Preview,
    /// Performed.
    Written,
}

/// The request exactly as sent to Zebrunner.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RequestView {
    /// POST, PUT or PATCH.
    pub method: String,
    /// Path and query, e.g. `/api/public/v1/test-suites?projectKey=DEMO`.
    pub path: String,
    /// JSON body; null when there is none.
    pub body: Option<Value>,
}

/// One field of the current state and what the write makes of it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Change {
    pub field: String,
    /// Current value (null when absent).
    pub before: Value,
    /// Value after the write.
    pub after: Value,
    /// Whether the write changes this field.
    pub changed: bool,
}

/// The answer of every write tool.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WriteOutput {
    pub tool: String,
    pub stage: Stage,
    pub summary: String,
    pub request: RequestView,
    /// Field-by-field changes against the current state; null for creations.
    pub diff: Option<Vec<Change>>,
    /// Single-use token to pass with `confirm: true` (previews only).
    pub confirmation_token: Option<String>,
    /// When the token expires (RFC 3339 UTC).
    pub expires_at: Option<String>,
    /// Zebrunner's answer to the write (written only; null for 204).
    pub result: Option<Value>,
    /// What to do next.
    pub next_step: String,
}

fn short(value: &Value) -> String {
    match value {
        Value::Null => "—".into(),
        Value::String(s) => truncate(s, 120),
        // A reference to a setting or another object reads as its name.
        Value::Object(o) if o.contains_key("name") || o.contains_key("title") => short(
            o.get("name")
                .or_else(|| o.get("title"))
                .unwrap_or(&Value::Null),
        ),
        Value::Object(o) if o.len() == 1 && o.contains_key("id") => {
            format!(
                "id {}",
                o.get("id").map(Value::to_string).unwrap_or_default()
            )
        }
        other => truncate(&other.to_string(), 120),
    }
}

/// One change as rows a person reads field by field: objects other than
/// references split into `field.key` rows (`customField.component`), lists
/// of objects into `field[N].key` rows (`steps[2].action`) of which only the
/// changed ones are shown, so no row holds raw JSON.
fn field_rows(change: &Change) -> Vec<Change> {
    let is_reference = |v: &Value| {
        v.as_object().is_some_and(|o| {
            o.contains_key("name")
                || o.contains_key("title")
                || (o.len() == 1 && o.contains_key("id"))
        })
    };
    let row = |field: String, before: Value, after: Value| Change {
        changed: !matches(&before, &after),
        field,
        before,
        after,
    };
    match (&change.before, &change.after) {
        (before, Value::Object(after)) if !is_reference(&change.after) => after
            .iter()
            .map(|(key, value)| {
                row(
                    format!("{}.{key}", change.field),
                    before.get(key).cloned().unwrap_or(Value::Null),
                    value.clone(),
                )
            })
            .collect(),
        (before, Value::Array(after))
            if after.iter().all(Value::is_object) && !after.is_empty() =>
        {
            let before: &[Value] = before.as_array().map(Vec::as_slice).unwrap_or_default();
            let mut rows = Vec::new();
            for i in 0..before.len().max(after.len()) {
                let (old, new) = (before.get(i), after.get(i));
                // The keys the write sends (ids and positions Zebrunner adds are not compared).
                let mut keys: Vec<&String> = new
                    .or(old)
                    .and_then(Value::as_object)
                    .map(|o| o.keys().collect())
                    .unwrap_or_default();
                if new.is_none() {
                    keys.retain(|k| after.first().and_then(|a| a.get(k.as_str())).is_some());
                }
                for key in keys {
                    let r = row(
                        format!("{}[{}].{key}", change.field, i + 1),
                        old.and_then(|o| o.get(key)).cloned().unwrap_or(Value::Null),
                        new.and_then(|n| n.get(key)).cloned().unwrap_or(Value::Null),
                    );
                    if r.changed {
                        rows.push(r);
                    }
                }
            }
            if rows.is_empty() {
                rows.push(row(
                    change.field.clone(),
                    Value::from("(same)"),
                    Value::from("(same)"),
                ));
                rows[0].changed = false;
            }
            rows
        }
        _ => vec![change.clone()],
    }
}

impl ToolOutput for WriteOutput {
    fn markdown(&self) -> String {
        let title = match self.stage {
            Stage::DryRun => "Dry run (nothing written, no token)",
            Stage::Preview => "Preview (nothing written yet)",
            Stage::Written => "Written",
        };
        let mut md = format!("## {}: {title}\n\n{}\n\n", self.tool, self.summary);
        md.push_str(&format!(
            "**Request:** `{} {}`\n",
            self.request.method, self.request.path
        ));
        if let Some(body) = &self.request.body {
            md.push_str(&format!(
                "\n```json\n{}\n```\n",
                serde_json::to_string_pretty(body).unwrap_or_default()
            ));
        }
        if let Some(diff) = &self.diff {
            md.push_str("\n| Field | Now | After | Changes |\n|---|---|---|---|\n");
            for row in diff.iter().flat_map(field_rows) {
                md.push_str(&format!(
                    "| {} | {} | {} | {} |\n",
                    cell(&row.field),
                    cell(&short(&row.before)),
                    cell(&short(&row.after)),
                    if row.changed { "yes" } else { "no" }
                ));
            }
        }
        if let Some(token) = &self.confirmation_token {
            md.push_str(&format!(
                "\n**confirmation_token:** `{token}` (single use, expires {})\n",
                self.expires_at.as_deref().unwrap_or("soon")
            ));
        }
        if let Some(result) = &self.result {
            md.push_str(&format!(
                "\n**Zebrunner answered:**\n```json\n{}\n```\n",
                truncate(
                    &serde_json::to_string_pretty(result).unwrap_or_default(),
                    4000
                )
            ));
        }
        md.push_str(&format!("\n{}\n", self.next_step));
        md
    }
}

/// Whether `current` already is what `wanted` asks for: objects match on the
/// keys `wanted` names (`{name: "High"}` matches `{id: 2, name: "High"}`),
/// arrays element by element, a missing value like null.
pub fn matches(current: &Value, wanted: &Value) -> bool {
    match (current, wanted) {
        (Value::Object(c), Value::Object(w)) => w
            .iter()
            .all(|(k, v)| matches(c.get(k).unwrap_or(&Value::Null), v)),
        (Value::Array(c), Value::Array(w)) => {
            c.len() == w.len() && c.iter().zip(w).all(|(c, w)| matches(c, w))
        }
        (Value::Null, Value::String(s)) | (Value::String(s), Value::Null) => s.is_empty(),
        (Value::Null, Value::Array(a)) | (Value::Array(a), Value::Null) => a.is_empty(),
        (c, w) => c == w,
    }
}

/// The changes a body makes to `current`: one row per body field, with the
/// current value of the same field.
pub fn diff_fields(current: &Value, body: &Value) -> Vec<Change> {
    let Value::Object(fields) = body else {
        return Vec::new();
    };
    let mut keys: Vec<&String> = fields.keys().collect();
    keys.sort();
    keys.into_iter()
        .map(|key| {
            let before = current.get(key).cloned().unwrap_or(Value::Null);
            let after = fields[key].clone();
            Change {
                field: key.clone(),
                changed: !matches(&before, &after),
                before,
                after,
            }
        })
        .collect()
}

impl ZebrunnerMcp {
    /// Run the preview → confirm protocol for one write.
    pub(crate) async fn write_flow(
        &self,
        cx: &CallContext,
        tool: &str,
        arguments: &Value,
        control: Control,
        plan: Plan,
    ) -> Result<WriteOutput, ToolError> {
        if !cx.grant().may_write() {
            return Err(ToolError::Denied(
                "this server or your access policy is read-only".into(),
            ));
        }
        if control.dry_run && control.confirm {
            return Err(ToolError::invalid(
                "`dry_run` and `confirm` exclude each other: dry_run only shows the request",
            ));
        }
        let user = cx.caller.user_key().unwrap_or(LOCAL_USER);
        let plan_hash = plan.hash();
        let request = RequestView {
            method: plan.request.method.as_str().to_string(),
            path: plan.request.path(),
            body: plan.request.body.clone(),
        };
        let mut out = WriteOutput {
            tool: tool.to_string(),
            stage: Stage::DryRun,
            summary: plan.summary,
            request,
            diff: plan.diff,
            confirmation_token: None,
            expires_at: None,
            result: None,
            next_step: String::new(),
        };
        if control.confirm {
            let token = control
                .confirmation_token
                .as_deref()
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| {
                    ToolError::invalid(format!(
                        "`confirm: true` needs the `confirmation_token` of a preview; call {tool} without `confirm` first"
                    ))
                })?;
            self.confirmations()
                .consume(token, user, tool, arguments, &plan_hash)
                .await?;
            let mut answers = Vec::new();
            let requests = || std::iter::once(&plan.request).chain(&plan.more);
            for request in requests() {
                match cx.client.write(request).await {
                    Ok(answer) => answers.push(answer),
                    Err(error) if answers.is_empty() => {
                        // Refused before anything changed: the token is handed
                        // back, as the error message says (see `error::write_refused`).
                        if super::error::write_refused(&error) {
                            self.confirmations().release(token, user).await;
                        }
                        return Err(error.into());
                    }
                    Err(error) => {
                        return Err(ToolError::PartlyWritten {
                            written: requests()
                                .take(answers.len())
                                .map(WriteRequest::path)
                                .collect(),
                            of: 1 + plan.more.len(),
                            error: Box::new(error),
                        });
                    }
                }
            }
            let result = if plan.more.is_empty() {
                answers.pop().unwrap_or_default()
            } else {
                Value::Array(answers)
            };
            out.stage = Stage::Written;
            out.result = (!result.is_null()).then_some(result);
            out.next_step =
                "Done. The token is used up; a further change needs a new preview.".into();
        } else if control.dry_run {
            out.next_step = format!(
                "Nothing was written. Call {tool} without `dry_run` to get a preview with a confirmation token."
            );
        } else {
            let issued = self
                .confirmations()
                .issue(user, tool, arguments, &plan_hash)
                .await?;
            out.stage = Stage::Preview;
            out.next_step = format!(
                "Nothing was written yet. Show this to the user; if they agree, call {tool} again with the same arguments plus `confirm: true` and `confirmation_token: \"{}\"` before {}.",
                issued.token, issued.expires_at
            );
            out.confirmation_token = Some(issued.token);
            out.expires_at = Some(issued.expires_at);
        }
        Ok(out)
    }
}

/// A `{id}` or `{name}` reference as Zebrunner's bodies take them.
pub fn reference(value: &super::args::NameOrId) -> Value {
    match value {
        super::args::NameOrId::Id(id) => serde_json::json!({ "id": id }),
        super::args::NameOrId::Name(name) => serde_json::json!({ "name": name.trim() }),
    }
}

/// The arguments as JSON, for binding a token to them.
pub fn arguments_of<T: Serialize>(args: &T) -> Value {
    serde_json::to_value(args).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn partial_references_match_full_objects() {
        assert!(matches(
            &json!({"id": 2, "name": "High"}),
            &json!({"name": "High"})
        ));
        assert!(!matches(
            &json!({"id": 2, "name": "High"}),
            &json!({"name": "Low"})
        ));
        assert!(matches(&Value::Null, &json!("")));
        assert!(matches(&json!([]), &Value::Null));
        assert!(!matches(&json!([1]), &json!([1, 2])));
    }

    #[test]
    fn diff_lists_every_body_field_with_its_current_value() {
        let current =
            json!({"title": "Old", "description": "same", "priority": {"id": 1, "name": "High"}});
        let body = json!({"title": "New", "description": "same", "priority": {"name": "High"}, "draft": true});
        let diff = diff_fields(&current, &body);
        let fields: Vec<(&str, bool)> =
            diff.iter().map(|c| (c.field.as_str(), c.changed)).collect();
        assert_eq!(
            fields,
            [
                ("description", false),
                ("draft", true),
                ("priority", false),
                ("title", true)
            ]
        );
        assert_eq!(diff[3].before, json!("Old"));
        assert_eq!(diff[3].after, json!("New"));
        assert_eq!(diff[1].before, Value::Null);
    }

    #[test]
    fn diffs_read_field_by_field_without_raw_json() {
        let current = json!({
            "priority": {"id": 13, "name": "Medium"},
            "steps": [
                {"id": 1, "action": "Open the page", "expectedResult": "Shown"},
                {"id": 2, "action": "Click Buy", "expectedResult": "Cart opens"}
            ],
            "customField": {"component": "cart", "jiraEpic": "SHOP-1"}
        });
        let body = json!({
            "priority": {"name": "Major"},
            "steps": [
                {"action": "Open the page", "expectedResult": "Shown"},
                {"action": "Click Buy now", "expectedResult": "Cart opens"},
                {"action": "Pay", "expectedResult": "Paid"}
            ],
            "customField": {"component": "checkout"}
        });
        let rows: Vec<Change> = diff_fields(&current, &body)
            .iter()
            .flat_map(field_rows)
            .collect();
        let shown: Vec<(String, String, String)> = rows
            .iter()
            .map(|r| (r.field.clone(), short(&r.before), short(&r.after)))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "customField.component".into(),
                    "cart".into(),
                    "checkout".into()
                ),
                ("priority".into(), "Medium".into(), "Major".into()),
                (
                    "steps[2].action".into(),
                    "Click Buy".into(),
                    "Click Buy now".into()
                ),
                ("steps[3].action".into(), "—".into(), "Pay".into()),
                ("steps[3].expectedResult".into(), "—".into(), "Paid".into()),
            ]
        );
        assert!(
            shown
                .iter()
                .all(|(_, b, a)| !b.contains('{') && !a.contains('{'))
        );
    }

    #[test]
    fn markdown_shows_request_diff_and_token() {
        let out = WriteOutput {
            tool: "update_test_suite".into(),
            stage: Stage::Preview,
            summary: "Rename suite 3".into(),
            request: RequestView {
                method: "PUT".into(),
                path: "/api/public/v1/test-suites/3?projectKey=DEMO".into(),
                body: Some(json!({"title": "New"})),
            },
            diff: Some(vec![Change {
                field: "title".into(),
                before: json!("Old|x"),
                after: json!("New"),
                changed: true,
            }]),
            confirmation_token: Some("abc".into()),
            expires_at: Some("2026-01-01T00:10:00Z".into()),
            result: None,
            next_step: "confirm".into(),
        };
        let md = out.markdown();
        assert!(
            md.contains("`PUT /api/public/v1/test-suites/3?projectKey=DEMO`"),
            "{md}"
        );
        assert!(md.contains("| title | Old\\|x | New | yes |"), "{md}");
        assert!(md.contains("**confirmation_token:** `abc`"), "{md}");
        assert!(md.contains("Preview (nothing written yet)"), "{md}");
    }
}
