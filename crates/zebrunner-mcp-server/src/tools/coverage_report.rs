//! `coverage_report`: automation coverage of a project's test cases per
//! suite (root suites, or suites at a chosen depth), with a TOTAL row.
//!
//! It costs the fewest Zebrunner requests possible: every case is read once
//! in pages of 100 (no filter, so no per-suite requests), and the suite list
//! once; grouping and counting happen here.

use std::collections::{BTreeMap, HashMap};

use rmcp::{
    ErrorData as McpError, RoleServer,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    service::RequestContext,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use zebrunner_client::{TestCase, TokenPageRequest};

use super::{
    chart::{self, Bar, Chart},
    error::ToolError,
    hierarchy::Hierarchy,
    output::{Format, ToolOutput, cell, finish_with_content, truncate},
    progress::Progress,
    scope,
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

const ZEBRUNNER_PAGE: u32 = 100;
const NO_SUITE: &str = "(no suite)";
const NO_STATE: &str = "(none)";

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CoverageReportArgs {
    pub project_key: String,
    /// Suite level to group by: 1 = root suites (default), 2 = their children...
    #[schemars(range(min = 1, max = 10))]
    pub depth: Option<usize>,
    /// Count deprecated cases too.
    #[serde(default)]
    pub include_deprecated: bool,
    /// Count draft cases too.
    #[serde(default)]
    pub include_drafts: bool,
    /// Default: states named *automated* but not Not/To Be Automated.
    #[serde(default)]
    pub automated_states: Vec<String>,
    /// `png` adds a bar chart image.
    #[serde(default)]
    pub chart: Chart,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema, PartialEq)]
pub struct CoverageOutput {
    pub project_key: String,
    /// Suite level of the rows (1 = root suites).
    pub depth: usize,
    /// Automation states seen, in Zebrunner's order; the keys of `by_state`.
    pub states: Vec<String>,
    /// States counted as automated.
    pub automated_states: Vec<String>,
    /// One row per suite at `depth` that holds counted cases, in tree order.
    pub rows: Vec<CoverageRow>,
    /// All counted cases.
    pub total: CoverageRow,
    /// Cases left out.
    pub excluded: Excluded,
    /// Zebrunner requests for cases (pages of 100) and suites.
    pub case_pages_read: u32,
}

#[derive(Debug, Serialize, JsonSchema, PartialEq)]
pub struct CoverageRow {
    /// Suite id (none for the TOTAL row and for cases without a suite).
    pub suite_id: Option<i64>,
    /// Suite path, `TOTAL`, or `(no suite)`.
    pub suite: String,
    pub total: u64,
    pub automated: u64,
    /// automated / total in percent, one decimal.
    pub coverage_pct: f64,
    /// Cases per automation state name.
    pub by_state: BTreeMap<String, u64>,
}

#[derive(Debug, Default, Serialize, JsonSchema, PartialEq)]
pub struct Excluded {
    pub deprecated: u64,
    pub drafts: u64,
    pub deleted: u64,
}

impl ToolOutput for CoverageOutput {
    fn markdown(&self) -> String {
        let mut md = format!(
            "**{}: automation coverage {:.1}% ({} of {} cases automated)**, by suite at depth {}\n",
            self.project_key,
            self.total.coverage_pct,
            self.total.automated,
            self.total.total,
            self.depth
        );
        md.push_str(&format!(
            "Automated means: {}. Excluded: {} deprecated, {} drafts, {} deleted.\n\n",
            self.automated_states.join(", "),
            self.excluded.deprecated,
            self.excluded.drafts,
            self.excluded.deleted
        ));
        md.push_str("| Suite | Cases | Automated | Coverage |");
        for s in &self.states {
            md.push_str(&format!(" {} |", cell(s)));
        }
        md.push_str("\n|---|---|---|---|");
        md.push_str(&"---|".repeat(self.states.len()));
        md.push('\n');
        for row in self.rows.iter().chain(std::iter::once(&self.total)) {
            let name = if row.suite_id.is_none() && row.suite == "TOTAL" {
                "**TOTAL**".to_string()
            } else {
                cell(&truncate(&row.suite, 70)).into_owned()
            };
            md.push_str(&format!(
                "| {} | {} | {} | {:.1}% |",
                name, row.total, row.automated, row.coverage_pct
            ));
            for s in &self.states {
                md.push_str(&format!(" {} |", row.by_state.get(s).copied().unwrap_or(0)));
            }
            md.push('\n');
        }
        md
    }
}

/// Which states count as automated.
pub(crate) fn is_automated(state: &str, chosen: &[String]) -> bool {
    if !chosen.is_empty() {
        return chosen.iter().any(|c| c.trim().eq_ignore_ascii_case(state));
    }
    let s = state.to_ascii_lowercase();
    s.contains("automated")
        && !s.starts_with("not")
        && !s.starts_with("to be")
        && !s.contains("manual")
}

/// A case that counts by default: not deleted, deprecated or a draft.
pub(crate) fn is_live(case: &TestCase) -> bool {
    !case.deleted && !case.deprecated && !case.draft
}

/// Whether a case's automation state is an automated one (by its name, see [`is_automated`]).
pub(crate) fn case_is_automated(case: &TestCase) -> bool {
    case.automation_state
        .as_ref()
        .is_some_and(|s| is_automated(&s.name, &[]))
}

pub(crate) struct Options<'a> {
    pub depth: usize,
    pub include_deprecated: bool,
    pub include_drafts: bool,
    pub automated_states: &'a [String],
}

