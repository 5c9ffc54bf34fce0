//! `rerun_launch_failures`: rerun the failed and aborted tests of one launch,
//! or of the eligible launches of a milestone and/or a name/build query
//! (R14 `POST /launches/{id}:rerun?rerunFailures=true`, one per launch).
//!
//! A launch is eligible when it has finished, Zebrunner does not say it
//! cannot be relaunched (`isRelaunchPossible` false), and it has at least
//! `min_failed` failed and aborted tests. The preview has one diff row per
//! launch considered: those to rerun (changed) and those skipped with the
//! reason. The batch is one [`Plan`] with one request per launch
//! ([`Plan::more`]), so the token binds exactly the previewed set and each
//! launch's state: if any changed, the confirm is refused.

use futures::TryStreamExt as _;
use rmcp::{
    ErrorData as McpError,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use zebrunner_client::{LaunchQuery, RERUN_PERMISSION, WriteRequest, rerun_failures_request};

use super::{
    args::NameOrId,
    error::ToolError,
    output::{Format, finish},
    reporting, scope,
    write::{Change, Control, Plan, WriteOutput, arguments_of},
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

/// Most launches one call reruns.
const MAX_LAUNCHES: u32 = 50;
/// Most launches a batch looks at to find the eligible ones.
const SCAN_CAP: usize = 500;

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RerunLaunchFailuresArgs {
    pub project_key: String,
    /// One launch; or a batch by milestone and/or query.
    pub launch_id: Option<i64>,
    /// Milestone name or id.
    pub milestone: Option<NameOrId>,
    /// In the launch name or build.
    pub query: Option<String>,
    /// Batch size (default 10).
    #[schemars(range(min = 1, max = 50))]
    pub max_launches: Option<u32>,
    /// Least failed+aborted tests (default 1).
    pub min_failed: Option<u32>,
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub confirm: bool,
    pub confirmation_token: Option<String>,
    #[serde(default)]
    pub format: Format,
}

/// What the rerun decision needs of a launch, from the list (R5) or R6.
struct Candidate {
    id: i64,
    name: String,
    build: Option<String>,
    status: String,
    relaunch_possible: Option<bool>,
    failures: i64,
}

impl Candidate {
    /// Why this launch is not rerun, or `None` when it is eligible.
    fn skip_reason(&self, min_failed: i64) -> Option<String> {
        if matches!(
            self.status.as_str(),
            "IN_PROGRESS" | "RUNNING" | "QUEUED" | "PENDING"
        ) {
            Some(format!("not finished ({})", self.status))
        } else if self.relaunch_possible == Some(false) {
            Some("Zebrunner says it cannot be relaunched".into())
        } else if self.failures < min_failed {
            Some(format!(
                "{} failed/aborted, fewer than min_failed {min_failed}",
                self.failures
            ))
        } else {
            None
        }
    }

    /// The launch as a diff's current value.
    fn before(&self) -> Value {
        Value::from(format!(
            "{} {}, {}, {} failed/aborted",
            self.name,
            self.build.as_deref().unwrap_or("-"),
            self.status,
            self.failures
        ))
    }
}

#[tool_router(router = rerun_launch_failures_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "rerun_launch_failures",
        description = "Rerun failed/aborted tests of a launch, or of the eligible launches (finished, relaunchable, >= min_failed) of a milestone and/or query. Preview lists them and the skipped; confirm with `confirm: true` and the `confirmation_token`. Needs the IAM permission reporting:test-runs:rerun.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<WriteOutput>(),
        annotations(title = "Rerun launch failures", read_only_hint = false, destructive_hint = true, idempotent_hint = false, open_world_hint = false)
    )]
    pub async fn rerun_launch_failures(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<RerunLaunchFailuresArgs>,
    ) -> Result<CallToolResult, McpError> {
        finish(&cx, args.format, self.rerun_impl(&cx, &args).await)
    }

    async fn rerun_impl(
        &self,
        cx: &CallContext,
        a: &RerunLaunchFailuresArgs,
    ) -> Result<WriteOutput, ToolError> {
        let project = scope::project(cx, &a.project_key).await?;
        let project_id = cx.client.project_id(&project).await?;
        let min_failed = i64::from(a.min_failed.unwrap_or(1));
        let batch =
            a.milestone.is_some() || a.query.as_deref().is_some_and(|q| !q.trim().is_empty());
        let (to_rerun, skipped, looked_at) = match (a.launch_id, batch) {
            (Some(id), false) => {
                let launch = scope::launch(&cx.client, project_id, id).await?;
                let one = Candidate {
                    id,
                    failures: launch.failed + launch.failed_as_known + launch.aborted,
                    name: launch.name,
                    build: launch.build,
                    status: launch.status,
                    relaunch_possible: launch.is_relaunch_possible,
                };
                if let Some(reason) = one.skip_reason(min_failed) {
                    return Err(ToolError::invalid(format!(
                        "launch {id} is not rerun: {reason}"
                    )));
                }
                (vec![one], Vec::new(), 1)
            }
            (None, true) => {
                self.eligible(cx, &project, project_id, a, min_failed)
                    .await?
            }
            (Some(_), true) => {
                return Err(ToolError::invalid(
                    "give `launch_id` or `milestone`/`query`, not both",
                ));
            }
            (None, false) => {
                return Err(ToolError::invalid(
                    "name the launches: `launch_id`, or `milestone` and/or `query` (list_launches shows them)",
                ));
            }
        };
        let mut requests = to_rerun
            .iter()
            .map(|c| rerun_failures_request(project_id, c.id));
        let Some(request) = requests.next() else {
            return Err(ToolError::invalid(format!(
                "no launch qualifies for a rerun ({} looked at: {})",
                skipped.len(),
                skipped
                    .iter()
                    .map(|(c, why)| format!("{} {why}", c.id))
                    .collect::<Vec<_>>()
                    .join("; ")
            )));
        };
        let more: Vec<WriteRequest> = requests.collect();
        let diff = to_rerun
            .iter()
            .map(|c| Change {
                field: format!("launch {}", c.id),
                before: c.before(),
                after: Value::from("rerun failures"),
                changed: true,
            })
            .chain(skipped.iter().map(|(c, why)| Change {
                field: format!("launch {}", c.id),
                before: c.before(),
                after: Value::from(format!("skipped: {why}")),
                changed: false,
            }))
            .collect();
        let plan = Plan {
            summary: format!(
                "Rerun the failed and aborted tests of {} launch(es) in {project} (one POST each; the first is shown), skipping {} of the {looked_at} newest matching launches looked at.",
                to_rerun.len(),
                skipped.len()
            ),
            request,
            more,
            diff: Some(diff),
            basis: Value::Null,
        };
        let control = Control {
            dry_run: a.dry_run,
            confirm: a.confirm,
            confirmation_token: a.confirmation_token.clone(),
        };
        self.write_flow(cx, "rerun_launch_failures", &arguments_of(a), control, plan)
            .await
            .map_err(permission_refusal)
    }

    /// The batch: launches of the milestone and/or query, newest first,
    /// until `max_launches` are eligible; the others looked at are skipped.
    /// Also how many were looked at.
    async fn eligible(
        &self,
        cx: &CallContext,
        project: &str,
        project_id: i64,
        a: &RerunLaunchFailuresArgs,
        min_failed: i64,
    ) -> Result<(Vec<Candidate>, Vec<(Candidate, String)>, usize), ToolError> {
        let max = a.max_launches.unwrap_or(10);
        if !(1..=MAX_LAUNCHES).contains(&max) {
            return Err(ToolError::invalid(format!(
                "`max_launches` must be between 1 and {MAX_LAUNCHES}, got {max}"
            )));
        }
        let milestone = match &a.milestone {
            Some(m) => Some(
                reporting::resolve_milestone(&cx.client, project, project_id, m)
                    .await?
                    .name,
            ),
            None => None,
        };
        let query = LaunchQuery {
            milestone,
            query: a
                .query
                .as_deref()
                .map(str::trim)
                .filter(|q| !q.is_empty())
                .map(String::from),
        };
        let mut launches = std::pin::pin!(cx.client.launches(project_id, query));
        let (mut eligible, mut skipped) = (Vec::new(), Vec::new());
        let mut seen = 0;
        while eligible.len() < max as usize && seen < SCAN_CAP {
            let Some(l) = launches.try_next().await? else {
                break;
            };
            seen += 1;
            // A list may only hold the project's launches; any other is left out.
            if l.project_id != project_id {
                continue;
            }
            let c = Candidate {
                id: l.id,
                failures: l.failed + l.aborted,
                name: l.name,
                build: l.build_number,
                status: l.status,
                relaunch_possible: l.is_relaunch_possible,
            };
            match c.skip_reason(min_failed) {
                Some(why) => skipped.push((c, why)),
                None => eligible.push(c),
            }
        }
        Ok((eligible, skipped, seen))
    }
}

