//! `get_test_case`: one test case with its steps, conditions, custom fields
//! and suite path; optionally its execution and change history.

use rmcp::{
    ErrorData as McpError,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zebrunner_client::{TestCase, TestCaseExecution};

use super::{
    args,
    case_history::{
        ChangeEntry, ExecutionItem, People, author, change_entry, compact, execution_item,
    },
    error::ToolError,
    hierarchy::Hierarchy,
    output::{Format, ToolOutput, cell, finish, truncate},
    scope,
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetTestCaseArgs {
    /// E.g. DEMO-12; or `id` and `project_key`.
    pub key: Option<String>,
    /// Numeric id, with `project_key`.
    pub id: Option<i64>,
    /// E.g. DEMO; not with `key`.
    pub project_key: Option<String>,
    /// Add executions in runs and launches.
    #[serde(default)]
    pub include_execution_history: bool,
    /// Executions shown, newest first (default 10).
    #[schemars(range(min = 1, max = 100))]
    pub execution_limit: Option<u32>,
    /// Add the change log.
    #[serde(default)]
    pub include_change_history: bool,
    /// Changes shown, newest first (default 20).
    #[schemars(range(min = 1, max = 100))]
    pub change_limit: Option<u32>,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TestCaseOutput {
    pub test_case: CaseDetail,
    /// Present when `include_execution_history` was set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executions: Option<ExecutionHistory>,
    /// Present when `include_change_history` was set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<ChangeHistory>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CaseDetail {
    pub id: i64,
    pub key: String,
    pub project_key: String,
    pub title: String,
    pub description: Option<String>,
    pub suite: Option<SuiteRef>,
    pub priority: Option<String>,
    pub automation_state: Option<String>,
    pub draft: bool,
    pub deprecated: bool,
    pub deleted: bool,
    pub pre_conditions: Option<String>,
    pub post_conditions: Option<String>,
    pub steps: Vec<StepItem>,
    /// Requirement links as text, e.g. `JIRA SHOP-1`.
    pub requirements: Vec<String>,
    /// Custom field values keyed by the field's system name.
    pub custom_fields: Map<String, Value>,
    pub created_at: Option<String>,
    pub created_by: Option<String>,
    pub last_modified_at: Option<String>,
    pub last_modified_by: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SuiteRef {
    pub id: i64,
    pub title: Option<String>,
    /// Path from the root suite, e.g. `Checkout > Payments > Cards`.
    pub path: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StepItem {
    /// 1-based position.
    pub number: usize,
    pub action: Option<String>,
    pub expected_result: Option<String>,
    /// Set when the step is a reference to shared steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_steps_id: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ExecutionHistory {
    /// Executions recorded in Zebrunner.
    pub total: usize,
    /// Executions shown here (newest first).
    pub shown: usize,
    pub items: Vec<ExecutionItem>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ChangeHistory {
    /// Entries shown (newest first), at most `change_limit`.
    pub shown: usize,
    pub entries: Vec<ChangeEntry>,
}

impl ToolOutput for TestCaseOutput {
    fn markdown(&self) -> String {
        let c = &self.test_case;
        let mut md = format!("## {}: {}\n\n", c.key, c.title);
        let mut facts = vec![format!("id {}", c.id)];
        if let Some(suite) = &c.suite {
            facts.push(format!(
                "suite {} (id {})",
                suite
                    .path
                    .as_deref()
                    .or(suite.title.as_deref())
                    .unwrap_or("?"),
                suite.id
            ));
        }
        if let Some(p) = &c.priority {
            facts.push(format!("priority {p}"));
        }
        if let Some(a) = &c.automation_state {
            facts.push(format!("automation {a}"));
        }
        if c.draft {
            facts.push("draft".into());
        }
        if c.deprecated {
            facts.push("deprecated".into());
        }
        if c.deleted {
            facts.push("deleted".into());
        }
        md.push_str(&facts.join(" · "));
        md.push('\n');
        if let Some(d) = c.description.as_deref().filter(|d| !d.is_empty()) {
            md.push_str(&format!("\n**Description:** {d}\n"));
        }
        if let Some(p) = c.pre_conditions.as_deref().filter(|d| !d.is_empty()) {
            md.push_str(&format!("\n**Preconditions:** {p}\n"));
        }
        if !c.steps.is_empty() {
            md.push_str("\n| # | Action | Expected result |\n|---|---|---|\n");
            for s in &c.steps {
                let action = match s.shared_steps_id {
                    Some(id) => {
                        format!("(shared steps {id}) {}", s.action.as_deref().unwrap_or(""))
                    }
                    None => s.action.clone().unwrap_or_default(),
                };
                md.push_str(&format!(
                    "| {} | {} | {} |\n",
                    s.number,
                    cell(&action),
                    cell(s.expected_result.as_deref().unwrap_or(""))
                ));
            }
        } else {
            md.push_str("\nNo steps.\n");
        }
        if let Some(p) = c.post_conditions.as_deref().filter(|d| !d.is_empty()) {
            md.push_str(&format!("\n**Postconditions:** {p}\n"));
        }
        if !c.custom_fields.is_empty() {
            md.push_str("\n**Custom fields:** ");
            let fields: Vec<String> = c
                .custom_fields
                .iter()
                .map(|(k, v)| format!("{k}={}", compact(v)))
                .collect();
            md.push_str(&fields.join(", "));
            md.push('\n');
        }
        if !c.requirements.is_empty() {
            md.push_str(&format!(
                "\n**Requirements:** {}\n",
                c.requirements.join(", ")
            ));
        }
        md.push_str(&format!(
            "\nCreated {} by {}; modified {} by {}.\n",
            c.created_at.as_deref().unwrap_or("?"),
            c.created_by.as_deref().unwrap_or("?"),
            c.last_modified_at.as_deref().unwrap_or("?"),
            c.last_modified_by.as_deref().unwrap_or("?"),
        ));
        if let Some(h) = &self.executions {
            md.push_str(&format!("\n### Executions ({} of {})\n", h.shown, h.total));
            if h.items.is_empty() {
                md.push_str("Never executed.\n");
            } else {
                md.push_str(
                    "| When | Status | Type | Environment | Issue |\n|---|---|---|---|---|\n",
                );
                for e in &h.items {
                    md.push_str(&format!(
                        "| {} | {} | {} | {} | {} |\n",
                        e.at.as_deref().unwrap_or("?"),
                        e.status.as_deref().unwrap_or("?"),
                        e.execution_type.as_deref().unwrap_or(""),
                        cell(e.environment.as_deref().unwrap_or("")),
                        e.issue.as_deref().unwrap_or("")
                    ));
                }
            }
        }
        if let Some(h) = &self.changes {
            md.push_str(&format!("\n### Changes (latest {})\n", h.shown));
            for entry in &h.entries {
                md.push_str(&format!(
                    "- {} {} by {}\n",
                    entry.at.as_deref().unwrap_or("?"),
                    entry.kind.as_deref().unwrap_or("change"),
                    author(entry)
                ));
                for ch in &entry.changes {
                    md.push_str(&format!(
                        "  - {}: {} → {}\n",
                        ch.field,
                        ch.old
                            .as_ref()
                            .map(|v| truncate(&compact(v), 80))
                            .unwrap_or_else(|| "∅".into()),
                        ch.new
                            .as_ref()
                            .map(|v| truncate(&compact(v), 80))
                            .unwrap_or_else(|| "∅".into()),
                    ));
                }
            }
        }
        md
    }
}

#[tool_router(router = get_test_case_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "get_test_case",
        description = "Get one test case by key (DEMO-12) or id: steps, conditions, custom fields, priority, automation state, suite path; optionally its execution and change history.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<TestCaseOutput>(),
        annotations(title = "Get test case", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn get_test_case(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<GetTestCaseArgs>,
    ) -> Result<CallToolResult, McpError> {
        finish(&cx, args.format, self.get_test_case_impl(&cx, &args).await)
    }

    async fn get_test_case_impl(
        &self,
        cx: &CallContext,
        a: &GetTestCaseArgs,
    ) -> Result<TestCaseOutput, ToolError> {
        let client = &cx.client;
        let given_project = a
            .project_key
            .as_deref()
            .map(|p| cx.allowed_project(p))
            .transpose()?;
        let (project, case) = match (&a.key, a.id) {
            (Some(key), _) => {
                let (project, key) = args::case_key(key)?;
                if let Some(given) = &given_project
                    && *given != project
                {
                    return Err(ToolError::invalid(format!(
                        "`key` {key} belongs to project {project}, not `project_key` {given}"
                    )));
                }
                cx.grant()
                    .check_project(&project)
                    .map_err(ToolError::Denied)?;
                scope::live_project(client, &project).await?;
                let case = scope::case_by_key(client, &project, &key).await?;
                (project, case)
            }
            (None, Some(id)) => {
                let project = given_project.ok_or_else(|| {
                    ToolError::invalid("`id` needs `project_key`; or pass `key` such as DEMO-12")
                })?;
                scope::live_project(client, &project).await?;
                let case = scope::case_by_id(client, &project, id).await?;
                (project, case)
            }
            (None, None) => {
                return Err(ToolError::invalid(
                    "give `key` (such as DEMO-12), or `id` with `project_key`",
                ));
            }
        };

        let suites = client.all_test_suites(&project).await?;
        let hierarchy = Hierarchy::new(&suites);
        // The change log names people by id; the executions name them.
        let all_executions = if a.include_execution_history || a.include_change_history {
            let project_id = client.project(&project).await?.id;
            Some(client.test_case_executions(project_id, case.id).await?)
        } else {
            None
        };
        let people = People::of(&case, all_executions.as_deref().unwrap_or_default());
        let detail = case_detail(&project, case, &hierarchy);

        let executions = match all_executions {
            Some(all) if a.include_execution_history => {
                let limit = a.execution_limit.unwrap_or(10).clamp(1, 100) as usize;
                Some(execution_history(all, limit))
            }
            _ => None,
        };
        let changes = if a.include_change_history {
            let project_id = client.project(&project).await?.id;
            let limit = a.change_limit.unwrap_or(20).clamp(1, 100);
            let entries = client
                .test_case_changes(project_id, detail.id, limit)
                .await?;
            let mut entries: Vec<ChangeEntry> = entries
                .into_iter()
                .map(|c| change_entry(c, &people))
                .collect();
            entries.sort_by(|x, y| y.at.cmp(&x.at));
            entries.truncate(limit as usize);
            Some(ChangeHistory {
                shown: entries.len(),
                entries,
            })
        } else {
            None
        };
        Ok(TestCaseOutput {
            test_case: detail,
            executions,
            changes,
        })
    }
}

/// A requirement link as text: `JIRA SHOP-1`, or whichever part is known.
pub(crate) fn requirement_text(source: Option<&str>, reference: Option<&str>) -> String {
    format!("{} {}", source.unwrap_or(""), reference.unwrap_or(""))
        .trim()
        .to_string()
}

fn user_name(user: &Option<zebrunner_client::UserRef>) -> Option<String> {
    user.as_ref()
        .and_then(|u| u.username.clone().or_else(|| u.email.clone()))
}

fn case_detail(project: &str, case: TestCase, hierarchy: &Hierarchy<'_>) -> CaseDetail {
    let suite = case.test_suite.as_ref().map(|s| SuiteRef {
        id: s.id,
        title: s
            .title
            .clone()
            .or_else(|| hierarchy.get(s.id).map(|h| h.title.clone())),
        path: hierarchy.path(s.id),
    });
    CaseDetail {
        id: case.id,
        project_key: project.to_string(),
        title: case.title,
        description: case.description,
        suite,
        priority: case.priority.map(|p| p.name),
        automation_state: case.automation_state.map(|p| p.name),
        draft: case.draft,
        deprecated: case.deprecated,
        deleted: case.deleted,
        pre_conditions: case.pre_conditions,
        post_conditions: case.post_conditions,
        steps: case
            .steps
            .into_iter()
            .enumerate()
            .map(|(i, s)| StepItem {
                number: i + 1,
                action: s.action,
                expected_result: s.expected_result,
                shared_steps_id: s.shared_steps_id,
            })
            .collect(),
        requirements: case
            .requirements
            .iter()
            .map(|r| requirement_text(r.source.as_deref(), r.reference.as_deref()))
            .filter(|t| !t.is_empty())
            .collect(),
        custom_fields: case.custom_field,
        created_at: case.created_at,
        created_by: user_name(&case.created_by),
        last_modified_at: case.last_modified_at,
        last_modified_by: user_name(&case.last_modified_by),
        key: case.key,
    }
}

fn execution_history(mut all: Vec<TestCaseExecution>, limit: usize) -> ExecutionHistory {
    all.sort_by(|a, b| b.tracked_at.cmp(&a.tracked_at));
    let total = all.len();
    let items: Vec<ExecutionItem> = all.into_iter().take(limit).map(execution_item).collect();
    ExecutionHistory {
        total,
        shown: items.len(),
        items,
    }
}
