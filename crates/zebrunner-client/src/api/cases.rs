//! Test cases (Public API, Basic) and the TCM-internal endpoints around them
//! (Bearer, `projectId`): executions, change history, automation states,
//! priorities and the fields layout.

use std::sync::Arc;

use futures::Stream;
use moka::future::Cache;

use crate::client::{ZebrunnerClient, cached};
use crate::error::Error;
use crate::models::{FieldsLayout, NamedItem, TestCase, TestCaseChange, TestCaseExecution};
use crate::paging::{MAX_PAGE_SIZE, TokenPage, TokenPageRequest, parse_token_page, token_stream};
use crate::rql::Rql;
use crate::transport::Call;

use super::{decode_items, decode_single};

/// Path of the TCM test-case settings below the host.
const TCM_SETTINGS: [&str; 4] = ["api", "tcm", "v1", "test-case-settings"];

impl ZebrunnerClient {
    /// One page of test cases, optionally filtered with RQL.
    pub async fn test_cases_page(
        &self,
        project_key: &str,
        filter: Option<&Rql>,
        page: TokenPageRequest,
    ) -> Result<TokenPage<TestCase>, Error> {
        let mut call = Call::public(["test-cases"])
            .query("projectKey", project_key)
            .query("maxPageSize", page.clamped_size())
            .query_opt("pageToken", page.page_token.as_deref())
            .what(format!("test cases of project {project_key}"))
            .project(project_key);
        if let Some(rql) = filter.filter(|f| !f.is_empty()) {
            let rql = rql.to_string();
            call = call.query("filter", &rql).filter(rql);
        }
        self.inner.transport.fetch(call, parse_token_page).await
    }

    /// Every matching test case, fetched in pages of 100.
    pub fn test_cases(
        &self,
        project_key: &str,
        filter: Option<Rql>,
    ) -> impl Stream<Item = Result<TestCase, Error>> + Send + '_ {
        let key = project_key.to_owned();
        token_stream(TokenPageRequest::default(), move |req| {
            let key = key.clone();
            let filter = filter.clone();
            async move { self.test_cases_page(&key, filter.as_ref(), req).await }
        })
    }

    /// A test case with steps and conditions, by key (`DEMO-12`).
    pub async fn test_case_by_key(&self, project_key: &str, key: &str) -> Result<TestCase, Error> {
        let call = Call::public(["test-cases".to_owned(), format!("key:{key}")])
            .query("projectKey", project_key)
            .what(format!("test case {key} in project {project_key}"))
            .project(project_key);
        self.inner.transport.fetch(call, decode_single).await
    }

    /// A test case with steps and conditions, by numeric id.
    pub async fn test_case_by_id(&self, project_key: &str, id: i64) -> Result<TestCase, Error> {
        let call = Call::public(["test-cases".to_owned(), id.to_string()])
            .query("projectKey", project_key)
            .what(format!("test case {id} in project {project_key}"))
            .project(project_key);
        self.inner.transport.fetch(call, decode_single).await
    }

    /// Recorded executions of a test case (manual and automated).
    pub async fn test_case_executions(
        &self,
        project_id: i64,
        case_id: i64,
    ) -> Result<Vec<TestCaseExecution>, Error> {
        let call = Call::internal(tcm_case_path(case_id, "executions"))
            .query("projectId", project_id)
            .what(format!(
                "executions of test case {case_id} in project id {project_id}"
            ))
            .project(format!("id {project_id}"));
        self.inner.transport.fetch(call, decode_items).await
    }

    /// Up to `max` change-history entries of a test case, following pages.
    pub async fn test_case_changes(
        &self,
        project_id: i64,
        case_id: i64,
        max: u32,
    ) -> Result<Vec<TestCaseChange>, Error> {
        let mut out: Vec<TestCaseChange> = Vec::new();
        let mut token: Option<String> = None;
        let max = max as usize;
        while out.len() < max {
            let want = (max - out.len()).min(MAX_PAGE_SIZE as usize);
            let call = Call::internal(tcm_case_path(case_id, "changes"))
                .query("projectId", project_id)
                .query("maxPageSize", want)
                .query_opt("pageToken", token.as_deref())
                .what(format!(
                    "change history of test case {case_id} in project id {project_id}"
                ))
                .project(format!("id {project_id}"));
            let page: TokenPage<TestCaseChange> =
                self.inner.transport.fetch(call, parse_token_page).await?;
            let done = page.items.is_empty()
                || page.next_page_token.is_none()
                || page.next_page_token == token;
            out.extend(page.items);
            if done {
                break;
            }
            token = page.next_page_token;
        }
        out.truncate(max);
        Ok(out)
    }

    /// Automation states of a project (cached for 10 minutes).
    pub async fn automation_states(&self, project_key: &str) -> Result<Vec<NamedItem>, Error> {
        let list = self
            .system_field(
                &self.inner.caches.automation_states,
                project_key,
                "automation-states",
                "automation states",
            )
            .await?;
        Ok(list.as_ref().clone())
    }

    /// Priorities of a project (cached for 10 minutes).
    pub async fn priorities(&self, project_key: &str) -> Result<Vec<NamedItem>, Error> {
        let list = self
            .system_field(
                &self.inner.caches.priorities,
                project_key,
                "priorities",
                "priorities",
            )
            .await?;
        Ok(list.as_ref().clone())
    }

    /// The id of an automation state given its name (case-insensitive) or id.
    pub async fn resolve_automation_state(
        &self,
        project_key: &str,
        name_or_id: &str,
    ) -> Result<i64, Error> {
        let list = self
            .system_field(
                &self.inner.caches.automation_states,
                project_key,
                "automation-states",
                "automation states",
            )
            .await?;
        resolve(&list, "automation state", project_key, name_or_id)
    }

    /// The id of a priority given its name (case-insensitive) or id.
    pub async fn resolve_priority(
        &self,
        project_key: &str,
        name_or_id: &str,
    ) -> Result<i64, Error> {
        let list = self
            .system_field(
                &self.inner.caches.priorities,
                project_key,
                "priorities",
                "priorities",
            )
            .await?;
        resolve(&list, "priority", project_key, name_or_id)
    }

    /// Tabs and fields of the test-case form (cached for 10 minutes).
    pub async fn fields_layout(&self, project_key: &str) -> Result<FieldsLayout, Error> {
        let project_id = self.project_id(project_key).await?;
        let init = async {
            let mut path = TCM_SETTINGS.to_vec();
            path.push("fields-layout");
            let call = Call::internal(path)
                .query("projectId", project_id)
                .what(format!("the fields layout of project {project_key}"))
                .project(project_key);
            self.inner.transport.fetch(call, decode_single).await
        };
        cached(&self.inner.caches.layouts, project_id, init).await
    }

    async fn system_field(
        &self,
        cache: &Cache<String, Arc<Vec<NamedItem>>>,
        project_key: &str,
        segment: &str,
        label: &str,
    ) -> Result<Arc<Vec<NamedItem>>, Error> {
        let init = async {
            let project_id = self.project_id(project_key).await?;
            let mut path = TCM_SETTINGS.to_vec();
            path.extend(["system-fields", segment]);
            let call = Call::internal(path)
                .query("projectId", project_id)
                .what(format!("{label} of project {project_key}"))
                .project(project_key);
            let list: Vec<NamedItem> = self.inner.transport.fetch(call, decode_items).await?;
            Ok(Arc::new(list))
        };
        cached(cache, project_key.to_owned(), init).await
    }
}

