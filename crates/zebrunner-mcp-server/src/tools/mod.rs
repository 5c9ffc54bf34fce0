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

use std::{collections::HashMap, sync::LazyLock};

use rmcp::{handler::server::router::tool::ToolRouter, model::Tool};

use crate::handler::ZebrunnerMcp;

/// Every tool's metadata (name, title, description, compact input and output schemas,
/// annotations), one tool per line: what [`generated_router`] produces, committed so that a
/// start reads it instead of generating it. Generating takes 10-17 ms of CPU (schemars, then
/// [`schema::compact_tool`]), most of a cold start; parsing this takes well under one. A unit
/// test keeps it equal to what the macros generate (`UPDATE_TOOL_LIST=1` rewrites it).
const COMMITTED_LIST: &str = include_str!("list.json");

/// Every tool, built once per process and shared by every session.
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

/// The committed metadata with each tool's handler; the generated router should the committed
/// list not match the handlers (which the unit test below rules out before anything ships).
fn build_router() -> ToolRouter<ZebrunnerMcp> {
    serde_json::from_str::<Vec<Tool>>(COMMITTED_LIST)
        .ok()
        .map(|tools| {
            tools
                .into_iter()
                .map(|tool| (tool.name.to_string(), tool))
                .collect()
        })
        .and_then(committed_router)
        .unwrap_or_else(generated_router)
}

/// One route per handler, named once: the committed metadata of the tool of the same name,
/// and the handler the `#[tool]` macro checked against it. `None` unless every handler has
/// its metadata and every metadata its handler.
macro_rules! committed_routes {
    ($($handler:ident),* $(,)?) => {
        fn committed_router(mut listed: HashMap<String, Tool>) -> Option<ToolRouter<ZebrunnerMcp>> {
            let router = ToolRouter::new()
                $(.with_route((listed.remove(stringify!($handler))?, ZebrunnerMcp::$handler)))*;
            listed.is_empty().then_some(router)
        }
    };
}

committed_routes!(
    list_projects,
    get_test_case,
    search_test_cases,
    list_test_suites,
    get_test_suite,
    get_project_settings,
    list_launches,
    get_launch,
    list_launch_tests,
    list_milestones,
    list_test_runs,
    get_test_run,
    get_test_case_history,
    coverage_report,
    pass_rate_report,
    regression_report,
    release_readiness,
    analyze_launch_failures,
    analyze_test_failure,
    get_test_artifact,
    find_duplicate_test_cases,
    review_test_case,
    create_test_suite,
    update_test_suite,
    create_test_case,
    update_test_case,
    create_test_run,
    update_test_run,
    add_test_cases_to_run,
    record_test_results,
    rerun_launch_failures,
    start_launch,
    find_flaky_tests,
    analyze_launch_runtime,
    defect_analytics,
    list_toolsets,
    enable_toolset,
);

/// Every tool as the `#[tool]` macros describe it, schemas generated by schemars and made
/// compact: the source of [`COMMITTED_LIST`].
fn generated_router() -> ToolRouter<ZebrunnerMcp> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// [`COMMITTED_LIST`]'s layout: a JSON array with one tool per line, so a diff names the tool.
    fn list_json(tools: &[Tool]) -> Result<String, serde_json::Error> {
        let lines = tools
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(format!("[\n{}\n]\n", lines.join(",\n")))
    }

    #[test]
    fn the_committed_tool_list_is_what_the_macros_generate() {
        let generated = list_json(&generated_router().list_all()).unwrap();
        if std::env::var_os("UPDATE_TOOL_LIST").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/tools/list.json");
            std::fs::write(path, &generated).unwrap();
            return;
        }
        assert!(
            COMMITTED_LIST == generated,
            "src/tools/list.json differs from what the #[tool] macros generate: \
             rerun with UPDATE_TOOL_LIST=1 and review the diff"
        );
    }

    #[test]
    fn the_router_serves_the_committed_list_with_every_handler() {
        let listed: HashMap<String, Tool> = serde_json::from_str::<Vec<Tool>>(COMMITTED_LIST)
            .unwrap()
            .into_iter()
            .map(|tool| (tool.name.to_string(), tool))
            .collect();
        let committed = committed_router(listed).expect("one handler per committed tool");
        assert_eq!(list_json(&committed.list_all()).unwrap(), COMMITTED_LIST);
        // A handler without metadata, or metadata without a handler, is no committed router.
        let mut short = serde_json::from_str::<Vec<Tool>>(COMMITTED_LIST).unwrap();
        let mut extra = short[0].clone();
        extra.name = "no_such_tool".into();
        short.remove(0);
        let by_name =
            |tools: Vec<Tool>| tools.into_iter().map(|t| (t.name.to_string(), t)).collect();
        assert!(committed_router(by_name(short.clone())).is_none());
        short.push(extra);
        assert!(committed_router(by_name(short)).is_none());
    }
}
