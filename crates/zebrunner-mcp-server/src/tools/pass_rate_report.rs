//! `pass_rate_report`: pass rate of automation launches per milestone,
//! platform, day or week, over a date range or the last N launches.
//!
//! Counts come from the launch list itself (pages of 100, newest first,
//! stopping at the start of the range), never from per-test calls. Only
//! `group_by=platform` reads each launch once more, because the list does not
//! carry the platform.

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
use time::OffsetDateTime;
use zebrunner_client::LaunchSummary;

use super::{
    args::{self, NameOrId},
    chart::{self, Bar, Chart},
    coverage_report::percent,
    error::ToolError,
    launch_window::{LaunchWindow, Selected, WindowArgs},
    output::{Format, ToolOutput, cell, finish_with_content, truncate},
    progress::Progress,
    reporting, scope,
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

const DEFAULT_LAST: u32 = 50;
const MAX_LAST: u32 = 1000;
/// Launches read one by one at most for `group_by=platform`.
const MAX_PLATFORM_LAUNCHES: usize = 200;
const NONE_GROUP: &str = "(none)";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    /// The launch's milestone (default).
    #[default]
    Milestone,
    /// The launch's platform (web, ios, android, api, ...).
    Platform,
    /// The UTC day the launch started (YYYY-MM-DD).
    Day,
    /// The ISO week the launch started (YYYY-Www).
    Week,
}

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PassRateReportArgs {
    pub project_key: String,
    /// Default milestone; day: UTC day, week: ISO week.
    #[serde(default)]
    pub group_by: GroupBy,
    /// YYYY-MM-DD or RFC 3339.
    pub from: Option<String>,
    /// YYYY-MM-DD or RFC 3339.
    pub to: Option<String>,
    /// Newest N launches (default 50 without `from`).
    #[schemars(range(min = 1, max = 1000))]
    pub last: Option<u32>,
    /// Milestone name or id.
    pub milestone: Option<NameOrId>,
    /// In the name or build.
    pub query: Option<String>,
    /// Count IN_PROGRESS and QUEUED launches too.
    #[serde(default)]
    pub include_unfinished: bool,
    /// `png` adds a bar chart image.
    #[serde(default)]
    pub chart: Chart,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema, PartialEq)]
pub struct PassRateOutput {
    pub project_key: String,
    pub group_by: GroupBy,
    pub from: Option<String>,
    pub to: Option<String>,
    pub last: Option<u32>,
    pub milestone: Option<String>,
    /// Groups: chronological for day/week and milestone (by first launch),
    /// by name for platform.
    pub groups: Vec<PassRateRow>,
    /// All launches counted.
    pub total: PassRateRow,
    /// Launches in range left out because they had not finished.
    pub unfinished_skipped: u64,
    /// Zebrunner launch-list pages read.
    pub pages_read: u32,
    /// Whether the page limit stopped the reading before the range ended.
    pub truncated: bool,
}

#[derive(Debug, Default, Clone, Serialize, JsonSchema, PartialEq)]
pub struct PassRateRow {
    /// Milestone, platform, day, week, or `TOTAL`.
    pub group: String,
    pub launches: u64,
    pub passed: u64,
    /// Failed tests, including known issues.
    pub failed: u64,
    /// Failed tests marked as known issues.
    pub known_issues: u64,
    pub skipped: u64,
    pub aborted: u64,
    /// passed + failed + skipped + aborted.
    pub executed: u64,
    /// passed / executed in percent (one decimal).
    pub pass_rate_pct: f64,
    /// passed / (executed - known issues) in percent: known failures ignored.
    pub pass_rate_without_known_pct: f64,
    /// Earliest and latest launch start in the group (RFC 3339).
    pub first_started_at: Option<String>,
    pub last_started_at: Option<String>,
}

