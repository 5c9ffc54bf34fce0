//! `analyze_test_failure`: one failed launch test, fully explained: the log
//! lines around the failure (paged back with `cursor`, levels kept), its
//! screenshots as image blocks (downscaled, capped in count and bytes, the
//! rest as references for `get_test_artifact`), artifacts and the session's
//! environment, the last passing run of the same test and what changed, the
//! launch's other failures with the same signature, linked TCM cases and
//! known issues, and a defect text ready to paste (Markdown or Jira).
//!
//! Zebrunner requests, first page: the project (cached), the launch (R6),
//! the test (R9), its log (R12, pages of 1,000), its sessions (R11), its
//! history (R10), the launch's failed tests (R8 filtered, pages of 100), one
//! per linked TCM case (at most 5), one download per screenshot shown, and
//! for the last pass its launch, sessions and log. A `cursor` page reads only
//! the launch, the test and the log.

use std::collections::BTreeMap;

use rmcp::{
    ErrorData as McpError,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::{CallToolResult, ContentBlock},
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use zebrunner_client::{ErrorKind, Launch, LaunchTest, LogEntry, PageRequest, TestSession};

use super::{
    analyze_launch_failures::{exception_type, signature, verdict},
    cursor::{self, OffsetCursor},
    error::ToolError,
    forensics::{self, Artifact},
    output::{Format, ToolOutput, finish_with_content, truncate},
    reporting::epoch_ms,
    scope,
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

/// Entries shown after the failing one.
const AFTER_FAILURE: usize = 3;
/// Characters kept of one log entry (stack traces included).
const ENTRY_CHARS: usize = 4_000;
const HISTORY_DEPTH: u32 = 20;
const MAX_LINKED_CASES: usize = 5;
const SIMILAR_LISTED: usize = 10;

/// How the defect text is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DefectFormat {
    #[default]
    Markdown,
    Jira,
}

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeTestFailureArgs {
    pub project_key: String,
    /// Launch id (see list_launches).
    pub launch_id: i64,
    /// Test id in the launch (see list_launch_tests).
    pub test_id: i64,
    /// Log entries per page, ending just after the failure (default 30).
    #[schemars(range(min = 5, max = 200))]
    pub log_lines: Option<u32>,
    /// Screenshots returned as images, newest first (default 3).
    #[schemars(range(min = 0, max = 10))]
    pub max_images: Option<u32>,
    /// Longest image side in pixels (default 768).
    #[schemars(range(min = 128, max = 1600))]
    pub image_px: Option<u32>,
    /// Image bytes per answer in KB (default 1024).
    #[schemars(range(min = 16, max = 4096))]
    pub max_image_kb: Option<u32>,
    pub defect_format: Option<DefectFormat>,
    /// Earlier log lines (from next_cursor).
    pub cursor: Option<String>,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TestFailureOutput {
    pub project_key: String,
    pub launch_id: i64,
    pub launch_name: String,
    pub test: FailedTestFacts,
    pub log: LogWindow,
    /// A `cursor` page: only `log` is filled.
    pub log_page_only: bool,
    pub screenshots: Vec<Screenshot>,
    pub artifacts: Vec<Artifact>,
    pub environment: BTreeMap<String, String>,
    pub history: Option<String>,
    pub last_pass: Option<LastPassingRun>,
    pub similar: Option<SimilarFailures>,
    pub test_cases: Vec<LinkedCase>,
    pub defect: Option<DefectText>,
    pub zebrunner_requests: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FailedTestFacts {
    pub id: i64,
    pub name: String,
    pub class: Option<String>,
    pub status: String,
    pub message: Option<String>,
    pub exception_type: Option<String>,
    pub signature: String,
    pub started_at: Option<String>,
    pub duration_ms: Option<i64>,
    pub owner: Option<String>,
    pub known_issue: bool,
    pub issues: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LogWindow {
    pub total: usize,
    pub failure_line: Option<usize>,
    pub lines: Vec<LogLine>,
    pub log_truncated: bool,
    /// Pass as `cursor` for earlier lines.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LogLine {
    pub n: usize,
    pub at: Option<String>,
    pub level: String,
    pub text: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Screenshot {
    /// For get_test_artifact.
    pub reference: String,
    pub at: Option<String>,
    pub shown: bool,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub bytes: Option<usize>,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LastPassingRun {
    pub launch_id: Option<i64>,
    pub test_id: i64,
    pub at: Option<String>,
    pub duration_ms: Option<i64>,
    pub duration_change_ms: Option<i64>,
    pub environment_changes: Vec<EnvironmentChange>,
    pub first_difference: Option<LogDifference>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct EnvironmentChange {
    pub key: String,
    pub then: Option<String>,
    pub now: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LogDifference {
    pub line: usize,
    pub then: Option<String>,
    pub now: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SimilarFailures {
    pub signature: String,
    pub count: usize,
    pub tests: Vec<SimilarTest>,
    pub issues: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SimilarTest {
    pub id: i64,
    pub name: String,
    pub known_issue: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LinkedCase {
    pub key: String,
    pub title: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DefectText {
    pub format: String,
    pub title: String,
    pub body: String,
}

impl ToolOutput for TestFailureOutput {
    fn markdown(&self) -> String {
        let t = &self.test;
        let mut md = format!(
            "**Test {} `{}`: {}** in launch {} \"{}\" ({})\n",
            t.id, t.name, t.status, self.launch_id, self.launch_name, self.project_key
        );
        if let Some(m) = &t.message {
            md.push_str(&format!("\n```\n{}\n```\n", truncate(m, 600)));
        }
        let mut facts = Vec::new();
        if let Some(d) = t.duration_ms {
            facts.push(format!("{:.1}s", d as f64 / 1000.0));
        }
        if t.known_issue {
            facts.push("known issue".into());
        }
        if !t.issues.is_empty() {
            facts.push(format!("issues {}", t.issues.join(", ")));
        }
        if let Some(h) = &self.history {
            facts.push(format!("history {h}"));
        }
        if !facts.is_empty() {
            md.push_str(&format!("{}\n", facts.join(" · ")));
        }
        if !self.environment.is_empty() {
            let env: Vec<String> = self
                .environment
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            md.push_str(&format!("\n**Environment:** {}\n", env.join(" · ")));
        }
        let log = &self.log;
        md.push_str(&format!(
            "\n**Log** ({} of {} entries{}):\n```\n",
            log.lines.len(),
            log.total,
            log.failure_line
                .map(|n| format!(", failure at #{n}"))
                .unwrap_or_default()
        ));
        for l in &log.lines {
            let at = l.at.as_deref().and_then(|a| a.get(11..19)).unwrap_or("");
            md.push_str(&format!("#{} {at} {:<5} {}\n", l.n, l.level, l.text));
        }
        md.push_str("```\n");
        if let Some(c) = &log.next_cursor {
            md.push_str(&format!(
                "Earlier lines: call again with `cursor` = `{c}`.\n"
            ));
        }
        if self.log_page_only {
            return md;
        }
        if !self.screenshots.is_empty() {
            md.push_str("\n**Screenshots:**\n");
            for s in &self.screenshots {
                let state = if s.shown {
                    format!(
                        "shown below ({}x{})",
                        s.width.unwrap_or(0),
                        s.height.unwrap_or(0)
                    )
                } else {
                    s.note.clone().unwrap_or_else(|| "not shown".into())
                };
                md.push_str(&format!("- `{}`: {state}\n", s.reference));
            }
        }
        if !self.artifacts.is_empty() {
            md.push_str("\n**Artifacts:**\n");
            for a in &self.artifacts {
                md.push_str(&format!("- {} ({}): `{}`\n", a.name, a.source, a.reference));
            }
        }
        match &self.last_pass {
            Some(p) => {
                md.push_str(&format!(
                    "\n**Last pass:** launch {} test {}{}\n",
                    p.launch_id.map_or("?".into(), |l| l.to_string()),
                    p.test_id,
                    p.at.as_deref()
                        .map(|a| format!(" at {a}"))
                        .unwrap_or_default()
                ));
                if let Some(d) = p.duration_change_ms {
                    md.push_str(&format!("- duration {:+.1}s\n", d as f64 / 1000.0));
                }
                for c in &p.environment_changes {
                    md.push_str(&format!(
                        "- {}: {} → {}\n",
                        c.key,
                        c.then.as_deref().unwrap_or("(none)"),
                        c.now.as_deref().unwrap_or("(none)")
                    ));
                }
                if let Some(d) = &p.first_difference {
                    md.push_str(&format!(
                        "- first different log line #{}: then `{}`, now `{}`\n",
                        d.line,
                        truncate(d.then.as_deref().unwrap_or("(end of log)"), 160),
                        truncate(d.now.as_deref().unwrap_or("(end of log)"), 160)
                    ));
                }
            }
            None => md.push_str("\n**Last pass:** none in the history read.\n"),
        }
        if let Some(s) = &self.similar {
            md.push_str(&format!(
                "\n**Same signature in this launch:** {} other test(s){}\n",
                s.count,
                if s.issues.is_empty() {
                    String::new()
                } else {
                    format!(", issues {}", s.issues.join(", "))
                }
            ));
            for t in &s.tests {
                md.push_str(&format!(
                    "- {} `{}`{}\n",
                    t.id,
                    t.name,
                    if t.known_issue { " (known issue)" } else { "" }
                ));
            }
        }
        if !self.test_cases.is_empty() {
            let cases: Vec<String> = self
                .test_cases
                .iter()
                .map(|c| match &c.title {
                    Some(title) => format!("{} \"{title}\"", c.key),
                    None => c.key.clone(),
                })
                .collect();
            md.push_str(&format!("\n**TCM cases:** {}\n", cases.join(", ")));
        }
        if let Some(d) = &self.defect {
            md.push_str(&format!(
                "\n**Defect ({}), ready to paste:**\n\n{}\n\n{}\n",
                d.format, d.title, d.body
            ));
        }
        md
    }
}

/// What one run ran on: launch values, overridden by the session's.
fn environment(launch: &Launch, sessions: &[TestSession]) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let mut put = |k: &str, v: Option<&str>| {
        if let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) {
            env.insert(k.to_string(), v.to_string());
        }
    };
    put("environment", launch.environment.as_deref());
    put("build", launch.build.as_deref());
    put("locale", launch.locale.as_deref());
    put("platform", launch.platform.as_deref());
    put("platform_version", launch.platform_version.as_deref());
    put("browser", launch.browser.as_deref());
    put("device", launch.device.as_deref());
    if let Some(s) = sessions.first() {
        put("platform", s.platform());
        put("platform_version", s.platform_version.as_deref());
        put("browser", s.browser());
        put("browser_version", s.browser_version.as_deref());
        put("device", s.device());
        put("session", s.session_id.as_deref());
    }
    env
}

/// Keys whose values differ; the session id and build always differ, so
/// they are left out.
fn environment_changes(
    then: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
) -> Vec<EnvironmentChange> {
    let mut keys: Vec<&String> = then.keys().chain(now.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| k.as_str() != "session" && k.as_str() != "build")
        .filter(|k| then.get(*k) != now.get(*k))
        .map(|k| EnvironmentChange {
            key: k.clone(),
            then: then.get(k).cloned(),
            now: now.get(k).cloned(),
        })
        .collect()
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// The first log line (screenshots skipped) that differs between two runs,
/// comparing level and signature, so timings and ids do not count.
fn first_difference(then: &[LogEntry], now: &[LogEntry]) -> Option<LogDifference> {
    let lines = |entries: &[LogEntry]| -> Vec<(String, String)> {
        entries
            .iter()
            .filter(|e| !e.is_screenshot())
            .map(|e| {
                let text = e.value.clone().unwrap_or_default();
                let key = format!(
                    "{} {}",
                    e.level.as_deref().unwrap_or("").to_ascii_uppercase(),
                    signature(&text)
                );
                (key, first_line(&text).to_string())
            })
            .collect()
    };
    let (a, b) = (lines(then), lines(now));
    let i =
        (0..a.len().max(b.len())).find(|&i| a.get(i).map(|x| &x.0) != b.get(i).map(|x| &x.0))?;
    Some(LogDifference {
        line: i + 1,
        then: a.get(i).map(|x| x.1.clone()),
        now: b.get(i).map(|x| x.1.clone()),
    })
}

/// Index of the failing entry: the first ERROR, else the last entry.
fn failure_index(entries: &[LogEntry]) -> Option<usize> {
    entries
        .iter()
        .position(|e| {
            e.level
                .as_deref()
                .is_some_and(|l| l.eq_ignore_ascii_case("ERROR") || l.eq_ignore_ascii_case("FATAL"))
        })
        .or_else(|| entries.len().checked_sub(1))
}

fn log_line(n: usize, e: &LogEntry) -> LogLine {
    LogLine {
        n,
        at: e.instant.clone(),
        level: if e.is_screenshot() {
            "SCREENSHOT".into()
        } else {
            e.level
                .clone()
                .unwrap_or_else(|| "-".into())
                .to_ascii_uppercase()
        },
        text: truncate(e.value.as_deref().unwrap_or(""), ENTRY_CHARS),
    }
}

#[tool_router(router = analyze_test_failure_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "analyze_test_failure",
        description = "Explain one failed launch test: log lines around the failure, screenshots as images, artifacts, environment, the last passing run and what changed, same-signature failures in the launch, linked cases and issues, and a defect text (markdown or jira).",
        output_schema = rmcp::handler::server::tool::schema_for_output::<TestFailureOutput>(),
        annotations(title = "Analyze test failure", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn analyze_test_failure(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<AnalyzeTestFailureArgs>,
    ) -> Result<CallToolResult, McpError> {
        finish_with_content(&cx, args.format, analyze(&cx, &args).await)
    }
}

async fn analyze(
    cx: &CallContext,
    a: &AnalyzeTestFailureArgs,
) -> Result<(TestFailureOutput, Vec<ContentBlock>), ToolError> {
    let window = a.log_lines.unwrap_or(30);
    if !(5..=200).contains(&window) {
        return Err(ToolError::invalid("`log_lines` must be between 5 and 200"));
    }
    let max_images = a.max_images.unwrap_or(3);
    if max_images > 10 {
        return Err(ToolError::invalid("`max_images` must be at most 10"));
    }
    let image_px = a.image_px.unwrap_or(768);
    if !(128..=1600).contains(&image_px) {
        return Err(ToolError::invalid(
            "`image_px` must be between 128 and 1600",
        ));
    }
    let image_budget = a.max_image_kb.unwrap_or(1024);
    if !(16..=4096).contains(&image_budget) {
        return Err(ToolError::invalid(
            "`max_image_kb` must be between 16 and 4096",
        ));
    }
    let image_budget = image_budget as usize * 1024;
    let found = forensics::locate(cx, &a.project_key, a.launch_id, a.test_id).await?;
    let client = &cx.client;
    let (project, project_id, launch, test) =
        (found.project, found.project_id, found.launch, found.test);
    let fingerprint = cursor::fingerprint(&(
        "analyze_test_failure",
        &project,
        a.launch_id,
        a.test_id,
        window,
    ));
    let resume = a
        .cursor
        .as_deref()
        .map(|c| OffsetCursor::resume(&cx.cursors, Some(c), &fingerprint))
        .transpose()?;

    let (entries, log_truncated) = forensics::read_logs(client, launch.id, test.id).await?;
    let failure = failure_index(&entries);
    let end = match resume {
        Some(end) if end <= entries.len() => end,
        Some(_) => {
            return Err(ToolError::invalid(
                "`cursor` is past the start of the log; repeat the call without `cursor`",
            ));
        }
        None => failure.map_or(entries.len(), |f| {
            (f + 1 + AFTER_FAILURE).min(entries.len())
        }),
    };
    let start = end.saturating_sub(window as usize);
    let log = LogWindow {
        total: entries.len(),
        failure_line: failure.map(|f| f + 1),
        lines: entries[start..end]
            .iter()
            .enumerate()
            .map(|(i, e)| log_line(start + i + 1, e))
            .collect(),
        log_truncated,
        next_cursor: (start > 0).then(|| {
            cx.cursors.encode(&OffsetCursor {
                q: fingerprint.clone(),
                o: start,
            })
        }),
    };
    let message = test.message.clone().unwrap_or_default();
    let facts = FailedTestFacts {
        id: test.id,
        name: test.name.clone(),
        class: test.test_class.clone(),
        status: test.status.clone(),
        message: test.message.clone().map(|m| truncate(&m, ENTRY_CHARS)),
        exception_type: exception_type(&message),
        signature: signature(&message),
        started_at: test.start_time.and_then(epoch_ms),
        duration_ms: test.duration_ms(),
        owner: test.owner.clone(),
        known_issue: test.known_issue,
        issues: test.issue_links(),
    };
    let mut output = TestFailureOutput {
        project_key: project.clone(),
        launch_id: launch.id,
        launch_name: launch.name.clone(),
        test: facts,
        log,
        log_page_only: resume.is_some(),
        screenshots: Vec::new(),
        artifacts: Vec::new(),
        environment: BTreeMap::new(),
        history: None,
        last_pass: None,
        similar: None,
        test_cases: Vec::new(),
        defect: None,
        zebrunner_requests: 0,
    };
    if resume.is_some() {
        output.zebrunner_requests = cx.requests.total();
        return Ok((output, Vec::new()));
    }

    // Screenshots, newest first: the ones nearest the failure matter most.
    let mut blocks = Vec::new();
    let mut spent = 0usize;
    let shots: Vec<&LogEntry> = entries.iter().filter(|e| e.is_screenshot()).collect();
    for (i, e) in shots.iter().rev().enumerate() {
        let reference = e.value.clone().unwrap_or_default();
        let mut shot = Screenshot {
            reference: reference.clone(),
            at: e.instant.clone(),
            shown: false,
            width: None,
            height: None,
            bytes: None,
            note: None,
        };
        if i >= max_images as usize {
            shot.note = Some(format!(
                "over max_images {max_images}; use get_test_artifact"
            ));
        } else {
            match show(cx, &reference, image_px).await {
                Ok(p) if spent + p.png.len() <= image_budget => {
                    spent += p.png.len();
                    shot.shown = true;
                    (shot.width, shot.height, shot.bytes) =
                        (Some(p.width), Some(p.height), Some(p.png.len()));
                    blocks.push(p.block());
                }
                Ok(p) => {
                    shot.note = Some(format!(
                        "{} KB would pass max_image_kb; use get_test_artifact",
                        p.png.len().div_ceil(1024)
                    ));
                }
                Err(why) => shot.note = Some(why),
            }
        }
        output.screenshots.push(shot);
    }
    output.screenshots.reverse();
    // Images in time order, like the list.
    blocks.reverse();

    let sessions = forensics::sessions_of(client, project_id, launch.id, test.id).await?;
    output.artifacts = forensics::artifacts(&test, &sessions);
    output.environment = environment(&launch, &sessions);

    // History and the last passing run.
    let history = client
        .launch_test_history(project_id, launch.id, test.id, HISTORY_DEPTH)
        .await?;
    let statuses: Vec<&str> = history.iter().map(|h| h.status.as_str()).collect();
    output.history = Some(verdict(&statuses).letters);
    if let Some(pass) = history
        .iter()
        .find(|h| h.test_id != test.id && h.status.eq_ignore_ascii_case("PASSED"))
    {
        output.last_pass =
            Some(last_pass(cx, project_id, &test, pass, &entries, &output.environment).await?);
    }

    output.similar = Some(similar(cx, project_id, &launch, &test, &output.test.signature).await?);

    for key in test
        .test_cases
        .iter()
        .filter_map(|c| c.test_case_id.clone())
        .filter(|k| scope::key_in(&project, k))
        .take(MAX_LINKED_CASES)
    {
        let title = match scope::case_by_key(client, &project, &key).await {
            Ok(case) => Some(case.title),
            Err(ToolError::Zebrunner(e)) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        output.test_cases.push(LinkedCase { key, title });
    }

    output.defect = Some(defect_text(
        a.defect_format.unwrap_or_default(),
        &output,
        &entries,
        failure,
    ));
    output.zebrunner_requests = cx.requests.total();
    Ok((output, blocks))
}

/// Downloads a screenshot the test's log names and prepares its image.
async fn show(
    cx: &CallContext,
    reference: &str,
    image_px: u32,
) -> Result<super::screenshot::Prepared, String> {
    let file = cx
        .client
        .file_reference(reference)
        .map_err(|e| e.to_string())?;
    let download = cx
        .client
        .download_file(&file, forensics::SCREENSHOT_DOWNLOAD_CAP)
        .await
        .map_err(|e| {
            tracing::warn!(correlation_id = %cx.correlation_id, error = %e, "screenshot download failed");
            forensics::download_failure(e.kind())
        })?;
    forensics::prepare_image(&download, image_px)
}

async fn last_pass(
    cx: &CallContext,
    project_id: i64,
    test: &LaunchTest,
    pass: &zebrunner_client::TestHistoryItem,
    entries: &[LogEntry],
    env_now: &BTreeMap<String, String>,
) -> Result<LastPassingRun, ToolError> {
    let client = &cx.client;
    let mut run = LastPassingRun {
        launch_id: pass.test_run_id,
        test_id: pass.test_id,
        at: pass.start_time.and_then(epoch_ms),
        duration_ms: pass.elapsed,
        duration_change_ms: test.duration_ms().zip(pass.elapsed).map(|(a, b)| a - b),
        environment_changes: Vec::new(),
        first_difference: None,
    };
    // Its launch must be the project's too, before its log is read.
    if let Some(launch_id) = pass.test_run_id
        && let Ok(launch) = scope::launch(client, project_id, launch_id).await
    {
        let sessions = forensics::sessions_of(client, project_id, launch_id, pass.test_id).await?;
        run.environment_changes = environment_changes(&environment(&launch, &sessions), env_now);
        let (then, _) = forensics::read_logs(client, launch_id, pass.test_id).await?;
        run.first_difference = first_difference(&then, entries);
    }
    Ok(run)
}

async fn similar(
    cx: &CallContext,
    project_id: i64,
    launch: &Launch,
    test: &LaunchTest,
    wanted: &str,
) -> Result<SimilarFailures, ToolError> {
    let failed = ["FAILED".to_string()];
    let mut request = PageRequest::new(1, 100);
    let mut same: Vec<LaunchTest> = Vec::new();
    loop {
        let page = cx
            .client
            .launch_tests_with_status_page(project_id, launch.id, &failed, request)
            .await?;
        let next = page.next_request();
        same.extend(page.items.into_iter().filter(|t| {
            t.id != test.id
                && t.status.eq_ignore_ascii_case("FAILED")
                && signature(t.message.as_deref().unwrap_or("")) == wanted
        }));
        match next {
            Some(n) => request = n,
            None => break,
        }
    }
    let mut issues: Vec<String> = same.iter().flat_map(LaunchTest::issue_links).collect();
    issues.sort();
    issues.dedup();
    Ok(SimilarFailures {
        signature: wanted.to_string(),
        count: same.len(),
        tests: same
            .iter()
            .take(SIMILAR_LISTED)
            .map(|t| SimilarTest {
                id: t.id,
                name: t.name.clone(),
                known_issue: t.known_issue,
            })
            .collect(),
        issues,
    })
}

/// A defect report: title, environment, steps (the test's own step lines),
/// expected and actual, the failure's log excerpt and where to look.
fn defect_text(
    format: DefectFormat,
    o: &TestFailureOutput,
    entries: &[LogEntry],
    failure: Option<usize>,
) -> DefectText {
    let t = &o.test;
    let headline = t
        .message
        .as_deref()
        .map(first_line)
        .map(|l| truncate(l, 120))
        .unwrap_or_else(|| t.status.to_lowercase());
    let title = format!("{}: {} fails: {headline}", o.launch_name, t.name);
    let upto = failure.map_or(entries.len(), |f| f + 1);
    let steps: Vec<String> = entries[..upto]
        .iter()
        .filter(|e| {
            e.level
                .as_deref()
                .is_some_and(|l| l.eq_ignore_ascii_case("INFO"))
                && e.value.as_deref().is_some_and(|v| v.starts_with("Step "))
        })
        .filter_map(|e| e.value.as_deref().map(|v| truncate(first_line(v), 200)))
        .collect();
    let excerpt: String = failure
        .and_then(|f| entries[f].value.as_deref())
        .or(t.message.as_deref())
        .map(|v| v.lines().take(15).collect::<Vec<_>>().join("\n"))
        .unwrap_or_default();
    let env: Vec<(String, String)> = o
        .environment
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut notes = Vec::new();
    if let Some(p) = &o.last_pass {
        notes.push(format!(
            "Last passed in launch {} (test {}){}.",
            p.launch_id.map_or("?".into(), |l| l.to_string()),
            p.test_id,
            p.environment_changes
                .iter()
                .map(|c| format!("; {} was {}", c.key, c.then.as_deref().unwrap_or("(none)")))
                .collect::<String>()
        ));
    }
    if let Some(s) = &o.similar
        && s.count > 0
    {
        notes.push(format!(
            "{} other test(s) in this launch fail with the same signature.",
            s.count
        ));
    }
    let mut issues = t.issues.clone();
    if let Some(s) = &o.similar {
        issues.extend(s.issues.iter().cloned());
    }
    issues.sort();
    issues.dedup();
    if !issues.is_empty() {
        notes.push(format!("Possibly known: {}.", issues.join(", ")));
    }
    let cases: Vec<String> = o.test_cases.iter().map(|c| c.key.clone()).collect();
    let where_ = format!(
        "Zebrunner project {}, launch {} (\"{}\"), test {}{}",
        o.project_key,
        o.launch_id,
        o.launch_name,
        t.id,
        if cases.is_empty() {
            String::new()
        } else {
            format!(", TCM {}", cases.join(", "))
        }
    );
    let shots: Vec<&str> = o.screenshots.iter().map(|s| s.reference.as_str()).collect();
    let body = match format {
        DefectFormat::Markdown => {
            let mut b = String::from("### Environment\n");
            for (k, v) in &env {
                b.push_str(&format!("- {k}: {v}\n"));
            }
            b.push_str("\n### Steps to reproduce\n");
            for (i, s) in steps.iter().enumerate() {
                b.push_str(&format!("{}. {s}\n", i + 1));
            }
            b.push_str(&format!(
                "\n### Expected\nThe test `{}` passes.\n\n### Actual\n```\n{excerpt}\n```\n",
                t.name
            ));
            if !notes.is_empty() {
                b.push_str("\n### Notes\n");
                for n in &notes {
                    b.push_str(&format!("- {n}\n"));
                }
            }
            b.push_str(&format!("\n### Evidence\n- {where_}\n"));
            for s in &shots {
                b.push_str(&format!("- screenshot `{s}`\n"));
            }
            b
        }
        DefectFormat::Jira => {
            let mut b = String::from("h3. Environment\n||Key||Value||\n");
            for (k, v) in &env {
                b.push_str(&format!("|{k}|{}|\n", v.replace('|', "\\|")));
            }
            b.push_str("\nh3. Steps to reproduce\n");
            for s in &steps {
                b.push_str(&format!("# {s}\n"));
            }
            b.push_str(&format!(
                "\nh3. Expected\nThe test {{{{{}}}}} passes.\n\nh3. Actual\n{{code}}\n{excerpt}\n{{code}}\n",
                t.name
            ));
            if !notes.is_empty() {
                b.push_str("\nh3. Notes\n");
                for n in &notes {
                    b.push_str(&format!("* {n}\n"));
                }
            }
            b.push_str(&format!("\nh3. Evidence\n* {where_}\n"));
            for s in &shots {
                b.push_str(&format!("* screenshot {{{{{s}}}}}\n"));
            }
            b
        }
    };
    DefectText {
        format: match format {
            DefectFormat::Markdown => "markdown".into(),
            DefectFormat::Jira => "jira".into(),
        },
        title,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(level: &str, value: &str) -> LogEntry {
        LogEntry {
            kind: "log".into(),
            level: Some(level.into()),
            instant: None,
            value: Some(value.into()),
        }
    }

    #[test]
    fn first_difference_ignores_numbers_and_screenshots() {
        let shot = LogEntry {
            kind: "screenshot".into(),
            value: Some("/files/a".into()),
            ..LogEntry::default()
        };
        let then = [
            log("INFO", "Page ready in 120 ms"),
            log("INFO", "Test finished: PASSED"),
        ];
        let now = [
            log("INFO", "Page ready in 870 ms"),
            shot,
            log("WARN", "Element not ready after 900 ms"),
        ];
        let d = first_difference(&then, &now).unwrap();
        assert_eq!(d.line, 2);
        assert_eq!(d.then.as_deref(), Some("Test finished: PASSED"));
        assert_eq!(d.now.as_deref(), Some("Element not ready after 900 ms"));
        assert!(first_difference(&then, &then).is_none());
    }

    #[test]
    fn failure_is_the_first_error_else_the_end() {
        let e = [log("INFO", "a"), log("ERROR", "b"), log("error", "c")];
        assert_eq!(failure_index(&e), Some(1));
        assert_eq!(failure_index(&e[..1]), Some(0));
        assert_eq!(failure_index(&[]), None);
    }

    #[test]
    fn environment_changes_skip_session_and_build() {
        let m = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let changes = environment_changes(
            &m(&[("browser", "chrome"), ("session", "a"), ("build", "1")]),
            &m(&[("browser", "firefox"), ("session", "b"), ("locale", "de")]),
        );
        let keys: Vec<&str> = changes.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["browser", "locale"]);
    }
}
