//! Reporting API (internal, Bearer, `projectId`, page paging): launches,
//! one launch and its attempts, milestones and the tests of a launch.

use futures::Stream;

use crate::client::ZebrunnerClient;
use crate::error::Error;
use crate::models::{
    Launch, LaunchAttempt, LaunchQuery, LaunchSummary, LaunchTest, Milestone, TestHistoryItem,
};
use crate::paging::{Page, PageRequest, page_stream, parse_page};
use crate::transport::Call;

use super::{decode_items, decode_single};

/// Page size the streams below request: Zebrunner's largest (reporting lists take
/// `pageSize` 1 to 100), so reading everything costs the fewest requests.
pub const REPORTING_PAGE_SIZE: u32 = 100;

fn reporting<S: Into<String>>(rest: impl IntoIterator<Item = S>) -> Vec<String> {
    ["api", "reporting", "v1"]
        .into_iter()
        .map(str::to_owned)
        .chain(rest.into_iter().map(Into::into))
        .collect()
}

impl ZebrunnerClient {
    /// One page of launches, newest first as Zebrunner orders them.
    pub async fn launches_page(
        &self,
        project_id: i64,
        query: &LaunchQuery,
        page: PageRequest,
    ) -> Result<Page<LaunchSummary>, Error> {
        let page = page.normalized();
        let call = Call::internal(reporting(["launches"]))
            .query("projectId", project_id)
            .query("page", page.page)
            .query("pageSize", page.page_size)
            .query_opt("milestone", query.milestone.as_deref())
            .query_opt("query", query.query.as_deref())
            .what(format!("launches of project id {project_id}"))
            .project(format!("id {project_id}"));
        self.inner
            .transport
            .fetch(call, |body| parse_page(body, page))
            .await
    }

    /// Every matching launch, fetched in pages of [`REPORTING_PAGE_SIZE`].
    pub fn launches(
        &self,
        project_id: i64,
        query: LaunchQuery,
    ) -> impl Stream<Item = Result<LaunchSummary, Error>> + Send + '_ {
        page_stream(PageRequest::new(1, REPORTING_PAGE_SIZE), move |req| {
            let query = query.clone();
            async move { self.launches_page(project_id, &query, req).await }
        })
    }

    /// One launch in full: counts, environment, platform, labels, artifacts.
    pub async fn launch(&self, project_id: i64, launch_id: i64) -> Result<Launch, Error> {
        let call = Call::internal(reporting(["launches".to_owned(), launch_id.to_string()]))
            .query("projectId", project_id)
            .what(format!("launch {launch_id} in project id {project_id}"))
            .project(format!("id {project_id}"));
        self.inner.transport.fetch(call, decode_single).await
    }

    /// The attempts of a launch: the first run and each rerun.
    pub async fn launch_attempts(
        &self,
        project_id: i64,
        launch_id: i64,
    ) -> Result<Vec<LaunchAttempt>, Error> {
        let call = Call::internal(reporting([
            "launches".to_owned(),
            launch_id.to_string(),
            "attempts".to_owned(),
        ]))
        .query("projectId", project_id)
        .what(format!(
            "attempts of launch {launch_id} in project id {project_id}"
        ))
        .project(format!("id {project_id}"));
        self.inner.transport.fetch(call, decode_items).await
    }

    /// Up to `limit` (1–100) runs of a launch test across this and older
    /// launches, newest first (one request).
    pub async fn launch_test_history(
        &self,
        project_id: i64,
        launch_id: i64,
        test_id: i64,
        limit: u32,
    ) -> Result<Vec<TestHistoryItem>, Error> {
        let call = Call::internal(reporting([
            "launches".to_owned(),
            launch_id.to_string(),
            "tests".to_owned(),
            test_id.to_string(),
            "history".to_owned(),
        ]))
        .query("projectId", project_id)
        .query("limit", limit.clamp(1, 100))
        .what(format!(
            "history of test {test_id} of launch {launch_id} in project id {project_id}"
        ))
        .project(format!("id {project_id}"));
        self.inner.transport.fetch(call, decode_items).await
    }

    /// One page of milestones; `completed = None` lists all.
    pub async fn milestones_page(
        &self,
        project_id: i64,
        completed: Option<bool>,
        page: PageRequest,
    ) -> Result<Page<Milestone>, Error> {
        let page = page.normalized();
        let call = Call::internal(reporting(["milestones"]))
            .query("projectId", project_id)
            .query("page", page.page)
            .query("pageSize", page.page_size)
            .query_opt("completed", completed)
            .what(format!("milestones of project id {project_id}"))
            .project(format!("id {project_id}"));
        self.inner
            .transport
            .fetch(call, |body| parse_page(body, page))
            .await
    }

    /// Every milestone, fetched in pages of [`REPORTING_PAGE_SIZE`].
    pub fn milestones(
        &self,
        project_id: i64,
        completed: Option<bool>,
    ) -> impl Stream<Item = Result<Milestone, Error>> + Send + '_ {
        page_stream(
            PageRequest::new(1, REPORTING_PAGE_SIZE),
            move |req| async move { self.milestones_page(project_id, completed, req).await },
        )
    }

    /// One page of the tests of a launch (totals at the top level of the body).
    pub async fn launch_tests_page(
        &self,
        project_id: i64,
        launch_id: i64,
        page: PageRequest,
    ) -> Result<Page<LaunchTest>, Error> {
        self.launch_tests_with_status_page(project_id, launch_id, &[], page)
            .await
    }

    /// One page of the tests of a launch with one of `statuses` (`FAILED`,
    /// ...; all tests when empty), filtered by Zebrunner (`status=A,B`), so
    /// the totals count the matching tests only.
    pub async fn launch_tests_with_status_page(
        &self,
        project_id: i64,
        launch_id: i64,
        statuses: &[String],
        page: PageRequest,
    ) -> Result<Page<LaunchTest>, Error> {
        let page = page.normalized();
        let status = (!statuses.is_empty()).then(|| statuses.join(","));
        let call = Call::internal(reporting([
            "launches".to_owned(),
            launch_id.to_string(),
            "tests".to_owned(),
        ]))
        .query("projectId", project_id)
        .query("page", page.page)
        .query("pageSize", page.page_size)
        .query_opt("status", status.as_deref())
        .what(format!(
            "tests of launch {launch_id} in project id {project_id}"
        ))
        .project(format!("id {project_id}"));
        self.inner
            .transport
            .fetch(call, |body| parse_page(body, page))
            .await
    }

    /// Every test of a launch, fetched in pages of [`REPORTING_PAGE_SIZE`].
    pub fn launch_tests(
        &self,
        project_id: i64,
        launch_id: i64,
    ) -> impl Stream<Item = Result<LaunchTest, Error>> + Send + '_ {
        page_stream(
            PageRequest::new(1, REPORTING_PAGE_SIZE),
            move |req| async move { self.launch_tests_page(project_id, launch_id, req).await },
        )
    }
}
