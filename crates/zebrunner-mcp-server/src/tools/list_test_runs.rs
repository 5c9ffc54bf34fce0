//! `list_test_runs`: TCM test runs of a project by title, milestone, build
//! and open/closed state, sorted, one Zebrunner token page per answer with
//! the page token inside the cursor.

use rmcp::{
    ErrorData as McpError,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use zebrunner_client::{Rql, TestRun, TokenPageRequest};

use super::{
    args::NameOrId,
    cursor,
    error::ToolError,
    output::{Format, ToolOutput, cell, finish, truncate},
    reporting, scope, wording,
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
pub enum RunSort {
    /// Newest first (default).
    #[default]
    #[serde(rename = "-createdAt")]
    NewestFirst,
    /// Oldest first.
    #[serde(rename = "createdAt")]
    OldestFirst,
    /// Title A-Z.
    #[serde(rename = "title")]
    Title,
    /// Title Z-A.
    #[serde(rename = "-title")]
    TitleDesc,
}

impl RunSort {
    fn as_param(self) -> &'static str {
        match self {
            RunSort::NewestFirst => "-createdAt",
            RunSort::OldestFirst => "createdAt",
            RunSort::Title => "title",
            RunSort::TitleDesc => "-title",
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListTestRunsArgs {
    pub project_key: String,
    /// In the title, any case.
    pub title_contains: Option<String>,
    /// Milestone name (e.g. "Release 1.5") or id.
    pub milestone: Option<NameOrId>,
    /// A configuration option, or in title or description.
    pub build: Option<String>,
    /// true: only closed; false: only open.
    pub closed: Option<bool>,
    /// Order (default newest first).
    #[serde(default)]
    pub sort_by: RunSort,
    /// Runs per answer (default 25).
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TestRunsOutput {
    pub project_key: String,
    /// The RQL filter sent to Zebrunner, if any.
    pub filter: Option<String>,
    pub sort_by: RunSort,
    pub returned: usize,
    /// Whether more runs follow (Zebrunner gives no total for runs).
    pub has_more: bool,
    /// Pass as `cursor` to get the next runs.
    pub next_cursor: Option<String>,
    pub test_runs: Vec<RunSummary>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RunSummary {
    pub id: i64,
    pub title: String,
    pub description: Option<String>,
    pub milestone: Option<String>,
    pub environment: Option<String>,
    /// `Group: Option` pairs.
    pub configurations: Vec<String>,
    pub closed: bool,
    pub created_by: Option<String>,
    pub created_at: Option<String>,
    /// Test cases in the run.
    pub test_cases: i64,
    /// Test cases per result status.
    pub statuses: Vec<StatusCount>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StatusCount {
    pub status: String,
    pub count: i64,
}

/// Runs of a build: TCM runs have no build field, so the build is looked for in a
/// configuration option, the title or the description.
pub(crate) fn build_filter(build: &str) -> Rql {
    Rql::new()
        .contains("configurations.optionName", build)
        .contains("title", build)
        .contains("description", build)
}

pub(crate) fn configurations(run: &TestRun) -> Vec<String> {
    run.configurations
        .iter()
        .map(|c| {
            format!(
                "{}: {}",
                c.group.as_ref().map(|g| g.name.as_str()).unwrap_or("?"),
                c.option.as_ref().map(|o| o.name.as_str()).unwrap_or("?")
            )
        })
        .collect()
}

pub(crate) fn status_counts(run: &TestRun) -> Vec<StatusCount> {
    run.execution_summaries
        .iter()
        .map(|s| StatusCount {
            status: s
                .status
                .as_ref()
                .map(|st| st.name.clone())
                .unwrap_or_else(|| "Untested".into()),
            count: s.test_cases_count,
        })
        .collect()
}

pub(crate) fn user_name(user: &Option<zebrunner_client::UserRef>) -> Option<String> {
    user.as_ref()
        .and_then(|u| u.username.clone().or_else(|| u.email.clone()))
}

fn run_summary(run: TestRun) -> RunSummary {
    let statuses = status_counts(&run);
    RunSummary {
        id: run.id,
        configurations: configurations(&run),
        test_cases: statuses.iter().map(|s| s.count).sum(),
        statuses,
        description: run.description.map(|d| truncate(&d, 200)),
        milestone: run.milestone.map(|m| m.name),
        environment: run.environment.and_then(|e| e.name.or(e.key)),
        closed: run.closed,
        created_by: user_name(&run.created_by),
        created_at: run.created_at,
        title: run.title,
    }
}

impl ToolOutput for TestRunsOutput {
    fn markdown(&self) -> String {
        let mut md = format!(
            "**{}: {}{}**",
            self.project_key,
            wording::count(self.returned as u64, "test run", "test runs"),
            if self.has_more {
                " shown, more remain"
            } else {
                ""
            }
        );
        if let Some(f) = &self.filter {
            md.push_str(&format!(" (filter `{f}`)"));
        }
        md.push('\n');
        if !self.test_runs.is_empty() {
            md.push_str("\n| Id | Title | State | Milestone | Configurations | Results | Created |\n|---|---|---|---|---|---|---|\n");
            for r in &self.test_runs {
                let results: Vec<String> = r
                    .statuses
                    .iter()
                    .map(|s| format!("{} {}", s.count, s.status))
                    .collect();
                md.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} | {} |\n",
                    r.id,
                    cell(&truncate(&r.title, 70)),
                    if r.closed { "closed" } else { "open" },
                    cell(r.milestone.as_deref().unwrap_or("")),
                    cell(&r.configurations.join(", ")),
                    results.join(", "),
                    r.created_at
                        .as_deref()
                        .map(|c| c.get(..10).unwrap_or(c))
                        .unwrap_or(""),
                ));
            }
        }
        if let Some(next) = &self.next_cursor {
            md.push_str(&format!(
                "\nShowing {}; more remain. Call again with `cursor` = `{next}`.\n",
                wording::count(self.returned as u64, "run", "runs")
            ));
        }
        md
    }
}

/// Where the next answer starts: the Zebrunner page token.
#[derive(Debug, Serialize, Deserialize)]
struct RunsCursor {
    q: String,
    t: String,
}

#[tool_router(router = list_test_runs_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "list_test_runs",
        description = "List a project's TCM test runs with milestone, configurations and results per status; filter by title, milestone, build and open/closed; sorted, cursor paged. One run's cases: get_test_run.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<TestRunsOutput>(),
        annotations(title = "List test runs", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn list_test_runs(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<ListTestRunsArgs>,
    ) -> Result<CallToolResult, McpError> {
        finish(&cx, args.format, self.list_test_runs_impl(&cx, &args).await)
    }

    async fn list_test_runs_impl(
        &self,
        cx: &CallContext,
        a: &ListTestRunsArgs,
    ) -> Result<TestRunsOutput, ToolError> {
        let client = &cx.client;
        let project = scope::project(cx, &a.project_key).await?;
        let limit = reporting::limit(a.limit, 25, 100)?;
        let mut rql = Rql::new();
        if let Some(title) = a
            .title_contains
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            rql = rql.contains("title", title);
        }
        if let Some(milestone) = &a.milestone {
            // Ids too: the milestone must be the project's.
            let project_id = client.project_id(&project).await?;
            let id = reporting::resolve_milestone(client, &project, project_id, milestone)
                .await?
                .id;
            rql = rql.eq("milestone.id", id);
        }
        if let Some(build) = a.build.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
            rql = rql.or(build_filter(build));
        }
        if let Some(closed) = a.closed {
            rql = rql.eq("closed", closed);
        }
        let filter = (!rql.is_empty()).then(|| rql.to_string());
        let fingerprint = cursor::fingerprint(&(&project, &filter, a.sort_by, limit));
        let token = match a.cursor.as_deref() {
            None => None,
            Some(raw) => {
                let c: RunsCursor = cx.cursors.decode(raw)?;
                if c.q != fingerprint {
                    return Err(ToolError::invalid(
                        "`cursor` belongs to a different query; repeat the call without `cursor`",
                    ));
                }
                Some(c.t)
            }
        };
        let page = client
            .test_runs_page(
                &project,
                filter.as_ref().map(|_| &rql),
                Some(a.sort_by.as_param()),
                TokenPageRequest {
                    max_page_size: limit as u32,
                    page_token: token,
                },
            )
            .await?;
        let next_cursor = page.next_page_token.map(|t| {
            cx.cursors.encode(&RunsCursor {
                q: fingerprint.clone(),
                t,
            })
        });
        let test_runs: Vec<RunSummary> = page.items.into_iter().map(run_summary).collect();
        Ok(TestRunsOutput {
            project_key: project,
            filter,
            sort_by: a.sort_by,
            returned: test_runs.len(),
            has_more: next_cursor.is_some(),
            next_cursor,
            test_runs,
        })
    }
}
