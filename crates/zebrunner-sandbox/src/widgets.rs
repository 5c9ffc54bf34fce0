//! Widget SQL templates (R17, anchor §3.5), computed from the seeded launches
//! and their tests rather than canned rows, so a widget agrees with the
//! launch and test endpoints.
//!
//! Zebrunner runs the templates against "now". The seed dates its launches
//! at fixed instants (early 2026, see [`crate::seed`]), so the sandbox clock
//! for widgets is the newest launch start in the store ([`clock_ms`]): a
//! `Last 7 Days` widget then covers the seed's last week whatever the day the
//! tests run, and stays deterministic.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime, Time};

use crate::errors::{ApiError, ApiResult};
use crate::model::{Launch, LaunchTest};
use crate::seed::iso;
use crate::store::Store;

pub const TOP_BUGS: i64 = 4;
pub const FAILURE_INFO: i64 = 6;
pub const RESULTS_BY_PLATFORM: i64 = 8;
pub const BUG_REVIEW: i64 = 9;
pub const FAILURE_DETAILS: i64 = 10;

/// Where the sandbox's issue keys link (it has no Jira integration of its own).
pub const ISSUE_BROWSE_URL: &str = "https://jira.sandbox.test/browse/";
/// The "Failures analysis" dashboard the bug review's count cells link to.
pub const FAILURES_DASHBOARD_ID: i64 = 99;
/// What Zebrunner shows for failures without a linked issue.
pub const TO_REVIEW: &str = "TO REVIEW";

/// The PERIOD values Zebrunner's dashboards accept, as it spells them.
pub const PERIODS: &[&str] = &[
    "Today",
    "Last 24 Hours",
    "Week",
    "Last 7 Days",
    "Last 14 Days",
    "Month",
    "Last 30 Days",
    "Quarter",
    "Last 90 Days",
    "Year",
    "Last 365 Days",
    "Total",
];

/// The sandbox's "now" for widgets: the newest launch start (see the module docs).
pub fn clock_ms(st: &Store) -> i64 {
    st.launches
        .iter()
        .map(|l| l.started_at_ms)
        .max()
        .unwrap_or(0)
}

/// The PERIOD as Zebrunner spells it, matched ignoring case.
pub fn period(raw: Option<&Value>) -> ApiResult<&'static str> {
    let text = raw.and_then(Value::as_str).map(str::trim).unwrap_or("");
    PERIODS
        .iter()
        .find(|p| p.eq_ignore_ascii_case(text))
        .copied()
        .ok_or_else(|| {
            ApiError::field(
                "PERIOD",
                format!(
                    "unsupported value '{text}'; supported: {}",
                    PERIODS.join(", ")
                ),
            )
        })
}

/// The first instant (epoch ms) inside `period` ending at `now_ms`: rolling
/// periods count back from now, calendar ones start at the day, ISO week,
/// month, quarter or year of now (UTC).
pub fn window_start(period: &str, now_ms: i64) -> i64 {
    let now = OffsetDateTime::from_unix_timestamp(now_ms.div_euclid(1000))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let days_back = |d: i64| now_ms - d * 86_400_000;
    let midnight = now.replace_time(Time::MIDNIGHT);
    let calendar = |t: OffsetDateTime| t.unix_timestamp() * 1000;
    let month_start = |month: time::Month| {
        midnight
            .replace_day(1)
            .and_then(|t| t.replace_month(month))
            .map_or(0, calendar)
    };
    match period {
        "Today" => calendar(midnight),
        "Last 24 Hours" => days_back(1),
        "Week" => {
            calendar(midnight - Duration::days(i64::from(now.weekday().number_days_from_monday())))
        }
        "Last 7 Days" => days_back(7),
        "Last 14 Days" => days_back(14),
        "Month" => month_start(now.month()),
        "Last 30 Days" => days_back(30),
        "Quarter" => {
            let first = (u8::from(now.month()) - 1) / 3 * 3 + 1;
            month_start(time::Month::try_from(first).unwrap_or(time::Month::January))
        }
        "Last 90 Days" => days_back(90),
        "Year" => month_start(time::Month::January),
        "Last 365 Days" => days_back(365),
        _ => i64::MIN,
    }
}

