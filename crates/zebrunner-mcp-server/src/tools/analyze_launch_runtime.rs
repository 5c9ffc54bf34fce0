//! `analyze_launch_runtime`: where the time of a window of launches goes. Per launch: how
//! long it ran, its attempts (reruns) and tests; over all of them: the 10 slowest tests, tests by
//! duration class, and, against a baseline window (another milestone or build), the change.
//!
//! Launches come from [`launch_window`]; each costs one attempts request plus its test pages,
//! stated before a large scan starts (`accept_cost`) and in every answer.

use std::collections::BTreeMap;

use rmcp::{
    ErrorData as McpError, RoleServer,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    service::RequestContext,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use zebrunner_client::{LaunchSummary, LaunchTest, ZebrunnerClient};

use super::{
    args::NameOrId,
    error::ToolError,
    launch_window::{LaunchWindow, WindowArgs, test_pages, tests_of_launches},
    output::{Format, ToolOutput, cell, finish},
    progress::Progress,
    scope,
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

const DEFAULT_LAST: u32 = 10;
const MAX_LAST: u32 = 100;
/// Above this many Zebrunner requests a scan runs only with `accept_cost`.
const ASK_ABOVE_REQUESTS: u64 = 50;
/// Slowest tests listed.
const SLOWEST: usize = 10;
/// Duration classes: a test is short under a minute, long from five.
const MEDIUM_MS: i64 = 60_000;
const LONG_MS: i64 = 300_000;

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeLaunchRuntimeArgs {
    pub project_key: String,
    /// Newest N launches (default 10).
    #[schemars(range(min = 1, max = 100))]
    pub last: Option<u32>,
    /// YYYY-MM-DD or RFC 3339.
    pub from: Option<String>,
    /// YYYY-MM-DD or RFC 3339.
    pub to: Option<String>,
    /// Milestone name or id.
    pub milestone: Option<NameOrId>,
    /// Name or build.
    pub query: Option<String>,
    /// Baseline: this milestone (no dates).
    pub baseline_milestone: Option<NameOrId>,
    /// Baseline: this name or build.
    pub baseline_query: Option<String>,
    /// Allow over 50 Zebrunner requests.
    #[serde(default)]
    pub accept_cost: bool,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LaunchRuntimeOutput {
    pub project_key: String,
    pub window: RuntimeSummary,
    /// Against the baseline, when one was named.
    pub change: Option<RuntimeChange>,
    pub launches: Vec<LaunchRuntime>,
    pub slowest_tests: Vec<SlowTest>,
    /// Zebrunner requests the analysis made.
    pub requests: u64,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema, PartialEq)]
pub struct RuntimeSummary {
    pub launches: usize,
    pub tests: usize,
    /// Reruns beyond the first attempt, over all launches.
    pub reruns: usize,
    pub avg_launch_secs: f64,
    /// Mean duration of a finished test.
    pub avg_test_secs: f64,
    pub short_tests: usize,
    pub medium_tests: usize,
    pub long_tests: usize,
}

#[derive(Debug, Serialize, JsonSchema, PartialEq)]
pub struct RuntimeChange {
    pub baseline_launches: usize,
    /// Window against baseline, percent.
    pub avg_launch_pct: Option<f64>,
    pub avg_test_pct: Option<f64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LaunchRuntime {
    pub id: i64,
    pub name: String,
    /// From start to end of the launch.
    pub duration_secs: Option<i64>,
    pub attempts: usize,
    pub tests: usize,
    /// Sum of its tests' durations (over the duration when tests ran in parallel).
    pub test_secs: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SlowTest {
    pub name: String,
    pub launch_id: i64,
    pub duration_secs: f64,
}

impl ToolOutput for LaunchRuntimeOutput {
    fn markdown(&self) -> String {
        let w = &self.window;
        let launches = if w.launches == 1 {
            "launch"
        } else {
            "launches"
        };
        let mut md = format!(
            "**{}: {} {launches}, {} tests, average launch {}, average test {:.1} s** ({} Zebrunner requests)\n",
            self.project_key,
            w.launches,
            w.tests,
            clock(w.avg_launch_secs.round() as i64),
            w.avg_test_secs,
            self.requests
        );
        md.push_str(&format!(
            "Tests by duration: {} short (< 1 min), {} medium, {} long (5 min or more); {} reruns.\n",
            w.short_tests, w.medium_tests, w.long_tests, w.reruns
        ));
        if let Some(c) = &self.change {
            md.push_str(&format!(
                "Against the baseline ({} launches): average launch {}, average test {}.\n",
                c.baseline_launches,
                pct(c.avg_launch_pct),
                pct(c.avg_test_pct)
            ));
        }
        md.push_str("\n| Launch | Name | Duration | Attempts | Tests | Test time |\n|---|---|---|---|---|---|\n");
        for l in &self.launches {
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                l.id,
                cell(&l.name),
                l.duration_secs.map(clock).unwrap_or_default(),
                l.attempts,
                l.tests,
                clock(l.test_secs)
            ));
        }
        if !self.slowest_tests.is_empty() {
            md.push_str("\n| Slowest test | Launch | Duration |\n|---|---|---|\n");
            for t in &self.slowest_tests {
                md.push_str(&format!(
                    "| {} | {} | {:.1} s |\n",
                    cell(&t.name),
                    t.launch_id,
                    t.duration_secs
                ));
            }
        }
        md
    }
}

fn clock(secs: i64) -> String {
    format!("{}:{:02}:{:02}", secs / 3600, secs % 3600 / 60, secs % 60)
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| format!("{v:+.1}%"))
}

#[tool_router(router = analyze_launch_runtime_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "analyze_launch_runtime",
        description = "Launch durations, reruns, slowest tests and test duration classes (<1, 1-5, 5+ min) over recent launches, against a baseline milestone or build.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<LaunchRuntimeOutput>(),
        annotations(title = "Analyze launch runtime", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn analyze_launch_runtime(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<AnalyzeLaunchRuntimeArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let mut progress = Progress::new(context);
        let outcome = analyze(&cx, &args, &mut progress).await;
        finish(&cx, args.format, outcome)
    }
}

async fn analyze(
    cx: &CallContext,
    a: &AnalyzeLaunchRuntimeArgs,
    progress: &mut Progress,
) -> Result<LaunchRuntimeOutput, ToolError> {
    let client = &cx.client;
    let project = scope::project(cx, &a.project_key).await?;
    let project_id = client.project_id(&project).await?;
    let main = LaunchWindow::parse(
        client,
        &project,
        project_id,
        window(a, a.milestone.as_ref(), a.query.as_deref(), true),
        DEFAULT_LAST,
        MAX_LAST,
    )
    .await?
    .select(client, project_id, progress, "analyze_launch_runtime")
    .await?;
    // A blank milestone or query names no baseline.
    let named_milestone = a.baseline_milestone.as_ref().is_some_and(|m| !m.is_blank());
    let named_query = a
        .baseline_query
        .as_deref()
        .is_some_and(|q| !q.trim().is_empty());
    let baseline = if named_milestone || named_query {
        Some(
            LaunchWindow::parse(
                client,
                &project,
                project_id,
                window(
                    a,
                    a.baseline_milestone.as_ref(),
                    a.baseline_query.as_deref(),
                    false,
                ),
                DEFAULT_LAST,
                MAX_LAST,
            )
            .await?
            .select(client, project_id, progress, "analyze_launch_runtime")
            .await?,
        )
    } else {
        None
    };
    if main.launches.is_empty() {
        return Err(ToolError::invalid(
            "no finished launch matches this window; widen it (`last`, `from`/`to`) or check the \
             milestone and query with list_launches",
        ));
    }
    let baseline_launches = baseline.as_ref().map_or(&[][..], |b| &b.launches[..]);
    // One attempts request per launch plus its test pages.
    let cost = test_pages(&main.launches)
        + test_pages(baseline_launches)
        + (main.launches.len() + baseline_launches.len()) as u64;
    if cost > ASK_ABOVE_REQUESTS && !a.accept_cost {
        return Err(ToolError::invalid(format!(
            "this analysis reads {} launches' tests and attempts: about {cost} Zebrunner \
             requests. Call again with accept_cost=true to run it, or narrow it with `last`, \
             `from`/`to`, `milestone` or `query`",
            main.launches.len() + baseline_launches.len()
        )));
    }
    progress.before_page()?;
    let (summary, launches, tests) = measure(client, project_id, &main.launches).await?;
    let baseline_summary = match baseline_launches {
        [] => None,
        some => Some(measure(client, project_id, some).await?.0),
    };
    let change = baseline_summary.map(|b| RuntimeChange {
        baseline_launches: b.launches,
        avg_launch_pct: relative(summary.avg_launch_secs, b.avg_launch_secs),
        avg_test_pct: relative(summary.avg_test_secs, b.avg_test_secs),
    });
    let mut slow: Vec<SlowTest> = tests
        .into_iter()
        .filter_map(|(launch_id, t)| {
            t.duration_ms().map(|ms| SlowTest {
                name: t.name,
                launch_id,
                duration_secs: ms as f64 / 1000.0,
            })
        })
        .collect();
    slow.sort_by(|x, y| y.duration_secs.total_cmp(&x.duration_secs));
    slow.truncate(SLOWEST);
    let pages = u64::from(main.pages) + baseline.as_ref().map_or(0, |b| u64::from(b.pages));
    Ok(LaunchRuntimeOutput {
        project_key: project,
        window: summary,
        change,
        launches,
        slowest_tests: slow,
        requests: pages + cost,
    })
}

/// The window of `a` with this milestone and query: the main one, or (`dated` false) the
/// baseline, which keeps `last` but not the dates (a baseline milestone lies in the past).
fn window<'a>(
    a: &'a AnalyzeLaunchRuntimeArgs,
    milestone: Option<&'a NameOrId>,
    query: Option<&'a str>,
    dated: bool,
) -> WindowArgs<'a> {
    WindowArgs {
        from: a.from.as_deref().filter(|_| dated),
        to: a.to.as_deref().filter(|_| dated),
        last: a.last,
        milestone,
        query,
        include_unfinished: false,
    }
}

