//! `release_readiness`: go or no-go for a milestone (or build), from five checks against
//! thresholds the caller may change:
//!
//! 1. pass rate of the newest finished launch of each launch name (each job's current state);
//! 2. failures in those launches with no known issue and no linked defect;
//! 3. automation coverage of the project's test cases;
//! 4. flaky tests in those launches: Zebrunner's stability (passes over the test's history)
//!    above 0 and below 80 % (0 is a broken test, counted by the failures check);
//! 5. runtime: average launch duration against the milestone before (or a named baseline).
//!
//! Requests: the launch list of the milestone and of the baseline (pages of 100), the tests of
//! each newest launch (pages of 100) and the project's cases (pages of 100), stated before a
//! large check runs. A check without data passes as "n/a" and says so.

use std::collections::BTreeMap;

use futures::TryStreamExt as _;
use rmcp::{
    ErrorData as McpError, RoleServer,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    service::RequestContext,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use zebrunner_client::{LaunchSummary, LaunchTest, Milestone, TestCase};

use super::{
    analyze_launch_runtime::relative,
    args::NameOrId,
    chart::{self, Bar, Chart},
    coverage_report::{case_is_automated, is_live, percent},
    error::ToolError,
    launch_window::{LaunchWindow, test_pages, tests_of_launches},
    output::{Format, ToolOutput, cell, finish_with_content},
    pass_rate_report::{self, Counted},
    progress::Progress,
    reporting, scope,
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

/// Launches of the milestone read from the list at most.
const WINDOW: u32 = 200;
/// Above this many Zebrunner requests the check runs only with `accept_cost`.
const ASK_ABOVE_REQUESTS: u64 = 100;
/// A test below this stability (and above 0) is flaky.
const FLAKY_BELOW: f64 = 80.0;
/// Failing tests named in a check's detail at most.
const NAMED: usize = 5;

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseReadinessArgs {
    pub project_key: String,
    /// Milestone name or id.
    pub milestone: Option<NameOrId>,
    /// Launch name or build.
    pub query: Option<String>,
    /// Runtime baseline (default: the milestone before).
    pub baseline_milestone: Option<NameOrId>,
    /// Percent (default 90).
    #[schemars(range(min = 0, max = 100))]
    pub min_pass_rate: Option<f64>,
    /// Default 0.
    pub max_failures_without_defect: Option<u32>,
    /// Automation coverage percent (default 50).
    #[schemars(range(min = 0, max = 100))]
    pub min_coverage: Option<f64>,
    /// Default 5.
    pub max_flaky: Option<u32>,
    /// Percent over baseline (default 20).
    pub max_runtime_growth: Option<f64>,
    /// Allow over 100 Zebrunner requests.
    #[serde(default)]
    pub accept_cost: bool,
    /// `png` adds a dashboard image.
    #[serde(default)]
    pub chart: Chart,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ReadinessOutput {
    pub project_key: String,
    pub scope: String,
    /// `GO` or `NO-GO`.
    pub verdict: String,
    pub checks: Vec<Check>,
    /// The newest launch of each name, checked.
    pub launch_ids: Vec<i64>,
    pub requests: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Check {
    pub name: String,
    /// Null when there was nothing to measure.
    pub value: Option<f64>,
    /// E.g. `>= 90`.
    pub target: String,
    pub pass: bool,
    pub detail: String,
    /// The check as a dashboard bar, 0-100 (the share of tests or cases it is good for).
    #[serde(skip)]
    #[schemars(skip)]
    score: Option<f64>,
}

impl ToolOutput for ReadinessOutput {
    fn markdown(&self) -> String {
        let mut md = format!(
            "**{}: {} for {}** ({} launches checked, {} Zebrunner requests)\n\n| Check | Value | Target | Result | Detail |\n|---|---|---|---|---|\n",
            self.project_key,
            self.verdict,
            self.scope,
            self.launch_ids.len(),
            self.requests
        );
        for c in &self.checks {
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                c.name,
                c.value.map_or_else(
                    || "n/a".into(),
                    |v| format!("{v}{}", if c.target.ends_with('%') { "%" } else { "" })
                ),
                c.target,
                if c.pass { "pass" } else { "FAIL" },
                cell(&c.detail)
            ));
        }
        md
    }
}

#[tool_router(router = release_readiness_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "release_readiness",
        description = "Go/no-go for a milestone or build: pass rate and failures without a defect in each job's newest launch, automation coverage, flaky tests, runtime against the milestone before; thresholds adjustable.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<ReadinessOutput>(),
        annotations(title = "Release readiness", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn release_readiness(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<ReleaseReadinessArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let mut progress = Progress::new(context);
        let outcome = assess(&cx, &args, &mut progress).await.and_then(|output| {
            let extra = match args.chart {
                Chart::None => Vec::new(),
                Chart::Png => vec![chart::image_block(&dashboard(&output)?)],
            };
            Ok((output, extra))
        });
        finish_with_content(&cx, args.format, outcome)
    }
}

/// The thresholds, checked.
struct Targets {
    pass_rate: f64,
    unlinked: u32,
    coverage: f64,
    flaky: u32,
    runtime_growth: f64,
}

impl Targets {
    fn of(a: &ReleaseReadinessArgs) -> Result<Self, ToolError> {
        let pct = |name: &str, v: Option<f64>, default: f64| match v {
            None => Ok(default),
            Some(v) if (0.0..=100.0).contains(&v) => Ok(v),
            Some(v) => Err(ToolError::invalid(format!(
                "`{name}` is a percentage from 0 to 100, got {v}"
            ))),
        };
        let growth = a.max_runtime_growth.unwrap_or(20.0);
        if !growth.is_finite() || growth < 0.0 {
            return Err(ToolError::invalid(format!(
                "`max_runtime_growth` is a percentage of 0 or more, got {growth}"
            )));
        }
        Ok(Targets {
            pass_rate: pct("min_pass_rate", a.min_pass_rate, 90.0)?,
            unlinked: a.max_failures_without_defect.unwrap_or(0),
            coverage: pct("min_coverage", a.min_coverage, 50.0)?,
            flaky: a.max_flaky.unwrap_or(5),
            runtime_growth: growth,
        })
    }
}

async fn assess(
    cx: &CallContext,
    a: &ReleaseReadinessArgs,
    progress: &mut Progress,
) -> Result<ReadinessOutput, ToolError> {
    let client = &cx.client;
    let project = scope::project(cx, &a.project_key).await?;
    let targets = Targets::of(a)?;
    let milestone = a.milestone.as_ref().filter(|m| !m.is_blank());
    let query = a.query.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if milestone.is_none() && query.is_none() {
        return Err(ToolError::invalid(
            "name the release: a `milestone` (list_milestones shows them) or a `query` (launch \
             name or build), or both",
        ));
    }
    let project_id = client.project_id(&project).await?;
    let all_milestones = reporting::all_milestones(client, project_id).await?;
    let current = milestone
        .map(|m| reporting::find_milestone(&project, &all_milestones, m))
        .transpose()?;
    let baseline = match a.baseline_milestone.as_ref().filter(|m| !m.is_blank()) {
        Some(m) => Some(reporting::find_milestone(&project, &all_milestones, m)?),
        None => current.and_then(|c| reporting::milestone_before(&all_milestones, c)),
    };
    let launches = finished_launches(cx, project_id, current, query, progress).await?;
    let mut scope_label = Vec::new();
    if let Some(m) = current {
        scope_label.push(format!("milestone {}", m.name));
    }
    if let Some(q) = query {
        scope_label.push(format!("launches matching {q:?}"));
    }
    let scope_label = scope_label.join(", ");
    if launches.is_empty() {
        return Err(ToolError::invalid(format!(
            "no finished launch of project {project} belongs to {scope_label}; list_launches \
             shows the launches with their milestones"
        )));
    }
    let newest = newest_per_name(&launches);
    // The case pages are not known before reading them: one per 100 cases.
    let cost = test_pages(&newest);
    if cost > ASK_ABOVE_REQUESTS && !a.accept_cost {
        return Err(ToolError::invalid(format!(
            "this check reads the tests of {} launches ({cost} Zebrunner requests) and the \
             project's test cases (one request per 100). Call again with accept_cost=true to run \
             it, or narrow it with `query`",
            newest.len()
        )));
    }
    progress.before_page()?;
    let ids: Vec<i64> = newest.iter().map(|l| l.id).collect();
    let tests: Vec<LaunchTest> = tests_of_launches(client, project_id, &ids)
        .await?
        .into_iter()
        .flatten()
        .collect();
    progress.before_page()?;
    let cases: Vec<TestCase> = client.test_cases(&project, None).try_collect().await?;
    let baseline_launches = match baseline {
        Some(b) => Some((
            b,
            finished_launches(cx, project_id, Some(b), query, progress).await?,
        )),
        None => None,
    };

    let checks = vec![
        pass_rate(&newest, targets.pass_rate),
        unlinked(&tests, targets.unlinked),
        coverage(&cases, targets.coverage),
        flaky(&tests, targets.flaky),
        runtime(
            &launches,
            baseline_launches.as_ref(),
            targets.runtime_growth,
        ),
    ];
    Ok(ReadinessOutput {
        project_key: project,
        scope: scope_label,
        verdict: if checks.iter().all(|c| c.pass) {
            "GO"
        } else {
            "NO-GO"
        }
        .into(),
        checks,
        launch_ids: ids,
        requests: u64::from(cx.requests.total()),
    })
}

/// The finished launches of a milestone and/or query, newest first.
async fn finished_launches(
    cx: &CallContext,
    project_id: i64,
    milestone: Option<&Milestone>,
    query: Option<&str>,
    progress: &mut Progress,
) -> Result<Vec<LaunchSummary>, ToolError> {
    // Resolved already: the window takes the milestone's name as Zebrunner's list filter does.
    let window = LaunchWindow {
        last: Some(WINDOW),
        milestone: milestone.map(|m| m.name.clone()),
        query: query.map(str::to_string),
        ..LaunchWindow::default()
    };
    Ok(window
        .select(&cx.client, project_id, progress, "release_readiness")
        .await?
        .launches)
}

/// The newest launch of each name (the list is newest first).
fn newest_per_name(launches: &[LaunchSummary]) -> Vec<LaunchSummary> {
    let mut seen = BTreeMap::new();
    for l in launches {
        seen.entry(l.name.trim().to_string())
            .or_insert_with(|| l.clone());
    }
    let mut out: Vec<LaunchSummary> = seen.into_values().collect();
    out.sort_by_key(|l| std::cmp::Reverse(l.started_at));
    out
}

/// Counted as `pass_rate_report` counts, so the two tools agree.
fn pass_rate(newest: &[LaunchSummary], min: f64) -> Check {
    let counted: Vec<Counted> = newest
        .iter()
        .map(|l| Counted::of(l, String::new()))
        .collect();
    let total = pass_rate_report::row(String::new(), &counted.iter().collect::<Vec<_>>());
    let (passed, executed) = (total.passed, total.executed);
    let value = (executed > 0).then_some(total.pass_rate_pct);
    Check {
        name: "pass rate".into(),
        value,
        target: format!(">= {min}%"),
        pass: value.is_none_or(|v| v >= min),
        detail: format!(
            "{passed} of {executed} tests passed in {} launches",
            newest.len()
        ),
        score: value,
    }
}

fn unlinked(tests: &[LaunchTest], max: u32) -> Check {
    let failed: Vec<&LaunchTest> = tests
        .iter()
        .filter(|t| t.status.eq_ignore_ascii_case("FAILED"))
        .collect();
    let open: Vec<&LaunchTest> = failed
        .iter()
        .copied()
        .filter(|t| !t.known_issue && t.issue_references.is_empty())
        .collect();
    Check {
        name: "failures without a defect".into(),
        value: Some(open.len() as f64),
        target: format!("<= {max}"),
        pass: open.len() <= max as usize,
        detail: named("", &open),
        score: Some(if failed.is_empty() {
            100.0
        } else {
            percent((failed.len() - open.len()) as u64, failed.len() as u64)
        }),
    }
}

fn coverage(cases: &[TestCase], min: f64) -> Check {
    let live: Vec<&TestCase> = cases.iter().filter(|c| is_live(c)).collect();
    let automated = live.iter().filter(|c| case_is_automated(c)).count();
    let value = (!live.is_empty()).then(|| percent(automated as u64, live.len() as u64));
    Check {
        name: "automation coverage".into(),
        value,
        target: format!(">= {min}%"),
        pass: value.is_none_or(|v| v >= min),
        detail: format!("{automated} of {} test cases automated", live.len()),
        score: value,
    }
}

fn flaky(tests: &[LaunchTest], max: u32) -> Check {
    let flaky: Vec<&LaunchTest> = tests
        .iter()
        .filter(|t| t.stability.is_some_and(|s| s > 0.0 && s < FLAKY_BELOW))
        .collect();
    Check {
        name: "flaky tests".into(),
        value: Some(flaky.len() as f64),
        target: format!("<= {max}"),
        pass: flaky.len() <= max as usize,
        detail: named("stability 1-79%: ", &flaky),
        score: (!tests.is_empty())
            .then(|| percent((tests.len() - flaky.len()) as u64, tests.len() as u64)),
    }
}

fn runtime(
    launches: &[LaunchSummary],
    baseline: Option<&(&Milestone, Vec<LaunchSummary>)>,
    max_growth: f64,
) -> Check {
    let average = |ls: &[LaunchSummary]| {
        let d: Vec<i64> = ls.iter().filter_map(|l| l.duration).collect();
        (!d.is_empty()).then(|| d.iter().sum::<i64>() as f64 / d.len() as f64)
    };
    let now = average(launches);
    let (value, detail) = match (now, baseline) {
        (Some(now), Some((b, before))) => match average(before)
            .and_then(|then| relative(now, then).map(|growth| (then, growth)))
        {
            Some((then, growth)) => (
                Some(growth),
                format!(
                    "average launch {:.0} s against {:.0} s in {}",
                    now, then, b.name
                ),
            ),
            None => (
                None,
                format!("{} has no finished launch to compare with", b.name),
            ),
        },
        (Some(now), None) => (
            None,
            format!("average launch {now:.0} s; no earlier milestone to compare with"),
        ),
        (None, _) => (None, "no launch duration known".into()),
    };
    Check {
        name: "runtime growth".into(),
        value,
        target: format!("<= +{max_growth}%"),
        pass: value.is_none_or(|v| v <= max_growth),
        detail,
        score: value.map(|v| (100.0 - v.max(0.0)).max(0.0)),
    }
}

/// "N: a, b, c and 2 more" for a check's detail.
fn named(prefix: &str, tests: &[&LaunchTest]) -> String {
    if tests.is_empty() {
        return "none".into();
    }
    let names: Vec<&str> = tests.iter().take(NAMED).map(|t| t.name.as_str()).collect();
    let more = tests.len().saturating_sub(NAMED);
    format!(
        "{prefix}{}{}",
        names.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )
}

/// The dashboard: a bar per measured check: pass rate, share of failures with a defect,
/// coverage, share of tests not flaky, 100 minus the runtime growth.
fn dashboard(o: &ReadinessOutput) -> Result<Vec<u8>, ToolError> {
    let bars: Vec<Bar> = o
        .checks
        .iter()
        .filter_map(|c| {
            Some(Bar {
                // The bar measures the good share, so its label says that.
                label: match c.name.as_str() {
                    "failures without a defect" => "failures with a defect".into(),
                    "flaky tests" => "tests not flaky".into(),
                    "runtime growth" => "runtime (100 - growth)".into(),
                    other => other.to_string(),
                },
                percent: c.score?,
                passed: Some(c.pass),
            })
        })
        .collect();
    chart::percent_bars(
        &format!("{} {}: {}", o.project_key, o.scope, o.verdict),
        &bars,
    )
}
