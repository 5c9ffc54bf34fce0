//! `create_test_case`: a new TCM test case in a suite, as a draft unless
//! `draft: false` is given; previewed first, written only with the token.

use std::collections::BTreeMap;

use rmcp::{
    ErrorData as McpError,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use zebrunner_client::{WriteMethod, WriteRequest, ZebrunnerClient};

use super::{
    args::NameOrId,
    case_settings::{self, Setting},
    create_test_suite::title,
    error::ToolError,
    output::{Format, finish},
    scope,
    write::{Control, Plan, WriteOutput, arguments_of},
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

/// One step of a test case.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepArg {
    /// What to do.
    pub action: String,
    /// What should happen.
    #[serde(default)]
    pub expected_result: String,
}

/// The fields a case write may set; shared by create and update.
#[derive(Debug, Default)]
pub struct CaseFields {
    /// Up to 5000 characters.
    pub description: Option<String>,
    /// Name (see get_project_settings) or id.
    pub priority: Option<NameOrId>,
    /// Name (e.g. "Automated") or id.
    pub automation_state: Option<NameOrId>,
    pub deprecated: Option<bool>,
    /// Up to 2000 characters.
    pub pre_conditions: Option<String>,
    /// Up to 2000 characters.
    pub post_conditions: Option<String>,
    /// In order; on update they replace all.
    pub steps: Option<Vec<StepArg>>,
    /// By system name; on update merged.
    pub custom_fields: Option<BTreeMap<String, Value>>,
}

impl CaseFields {
    /// The Zebrunner body fields these arguments set, with priority,
    /// automation state and custom fields checked against the project's
    /// settings (so the preview refuses what the confirm would send in vain).
    pub(crate) async fn body(
        &self,
        client: &ZebrunnerClient,
        project: &str,
        body: &mut Map<String, Value>,
    ) -> Result<(), ToolError> {
        let long = |name: &str, text: &Option<String>, max: usize| match text {
            Some(t) if t.chars().count() > max => Err(ToolError::invalid(format!(
                "`{name}` is longer than {max} characters"
            ))),
            _ => Ok(()),
        };
        long("description", &self.description, 5000)?;
        long("pre_conditions", &self.pre_conditions, 2000)?;
        long("post_conditions", &self.post_conditions, 2000)?;
        if let Some(p) = &self.priority {
            let value = case_settings::reference(client, project, Setting::Priority, p).await?;
            body.insert("priority".into(), value);
        }
        if let Some(s) = &self.automation_state {
            let value =
                case_settings::reference(client, project, Setting::AutomationState, s).await?;
            body.insert("automationState".into(), value);
        }
        if let Some(fields) = &self.custom_fields {
            let value = case_settings::custom_fields(client, project, fields).await?;
            body.insert("customField".into(), value);
        }
        let mut set = |k: &str, v: Value| {
            body.insert(k.to_string(), v);
        };
        if let Some(d) = &self.description {
            set("description", json!(d));
        }
        if let Some(d) = self.deprecated {
            set("deprecated", json!(d));
        }
        if let Some(p) = &self.pre_conditions {
            set("preConditions", json!(p));
        }
        if let Some(p) = &self.post_conditions {
            set("postConditions", json!(p));
        }
        if let Some(steps) = &self.steps {
            set(
                "steps",
                Value::Array(
                    steps
                        .iter()
                        .map(|s| json!({"action": s.action, "expectedResult": s.expected_result}))
                        .collect(),
                ),
            );
        }
        Ok(())
    }
}

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTestCaseArgs {
    pub project_key: String,
    /// Suite of the case (see list_test_suites).
    pub suite_id: i64,
    #[schemars(length(min = 1, max = 255))]
    pub title: String,
    /// Create as a draft (default true).
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

#[tool_router(router = create_test_case_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "create_test_case",
        description = "Create a TCM test case in a suite; a draft unless `draft: false`. First call previews; repeat it with `confirm: true` and the `confirmation_token` to write.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<WriteOutput>(),
        annotations(title = "Create test case", read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = false)
    )]
    pub async fn create_test_case(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<CreateTestCaseArgs>,
    ) -> Result<CallToolResult, McpError> {
        finish(
            &cx,
            args.format,
            self.create_test_case_impl(&cx, &args).await,
        )
    }

    async fn create_test_case_impl(
        &self,
        cx: &CallContext,
        a: &CreateTestCaseArgs,
    ) -> Result<WriteOutput, ToolError> {
        let project = scope::project(cx, &a.project_key).await?;
        let title = title(&a.title)?;
        // The suite must exist: a typo would otherwise fail only at confirm.
        scope::suite(&cx.client, &project, a.suite_id).await?;
        let mut body = Map::new();
        body.insert("testSuite".into(), json!({ "id": a.suite_id }));
        body.insert("title".into(), json!(title));
        body.insert("draft".into(), json!(a.draft.unwrap_or(true)));
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
        let plan = Plan {
            more: Vec::new(),
            request: WriteRequest::new(
                WriteMethod::Post,
                &project,
                ["test-cases"],
                format!("a new test case in project {project}"),
            )
            .body(Value::Object(body)),
            diff: None,
            summary: format!(
                "Create test case \"{title}\" in suite {} of {project}{}.",
                a.suite_id,
                if a.draft.unwrap_or(true) {
                    " as a draft"
                } else {
                    ""
                }
            ),
            basis: Value::Null,
        };
        let control = Control {
            dry_run: a.dry_run,
            confirm: a.confirm,
            confirmation_token: a.confirmation_token.clone(),
        };
        self.write_flow(cx, "create_test_case", &arguments_of(a), control, plan)
            .await
    }
}
