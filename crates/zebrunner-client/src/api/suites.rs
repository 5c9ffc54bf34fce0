//! Test suites: `GET /api/public/v1/test-suites[/{id}]` (Basic, token paging).

use std::sync::Arc;

use futures::{Stream, TryStreamExt as _};

use crate::client::{ZebrunnerClient, cached};
use crate::error::Error;
use crate::models::TestSuite;
use crate::paging::{TokenPage, TokenPageRequest, parse_token_page, token_stream};
use crate::transport::Call;

use super::decode_single;

impl ZebrunnerClient {
    /// One page of the suites of `project_key`.
    pub async fn test_suites_page(
        &self,
        project_key: &str,
        page: TokenPageRequest,
    ) -> Result<TokenPage<TestSuite>, Error> {
        let call = Call::public(["test-suites"])
            .query("projectKey", project_key)
            .query("maxPageSize", page.clamped_size())
            .query_opt("pageToken", page.page_token.as_deref())
            .what(format!("test suites of project {project_key}"))
            .project(project_key);
        self.inner.transport.fetch(call, parse_token_page).await
    }

    /// Every suite of `project_key`, fetched in pages of 100.
    pub fn test_suites(
        &self,
        project_key: &str,
    ) -> impl Stream<Item = Result<TestSuite, Error>> + Send + '_ {
        let key = project_key.to_owned();
        token_stream(TokenPageRequest::default(), move |req| {
            let key = key.clone();
            async move { self.test_suites_page(&key, req).await }
        })
    }

    /// All suites of `project_key` as one list (cached for 5 minutes).
    pub async fn all_test_suites(&self, project_key: &str) -> Result<Arc<Vec<TestSuite>>, Error> {
        let init = async {
            let all: Vec<TestSuite> = self.test_suites(project_key).try_collect().await?;
            Ok(Arc::new(all))
        };
        cached(&self.inner.caches.suites, project_key.to_owned(), init).await
    }

    /// One suite by id.
    pub async fn test_suite(&self, project_key: &str, id: i64) -> Result<TestSuite, Error> {
        let call = Call::public(["test-suites".to_owned(), id.to_string()])
            .query("projectKey", project_key)
            .what(format!("test suite {id} in project {project_key}"))
            .project(project_key);
        self.inner.transport.fetch(call, decode_single).await
    }
}
