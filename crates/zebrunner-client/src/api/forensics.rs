//! Failure forensics (internal APIs, Bearer): one launch test (R9), its log
//! lines and screenshots (R12, token paging up to 1,000 a page), its test
//! sessions (R11, page paging) and authenticated downloads of the files they
//! link to (R24 `/files/...`, R25 `artifacts/...`), capped in bytes.

use crate::client::ZebrunnerClient;
use crate::error::Error;
use crate::models::{Download, LaunchTest, LogEntry, TestSession};
use crate::paging::{Page, PageRequest, TokenPage, TokenPageRequest, parse_page, parse_token_page};
use crate::transport::Call;

use super::decode_single;

/// Largest page of log lines Zebrunner serves.
pub const MAX_LOG_PAGE_SIZE: u32 = 1000;

/// A file reference checked to be one of this workspace's files, ready to
/// download with [`ZebrunnerClient::download_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef {
    segments: Vec<String>,
    reference: String,
}

impl FileRef {
    /// The reference as given.
    pub fn as_str(&self) -> &str {
        &self.reference
    }

    /// Whether both name the same file (however each was written).
    pub fn same_file(&self, other: &FileRef) -> bool {
        self.segments == other.segments
    }

    /// The file name (last path segment).
    pub fn file_name(&self) -> &str {
        self.segments.last().map_or("", String::as_str)
    }
}

/// Why a file reference was refused (no request was made).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidFileReference(pub String);

impl ZebrunnerClient {
    /// One test of a launch in full (R9).
    pub async fn launch_test(
        &self,
        project_id: i64,
        launch_id: i64,
        test_id: i64,
    ) -> Result<LaunchTest, Error> {
        let call = Call::internal(
            ["api", "reporting", "v1", "launches"]
                .map(str::to_owned)
                .into_iter()
                .chain([launch_id.to_string(), "tests".into(), test_id.to_string()]),
        )
        .query("projectId", project_id)
        .what(format!(
            "test {test_id} of launch {launch_id} in project id {project_id}"
        ))
        .project(format!("id {project_id}"));
        self.inner.transport.fetch(call, decode_single).await
    }

    /// One page of a launch test's log lines and screenshots, in time order
    /// (R12; `max_page_size` is sent clamped to 1..=1000). The API takes no
    /// project: check the launch is the caller's project's before asking.
    pub async fn test_logs_page(
        &self,
        launch_id: i64,
        test_id: i64,
        page: &TokenPageRequest,
    ) -> Result<TokenPage<LogEntry>, Error> {
        let call = Call::internal(
            ["api", "test-execution-logs", "v1", "test-runs"]
                .map(str::to_owned)
                .into_iter()
                .chain([
                    launch_id.to_string(),
                    "tests".into(),
                    test_id.to_string(),
                    "logs-and-screenshots".into(),
                ]),
        )
        .query(
            "maxPageSize",
            page.max_page_size.clamp(1, MAX_LOG_PAGE_SIZE),
        )
        .query_opt("pageToken", page.page_token.as_deref())
        .what(format!("logs of test {test_id} of launch {launch_id}"));
        self.inner.transport.fetch(call, parse_token_page).await
    }

    /// One page of a launch's test sessions, only those that ran `test_id`
    /// when given (R11).
    pub async fn test_sessions_page(
        &self,
        project_id: i64,
        launch_id: i64,
        test_id: Option<i64>,
        page: PageRequest,
    ) -> Result<Page<TestSession>, Error> {
        let page = page.normalized();
        let call = Call::internal(
            ["api", "reporting", "v1", "launches"]
                .map(str::to_owned)
                .into_iter()
                .chain([launch_id.to_string(), "test-sessions".into()]),
        )
        .query("projectId", project_id)
        .query_opt("testId", test_id)
        .query("page", page.page)
        .query("size", page.page_size)
        .what(format!(
            "test sessions of launch {launch_id} in project id {project_id}"
        ))
        .project(format!("id {project_id}"));
        self.inner
            .transport
            .fetch(call, |body| parse_page(body, page))
            .await
    }

    /// Checks a file reference as Zebrunner gives it (`/files/<id>`,
    /// `artifacts/...`, or an absolute URL on this workspace): the bearer is
    /// never sent to another host.
    pub fn file_reference(&self, reference: &str) -> Result<FileRef, InvalidFileReference> {
        let segments = self
            .inner
            .transport
            .file_segments(reference)
            .map_err(InvalidFileReference)?;
        Ok(FileRef {
            segments,
            reference: reference.trim().to_owned(),
        })
    }

    /// Downloads a file with the bearer, reading at most `cap` bytes: the
    /// transfer stops there and [`Download::truncated`] says so.
    pub async fn download_file(&self, file: &FileRef, cap: usize) -> Result<Download, Error> {
        let call =
            Call::internal(file.segments.clone()).what(format!("the file `{}`", file.reference));
        self.inner.transport.download(&call, cap).await
    }
}
