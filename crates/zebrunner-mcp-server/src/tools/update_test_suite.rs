//! `update_test_suite`: change a suite's title, description or parent.
//! Zebrunner replaces the whole suite (PUT); fields not given keep their
//! current values, read first, so nothing is cleared by omission.

use rmcp::{
    ErrorData as McpError,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use zebrunner_client::{WriteMethod, WriteRequest};

use super::{
    create_test_suite::title,
    error::ToolError,
    output::{Format, finish},
    scope,
    write::{Control, Plan, WriteOutput, arguments_of, diff_fields},
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTestSuiteArgs {
    pub project_key: String,
    /// The suite to change.
    pub suite_id: i64,
    pub title: Option<String>,
    /// New description ("" clears it).
    pub description: Option<String>,
    /// Move under this suite.
    pub parent_suite_id: Option<i64>,
    /// true: move to the root (not with `parent_suite_id`).
    #[serde(default)]
    pub move_to_root: bool,
    /// Only show the request.
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub confirm: bool,
    pub confirmation_token: Option<String>,
    #[serde(default)]
    pub format: Format,
}

#[tool_router(router = update_test_suite_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "update_test_suite",
        description = "Change a TCM test suite's title, description or parent; fields not given keep their values. First call previews; repeat it with `confirm: true` and the `confirmation_token` to write.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<WriteOutput>(),
        annotations(title = "Update test suite", read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn update_test_suite(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<UpdateTestSuiteArgs>,
    ) -> Result<CallToolResult, McpError> {
        finish(
            &cx,
            args.format,
            self.update_test_suite_impl(&cx, &args).await,
        )
    }

    async fn update_test_suite_impl(
        &self,
        cx: &CallContext,
        a: &UpdateTestSuiteArgs,
    ) -> Result<WriteOutput, ToolError> {
        let project = scope::project(cx, &a.project_key).await?;
        if a.move_to_root && a.parent_suite_id.is_some() {
            return Err(ToolError::invalid(
                "give either `parent_suite_id` or `move_to_root`, not both",
            ));
        }
        if a.parent_suite_id == Some(a.suite_id) {
            return Err(ToolError::invalid("a suite cannot be its own parent"));
        }
        let segments = vec!["test-suites".to_string(), a.suite_id.to_string()];
        let current = scope::suite_value(&cx.client, &project, a.suite_id).await?;
        let title = match &a.title {
            Some(t) => title(t)?,
            None => current
                .get("title")
                .or_else(|| current.get("name"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        };
        let description = match &a.description {
            Some(d) => json!(d),
            None => current.get("description").cloned().unwrap_or(Value::Null),
        };
        let parent = if a.move_to_root {
            Value::Null
        } else if let Some(p) = a.parent_suite_id {
            scope::suite(&cx.client, &project, p).await?;
            json!(p)
        } else {
            current.get("parentSuiteId").cloned().unwrap_or(Value::Null)
        };
        let body = json!({ "title": title, "description": description, "parentSuiteId": parent });
        let plan = Plan {
            more: Vec::new(),
            diff: Some(diff_fields(&current, &body)),
            request: WriteRequest::new(
                WriteMethod::Put,
                &project,
                segments,
                format!("test suite {} in project {project}", a.suite_id),
            )
            .body(body),
            summary: format!(
                "Replace suite {} in {project} (full replacement; unchanged fields are sent as they are).",
                a.suite_id
            ),
            basis: Value::Null,
        };
        let control = Control {
            dry_run: a.dry_run,
            confirm: a.confirm,
            confirmation_token: a.confirmation_token.clone(),
        };
        self.write_flow(cx, "update_test_suite", &arguments_of(a), control, plan)
            .await
    }
}
