//! `create_test_run`: a new, empty TCM test run (title, description,
//! milestone, environment, configurations); previewed first, written only
//! with the token. Cases are added with add_test_cases_to_run.

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
    create_test_suite::title,
    error::ToolError,
    output::{Format, finish},
    reporting, scope,
    write::{Control, Plan, WriteOutput, arguments_of, reference},
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

/// One configuration of a run, e.g. group "Browser", option "Chrome".
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigurationArg {
    /// Group name or id.
    pub group: NameOrId,
    /// Option name or id.
    pub option: NameOrId,
}

/// The run fields shared by create and update.
#[derive(Debug, Default)]
pub struct RunFields<'a> {
    pub description: Option<&'a String>,
    pub milestone: Option<&'a NameOrId>,
    pub environment: Option<&'a String>,
    pub configurations: Option<&'a Vec<ConfigurationArg>>,
}

impl RunFields<'_> {
    pub(crate) fn body(&self, body: &mut Map<String, Value>) -> Result<(), ToolError> {
        if let Some(d) = self.description {
            if d.chars().count() > 10_000 {
                return Err(ToolError::invalid(
                    "`description` is longer than 10000 characters",
                ));
            }
            body.insert("description".into(), json!(d));
        }
        if let Some(m) = self.milestone {
            body.insert("milestone".into(), reference(m));
        }
        if let Some(e) = self.environment {
            body.insert("environment".into(), json!({ "key": e.trim() }));
        }
        if let Some(c) = self.configurations {
            if c.len() > 100 {
                return Err(ToolError::invalid("at most 100 `configurations`"));
            }
            body.insert(
                "configurations".into(),
                Value::Array(
                    c.iter()
                        .map(|c| json!({"group": reference(&c.group), "option": reference(&c.option)}))
                        .collect(),
                ),
            );
        }
        Ok(())
    }
}

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTestRunArgs {
    pub project_key: String,
    #[schemars(length(min = 1, max = 255))]
    pub title: String,
    #[schemars(length(max = 10000))]
    pub description: Option<String>,
    /// Milestone name or id.
    pub milestone: Option<NameOrId>,
    /// Environment key.
    pub environment: Option<String>,
    /// E.g. [{"group": "Browser", "option": "Chrome"}].
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

#[tool_router(router = create_test_run_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "create_test_run",
        description = "Create an empty TCM test run; add cases with add_test_cases_to_run. First call previews; repeat it with `confirm: true` and the `confirmation_token` to write.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<WriteOutput>(),
        annotations(title = "Create test run", read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = false)
    )]
    pub async fn create_test_run(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<CreateTestRunArgs>,
    ) -> Result<CallToolResult, McpError> {
        finish(
            &cx,
            args.format,
            self.create_test_run_impl(&cx, &args).await,
        )
    }

    async fn create_test_run_impl(
        &self,
        cx: &CallContext,
        a: &CreateTestRunArgs,
    ) -> Result<WriteOutput, ToolError> {
        let project = scope::project(cx, &a.project_key).await?;
        let title = title(&a.title)?;
        if let Some(milestone) = &a.milestone {
            // The milestone must be the project's (names and ids alike).
            let project_id = cx.client.project_id(&project).await?;
            reporting::resolve_milestone(&cx.client, &project, project_id, milestone).await?;
        }
        let mut body = Map::new();
        body.insert("title".into(), json!(title));
        RunFields {
            description: a.description.as_ref(),
            milestone: a.milestone.as_ref(),
            environment: a.environment.as_ref(),
            configurations: a.configurations.as_ref(),
        }
        .body(&mut body)?;
        let plan = Plan {
            more: Vec::new(),
            request: WriteRequest::new(
                WriteMethod::Post,
                &project,
                ["test-runs"],
                format!("a new test run in project {project}"),
            )
            .body(Value::Object(body)),
            diff: None,
            summary: format!("Create test run \"{title}\" in {project} (no test cases yet)."),
            basis: Value::Null,
        };
        let control = Control {
            dry_run: a.dry_run,
            confirm: a.confirm,
            confirmation_token: a.confirmation_token.clone(),
        };
        self.write_flow(cx, "create_test_run", &arguments_of(a), control, plan)
            .await
    }
}