/// Count cases per suite at `depth`; pure, so it is unit tested.
pub(crate) fn aggregate(
    project_key: &str,
    cases: &[TestCase],
    hierarchy: &Hierarchy<'_>,
    o: &Options<'_>,
    pages: u32,
) -> CoverageOutput {
    let mut excluded = Excluded::default();
    // State names with their ids, for column order.
    let mut state_ids: HashMap<String, i64> = HashMap::new();
    let mut groups: HashMap<Option<i64>, BTreeMap<String, u64>> = HashMap::new();
    for case in cases {
        if case.deleted {
            excluded.deleted += 1;
            continue;
        }
        if case.deprecated && !o.include_deprecated {
            excluded.deprecated += 1;
            continue;
        }
        if case.draft && !o.include_drafts {
            excluded.drafts += 1;
            continue;
        }
        let state = match &case.automation_state {
            Some(s) if !s.name.trim().is_empty() => {
                state_ids.entry(s.name.clone()).or_insert(s.id);
                s.name.clone()
            }
            _ => {
                state_ids.entry(NO_STATE.into()).or_insert(i64::MAX);
                NO_STATE.to_string()
            }
        };
        let group = case.test_suite.as_ref().and_then(|s| {
            let lineage = hierarchy.lineage(s.id);
            let at = lineage.get(o.depth - 1).or(lineage.last())?;
            Some(at.id)
        });
        *groups.entry(group).or_default().entry(state).or_default() += 1;
    }
    let mut states: Vec<String> = state_ids.keys().cloned().collect();
    states.sort_by_key(|s| (state_ids[s], s.clone()));
    let mut automated_states: Vec<String> = states
        .iter()
        .filter(|s| s.as_str() != NO_STATE && is_automated(s, o.automated_states))
        .cloned()
        .collect();
    if !o.automated_states.is_empty() {
        automated_states = o
            .automated_states
            .iter()
            .map(|s| s.trim().to_string())
            .collect();
    }
    let row = |suite_id: Option<i64>, suite: String, by_state: BTreeMap<String, u64>| {
        let total: u64 = by_state.values().sum();
        let automated: u64 = by_state
            .iter()
            .filter(|(s, _)| s.as_str() != NO_STATE && is_automated(s, o.automated_states))
            .map(|(_, n)| n)
            .sum();
        CoverageRow {
            suite_id,
            suite,
            total,
            automated,
            coverage_pct: percent(automated, total),
            by_state,
        }
    };
    let mut rows = Vec::new();
    let mut grand: BTreeMap<String, u64> = BTreeMap::new();
    for &(id, _) in &hierarchy.depth_first(None) {
        if let Some(by_state) = groups.remove(&Some(id)) {
            for (s, n) in &by_state {
                *grand.entry(s.clone()).or_default() += n;
            }
            rows.push(row(
                Some(id),
                hierarchy.path(id).unwrap_or_default(),
                by_state,
            ));
        }
    }
    // Cases without a suite, or in a suite missing from the list.
    let mut orphans: BTreeMap<String, u64> = BTreeMap::new();
    for (_, by_state) in groups {
        for (s, n) in by_state {
            *orphans.entry(s).or_default() += n;
        }
    }
    if !orphans.is_empty() {
        for (s, n) in &orphans {
            *grand.entry(s.clone()).or_default() += n;
        }
        rows.push(row(None, NO_SUITE.into(), orphans));
    }
    CoverageOutput {
        project_key: project_key.to_string(),
        depth: o.depth,
        states,
        automated_states,
        total: row(None, "TOTAL".into(), grand),
        rows,
        excluded,
        case_pages_read: pages,
    }
}

