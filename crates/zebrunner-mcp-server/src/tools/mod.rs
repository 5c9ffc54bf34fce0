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
        .map(by_name)
        .and_then(committed_router)
        .unwrap_or_else(generated_router)
}

fn by_name(tools: Vec<Tool>) -> HashMap<String, Tool> {
    tools
        .into_iter()
        .map(|tool| (tool.name.to_string(), tool))
        .collect()
}

/// Every tool, named once, makes both routers:
/// - `committed_router`: one route per handler with the committed metadata of the tool of the
///   same name (the handler the `#[tool]` macro checked against it); `None` unless every
///   handler has its metadata and every metadata its handler;
/// - `generated_router`: the `#[tool_router]` routers as the macros describe them, schemas
///   generated by schemars and made compact: the source of [`COMMITTED_LIST`].
macro_rules! routers {
    ($($handler:ident => $router:ident),* $(,)?) => {
        fn committed_router(mut listed: HashMap<String, Tool>) -> Option<ToolRouter<ZebrunnerMcp>> {
            let router = ToolRouter::new()
                $(.with_route((listed.remove(stringify!($handler))?, ZebrunnerMcp::$handler)))*;
            listed.is_empty().then_some(router)
        }

        fn generated_router() -> ToolRouter<ZebrunnerMcp> {
            let mut router = ToolRouter::new();
            $(router.merge(ZebrunnerMcp::$router());)*
            for route in router.map.values_mut() {
                schema::compact_tool(&mut route.attr);
            }
            router
        }
    };
}

routers!(
    list_projects => list_projects_router,
    get_test_case => get_test_case_router,
    search_test_cases => search_test_cases_router,
    list_test_suites => list_test_suites_router,
    get_test_suite => get_test_suite_router,
    get_project_settings => get_project_settings_router,
    list_launches => list_launches_router,
    get_launch => get_launch_router,
    list_launch_tests => list_launch_tests_router,
    list_milestones => list_milestones_router,
    list_test_runs => list_test_runs_router,
    get_test_run => get_test_run_router,
    get_test_case_history => get_test_case_history_router,
    coverage_report => coverage_report_router,
    pass_rate_report => pass_rate_report_router,
    regression_report => regression_report_router,
    release_readiness => release_readiness_router,
    analyze_launch_failures => analyze_launch_failures_router,
    analyze_test_failure => analyze_test_failure_router,
    get_test_artifact => get_test_artifact_router,
    find_duplicate_test_cases => find_duplicate_test_cases_router,
    review_test_case => review_test_case_router,
    create_test_suite => create_test_suite_router,
    update_test_suite => update_test_suite_router,
    create_test_case => create_test_case_router,
    update_test_case => update_test_case_router,
    create_test_run => create_test_run_router,
    update_test_run => update_test_run_router,
    add_test_cases_to_run => add_test_cases_to_run_router,
    record_test_results => record_test_results_router,
    rerun_launch_failures => rerun_launch_failures_router,
    start_launch => start_launch_router,
    find_flaky_tests => find_flaky_tests_router,
    analyze_launch_runtime => analyze_launch_runtime_router,
    defect_analytics => defect_analytics_router,
    list_toolsets => list_toolsets_router,
    enable_toolset => enable_toolset_router,
);

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
        let listed = by_name(serde_json::from_str::<Vec<Tool>>(COMMITTED_LIST).unwrap());
        let committed = committed_router(listed).expect("one handler per committed tool");
        assert_eq!(list_json(&committed.list_all()).unwrap(), COMMITTED_LIST);
        // A handler without metadata, or metadata without a handler, is no committed router.
        let mut short = serde_json::from_str::<Vec<Tool>>(COMMITTED_LIST).unwrap();
        let mut extra = short[0].clone();
        extra.name = "no_such_tool".into();
        short.remove(0);
        assert!(committed_router(by_name(short.clone())).is_none());
        short.push(extra);
        assert!(committed_router(by_name(short)).is_none());
    }
}
