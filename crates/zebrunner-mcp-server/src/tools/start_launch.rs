//! `start_launch`: build the CI job of a template launch again, with its
//! live job parameters (R15) and the caller's overrides (R16
//! `POST /launches/{id}/job:build` with every parameter): Zebrunner's
//! "Launch again".
//!
//! Overrides are checked against the live parameters before the preview: a
//! name the job does not have is refused with the valid names; a BOOLEAN
//! takes true or false; a HIDDEN one (set by the CI, such as the suite) is
//! shown but not overridable, as Zebrunner's launch form does not offer it.
//! The preview diffs every parameter against its current value, so the token
//! binds the parameters as they were: if the job changed, the confirm is
//! refused.

use std::collections::BTreeMap;

use futures::{StreamExt as _, TryStreamExt as _};
use rmcp::{
    ErrorData as McpError,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zebrunner_client::{JobParameter, LaunchQuery, job_build_request};

use super::{
    error::ToolError,
    output::{Format, finish},
    scope,
    write::{Control, Plan, Stage, WriteOutput, arguments_of, diff_fields},
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

/// Most launches looked at to find a template by `template_query`.
const TEMPLATE_SEARCH: usize = 50;

/// A parameter value: text, or true/false for a BOOLEAN one.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ParamValue {
    Flag(bool),
    Text(String),
}

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartLaunchArgs {
    pub project_key: String,
    /// The template launch.
    pub launch_id: Option<i64>,
    /// Else the newest launch with this in its name or build.
    pub template_query: Option<String>,
    /// Job parameter overrides by name.
    #[serde(default)]
    pub parameters: BTreeMap<String, ParamValue>,
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub confirm: bool,
    pub confirmation_token: Option<String>,
    #[serde(default)]
    pub format: Format,
}

#[tool_router(router = start_launch_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "start_launch",
        description = "Start the CI job of a template launch again (a new launch) with its live job parameters and your overrides. Preview shows every parameter; confirm with `confirm: true` and the `confirmation_token`.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<WriteOutput>(),
        annotations(title = "Start launch", read_only_hint = false, destructive_hint = true, idempotent_hint = false, open_world_hint = false)
    )]
    pub async fn start_launch(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<StartLaunchArgs>,
    ) -> Result<CallToolResult, McpError> {
        finish(&cx, args.format, self.start_launch_impl(&cx, &args).await)
    }

    async fn start_launch_impl(
        &self,
        cx: &CallContext,
        a: &StartLaunchArgs,
    ) -> Result<WriteOutput, ToolError> {
        let project = scope::project(cx, &a.project_key).await?;
        let project_id = cx.client.project_id(&project).await?;
        let (id, name) = template(cx, project_id, a).await?;
        let live = cx.client.job_parameters(project_id, id).await?;
        let body = merged(&live, &a.parameters)?;
        let current: Map<String, Value> = live
            .iter()
            .map(|p| (p.name.clone(), p.value.clone()))
            .collect();
        let hidden: Vec<&str> = live
            .iter()
            .filter(|p| p.parameter_class == "HIDDEN")
            .map(|p| p.name.as_str())
            .collect();
        let plan = Plan {
            diff: Some(diff_fields(
                &Value::Object(current),
                &Value::Object(body.clone()),
            )),
            summary: format!(
                "Start the CI job of launch {id} ({name}) in {project} again: a new launch with these parameters{}.",
                if hidden.is_empty() {
                    String::new()
                } else {
                    format!(" (hidden, sent as they are: {})", hidden.join(", "))
                }
            ),
            request: job_build_request(project_id, id, body),
            more: Vec::new(),
            basis: Value::Null,
        };
        let control = Control {
            dry_run: a.dry_run,
            confirm: a.confirm,
            confirmation_token: a.confirmation_token.clone(),
        };
        let mut out = self
            .write_flow(cx, "start_launch", &arguments_of(a), control, plan)
            .await?;
        if out.stage == Stage::Written
            && let Some(new_id) = out.result.as_ref().and_then(|r| r.get("id"))
        {
            out.next_step = format!(
                "Launch {new_id} is queued. get_launch with launch_id {new_id} follows it. The token is used up."
            );
        }
        Ok(out)
    }
}

