//! `regression_report`: a milestone's (or build's) manual regression from its TCM test runs:
//! each run's completion, the failures nobody linked to a defect, failures that are new
//! against the previous milestone, the top defects and the defects per root suite.
//!
//! Requests: the run list (pages of 100), one request per run for its cases, the milestone list
//! when a milestone is named, and for the suites the suite list plus one case search per 100
//! failing cases. The previous milestone costs its runs again.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rmcp::{
    ErrorData as McpError, RoleServer,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    service::RequestContext,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use zebrunner_client::{Milestone, Rql, TestRun, TestRunCase, TokenPageRequest, ZebrunnerClient};

use super::{
    args::NameOrId,
    error::ToolError,
    hierarchy::Hierarchy,
    list_test_runs::build_filter,
    output::{Format, ToolOutput, cell, finish},
    progress::Progress,
    reporting, scope,
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

/// Runs read at most for one side of the report.
const MAX_RUNS: usize = 100;
/// Cases looked up per search request (Zebrunner's page size).
const CASES_PER_SEARCH: usize = 100;

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegressionReportArgs {
    pub project_key: String,
    /// Milestone name or id.
    pub milestone: Option<NameOrId>,
    /// In a run's title, description or configuration.
    pub build: Option<String>,
    /// Compare with (default: the milestone before).
    pub previous_milestone: Option<NameOrId>,
    pub previous_build: Option<String>,
    /// Rows per list (default 10).
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RegressionOutput {
    pub project_key: String,
    /// What was reported on: milestone and/or build.
    pub scope: String,
    /// What new failures are against; null when there is nothing before.
    pub previous: Option<String>,
    pub runs: Vec<RunRow>,
    pub totals: RunRow,
    /// Failed, no defect linked.
    pub unlinked_failures: Vec<CaseRow>,
    /// Failed here, not in the previous scope.
    pub new_failures: Vec<CaseRow>,
    pub new_failures_total: usize,
    pub top_defects: Vec<Tally>,
    /// By root suite.
    pub defects_per_suite: Vec<Tally>,
    pub requests: u64,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct RunRow {
    pub id: i64,
    pub title: String,
    pub closed: bool,
    pub cases: usize,
    /// Cases with a result.
    pub executed: usize,
    pub passed: usize,
    pub failed: usize,
    /// Failed without a linked defect.
    pub unlinked: usize,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CaseRow {
    pub run_id: i64,
    pub key: String,
    pub title: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Tally {
    pub name: String,
    pub failures: usize,
    /// Distinct defects (suites only).
    pub defects: Option<usize>,
}

impl ToolOutput for RegressionOutput {
    fn markdown(&self) -> String {
        let t = &self.totals;
        let mut md = format!(
            "**{} regression, {}: {} {}, {} of {} cases executed ({}), {} passed, {} failed, {} without a defect** ({} Zebrunner requests)\n",
            self.project_key,
            self.scope,
            self.runs.len(),
            if self.runs.len() == 1 { "run" } else { "runs" },
            t.executed,
            t.cases,
            share(t.executed, t.cases),
            t.passed,
            t.failed,
            t.unlinked,
            self.requests
        );
        md.push_str("\n| Run | Title | Closed | Executed | Passed | Failed | No defect |\n|---|---|---|---|---|---|---|\n");
        for r in &self.runs {
            md.push_str(&format!(
                "| {} | {} | {} | {} of {} | {} | {} | {}{} |\n",
                r.id,
                cell(&r.title),
                if r.closed { "yes" } else { "no" },
                r.executed,
                r.cases,
                r.passed,
                r.failed,
                r.unlinked,
                if r.closed && r.unlinked == 0 {
                    " ✅"
                } else {
                    ""
                }
            ));
        }
        cases_section(
            &mut md,
            "Failures without a defect",
            &self.unlinked_failures,
            t.unlinked,
        );
        match &self.previous {
            Some(p) => cases_section(
                &mut md,
                &format!("New failures against {p}"),
                &self.new_failures,
                self.new_failures_total,
            ),
            None => {
                md.push_str("\nNo earlier milestone to compare with: new failures not computed.\n")
            }
        }
        tally_section(&mut md, "Top defects", "Defect", &self.top_defects);
        tally_section(
            &mut md,
            "Defects per suite",
            "Suite",
            &self.defects_per_suite,
        );
        md
    }
}

fn share(part: usize, whole: usize) -> String {
    if whole == 0 {
        "n/a".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

fn cases_section(md: &mut String, title: &str, rows: &[CaseRow], total: usize) {
    md.push_str(&format!("\n**{title}: {total}**"));
    if rows.len() < total {
        md.push_str(&format!(" (first {} shown)", rows.len()));
    }
    md.push('\n');
    for r in rows {
        md.push_str(&format!(
            "- {} {} (run {})\n",
            r.key,
            cell(&r.title),
            r.run_id
        ));
    }
}

fn tally_section(md: &mut String, title: &str, column: &str, rows: &[Tally]) {
    if rows.is_empty() {
        return;
    }
    md.push_str(&format!("\n**{title}**\n\n| {column} | Failures |"));
    let suites = rows.iter().any(|r| r.defects.is_some());
    md.push_str(if suites {
        " Defects |\n|---|---|---|\n"
    } else {
        "\n|---|---|\n"
    });
    for r in rows {
        md.push_str(&format!("| {} | {} |", cell(&r.name), r.failures));
        if let Some(d) = r.defects {
            md.push_str(&format!(" {d} |"));
        }
        md.push('\n');
    }
}

#[tool_router(router = regression_report_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "regression_report",
        description = "Manual regression of a milestone or build from its TCM test runs: completion per run, failures without a defect, new failures against the previous milestone, top defects, defects per suite.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<RegressionOutput>(),
        annotations(title = "Regression report", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn regression_report(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<RegressionReportArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let mut progress = Progress::new(context);
        let outcome = report(&cx, &args, &mut progress).await;
        finish(&cx, args.format, outcome)
    }
}

/// One side of the report: the runs of a milestone and/or build, with their cases.
struct Side {
    label: String,
    runs: Vec<(TestRun, Vec<TestRunCase>)>,
}

async fn report(
    cx: &CallContext,
    a: &RegressionReportArgs,
    progress: &mut Progress,
) -> Result<RegressionOutput, ToolError> {
    let client = &cx.client;
    let project = scope::project(cx, &a.project_key).await?;
    let limit = reporting::limit(a.limit, 10, 100)?;
    let build = named(a.build.as_deref());
    let previous_build = named(a.previous_build.as_deref());
    let milestone = a.milestone.as_ref().filter(|m| !m.is_blank());
    let previous_milestone = a.previous_milestone.as_ref().filter(|m| !m.is_blank());
    if milestone.is_none() && build.is_none() {
        return Err(ToolError::invalid(
            "name a `milestone` (list_milestones shows them) or a `build`, or both",
        ));
    }
    let mut milestones: Option<Vec<Milestone>> = None;
    if milestone.is_some() || previous_milestone.is_some() {
        let project_id = client.project_id(&project).await?;
        milestones = Some(reporting::all_milestones(client, project_id).await?);
    }
    let all = milestones.as_deref().unwrap_or_default();
    let current_ms = milestone
        .map(|m| reporting::find_milestone(&project, all, m))
        .transpose()?;
    let previous_ms = match previous_milestone {
        Some(m) => Some(reporting::find_milestone(&project, all, m)?),
        // With no previous build either, the milestone that started before this one.
        None if previous_build.is_none() => {
            current_ms.and_then(|c| reporting::milestone_before(all, c))
        }
        None => None,
    };
    let current = side(client, &project, current_ms, build, progress).await?;
    if current.runs.is_empty() {
        return Err(ToolError::invalid(format!(
            "no test run of project {project} matches {}; list_test_runs shows the runs with \
             their milestones",
            current.label
        )));
    }
    let previous = if previous_ms.is_some() || previous_build.is_some() {
        Some(side(client, &project, previous_ms, previous_build, progress).await?)
    } else {
        None
    };

    let mut totals = RunRow {
        title: "TOTAL".into(),
        ..RunRow::default()
    };
    let mut runs = Vec::with_capacity(current.runs.len());
    let mut unlinked = Vec::new();
    let mut failing: BTreeMap<i64, CaseRow> = BTreeMap::new();
    let mut defects: HashMap<String, usize> = HashMap::new();
    // Case id -> defects of its failures (none for an unlinked failure).
    let mut case_defects: BTreeMap<i64, Vec<Option<String>>> = BTreeMap::new();
    for (run, cases) in &current.runs {
        let mut row = RunRow {
            id: run.id,
            title: run.title.clone(),
            closed: run.closed,
            cases: cases.len(),
            ..RunRow::default()
        };
        for c in cases {
            if c.result.is_none() {
                continue;
            }
            row.executed += 1;
            match outcome(c) {
                Outcome::Passed => row.passed += 1,
                Outcome::Failed => {
                    row.failed += 1;
                    let case = case_row(run.id, c);
                    let defect = defect_name(c);
                    match &defect {
                        Some(d) => *defects.entry(d.clone()).or_default() += 1,
                        None => {
                            row.unlinked += 1;
                            unlinked.push(case.clone());
                        }
                    }
                    if let Some(tc) = &c.test_case {
                        case_defects.entry(tc.id).or_default().push(defect);
                        failing.entry(tc.id).or_insert(case);
                    }
                }
                Outcome::Other => {}
            }
        }
        totals.cases += row.cases;
        totals.executed += row.executed;
        totals.passed += row.passed;
        totals.failed += row.failed;
        totals.unlinked += row.unlinked;
        runs.push(row);
    }
    unlinked.truncate(limit);

    let failed_before: BTreeSet<i64> = previous
        .iter()
        .flat_map(|p| &p.runs)
        .flat_map(|(_, cases)| cases)
        .filter(|c| outcome(c) == Outcome::Failed)
        .filter_map(|c| c.test_case.as_ref().map(|t| t.id))
        .collect();
    let new: Vec<CaseRow> = failing
        .iter()
        .filter(|(id, _)| !failed_before.contains(id))
        .map(|(_, row)| row.clone())
        .collect();
    let new_failures_total = if previous.is_some() { new.len() } else { 0 };
    let new_failures = if previous.is_some() {
        new.into_iter().take(limit).collect()
    } else {
        Vec::new()
    };

    let mut top_defects: Vec<Tally> = defects
        .into_iter()
        .map(|(name, failures)| Tally {
            name,
            failures,
            defects: None,
        })
        .collect();
    top_defects.sort_by(|x, y| y.failures.cmp(&x.failures).then(x.name.cmp(&y.name)));
    top_defects.truncate(limit);

    let defects_per_suite = per_suite(client, &project, &case_defects, limit, progress).await?;

    Ok(RegressionOutput {
        project_key: project,
        scope: current.label,
        previous: previous.map(|p| p.label),
        runs,
        totals,
        unlinked_failures: unlinked,
        new_failures,
        new_failures_total,
        top_defects,
        defects_per_suite,
        requests: u64::from(cx.requests.total()),
    })
}

fn named(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}

/// The runs of a milestone and/or build, each with its cases.
async fn side(
    client: &ZebrunnerClient,
    project: &str,
    milestone: Option<&Milestone>,
    build: Option<&str>,
    progress: &mut Progress,
) -> Result<Side, ToolError> {
    let mut rql = Rql::new();
    let mut label = Vec::new();
    if let Some(m) = milestone {
        rql = rql.eq("milestone.id", m.id);
        label.push(format!("milestone {}", m.name));
    }
    if let Some(b) = build {
        rql = rql.or(build_filter(b));
        label.push(format!("build {b:?}"));
    }
    let mut runs = Vec::new();
    let mut page = TokenPageRequest::first(100);
    loop {
        progress.before_page()?;
        let got = client
            .test_runs_page(project, Some(&rql), Some("createdAt"), page)
            .await?;
        runs.extend(got.items);
        if runs.len() > MAX_RUNS {
            return Err(ToolError::invalid(format!(
                "{} has more than {MAX_RUNS} test runs; narrow it with `build`",
                label.join(" and ")
            )));
        }
        match got.next_page_token {
            Some(t) => {
                page = TokenPageRequest {
                    max_page_size: 100,
                    page_token: Some(t),
                }
            }
            None => break,
        }
    }
    let mut out = Vec::with_capacity(runs.len());
    for run in runs {
        progress.before_page()?;
        let cases = client.test_run_cases(project, run.id).await?;
        out.push((run, cases));
    }
    Ok(Side {
        label: label.join(", "),
        runs: out,
    })
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Passed,
    Failed,
    /// Blocked, skipped, retest, or any custom status.
    Other,
}

/// A result by its status name (TCM's statuses are per project; Passed and Failed are the
/// built-in ones every project has).
fn outcome(c: &TestRunCase) -> Outcome {
    let name = c
        .result
        .as_ref()
        .and_then(|r| r.status.as_ref())
        .map(|s| s.name.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if name.starts_with("pass") {
        Outcome::Passed
    } else if name.starts_with("fail") {
        Outcome::Failed
    } else {
        Outcome::Other
    }
}

fn defect_name(c: &TestRunCase) -> Option<String> {
    let issue = c.result.as_ref()?.issue.as_ref()?;
    let id = issue
        .id
        .as_deref()
        .map(str::trim)
        .filter(|i| !i.is_empty())?;
    Some(match issue.type_.as_deref() {
        Some(t) if !t.is_empty() => format!("{t} {id}"),
        _ => id.to_string(),
    })
}

fn case_row(run_id: i64, c: &TestRunCase) -> CaseRow {
    let tc = c.test_case.as_ref();
    CaseRow {
        run_id,
        key: tc.and_then(|t| t.key.clone()).unwrap_or_default(),
        title: tc.and_then(|t| t.title.clone()).unwrap_or_default(),
    }
}

/// Failures and distinct defects per root suite of the failing cases.
async fn per_suite(
    client: &ZebrunnerClient,
    project: &str,
    case_defects: &BTreeMap<i64, Vec<Option<String>>>,
    limit: usize,
    progress: &mut Progress,
) -> Result<Vec<Tally>, ToolError> {
    if case_defects.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = case_defects.keys().copied().collect();
    let mut suite_of: HashMap<i64, i64> = HashMap::new();
    for chunk in ids.chunks(CASES_PER_SEARCH) {
        progress.before_page()?;
        let page = client
            .test_cases_page(
                project,
                Some(&Rql::new().in_("id", chunk.iter().copied())),
                TokenPageRequest::first(CASES_PER_SEARCH as u32),
            )
            .await?;
        for case in page.items {
            if let Some(s) = case.test_suite {
                suite_of.insert(case.id, s.id);
            }
        }
    }
    let suites = client.all_test_suites(project).await?;
    let tree = Hierarchy::new(&suites);
    let mut tally: BTreeMap<String, (usize, BTreeSet<String>)> = BTreeMap::new();
    for (case, found) in case_defects {
        let root = suite_of
            .get(case)
            .and_then(|s| tree.lineage(*s).first().map(|r| r.title.clone()))
            .unwrap_or_else(|| "(no suite)".into());
        let entry = tally.entry(root).or_default();
        entry.0 += found.len();
        entry.1.extend(found.iter().flatten().cloned());
    }
    let mut rows: Vec<Tally> = tally
        .into_iter()
        .map(|(name, (failures, defects))| Tally {
            name,
            failures,
            defects: Some(defects.len()),
        })
        .collect();
    rows.sort_by(|x, y| y.failures.cmp(&x.failures).then(x.name.cmp(&y.name)));
    rows.truncate(limit);
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_read_as_percentages() {
        assert_eq!(share(1, 3), "33.3%");
        assert_eq!(share(0, 0), "n/a");
    }
}
