//! `find_flaky_tests`: tests whose result flips between passed and failed over a window of
//! launches, ranked by flips and then by stability, each with its history strip.
//!
//! The window is chosen by [`launch_window`] (newest N finished launches, a date range, a
//! milestone, a name or build). Every launch's tests are then read in pages of 100 (Zebrunner's largest): that is the
//! cost, and it is stated before a large scan starts (`accept_cost`) and in every answer.

use std::collections::BTreeMap;

use futures::{StreamExt as _, TryStreamExt as _, stream};

use rmcp::{
    ErrorData as McpError, RoleServer,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    service::RequestContext,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use zebrunner_client::{LaunchTest, TestCase, TestCaseExecution, ZebrunnerClient};

use super::{
    args::NameOrId,
    coverage_report::{case_is_automated, is_live, percent},
    cursor::{self, OffsetCursor},
    error::ToolError,
    launch_window::{LaunchWindow, WindowArgs, started, test_pages, tests_of_launches},
    output::{Format, ToolOutput, cell, finish, truncate},
    progress::Progress,
    reporting, scope,
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

const DEFAULT_LAST: u32 = 20;
const MAX_LAST: u32 = 200;
/// Above this many Zebrunner requests a scan runs only with `accept_cost`.
const ASK_ABOVE_REQUESTS: u64 = 50;
/// Manual cases whose executions are read at once.
const PARALLEL_CASES: usize = 4;

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindFlakyTestsArgs {
    pub project_key: String,
    /// Newest N finished launches (default 20 without `from`).
    #[schemars(range(min = 1, max = 200))]
    pub last: Option<u32>,
    /// YYYY-MM-DD or RFC 3339.
    pub from: Option<String>,
    /// YYYY-MM-DD or RFC 3339.
    pub to: Option<String>,
    /// Milestone name or id.
    pub milestone: Option<NameOrId>,
    /// In the launch name or build.
    pub query: Option<String>,
    /// Fewest passed/failed flips to count as flaky (default 2).
    #[schemars(range(min = 1))]
    pub min_flips: Option<u32>,
    /// Run a scan that needs more than 50 Zebrunner requests.
    #[serde(default)]
    pub accept_cost: bool,
    /// Also manual TCM cases: newest `last` executions, or those in `from`/`to`.
    #[serde(default)]
    pub manual: bool,
    /// Tests per answer (default 20).
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FlakyTestsOutput {
    pub project_key: String,
    /// Launches scanned, oldest first in every history strip.
    pub launches: usize,
    pub first_launch_started: Option<String>,
    pub last_launch_started: Option<String>,
    /// Distinct tests seen in those launches.
    pub tests_seen: usize,
    /// Zebrunner requests the scan made.
    pub requests: u64,
    /// Flaky tests found.
    pub total: usize,
    pub returned: usize,
    pub has_more: bool,
    pub next_cursor: Option<String>,
    pub tests: Vec<FlakyTest>,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct FlakyTest {
    pub name: String,
    pub test_class: Option<String>,
    /// Changes between passed and failed, in launch order.
    pub flips: u32,
    pub passed: u32,
    pub failed: u32,
    /// passed / (passed + failed), in percent.
    pub stability_pct: f64,
    /// Oldest first, one letter per launch it ran in: P passed, F failed, S skipped,
    /// A aborted, ? other.
    pub history: String,
    /// The latest failure's message (first line).
    pub last_failure: Option<String>,
    pub last_failed_launch_id: Option<i64>,
    /// Linked TCM cases.
    pub test_cases: Vec<String>,
    /// A manual TCM case: its history is its executions.
    pub manual: bool,
}

impl ToolOutput for FlakyTestsOutput {
    fn markdown(&self) -> String {
        let launches = if self.launches == 1 {
            "1 launch".to_string()
        } else {
            format!("{} launches", self.launches)
        };
        let mut md = format!(
            "**{}: {} flaky of {} tests over {launches}** ({} Zebrunner requests)\n",
            self.project_key, self.total, self.tests_seen, self.requests
        );
        if let (Some(first), Some(last)) = (&self.first_launch_started, &self.last_launch_started) {
            md.push_str(&format!("Launches started {first} to {last}.\n"));
        }
        if !self.tests.is_empty() {
            md.push_str(
                "\n| Test | Flips | Stability | History (oldest first) | Last failure | Cases |\n|---|---|---|---|---|---|\n",
            );
            for t in &self.tests {
                md.push_str(&format!(
                    "| {}{} | {} | {:.1}% | `{}` | {} | {} |\n",
                    if t.manual { "(manual case) " } else { "" },
                    cell(&t.name),
                    t.flips,
                    t.stability_pct,
                    t.history,
                    cell(&truncate(t.last_failure.as_deref().unwrap_or(""), 80)),
                    t.test_cases.join(", ")
                ));
            }
        }
        if let Some(next) = &self.next_cursor {
            md.push_str(&format!(
                "\nShowing {} of {}; more remain. Call again with `cursor` = `{next}`.\n",
                self.returned, self.total
            ));
        }
        md
    }
}

#[tool_router(router = find_flaky_tests_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "find_flaky_tests",
        description = "Find tests whose result flips between passed and failed over recent launches (last N, dates, milestone or build), ranked by flips and stability, with history strips.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<FlakyTestsOutput>(),
        annotations(title = "Find flaky tests", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn find_flaky_tests(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<FindFlakyTestsArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let mut progress = Progress::new(context);
        let outcome = self.find_flaky_tests_impl(&cx, &args, &mut progress).await;
        finish(&cx, args.format, outcome)
    }

    async fn find_flaky_tests_impl(
        &self,
        cx: &CallContext,
        a: &FindFlakyTestsArgs,
        progress: &mut Progress,
    ) -> Result<FlakyTestsOutput, ToolError> {
        let client = &cx.client;
        let project = scope::project(cx, &a.project_key).await?;
        let limit = reporting::limit(a.limit, 20, 100)?;
        let min_flips = a.min_flips.unwrap_or(2).max(1);
        let fingerprint = cursor::fingerprint(&(
            &project,
            a.last,
            &a.from,
            &a.to,
            &a.milestone,
            &a.query,
            min_flips,
            a.manual,
        ));
        let offset = OffsetCursor::resume(&cx.cursors, a.cursor.as_deref(), &fingerprint)?;
        let project_id = client.project_id(&project).await?;
        let window = LaunchWindow::parse(
            client,
            &project,
            project_id,
            WindowArgs {
                from: a.from.as_deref(),
                to: a.to.as_deref(),
                last: a.last,
                milestone: a.milestone.as_ref(),
                query: a.query.as_deref(),
                include_unfinished: false,
            },
            DEFAULT_LAST,
            MAX_LAST,
        )
        .await?;
        let selected = window
            .select(client, project_id, progress, "find_flaky_tests")
            .await?;
        let mut launches = selected.launches;
        if launches.is_empty() {
            return Err(ToolError::invalid(
                "no finished launch matches this window; widen it (`last`, `from`/`to`) or check \
                 the milestone and query with list_launches",
            ));
        }
        let mut cost = test_pages(&launches);
        // Manual cases cost one executions request each; the case list is read first to count
        // them (one request per 100 cases), so the cost said below is exact.
        let (manual, case_pages) = if a.manual {
            progress.before_page()?;
            let (cases, pages) = manual_cases(client, &project).await?;
            cost += cases.len() as u64;
            (cases, pages)
        } else {
            (Vec::new(), 0)
        };
        if cost > ASK_ABOVE_REQUESTS && !a.accept_cost {
            let manual_part = if a.manual {
                format!(" and the executions of {} manual cases", manual.len())
            } else {
                String::new()
            };
            return Err(ToolError::invalid(format!(
                "this scan reads the tests of {} launches ({} tests){manual_part}: about {cost} \
                 Zebrunner requests. Call again with accept_cost=true to run it, or narrow it \
                 with `last`, `from`/`to`, `milestone` or `query`",
                launches.len(),
                launches.iter().map(|l| l.total.max(0)).sum::<i64>()
            )));
        }
        // Oldest first, so history strips read left to right.
        launches.reverse();
        progress.before_page()?;
        let ids: Vec<i64> = launches.iter().map(|l| l.id).collect();
        let results = tests_of_launches(client, project_id, &ids).await?;
        let histories = histories(ids.into_iter().zip(results));
        let tests_seen = histories.len() + manual.len();
        let mut flaky: Vec<FlakyTest> = histories
            .into_values()
            .filter(|t| t.flips >= min_flips)
            .collect();
        if !manual.is_empty() {
            progress.before_page()?;
            let range = (window.from.is_some() || window.to.is_some()).then(|| {
                (
                    window.from.unwrap_or(OffsetDateTime::UNIX_EPOCH),
                    window.to.unwrap_or_else(OffsetDateTime::now_utc),
                )
            });
            let last = a.last.unwrap_or(DEFAULT_LAST) as usize;
            let ids: Vec<i64> = manual.iter().map(|c| c.id).collect();
            let executions = executions_of(client, project_id, ids).await?;
            flaky.extend(
                manual
                    .iter()
                    .zip(executions)
                    .map(|(c, e)| manual_history(c, e, range, last))
                    .filter(|t| t.flips >= min_flips),
            );
        }
        flaky.sort_by(|x, y| {
            y.flips
                .cmp(&x.flips)
                .then(x.stability_pct.total_cmp(&y.stability_pct))
                .then_with(|| x.name.cmp(&y.name))
        });
        let total = flaky.len();
        let tests: Vec<FlakyTest> = flaky.into_iter().skip(offset).take(limit).collect();
        let end = offset + tests.len();
        let next_cursor = (end < total).then(|| {
            cx.cursors.encode(&OffsetCursor {
                q: fingerprint.clone(),
                o: end,
            })
        });
        Ok(FlakyTestsOutput {
            project_key: project,
            launches: launches.len(),
            first_launch_started: launches.first().and_then(started).map(super::args::rfc3339),
            last_launch_started: launches.last().and_then(started).map(super::args::rfc3339),
            tests_seen,
            requests: u64::from(selected.pages) + case_pages + cost,
            total,
            returned: tests.len(),
            has_more: next_cursor.is_some(),
            next_cursor,
            tests,
        })
    }
}

/// Each test's history over the launches, oldest first; a test is its class and name.
fn histories(
    launches: impl IntoIterator<Item = (i64, Vec<LaunchTest>)>,
) -> BTreeMap<(Option<String>, String), FlakyTest> {
    let mut out: BTreeMap<(Option<String>, String), FlakyTest> = BTreeMap::new();
    for (launch_id, tests) in launches {
        for t in tests {
            let entry = out
                .entry((t.test_class.clone(), t.name.clone()))
                .or_insert_with(|| FlakyTest {
                    name: t.name.clone(),
                    test_class: t.test_class.clone(),
                    flips: 0,
                    passed: 0,
                    failed: 0,
                    stability_pct: 0.0,
                    history: String::new(),
                    last_failure: None,
                    last_failed_launch_id: None,
                    test_cases: Vec::new(),
                    manual: false,
                });
            record(entry, &t.status, t.message.as_deref(), Some(launch_id));
            for case in t.test_cases.into_iter().filter_map(|c| c.test_case_id) {
                if !entry.test_cases.contains(&case) {
                    entry.test_cases.push(case);
                }
            }
        }
    }
    for t in out.values_mut() {
        stability(t);
    }
    out
}

/// One more result of `t`: its letter in the strip, a flip when it differs from the last
/// passed or failed one, the counts and the latest failure.
fn record(t: &mut FlakyTest, status: &str, message: Option<&str>, launch_id: Option<i64>) {
    let status = status.trim().to_ascii_uppercase();
    let letter = match status.as_str() {
        s if s.starts_with("PASS") => 'P',
        s if s.starts_with("FAIL") => 'F',
        s if s.starts_with("SKIP") => 'S',
        "ABORTED" => 'A',
        _ => '?',
    };
    let previous = t.history.chars().rev().find(|c| matches!(c, 'P' | 'F'));
    if matches!(letter, 'P' | 'F') && previous.is_some_and(|p| p != letter) {
        t.flips += 1;
    }
    t.history.push(letter);
    match letter {
        'P' => t.passed += 1,
        'F' => {
            t.failed += 1;
            t.last_failure = message
                .and_then(|m| m.lines().next())
                .map(|m| truncate(m, 160));
            t.last_failed_launch_id = launch_id;
        }
        _ => {}
    }
}

/// passed / (passed + failed) in percent, one decimal.
fn stability(t: &mut FlakyTest) {
    t.stability_pct = percent(u64::from(t.passed), u64::from(t.passed + t.failed));
}

/// The manual (not automated) live cases of a project, and the case pages read.
async fn manual_cases(
    client: &ZebrunnerClient,
    project: &str,
) -> Result<(Vec<TestCase>, u64), ToolError> {
    let cases: Vec<TestCase> = client.test_cases(project, None).try_collect().await?;
    let pages = (cases.len() as u64).div_ceil(100).max(1);
    let manual = cases
        .into_iter()
        .filter(|c| is_live(c) && !case_is_automated(c))
        .collect();
    Ok((manual, pages))
}

/// The executions of each case in `ids`, in that order, a few cases at a time.
async fn executions_of(
    client: &ZebrunnerClient,
    project_id: i64,
    ids: Vec<i64>,
) -> Result<Vec<Vec<TestCaseExecution>>, ToolError> {
    Ok(stream::iter(ids)
        .map(|id| client.test_case_executions(project_id, id))
        .buffered(PARALLEL_CASES)
        .try_collect()
        .await?)
}

/// A manual case's history from its manual executions, oldest first: those tracked within
/// `[from, to]`, else the newest `last`.
fn manual_history(
    case: &TestCase,
    mut executions: Vec<TestCaseExecution>,
    range: Option<(OffsetDateTime, OffsetDateTime)>,
    last: usize,
) -> FlakyTest {
    executions.retain(|e| {
        e.type_
            .as_deref()
            .is_none_or(|t| t.eq_ignore_ascii_case("MANUAL"))
            && e.status.is_some()
    });
    let at = |e: &TestCaseExecution| {
        e.tracked_at
            .as_deref()
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
    };
    executions.sort_by_key(|e| at(e));
    match range {
        Some((from, to)) => executions.retain(|e| at(e).is_some_and(|t| t >= from && t <= to)),
        None => {
            let skip = executions.len().saturating_sub(last);
            executions.drain(..skip);
        }
    }
    let mut t = FlakyTest {
        name: case.title.clone(),
        test_class: None,
        flips: 0,
        passed: 0,
        failed: 0,
        stability_pct: 0.0,
        history: String::new(),
        last_failure: None,
        last_failed_launch_id: None,
        test_cases: vec![case.key.clone()],
        manual: true,
    };
    for e in &executions {
        let status = e.status.as_ref().map_or("", |s| s.name.as_str());
        record(&mut t, status, e.details.as_deref(), None);
    }
    stability(&mut t);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(name: &str, status: &str, message: Option<&str>) -> LaunchTest {
        serde_json::from_value(serde_json::json!({
            "id": 1, "name": name, "status": status, "message": message,
            "testClass": "com.example.Tests", "startTime": 0, "testRunId": 1,
            "testCases": [{"testId": 1, "tcmType": "ZEBRUNNER", "testCaseId": "DEMO-1"}]
        }))
        .unwrap()
    }

    #[test]
    fn flips_count_changes_between_passed_and_failed_only() {
        let statuses = [
            "PASSED", "FAILED", "SKIPPED", "FAILED", "PASSED", "PASSED", "FAILED",
        ];
        let launches = statuses
            .iter()
            .enumerate()
            .map(|(i, s)| (i as i64 + 1, vec![test("login", s, Some("boom\nstack"))]));
        let h = histories(launches);
        let t = &h[&(Some("com.example.Tests".into()), "login".into())];
        assert_eq!(t.history, "PFSFPPF");
        assert_eq!(
            t.flips, 3,
            "P→F, F→P, P→F; the skip between two failures is no flip"
        );
        assert_eq!((t.passed, t.failed), (3, 3));
        assert_eq!(t.stability_pct, 50.0);
        assert_eq!(t.last_failure.as_deref(), Some("boom"));
        assert_eq!(t.last_failed_launch_id, Some(7));
        assert_eq!(t.test_cases, ["DEMO-1"]);
    }

    #[test]
    fn a_test_absent_from_some_launches_has_a_shorter_strip() {
        let h = histories([
            (
                1,
                vec![test("a", "PASSED", None), test("b", "PASSED", None)],
            ),
            (2, vec![test("a", "FAILED", None)]),
        ]);
        assert_eq!(
            h[&(Some("com.example.Tests".into()), "a".into())].history,
            "PF"
        );
        assert_eq!(
            h[&(Some("com.example.Tests".into()), "b".into())].history,
            "P"
        );
    }
}
