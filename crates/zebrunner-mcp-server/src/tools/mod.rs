//! The MCP tools, one file per tool, and the pieces they share.
//!
//! Every tool takes a `format` (`markdown`, the default, or `json`), always
//! returns `structuredContent` matching its declared `outputSchema`, and
//! reports failures as `isError` results that say what to do next.

pub mod args;
pub mod cursor;
pub mod error;
pub mod hierarchy;
pub mod output;

mod get_project_settings;
mod get_test_case;
mod get_test_suite;
mod list_projects;
mod list_test_suites;
mod search_test_cases;

pub use get_project_settings::{GetProjectSettingsArgs, ProjectSettingsOutput};
pub use get_test_case::{GetTestCaseArgs, TestCaseOutput};
pub use get_test_suite::{GetTestSuiteArgs, TestSuiteOutput};
pub use list_projects::{ListProjectsArgs, ProjectsOutput};
pub use list_test_suites::{ListTestSuitesArgs, TestSuitesOutput};
pub use search_test_cases::{SearchTestCasesArgs, SearchTestCasesOutput};

use rmcp::handler::server::router::tool::ToolRouter;

use crate::handler::ZebrunnerMcp;

/// Every tool this server offers.
pub fn router() -> ToolRouter<ZebrunnerMcp> {
    ZebrunnerMcp::list_projects_router()
        + ZebrunnerMcp::get_test_case_router()
        + ZebrunnerMcp::search_test_cases_router()
        + ZebrunnerMcp::list_test_suites_router()
        + ZebrunnerMcp::get_test_suite_router()
        + ZebrunnerMcp::get_project_settings_router()
}
