//! `add_test_cases_to_run`: add test cases to a TCM test run by key, by
//! suite (the suite only, or with every descendant suite) or all of the
//! project's cases; the preview shows which keys are already in the run.

use std::collections::BTreeSet;

use futures::TryStreamExt as _;
use rmcp::{
    ErrorData as McpError,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use zebrunner_client::{Rql, TestCase, TestSuite, WriteMethod, WriteRequest, ZebrunnerClient};

use super::{
    args,
    error::ToolError,
    hierarchy::Hierarchy,
    output::{Format, finish},
    scope,
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
        let project = scope::project(cx, &a.project_key).await?;
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
        let run = scope::run(&cx.client, &project, a.run_id).await?;
        for s in &a.suites {
            scope::suite(&cx.client, &project, s.suite_id).await?;
        }
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
        let explicit_new = diff.iter().filter(|c| c.changed).count();
        // What the selector adds, resolved now as Zebrunner will: the preview
        // shows it and the token binds it, so a confirm never adds more.
        let selected = selected_cases(&cx.client, &project, a).await?;
        let adds: Vec<&String> = selected
            .iter()
            .filter(|k| !in_run.contains(*k) && !keys.contains(*k))
            .collect();
        if a.all_project_test_cases || !a.suites.is_empty() {
            let after = in_run.len() + explicit_new + adds.len();
            diff.push(Change {
                field: "cases in run".into(),
                before: json!(in_run.len()),
                after: json!(after),
                changed: after != in_run.len(),
            });
            let mut shown: Vec<Value> = adds.iter().take(SHOWN_KEYS).map(|k| json!(k)).collect();
            if adds.len() > SHOWN_KEYS {
                shown.push(json!(format!("… and {} more", adds.len() - SHOWN_KEYS)));
            }
            diff.push(Change {
                field: if a.all_project_test_cases {
                    "added: the project's cases not in the run".into()
                } else {
                    "added: the selected suites' cases not in the run".into()
                },
                before: Value::Null,
                after: Value::Array(shown),
                changed: !adds.is_empty(),
            });
        }
        let new = explicit_new + adds.len();
        let plan = Plan {
            more: Vec::new(),
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
            basis: json!({ "adds": adds }),
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

/// Keys a preview lists of the cases a selector adds (all are bound).
const SHOWN_KEYS: usize = 100;

/// Suite ids per case-list filter.
const SUITES_PER_FILTER: usize = 10;

/// The keys of the cases the selector of `a` adds (every case of the
/// project, or those of the selected suites, with their descendants where
/// asked), read now; deleted cases are never added.
async fn selected_cases(
    client: &ZebrunnerClient,
    project: &str,
    a: &AddTestCasesToRunArgs,
) -> Result<BTreeSet<String>, ToolError> {
    let mut keys = BTreeSet::new();
    let mut keep = |case: TestCase| {
        if !case.deleted && scope::key_in(project, &case.key) {
            keys.insert(case.key);
        }
    };
    if a.all_project_test_cases {
        let mut cases = std::pin::pin!(client.test_cases(project, None));
        while let Some(case) = cases.try_next().await? {
            keep(case);
        }
        return Ok(keys);
    }
    if a.suites.is_empty() {
        return Ok(keys);
    }
    // Read fresh: a suite created a moment ago is a descendant too.
    let suites: Vec<TestSuite> = client.test_suites(project).try_collect().await?;
    let hierarchy = Hierarchy::new(&suites);
    let mut ids = BTreeSet::new();
    for s in &a.suites {
        ids.insert(s.suite_id);
        if s.mode == SelectionMode::AllDescendants {
            ids.extend(hierarchy.subtree(s.suite_id));
        }
    }
    let ids: Vec<i64> = ids.into_iter().collect();
    for chunk in ids.chunks(SUITES_PER_FILTER) {
        let filter = match chunk {
            [one] => Rql::new().eq("testSuite.id", *one),
            many => Rql::new().in_("testSuite.id", many.to_vec()),
        };
        let mut cases = std::pin::pin!(client.test_cases(project, Some(filter)));
        while let Some(case) = cases.try_next().await? {
            keep(case);
        }
    }
    Ok(keys)
}
