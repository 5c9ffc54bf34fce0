//! `get_launch`: one automation launch with its counts, duration,
//! environment, platform, labels, artifacts and attempts (reruns).

use rmcp::{
    ErrorData as McpError,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use zebrunner_client::{Launch, LaunchAttempt};

use super::{
    error::ToolError,
    output::{Format, ToolOutput, cell, finish},
    reporting::epoch_ms,
    scope,
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetLaunchArgs {
    pub project_key: String,
    /// Launch id (see list_launches).
    pub launch_id: i64,
    /// Include the first run and each rerun (default true).
    pub include_attempts: Option<bool>,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LaunchOutput {
    pub project_key: String,
    pub id: i64,
    pub name: String,
    pub status: String,
    pub milestone: Option<String>,
    pub build: Option<String>,
    pub environment: Option<String>,
    pub platform: Option<String>,
    pub platform_version: Option<String>,
    pub browser: Option<String>,
    pub device: Option<String>,
    pub locale: Option<String>,
    pub framework: Option<String>,
    pub started_by: Option<String>,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub duration_secs: Option<i64>,
    pub reviewed: bool,
    pub ci_job_url: Option<String>,
    pub counts: LaunchCounts,
    pub labels: Vec<KeyValue>,
    pub artifacts: Vec<KeyValue>,
    /// Present unless `include_attempts` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<Vec<AttemptItem>>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LaunchCounts {
    pub passed: i64,
    pub passed_manually: i64,
    /// Failed without a known issue.
    pub failed: i64,
    /// Failed with a known issue.
    pub known_issues: i64,
    pub skipped: i64,
    pub blocked: i64,
    pub aborted: i64,
    pub in_progress: i64,
    /// Sum of the above.
    pub total: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct KeyValue {
    pub key: String,
    pub value: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AttemptItem {
    pub id: i64,
    pub started_by: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub passed: i64,
    pub passed_manually: i64,
    pub failed: i64,
    pub known_issues: i64,
    pub skipped: i64,
    pub blocked: i64,
    pub aborted: i64,
}

impl ToolOutput for LaunchOutput {
    fn markdown(&self) -> String {
        let c = &self.counts;
        let mut md = format!("## Launch {}: {} ({})\n\n", self.id, self.name, self.status);
        let mut facts = Vec::new();
        for (label, value) in [
            ("milestone", &self.milestone),
            ("build", &self.build),
            ("environment", &self.environment),
            ("platform", &self.platform),
            ("browser", &self.browser),
            ("device", &self.device),
            ("locale", &self.locale),
            ("started by", &self.started_by),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                facts.push(format!("{label} {v}"));
            }
        }
        md.push_str(&facts.join(" · "));
        md.push_str(&format!(
            "\n\nStarted {}, ended {}, duration {}.\n",
            self.started_at.as_deref().unwrap_or("?"),
            self.ended_at.as_deref().unwrap_or("not yet"),
            self.duration_secs
                .map(|s| format!("{}m {}s", s / 60, s % 60))
                .unwrap_or_else(|| "?".into())
        ));
        md.push_str(&format!(
            "\n**{} tests:** {} passed ({} manually), {} failed, {} known issues, {} skipped, {} blocked, {} aborted, {} in progress\n",
            c.total, c.passed, c.passed_manually, c.failed, c.known_issues, c.skipped, c.blocked, c.aborted, c.in_progress
        ));
        if !self.labels.is_empty() {
            let labels: Vec<String> = self
                .labels
                .iter()
                .map(|l| format!("{}={}", l.key, l.value.as_deref().unwrap_or("")))
                .collect();
            md.push_str(&format!("\n**Labels:** {}\n", labels.join(", ")));
        }
        if !self.artifacts.is_empty() {
            let artifacts: Vec<String> = self
                .artifacts
                .iter()
                .map(|l| format!("{}: {}", l.key, l.value.as_deref().unwrap_or("")))
                .collect();
            md.push_str(&format!("\n**Artifacts:** {}\n", artifacts.join(", ")));
        }
        if let Some(attempts) = &self.attempts {
            md.push_str(&format!("\n### Attempts ({})\n", attempts.len()));
            md.push_str("| # | Started | Finished | Passed | Failed | Known | Skipped | Aborted |\n|---|---|---|---|---|---|---|---|\n");
            for (i, t) in attempts.iter().enumerate() {
                md.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                    i + 1,
                    t.started_at.as_deref().unwrap_or(""),
                    t.finished_at.as_deref().unwrap_or(""),
                    t.passed,
                    t.failed,
                    t.known_issues,
                    t.skipped,
                    t.aborted
                ));
            }
        }
        if let Some(url) = &self.ci_job_url {
            md.push_str(&format!("\nCI job: {}\n", cell(url)));
        }
        md
    }
}

fn user_name(user: Option<zebrunner_client::UserRef>) -> Option<String> {
    user.and_then(|u| u.username.or(u.email))
}

fn attempt_item(a: LaunchAttempt) -> AttemptItem {
    AttemptItem {
        id: a.id,
        started_by: user_name(a.started_by),
        started_at: a.started_at,
        finished_at: a.finished_at,
        passed: a.finish_passed,
        passed_manually: a.finish_passed_manually,
        failed: a.finish_failed,
        known_issues: a.finish_known_issue,
        skipped: a.finish_skipped,
        blocked: a.finish_blocked,
        aborted: a.finish_aborted,
    }
}

fn launch_output(project: String, l: Launch, attempts: Option<Vec<AttemptItem>>) -> LaunchOutput {
    let counts = LaunchCounts {
        total: l.passed
            + l.failed
            + l.failed_as_known
            + l.skipped
            + l.blocked
            + l.aborted
            + l.in_progress,
        passed: l.passed,
        passed_manually: l.passed_manually,
        failed: l.failed,
        known_issues: l.failed_as_known,
        skipped: l.skipped,
        blocked: l.blocked,
        aborted: l.aborted,
        in_progress: l.in_progress,
    };
    let ci = l.ci_build.unwrap_or_default();
    LaunchOutput {
        project_key: project,
        id: l.id,
        milestone: l.milestone.map(|m| m.name),
        build: l.build.or(ci.number),
        environment: l.environment,
        platform: l.platform,
        platform_version: l.platform_version,
        browser: l.browser,
        device: l.device,
        locale: l.locale,
        framework: l.framework,
        started_by: user_name(l.user),
        started_at: l.started_at.and_then(epoch_ms),
        ended_at: l.ended_at.and_then(epoch_ms),
        duration_secs: l.elapsed,
        reviewed: l.reviewed,
        ci_job_url: ci.job_url,
        counts,
        labels: l
            .labels
            .into_iter()
            .map(|x| KeyValue {
                key: x.key,
                value: x.value,
            })
            .collect(),
        artifacts: l
            .artifacts
            .into_iter()
            .map(|x| KeyValue {
                key: x.name,
                value: x.value,
            })
            .collect(),
        attempts,
        name: l.name,
        status: l.status,
    }
}

#[tool_router(router = get_launch_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "get_launch",
        description = "Get one automation launch: status, counts per status, times, milestone, build, environment, platform, browser, labels, artifacts and attempts (reruns). Its tests: list_launch_tests.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<LaunchOutput>(),
        annotations(title = "Get launch", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn get_launch(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<GetLaunchArgs>,
    ) -> Result<CallToolResult, McpError> {
        finish(&cx, args.format, self.get_launch_impl(&cx, &args).await)
    }

    async fn get_launch_impl(
        &self,
        cx: &CallContext,
        a: &GetLaunchArgs,
    ) -> Result<LaunchOutput, ToolError> {
        let client = &cx.client;
        let project = scope::project(cx, &a.project_key).await?;
        let project_id = client.project_id(&project).await?;
        let launch = scope::launch(client, project_id, a.launch_id).await?;
        let attempts = if a.include_attempts.unwrap_or(true) {
            Some(
                client
                    .launch_attempts(project_id, a.launch_id)
                    .await?
                    .into_iter()
                    .map(attempt_item)
                    .collect(),
            )
        } else {
            None
        };
        Ok(launch_output(project, launch, attempts))
    }
}
