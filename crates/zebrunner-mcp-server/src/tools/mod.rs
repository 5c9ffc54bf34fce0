//! The MCP tools, one file per tool, and the pieces they share.
//!
//! Every tool takes a `format` (`markdown`, the default, or `json`), always
//! returns `structuredContent` matching its declared `outputSchema`, and
//! reports failures as `isError` results that say what to do next.

pub mod args;
pub mod arguments;
pub mod case_history;
pub mod case_settings;
pub mod chart;
pub mod coherence;
pub mod cursor;
pub mod error;
pub mod hierarchy;
pub mod launch_window;
pub mod output;
pub mod progress;
pub mod reporting;
pub mod review_test_case;
pub mod scan;
pub mod schema;
pub mod scope;
pub mod widget_rows;
pub mod wording;
pub mod write;

mod add_test_cases_to_run;
mod analyze_launch_failures;
mod analyze_launch_runtime;
mod analyze_test_failure;
mod coverage_report;
mod create_test_case;
mod create_test_run;
mod create_test_suite;
mod defect_analytics;
mod enable_toolset;
mod find_duplicate_test_cases;
mod find_flaky_tests;
mod forensics;
mod get_launch;
mod get_project_settings;
mod get_test_artifact;
mod get_test_case;
mod get_test_case_history;
mod get_test_run;
mod get_test_suite;
mod list_launch_tests;
mod list_launches;
mod list_milestones;
mod list_projects;
mod list_test_runs;
mod list_test_suites;
mod list_toolsets;
mod pass_rate_report;
mod record_test_results;
mod regression_report;
mod release_readiness;
mod rerun_launch_failures;
mod screenshot;
mod search_test_cases;
mod start_launch;
mod update_test_case;
mod update_test_run;
mod update_test_suite;

pub use add_test_cases_to_run::AddTestCasesToRunArgs;
pub use analyze_launch_failures::{AnalyzeLaunchFailuresArgs, LaunchFailuresOutput};
pub use analyze_launch_runtime::{AnalyzeLaunchRuntimeArgs, LaunchRuntimeOutput};
pub use analyze_test_failure::{AnalyzeTestFailureArgs, DefectFormat, TestFailureOutput};
pub use coverage_report::{CoverageOutput, CoverageReportArgs};
pub use create_test_case::CreateTestCaseArgs;
pub use create_test_run::CreateTestRunArgs;
pub use create_test_suite::CreateTestSuiteArgs;
pub use defect_analytics::{DefectAnalyticsArgs, DefectAnalyticsOutput};
pub use find_duplicate_test_cases::{DuplicatesOutput, FindDuplicateTestCasesArgs};
pub use find_flaky_tests::{FindFlakyTestsArgs, FlakyTestsOutput};
pub use get_launch::{GetLaunchArgs, LaunchOutput};
pub use get_project_settings::{GetProjectSettingsArgs, ProjectSettingsOutput};
pub use get_test_artifact::{ArtifactOutput, GetTestArtifactArgs};
pub use get_test_case::{GetTestCaseArgs, TestCaseOutput};
pub use get_test_case_history::{GetTestCaseHistoryArgs, TestCaseHistoryOutput};
pub use get_test_run::{GetTestRunArgs, TestRunOutput};
pub use get_test_suite::{GetTestSuiteArgs, TestSuiteOutput};
pub use list_launch_tests::{LaunchTestsOutput, ListLaunchTestsArgs};
pub use list_launches::{LaunchesOutput, ListLaunchesArgs};
pub use list_milestones::{ListMilestonesArgs, MilestonesOutput};
pub use list_projects::{ListProjectsArgs, ProjectsOutput};
pub use list_test_runs::{ListTestRunsArgs, TestRunsOutput};
pub use list_test_suites::{ListTestSuitesArgs, TestSuitesOutput};
pub use pass_rate_report::{PassRateOutput, PassRateReportArgs};
pub use record_test_results::RecordTestResultsArgs;
pub use regression_report::{RegressionOutput, RegressionReportArgs};
pub use release_readiness::{ReadinessOutput, ReleaseReadinessArgs};
pub use rerun_launch_failures::RerunLaunchFailuresArgs;
pub use review_test_case::{ReviewOutput, ReviewTestCaseArgs};
pub use search_test_cases::{SearchTestCasesArgs, SearchTestCasesOutput};
pub use start_launch::{ParamValue, StartLaunchArgs};
pub use update_test_case::UpdateTestCaseArgs;
pub use update_test_run::UpdateTestRunArgs;
pub use update_test_suite::UpdateTestSuiteArgs;
pub use write::WriteOutput;

