//! `analyze_launch_failures`: a launch's failures grouped by error
//! signature, with known issues, flaky tests (from each failing test's
//! history across earlier launches), linked TCM cases, a comparison with the
//! last passing run, and a triage summary.
//!
//! Zebrunner requests: the launch's tests in pages of 100 (5 for 500 tests),
//! plus one R10 history request per failing test when `history` is on. R10
//! is the only per-test history Zebrunner offers; the alternative, reading
//! every earlier launch of the same name in full, costs far more pages. The
//! history calls are capped by `max_history_calls` and run four at a time.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures::{StreamExt as _, stream};
use regex::Regex;
use rmcp::{
    ErrorData as McpError, RoleServer,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    service::RequestContext,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;
use zebrunner_client::{LaunchTest, PageRequest, TestHistoryItem};

use super::{
    cursor,
    cursor::OffsetCursor,
    error::ToolError,
    output::{Format, ToolOutput, cell, finish, truncate},
    progress::Progress,
    reporting::{self, epoch_ms},
    scope,
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

const ZEBRUNNER_PAGE: u32 = 100;
const HISTORY_CONCURRENCY: usize = 4;

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeLaunchFailuresArgs {
    pub project_key: String,
    /// Launch id (see list_launches).
    pub launch_id: i64,
    /// Read each failing test's history, one request each (default true).
    pub history: Option<bool>,
    /// Earlier runs read per failing test (default 10).
    #[schemars(range(min = 2, max = 50))]
    pub history_depth: Option<u32>,
    /// Histories read at most (default 50).
    #[schemars(range(min = 0, max = 200))]
    pub max_history_calls: Option<u32>,
    /// Groups per answer, largest first (default 10).
    #[schemars(range(min = 1, max = 50))]
    pub limit: Option<u32>,
    /// Tests listed per group (default 5); counts stay complete.
    #[schemars(range(min = 0, max = 100))]
    pub tests_per_group: Option<u32>,
    pub cursor: Option<String>,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LaunchFailuresOutput {
    pub project_key: String,
    pub launch_id: i64,
    pub summary: TriageSummary,
    /// Signature groups in this answer, most failures first.
    pub groups: Vec<FailureGroup>,
    pub returned: usize,
    pub has_more: bool,
    /// Pass as `cursor` to get the next groups.
    pub next_cursor: Option<String>,
    /// Zebrunner requests this answer made.
    pub zebrunner_requests: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TriageSummary {
    /// Tests in the launch.
    pub total_tests: u64,
    /// Tests per status, as read from the launch.
    pub by_status: BTreeMap<String, u64>,
    /// Failed tests (status FAILED), known issues included.
    pub failed: u64,
    /// Failed tests marked as known issues in Zebrunner.
    pub known_issue: u64,
    /// Failed tests whose history flips between pass and fail (not known issues).
    pub flaky: u64,
    /// Failed tests that passed (or did not exist) in their previous run.
    pub new_failures: u64,
    /// Failed tests that also failed in their previous run.
    pub recurring: u64,
    /// Failed tests whose history was not read.
    pub history_unchecked: u64,
    /// Distinct error signatures.
    pub signatures: usize,
    /// The largest groups: signature and count.
    pub top_signatures: Vec<SignatureCount>,
    /// What to do next.
    pub next_steps: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SignatureCount {
    pub signature: String,
    pub count: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FailureGroup {
    /// Normalised first line of the message: numbers, ids, hex, paths and
    /// quoted values replaced by placeholders.
    pub signature: String,
    /// Exception type, when the message names one.
    pub exception_type: Option<String>,
    /// Failed tests with this signature.
    pub count: usize,
    pub known_issue: usize,
    pub flaky: usize,
    pub new_failures: usize,
    /// Distinct issue links such as `JIRA SHOP-142`.
    pub issues: Vec<String>,
    /// Distinct linked TCM case keys.
    pub test_case_keys: Vec<String>,
    /// One full message of the group (cut to 500 characters).
    pub sample_message: String,
    /// The first `tests_per_group` tests.
    pub tests: Vec<FailedTest>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FailedTest {
    pub id: i64,
    pub name: String,
    /// known_issue, flaky, new, recurring or unchecked.
    pub category: String,
    pub known_issue: bool,
    pub issues: Vec<String>,
    pub test_case_keys: Vec<String>,
    pub duration_ms: Option<i64>,
    /// Pass/fail flips in the history read (newest first, this run included).
    pub flips: Option<u32>,
    /// History read, newest first, e.g. "FFPFP" (F failed, P passed, S skipped, - other).
    pub history: Option<String>,
    /// Runs failed in a row, this one included.
    pub failing_streak: Option<u32>,
    pub last_pass: Option<LastPass>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LastPass {
    pub launch_id: Option<i64>,
    pub test_id: i64,
    pub at: Option<String>,
    pub duration_ms: Option<i64>,
    /// This run's duration minus the passing run's.
    pub duration_change_ms: Option<i64>,
    /// What changed in the message: the passing run had none; this run fails with the group's signature.
    pub message_change: String,
}

impl ToolOutput for LaunchFailuresOutput {
    fn markdown(&self) -> String {
        let s = &self.summary;
        let mut md = format!(
            "**Launch {} ({}): {} of {} tests failed in {} signatures**\n\n\
             Known issues {} · flaky {} · new {} · recurring {}{}\n",
            self.launch_id,
            self.project_key,
            s.failed,
            s.total_tests,
            s.signatures,
            s.known_issue,
            s.flaky,
            s.new_failures,
            s.recurring,
            if s.history_unchecked > 0 {
                format!(" · history not read for {}", s.history_unchecked)
            } else {
                String::new()
            }
        );
        for (i, g) in self.groups.iter().enumerate() {
            md.push_str(&format!(
                "\n### {}. {} failures: `{}`\n",
                i + 1,
                g.count,
                truncate(&g.signature, 160)
            ));
            let mut facts = Vec::new();
            if g.known_issue > 0 {
                facts.push(format!("{} known issue", g.known_issue));
            }
            if g.flaky > 0 {
                facts.push(format!("{} flaky", g.flaky));
            }
            if g.new_failures > 0 {
                facts.push(format!("{} new", g.new_failures));
            }
            if !g.issues.is_empty() {
                facts.push(format!("issues {}", g.issues.join(", ")));
            }
            if !g.test_case_keys.is_empty() {
                facts.push(format!(
                    "cases {}",
                    truncate(&g.test_case_keys.join(", "), 120)
                ));
            }
            if !facts.is_empty() {
                md.push_str(&format!("{}\n", facts.join(" · ")));
            }
            if !g.tests.is_empty() {
                md.push_str(
                    "\n| Test id | Test | Category | History | Last pass |\n|---|---|---|---|---|\n",
                );
                for t in &g.tests {
                    let last = t
                        .last_pass
                        .as_ref()
                        .map(|p| {
                            let delta = p
                                .duration_change_ms
                                .map(|d| format!(", {:+.1}s", d as f64 / 1000.0))
                                .unwrap_or_default();
                            format!(
                                "launch {}{delta}",
                                p.launch_id.map(|l| l.to_string()).unwrap_or("?".into())
                            )
                        })
                        .unwrap_or_default();
                    md.push_str(&format!(
                        "| {} | {} | {} | {} | {} |\n",
                        t.id,
                        cell(&truncate(&t.name, 60)),
                        t.category,
                        t.history.as_deref().unwrap_or(""),
                        last
                    ));
                }
                if g.tests.len() < g.count {
                    md.push_str(&format!(
                        "\n{} more tests in this group (raise `tests_per_group`).\n",
                        g.count - g.tests.len()
                    ));
                }
            }
        }
        if let Some(next) = &self.next_cursor {
            md.push_str(&format!(
                "\nShowing {} groups; more remain. Call again with `cursor` = `{next}`.\n",
                self.returned
            ));
        }
        if !s.next_steps.is_empty() {
            md.push_str("\n**Next:**\n");
            for step in &s.next_steps {
                md.push_str(&format!("- {step}\n"));
            }
        }
        md
    }
}

#[expect(clippy::expect_used)] // a constant pattern, which clippy::invalid_regex checks
static QUOTED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#""[^"]*"|'[^']*'|`[^`]*`"#).expect("valid regex"));
#[expect(clippy::expect_used)] // a constant pattern, which clippy::invalid_regex checks
static UUID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
        .expect("valid regex")
});
#[expect(clippy::expect_used)] // a constant pattern, which clippy::invalid_regex checks
static HEX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:0x[0-9a-f]+|[0-9a-f]{6,})\b").expect("valid regex"));
#[expect(clippy::expect_used)] // a constant pattern, which clippy::invalid_regex checks
static PATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:[A-Za-z]:)?(?:[\w.~-]*[/\\][\w.~-]+){2,}[/\\]?|https?://\S+")
        .expect("valid regex")
});
#[expect(clippy::expect_used)] // a constant pattern, which clippy::invalid_regex checks
static NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d+(?:[.,]\d+)*").expect("valid regex"));
#[expect(clippy::expect_used)] // a constant pattern, which clippy::invalid_regex checks
static SPACES: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\s+").expect("valid regex"));
#[expect(clippy::expect_used)] // a constant pattern, which clippy::invalid_regex checks
static EXCEPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*((?:[A-Za-z_$][\w$]*\.)*[A-Za-z_$][\w$]*(?:Exception|Error|Failure|Fault))\b")
        .expect("valid regex")
});

