//! TCM test runs (Public API, Basic, `projectKey`): the run list (token
//! paging, RQL `filter`, `sortBy`), one run, and the test cases of a run.

use crate::client::ZebrunnerClient;
use crate::error::Error;
use crate::models::{TestRun, TestRunCase};
use crate::paging::{TokenPage, TokenPageRequest, parse_token_page};
use crate::rql::Rql;
use crate::transport::Call;

use super::{decode_items, decode_single};

impl ZebrunnerClient {
    /// One page of test runs, optionally filtered with RQL and sorted
    /// (`sort_by` such as `-createdAt`, `title`).
    pub async fn test_runs_page(
        &self,
        project_key: &str,
        filter: Option<&Rql>,
        sort_by: Option<&str>,
        page: TokenPageRequest,
    ) -> Result<TokenPage<TestRun>, Error> {
        let mut call = Call::public(["test-runs"])
            .query("projectKey", project_key)
            .query("maxPageSize", page.clamped_size())
            .query_opt("pageToken", page.page_token.as_deref())
            .query_opt("sortBy", sort_by)
            .what(format!("test runs of project {project_key}"))
            .project(project_key);
        if let Some(rql) = filter.filter(|f| !f.is_empty()) {
            let rql = rql.to_string();
            call = call.query("filter", &rql).filter(rql);
        }
        self.inner.transport.fetch(call, parse_token_page).await
    }

    /// One test run with its configurations and per-status summary.
    pub async fn test_run(&self, project_key: &str, run_id: i64) -> Result<TestRun, Error> {
        let call = Call::public(["test-runs".to_owned(), run_id.to_string()])
            .query("projectKey", project_key)
            .what(format!("test run {run_id} in project {project_key}"))
            .project(project_key);
        self.inner.transport.fetch(call, decode_single).await
    }

    /// Every test case of a run with its result and assignee (Zebrunner
    /// returns them in one answer).
    pub async fn test_run_cases(
        &self,
        project_key: &str,
        run_id: i64,
    ) -> Result<Vec<TestRunCase>, Error> {
        let call = Call::public([
            "test-runs".to_owned(),
            run_id.to_string(),
            "test-cases".to_owned(),
        ])
        .query("projectKey", project_key)
        .what(format!(
            "test cases of test run {run_id} in project {project_key}"
        ))
        .project(project_key);
        self.inner.transport.fetch(call, decode_items).await
    }
}
