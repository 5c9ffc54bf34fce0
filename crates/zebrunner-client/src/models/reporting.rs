//! Reporting API models: launches, milestones and the tests of a launch.
//! Timestamps here are epoch milliseconds, often sent as strings.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::lenient;

/// Filters for the launch list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LaunchQuery {
    /// Milestone name.
    pub milestone: Option<String>,
    /// Free-text search (launch name or build number).
    pub query: Option<String>,
}

/// A milestone as embedded in a launch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MilestoneRef {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    pub name: String,
    #[serde(deserialize_with = "lenient::bool")]
    pub completed: bool,
    pub description: Option<String>,
    pub start_date: Option<String>,
    pub due_date: Option<String>,
}

/// A launch as listed by `/api/reporting/v1/launches`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LaunchSummary {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    pub name: String,
    pub status: String,
    #[serde(deserialize_with = "lenient::i64")]
    pub project_id: i64,
    pub milestone: Option<MilestoneRef>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub started_at: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub finished_at: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub duration: Option<i64>,
    #[serde(deserialize_with = "lenient::i64")]
    pub passed: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub failed: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub failed_as_known: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub skipped: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub aborted: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub queued: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub in_progress: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub total: i64,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub user_id: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub build_number: Option<String>,
    pub job_url: Option<String>,
    #[serde(deserialize_with = "lenient::bool")]
    pub upstream: bool,
    #[serde(deserialize_with = "lenient::bool")]
    pub reviewed: bool,
    /// Whether the failures may be rerun now; absent means not said.
    #[serde(deserialize_with = "lenient::opt_bool")]
    pub is_relaunch_possible: Option<bool>,
    /// Whether the CI job may be built again; absent means not said.
    #[serde(deserialize_with = "lenient::opt_bool")]
    pub is_launch_again_possible: Option<bool>,
}

/// A milestone (`/api/reporting/v1/milestones`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Milestone {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    pub name: String,
    #[serde(deserialize_with = "lenient::bool")]
    pub completed: bool,
    #[serde(deserialize_with = "lenient::i64")]
    pub project_id: i64,
    pub description: Option<String>,
    pub due_date: Option<String>,
    pub start_date: Option<String>,
}

/// One earlier run of a launch test (R10
/// `/launches/{id}/tests/{testId}/history`): the same test in this and older
/// launches, newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TestHistoryItem {
    #[serde(deserialize_with = "lenient::i64")]
    pub test_id: i64,
    pub status: String,
    #[serde(deserialize_with = "lenient::bool")]
    pub passed_manually: bool,
    /// Duration in milliseconds.
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub elapsed: Option<i64>,
    pub issue_references: Vec<IssueReference>,
    /// The launch this run belongs to.
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub test_run_id: Option<i64>,
    /// Epoch milliseconds.
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub start_time: Option<i64>,
}

/// A link from a failed test to an issue tracker.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IssueReference {
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub id: Option<i64>,
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub value: Option<String>,
}

/// A `{key, value}` label.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Label {
    pub key: String,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub value: Option<String>,
}

/// The TCM test case an automated test covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LaunchTestCaseRef {
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub test_id: Option<i64>,
    pub tcm_type: Option<String>,
    /// The TCM case key, e.g. `DEMO-12`.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub test_case_id: Option<String>,
    pub result_status: Option<String>,
}

/// One test execution inside a launch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LaunchTest {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    pub name: String,
    pub status: String,
    pub message: Option<String>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub message_hash_code: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub start_time: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub finish_time: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub test_run_id: Option<i64>,
    #[serde(deserialize_with = "lenient::bool")]
    pub known_issue: bool,
    #[serde(deserialize_with = "lenient::bool")]
    pub passed_manually: bool,
    pub issue_references: Vec<IssueReference>,
    pub owner: Option<String>,
    pub test_class: Option<String>,
    pub labels: Vec<Label>,
    pub test_cases: Vec<LaunchTestCaseRef>,
    /// 0–100.
    #[serde(deserialize_with = "lenient::opt_f64")]
    pub stability: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub maintainer_id: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub test_sessions_count: Option<i64>,
    pub artifacts: Vec<Value>,
}

