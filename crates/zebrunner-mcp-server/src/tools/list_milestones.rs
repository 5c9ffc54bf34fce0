//! `list_milestones`: a project's milestones, open, completed, overdue or
//! all, with their dates.

use rmcp::{
    ErrorData as McpError,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{
    args,
    cursor::{self, OffsetCursor},
    error::ToolError,
    output::{Format, ToolOutput, cell, finish, truncate},
    reporting, scope,
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MilestoneStatus {
    /// Not completed (default).
    #[default]
    Open,
    /// Completed.
    Completed,
    /// Not completed and past its due date.
    Overdue,
    /// Every milestone.
    All,
}

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListMilestonesArgs {
    pub project_key: String,
    /// Which milestones (default open).
    #[serde(default)]
    pub status: MilestoneStatus,
    /// Milestones per answer (default 50).
    #[schemars(range(min = 1, max = 200))]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MilestonesOutput {
    pub project_key: String,
    pub status: MilestoneStatus,
    /// Milestones with this status.
    pub total: usize,
    pub returned: usize,
    pub has_more: bool,
    /// Pass as `cursor` to get the next milestones.
    pub next_cursor: Option<String>,
    pub milestones: Vec<MilestoneItem>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MilestoneItem {
    pub id: i64,
    pub name: String,
    pub completed: bool,
    /// Open and past its due date.
    pub overdue: bool,
    pub start_date: Option<String>,
    pub due_date: Option<String>,
    pub description: Option<String>,
}

impl ToolOutput for MilestonesOutput {
    fn markdown(&self) -> String {
        let status = serde_json::to_value(self.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let mut md = format!(
            "**{}: {} {status} milestones**\n",
            self.project_key, self.total
        );
        if !self.milestones.is_empty() {
            md.push_str(
                "\n| Id | Name | State | Start | Due | Description |\n|---|---|---|---|---|---|\n",
            );
            for m in &self.milestones {
                let state = if m.completed {
                    "completed"
                } else if m.overdue {
                    "overdue"
                } else {
                    "open"
                };
                md.push_str(&format!(
                    "| {} | {} | {state} | {} | {} | {} |\n",
                    m.id,
                    cell(&m.name),
                    day(m.start_date.as_deref()),
                    day(m.due_date.as_deref()),
                    cell(&truncate(m.description.as_deref().unwrap_or(""), 80)),
                ));
            }
        }
        if let Some(next) = &self.next_cursor {
            md.push_str(&format!(
                "\nShowing {} of {}; more remain. Call again with `cursor` = `{next}`.\n",
                self.returned, self.total
            ));
        }
        md
    }
}

fn day(value: Option<&str>) -> &str {
    value.map(|v| v.get(..10).unwrap_or(v)).unwrap_or("")
}

fn is_overdue(completed: bool, due: Option<&str>, now: OffsetDateTime) -> bool {
    !completed
        && due
            .and_then(|d| {
                args::parse_instant(d)
                    .or_else(|| args::date_bound("due", d, args::Bound::Upper).ok())
            })
            .is_some_and(|due| due < now)
}

#[tool_router(router = list_milestones_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "list_milestones",
        description = "List a project's milestones (open by default, completed, overdue or all) with start and due dates.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<MilestonesOutput>(),
        annotations(title = "List milestones", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn list_milestones(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<ListMilestonesArgs>,
    ) -> Result<CallToolResult, McpError> {
        finish(
            &cx,
            args.format,
            self.list_milestones_impl(&cx, &args).await,
        )
    }

    async fn list_milestones_impl(
        &self,
        cx: &CallContext,
        a: &ListMilestonesArgs,
    ) -> Result<MilestonesOutput, ToolError> {
        let client = &cx.client;
        let project = scope::project(cx, &a.project_key).await?;
        let limit = reporting::limit(a.limit, 50, 200)?;
        let fingerprint = cursor::fingerprint(&(&project, a.status));
        let offset = OffsetCursor::resume(&cx.cursors, a.cursor.as_deref(), &fingerprint)?;
        let project_id = client.project_id(&project).await?;
        let now = OffsetDateTime::now_utc();
        let mut all: Vec<MilestoneItem> = reporting::all_milestones(client, project_id)
            .await?
            .into_iter()
            .map(|m| MilestoneItem {
                overdue: is_overdue(m.completed, m.due_date.as_deref(), now),
                id: m.id,
                name: m.name,
                completed: m.completed,
                start_date: m.start_date,
                due_date: m.due_date,
                description: m.description,
            })
            .filter(|m| match a.status {
                MilestoneStatus::Open => !m.completed,
                MilestoneStatus::Completed => m.completed,
                MilestoneStatus::Overdue => m.overdue,
                MilestoneStatus::All => true,
            })
            .collect();
        all.sort_by(|x, y| x.due_date.cmp(&y.due_date).then(x.id.cmp(&y.id)));
        let total = all.len();
        let milestones: Vec<MilestoneItem> = all.into_iter().skip(offset).take(limit).collect();
        let end = offset + milestones.len();
        let next_cursor = (end < total).then(|| {
            cx.cursors.encode(&OffsetCursor {
                q: fingerprint.clone(),
                o: end,
            })
        });
        Ok(MilestonesOutput {
            project_key: project,
            status: a.status,
            total,
            returned: milestones.len(),
            has_more: next_cursor.is_some(),
            next_cursor,
            milestones,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overdue_needs_open_and_past_due() {
        let now = args::parse_instant("2026-01-10T00:00:00Z").unwrap();
        assert!(is_overdue(false, Some("2026-01-01"), now));
        assert!(is_overdue(false, Some("2026-01-01T00:00:00Z"), now));
        assert!(!is_overdue(true, Some("2026-01-01"), now));
        assert!(!is_overdue(false, Some("2026-02-01"), now));
        assert!(!is_overdue(false, None, now));
    }
}