/// The exception type a message starts with, e.g. `java.lang.AssertionError`.
pub fn exception_type(message: &str) -> Option<String> {
    EXCEPTION
        .captures(message.lines().next().unwrap_or(""))
        .map(|c| c[1].to_string())
}

/// A failure message's signature: its first line with quoted values, ids,
/// hex, paths and numbers replaced by placeholders and spaces collapsed.
pub fn signature(message: &str) -> String {
    let first = message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if first.is_empty() {
        return "(no message)".into();
    }
    let s = QUOTED.replace_all(first, "<str>");
    let s = UUID.replace_all(&s, "<id>");
    let s = PATH.replace_all(&s, "<path>");
    let s = HEX.replace_all(&s, |c: &regex::Captures| {
        let m = &c[0];
        let hexish = m.len() > 2 && m[..2].eq_ignore_ascii_case("0x")
            || (m.chars().any(|c| c.is_ascii_digit())
                && m.chars().any(|c| c.is_ascii_alphabetic()));
        if hexish {
            "<hex>".to_string()
        } else {
            m.to_string()
        }
    });
    let s = NUMBER.replace_all(&s, "<n>");
    SPACES.replace_all(s.trim(), " ").into_owned()
}

/// What the history says about one failing test.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct HistoryVerdict {
    pub flips: u32,
    pub flaky: bool,
    /// The previous run failed too.
    pub recurring: bool,
    pub streak: u32,
    pub letters: String,
    /// Index of the newest passing run (not this one).
    pub last_pass: Option<usize>,
}