impl ToolOutput for PassRateOutput {
    fn markdown(&self) -> String {
        let mut md = format!(
            "**{}: pass rate {:.1}% over {} launches** ({} without known issues), by {:?}\n",
            self.project_key,
            self.total.pass_rate_pct,
            self.total.launches,
            format_args!("{:.1}%", self.total.pass_rate_without_known_pct),
            self.group_by
        );
        let mut scope = Vec::new();
        if let Some(m) = &self.milestone {
            scope.push(format!("milestone {m}"));
        }
        if let Some(f) = &self.from {
            scope.push(format!("from {f}"));
        }
        if let Some(t) = &self.to {
            scope.push(format!("to {t}"));
        }
        if let Some(n) = self.last {
            scope.push(format!("newest {n} launches"));
        }
        if !scope.is_empty() {
            md.push_str(&format!("Scope: {}.\n", scope.join(", ")));
        }
        md.push_str("\n| Group | Launches | Passed | Failed | Known issues | Skipped | Aborted | Pass rate | Without known |\n|---|---|---|---|---|---|---|---|---|\n");
        for r in self.groups.iter().chain(std::iter::once(&self.total)) {
            let name = if std::ptr::eq(r, &self.total) {
                "**TOTAL**".to_string()
            } else {
                cell(&truncate(&r.group, 50)).into_owned()
            };
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {:.1}% | {:.1}% |\n",
                name,
                r.launches,
                r.passed,
                r.failed,
                r.known_issues,
                r.skipped,
                r.aborted,
                r.pass_rate_pct,
                r.pass_rate_without_known_pct
            ));
        }
        if self.unfinished_skipped > 0 {
            md.push_str(&format!(
                "\n{} unfinished launches were left out (include_unfinished=true counts them).\n",
                self.unfinished_skipped
            ));
        }
        if self.truncated {
            md.push_str(&format!(
                "\nStopped after {} pages of launches; narrow `from`/`to` or `last` for a complete report.\n",
                self.pages_read
            ));
        }
        md
    }
}

/// A launch reduced to what the report needs.
#[derive(Debug, Clone)]
pub(crate) struct Counted {
    pub key: String,
    pub started_at: Option<i64>,
    pub passed: i64,
    pub failed: i64,
    pub known: i64,
    pub skipped: i64,
    pub aborted: i64,
}

impl Counted {
    /// `l`'s counts, in group `key`.
    pub(crate) fn of(l: &LaunchSummary, key: String) -> Self {
        Counted {
            key,
            started_at: l.started_at,
            passed: l.passed,
            failed: l.failed,
            known: l.failed_as_known,
            skipped: l.skipped,
            aborted: l.aborted,
        }
    }
}

/// The group a launch belongs to (platform is filled in by the caller).
pub(crate) fn group_key(l: &LaunchSummary, by: GroupBy) -> String {
    let day = || {
        l.started_at
            .and_then(|ms| {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
            })
            .map(|t| t.date())
    };
    match by {
        GroupBy::Milestone => l
            .milestone
            .as_ref()
            .map(|m| m.name.clone())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| NONE_GROUP.into()),
        GroupBy::Platform => NONE_GROUP.into(),
        GroupBy::Day => day()
            .map(|d| d.to_string())
            .unwrap_or_else(|| NONE_GROUP.into()),
        GroupBy::Week => day()
            .map(|d| {
                let (y, w, _) = d.to_iso_week_date();
                format!("{y}-W{w:02}")
            })
            .unwrap_or_else(|| NONE_GROUP.into()),
    }
}

/// The counts and pass rates of `launches` together, as one row named `group`.
pub(crate) fn row(group: String, launches: &[&Counted]) -> PassRateRow {
    let sum = |f: fn(&Counted) -> i64| launches.iter().map(|l| f(l).max(0) as u64).sum::<u64>();
    let passed = sum(|l| l.passed);
    let failed = sum(|l| l.failed);
    let known = sum(|l| l.known);
    let skipped = sum(|l| l.skipped);
    let aborted = sum(|l| l.aborted);
    let executed = passed + failed + skipped + aborted;
    let starts: Vec<i64> = launches.iter().filter_map(|l| l.started_at).collect();
    PassRateRow {
        group,
        launches: launches.len() as u64,
        passed,
        failed,
        known_issues: known,
        skipped,
        aborted,
        executed,
        pass_rate_pct: percent(passed, executed),
        pass_rate_without_known_pct: percent(passed, executed.saturating_sub(known)),
        first_started_at: starts.iter().min().copied().and_then(reporting::epoch_ms),
        last_started_at: starts.iter().max().copied().and_then(reporting::epoch_ms),
    }
}