impl LaunchTest {
    /// The linked issues as `TYPE KEY` (`JIRA SHOP-12`), or the bare key without a type.
    pub fn issue_links(&self) -> Vec<String> {
        self.issue_references
            .iter()
            .filter_map(|r| {
                let value = r.value.clone()?;
                Some(match &r.type_ {
                    Some(kind) => format!("{kind} {value}"),
                    None => value,
                })
            })
            .collect()
    }

    /// How long the test ran, in milliseconds, once it has finished.
    pub fn duration_ms(&self) -> Option<i64> {
        self.finish_time.zip(self.start_time).map(|(f, s)| f - s)
    }
}

/// A launch in full (`/api/reporting/v1/launches/{id}`, R6).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Launch {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    pub name: String,
    pub status: String,
    #[serde(deserialize_with = "lenient::i64")]
    pub project_id: i64,
    pub user: Option<crate::models::common::UserRef>,
    pub milestone: Option<MilestoneRef>,
    pub ci_build: Option<LaunchCiBuild>,
    /// Epoch milliseconds.
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub started_at: Option<i64>,
    /// Epoch milliseconds.
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub ended_at: Option<i64>,
    /// Seconds.
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub elapsed: Option<i64>,
    pub framework: Option<String>,
    pub environment: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub build: Option<String>,
    pub locale: Option<String>,
    pub platform: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub platform_version: Option<String>,
    pub browser: Option<String>,
    pub device: Option<String>,
    #[serde(deserialize_with = "lenient::i64")]
    pub passed: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub passed_manually: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub failed: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub failed_as_known: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub skipped: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub blocked: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub in_progress: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub aborted: i64,
    #[serde(deserialize_with = "lenient::bool")]
    pub reviewed: bool,
    pub labels: Vec<Label>,
    pub artifacts: Vec<LaunchArtifact>,
    #[serde(deserialize_with = "lenient::opt_bool")]
    pub is_relaunch_possible: Option<bool>,
    #[serde(deserialize_with = "lenient::opt_bool")]
    pub is_launch_again_possible: Option<bool>,
}

/// One parameter of a launch's CI job (R15).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JobParameter {
    pub name: String,
    /// `STRING`, `BOOLEAN` or `HIDDEN` (set by the CI, such as the suite).
    pub parameter_class: String,
    /// A string, a boolean, or null.
    pub value: Value,
}

/// The CI build behind a launch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LaunchCiBuild {
    pub job_url: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub number: Option<String>,
}

/// A `{name, value}` artifact link of a launch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LaunchArtifact {
    pub name: String,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub value: Option<String>,
}

/// One attempt of a launch (the first run and each rerun, R7).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LaunchAttempt {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    pub started_by: Option<crate::models::common::UserRef>,
    /// ISO 8601.
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    #[serde(deserialize_with = "lenient::i64")]
    pub finish_passed: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub finish_passed_manually: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub finish_failed: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub finish_known_issue: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub finish_skipped: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub finish_blocked: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub finish_aborted: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn launch_numbers_as_strings() -> Result<(), serde_json::Error> {
        let l: LaunchSummary = serde_json::from_value(json!({
            "id": 9, "name": "nightly", "status": "FAILED", "projectId": "1",
            "startedAt": "1735689600000", "passed": "10", "failed": 2, "buildNumber": 77,
            "milestone": null
        }))?;
        assert_eq!(l.started_at, Some(1_735_689_600_000));
        assert_eq!((l.project_id, l.passed, l.failed), (1, 10, 2));
        assert_eq!(l.build_number.as_deref(), Some("77"));
        assert!(l.milestone.is_none());
        let t: LaunchTest = serde_json::from_value(json!({
            "id": 1, "name": "t", "status": "PASSED", "startTime": "5", "stability": "87.5",
            "testCases": [{"testCaseId": "DEMO-1", "resultStatus": "PASSED"}]
        }))?;
        assert_eq!((t.start_time, t.stability), (Some(5), Some(87.5)));
        assert_eq!(t.test_cases[0].test_case_id.as_deref(), Some("DEMO-1"));
        Ok(())
    }
}