fn tcm_case_path(case_id: i64, leaf: &str) -> Vec<String> {
    ["api", "tcm", "v1", "test-cases"]
        .into_iter()
        .map(str::to_owned)
        .chain([case_id.to_string(), leaf.to_owned()])
        .collect()
}

/// Matches a name case-insensitively, or an id that exists in the list.
fn resolve(list: &[NamedItem], what: &str, project: &str, name_or_id: &str) -> Result<i64, Error> {
    let wanted = name_or_id.trim();
    let by_id = wanted.parse::<i64>().ok();
    list.iter()
        .find(|item| Some(item.id) == by_id || item.name.trim().eq_ignore_ascii_case(wanted))
        .map(|item| item.id)
        .ok_or_else(|| Error::UnknownName {
            what: what.to_owned(),
            given: wanted.to_owned(),
            project: project.to_owned(),
            valid: list.iter().map(|i| i.name.clone()).collect(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: i64, name: &str) -> NamedItem {
        NamedItem {
            id,
            name: name.into(),
            is_default: false,
        }
    }

    #[test]
    fn resolves_names_and_ids() {
        let list = [item(10, "Not Automated"), item(12, "Automated")];
        assert!(matches!(
            resolve(&list, "automation state", "DEMO", " automated "),
            Ok(12)
        ));
        assert!(matches!(
            resolve(&list, "automation state", "DEMO", "NOT AUTOMATED"),
            Ok(10)
        ));
        assert!(matches!(
            resolve(&list, "automation state", "DEMO", "12"),
            Ok(12)
        ));
        let err = resolve(&list, "automation state", "DEMO", "Manual")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "unknown automation state 'Manual' in project DEMO; valid values: Not Automated, Automated"
            )
        );
        assert!(resolve(&list, "automation state", "DEMO", "99").is_err());
    }
}