/// A 403 on the rerun itself is the missing IAM permission (the project was
/// readable for the preview): say which, and what to do.
fn permission_refusal(error: ToolError) -> ToolError {
    match error {
        ToolError::Zebrunner(zebrunner_client::Error::Forbidden {
            login,
            method,
            path,
            ..
        }) => ToolError::Denied(format!(
            "Zebrunner refused the rerun (HTTP 403 on {method} {path}): {login} lacks the IAM permission `{RERUN_PERMISSION}`, so nothing was rerun. Once a Zebrunner admin grants it, confirm again with the same token (it still holds)"
        )),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launch(status: &str, possible: Option<bool>, failures: i64) -> Candidate {
        Candidate {
            id: 1,
            name: "Smoke".into(),
            build: None,
            status: status.into(),
            relaunch_possible: possible,
            failures,
        }
    }

    #[test]
    fn eligibility_is_finished_relaunchable_and_enough_failures() {
        assert_eq!(launch("FAILED", None, 2).skip_reason(1), None);
        assert_eq!(launch("ABORTED", Some(true), 1).skip_reason(1), None);
        assert!(
            launch("IN_PROGRESS", None, 3)
                .skip_reason(1)
                .unwrap()
                .contains("not finished")
        );
        assert!(
            launch("FAILED", Some(false), 3)
                .skip_reason(1)
                .unwrap()
                .contains("cannot be relaunched")
        );
        assert!(
            launch("PASSED", None, 0)
                .skip_reason(1)
                .unwrap()
                .contains("fewer than min_failed 1")
        );
        assert_eq!(launch("PASSED", None, 0).skip_reason(0), None);
    }
}
