//! `defect_analytics`: defects and platform results over a dashboard period, read through
//! Zebrunner's own widget SQL templates (anchor §3.5) rather than launch by launch: one
//! request per view (two for one defect), whatever the number of launches.
//!
//! One tool with a `view`, not four: `tools/list` is read by the model on every turn.

use std::collections::BTreeSet;

use rmcp::{
    ErrorData as McpError,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use zebrunner_client::{MAX_WIDGET_ROWS, WidgetRow, WidgetRows};

use super::{
    coverage_report::percent,
    error::ToolError,
    output::{Format, ToolOutput, cell, finish, truncate},
    scope,
    widget_rows::{absolute, anchor, decimal, integer, number, of_total, query_param, text},
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

const DEFAULT_LIMIT: u32 = 10;
/// Characters of a failure reason kept per row: enough to recognise it.
const REASON_CHARS: usize = 300;

/// Zebrunner's template ids (instance defaults, anchor §3.5).
const TOP_BUGS: i64 = 4;
const FAILURE_INFO: i64 = 6;
const RESULTS_BY_PLATFORM: i64 = 8;
const BUG_REVIEW: i64 = 9;
const FAILURE_DETAILS: i64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum View {
    TopDefects,
    DefectReview,
    Defect,
    Platforms,
}

// The dashboard periods, spelled as Zebrunner spells them (a doc comment would cost
// every tools/list its bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum Period {
    Today,
    #[serde(rename = "Last 24 Hours")]
    Last24Hours,
    Week,
    #[default]
    #[serde(rename = "Last 7 Days")]
    Last7Days,
    #[serde(rename = "Last 14 Days")]
    Last14Days,
    Month,
    #[serde(rename = "Last 30 Days")]
    Last30Days,
    Quarter,
    #[serde(rename = "Last 90 Days")]
    Last90Days,
    Year,
    #[serde(rename = "Last 365 Days")]
    Last365Days,
    Total,
}

impl View {
    fn as_str(self) -> &'static str {
        match self {
            View::TopDefects => "top_defects",
            View::DefectReview => "defect_review",
            View::Defect => "defect",
            View::Platforms => "platforms",
        }
    }
}

impl Period {
    fn as_str(self) -> &'static str {
        match self {
            Period::Today => "Today",
            Period::Last24Hours => "Last 24 Hours",
            Period::Week => "Week",
            Period::Last7Days => "Last 7 Days",
            Period::Last14Days => "Last 14 Days",
            Period::Month => "Month",
            Period::Last30Days => "Last 30 Days",
            Period::Quarter => "Quarter",
            Period::Last90Days => "Last 90 Days",
            Period::Year => "Year",
            Period::Last365Days => "Last 365 Days",
            Period::Total => "Total",
        }
    }
}

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DefectAnalyticsArgs {
    pub project_key: String,
    pub view: View,
    #[serde(default)]
    pub period: Period,
    /// view=defect only: from defect_review.
    pub hashcode: Option<i64>,
    /// Rows (default 10).
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema, PartialEq)]
pub struct DefectAnalyticsOutput {
    pub project_key: String,
    /// As asked (plain strings: the enums would repeat their values here).
    pub view: String,
    pub period: String,
    /// The view again, for the Markdown (not part of the answer).
    #[serde(skip)]
    pub kind: View,
    /// Failures (top_defects, defect) or executed tests (platforms) in the period.
    pub total: u64,
    /// view=defect: its error and the launches it failed in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launches: Option<u64>,
    pub rows: Vec<DefectRow>,
    /// Rows Zebrunner returned, before `limit`.
    pub rows_total: u64,
}

/// One row; the fields a view does not use are left out.
#[derive(Debug, Default, Serialize, JsonSchema, PartialEq)]
pub struct DefectRow {
    /// Defect key (or TO REVIEW), platform, or test (view=defect).
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failures: Option<u64>,
    /// Share of failures, or pass rate (platforms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hashcode: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub defect: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known_issues: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aborted: Option<u64>,
}