/// The summary and per-launch rows of `launches`, with every test and its launch.
async fn measure(
    client: &ZebrunnerClient,
    project_id: i64,
    launches: &[LaunchSummary],
) -> Result<(RuntimeSummary, Vec<LaunchRuntime>, Vec<(i64, LaunchTest)>), ToolError> {
    let ids: Vec<i64> = launches.iter().map(|l| l.id).collect();
    let tests = tests_of_launches(client, project_id, &ids).await?;
    let mut attempts = BTreeMap::new();
    for &id in &ids {
        attempts.insert(
            id,
            client.launch_attempts(project_id, id).await?.len().max(1),
        );
    }
    let mut summary = RuntimeSummary {
        launches: launches.len(),
        ..RuntimeSummary::default()
    };
    let mut rows = Vec::with_capacity(launches.len());
    let mut all = Vec::new();
    let mut test_ms_total = 0i64;
    let mut total_launch_secs = 0i64;
    let mut finished_tests = 0usize;
    for (l, tests) in launches.iter().zip(tests) {
        let duration = launch_secs(l);
        let mut test_ms = 0i64;
        for t in &tests {
            if let Some(ms) = t.duration_ms() {
                test_ms += ms;
                finished_tests += 1;
                if ms >= LONG_MS {
                    summary.long_tests += 1;
                } else if ms >= MEDIUM_MS {
                    summary.medium_tests += 1;
                } else {
                    summary.short_tests += 1;
                }
            }
        }
        let tried = attempts.get(&l.id).copied().unwrap_or(1);
        summary.tests += tests.len();
        summary.reruns += tried - 1;
        total_launch_secs += duration.unwrap_or(0);
        test_ms_total += test_ms;
        rows.push(LaunchRuntime {
            id: l.id,
            name: l.name.clone(),
            duration_secs: duration,
            attempts: tried,
            tests: tests.len(),
            test_secs: test_ms / 1000,
        });
        all.extend(tests.into_iter().map(|t| (l.id, t)));
    }
    summary.avg_launch_secs = round1(total_launch_secs as f64 / launches.len().max(1) as f64);
    summary.avg_test_secs = round1(test_ms_total as f64 / 1000.0 / finished_tests.max(1) as f64);
    Ok((summary, rows, all))
}

/// How long a launch ran: Zebrunner's duration, else end minus start.
fn launch_secs(l: &LaunchSummary) -> Option<i64> {
    l.duration
        .or_else(|| l.finished_at.zip(l.started_at).map(|(f, s)| (f - s) / 1000))
}

/// How much `now` is above (or below) `before`, in percent with one decimal; `None` without a
/// positive `before`.
pub(crate) fn relative(now: f64, before: f64) -> Option<f64> {
    (before > 0.0).then(|| ((now - before) * 1000.0 / before).round() / 10.0)
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_relative_and_rounding() {
        assert_eq!(clock(3_725), "1:02:05");
        assert_eq!(relative(120.0, 100.0), Some(20.0));
        assert_eq!(relative(80.0, 100.0), Some(-20.0));
        assert_eq!(relative(5.0, 0.0), None);
        assert_eq!(pct(Some(12.34)), "+12.3%");
    }
}
