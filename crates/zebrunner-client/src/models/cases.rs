//! Test cases (Public API `/test-cases`) and their TCM-internal history:
//! executions (`/api/tcm/v1/test-cases/{id}/executions`) and changes
//! (`.../changes`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::lenient;
use crate::models::common::{Environment, NamedItem, UserRef};

/// A test case. List endpoints return a short form (no steps, conditions or
/// attachments); the by-key/by-id endpoints return everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TestCase {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    pub key: String,
    pub title: String,
    pub description: Option<String>,
    pub priority: Option<NamedItem>,
    pub automation_state: Option<NamedItem>,
    pub test_suite: Option<SuiteRef>,
    #[serde(deserialize_with = "lenient::bool")]
    pub deleted: bool,
    #[serde(deserialize_with = "lenient::bool")]
    pub deprecated: bool,
    #[serde(deserialize_with = "lenient::bool")]
    pub draft: bool,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub relative_position: Option<i64>,
    pub created_at: Option<String>,
    pub created_by: Option<UserRef>,
    pub last_modified_at: Option<String>,
    pub last_modified_by: Option<UserRef>,
    pub pre_conditions: Option<String>,
    pub post_conditions: Option<String>,
    pub steps: Vec<Step>,
    pub requirements: Vec<Requirement>,
    /// Custom fields keyed by their system name.
    pub custom_field: Map<String, Value>,
    pub attachments: Vec<Value>,
}

/// The suite a case lives in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SuiteRef {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    pub title: Option<String>,
}

/// One step; shared steps carry `shared_steps_id` instead of text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Step {
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub id: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub relative_position: Option<i64>,
    pub action: Option<String>,
    pub expected_result: Option<String>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub shared_steps_id: Option<i64>,
    pub attachments: Vec<Value>,
}

/// A linked requirement (`source` is e.g. `JIRA` or `AZURE_DEVOPS`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Requirement {
    pub source: Option<String>,
    pub reference: Option<String>,
}

/// The result status of an execution.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExecutionStatus {
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub id: Option<i64>,
    pub name: String,
    pub color_hex: Option<String>,
    #[serde(deserialize_with = "lenient::bool")]
    pub is_completed: bool,
    #[serde(deserialize_with = "lenient::bool")]
    pub is_final: bool,
}

/// A configuration an execution ran with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExecutionConfiguration {
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub group_id: Option<i64>,
    pub group_name: Option<String>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub option_id: Option<i64>,
    pub option_name: Option<String>,
}

/// One recorded execution of a test case (manual or automated).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TestCaseExecution {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    /// Shape varies (user object or id), so kept raw.
    pub tracked_by: Option<Value>,
    pub tracked_at: Option<String>,
    pub status: Option<ExecutionStatus>,
    #[serde(rename = "type")]
    pub type_: Option<String>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub elapsed_time_in_millis: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub automation_launch_id: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub automation_execution_id: Option<i64>,
    pub environment: Option<Environment>,
    pub configurations: Vec<ExecutionConfiguration>,
    pub details: Option<String>,
    pub issue_type: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub issue_id: Option<String>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub user_id: Option<i64>,
    pub attachments: Vec<Value>,
}

/// One entry of a test case's change history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TestCaseChange {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    pub instant: Option<String>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub user_id: Option<i64>,
    /// `CREATE`, `UPDATE` or `LAYOUT_UPDATE`.
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub items: Vec<ChangeItem>,
}

/// One changed field. Step-like fields use the `*_values` arrays, scalar
/// fields `old_value`/`new_value`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ChangeItem {
    pub field: String,
    pub action: Option<String>,
    pub old_value: Option<Value>,
    pub new_value: Option<Value>,
    pub old_values: Option<Vec<Value>>,
    pub new_values: Option<Vec<Value>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn full_case_with_unknown_fields() -> Result<(), serde_json::Error> {
        let c: TestCase = serde_json::from_value(json!({
            "id": "42", "key": "DEMO-42", "title": "Login works",
            "priority": {"id": 3, "name": "Medium", "isDefault": true},
            "automationState": {"id": "10", "name": "Automated"},
            "testSuite": {"id": 5},
            "steps": [{"id": 1, "action": "open", "expectedResult": "shown", "surprise": []}],
            "customField": {"component": "auth"},
            "brandNewField": {"x": 1}
        }))?;
        assert_eq!(c.id, 42);
        assert_eq!(c.priority.as_ref().map(|p| p.is_default), Some(true));
        assert_eq!(c.automation_state.as_ref().map(|a| a.id), Some(10));
        assert_eq!(c.test_suite.as_ref().map(|s| s.id), Some(5));
        assert_eq!(c.steps[0].expected_result.as_deref(), Some("shown"));
        assert_eq!(c.custom_field["component"], "auth");
        assert!(!c.deleted && c.requirements.is_empty());
        Ok(())
    }
}