use std::sync::LazyLock;

use rmcp::handler::server::router::tool::ToolRouter;

use crate::handler::ZebrunnerMcp;

/// Every tool, built once per process and shared by every session: generating the 35 tools'
/// schemas (schemars, then [`schema::compact_tool`]) takes about 10 ms, most of a cold start.
static ROUTER: LazyLock<ToolRouter<ZebrunnerMcp>> = LazyLock::new(build_router);

/// Every tool this server offers, with its schemas made compact and standard.
pub fn router() -> &'static ToolRouter<ZebrunnerMcp> {
    &ROUTER
}

/// Start building [`router`] on a thread of its own, so it overlaps the rest of start-up
/// (configuration, the database, TLS roots) instead of following it; its first user waits for
/// it if it is not done.
pub fn build_router_in_background() {
    std::thread::spawn(|| LazyLock::force(&ROUTER));
}

fn build_router() -> ToolRouter<ZebrunnerMcp> {
    let mut router = ZebrunnerMcp::list_projects_router()
        + ZebrunnerMcp::get_test_case_router()
        + ZebrunnerMcp::search_test_cases_router()
        + ZebrunnerMcp::list_test_suites_router()
        + ZebrunnerMcp::get_test_suite_router()
        + ZebrunnerMcp::get_project_settings_router()
        + ZebrunnerMcp::list_launches_router()
        + ZebrunnerMcp::get_launch_router()
        + ZebrunnerMcp::list_launch_tests_router()
        + ZebrunnerMcp::list_milestones_router()
        + ZebrunnerMcp::list_test_runs_router()
        + ZebrunnerMcp::get_test_run_router()
        + ZebrunnerMcp::get_test_case_history_router()
        + ZebrunnerMcp::coverage_report_router()
        + ZebrunnerMcp::pass_rate_report_router()
        + ZebrunnerMcp::regression_report_router()
        + ZebrunnerMcp::release_readiness_router()
        + ZebrunnerMcp::analyze_launch_failures_router()
        + ZebrunnerMcp::analyze_test_failure_router()
        + ZebrunnerMcp::get_test_artifact_router()
        + ZebrunnerMcp::find_duplicate_test_cases_router()
        + ZebrunnerMcp::review_test_case_router()
        + ZebrunnerMcp::create_test_suite_router()
        + ZebrunnerMcp::update_test_suite_router()
        + ZebrunnerMcp::create_test_case_router()
        + ZebrunnerMcp::update_test_case_router()
        + ZebrunnerMcp::create_test_run_router()
        + ZebrunnerMcp::update_test_run_router()
        + ZebrunnerMcp::add_test_cases_to_run_router()
        + ZebrunnerMcp::record_test_results_router()
        + ZebrunnerMcp::rerun_launch_failures_router()
        + ZebrunnerMcp::start_launch_router()
        + ZebrunnerMcp::find_flaky_tests_router()
        + ZebrunnerMcp::analyze_launch_runtime_router()
        + ZebrunnerMcp::defect_analytics_router()
        + ZebrunnerMcp::list_toolsets_router()
        + ZebrunnerMcp::enable_toolset_router();
    for route in router.map.values_mut() {
        schema::compact_tool(&mut route.attr);
    }
    router
}
