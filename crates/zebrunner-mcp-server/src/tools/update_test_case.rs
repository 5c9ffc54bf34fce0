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
    /// Test case key, e.g. DEMO-12 (or give `project_key` and `id`).
    pub key: Option<String>,
    /// Project key, needed with `id`.
    pub project_key: Option<String>,
    /// Numeric test case id (instead of `key`).
    pub id: Option<i64>,
    /// New title.
    pub title: Option<String>,
    /// Move the case to this suite.
    pub suite_id: Option<i64>,
    /// Draft flag.
    pub draft: Option<bool>,
    /// Description (up to 5000 characters).
    pub description: Option<String>,
    /// Priority by name (e.g. "High") or id (see get_project_settings).
    pub priority: Option<NameOrId>,
    /// Automation state by name (e.g. "Automated") or id.
    pub automation_state: Option<NameOrId>,
    pub deprecated: Option<bool>,
    /// Pre-conditions (up to 2000 characters).
    pub pre_conditions: Option<String>,
    /// Post-conditions (up to 2000 characters).
    pub post_conditions: Option<String>,
    /// Steps, in order; on update they replace all current steps.
    pub steps: Option<Vec<StepArg>>,
    /// Custom fields by system name; on update merged into the current ones.
    pub custom_fields: Option<BTreeMap<String, Value>>,
    /// Only show the request; no token, nothing written.
    #[serde(default)]
    pub dry_run: bool,
    /// true to perform the write previewed earlier, with `confirmation_token`.
    #[serde(default)]
    pub confirm: bool,
    /// The token of the preview (with `confirm: true`).
    pub confirmation_token: Option<String>,
    /// Output format of the text content.
    #[serde(default)]
    pub format: Format,
}

#[tool_router(router = update_test_case_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "update_test_case",
        description = "Change a TCM test case by `key` (DEMO-12) or `project_key` + `id`: only the given fields change (title, suite, draft, description, priority, automation state, conditions, steps (replace all), custom fields (merged)). The first call returns a preview (exact PATCH and a field-by-field diff against the current case) and a single-use `confirmation_token`; a second call with the same arguments plus `confirm: true` and the token writes. `dry_run: true` only shows the request.",
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
        .body(&mut body)?;
        if body.is_empty() {
            return Err(ToolError::invalid(
                "nothing to change: give at least one field (title, suite_id, draft, description, priority, ...)",
            ));
        }
        let segments = vec!["test-cases".to_string(), ident];
        let current = scope::case_value(&cx.client, &project, &segments[1], &label).await?;
        let body = Value::Object(body);
        let plan = Plan {
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