/// Group and count; pure, so it is unit tested.
pub(crate) fn aggregate(launches: &[Counted], by: GroupBy) -> (Vec<PassRateRow>, PassRateRow) {
    let mut groups: BTreeMap<String, Vec<&Counted>> = BTreeMap::new();
    for l in launches {
        groups.entry(l.key.clone()).or_default().push(l);
    }
    let mut rows: Vec<PassRateRow> = groups.into_iter().map(|(k, ls)| row(k, &ls)).collect();
    if by == GroupBy::Milestone {
        rows.sort_by(|a, b| {
            (a.first_started_at.is_none(), &a.first_started_at, &a.group).cmp(&(
                b.first_started_at.is_none(),
                &b.first_started_at,
                &b.group,
            ))
        });
    }
    let all: Vec<&Counted> = launches.iter().collect();
    (rows, row("TOTAL".into(), &all))
}

#[tool_router(router = pass_rate_report_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "pass_rate_report",
        description = "Pass rate of a project's launches per milestone, platform, day or week, over `from`/`to` or the newest `last`: passed, failed, known issues, skipped, aborted, rates with and without known issues, TOTAL row. `chart=png` adds a bar chart.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<PassRateOutput>(),
        annotations(title = "Pass rate report", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn pass_rate_report(
        &self,
        Extension(cx): Extension<CallContext>,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<PassRateReportArgs>,
    ) -> Result<CallToolResult, McpError> {
        let mut progress = Progress::new(context);
        let outcome = self
            .pass_rate_report_impl(&cx, &args, &mut progress)
            .await
            .and_then(|output| {
                let extra = match args.chart {
                    Chart::None => Vec::new(),
                    Chart::Png => vec![chart::image_block(&pass_rate_chart(&output)?)],
                };
                Ok((output, extra))
            });
        finish_with_content(&cx, args.format, outcome)
    }

    async fn pass_rate_report_impl(
        &self,
        cx: &CallContext,
        a: &PassRateReportArgs,
        progress: &mut Progress,
    ) -> Result<PassRateOutput, ToolError> {
        let client = &cx.client;
        let project = scope::project(cx, &a.project_key).await?;
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
                include_unfinished: a.include_unfinished,
            },
            DEFAULT_LAST,
            MAX_LAST,
        )
        .await?;
        let Selected {
            launches: picked,
            unfinished,
            pages,
            truncated,
        } = window
            .select(client, project_id, progress, "pass_rate_report")
            .await?;
        let platforms: Vec<String> = if a.group_by == GroupBy::Platform {
            if picked.len() > MAX_PLATFORM_LAUNCHES {
                return Err(ToolError::invalid(format!(
                    "group_by=platform reads each launch once and is limited to {MAX_PLATFORM_LAUNCHES} launches; {} are in scope: narrow `from`/`to` or set `last`",
                    picked.len()
                )));
            }
            let ids: Vec<i64> = picked.iter().map(|l| l.id).collect();
            progress.before_page()?;
            stream::iter(ids)
                .map(|id| async move {
                    scope::launch(client, project_id, id).await.map(|l| {
                        l.platform
                            .filter(|p| !p.trim().is_empty())
                            .unwrap_or_else(|| NONE_GROUP.into())
                    })
                })
                .buffered(4)
                .try_collect()
                .await?
        } else {
            Vec::new()
        };
        let counted: Vec<Counted> = picked
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let key = platforms
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| group_key(l, a.group_by));
                Counted::of(l, key)
            })
            .collect();
        let (groups, total) = aggregate(&counted, a.group_by);
        Ok(PassRateOutput {
            project_key: project,
            group_by: a.group_by,
            from: window.from.map(args::rfc3339),
            to: window.to.map(args::rfc3339),
            last: window.last,
            milestone: window.milestone,
            groups,
            total,
            unfinished_skipped: unfinished,
            pages_read: pages,
            truncated,
        })
    }
}