/// `paramsConfig` entries the templates read.
pub struct Params {
    pub period: &'static str,
    /// Lower-case platform names; empty = all.
    pub platforms: Vec<String>,
    /// Milestone names; empty = all.
    pub milestones: Vec<String>,
    pub hashcode: Option<i64>,
    pub error_count: i64,
}

impl Params {
    pub fn parse(raw: &Map<String, Value>) -> ApiResult<Self> {
        let list = |key: &str| -> ApiResult<Vec<String>> {
            match raw.get(key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(items)) => Ok(items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::trim))
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()),
                Some(Value::String(s)) if s.trim().is_empty() => Ok(Vec::new()),
                Some(Value::String(s)) => Ok(vec![s.trim().to_owned()]),
                Some(_) => Err(ApiError::field(key, "must be an array of strings")),
            }
        };
        let number = |key: &str| -> ApiResult<Option<i64>> {
            match raw.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => n
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| ApiError::field(key, "must be an integer")),
                Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(Value::String(s)) => s
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| ApiError::field(key, format!("'{s}' is not an integer"))),
                Some(_) => Err(ApiError::field(key, "must be an integer")),
            }
        };
        Ok(Params {
            period: period(raw.get("PERIOD"))?,
            platforms: list("PLATFORM")?
                .into_iter()
                .map(|p| p.to_lowercase())
                .collect(),
            milestones: list("MILESTONE")?,
            hashcode: number("hashcode")?,
            error_count: number("ERROR_COUNT")?.unwrap_or(0),
        })
    }

    fn hashcode(&self) -> ApiResult<i64> {
        self.hashcode.ok_or_else(|| {
            ApiError::field(
                "hashcode",
                "is required by this template (a messageHashCode)",
            )
        })
    }

    /// The PERIOD as it appears in dashboard links (`Last+7+Days`).
    fn period_query(&self) -> String {
        self.period.replace(' ', "+")
    }
}

/// A failed test with the launch it ran in.
struct Failure<'a> {
    launch: &'a Launch,
    test: &'a LaunchTest,
}

fn anchor(href: &str, text: &str) -> String {
    format!("<a href=\"{href}\" target=\"_blank\">{text}</a>")
}

fn defect_cell(key: Option<&str>) -> String {
    match key {
        Some(k) => anchor(&format!("{ISSUE_BROWSE_URL}{k}"), k),
        None => TO_REVIEW.to_owned(),
    }
}

fn defect_of(t: &LaunchTest) -> Option<&str> {
    t.issue_refs.first().map(|r| r.value.as_str())
}

fn day(ms: i64) -> String {
    iso(ms.div_euclid(1000)).chars().take(10).collect()
}

/// The project's launches inside the period and the PLATFORM/MILESTONE filters.
fn launches<'a>(st: &'a Store, pid: i64, p: &Params) -> Vec<&'a Launch> {
    let now = clock_ms(st);
    let from = window_start(p.period, now);
    st.launches
        .iter()
        .filter(|l| l.project_id == pid && l.started_at_ms >= from && l.started_at_ms <= now)
        .filter(|l| p.platforms.is_empty() || p.platforms.contains(&l.platform.to_lowercase()))
        .filter(|l| {
            p.milestones.is_empty()
                || l.milestone_id
                    .and_then(|id| st.milestone(pid, id))
                    .is_some_and(|m| p.milestones.iter().any(|n| n == &m.name))
        })
        .collect()
}

