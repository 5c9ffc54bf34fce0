//! `get_test_case_history`: a test case's executions across TCM runs and
//! automation launches (newest first, filtered, cursor-paged) and its change
//! log with step-level diffs.

use std::collections::BTreeMap;

use rmcp::{
    ErrorData as McpError,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zebrunner_client::TestCaseExecution;

use super::{
    args::{self, Bound},
    case_history::{
        ChangeEntry, ExecutionItem, People, author, change_entry, compact, execution_item,
    },
    cursor::{self, OffsetCursor},
    error::ToolError,
    output::{Format, ToolOutput, cell, finish, truncate},
    reporting, scope,
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

/// Change entries read from Zebrunner at most (one page).
const CHANGES_SCANNED: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ExecutionType {
    Manual,
    Automated,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeFilter {
    /// Every change (default).
    #[default]
    All,
    /// Only step changes (`steps[N].action`, `steps[N].expectedResult`).
    StepsOnly,
    /// Everything but step changes: creation, title, priority, state, ...
    EventsOnly,
    /// No change log.
    None,
}

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetTestCaseHistoryArgs {
    /// E.g. DEMO-12.
    pub key: String,
    /// Result status names, e.g. "Failed" (see get_project_settings).
    #[serde(default)]
    pub statuses: Vec<String>,
    pub execution_type: Option<ExecutionType>,
    /// YYYY-MM-DD or RFC 3339.
    pub executed_after: Option<String>,
    /// YYYY-MM-DD or RFC 3339.
    pub executed_before: Option<String>,
    /// Executions per answer (default 20).
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// Default all; events_only: all but steps.
    #[serde(default)]
    pub changes: ChangeFilter,
    /// Changes shown, newest first (default 20).
    #[schemars(range(min = 1, max = 100))]
    pub change_limit: Option<u32>,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TestCaseHistoryOutput {
    pub key: String,
    pub id: i64,
    pub title: String,
    pub executions: ExecutionPage,
    /// Absent with `changes` = none or when continuing with a cursor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<ChangeLog>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ExecutionPage {
    /// Executions recorded in Zebrunner.
    pub total: usize,
    /// Executions matching the filters.
    pub matched: usize,
    /// Matching executions per status.
    pub by_status: BTreeMap<String, usize>,
    pub returned: usize,
    pub has_more: bool,
    /// Pass as `cursor` to get older executions.
    pub next_cursor: Option<String>,
    pub items: Vec<ExecutionItem>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ChangeLog {
    pub filter: ChangeFilter,
    /// Entries read (newest first, at most 100).
    pub scanned: usize,
    /// Entries that match `filter`.
    pub matched: usize,
    /// Entries shown, at most `change_limit`.
    pub shown: usize,
    pub entries: Vec<ChangeEntry>,
}

impl ToolOutput for TestCaseHistoryOutput {
    fn markdown(&self) -> String {
        let e = &self.executions;
        let mut md = format!("## History of {}: {}\n\n", self.key, self.title);
        let by_status: Vec<String> = e
            .by_status
            .iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        md.push_str(&format!(
            "**Executions:** {} matching of {} recorded ({})\n",
            e.matched,
            e.total,
            by_status.join(", ")
        ));
        if !e.items.is_empty() {
            md.push_str("\n| When | Status | Type | Launch | Environment | Configurations | Issue |\n|---|---|---|---|---|---|---|\n");
            for x in &e.items {
                md.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} | {} |\n",
                    x.at.as_deref().unwrap_or("?"),
                    x.status.as_deref().unwrap_or("?"),
                    x.execution_type.as_deref().unwrap_or(""),
                    x.automation_launch_id
                        .map(|l| l.to_string())
                        .unwrap_or_default(),
                    cell(x.environment.as_deref().unwrap_or("")),
                    cell(&x.configurations.join(", ")),
                    x.issue.as_deref().unwrap_or(""),
                ));
            }
        }
        if let Some(next) = &e.next_cursor {
            md.push_str(&format!(
                "\nShowing {} executions; older ones remain. Call again with `cursor` = `{next}`.\n",
                e.returned
            ));
        }
        if let Some(c) = &self.changes {
            md.push_str(&format!(
                "\n### Changes ({} of {} matching, {} read)\n",
                c.shown, c.matched, c.scanned
            ));
            for entry in &c.entries {
                md.push_str(&format!(
                    "- {} {} by {}\n",
                    entry.at.as_deref().unwrap_or("?"),
                    entry.kind.as_deref().unwrap_or("change"),
                    author(entry)
                ));
                for ch in &entry.changes {
                    let show = |v: &Option<serde_json::Value>| {
                        v.as_ref()
                            .map(|v| truncate(&compact(v), 80))
                            .unwrap_or_else(|| "∅".into())
                    };
                    md.push_str(&format!(
                        "  - {}: {} → {}\n",
                        ch.field,
                        show(&ch.old),
                        show(&ch.new)
                    ));
                }
            }
            if c.matched > c.shown {
                md.push_str("\nMore changes match; raise `change_limit` (up to 100).\n");
            }
        }
        md
    }
}

struct ExecutionFilter {
    statuses: Vec<String>,
    kind: Option<ExecutionType>,
    after: Option<OffsetDateTime>,
    before: Option<OffsetDateTime>,
}

impl ExecutionFilter {
    fn matches(&self, e: &TestCaseExecution) -> bool {
        if !self.statuses.is_empty() {
            let status = e
                .status
                .as_ref()
                .map(|s| s.name.trim().to_lowercase())
                .unwrap_or_default();
            if !self.statuses.contains(&status) {
                return false;
            }
        }
        if let Some(kind) = self.kind {
            let want = match kind {
                ExecutionType::Manual => "MANUAL",
                ExecutionType::Automated => "AUTOMATED",
            };
            if !e
                .type_
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case(want))
            {
                return false;
            }
        }
        if self.after.is_some() || self.before.is_some() {
            let Some(at) = e.tracked_at.as_deref().and_then(args::parse_instant) else {
                return false;
            };
            if self.after.is_some_and(|lo| at < lo) || self.before.is_some_and(|hi| at > hi) {
                return false;
            }
        }
        true
    }
}

/// Keep the part of an entry `filter` asks for; `None` drops the entry.
fn filter_entry(mut entry: ChangeEntry, filter: ChangeFilter) -> Option<ChangeEntry> {
    let is_step = |field: &str| field.starts_with("steps[") || field == "steps";
    match filter {
        ChangeFilter::All => Some(entry),
        ChangeFilter::None => None,
        ChangeFilter::StepsOnly => {
            entry.changes.retain(|c| is_step(&c.field));
            (!entry.changes.is_empty()).then_some(entry)
        }
        ChangeFilter::EventsOnly => {
            let had_changes = !entry.changes.is_empty();
            entry.changes.retain(|c| !is_step(&c.field));
            (!had_changes || !entry.changes.is_empty()).then_some(entry)
        }
    }
}

#[tool_router(router = get_test_case_history_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "get_test_case_history",
        description = "A test case's executions across TCM runs and launches, newest first, counted per status, filterable, cursor paged; and its change log with step-level diffs.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<TestCaseHistoryOutput>(),
        annotations(title = "Get test case history", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn get_test_case_history(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<GetTestCaseHistoryArgs>,
    ) -> Result<CallToolResult, McpError> {
        finish(
            &cx,
            args.format,
            self.get_test_case_history_impl(&cx, &args).await,
        )
    }

    async fn get_test_case_history_impl(
        &self,
        cx: &CallContext,
        a: &GetTestCaseHistoryArgs,
    ) -> Result<TestCaseHistoryOutput, ToolError> {
        let client = &cx.client;
        let (project, key) = args::case_key(&a.key)?;
        cx.grant()
            .check_project(&project)
            .map_err(ToolError::Denied)?;
        scope::live_project(client, &project).await?;
        let limit = reporting::limit(a.limit, 20, 100)?;
        let change_limit = reporting::limit(a.change_limit, 20, 100)
            .map_err(|_| ToolError::invalid("`change_limit` must be between 1 and 100"))?;
        let filter = ExecutionFilter {
            statuses: reporting::result_statuses(client, &project, "statuses", &a.statuses)
                .await?
                .iter()
                .map(|s| s.trim().to_lowercase())
                .collect(),
            kind: a.execution_type,
            after: a
                .executed_after
                .as_deref()
                .map(|v| args::date_bound("executed_after", v, Bound::Lower))
                .transpose()?,
            before: a
                .executed_before
                .as_deref()
                .map(|v| args::date_bound("executed_before", v, Bound::Upper))
                .transpose()?,
        };
        let fingerprint = cursor::fingerprint(&(
            &key,
            &filter.statuses,
            a.execution_type,
            &a.executed_after,
            &a.executed_before,
        ));
        let offset = OffsetCursor::resume(&cx.cursors, a.cursor.as_deref(), &fingerprint)?;
        let case = scope::case_by_key(client, &project, &key).await?;
        let project_id = client.project_id(&project).await?;

        let mut all = client.test_case_executions(project_id, case.id).await?;
        let people = People::of(&case, &all);
        let total = all.len();
        all.sort_by(|x, y| y.tracked_at.cmp(&x.tracked_at).then(y.id.cmp(&x.id)));
        let matching: Vec<TestCaseExecution> =
            all.into_iter().filter(|e| filter.matches(e)).collect();
        let matched = matching.len();
        let mut by_status = BTreeMap::new();
        for e in &matching {
            let status = e
                .status
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_else(|| "?".into());
            *by_status.entry(status).or_insert(0) += 1;
        }
        let items: Vec<ExecutionItem> = matching
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(execution_item)
            .collect();
        let end = offset + items.len();
        let next_cursor = (end < matched).then(|| {
            cx.cursors.encode(&OffsetCursor {
                q: fingerprint.clone(),
                o: end,
            })
        });

        let changes = if a.changes == ChangeFilter::None || a.cursor.is_some() {
            None
        } else {
            let raw = client
                .test_case_changes(project_id, case.id, CHANGES_SCANNED)
                .await?;
            let scanned = raw.len();
            let mut entries: Vec<ChangeEntry> = raw
                .into_iter()
                .filter(|c| c.type_.as_deref() != Some("LAYOUT_UPDATE"))
                .map(|c| change_entry(c, &people))
                .filter_map(|e| filter_entry(e, a.changes))
                .collect();
            entries.sort_by(|x, y| y.at.cmp(&x.at).then(y.id.cmp(&x.id)));
            let matched = entries.len();
            entries.truncate(change_limit);
            Some(ChangeLog {
                filter: a.changes,
                scanned,
                matched,
                shown: entries.len(),
                entries,
            })
        };

        Ok(TestCaseHistoryOutput {
            key: case.key,
            id: case.id,
            title: case.title,
            executions: ExecutionPage {
                total,
                matched,
                by_status,
                returned: items.len(),
                has_more: next_cursor.is_some(),
                next_cursor,
                items,
            },
            changes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::case_history::FieldChange;

    fn entry(fields: &[&str]) -> ChangeEntry {
        ChangeEntry {
            id: 1,
            at: None,
            user_id: None,
            user: None,
            kind: Some("UPDATE".into()),
            changes: fields
                .iter()
                .map(|f| FieldChange {
                    field: f.to_string(),
                    old: None,
                    new: None,
                })
                .collect(),
        }
    }

    #[test]
    fn change_filters_split_steps_from_events() {
        let mixed = || entry(&["title", "steps[2].action"]);
        let steps = filter_entry(mixed(), ChangeFilter::StepsOnly).unwrap();
        assert_eq!(steps.changes.len(), 1);
        assert_eq!(steps.changes[0].field, "steps[2].action");
        let events = filter_entry(mixed(), ChangeFilter::EventsOnly).unwrap();
        assert_eq!(events.changes[0].field, "title");
        assert!(filter_entry(entry(&["title"]), ChangeFilter::StepsOnly).is_none());
        assert!(filter_entry(entry(&["steps[1].action"]), ChangeFilter::EventsOnly).is_none());
        // A creation without field changes is an event.
        assert!(filter_entry(entry(&[]), ChangeFilter::EventsOnly).is_some());
        assert_eq!(
            filter_entry(mixed(), ChangeFilter::All)
                .unwrap()
                .changes
                .len(),
            2
        );
    }
}