/// `part / whole` in percent, one decimal; 0 for an empty whole.
pub(crate) fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    }
}

#[tool_router(router = coverage_report_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "coverage_report",
        description = "Automation coverage per suite (root suites or level `depth`): cases per automation state, automated count, coverage % and a TOTAL row; deprecated and draft cases only if included. `chart=png` adds a bar chart.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<CoverageOutput>(),
        annotations(title = "Automation coverage report", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn coverage_report(
        &self,
        Extension(cx): Extension<CallContext>,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<CoverageReportArgs>,
    ) -> Result<CallToolResult, McpError> {
        let mut progress = Progress::new(context);
        let outcome = self
            .coverage_report_impl(&cx, &args, &mut progress)
            .await
            .and_then(|output| {
                let extra = match args.chart {
                    Chart::None => Vec::new(),
                    Chart::Png => vec![chart::image_block(&coverage_chart(&output)?)],
                };
                Ok((output, extra))
            });
        finish_with_content(&cx, args.format, outcome)
    }

    async fn coverage_report_impl(
        &self,
        cx: &CallContext,
        a: &CoverageReportArgs,
        progress: &mut Progress,
    ) -> Result<CoverageOutput, ToolError> {
        let client = &cx.client;
        let project = scope::project(cx, &a.project_key).await?;
        let depth = a.depth.unwrap_or(1);
        if !(1..=10).contains(&depth) {
            return Err(ToolError::invalid(format!(
                "`depth` must be between 1 and 10, got {depth} (1 = root suites)"
            )));
        }
        let suites = client.all_test_suites(&project).await?;
        let mut cases = Vec::new();
        let mut token = None;
        let mut pages = 0u32;
        loop {
            progress.before_page()?;
            let page = client
                .test_cases_page(
                    &project,
                    None,
                    TokenPageRequest {
                        max_page_size: ZEBRUNNER_PAGE,
                        page_token: token,
                    },
                )
                .await?;
            pages += 1;
            cases.extend(page.items);
            progress
                .after_page(cases.len() as u64, None, "coverage_report")
                .await;
            match page.next_page_token {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        let hierarchy = Hierarchy::new(&suites);
        let output = aggregate(
            &project,
            &cases,
            &hierarchy,
            &Options {
                depth,
                include_deprecated: a.include_deprecated,
                include_drafts: a.include_drafts,
                automated_states: &a.automated_states,
            },
            pages,
        );
        if !a.automated_states.is_empty() {
            let unknown: Vec<&String> = a
                .automated_states
                .iter()
                .filter(|s| {
                    !output
                        .states
                        .iter()
                        .any(|k| k.eq_ignore_ascii_case(s.trim()))
                })
                .collect();
            if !unknown.is_empty() {
                return Err(ToolError::invalid(format!(
                    "`automated_states` names states no counted case has: {unknown:?}; the states seen are: {} (get_project_settings lists them all)",
                    output.states.join(", ")
                )));
            }
        }
        Ok(output)
    }
}

fn coverage_chart(o: &CoverageOutput) -> Result<Vec<u8>, ToolError> {
    let bars: Vec<Bar> = o
        .rows
        .iter()
        .map(|r| Bar {
            // The whole path: the chart wraps it or keeps its end, which
            // tells suites of the same name under different parents apart.
            label: r.suite.clone(),
            percent: r.coverage_pct,
            passed: None,
        })
        .collect();
    chart::percent_bars(
        &format!(
            "{} automation coverage by suite, total {:.1}%",
            o.project_key, o.total.coverage_pct
        ),
        &bars,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use zebrunner_client::TestSuite;

    fn suites() -> Vec<TestSuite> {
        serde_json::from_value(json!([
            {"id": 1, "title": "Auth"},
            {"id": 2, "title": "Login", "parentSuiteId": 1},
            {"id": 3, "title": "Cart"},
            {"id": 4, "title": "Deep", "parentSuiteId": 2}
        ]))
        .unwrap()
    }

    fn case(
        id: i64,
        suite: Option<i64>,
        state: (i64, &str),
        flags: (bool, bool, bool),
    ) -> TestCase {
        let mut v = json!({"id": id, "key": format!("D-{id}"), "title": "t",
            "automationState": {"id": state.0, "name": state.1},
            "deprecated": flags.0, "draft": flags.1, "deleted": flags.2});
        if let Some(s) = suite {
            v["testSuite"] = json!({"id": s});
        }
        serde_json::from_value(v).unwrap()
    }

    fn opts(depth: usize) -> Options<'static> {
        Options {
            depth,
            include_deprecated: false,
            include_drafts: false,
            automated_states: &[],
        }
    }

    fn cases() -> Vec<TestCase> {
        let a = (3, "Automated");
        let n = (1, "Not Automated");
        let t = (2, "To Be Automated");
        let plain = (false, false, false);
        vec![
            case(1, Some(2), a, plain),
            case(2, Some(4), a, plain),
            case(3, Some(1), n, plain),
            case(4, Some(3), t, plain),
            case(5, Some(3), a, plain),
            case(6, Some(3), a, (true, false, false)), // deprecated
            case(7, Some(2), a, (false, true, false)), // draft
            case(8, Some(2), a, (false, false, true)), // deleted
            case(9, None, n, plain),
            case(10, Some(99), a, plain), // suite not in the list
        ]
    }

    #[test]
    fn root_suites_with_total_and_exclusions() {
        let s = suites();
        let h = Hierarchy::new(&s);
        let out = aggregate("DEMO", &cases(), &h, &opts(1), 1);
        assert_eq!(
            out.states,
            vec!["Not Automated", "To Be Automated", "Automated"]
        );
        assert_eq!(out.automated_states, vec!["Automated"]);
        let rows: Vec<(&str, u64, u64)> = out
            .rows
            .iter()
            .map(|r| (r.suite.as_str(), r.total, r.automated))
            .collect();
        assert_eq!(rows, vec![("Auth", 3, 2), ("Cart", 2, 1), (NO_SUITE, 2, 1)]);
        assert_eq!((out.total.total, out.total.automated), (7, 4));
        assert_eq!(out.total.coverage_pct, 57.1);
        assert_eq!(out.total.by_state["Not Automated"], 2);
        assert_eq!(
            out.excluded,
            Excluded {
                deprecated: 1,
                drafts: 1,
                deleted: 1
            }
        );
    }

    #[test]
    fn deeper_levels_and_inclusions() {
        let s = suites();
        let h = Hierarchy::new(&s);
        let o = Options {
            include_deprecated: true,
            include_drafts: true,
            ..opts(2)
        };
        let out = aggregate("DEMO", &cases(), &h, &o, 1);
        let rows: Vec<(&str, u64)> = out
            .rows
            .iter()
            .map(|r| (r.suite.as_str(), r.total))
            .collect();
        // Case 3 sits in the root Auth itself; 1, 2 (deeper) and 7 count in Auth > Login.
        assert_eq!(
            rows,
            vec![("Auth", 1), ("Auth > Login", 3), ("Cart", 3), (NO_SUITE, 2)]
        );
        assert_eq!(out.total.total, 9);
    }

    #[test]
    fn chosen_automated_states() {
        let s = suites();
        let h = Hierarchy::new(&s);
        let chosen = vec!["to be automated".to_string(), "Automated".to_string()];
        let o = Options {
            automated_states: &chosen,
            ..opts(1)
        };
        let out = aggregate("DEMO", &cases(), &h, &o, 1);
        assert_eq!(out.total.automated, 5);
        assert!(is_automated("Automated", &[]));
        assert!(!is_automated("Not Automated", &[]));
        assert!(!is_automated("To Be Automated", &[]));
        assert!(is_automated("Partially automated", &[]));
    }

    #[test]
    fn chart_is_a_png() {
        let s = suites();
        let h = Hierarchy::new(&s);
        let out = aggregate("DEMO", &cases(), &h, &opts(1), 1);
        let png = coverage_chart(&out).unwrap();
        let (w, hgt, _) = super::super::chart::tests::decode(&png);
        assert_eq!((w, hgt), (chart::WIDTH, chart::HEIGHT));
        assert_eq!(percent(0, 0), 0.0);
        assert_eq!(percent(1, 3), 33.3);
    }
}
