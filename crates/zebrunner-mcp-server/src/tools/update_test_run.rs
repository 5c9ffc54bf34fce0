//! `update_test_run`: change the given fields of an open TCM test run
//! (PATCH; configurations replace all); the preview diffs them against the
//! current run.

use rmcp::{
    ErrorData as McpError,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use zebrunner_client::{WriteMethod, WriteRequest};

use super::{
    args::NameOrId,
    create_test_run::{ConfigurationArg, RunFields},
    create_test_suite::title,
    error::ToolError,
    output::{Format, finish},
    reporting, scope,
    write::{Control, Plan, WriteOutput, arguments_of, diff_fields},
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTestRunArgs {
    pub project_key: String,
    /// The run to change (see list_test_runs).
    pub run_id: i64,
    pub title: Option<String>,
    pub description: Option<String>,
    /// Milestone name or id.
    pub milestone: Option<NameOrId>,
    /// Environment key.
    pub environment: Option<String>,
    /// Replace all configurations.
    pub configurations: Option<Vec<ConfigurationArg>>,
    /// Only show the request.
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub confirm: bool,
    pub confirmation_token: Option<String>,
    #[serde(default)]
    pub format: Format,
}

#[tool_router(router = update_test_run_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "update_test_run",
        description = "Change only the given fields of an open TCM test run; configurations replace all. First call previews; repeat it with `confirm: true` and the `confirmation_token` to write.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<WriteOutput>(),
        annotations(title = "Update test run", read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn update_test_run(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<UpdateTestRunArgs>,
    ) -> Result<CallToolResult, McpError> {
        finish(
            &cx,
            args.format,
            self.update_test_run_impl(&cx, &args).await,
        )
    }

    async fn update_test_run_impl(
        &self,
        cx: &CallContext,
        a: &UpdateTestRunArgs,
    ) -> Result<WriteOutput, ToolError> {
        let project = scope::project(cx, &a.project_key).await?;
        let mut body = Map::new();
        if let Some(t) = &a.title {
            body.insert("title".into(), json!(title(t)?));
        }
        RunFields {
            description: a.description.as_ref(),
            milestone: a.milestone.as_ref(),
            environment: a.environment.as_ref(),
            configurations: a.configurations.as_ref(),
        }
        .body(&mut body)?;
        if body.is_empty() {
            return Err(ToolError::invalid(
                "nothing to change: give at least one of title, description, milestone, environment, configurations",
            ));
        }
        let segments = vec!["test-runs".to_string(), a.run_id.to_string()];
        let what = format!("test run {} in project {project}", a.run_id);
        let current = scope::run_value(&cx.client, &project, a.run_id).await?;
        if let Some(milestone) = &a.milestone {
            // The milestone must be the project's (names and ids alike).
            let project_id = cx.client.project_id(&project).await?;
            reporting::resolve_milestone(&cx.client, &project, project_id, milestone).await?;
        }
        if current.get("closed").and_then(Value::as_bool) == Some(true) {
            return Err(ToolError::invalid(format!(
                "test run {} is closed; Zebrunner does not change closed runs (reopen it in Zebrunner first)",
                a.run_id
            )));
        }
        let body = Value::Object(body);
        let plan = Plan {
            more: Vec::new(),
            diff: Some(diff_fields(&current, &body)),
            request: WriteRequest::new(WriteMethod::Patch, &project, segments, what).body(body),
            summary: format!(
                "Change test run {} in {project}; fields not listed stay as they are.",
                a.run_id
            ),
            basis: Value::Null,
        };
        let control = Control {
            dry_run: a.dry_run,
            confirm: a.confirm,
            confirmation_token: a.confirmation_token.clone(),
        };
        self.write_flow(cx, "update_test_run", &arguments_of(a), control, plan)
            .await
    }
}