fn pass_rate_chart(o: &PassRateOutput) -> Result<Vec<u8>, ToolError> {
    let bars: Vec<Bar> = o
        .groups
        .iter()
        .map(|r| Bar {
            label: r.group.clone(),
            percent: r.pass_rate_pct,
            passed: None,
        })
        .collect();
    chart::percent_bars(
        &format!(
            "{} pass rate by {:?}, total {:.1}%",
            o.project_key, o.group_by, o.total.pass_rate_pct
        ),
        &bars,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn launch(v: serde_json::Value) -> LaunchSummary {
        serde_json::from_value(v).unwrap()
    }

    fn counted(key: &str, started: i64, p: i64, f: i64, k: i64, s: i64, a: i64) -> Counted {
        Counted {
            key: key.into(),
            started_at: Some(started),
            passed: p,
            failed: f,
            known: k,
            skipped: s,
            aborted: a,
        }
    }

    #[test]
    fn groups_and_total() {
        let ls = vec![
            counted("Release 1.1", 2_000, 8, 2, 1, 0, 0),
            counted("Release 1.0", 1_000, 5, 3, 0, 1, 1),
            counted("Release 1.1", 3_000, 10, 0, 0, 0, 0),
        ];
        let (rows, total) = aggregate(&ls, GroupBy::Milestone);
        let got: Vec<(&str, u64, u64, f64)> = rows
            .iter()
            .map(|r| (r.group.as_str(), r.launches, r.executed, r.pass_rate_pct))
            .collect();
        // Ordered by first launch: 1.0 started before 1.1.
        assert_eq!(
            got,
            vec![("Release 1.0", 1, 10, 50.0), ("Release 1.1", 2, 20, 90.0)]
        );
        assert_eq!(rows[1].pass_rate_without_known_pct, 94.7);
        assert_eq!(
            (
                total.launches,
                total.passed,
                total.failed,
                total.known_issues
            ),
            (3, 23, 5, 1)
        );
        assert_eq!((total.skipped, total.aborted, total.executed), (1, 1, 30));
        assert_eq!(total.pass_rate_pct, 76.7);
    }

    #[test]
    fn group_keys() {
        // 2026-01-06 (a Tuesday) is in ISO week 2.
        let l = launch(json!({"id": 1, "name": "n", "status": "PASSED",
            "startedAt": "1767657600000", "milestone": {"id": 5, "name": "Release 1.2"}}));
        assert_eq!(group_key(&l, GroupBy::Milestone), "Release 1.2");
        assert_eq!(group_key(&l, GroupBy::Day), "2026-01-06");
        assert_eq!(group_key(&l, GroupBy::Week), "2026-W02");
        let bare = launch(json!({"id": 2, "name": "n", "status": "PASSED"}));
        assert_eq!(group_key(&bare, GroupBy::Milestone), NONE_GROUP);
        assert_eq!(group_key(&bare, GroupBy::Week), NONE_GROUP);
    }

    #[test]
    fn empty_report_and_chart() {
        let (rows, total) = aggregate(&[], GroupBy::Week);
        assert!(rows.is_empty());
        assert_eq!(total.pass_rate_pct, 0.0);
        let out = PassRateOutput {
            project_key: "DEMO".into(),
            group_by: GroupBy::Week,
            from: None,
            to: None,
            last: Some(5),
            milestone: None,
            groups: aggregate(&[counted("2026-W02", 1, 1, 1, 0, 0, 0)], GroupBy::Week).0,
            total,
            unfinished_skipped: 0,
            pages_read: 1,
            truncated: false,
        };
        let (w, h, _) = super::super::chart::tests::decode(&pass_rate_chart(&out).unwrap());
        assert_eq!((w, h), (chart::WIDTH, chart::HEIGHT));
        assert!(out.markdown().contains("**TOTAL**"));
    }
}