fn failures<'a>(st: &'a Store, launches: &[&'a Launch]) -> Vec<Failure<'a>> {
    launches
        .iter()
        .flat_map(|l| {
            st.launch_tests(l.id)
                .iter()
                .filter(|t| t.status == "FAILED")
                .map(move |t| Failure { launch: l, test: t })
        })
        .collect()
}

/// Runs template `id` for project `pid` (`key`) on the store.
pub fn run(st: &Store, pid: i64, key: &str, id: i64, p: &Params) -> ApiResult<Vec<Value>> {
    match id {
        TOP_BUGS => Ok(top_bugs(st, pid, p)),
        FAILURE_INFO => failure_info(st, pid, p),
        RESULTS_BY_PLATFORM => Ok(results_by_platform(st, pid, p)),
        BUG_REVIEW => Ok(bug_review(st, pid, key, p)),
        FAILURE_DETAILS => failure_details(st, pid, key, p),
        other => Err(ApiError::not_found(format!(
            "Widget template with id {other} not found"
        ))),
    }
}

/// Failures per linked issue (`TO REVIEW` without one), most failures first.
fn top_bugs(st: &Store, pid: i64, p: &Params) -> Vec<Value> {
    let all = failures(st, &launches(st, pid, p));
    let mut per: BTreeMap<Option<&str>, i64> = BTreeMap::new();
    for f in &all {
        *per.entry(defect_of(f.test)).or_default() += 1;
    }
    let total = all.len() as i64;
    let mut rows: Vec<(Option<&str>, i64)> = per.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    rows.into_iter()
        .map(|(defect, n)| {
            json!({
                "DEFECT": defect_cell(defect),
                "FAILURES": format!("{n} of {total}"),
                "%": format!("{:.1}", n as f64 * 100.0 / total.max(1) as f64),
            })
        })
        .collect()
}

/// Failures grouped by message hash: project, defect, count (linking to the
/// failures analysis of the hash), reason, first and last failure day.
fn bug_review(st: &Store, pid: i64, key: &str, p: &Params) -> Vec<Value> {
    let all = failures(st, &launches(st, pid, p));
    let mut per: BTreeMap<i64, Vec<&Failure<'_>>> = BTreeMap::new();
    for f in &all {
        if let Some(h) = f.test.message_hash {
            per.entry(h).or_default().push(f);
        }
    }
    let mut rows: Vec<(i64, Vec<&Failure<'_>>)> = per
        .into_iter()
        .filter(|(_, fs)| fs.len() as i64 > p.error_count)
        .collect();
    rows.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    let period = p.period_query();
    rows.into_iter()
        .map(|(hash, fs)| {
            // The newest linked issue names the defect.
            let newest_first = {
                let mut v = fs.clone();
                v.sort_by_key(|f| std::cmp::Reverse(f.test.start_ms));
                v
            };
            let defect = newest_first.iter().find_map(|f| defect_of(f.test));
            let since = fs.iter().map(|f| f.test.start_ms).min().unwrap_or(0);
            let repro = fs.iter().map(|f| f.test.start_ms).max().unwrap_or(0);
            let reason = fs
                .first()
                .and_then(|f| f.test.message.clone())
                .unwrap_or_default();
            json!({
                "PROJECT": anchor(&format!("../../{key}/automation-dashboards/{FAILURES_DASHBOARD_ID}"), key),
                "DEFECT": defect_cell(defect),
                "#": anchor(
                    &format!("../../{key}/automation-dashboards/{FAILURES_DASHBOARD_ID}?hashcode={hash}&PERIOD={period}"),
                    &fs.len().to_string(),
                ),
                // Zebrunner's SQL returns the stack trace's newlines escaped.
                "REASON": reason.replace('\n', "\\n"),
                "SINCE": day(since),
                "REPRO": day(repro),
            })
        })
        .collect()
}

fn failures_of_hash<'a>(st: &'a Store, pid: i64, p: &Params) -> ApiResult<Vec<Failure<'a>>> {
    let hash = p.hashcode()?;
    let mut fs: Vec<Failure<'a>> = failures(st, &launches(st, pid, p))
        .into_iter()
        .filter(|f| f.test.message_hash == Some(hash))
        .collect();
    fs.sort_by_key(|f| (std::cmp::Reverse(f.test.start_ms), f.test.id));
    Ok(fs)
}