/// The template: `launch_id` (checked to be the project's), else the newest
/// launch matching `template_query` that Zebrunner can launch again.
async fn template(
    cx: &CallContext,
    project_id: i64,
    a: &StartLaunchArgs,
) -> Result<(i64, String), ToolError> {
    let query = a
        .template_query
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty());
    match (a.launch_id, query) {
        (Some(id), None) => {
            let launch = scope::launch(&cx.client, project_id, id).await?;
            if launch.is_launch_again_possible == Some(false) {
                return Err(ToolError::invalid(format!(
                    "launch {id} cannot be launched again (no CI job started it, e.g. a Launch Launcher's); pick a launch of a CI job"
                )));
            }
            Ok((id, launch.name))
        }
        (None, Some(q)) => {
            let search = LaunchQuery {
                milestone: None,
                query: Some(q.to_string()),
            };
            // Newest first; a list may only hold the project's launches.
            let candidates = cx
                .client
                .launches(project_id, search)
                .take(TEMPLATE_SEARCH)
                .try_filter(|l| {
                    std::future::ready(
                        l.project_id == project_id && l.is_launch_again_possible != Some(false),
                    )
                });
            let found = std::pin::pin!(candidates).try_next().await?;
            found.map(|l| (l.id, l.name)).ok_or_else(|| {
                ToolError::invalid(format!(
                    "no launch matching {q:?} can be launched again; list_launches shows the project's launches"
                ))
            })
        }
        (Some(_), Some(_)) => Err(ToolError::invalid(
            "give `launch_id` or `template_query`, not both",
        )),
        (None, None) => Err(ToolError::invalid(
            "name the template: `launch_id` or `template_query`",
        )),
    }
}

/// Every live parameter with its override, or its current value (null as
/// empty text, or false for a BOOLEAN); overrides are checked first.
fn merged(
    live: &[JobParameter],
    overrides: &BTreeMap<String, ParamValue>,
) -> Result<Map<String, Value>, ToolError> {
    for (name, value) in overrides {
        let Some(p) = live.iter().find(|p| &p.name == name) else {
            return Err(ToolError::invalid(format!(
                "the job has no parameter `{name}`; its parameters are: {}",
                live.iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        match (p.parameter_class.as_str(), value) {
            ("HIDDEN", _) => {
                return Err(ToolError::invalid(format!(
                    "`{name}` is a hidden parameter the CI sets; Zebrunner's launch form does not change it, so it is sent as it is"
                )));
            }
            ("BOOLEAN", ParamValue::Text(t)) if !matches!(t.as_str(), "true" | "false") => {
                return Err(ToolError::invalid(format!(
                    "`{name}` is a BOOLEAN parameter: give true or false"
                )));
            }
            ("BOOLEAN", _) | (_, ParamValue::Text(_)) => {}
            (_, ParamValue::Flag(_)) => {
                return Err(ToolError::invalid(format!(
                    "`{name}` is a text parameter: give a string"
                )));
            }
        }
    }
    Ok(live
        .iter()
        .map(|p| {
            let boolean = p.parameter_class == "BOOLEAN";
            let value = match (overrides.get(&p.name), &p.value) {
                (Some(ParamValue::Flag(b)), _) => Value::Bool(*b),
                (Some(ParamValue::Text(t)), _) if boolean => Value::Bool(t == "true"),
                (Some(ParamValue::Text(t)), _) => Value::from(t.as_str()),
                (None, Value::Null) if boolean => Value::Bool(false),
                (None, Value::Null) => Value::from(""),
                (None, v) => v.clone(),
            };
            (p.name.clone(), value)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live() -> Vec<JobParameter> {
        [
            ("suite", "HIDDEN", json!("testng/smoke.xml")),
            ("build", "STRING", json!("1.0")),
            ("locale", "STRING", Value::Null),
            ("rerun_failures", "BOOLEAN", json!(false)),
        ]
        .into_iter()
        .map(|(name, class, value)| JobParameter {
            name: name.into(),
            parameter_class: class.into(),
            value,
        })
        .collect()
    }

    fn with(pairs: &[(&str, ParamValue)]) -> BTreeMap<String, ParamValue> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn overrides_merge_into_every_parameter() {
        let body = merged(
            &live(),
            &with(&[
                ("build", ParamValue::Text("2.0".into())),
                ("rerun_failures", ParamValue::Text("true".into())),
            ]),
        )
        .unwrap();
        assert_eq!(
            Value::Object(body),
            json!({"suite": "testng/smoke.xml", "build": "2.0", "locale": "", "rerun_failures": true})
        );
    }

    #[test]
    fn unknown_hidden_and_mistyped_overrides_are_refused() {
        let message = |pairs: &[(&str, ParamValue)]| match merged(&live(), &with(pairs)) {
            Err(e) => e.message(),
            Ok(_) => String::new(),
        };
        let m = message(&[("nope", ParamValue::Text("x".into()))]);
        assert!(m.contains("suite, build, locale, rerun_failures"), "{m}");
        let m = message(&[("suite", ParamValue::Text("x.xml".into()))]);
        assert!(m.contains("hidden"), "{m}");
        let m = message(&[("rerun_failures", ParamValue::Text("yes".into()))]);
        assert!(m.contains("true or false"), "{m}");
        let m = message(&[("build", ParamValue::Flag(true))]);
        assert!(m.contains("give a string"), "{m}");
    }
}