impl ToolOutput for DefectAnalyticsOutput {
    fn markdown(&self) -> String {
        let link = |name: &str, url: &Option<String>| match url {
            Some(u) => format!("[{}]({u})", cell(name)),
            None => cell(name).into_owned(),
        };
        let opt = |v: Option<u64>| v.map_or_else(|| "-".into(), |n| n.to_string());
        let period = &self.period;
        let mut md = match self.kind {
            View::TopDefects => format!(
                "**{}: top defects, {period}** ({} failures)\n\n| Defect | Failures | Share |\n|---|---|---|\n",
                self.project_key, self.total
            ),
            View::DefectReview => format!(
                "**{}: defect review, {period}**\n\n| Defect | Failures | Hashcode | Since | Last | Reason |\n|---|---|---|---|---|---|\n",
                self.project_key
            ),
            View::Defect => format!(
                "**{}: {} failures in {} launches, {period}**\n\n{}\n\n| Launch | Test | Defect |\n|---|---|---|\n",
                self.project_key,
                self.total,
                opt(self.launches),
                cell(self.reason.as_deref().unwrap_or_default())
            ),
            View::Platforms => format!(
                "**{}: results by platform, {period}** ({} tests)\n\n| Platform | Passed | Failed | Known issues | Skipped | Aborted | Pass rate |\n|---|---|---|---|---|---|---|\n",
                self.project_key, self.total
            ),
        };
        for r in &self.rows {
            let line = match self.kind {
                View::TopDefects => format!(
                    "| {} | {} | {:.1}% |",
                    link(&r.name, &r.url),
                    opt(r.failures),
                    r.pct.unwrap_or_default()
                ),
                View::DefectReview => format!(
                    "| {} | {} | {} | {} | {} | {} |",
                    link(&r.name, &r.url),
                    opt(r.failures),
                    r.hashcode.map_or_else(|| "-".into(), |h| h.to_string()),
                    r.since.as_deref().unwrap_or("-"),
                    r.last_seen.as_deref().unwrap_or("-"),
                    cell(&truncate(r.reason.as_deref().unwrap_or_default(), 120))
                ),
                View::Defect => format!(
                    "| {} ({}) | {} | {} |",
                    cell(r.launch.as_deref().unwrap_or_default()),
                    r.launch_id.map_or_else(|| "-".into(), |i| i.to_string()),
                    link(&r.name, &r.url),
                    r.defect.as_deref().unwrap_or("-")
                ),
                View::Platforms => format!(
                    "| {} | {} | {} | {} | {} | {} | {:.1}% |",
                    cell(&r.name),
                    opt(r.passed),
                    opt(r.failed),
                    opt(r.known_issues),
                    opt(r.skipped),
                    opt(r.aborted),
                    r.pct.unwrap_or_default()
                ),
            };
            md.push_str(&line);
            md.push('\n');
        }
        if self.rows.is_empty() {
            md.push_str("\nNothing in this period; a longer `period` may have some.\n");
        } else if self.rows_total > self.rows.len() as u64 {
            md.push_str(&format!(
                "\n{} of {} rows; raise `limit` for more.\n",
                self.rows.len(),
                self.rows_total
            ));
        }
        md
    }
}

/// `paramsConfig` of the dashboard widgets: every filter empty but the period.
fn dashboard_params(period: Period, dashboard: &str) -> Value {
    json!({
        "BROWSER": [], "DEFECT": [], "APPLICATION": [], "BUILD": [], "PRIORITY": [],
        "RUN": [], "USER": [], "ENV": [], "MILESTONE": [], "PLATFORM": [], "STATUS": [],
        "LOCALE": [], "PERIOD": period.as_str(), "dashboardName": dashboard, "isReact": true,
    })
}

/// `paramsConfig` of the failures-analysis widgets for one message hash.
fn failure_params(period: Period, hashcode: i64) -> Value {
    json!({
        "PERIOD": period.as_str(), "dashboardName": "Failures analysis",
        "hashcode": hashcode.to_string(), "isReact": true,
    })
}

/// A defect cell: its key (or TO REVIEW) and its link.
fn defect_cell(web: &str, row: &WidgetRow, column: &str) -> (String, Option<String>) {
    let (name, href) = anchor(&text(row, column));
    (name, href.map(|h| absolute(web, &h)))
}

fn top_defect(web: &str, row: &WidgetRow) -> DefectRow {
    let (name, url) = defect_cell(web, row, "DEFECT");
    DefectRow {
        name,
        url,
        failures: number(row, "FAILURES"),
        pct: decimal(row, "%"),
        ..DefectRow::default()
    }
}

fn review_row(web: &str, row: &WidgetRow) -> DefectRow {
    let (name, url) = defect_cell(web, row, "DEFECT");
    let (_, count_href) = anchor(&text(row, "#"));
    let reason = text(row, "REASON").replace("\\n", "\n");
    DefectRow {
        name,
        url,
        failures: number(row, "#"),
        hashcode: count_href
            .as_deref()
            .and_then(|h| query_param(h, "hashcode"))
            .and_then(|h| h.parse().ok()),
        reason: Some(truncate(&reason, REASON_CHARS)),
        since: Some(text(row, "SINCE")).filter(|s| !s.is_empty()),
        last_seen: Some(text(row, "REPRO")).filter(|s| !s.is_empty()),
        ..DefectRow::default()
    }
}

