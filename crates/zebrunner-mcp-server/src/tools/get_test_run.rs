//! `get_test_run`: one TCM test run (configurations, environment,
//! milestone, per-status summary) and its test cases with results,
//! assignees and issue links, `limit` at a time.

use rmcp::{
    ErrorData as McpError,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use zebrunner_client::TestRunCase;

use super::{
    cursor::{self, OffsetCursor},
    error::ToolError,
    list_test_runs::{StatusCount, configurations, status_counts, user_name},
    output::{Format, ToolOutput, cell, finish, truncate},
    reporting, scope,
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

/// The status name of a case without a result.
const UNTESTED: &str = "Untested";

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetTestRunArgs {
    pub project_key: String,
    /// Test run id (see list_test_runs).
    pub run_id: i64,
    /// E.g. "Failed", "Untested" (no result).
    #[serde(default)]
    pub statuses: Vec<String>,
    /// Cases per answer (default 50).
    #[schemars(range(min = 1, max = 200))]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TestRunOutput {
    pub project_key: String,
    pub id: i64,
    pub title: String,
    pub description: Option<String>,
    pub closed: bool,
    pub milestone: Option<String>,
    pub environment: Option<String>,
    /// `Group: Option` pairs.
    pub configurations: Vec<String>,
    /// Requirement links, e.g. `JIRA SHOP-1`.
    pub requirements: Vec<String>,
    pub created_by: Option<String>,
    pub created_at: Option<String>,
    /// Test cases per result status (Zebrunner's summary).
    pub summary: Vec<StatusCount>,
    /// Test cases in the run.
    pub total_cases: usize,
    /// Test cases matching `statuses`.
    pub matched_cases: usize,
    pub returned: usize,
    pub has_more: bool,
    /// Pass as `cursor` to get the next test cases.
    pub next_cursor: Option<String>,
    pub test_cases: Vec<RunCaseItem>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RunCaseItem {
    pub id: i64,
    pub key: Option<String>,
    pub title: Option<String>,
    /// Result status, "Untested" without a result.
    pub status: String,
    pub assignee: Option<String>,
    /// MANUAL or AUTOMATED.
    pub execution_type: Option<String>,
    pub execution_time_ms: Option<i64>,
    /// Linked issue, e.g. `JIRA SHOP-142`.
    pub issue: Option<String>,
    /// Result details, cut to 300 characters.
    pub details: Option<String>,
}

impl ToolOutput for TestRunOutput {
    fn markdown(&self) -> String {
        let mut md = format!(
            "## Test run {}: {} ({})\n\n",
            self.id,
            self.title,
            if self.closed { "closed" } else { "open" }
        );
        let mut facts = Vec::new();
        if let Some(m) = &self.milestone {
            facts.push(format!("milestone {m}"));
        }
        if let Some(e) = &self.environment {
            facts.push(format!("environment {e}"));
        }
        if !self.configurations.is_empty() {
            facts.push(self.configurations.join(", "));
        }
        if let Some(c) = &self.created_at {
            facts.push(format!(
                "created {c} by {}",
                self.created_by.as_deref().unwrap_or("?")
            ));
        }
        md.push_str(&facts.join(" · "));
        md.push('\n');
        if let Some(d) = self.description.as_deref().filter(|d| !d.is_empty()) {
            md.push_str(&format!("\n{d}\n"));
        }
        if !self.requirements.is_empty() {
            md.push_str(&format!(
                "\n**Requirements:** {}\n",
                self.requirements.join(", ")
            ));
        }
        let summary: Vec<String> = self
            .summary
            .iter()
            .map(|s| format!("{} {}", s.count, s.status))
            .collect();
        md.push_str(&format!(
            "\n**{} test cases:** {}\n",
            self.total_cases,
            summary.join(", ")
        ));
        if !self.test_cases.is_empty() {
            md.push_str(
                "\n| Key | Title | Status | Assignee | Issue | Details |\n|---|---|---|---|---|---|\n",
            );
            for c in &self.test_cases {
                md.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} |\n",
                    c.key.as_deref().unwrap_or(""),
                    cell(&truncate(c.title.as_deref().unwrap_or(""), 70)),
                    c.status,
                    c.assignee.as_deref().unwrap_or(""),
                    c.issue.as_deref().unwrap_or(""),
                    cell(&truncate(c.details.as_deref().unwrap_or(""), 80)),
                ));
            }
        }
        if let Some(next) = &self.next_cursor {
            md.push_str(&format!(
                "\nShowing {} of {} matching test cases; more remain. Call again with `cursor` = `{next}`.\n",
                self.returned, self.matched_cases
            ));
        }
        md
    }
}

