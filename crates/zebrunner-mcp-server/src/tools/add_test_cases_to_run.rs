//! `add_test_cases_to_run`: add test cases to a TCM test run by key, by
//! suite (the suite only, or with every descendant suite) or all of the
//! project's cases; the preview shows which keys are already in the run.

use std::collections::BTreeSet;

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
    args,
    error::ToolError,
    output::{Format, finish},
    write::{Change, Control, Plan, WriteOutput, arguments_of},
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

/// Which cases of a suite are added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SelectionMode {
    /// The suite's own cases only.
    Immediate,
    /// The suite's cases and those of every suite below it (default).
    #[default]
    AllDescendants,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SuiteSelection {
    pub suite_id: i64,
    #[serde(default)]
    pub mode: SelectionMode,
}

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddTestCasesToRunArgs {
    pub project_key: String,
    /// The run (see list_test_runs).
    pub run_id: i64,
    /// Case keys, e.g. DEMO-7.
    #[serde(default)]
    pub test_case_keys: Vec<String>,
    /// Suites; mode IMMEDIATE: without sub-suites.
    #[serde(default)]
    pub suites: Vec<SuiteSelection>,
    /// Add every test case of the project.
    #[serde(default)]
    pub all_project_test_cases: bool,
    /// Only show the request.
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub confirm: bool,
    pub confirmation_token: Option<String>,
    #[serde(default)]
    pub format: Format,
}

#[tool_router(router = add_test_cases_to_run_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "add_test_cases_to_run",
        description = "Add test cases to an open TCM test run by `test_case_keys`, `suites` or `all_project_test_cases`; cases already in stay. First call previews; repeat it with `confirm: true` and the `confirmation_token` to write.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<WriteOutput>(),
        annotations(title = "Add test cases to run", read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = false)
    )]
    pub async fn add_test_cases_to_run(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<AddTestCasesToRunArgs>,
    ) -> Result<CallToolResult, McpError> {
        finish(
            &cx,
            args.format,
            self.add_test_cases_to_run_impl(&cx, &args).await,
        )
    }

    async fn add_test_cases_to_run_impl(
        &self,
        cx: &CallContext,
        a: &AddTestCasesToRunArgs,
    ) -> Result<WriteOutput, ToolError> {
        let project = cx.allowed_project(&a.project_key)?;
        if a.test_case_keys.is_empty() && a.suites.is_empty() && !a.all_project_test_cases {
            return Err(ToolError::invalid(
                "say which cases to add: `test_case_keys`, `suites` or `all_project_test_cases: true`",
            ));
        }
        let mut keys = Vec::new();
        for raw in &a.test_case_keys {
            let (p, key) = args::case_key(raw)?;
            if p != project {
                return Err(ToolError::invalid(format!(
                    "test case {key} is not in project {project}"
                )));
            }
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        let run = cx.client.test_run(&project, a.run_id).await?;
        if run.closed {
            return Err(ToolError::invalid(format!(
                "test run {} is closed; Zebrunner adds no cases to closed runs",
                a.run_id
            )));
        }
        let in_run: BTreeSet<String> = cx
            .client
            .test_run_cases(&project, a.run_id)
            .await?
            .into_iter()
            .filter_map(|c| c.test_case.and_then(|t| t.key))
            .collect();
        let mut body = Map::new();
        if !keys.is_empty() {
            body.insert(
                "items".into(),
                Value::Array(keys.iter().map(|k| json!({ "key": k })).collect()),
            );
        }
        let mut selector = Map::new();
        if a.all_project_test_cases {
            selector.insert("allProjectTestCases".into(), json!(true));
        }
        if !a.suites.is_empty() {
            selector.insert(
                "testSuites".into(),
                Value::Array(
                    a.suites
                        .iter()
                        .map(|s| json!({"id": s.suite_id, "selectionMode": s.mode}))
                        .collect(),
                ),
            );
        }
        if !selector.is_empty() {
            body.insert("selector".into(), Value::Object(selector));
        }
        let mut diff: Vec<Change> = keys
            .iter()
            .map(|k| {
                let there = in_run.contains(k);
                Change {
                    field: k.clone(),
                    before: json!(if there { "in run" } else { "not in run" }),
                    after: json!("in run"),
                    changed: !there,
                }
            })
            .collect();
        if a.all_project_test_cases || !a.suites.is_empty() {
            diff.push(Change {
                field: "cases in run".into(),
                before: json!(in_run.len()),
                after: json!(if a.all_project_test_cases {
                    "plus every case of the project not yet in the run"
                } else {
                    "plus the selected suites' cases not yet in the run"
                }),
                changed: true,
            });
        }
        let new = diff.iter().filter(|c| c.changed).count();
        let plan = Plan {
            request: WriteRequest::new(
                WriteMethod::Post,
                &project,
                [
                    "test-runs".to_string(),
                    a.run_id.to_string(),
                    "test-cases".to_string(),
                ],
                format!("test run {} in project {project}", a.run_id),
            )
            .body(Value::Object(body)),
            diff: Some(diff),
            summary: format!(
                "Add test cases to run {} \"{}\" in {project} ({} cases in it now; {new} of the selection are new).",
                a.run_id,
                run.title,
                in_run.len()
            ),
        };
        let control = Control {
            dry_run: a.dry_run,
            confirm: a.confirm,
            confirmation_token: a.confirmation_token.clone(),
        };
        self.write_flow(cx, "add_test_cases_to_run", &arguments_of(a), control, plan)
            .await
    }
}