fn failure_row(web: &str, row: &WidgetRow) -> DefectRow {
    let (name, href) = anchor(&text(row, "TEST"));
    let (defect, _) = anchor(&text(row, "DEFECT"));
    DefectRow {
        name,
        url: href.map(|h| absolute(web, &h)),
        defect: Some(defect).filter(|d| !d.is_empty()),
        launch_id: integer(row, "RUN_ID"),
        test_id: integer(row, "TEST_ID"),
        launch: Some(anchor(&text(row, "RUN")).0).filter(|r| !r.is_empty()),
        ..DefectRow::default()
    }
}

/// Platform rows from column rows (`{PLATFORM, PASSED, FAILED, ...}`) or,
/// when the template answers label/value rows, one row for all platforms.
fn platform_rows(rows: &[WidgetRow]) -> Vec<DefectRow> {
    let mut out: Vec<DefectRow> = if rows.iter().any(|r| r.contains_key("label")) {
        let mut all = DefectRow {
            name: "all".into(),
            ..DefectRow::default()
        };
        for r in rows {
            let n = number(r, "value");
            let slot = match text(r, "label")
                .to_ascii_lowercase()
                .replace('_', " ")
                .as_str()
            {
                "passed" => &mut all.passed,
                "failed" => &mut all.failed,
                "known issue" | "known issues" => &mut all.known_issues,
                "skipped" | "blocked" | "queued" => &mut all.skipped,
                "aborted" => &mut all.aborted,
                _ => continue,
            };
            *slot = Some(slot.unwrap_or(0) + n.unwrap_or(0));
        }
        vec![all]
    } else {
        rows.iter()
            .map(|r| DefectRow {
                name: text(r, "PLATFORM"),
                passed: number(r, "PASSED"),
                failed: number(r, "FAILED"),
                known_issues: number(r, "KNOWN_ISSUE"),
                skipped: number(r, "SKIPPED"),
                aborted: number(r, "ABORTED"),
                ..DefectRow::default()
            })
            .collect()
    };
    for r in &mut out {
        r.pct = Some(percent(r.passed.unwrap_or(0), executed(r)));
    }
    out
}

/// Tests with a result (in-progress ones are not counted).
fn executed(r: &DefectRow) -> u64 {
    [r.passed, r.failed, r.known_issues, r.skipped, r.aborted]
        .iter()
        .map(|n| n.unwrap_or(0))
        .sum()
}

#[tool_router(router = defect_analytics_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "defect_analytics",
        description = "Defects over a period, from Zebrunner's widgets. view: top_defects (failures per defect), defect_review (failure groups: defect, count, hashcode, reason, first/last seen), defect (one hashcode's failures and launches), platforms (results, pass rate).",
        output_schema = rmcp::handler::server::tool::schema_for_output::<DefectAnalyticsOutput>(),
        annotations(title = "Defect analytics", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn defect_analytics(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<DefectAnalyticsArgs>,
    ) -> Result<CallToolResult, McpError> {
        let outcome = self.defect_analytics_impl(&cx, &args).await;
        finish(&cx, args.format, outcome)
    }

    async fn defect_analytics_impl(
        &self,
        cx: &CallContext,
        a: &DefectAnalyticsArgs,
    ) -> Result<DefectAnalyticsOutput, ToolError> {
        // Refused before any request: the arguments alone say it cannot work.
        if a.view == View::Defect && a.hashcode.is_none() {
            return Err(missing_hashcode());
        }
        if a.view != View::Defect && a.hashcode.is_some() {
            return Err(ToolError::invalid(
                "`hashcode` is only read by view=defect; leave it out for top_defects, defect_review and platforms",
            ));
        }
        let limit = a.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, 100) as usize;
        let client = &cx.client;
        let project = scope::project(cx, &a.project_key).await?;
        let project_id = client.project_id(&project).await?;
        let web = client.web_url();
        let run = |template: i64, params: Value| async move {
            client
                .widget_sql(project_id, template, params, MAX_WIDGET_ROWS)
                .await
                .map_err(ToolError::from)
        };
        let mut out = DefectAnalyticsOutput {
            project_key: project.clone(),
            view: a.view.as_str().to_owned(),
            kind: a.view,
            period: a.period.as_str().to_owned(),
            total: 0,
            reason: None,
            launches: None,
            rows: Vec::new(),
            rows_total: 0,
        };
        let rows: Vec<DefectRow> = match a.view {
            View::TopDefects => {
                let got = run(
                    TOP_BUGS,
                    dashboard_params(a.period, "Bugs repro rate (last 7 days)"),
                )
                .await?;
                let rows: Vec<DefectRow> = got.rows.iter().map(|r| top_defect(web, r)).collect();
                // Every row says "n of total"; without rows there were no failures.
                out.total = got
                    .rows
                    .first()
                    .and_then(|r| of_total(r, "FAILURES"))
                    .unwrap_or_else(|| rows.iter().filter_map(|r| r.failures).sum());
                out.rows_total = got.total as u64;
                rows
            }
            View::DefectReview => {
                let mut params = dashboard_params(a.period, "Bug review");
                params["ERROR_COUNT"] = json!("0");
                let got = run(BUG_REVIEW, params).await?;
                let rows: Vec<DefectRow> = got.rows.iter().map(|r| review_row(web, r)).collect();
                out.total = rows.iter().filter_map(|r| r.failures).sum();
                out.rows_total = got.total as u64;
                rows
            }
            View::Defect => {
                let hash = a.hashcode.ok_or_else(missing_hashcode)?;
                let (info, details) = futures::try_join!(
                    run(FAILURE_INFO, failure_params(a.period, hash)),
                    run(FAILURE_DETAILS, failure_params(a.period, hash)),
                )?;
                defect_rows(&mut out, hash, &info, &details, web)?
            }
            View::Platforms => {
                let got = run(
                    RESULTS_BY_PLATFORM,
                    dashboard_params(a.period, "Results by platform"),
                )
                .await?;
                let rows = platform_rows(&got.rows);
                out.total = rows.iter().map(executed).sum();
                out.rows_total = rows.len() as u64;
                rows
            }
        };
        out.rows = rows.into_iter().take(limit).collect();
        Ok(out)
    }
}

