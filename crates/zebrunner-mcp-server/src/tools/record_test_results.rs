//! `record_test_results`: import results into a TCM test run, either from
//! an automation launch (its tests' linked case keys, with a status
//! mapping) or from a list the caller gives. Existing results of those
//! cases are overwritten, hence destructive; the preview shows each case's
//! current and new status.

use std::collections::{BTreeMap, HashMap};

use futures::TryStreamExt as _;
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
    args,
    error::ToolError,
    output::{Format, finish, truncate},
    scope,
    write::{Change, Control, Plan, WriteOutput, arguments_of},
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

/// How a launch test status maps to a TCM result status unless overridden.
const DEFAULT_MAPPING: [(&str, &str); 4] = [
    ("PASSED", "Passed"),
    ("FAILED", "Failed"),
    ("SKIPPED", "Skipped"),
    ("ABORTED", "Blocked"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionType {
    Manual,
    Automated,
}

/// One result given by the caller.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultArg {
    /// E.g. DEMO-12.
    pub key: String,
    /// Result status name, e.g. "Passed".
    pub status: String,
    /// E.g. the failure.
    #[schemars(length(max = 10000))]
    pub details: Option<String>,
    pub execution_time_ms: Option<i64>,
}

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordTestResultsArgs {
    pub project_key: String,
    /// The TCM test run.
    pub run_id: i64,
    /// Take results from this launch.
    pub launch_id: Option<i64>,
    /// Launch status → result status; defaults PASSED→Passed, FAILED→Failed,
    /// SKIPPED→Skipped, ABORTED→Blocked; others are left out.
    #[serde(default)]
    pub status_mapping: BTreeMap<String, String>,
    /// With `launch_id`: only these case keys.
    #[serde(default)]
    pub test_case_keys: Vec<String>,
    /// With `launch_id`: messages as details.
    #[serde(default)]
    pub include_details: bool,
    /// Instead of `launch_id`.
    pub results: Option<Vec<ResultArg>>,
    /// Default AUTOMATED from a launch, MANUAL for `results`.
    pub execution_type: Option<ExecutionType>,
    /// Add cases not in the run (else they fail).
    #[serde(default)]
    pub add_missing_test_cases: bool,
    /// Only show the request.
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub confirm: bool,
    pub confirmation_token: Option<String>,
    #[serde(default)]
    pub format: Format,
}

/// One item to import.
struct Item {
    key: String,
    status: String,
    details: Option<String>,
    time_ms: Option<i64>,
}

#[tool_router(router = record_test_results_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "record_test_results",
        description = "Record results in a TCM test run, overwriting current ones: from a launch (`launch_id`, by linked case keys) or from `results`. First call previews; repeat it with `confirm: true` and the `confirmation_token` to write.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<WriteOutput>(),
        annotations(title = "Record test results", read_only_hint = false, destructive_hint = true, idempotent_hint = false, open_world_hint = false)
    )]
    pub async fn record_test_results(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<RecordTestResultsArgs>,
    ) -> Result<CallToolResult, McpError> {
        finish(
            &cx,
            args.format,
            self.record_test_results_impl(&cx, &args).await,
        )
    }

    async fn launch_items(
        &self,
        cx: &CallContext,
        project: &str,
        a: &RecordTestResultsArgs,
        launch_id: i64,
    ) -> Result<(Vec<Item>, usize), ToolError> {
        let mut mapping: HashMap<String, String> = DEFAULT_MAPPING
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (k, v) in &a.status_mapping {
            mapping.insert(k.trim().to_ascii_uppercase(), v.trim().to_string());
        }
        let mut only = Vec::new();
        for raw in &a.test_case_keys {
            only.push(args::case_key(raw)?.1);
        }
        let project_id = cx.client.project_id(project).await?;
        // The tests are asked for by launch id: the launch must be the project's.
        scope::launch(&cx.client, project_id, launch_id).await?;
        let tests: Vec<_> = cx
            .client
            .launch_tests(project_id, launch_id)
            .try_collect()
            .await?;
        let mut items: Vec<Item> = Vec::new();
        let mut unmapped = 0;
        for test in tests {
            let Some(status) = mapping.get(&test.status.to_ascii_uppercase()) else {
                unmapped += 1;
                continue;
            };
            let time_ms = match (test.start_time, test.finish_time) {
                (Some(s), Some(f)) if f >= s => Some(f - s),
                _ => None,
            };
            for case in &test.test_cases {
                let Some(key) = case.test_case_id.as_deref() else {
                    continue;
                };
                let Ok((p, key)) = args::case_key(key) else {
                    continue;
                };
                if p != project || (!only.is_empty() && !only.contains(&key)) {
                    continue;
                }
                let item = Item {
                    key: key.clone(),
                    status: status.clone(),
                    details: a
                        .include_details
                        .then(|| test.message.clone())
                        .flatten()
                        .map(|m| truncate(&m, 10_000)),
                    time_ms,
                };
                match items.iter_mut().find(|i| i.key == key) {
                    // Several tests cover one case: a failure is not hidden by a pass.
                    Some(existing) if existing.status == "Passed" => *existing = item,
                    Some(_) => {}
                    None => items.push(item),
                }
            }
        }
        Ok((items, unmapped))
    }

    async fn record_test_results_impl(
        &self,
        cx: &CallContext,
        a: &RecordTestResultsArgs,
    ) -> Result<WriteOutput, ToolError> {
        let project = scope::project(cx, &a.project_key).await?;
        let (items, unmapped, default_type) = match (a.launch_id, &a.results) {
            (Some(launch), None) => {
                let (items, unmapped) = self.launch_items(cx, &project, a, launch).await?;
                (items, unmapped, ExecutionType::Automated)
            }
            (None, Some(results)) => {
                if !a.status_mapping.is_empty() || !a.test_case_keys.is_empty() {
                    return Err(ToolError::invalid(
                        "`status_mapping` and `test_case_keys` apply to `launch_id` only",
                    ));
                }
                let mut items = Vec::new();
                for r in results {
                    let (p, key) = args::case_key(&r.key)?;
                    if p != project {
                        return Err(ToolError::invalid(format!(
                            "test case {key} is not in project {project}"
                        )));
                    }
                    if r.details
                        .as_ref()
                        .is_some_and(|d| d.chars().count() > 10_000)
                    {
                        return Err(ToolError::invalid(format!(
                            "the details of {key} are longer than 10000 characters"
                        )));
                    }
                    items.push(Item {
                        key,
                        status: r.status.trim().to_string(),
                        details: r.details.clone(),
                        time_ms: r.execution_time_ms,
                    });
                }
                (items, 0, ExecutionType::Manual)
            }
            _ => {
                return Err(ToolError::invalid(
                    "give exactly one of `launch_id` (import a launch) or `results` (a list)",
                ));
            }
        };
        if items.is_empty() {
            return Err(ToolError::invalid(
                "there is nothing to record: no results given, or no test of the launch is linked to a test case of this project (with a mapped status)",
            ));
        }
        // Statuses must be the project's; names are matched case-insensitively.
        let statuses = cx.client.result_statuses(&project).await?;
        let mut resolved = Vec::with_capacity(items.len());
        for mut item in items {
            let found = statuses
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(&item.status))
                .ok_or_else(|| {
                    ToolError::invalid(format!(
                        "result status {:?} (for {}) is not one of project {project}'s: {}",
                        item.status,
                        item.key,
                        statuses
                            .iter()
                            .map(|s| s.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
            item.status = found.name.clone();
            resolved.push(item);
        }
        let run = scope::run(&cx.client, &project, a.run_id).await?;
        if run.closed {
            return Err(ToolError::invalid(format!(
                "test run {} is closed; Zebrunner records no results in closed runs",
                a.run_id
            )));
        }
        let current: HashMap<String, String> = cx
            .client
            .test_run_cases(&project, a.run_id)
            .await?
            .into_iter()
            .filter_map(|c| {
                let key = c.test_case?.key?;
                let status = c
                    .result
                    .and_then(|r| r.status)
                    .map(|s| s.name)
                    .unwrap_or_else(|| "Untested".into());
                Some((key, status))
            })
            .collect();
        let execution_type = a.execution_type.unwrap_or(default_type);
        let diff = resolved
            .iter()
            .map(|i| {
                let before = current
                    .get(&i.key)
                    .cloned()
                    .unwrap_or_else(|| "not in run".into());
                Change {
                    field: i.key.clone(),
                    changed: before != i.status,
                    before: json!(before),
                    after: json!(i.status),
                }
            })
            .collect::<Vec<_>>();
        let body_items: Vec<Value> = resolved
            .iter()
            .map(|i| {
                let mut result =
                    json!({"status": {"name": i.status}, "executionType": execution_type});
                if let Some(t) = i.time_ms {
                    result["executionTimeInMillis"] = json!(t);
                }
                if let Some(d) = &i.details {
                    result["details"] = json!(d);
                }
                json!({"testCase": {"key": i.key}, "result": result})
            })
            .collect();
        let missing = resolved
            .iter()
            .filter(|i| !current.contains_key(&i.key))
            .count();
        let mut summary = format!(
            "Record {} results in run {} \"{}\" of {project}, overwriting current results.",
            resolved.len(),
            a.run_id,
            run.title
        );
        if missing > 0 {
            summary.push_str(&format!(
                " {missing} of these cases are not in the run{}.",
                if a.add_missing_test_cases {
                    " and will be added"
                } else {
                    "; they will fail unless `add_missing_test_cases: true`"
                }
            ));
        }
        if unmapped > 0 {
            summary.push_str(&format!(
                " {unmapped} launch tests have unmapped statuses and are left out."
            ));
        }
        let plan = Plan {
            more: Vec::new(),
            request: WriteRequest::new(
                WriteMethod::Post,
                &project,
                [
                    "test-runs".to_string(),
                    a.run_id.to_string(),
                    "test-cases:import".to_string(),
                ],
                format!("test run {} in project {project}", a.run_id),
            )
            .query("skipErrors", true)
            .query("addMissingTestCases", a.add_missing_test_cases)
            .body(json!({ "items": body_items })),
            diff: Some(diff),
            summary,
            basis: Value::Null,
        };
        let control = Control {
            dry_run: a.dry_run,
            confirm: a.confirm,
            confirmation_token: a.confirmation_token.clone(),
        };
        self.write_flow(cx, "record_test_results", &arguments_of(a), control, plan)
            .await
    }
}