/// Read a history (newest first, this run first): pass/fail flips among
/// consecutive decided runs; flaky at two flips or more.
pub fn verdict(statuses: &[&str]) -> HistoryVerdict {
    let letters: String = statuses
        .iter()
        .map(|s| match s.to_ascii_uppercase().as_str() {
            "FAILED" => 'F',
            "PASSED" => 'P',
            "SKIPPED" => 'S',
            _ => '-',
        })
        .collect();
    let decided: Vec<char> = letters.chars().filter(|c| *c == 'F' || *c == 'P').collect();
    let flips = decided.windows(2).filter(|w| w[0] != w[1]).count() as u32;
    let streak = letters.chars().take_while(|c| *c == 'F').count() as u32;
    HistoryVerdict {
        flips,
        flaky: flips >= 2,
        recurring: decided.get(1) == Some(&'F'),
        streak,
        last_pass: statuses
            .iter()
            .skip(1)
            .position(|s| s.eq_ignore_ascii_case("PASSED"))
            .map(|i| i + 1),
        letters,
    }
}

fn failed_test(t: &LaunchTest, history: Option<&[TestHistoryItem]>) -> FailedTest {
    let own_duration = t.duration_ms();
    let mut out = FailedTest {
        id: t.id,
        name: t.name.clone(),
        category: String::new(),
        known_issue: t.known_issue,
        issues: t.issue_links(),
        test_case_keys: t
            .test_cases
            .iter()
            .filter_map(|c| c.test_case_id.clone())
            .collect(),
        duration_ms: own_duration,
        flips: None,
        history: None,
        failing_streak: None,
        last_pass: None,
    };
    let verdict = history.map(|h| {
        let statuses: Vec<&str> = h.iter().map(|i| i.status.as_str()).collect();
        (verdict(&statuses), h)
    });
    if let Some((v, h)) = &verdict {
        out.flips = Some(v.flips);
        out.history = Some(v.letters.clone());
        out.failing_streak = Some(v.streak);
        out.last_pass = v.last_pass.map(|i| {
            let p = &h[i];
            LastPass {
                launch_id: p.test_run_id,
                test_id: p.test_id,
                at: p.start_time.and_then(epoch_ms),
                duration_ms: p.elapsed,
                duration_change_ms: own_duration.zip(p.elapsed).map(|(a, b)| a - b),
                message_change: "passed without a message; now fails with this group's signature"
                    .into(),
            }
        });
    }
    out.category = match &verdict {
        _ if t.known_issue => "known_issue",
        None => "unchecked",
        Some((v, _)) if v.flaky => "flaky",
        Some((v, _)) if v.recurring => "recurring",
        Some(_) => "new",
    }
    .into();
    out
}

