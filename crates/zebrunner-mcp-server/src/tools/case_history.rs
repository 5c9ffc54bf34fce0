//! Execution and change history of a test case, shared by `get_test_case`
//! and `get_test_case_history`: one execution row, and change-log entries
//! flattened into field changes with step-level diffs.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use zebrunner_client::{TestCase, TestCaseChange, TestCaseExecution, UserRef};

use super::output::truncate;

#[derive(Debug, Serialize, JsonSchema)]
pub struct ExecutionItem {
    pub id: i64,
    pub at: Option<String>,
    pub status: Option<String>,
    /// MANUAL or AUTOMATED.
    pub execution_type: Option<String>,
    pub elapsed_ms: Option<i64>,
    pub environment: Option<String>,
    pub configurations: Vec<String>,
    pub automation_launch_id: Option<i64>,
    pub issue: Option<String>,
    pub details: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ChangeEntry {
    pub id: i64,
    pub at: Option<String>,
    pub user_id: Option<i64>,
    /// Who made the change, when the case or its executions name them.
    pub user: Option<String>,
    /// CREATE or UPDATE.
    pub kind: Option<String>,
    pub changes: Vec<FieldChange>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FieldChange {
    /// Field name; for steps `steps[N].action` or `steps[N].expectedResult`.
    pub field: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// A JSON value as short text (strings without quotes).
pub fn compact(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One execution as shown to the caller.
pub fn execution_item(e: TestCaseExecution) -> ExecutionItem {
    ExecutionItem {
        id: e.id,
        at: e.tracked_at,
        status: e.status.map(|s| s.name),
        execution_type: e.type_,
        elapsed_ms: e.elapsed_time_in_millis,
        environment: e.environment.and_then(|env| env.name.or(env.key)),
        configurations: e
            .configurations
            .into_iter()
            .map(|c| {
                format!(
                    "{}: {}",
                    c.group_name.unwrap_or_default(),
                    c.option_name.unwrap_or_default()
                )
            })
            .collect(),
        automation_launch_id: e.automation_launch_id,
        issue: e.issue_id,
        details: e.details.map(|d| truncate(&d, 300)),
    }
}

/// The people a case's history mentions, by user id. The change log carries
/// only ids; the case (`createdBy`, `lastModifiedBy`) and its executions
/// (`trackedBy`) carry the users themselves, so their names come from there.
#[derive(Debug, Default)]
pub struct People(BTreeMap<i64, String>);

impl People {
    /// The people named by `case` and `executions`.
    pub fn of(case: &TestCase, executions: &[TestCaseExecution]) -> Self {
        let mut people = People::default();
        for user in [&case.created_by, &case.last_modified_by]
            .into_iter()
            .flatten()
        {
            people.add(user);
        }
        for e in executions {
            if let Some(user) = e
                .tracked_by
                .as_ref()
                .and_then(|v| serde_json::from_value::<UserRef>(v.clone()).ok())
            {
                people.add(&user);
            }
        }
        people
    }

    fn add(&mut self, user: &UserRef) {
        let name = user
            .username
            .as_ref()
            .or(user.email.as_ref())
            .filter(|n| !n.trim().is_empty());
        if let (Some(id), Some(name)) = (user.id, name) {
            self.0.entry(id).or_insert_with(|| name.clone());
        }
    }

    /// The name of user `id`, if known.
    pub fn name(&self, id: Option<i64>) -> Option<String> {
        id.and_then(|id| self.0.get(&id).cloned())
    }
}

/// Who made a change, for text: the name, else the id.
pub fn author(entry: &ChangeEntry) -> String {
    match (&entry.user, entry.user_id) {
        (Some(name), _) => name.clone(),
        (None, Some(id)) => format!("user id {id}"),
        (None, None) => "an unknown user".into(),
    }
}

/// Flatten one change-log entry; list fields (steps, conditions given as
/// lists) become one change per differing step field.
pub fn change_entry(entry: TestCaseChange, people: &People) -> ChangeEntry {
    let mut changes = Vec::new();
    for item in entry.items {
        match (&item.old_values, &item.new_values) {
            (None, None) => changes.push(FieldChange {
                field: item.field.clone(),
                old: item.old_value.clone(),
                new: item.new_value.clone(),
            }),
            (old, new) => {
                let old = old.as_deref().unwrap_or(&[]);
                let new = new.as_deref().unwrap_or(&[]);
                changes.extend(step_diff(&item.field, old, new));
            }
        }
    }
    ChangeEntry {
        id: entry.id,
        at: entry.instant,
        user: people.name(entry.user_id),
        user_id: entry.user_id,
        kind: entry.type_,
        changes,
    }
}

pub fn step_diff(field: &str, old: &[Value], new: &[Value]) -> Vec<FieldChange> {
    let mut out = Vec::new();
    for i in 0..old.len().max(new.len()) {
        for part in ["action", "expectedResult"] {
            let before = old
                .get(i)
                .and_then(|s| s.get(part))
                .filter(|v| !v.is_null());
            let after = new
                .get(i)
                .and_then(|s| s.get(part))
                .filter(|v| !v.is_null());
            if before != after {
                out.push(FieldChange {
                    field: format!("{field}[{}].{part}", i + 1),
                    old: before.cloned(),
                    new: after.cloned(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn step_diff_reports_only_changed_parts() {
        let old = vec![json!({"action": "Open", "expectedResult": "Shown"})];
        let new = vec![
            json!({"action": "Open", "expectedResult": "Page shown"}),
            json!({"action": "Click", "expectedResult": null}),
        ];
        let diff = step_diff("steps", &old, &new);
        let fields: Vec<&str> = diff.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, vec!["steps[1].expectedResult", "steps[2].action"]);
        assert_eq!(diff[0].old, Some(json!("Shown")));
    }
}
