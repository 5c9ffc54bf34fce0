//! Typed response models.
//!
//! Every struct is tolerant: unknown fields are ignored, missing fields take
//! their default (`#[serde(default)]`), and numbers that Zebrunner sometimes
//! sends as strings go through [`crate::lenient`]. Field names follow the
//! JSON in camelCase; `type` is spelled `type_` in Rust.

pub mod cases;
pub mod common;
pub mod forensics;
pub mod projects;
pub mod reporting;
pub mod runs;
pub mod settings;
pub mod suites;
pub mod widgets;

pub use cases::{
    ChangeItem, ExecutionConfiguration, ExecutionStatus, Requirement, Step, SuiteRef, TestCase,
    TestCaseChange, TestCaseExecution,
};
pub use common::{Environment, NamedItem, UserRef};
pub use forensics::{ArtifactReference, Download, LogEntry, SessionTest, TestSession};
pub use projects::Project;
pub use reporting::{
    IssueReference, JobParameter, Label, Launch, LaunchArtifact, LaunchAttempt, LaunchCiBuild,
    LaunchQuery, LaunchSummary, LaunchTest, LaunchTestCaseRef, Milestone, MilestoneRef,
    TestHistoryItem,
};
pub use runs::{
    ExecutionSummary, RunCaseRef, RunCaseResult, RunConfiguration, RunIssue, TestRun, TestRunCase,
};
pub use settings::{
    ConfigurationGroup, CustomField, FieldTab, FieldsLayout, LayoutField, ResultStatus,
};
pub use suites::TestSuite;
pub use widgets::{WidgetRow, WidgetRows};