/// One row for the hash: how often it failed and its message.
fn failure_info(st: &Store, pid: i64, p: &Params) -> ApiResult<Vec<Value>> {
    let fs = failures_of_hash(st, pid, p)?;
    Ok(fs
        .first()
        .map(|f| {
            vec![json!({
                "#": fs.len(),
                "ERROR/STABILITY": f.test.message.clone().unwrap_or_default(),
            })]
        })
        .unwrap_or_default())
}

/// Each failure of the hash, newest first: launch, test and its defect.
fn failure_details(st: &Store, pid: i64, key: &str, p: &Params) -> ApiResult<Vec<Value>> {
    Ok(failures_of_hash(st, pid, p)?
        .into_iter()
        .map(|f| {
            json!({
                "RUN_ID": f.launch.id,
                "TEST_ID": f.test.id,
                "RUN": f.launch.name,
                "TEST": anchor(
                    &format!("../../{key}/automation-launches/{}?testId={}", f.launch.id, f.test.id),
                    &f.test.name,
                ),
                "DEFECT": defect_of(f.test).map_or_else(String::new, |k| defect_cell(Some(k))),
            })
        })
        .collect())
}

/// Test results per launch platform, in platform order.
fn results_by_platform(st: &Store, pid: i64, p: &Params) -> Vec<Value> {
    let mut per: BTreeMap<&str, [i64; 6]> = BTreeMap::new();
    for l in launches(st, pid, p) {
        let c = per.entry(l.platform.as_str()).or_default();
        for t in st.launch_tests(l.id) {
            let i = match t.status.as_str() {
                "PASSED" => 0,
                "FAILED" if t.known_issue => 4,
                "FAILED" => 1,
                "SKIPPED" => 2,
                "ABORTED" => 3,
                _ => 5,
            };
            c[i] += 1;
        }
    }
    per.into_iter()
        .map(|(platform, c)| {
            json!({
                "PLATFORM": platform,
                "PASSED": c[0],
                "FAILED": c[1],
                "SKIPPED": c[2],
                "ABORTED": c[3],
                "KNOWN_ISSUE": c[4],
                "IN_PROGRESS": c[5],
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Scale;
    use crate::seed::generate;

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn demo() -> (Store, i64) {
        let st = generate(Scale::Small, 42);
        let pid = st.project_by_key("DEMO").unwrap().id;
        (st, pid)
    }

    #[test]
    fn periods_match_ignoring_case_and_reject_others() {
        assert_eq!(period(Some(&json!("last 7 days"))).unwrap(), "Last 7 Days");
        assert_eq!(period(Some(&json!("TOTAL"))).unwrap(), "Total");
        let err = period(Some(&json!("Last 8 Days"))).unwrap_err();
        assert_eq!(err.status.as_u16(), 400);
        assert!(err.message.contains("Last 14 Days"), "{}", err.message);
        assert!(period(None).is_err());
    }

    #[test]
    fn windows() {
        // 2026-03-18T15:00:00Z, a Wednesday.
        let now = 1_773_846_000_000;
        let day = 86_400_000;
        assert_eq!(window_start("Last 7 Days", now), now - 7 * day);
        assert_eq!(window_start("Today", now), 1_773_792_000_000);
        // Monday 2026-03-16.
        assert_eq!(window_start("Week", now), 1_773_792_000_000 - 2 * day);
        // 2026-03-01, 2026-01-01 (quarter and year).
        assert_eq!(window_start("Month", now), 1_772_323_200_000);
        assert_eq!(window_start("Quarter", now), 1_767_225_600_000);
        assert_eq!(window_start("Year", now), 1_767_225_600_000);
        assert_eq!(window_start("Total", now), i64::MIN);
    }

    #[test]
    fn top_bugs_share_out_every_failure_of_the_period() {
        let (st, pid) = demo();
        let cfg = params(json!({"PERIOD": "Last 14 Days"}));
        let p = Params::parse(&cfg).unwrap();
        let rows = run(&st, pid, "DEMO", TOP_BUGS, &p).unwrap();
        // The oracle: failed tests of launches started in the last 14 days.
        let now = clock_ms(&st);
        let expected: usize = st
            .launches
            .iter()
            .filter(|l| l.project_id == pid && l.started_at_ms >= now - 14 * 86_400_000)
            .map(|l| {
                st.launch_tests(l.id)
                    .iter()
                    .filter(|t| t.status == "FAILED")
                    .count()
            })
            .sum();
        assert!(expected > 0);
        let mut sum = 0;
        for r in &rows {
            let (n, total) = r["FAILURES"].as_str().unwrap().split_once(" of ").unwrap();
            assert_eq!(total.parse::<usize>().unwrap(), expected);
            sum += n.parse::<usize>().unwrap();
        }
        assert_eq!(sum, expected);
        assert!(
            rows.iter()
                .any(|r| r["DEFECT"].as_str().unwrap().contains("/browse/SHOP-"))
        );
    }

    #[test]
    fn bug_review_counts_agree_with_failure_info_and_details() {
        let (st, pid) = demo();
        let cfg = params(json!({"PERIOD": "Total", "ERROR_COUNT": "0"}));
        let p = Params::parse(&cfg).unwrap();
        let rows = run(&st, pid, "DEMO", BUG_REVIEW, &p).unwrap();
        assert!(!rows.is_empty());
        for r in rows {
            let cell = r["#"].as_str().unwrap();
            let hash: i64 = cell
                .split("hashcode=")
                .nth(1)
                .and_then(|s| s.split('&').next())
                .unwrap()
                .parse()
                .unwrap();
            let count: usize = cell
                .split('>')
                .nth(1)
                .unwrap()
                .trim_end_matches("</a")
                .parse()
                .unwrap();
            let cfg = params(json!({"PERIOD": "Total", "hashcode": hash.to_string()}));
            let p = Params::parse(&cfg).unwrap();
            let info = run(&st, pid, "DEMO", FAILURE_INFO, &p).unwrap();
            assert_eq!(info[0]["#"], json!(count));
            let details = run(&st, pid, "DEMO", FAILURE_DETAILS, &p).unwrap();
            assert_eq!(details.len(), count);
        }
    }

    #[test]
    fn platforms_sum_to_the_tests_of_the_period_and_filter() {
        let (st, pid) = demo();
        let cfg = params(json!({"PERIOD": "Total", "PLATFORM": ["API"]}));
        let p = Params::parse(&cfg).unwrap();
        let rows = run(&st, pid, "DEMO", RESULTS_BY_PLATFORM, &p).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["PLATFORM"], "api");
        let tests: usize = st
            .launches
            .iter()
            .filter(|l| l.project_id == pid && l.platform == "api")
            .map(|l| st.launch_tests(l.id).len())
            .sum();
        let sum: i64 = [
            "PASSED",
            "FAILED",
            "SKIPPED",
            "ABORTED",
            "KNOWN_ISSUE",
            "IN_PROGRESS",
        ]
        .iter()
        .map(|k| rows[0][k].as_i64().unwrap())
        .sum();
        assert_eq!(sum as usize, tests);
    }

    #[test]
    fn missing_hashcode_and_unknown_template() {
        let (st, pid) = demo();
        let cfg = params(json!({"PERIOD": "Total"}));
        let p = Params::parse(&cfg).unwrap();
        let err = run(&st, pid, "DEMO", FAILURE_INFO, &p).unwrap_err();
        assert_eq!(err.status.as_u16(), 400);
        let err = run(&st, pid, "DEMO", 1, &p).unwrap_err();
        assert_eq!(err.status.as_u16(), 404);
        // An unknown hash is an empty answer, as the SQL's would be.
        let cfg = params(json!({"PERIOD": "Total", "hashcode": 7}));
        let p = Params::parse(&cfg).unwrap();
        assert!(
            run(&st, pid, "DEMO", FAILURE_DETAILS, &p)
                .unwrap()
                .is_empty()
        );
    }
}
