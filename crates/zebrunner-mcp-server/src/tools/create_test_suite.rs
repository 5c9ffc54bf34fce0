//! `create_test_suite`: a new TCM suite (root or nested), previewed first,
//! written only with the preview's confirmation token.

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
    error::ToolError,
    output::{Format, finish},
    scope,
    write::{Control, Plan, WriteOutput, arguments_of},
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTestSuiteArgs {
    pub project_key: String,
    #[schemars(length(min = 1, max = 255))]
    pub title: String,
    /// Suite description.
    pub description: Option<String>,
    /// Parent suite; omit for a root suite.
    pub parent_suite_id: Option<i64>,
    /// Only show the request.
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub confirm: bool,
    pub confirmation_token: Option<String>,
    #[serde(default)]
    pub format: Format,
}

/// Check a title as Zebrunner will (1-255 characters after trimming).
pub(crate) fn title(raw: &str) -> Result<String, ToolError> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > 255 {
        return Err(ToolError::invalid(
            "`title` must be 1-255 characters (not blank)",
        ));
    }
    Ok(t.to_string())
}

#[tool_router(router = create_test_suite_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "create_test_suite",
        description = "Create a TCM test suite, at the root or under `parent_suite_id`. First call previews; repeat it with `confirm: true` and the `confirmation_token` to write.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<WriteOutput>(),
        annotations(title = "Create test suite", read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = false)
    )]
    pub async fn create_test_suite(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<CreateTestSuiteArgs>,
    ) -> Result<CallToolResult, McpError> {
        finish(
            &cx,
            args.format,
            self.create_test_suite_impl(&cx, &args).await,
        )
    }

    async fn create_test_suite_impl(
        &self,
        cx: &CallContext,
        a: &CreateTestSuiteArgs,
    ) -> Result<WriteOutput, ToolError> {
        let project = scope::project(cx, &a.project_key).await?;
        let title = title(&a.title)?;
        let mut body = json!({ "title": title });
        if let Some(d) = &a.description {
            body["description"] = json!(d);
        }
        if let Some(parent) = a.parent_suite_id {
            // The parent must exist: a typo would otherwise fail only at confirm.
            scope::suite(&cx.client, &project, parent).await?;
            body["parentSuiteId"] = json!(parent);
        }
        let plan = Plan {
            more: Vec::new(),
            request: WriteRequest::new(
                WriteMethod::Post,
                &project,
                ["test-suites"],
                format!("a new suite in project {project}"),
            )
            .body(body),
            diff: None,
            summary: match a.parent_suite_id {
                Some(p) => format!("Create suite \"{title}\" under suite {p} in {project}."),
                None => format!("Create root suite \"{title}\" in {project}."),
            },
            basis: Value::Null,
        };
        let control = Control {
            dry_run: a.dry_run,
            confirm: a.confirm,
            confirmation_token: a.confirmation_token.clone(),
        };
        self.write_flow(cx, "create_test_suite", &arguments_of(a), control, plan)
            .await
    }
}