fn case_item(c: TestRunCase) -> RunCaseItem {
    let case = c.test_case.unwrap_or_default();
    let result = c.result;
    RunCaseItem {
        id: case.id,
        key: case.key,
        title: case.title,
        status: result
            .as_ref()
            .and_then(|r| r.status.as_ref())
            .map(|s| s.name.clone())
            .unwrap_or_else(|| UNTESTED.into()),
        assignee: user_name(&c.assignee),
        execution_type: result.as_ref().and_then(|r| r.execution_type.clone()),
        execution_time_ms: result.as_ref().and_then(|r| r.execution_time_in_millis),
        issue: result
            .as_ref()
            .and_then(|r| r.issue.as_ref())
            .and_then(|i| {
                let id = i.id.clone()?;
                Some(match &i.type_ {
                    Some(kind) => format!("{kind} {id}"),
                    None => id,
                })
            }),
        details: result
            .and_then(|r| r.details)
            .filter(|d| !d.is_empty())
            .map(|d| truncate(&d, 300)),
    }
}

#[tool_router(router = get_test_run_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "get_test_run",
        description = "Get one TCM test run: milestone, environment, configurations, requirements, results per status, and its cases with result, assignee and issue; cases filtered by `statuses`, cursor paged.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<TestRunOutput>(),
        annotations(title = "Get test run", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn get_test_run(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<GetTestRunArgs>,
    ) -> Result<CallToolResult, McpError> {
        finish(&cx, args.format, self.get_test_run_impl(&cx, &args).await)
    }

    async fn get_test_run_impl(
        &self,
        cx: &CallContext,
        a: &GetTestRunArgs,
    ) -> Result<TestRunOutput, ToolError> {
        let client = &cx.client;
        let project = scope::project(cx, &a.project_key).await?;
        let limit = reporting::limit(a.limit, 50, 200)?;
        // "Untested" is what a case without a result shows, not a status.
        let (untested, named): (Vec<String>, Vec<String>) = a
            .statuses
            .iter()
            .cloned()
            .partition(|s| s.trim().eq_ignore_ascii_case(UNTESTED));
        let mut wanted: Vec<String> =
            reporting::result_statuses(client, &project, "statuses", &named)
                .await?
                .iter()
                .map(|s| s.to_lowercase())
                .collect();
        if !untested.is_empty() {
            wanted.push(UNTESTED.to_lowercase());
        }
        let fingerprint = cursor::fingerprint(&(&project, a.run_id, &wanted));
        let offset = OffsetCursor::resume(&cx.cursors, a.cursor.as_deref(), &fingerprint)?;
        let run = scope::run(client, &project, a.run_id).await?;
        let cases = client.test_run_cases(&project, a.run_id).await?;
        let total_cases = cases.len();
        let matching: Vec<RunCaseItem> = cases
            .into_iter()
            .map(case_item)
            .filter(|c| wanted.is_empty() || wanted.contains(&c.status.to_lowercase()))
            .collect();
        let matched_cases = matching.len();
        let test_cases: Vec<RunCaseItem> = matching.into_iter().skip(offset).take(limit).collect();
        let end = offset + test_cases.len();
        let next_cursor = (end < matched_cases).then(|| {
            cx.cursors.encode(&OffsetCursor {
                q: fingerprint.clone(),
                o: end,
            })
        });
        Ok(TestRunOutput {
            project_key: project,
            id: run.id,
            summary: status_counts(&run),
            configurations: configurations(&run),
            requirements: run
                .requirements
                .iter()
                .map(|r| {
                    super::get_test_case::requirement_text(
                        r.source.as_deref(),
                        r.reference.as_deref(),
                    )
                })
                .filter(|t| !t.is_empty())
                .collect(),
            created_by: user_name(&run.created_by),
            created_at: run.created_at,
            milestone: run.milestone.map(|m| m.name),
            environment: run.environment.and_then(|e| e.name.or(e.key)),
            description: run.description,
            closed: run.closed,
            title: run.title,
            total_cases,
            matched_cases,
            returned: test_cases.len(),
            has_more: next_cursor.is_some(),
            next_cursor,
            test_cases,
        })
    }
}
