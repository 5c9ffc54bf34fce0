//! TCM test runs (Public API `/test-runs`): the run, its configurations and
//! per-status summary, and the test cases in it with their results.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::lenient;
use crate::models::cases::{ExecutionStatus, Requirement};
use crate::models::common::{Environment, NamedItem, UserRef};
use crate::models::reporting::MilestoneRef;

/// A TCM test run (P11 list item, P12 `{data: run}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TestRun {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    pub title: String,
    pub description: Option<String>,
    pub milestone: Option<MilestoneRef>,
    pub environment: Option<Environment>,
    pub configurations: Vec<RunConfiguration>,
    pub requirements: Vec<Requirement>,
    #[serde(deserialize_with = "lenient::bool")]
    pub closed: bool,
    pub created_by: Option<UserRef>,
    pub created_at: Option<String>,
    pub execution_summaries: Vec<ExecutionSummary>,
}

/// One configuration of a run: a group and its chosen option.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RunConfiguration {
    pub group: Option<NamedItem>,
    pub option: Option<NamedItem>,
}

/// How many of a run's cases have one result status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExecutionSummary {
    pub status: Option<ExecutionStatus>,
    #[serde(deserialize_with = "lenient::i64")]
    pub test_cases_count: i64,
}

/// A test case inside a run (P13 item).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TestRunCase {
    pub test_case: Option<RunCaseRef>,
    pub assignee: Option<UserRef>,
    pub result: Option<RunCaseResult>,
}

/// The case a run item refers to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RunCaseRef {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    pub key: Option<String>,
    pub title: Option<String>,
}

/// The latest result of a case in a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RunCaseResult {
    pub status: Option<ExecutionStatus>,
    pub details: Option<String>,
    pub issue: Option<RunIssue>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub execution_time_in_millis: Option<i64>,
    /// `MANUAL` or `AUTOMATED`.
    pub execution_type: Option<String>,
    pub attachments: Vec<Value>,
}

/// An issue linked to a result (`type` is e.g. `JIRA` or `GITHUB`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RunIssue {
    #[serde(rename = "type")]
    pub type_: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn run_and_run_case_shapes() -> Result<(), serde_json::Error> {
        let r: TestRun = serde_json::from_value(json!({
            "id": "801", "title": "Regression", "closed": true,
            "configurations": [{"group": {"id": 151, "name": "Browser"}, "option": {"id": 1, "name": "Chrome"}}],
            "executionSummaries": [{"status": {"id": 131, "name": "Passed", "colorHex": "#0f0"}, "testCasesCount": "4"}],
            "milestone": null, "environment": {"id": 1, "key": "stage", "name": "Stage"}
        }))?;
        assert_eq!((r.id, r.closed), (801, true));
        assert_eq!(r.execution_summaries[0].test_cases_count, 4);
        assert_eq!(
            r.configurations[0].option.as_ref().map(|o| o.name.as_str()),
            Some("Chrome")
        );
        let c: TestRunCase = serde_json::from_value(json!({
            "testCase": {"id": 10001, "key": "DEMO-1", "title": "Login"},
            "assignee": null,
            "result": {"status": {"id": 132, "name": "Failed", "aliases": "fail"},
                       "issue": {"type": "JIRA", "id": 42}, "executionTimeInMillis": "900"}
        }))?;
        let result = c.result.expect("result");
        assert_eq!(result.issue.and_then(|i| i.id).as_deref(), Some("42"));
        assert_eq!(result.execution_time_in_millis, Some(900));
        Ok(())
    }
}
