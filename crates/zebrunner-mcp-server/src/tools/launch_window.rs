//! The launches a report covers: a date range, the newest N, a milestone and a name or build
//! query, read from Zebrunner's launch list (newest first, pages of 100, stopping at the start
//! of the range). `pass_rate_report` and `find_flaky_tests` choose their launches here.

use futures::{StreamExt as _, TryStreamExt as _, stream};
use time::OffsetDateTime;
use zebrunner_client::{
    LaunchQuery, LaunchSummary, LaunchTest, PageRequest, REPORTING_PAGE_SIZE, ZebrunnerClient,
};

use super::{
    args::{self, Bound, NameOrId},
    error::ToolError,
    progress::Progress,
    reporting,
};

const ZEBRUNNER_PAGE: u32 = 100;
/// Launches whose tests are read at once.
const PARALLEL_LAUNCHES: usize = 4;
/// Launch pages read at most for one selection.
const MAX_PAGES: u32 = 50;

/// What the caller asked for, checked.
#[derive(Debug, Clone, Default)]
pub struct LaunchWindow {
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    /// At most this many launches (the newest).
    pub last: Option<u32>,
    /// Milestone name, resolved.
    pub milestone: Option<String>,
    /// In the launch name or build.
    pub query: Option<String>,
    pub include_unfinished: bool,
}

/// The launches chosen, newest first.
#[derive(Debug, Default)]
pub struct Selected {
    pub launches: Vec<LaunchSummary>,
    /// Launches in range left out because they had not finished.
    pub unfinished: u64,
    /// Zebrunner launch-list pages read.
    pub pages: u32,
    /// Whether the page limit stopped the reading before the range ended.
    pub truncated: bool,
}

/// The raw arguments every launch-window tool takes.
pub struct WindowArgs<'a> {
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub last: Option<u32>,
    pub milestone: Option<&'a NameOrId>,
    pub query: Option<&'a str>,
    pub include_unfinished: bool,
}

impl LaunchWindow {
    /// Check the arguments; `last` defaults to `default_last` without `from`, and may not
    /// exceed `max_last`. Resolves the milestone against the project.
    pub async fn parse(
        client: &ZebrunnerClient,
        project: &str,
        project_id: i64,
        a: WindowArgs<'_>,
        default_last: u32,
        max_last: u32,
    ) -> Result<Self, ToolError> {
        let from = a
            .from
            .map(|v| args::date_bound("from", v, Bound::Lower))
            .transpose()?;
        let to =
            a.to.map(|v| args::date_bound("to", v, Bound::Upper))
                .transpose()?;
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(ToolError::invalid("`from` is after `to`; swap them"));
        }
        if let Some(n) = a.last
            && !(1..=max_last).contains(&n)
        {
            return Err(ToolError::invalid(format!(
                "`last` must be between 1 and {max_last}, got {n}"
            )));
        }
        let milestone = match a.milestone {
            Some(m) if m.is_blank() => None,
            Some(m) => Some(
                reporting::resolve_milestone(client, project, project_id, m)
                    .await?
                    .name,
            ),
            None => None,
        };
        Ok(LaunchWindow {
            from,
            to,
            last: a.last.or(from.is_none().then_some(default_last)),
            milestone,
            query: a
                .query
                .map(str::trim)
                .filter(|q| !q.is_empty())
                .map(str::to_string),
            include_unfinished: a.include_unfinished,
        })
    }

    /// Read the launch list until the window is full or the range has ended.
    pub async fn select(
        &self,
        client: &ZebrunnerClient,
        project_id: i64,
        progress: &mut Progress,
        tool: &str,
    ) -> Result<Selected, ToolError> {
        let query = LaunchQuery {
            milestone: self.milestone.clone(),
            query: self.query.clone(),
        };
        let mut out = Selected::default();
        let mut page_no = 1u32;
        'pages: loop {
            if out.pages == MAX_PAGES {
                out.truncated = true;
                break;
            }
            progress.before_page()?;
            let page = client
                .launches_page(
                    project_id,
                    &query,
                    PageRequest::new(page_no, ZEBRUNNER_PAGE),
                )
                .await?;
            out.pages += 1;
            progress
                .after_page(
                    (u64::from(page_no - 1) * u64::from(ZEBRUNNER_PAGE) + page.items.len() as u64)
                        .min(page.total),
                    Some(page.total),
                    tool,
                )
                .await;
            let has_next = page.next_request().is_some();
            let mut older_than_range = false;
            for l in page.items {
                let at = started(&l);
                if self.from.is_some_and(|lo| at.is_none_or(|t| t < lo)) {
                    // Newest first: everything after this is older still.
                    older_than_range |= at.is_some();
                    continue;
                }
                if self.to.is_some_and(|hi| at.is_none_or(|t| t > hi)) {
                    continue;
                }
                let status = l.status.to_ascii_uppercase();
                if !self.include_unfinished && (status == "IN_PROGRESS" || status == "QUEUED") {
                    out.unfinished += 1;
                    continue;
                }
                out.launches.push(l);
                if self.last.is_some_and(|n| out.launches.len() >= n as usize) {
                    break 'pages;
                }
            }
            if !has_next || older_than_range {
                break;
            }
            page_no += 1;
        }
        Ok(out)
    }
}

/// When a launch started.
pub fn started(l: &LaunchSummary) -> Option<OffsetDateTime> {
    l.started_at
        .and_then(|ms| OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok())
}

/// Test pages reading every test of `launches` costs: 100 a page (an empty launch still costs
/// one request).
pub fn test_pages(launches: &[LaunchSummary]) -> u64 {
    let page = i64::from(REPORTING_PAGE_SIZE);
    launches
        .iter()
        .map(|l| (l.total.max(0) + page - 1).div_euclid(page).max(1) as u64)
        .sum()
}

/// Every test of each launch in `ids`, in that order, a few launches at a time.
pub async fn tests_of_launches(
    client: &ZebrunnerClient,
    project_id: i64,
    ids: &[i64],
) -> Result<Vec<Vec<LaunchTest>>, ToolError> {
    Ok(stream::iter(ids.to_vec())
        .map(|id| tests_of(client, project_id, id))
        .buffered(PARALLEL_LAUNCHES)
        .try_collect()
        .await?)
}

async fn tests_of(
    client: &ZebrunnerClient,
    project_id: i64,
    launch_id: i64,
) -> Result<Vec<LaunchTest>, zebrunner_client::Error> {
    client
        .launch_tests(project_id, launch_id)
        .try_collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_per_launch() {
        let launch = |total: i64| -> LaunchSummary {
            serde_json::from_value(serde_json::json!({
                "id": 1, "name": "x", "status": "PASSED", "projectId": 1, "total": total
            }))
            .unwrap()
        };
        assert_eq!(
            test_pages(&[launch(0), launch(100), launch(101), launch(500)]),
            1 + 1 + 2 + 5
        );
    }
}