#[tool_router(router = analyze_launch_failures_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "analyze_launch_failures",
        description = "Triage a launch's failures: failed tests grouped by error signature, with known issues, flaky, new and recurring tests (from their history in earlier launches), linked TCM cases, the last passing run, and next steps.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<LaunchFailuresOutput>(),
        annotations(title = "Analyze launch failures", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn analyze_launch_failures(
        &self,
        Extension(cx): Extension<CallContext>,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<AnalyzeLaunchFailuresArgs>,
    ) -> Result<CallToolResult, McpError> {
        let mut progress = Progress::new(context);
        finish(
            &cx,
            args.format,
            self.analyze_launch_failures_impl(&cx, &args, &mut progress)
                .await,
        )
    }

    async fn analyze_launch_failures_impl(
        &self,
        cx: &CallContext,
        a: &AnalyzeLaunchFailuresArgs,
        progress: &mut Progress,
    ) -> Result<LaunchFailuresOutput, ToolError> {
        let client = &cx.client;
        let project = scope::project(cx, &a.project_key).await?;
        let limit = reporting::limit(a.limit, 10, 50)?;
        let per_group = a.tests_per_group.unwrap_or(5);
        if per_group > 100 {
            return Err(ToolError::invalid("`tests_per_group` must be at most 100"));
        }
        let depth = a.history_depth.unwrap_or(10);
        if !(2..=50).contains(&depth) {
            return Err(ToolError::invalid(
                "`history_depth` must be between 2 and 50",
            ));
        }
        let max_calls = a.max_history_calls.unwrap_or(50);
        if max_calls > 200 {
            return Err(ToolError::invalid(
                "`max_history_calls` must be at most 200",
            ));
        }
        let with_history = a.history.unwrap_or(true);
        let fingerprint = cursor::fingerprint(&(
            "analyze_launch_failures",
            &project,
            a.launch_id,
            with_history,
            depth,
            max_calls,
            per_group,
        ));
        let offset = OffsetCursor::resume(&cx.cursors, a.cursor.as_deref(), &fingerprint)?;
        let project_id = client.project_id(&project).await?;
        let launch_id = a.launch_id;
        // The tests are asked for by launch id: the launch must be the project's.
        scope::launch(client, project_id, launch_id).await?;

        // Every test of the launch, pages of 100.
        let mut requests = 1u32;
        let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
        let mut failed: Vec<LaunchTest> = Vec::new();
        let mut request = PageRequest::new(1, ZEBRUNNER_PAGE);
        let total = loop {
            progress.before_page()?;
            let page = client
                .launch_tests_page(project_id, launch_id, request)
                .await?;
            requests += 1;
            let read =
                u64::from(request.page - 1) * u64::from(ZEBRUNNER_PAGE) + page.items.len() as u64;
            progress
                .after_page(
                    read.min(page.total),
                    Some(page.total),
                    "analyze_launch_failures",
                )
                .await;
            let next = page.next_request();
            for t in page.items {
                *by_status.entry(t.status.to_ascii_uppercase()).or_default() += 1;
                if t.status.eq_ignore_ascii_case("FAILED") {
                    failed.push(t);
                }
            }
            match next {
                Some(n) => request = n,
                None => break page.total,
            }
        };

        // History of failing tests, known issues last (they need it least).
        let mut wanted: Vec<&LaunchTest> = failed.iter().collect();
        wanted.sort_by_key(|t| (t.known_issue, t.id));
        let wanted: Vec<i64> = if with_history {
            wanted
                .into_iter()
                .take(max_calls as usize)
                .map(|t| t.id)
                .collect()
        } else {
            Vec::new()
        };
        let mut histories: HashMap<i64, Vec<TestHistoryItem>> = HashMap::new();
        let mut pending = stream::iter(wanted.iter().copied())
            .map(|test_id| async move {
                (
                    test_id,
                    client
                        .launch_test_history(project_id, launch_id, test_id, depth)
                        .await,
                )
            })
            .buffer_unordered(HISTORY_CONCURRENCY);
        let mut done = 0u64;
        while let Some((test_id, result)) = pending.next().await {
            progress.before_page()?;
            requests += 1;
            done += 1;
            progress
                .after_page(
                    done,
                    Some(wanted.len() as u64),
                    "analyze_launch_failures: histories",
                )
                .await;
            histories.insert(test_id, result?);
        }
        drop(pending);

        // Group by signature.
        let mut groups: BTreeMap<String, Vec<(FailedTest, &LaunchTest)>> = BTreeMap::new();
        for t in &failed {
            let sig = signature(t.message.as_deref().unwrap_or(""));
            let item = failed_test(t, histories.get(&t.id).map(Vec::as_slice));
            groups.entry(sig).or_default().push((item, t));
        }
        let mut groups: Vec<FailureGroup> = groups
            .into_iter()
            .map(|(sig, mut tests)| {
                tests.sort_by_key(|(f, _)| f.id);
                let count_of = |c: &str| tests.iter().filter(|(f, _)| f.category == c).count();
                let issues: BTreeSet<String> =
                    tests.iter().flat_map(|(f, _)| f.issues.clone()).collect();
                let keys: BTreeSet<String> = tests
                    .iter()
                    .flat_map(|(f, _)| f.test_case_keys.clone())
                    .collect();
                let sample = tests
                    .first()
                    .and_then(|(_, t)| t.message.clone())
                    .unwrap_or_default();
                FailureGroup {
                    exception_type: exception_type(&sample),
                    count: tests.len(),
                    known_issue: tests.iter().filter(|(f, _)| f.known_issue).count(),
                    flaky: count_of("flaky"),
                    new_failures: count_of("new"),
                    issues: issues.into_iter().collect(),
                    test_case_keys: keys.into_iter().collect(),
                    sample_message: truncate(&sample, 500),
                    tests: tests
                        .iter()
                        .take(per_group as usize)
                        .map(|(f, _)| f.clone())
                        .collect(),
                    signature: sig,
                }
            })
            .collect();
        groups.sort_by(|a, b| b.count.cmp(&a.count).then(a.signature.cmp(&b.signature)));

        let all: Vec<FailedTest> = failed
            .iter()
            .map(|t| failed_test(t, histories.get(&t.id).map(Vec::as_slice)))
            .collect();
        let count = |c: &str| all.iter().filter(|f| f.category == c).count() as u64;
        let summary = TriageSummary {
            total_tests: total,
            failed: failed.len() as u64,
            known_issue: failed.iter().filter(|t| t.known_issue).count() as u64,
            flaky: count("flaky"),
            new_failures: count("new"),
            recurring: count("recurring"),
            history_unchecked: count("unchecked")
                + all
                    .iter()
                    .filter(|f| f.known_issue && f.history.is_none())
                    .count() as u64,
            signatures: groups.len(),
            top_signatures: groups
                .iter()
                .take(5)
                .map(|g| SignatureCount {
                    signature: g.signature.clone(),
                    count: g.count,
                })
                .collect(),
            next_steps: next_steps(&project, launch_id, &groups, &all),
            by_status,
        };
        if offset > groups.len() {
            return Err(ToolError::invalid(
                "`cursor` is past the last group; repeat the call without `cursor`",
            ));
        }
        let rest: Vec<FailureGroup> = groups.into_iter().skip(offset).collect();
        let has_more = rest.len() > limit;
        let page: Vec<FailureGroup> = rest.into_iter().take(limit).collect();
        Ok(LaunchFailuresOutput {
            project_key: project,
            launch_id,
            summary,
            returned: page.len(),
            has_more,
            next_cursor: has_more.then(|| {
                cx.cursors.encode(&OffsetCursor {
                    q: fingerprint.clone(),
                    o: offset + limit,
                })
            }),
            groups: page,
            zebrunner_requests: requests,
        })
    }
}