fn missing_hashcode() -> ToolError {
    ToolError::invalid(
        "view=defect needs `hashcode`, the failure group's hash: view=defect_review lists them",
    )
}

/// The defect view: the failure summary (template 6) and each failure (template 10).
fn defect_rows(
    out: &mut DefectAnalyticsOutput,
    hash: i64,
    info: &WidgetRows,
    details: &WidgetRows,
    web: &str,
) -> Result<Vec<DefectRow>, ToolError> {
    let Some(summary) = info.rows.first() else {
        return Err(ToolError::invalid(format!(
            "no failure with hashcode {hash} in {}: take a hashcode from view=defect_review for the same period, or widen `period`",
            out.period
        )));
    };
    let rows: Vec<DefectRow> = details.rows.iter().map(|r| failure_row(web, r)).collect();
    out.total = number(summary, "#").unwrap_or(rows.len() as u64);
    out.reason = Some(truncate(
        &text(summary, "ERROR/STABILITY").replace("\\n", "\n"),
        REASON_CHARS,
    ));
    let launches: BTreeSet<i64> = rows.iter().filter_map(|r| r.launch_id).collect();
    out.launches = Some(launches.len() as u64);
    out.rows_total = details.total as u64;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(v: Value) -> WidgetRow {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn rows_of_each_template() {
        let web = "https://z.test";
        let top = top_defect(
            web,
            &row(
                json!({"DEFECT": "<a href=\"https://j.test/browse/SHOP-1\">SHOP-1</a>", "FAILURES": "24 of 225", "%": "10.6"}),
            ),
        );
        assert_eq!(
            (top.name.as_str(), top.failures, top.pct),
            ("SHOP-1", Some(24), Some(10.6))
        );
        assert_eq!(top.url.as_deref(), Some("https://j.test/browse/SHOP-1"));
        let review = review_row(
            web,
            &row(
                json!({"DEFECT": "TO REVIEW", "#": "<a href=\"../../DEMO/automation-dashboards/99?hashcode=-5&PERIOD=Total\">3</a>", "REASON": "a\\nb", "SINCE": "2026-01-02", "REPRO": "2026-01-09"}),
            ),
        );
        assert_eq!((review.failures, review.hashcode), (Some(3), Some(-5)));
        assert_eq!(review.reason.as_deref(), Some("a\nb"));
        assert_eq!(review.url, None);
        let failure = failure_row(
            web,
            &row(
                json!({"RUN_ID": 7, "TEST_ID": "7001", "RUN": "Smoke", "TEST": "<a href=\"../../DEMO/automation-launches/7?testId=7001\">login</a>", "DEFECT": ""}),
            ),
        );
        assert_eq!(
            (failure.launch_id, failure.test_id, failure.defect),
            (Some(7), Some(7001), None)
        );
        assert_eq!(
            failure.url.as_deref(),
            Some("https://z.test/projects/DEMO/automation-launches/7?testId=7001")
        );
    }

    #[test]
    fn platforms_in_both_shapes() {
        let columns = platform_rows(&[row(
            json!({"PLATFORM": "web", "PASSED": 8, "FAILED": 1, "KNOWN_ISSUE": 1, "SKIPPED": 0, "ABORTED": 0}),
        )]);
        assert_eq!(columns[0].pct, Some(80.0));
        let labels = platform_rows(&[
            row(json!({"label": "PASSED", "value": 3})),
            row(json!({"label": "BLOCKED", "value": 1})),
        ]);
        assert_eq!(
            (labels[0].passed, labels[0].skipped, labels[0].pct),
            (Some(3), Some(1), Some(75.0))
        );
    }
}
