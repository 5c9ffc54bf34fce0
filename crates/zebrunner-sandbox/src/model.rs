//! Plain entity types held by the [`Store`](crate::store::Store).
//!
//! They keep ids rather than nested objects; [`views`](crate::views) expands
//! them into the JSON shapes Zebrunner returns.

use serde_json::{Map, Value};

/// Anyone who can appear as `createdBy`, `owner`, `trackedBy`...
#[derive(Debug, Clone)]
pub struct Person {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub display_name: String,
}

/// A person who can log in (personal API token).
#[derive(Debug, Clone)]
pub struct Account {
    pub person_id: i64,
    pub token: String,
    pub projects: Vec<String>,
    /// IAM permissions (`permissionsSuperset` of the IAM refresh); routes
    /// that need one answer 403 without it.
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub id: i64,
    pub key: String,
    pub name: String,
    pub deleted: bool,
    pub starred: bool,
    pub publicly_accessible: bool,
    pub lead_id: Option<i64>,
    pub created_at: String,
}

/// An id/name pair used for automation states, priorities and options.
#[derive(Debug, Clone)]
pub struct Named {
    pub id: i64,
    pub name: String,
    pub is_default: bool,
}

#[derive(Debug, Clone)]
pub struct ResultStatus {
    pub id: i64,
    pub name: String,
    pub aliases: Vec<String>,
    pub color_hex: String,
    pub is_completed: bool,
    pub is_success: bool,
    pub is_failure: bool,
}

#[derive(Debug, Clone)]
pub struct ConfigGroup {
    pub id: i64,
    pub name: String,
    pub options: Vec<Named>,
}

#[derive(Debug, Clone)]
pub struct Environment {
    pub id: i64,
    pub key: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct CustomField {
    pub id: i64,
    pub name: String,
    pub system_name: String,
    /// `STRING`, `DROPDOWN` or `CHECKBOX`.
    pub data_type: String,
    pub options: Vec<String>,
}

/// Per-project settings (TCM system fields, run settings, custom fields).
#[derive(Debug, Clone, Default)]
pub struct ProjectSettings {
    pub automation_states: Vec<Named>,
    pub priorities: Vec<Named>,
    pub result_statuses: Vec<ResultStatus>,
    pub config_groups: Vec<ConfigGroup>,
    pub environments: Vec<Environment>,
    pub custom_fields: Vec<CustomField>,
}

#[derive(Debug, Clone)]
pub struct Suite {
    pub id: i64,
    pub project_id: i64,
    pub title: String,
    pub description: Option<String>,
    pub parent_id: Option<i64>,
    pub relative_position: i64,
    pub created_at: String,
    pub created_by: i64,
    pub last_modified_at: String,
    pub last_modified_by: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: i64,
    pub action: String,
    pub expected_result: String,
}

#[derive(Debug, Clone)]
pub struct TestCase {
    pub id: i64,
    pub project_id: i64,
    pub key: String,
    pub title: String,
    pub description: Option<String>,
    pub suite_id: i64,
    pub priority_id: i64,
    pub automation_state_id: i64,
    pub deprecated: bool,
    pub draft: bool,
    pub deleted: bool,
    pub pre_conditions: Option<String>,
    pub post_conditions: Option<String>,
    pub steps: Vec<Step>,
    pub requirements: Vec<Value>,
    pub custom_fields: Map<String, Value>,
    pub attachments: Vec<Value>,
    pub relative_position: i64,
    pub created_at: String,
    pub created_by: i64,
    pub last_modified_at: String,
    pub last_modified_by: i64,
}

/// One audit entry of `GET /api/tcm/v1/test-cases/{id}/changes`.
#[derive(Debug, Clone)]
pub struct Change {
    pub id: i64,
    pub instant: String,
    pub user_id: i64,
    /// `CREATE`, `UPDATE` or `LAYOUT_UPDATE`.
    pub kind: &'static str,
    pub items: Vec<Value>,
}

#[derive(Debug, Clone)]
pub struct Milestone {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub completed: bool,
    pub start_date: Option<String>,
    pub due_date: Option<String>,
}

/// A TCM (manual) test run.
#[derive(Debug, Clone)]
pub struct TestRun {
    pub id: i64,
    pub project_id: i64,
    pub title: String,
    pub description: Option<String>,
    pub milestone_id: Option<i64>,
    pub environment_id: Option<i64>,
    /// `(group id, option id)` pairs.
    pub configurations: Vec<(i64, i64)>,
    pub requirements: Vec<Value>,
    pub closed: bool,
    pub created_by: i64,
    pub created_at: String,
}

#[derive(Debug, Clone)]
pub struct RunResult {
    pub status_id: i64,
    pub details: Option<String>,
    /// `(type, id)`, e.g. `("JIRA", "SHOP-101")`.
    pub issue: Option<(String, String)>,
    pub execution_time_ms: Option<i64>,
    pub execution_type: String,
}

#[derive(Debug, Clone)]
pub struct RunCase {
    pub case_id: i64,
    pub assignee: Option<i64>,
    pub result: Option<RunResult>,
}

/// An automation launch (Reporting "test run").
#[derive(Debug, Clone)]
pub struct Launch {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub status: String,
    pub milestone_id: Option<i64>,
    pub started_at_ms: i64,
    pub finished_at_ms: Option<i64>,
    pub build_number: String,
    pub job_url: String,
    pub user_id: i64,
    pub environment: String,
    pub platform: String,
    pub browser: String,
    pub locale: String,
    /// Attempts of the seed (1, or 2 when its failures were rerun once).
    pub attempts: u32,
    pub reviewed: bool,
    /// The CI job's parameters (R15); `None` for a launch no CI job started
    /// (a Launch Launcher's), which can be neither built again nor listed.
    pub job: Option<Vec<JobParam>>,
    /// Reruns requested through the API (R14), oldest first.
    pub reruns: Vec<Rerun>,
}

impl Launch {
    /// Zebrunner relaunches only a launch that is not running or waiting.
    pub fn relaunch_possible(&self) -> bool {
        !matches!(self.status.as_str(), "IN_PROGRESS" | "QUEUED")
    }
}

/// One parameter of a launch's CI job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobParam {
    pub name: String,
    /// `STRING`, `BOOLEAN` or `HIDDEN`.
    pub class: &'static str,
    /// A string, or a boolean for `BOOLEAN`.
    pub value: Value,
}

/// A rerun of a launch's failures, requested through the API.
#[derive(Debug, Clone)]
pub struct Rerun {
    pub user_id: i64,
    /// Epoch seconds.
    pub at: i64,
}

#[derive(Debug, Clone)]
pub struct IssueRef {
    pub id: i64,
    pub kind: String,
    pub value: String,
}

/// One test of a launch.
#[derive(Debug, Clone)]
pub struct LaunchTest {
    pub id: i64,
    pub launch_id: i64,
    pub name: String,
    pub test_class: String,
    pub status: String,
    pub message: Option<String>,
    pub message_hash: Option<i64>,
    pub start_ms: i64,
    pub finish_ms: Option<i64>,
    pub known_issue: bool,
    pub issue_refs: Vec<IssueRef>,
    pub tcm_keys: Vec<String>,
    pub owner: String,
    pub stability: i64,
}