fn next_steps(
    project: &str,
    launch_id: i64,
    groups: &[FailureGroup],
    all: &[FailedTest],
) -> Vec<String> {
    let mut steps = Vec::new();
    if let Some(g) = groups.iter().find(|g| g.known_issue < g.count) {
        steps.push(format!(
            "Investigate the largest group without a known issue (`{}`, {} tests): list_launch_tests project_key={project} launch_id={launch_id} statuses=[\"FAILED\"] known_issue=false message_chars=2000",
            truncate(&g.signature, 80),
            g.count
        ));
    }
    if let Some(key) = all
        .iter()
        .filter(|f| f.category == "new")
        .find_map(|f| f.test_case_keys.first())
    {
        steps.push(format!(
            "New failure of {key}: get_test_case_history key={key} to see its executions and recent step changes"
        ));
    }
    if all.iter().any(|f| f.category == "flaky") {
        steps.push(
            "Flaky tests fail and pass alternately: quarantine or stabilise them before filing bugs"
                .into(),
        );
    }
    if all.iter().any(|f| f.known_issue) {
        steps.push(
            "Known issues are already tracked: check their tickets' status rather than re-filing"
                .into(),
        );
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_strip_variable_parts() {
        let a = "org.openqa.selenium.TimeoutException: waiting for element By.id: \"checkout-submit\" (tried for 30 second(s) with 500 milliseconds interval)\n\tat com.x.Y.run(Y.java:42)";
        let b = "org.openqa.selenium.TimeoutException: waiting for element By.id: \"cart\" (tried for 10 second(s) with 250 milliseconds interval)";
        assert_eq!(signature(a), signature(b));
        assert_eq!(
            signature(a),
            "org.openqa.selenium.TimeoutException: waiting for element By.id: <str> (tried for <n> second(s) with <n> milliseconds interval)"
        );
        assert_eq!(
            signature(
                "java.lang.AssertionError: Order total mismatch: expected [59.99] but found [64.99]"
            ),
            "java.lang.AssertionError: Order total mismatch: expected [<n>] but found [<n>]"
        );
        assert_eq!(
            signature(
                "IOError: cannot read /var/tmp/run-17/report.xml for session 3f2a9c1b-0d4e-4b7a-9c1f-0000deadbeef at 0x7ffe12"
            ),
            "IOError: cannot read <path> for session <id> at <hex>"
        );
        assert_eq!(signature("commit a3f9e21b failed"), "commit <hex> failed");
        assert_eq!(signature(""), "(no message)");
        assert_ne!(
            signature("java.lang.AssertionError: Status code mismatch"),
            signature("java.lang.AssertionError: Order total mismatch")
        );
    }

    #[test]
    fn exception_types_are_found() {
        assert_eq!(
            exception_type("java.lang.AssertionError: x").as_deref(),
            Some("java.lang.AssertionError")
        );
        assert_eq!(
            exception_type("PaymentGatewayException: card declined").as_deref(),
            Some("PaymentGatewayException")
        );
        assert_eq!(exception_type("element not found"), None);
    }

    #[test]
    fn verdicts_from_history() {
        let v = verdict(&["FAILED", "PASSED", "FAILED", "PASSED"]);
        assert_eq!((v.flips, v.flaky, v.recurring), (3, true, false));
        assert_eq!(v.last_pass, Some(1));
        assert_eq!(v.letters, "FPFP");

        let v = verdict(&["FAILED", "FAILED", "SKIPPED", "FAILED", "PASSED"]);
        assert_eq!(
            (v.flips, v.flaky, v.recurring, v.streak),
            (1, false, true, 2)
        );
        assert_eq!(v.last_pass, Some(4));

        let v = verdict(&["FAILED"]);
        assert_eq!(
            (v.flips, v.flaky, v.recurring, v.last_pass),
            (0, false, false, None)
        );
    }
}
