//! `update_test_case`: change only the given fields of a TCM test case, by
//! key or id (PATCH); the preview diffs them against the current case.

use rmcp::{
    ErrorData as McpError,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use zebrunner_client::{WriteMethod, WriteRequest};

use super::{
    args::{self, NameOrId},
    create_test_case::{CaseFields, StepArg},
    create_test_suite::title,
    error::ToolError,
    output::{Format, finish},
    scope,
    write::{Control, Plan, WriteOutput, arguments_of, diff_fields},
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTestCaseArgs {
    /// E.g. DEMO-12 (or `project_key` and `id`).
    pub key: Option<String>,
    /// Project key, with `id`.
    pub project_key: Option<String>,
    pub id: Option<i64>,
    pub title: Option<String>,
    /// Move to this suite.
    pub suite_id: Option<i64>,
    pub draft: Option<bool>,
    #[schemars(length(max = 5000))]
    pub description: Option<String>,
    /// Name (see get_project_settings) or id.
    pub priority: Option<NameOrId>,
    /// Name (e.g. "Automated") or id.
    pub automation_state: Option<NameOrId>,
    pub deprecated: Option<bool>,
    #[schemars(length(max = 2000))]
    pub pre_conditions: Option<String>,
    #[schemars(length(max = 2000))]
    pub post_conditions: Option<String>,
    /// In order; on update they replace all.
    pub steps: Option<Vec<StepArg>>,
    /// By system name; on update merged.
    pub custom_fields: Option<BTreeMap<String, Value>>,
    /// Only show the request.
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub confirm: bool,
    pub confirmation_token: Option<String>,
    #[serde(default)]
    pub format: Format,
}

#[tool_router(router = update_test_case_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "update_test_case",
        description = "Change only the given fields of a TCM test case; steps replace all, custom fields merge. First call previews; repeat it with `confirm: true` and the `confirmation_token` to write.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<WriteOutput>(),
        annotations(title = "Update test case", read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn update_test_case(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<UpdateTestCaseArgs>,
    ) -> Result<CallToolResult, McpError> {
        finish(
            &cx,
            args.format,
            self.update_test_case_impl(&cx, &args).await,
        )
    }

    async fn update_test_case_impl(
        &self,
        cx: &CallContext,
        a: &UpdateTestCaseArgs,
    ) -> Result<WriteOutput, ToolError> {
        let (project, ident, label) = match (&a.key, a.id) {
            (Some(key), None) => {
                let (project, key) = args::case_key(key)?;
                if let Some(p) = &a.project_key
                    && args::project_key(p)? != project
                {
                    return Err(ToolError::invalid(format!(
                        "`key` {key} is not in project {p}"
                    )));
                }
                (project, format!("key:{key}"), key)
            }
            (None, Some(id)) => {
                let raw = a.project_key.as_deref().ok_or_else(|| {
                    ToolError::invalid("`id` needs `project_key`; or give the case `key` instead")
                })?;
                (
                    args::project_key(raw)?,
                    id.to_string(),
                    format!("test case {id}"),
                )
            }
            _ => {
                return Err(ToolError::invalid(
                    "give exactly one of `key` (e.g. DEMO-12) or `id` (with `project_key`)",
                ));
            }
        };
        cx.grant()
            .check_project(&project)
            .map_err(ToolError::Denied)?;
        scope::live_project(&cx.client, &project).await?;
        let mut body = Map::new();
        if let Some(t) = &a.title {
            body.insert("title".into(), json!(title(t)?));
        }
        if let Some(suite) = a.suite_id {
            scope::suite(&cx.client, &project, suite).await?;
            body.insert("testSuite".into(), json!({ "id": suite }));
        }
        if let Some(d) = a.draft {
            body.insert("draft".into(), json!(d));
        }
        CaseFields {
            description: a.description.clone(),
            priority: a.priority.clone(),
            automation_state: a.automation_state.clone(),
            deprecated: a.deprecated,
            pre_conditions: a.pre_conditions.clone(),
            post_conditions: a.post_conditions.clone(),
            steps: a.steps.clone(),
            custom_fields: a.custom_fields.clone(),
        }
        .body(&cx.client, &project, &mut body)
        .await?;
        if body.is_empty() {
            return Err(ToolError::invalid(
                "nothing to change: give at least one field (title, suite_id, draft, description, priority, ...)",
            ));
        }
        let segments = vec!["test-cases".to_string(), ident];
        let current = scope::case_value(&cx.client, &project, &segments[1], &label).await?;
        let body = Value::Object(body);
        let plan = Plan {
            more: Vec::new(),
            diff: Some(diff_fields(&current, &body)),
            request: WriteRequest::new(
                WriteMethod::Patch,
                &project,
                segments,
                format!("{label} in project {project}"),
            )
            .body(body),
            summary: format!(
                "Change {} in {project}; fields not listed stay as they are.",
                current.get("key").and_then(Value::as_str).unwrap_or(&label)
            ),
            basis: Value::Null,
        };
        let control = Control {
            dry_run: a.dry_run,
            confirm: a.confirm,
            confirmation_token: a.confirmation_token.clone(),
        };
        self.write_flow(cx, "update_test_case", &arguments_of(a), control, plan)
            .await
    }
}
