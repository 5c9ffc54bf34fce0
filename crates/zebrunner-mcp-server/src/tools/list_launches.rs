//! `list_launches`: automation launches of a project, newest first, by
//! milestone, build or name, status and start date.
//!
//! Milestone and text query go to Zebrunner; status and dates are applied
//! here while reading pages of 100, so filtered answers use the cursor.
//! Without those filters `page`/`page_size` map one to one onto Zebrunner's
//! pages and `total` is Zebrunner's own count.

use rmcp::{
    ErrorData as McpError, RoleServer,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    service::RequestContext,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zebrunner_client::{LaunchQuery, LaunchSummary};

use super::{
    args::{self, Bound, NameOrId},
    cursor,
    error::ToolError,
    output::{Format, ToolOutput, cell, finish, truncate},
    progress::Progress,
    reporting::{self, epoch_ms},
    scan::{ScanCursor, scan},
    scope, wording,
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

/// Zebrunner page size when filtering here.
const SCAN_PAGE: u32 = 100;

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListLaunchesArgs {
    pub project_key: String,
    /// Milestone name or id.
    pub milestone: Option<NameOrId>,
    /// In the build or name.
    pub query: Option<String>,
    /// Any of PASSED, FAILED, IN_PROGRESS, ABORTED, SKIPPED, QUEUED.
    #[serde(default)]
    pub statuses: Vec<String>,
    /// YYYY-MM-DD or RFC 3339.
    pub started_after: Option<String>,
    /// YYYY-MM-DD or RFC 3339.
    pub started_before: Option<String>,
    /// Page from 1 (not with status or date filters).
    #[schemars(range(min = 1))]
    pub page: Option<u32>,
    /// Launches per answer (default 20).
    #[schemars(range(min = 1, max = 100))]
    pub page_size: Option<u32>,
    pub cursor: Option<String>,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LaunchesOutput {
    pub project_key: String,
    /// Milestone name sent to Zebrunner, if any.
    pub milestone: Option<String>,
    /// Matching launches: Zebrunner's count without status/date filters;
    /// with them, known once the last match has been returned.
    pub total: Option<u64>,
    /// Zebrunner page of this answer (no status/date filter only).
    pub page: Option<u32>,
    /// Zebrunner pages in all (no status/date filter only).
    pub total_pages: Option<u32>,
    /// Position of the first launch shown among the matches (from 1).
    pub from: u64,
    pub returned: usize,
    pub has_more: bool,
    /// Pass as `cursor` to get the next launches.
    pub next_cursor: Option<String>,
    pub launches: Vec<LaunchItem>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LaunchItem {
    pub id: i64,
    pub name: String,
    pub status: String,
    pub milestone: Option<String>,
    pub build: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub duration_secs: Option<i64>,
    pub passed: i64,
    /// Failed, including known issues.
    pub failed: i64,
    pub known_issues: i64,
    pub skipped: i64,
    pub aborted: i64,
    pub total: i64,
    pub reviewed: bool,
}

impl ToolOutput for LaunchesOutput {
    fn markdown(&self) -> String {
        let total = match self.total {
            Some(n) => wording::count(n, "launch", "launches"),
            None => "more launches than shown".into(),
        };
        let mut md = format!("**{}: {total}**", self.project_key);
        if let Some(m) = &self.milestone {
            md.push_str(&format!(" in milestone {m}"));
        }
        if let (Some(p), Some(tp)) = (self.page, self.total_pages) {
            md.push_str(&format!(" (page {p} of {tp})"));
        }
        md.push('\n');
        if !self.launches.is_empty() {
            md.push_str("\n| Id | Name | Status | Build | Started | Pass/Fail/Skip/Total | Milestone |\n|---|---|---|---|---|---|---|\n");
            for l in &self.launches {
                md.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {}/{}/{}/{} | {} |\n",
                    l.id,
                    cell(&truncate(&l.name, 60)),
                    l.status,
                    cell(l.build.as_deref().unwrap_or("")),
                    l.started_at.as_deref().unwrap_or(""),
                    l.passed,
                    l.failed,
                    l.skipped,
                    l.total,
                    cell(l.milestone.as_deref().unwrap_or("")),
                ));
            }
        }
        if let Some(next) = &self.next_cursor {
            md.push_str(&format!(
                "\nShowing {}; more remain. Call again with `cursor` = `{next}`.\n",
                wording::range(
                    self.from,
                    self.returned as u64,
                    self.total,
                    "launch",
                    "launches"
                )
            ));
        }
        md
    }
}

struct LocalFilter {
    statuses: Vec<String>,
    after: Option<OffsetDateTime>,
    before: Option<OffsetDateTime>,
}

impl LocalFilter {
    fn is_empty(&self) -> bool {
        self.statuses.is_empty() && self.after.is_none() && self.before.is_none()
    }

    fn matches(&self, l: &LaunchSummary) -> bool {
        if !self.statuses.is_empty() && !self.statuses.contains(&l.status.to_ascii_uppercase()) {
            return false;
        }
        if self.after.is_some() || self.before.is_some() {
            let Some(at) = l.started_at.and_then(|ms| {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
            }) else {
                return false;
            };
            if self.after.is_some_and(|lo| at < lo) || self.before.is_some_and(|hi| at > hi) {
                return false;
            }
        }
        true
    }
}

fn launch_item(l: LaunchSummary) -> LaunchItem {
    LaunchItem {
        id: l.id,
        started_at: l.started_at.and_then(epoch_ms),
        finished_at: l.finished_at.and_then(epoch_ms),
        duration_secs: l.duration,
        milestone: l.milestone.map(|m| m.name),
        build: l.build_number,
        passed: l.passed,
        failed: l.failed,
        known_issues: l.failed_as_known,
        skipped: l.skipped,
        aborted: l.aborted,
        total: l.total,
        reviewed: l.reviewed,
        status: l.status,
        name: l.name,
    }
}

#[tool_router(router = list_launches_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "list_launches",
        description = "List a project's automation launches, newest first, with pass/fail/skip counts; filter by milestone, build or name (`query`), statuses and start dates. Paged by `page`, or by `cursor` with status or date filters.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<LaunchesOutput>(),
        annotations(title = "List launches", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn list_launches(
        &self,
        Extension(cx): Extension<CallContext>,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<ListLaunchesArgs>,
    ) -> Result<CallToolResult, McpError> {
        let mut progress = Progress::new(context);
        finish(
            &cx,
            args.format,
            self.list_launches_impl(&cx, &args, &mut progress).await,
        )
    }

    async fn list_launches_impl(
        &self,
        cx: &CallContext,
        a: &ListLaunchesArgs,
        progress: &mut Progress,
    ) -> Result<LaunchesOutput, ToolError> {
        let client = &cx.client;
        let project = scope::project(cx, &a.project_key).await?;
        let page_size = reporting::limit(a.page_size, 20, 100)
            .map_err(|_| ToolError::invalid("`page_size` must be between 1 and 100"))?;
        if a.page == Some(0) {
            return Err(ToolError::invalid("`page` starts at 1"));
        }
        if a.page.is_some() && a.cursor.is_some() {
            return Err(ToolError::invalid("give `page` or `cursor`, not both"));
        }
        let local = LocalFilter {
            statuses: args::one_of("statuses", &a.statuses, args::names(&args::LAUNCH_STATUSES))?,
            after: a
                .started_after
                .as_deref()
                .map(|v| args::date_bound("started_after", v, Bound::Lower))
                .transpose()?,
            before: a
                .started_before
                .as_deref()
                .map(|v| args::date_bound("started_before", v, Bound::Upper))
                .transpose()?,
        };
        if a.page.is_some() && !local.is_empty() {
            return Err(ToolError::invalid(
                "`page` cannot be combined with `statuses` or dates (they are applied while paging); omit `page` and follow `next_cursor`",
            ));
        }
        let project_id = client.project_id(&project).await?;
        let milestone = match &a.milestone {
            Some(NameOrId::Name(name)) if !name.trim().is_empty() => {
                // Names go to Zebrunner as given, after checking they exist.
                Some(
                    reporting::resolve_milestone(
                        client,
                        &project,
                        project_id,
                        &NameOrId::Name(name.clone()),
                    )
                    .await?
                    .name,
                )
            }
            Some(id @ NameOrId::Id(_)) => Some(
                reporting::resolve_milestone(client, &project, project_id, id)
                    .await?
                    .name,
            ),
            _ => None,
        };
        let query = LaunchQuery {
            milestone: milestone.clone(),
            query: a
                .query
                .as_deref()
                .map(str::trim)
                .filter(|q| !q.is_empty())
                .map(str::to_string),
        };
        let zebrunner_page = if local.is_empty() {
            page_size as u32
        } else {
            SCAN_PAGE
        };
        let fingerprint = cursor::fingerprint(&(
            &project,
            &query,
            &local.statuses,
            &a.started_after,
            &a.started_before,
            zebrunner_page,
        ));
        let start = ScanCursor::resume(
            &cx.cursors,
            a.cursor.as_deref(),
            &fingerprint,
            a.page.unwrap_or(1),
        )?;
        let first_page = start.p;
        let scanned = scan(
            start,
            zebrunner_page,
            page_size,
            progress,
            "list_launches",
            |req| client.launches_page(project_id, &query, req),
            |l| local.matches(l),
        )
        .await?;
        let launches: Vec<LaunchItem> = scanned.items.into_iter().map(launch_item).collect();
        let (total, page, total_pages) = if local.is_empty() {
            let total = scanned.reported_total;
            (
                Some(total),
                Some(first_page),
                Some(total.div_ceil(u64::from(zebrunner_page)) as u32),
            )
        } else {
            (
                scanned
                    .next
                    .is_none()
                    .then_some(scanned.before + launches.len() as u64),
                None,
                None,
            )
        };
        Ok(LaunchesOutput {
            project_key: project,
            milestone,
            total,
            page,
            total_pages,
            from: scanned.before + 1,
            returned: launches.len(),
            has_more: scanned.next.is_some(),
            next_cursor: scanned.next.as_ref().map(|c| cx.cursors.encode(c)),
            launches,
        })
    }
}
