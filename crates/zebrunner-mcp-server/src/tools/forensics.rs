//! Pieces `analyze_test_failure` and `get_test_artifact` share: finding a
//! launch test inside the caller's project (with errors that name the tool
//! listing what exists), reading its log in full pages, its sessions and
//! artifacts, and turning a downloaded screenshot into an image block.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use zebrunner_client::{
    Download, ErrorKind, Launch, LaunchTest, LogEntry, MAX_LOG_PAGE_SIZE, PageRequest, TestSession,
    TokenPageRequest, ZebrunnerClient,
};

use super::{error::ToolError, scope, screenshot};
use crate::context::CallContext;

/// Log entries read per test at most (five pages of 1,000).
pub const MAX_LOG_ENTRIES: usize = 5_000;
/// Bytes downloaded per screenshot at most; larger files stay references.
pub const SCREENSHOT_DOWNLOAD_CAP: usize = 8 * 1024 * 1024;

/// A launch test the caller may see, with its launch.
pub struct Located {
    pub project: String,
    pub project_id: i64,
    pub launch: Launch,
    pub test: LaunchTest,
}

/// The test `test_id` of launch `launch_id` in the project the caller
/// named, after checking the caller may use that project and the launch is
/// that project's. Missing ones name the tool that lists what exists.
pub async fn locate(
    cx: &CallContext,
    project_key: &str,
    launch_id: i64,
    test_id: i64,
) -> Result<Located, ToolError> {
    let project = cx.allowed_project(project_key)?;
    let client = &cx.client;
    let project_id = client.project_id(&project).await?;
    let launch = scope::launch(client, project_id, launch_id)
        .await
        .map_err(|e| match e {
            ToolError::Zebrunner(z) if z.kind() == ErrorKind::NotFound => ToolError::invalid(format!(
                "project {project} has no launch {launch_id}; list_launches project_key={project} lists its launches"
            )),
            other => other,
        })?;
    let missing_test = || {
        ToolError::invalid(format!(
            "launch {launch_id} of project {project} has no test {test_id}; list_launch_tests project_key={project} launch_id={launch_id} lists its tests"
        ))
    };
    let test = match client.launch_test(project_id, launch_id, test_id).await {
        Ok(t) if t.id == test_id && t.test_run_id.is_none_or(|l| l == launch_id) => t,
        Ok(_) => return Err(missing_test()),
        Err(e) if e.kind() == ErrorKind::NotFound => return Err(missing_test()),
        Err(e) => return Err(e.into()),
    };
    Ok(Located {
        project,
        project_id,
        launch,
        test,
    })
}

/// Every log entry of a test, in order, up to [`MAX_LOG_ENTRIES`]; the flag
/// says the log was longer. Call only after [`locate`]: the logs API takes
/// no project.
pub async fn read_logs(
    client: &ZebrunnerClient,
    launch_id: i64,
    test_id: i64,
) -> Result<(Vec<LogEntry>, bool), ToolError> {
    let mut entries = Vec::new();
    let mut request = TokenPageRequest::first(MAX_LOG_PAGE_SIZE);
    loop {
        let page = client.test_logs_page(launch_id, test_id, &request).await?;
        let next = page.next_request(&request);
        entries.extend(page.items);
        match next {
            Some(n) if entries.len() < MAX_LOG_ENTRIES => request = n,
            Some(_) => {
                entries.truncate(MAX_LOG_ENTRIES);
                return Ok((entries, true));
            }
            None => return Ok((entries, false)),
        }
    }
}

/// The sessions that ran a test (one page: a test runs in one or a few).
pub async fn sessions_of(
    client: &ZebrunnerClient,
    project_id: i64,
    launch_id: i64,
    test_id: i64,
) -> Result<Vec<TestSession>, ToolError> {
    let page = client
        .test_sessions_page(
            project_id,
            launch_id,
            Some(test_id),
            PageRequest::new(1, 50),
        )
        .await?;
    // A Zebrunner that ignores `testId` returns every session: keep this test's.
    Ok(page
        .items
        .into_iter()
        .filter(|s| s.tests.is_empty() || s.tests.iter().any(|t| t.id == test_id))
        .collect())
}

/// A file of a test or of its session.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct Artifact {
    pub name: String,
    pub reference: String,
    /// `test` or `session`.
    pub source: String,
}

/// The test's own artifacts, then its sessions' artifact references.
pub fn artifacts(test: &LaunchTest, sessions: &[TestSession]) -> Vec<Artifact> {
    let mut out: Vec<Artifact> = test
        .artifacts
        .iter()
        .filter_map(|a| {
            let reference = a.get("value").and_then(Value::as_str)?.trim();
            let name = a.get("name").and_then(Value::as_str).unwrap_or(reference);
            (!reference.is_empty()).then(|| Artifact {
                name: name.to_string(),
                reference: reference.to_string(),
                source: "test".into(),
            })
        })
        .collect();
    for s in sessions {
        for r in &s.artifact_references {
            if let Some(reference) = r.value.as_deref().map(str::trim).filter(|v| !v.is_empty())
                && !out.iter().any(|a| a.reference == reference)
            {
                out.push(Artifact {
                    name: r.name.clone(),
                    reference: reference.to_string(),
                    source: "session".into(),
                });
            }
        }
    }
    out
}

/// Whether an artifact is a video (never downloaded: too large for an answer).
pub fn is_video(name: &str, reference: &str) -> bool {
    name.eq_ignore_ascii_case("video")
        || [".mp4", ".webm", ".mov", ".avi", ".mkv"]
            .iter()
            .any(|ext| reference.to_ascii_lowercase().ends_with(ext))
}

/// Why a download failed, in words any caller may see (the error itself,
/// which may name the shared account, goes to the log).
pub fn download_failure(kind: ErrorKind) -> String {
    match kind {
        ErrorKind::NotFound => "not downloaded: Zebrunner no longer has the file".into(),
        ErrorKind::Forbidden | ErrorKind::Unauthorized => {
            "not downloaded: Zebrunner refused access to the file".into()
        }
        _ => "not downloaded: Zebrunner did not deliver it; try get_test_artifact later".into(),
    }
}

/// A downloaded screenshot as an image, or why it stays a reference.
pub fn prepare_image(download: &Download, max_side: u32) -> Result<screenshot::Prepared, String> {
    if download.truncated {
        return Err(format!(
            "larger than {} MB",
            SCREENSHOT_DOWNLOAD_CAP / (1024 * 1024)
        ));
    }
    if !screenshot::is_png(&download.bytes) {
        return Err(format!(
            "not a PNG ({})",
            download.content_type.as_deref().unwrap_or("unknown type")
        ));
    }
    screenshot::downscale_png(&download.bytes, max_side)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use zebrunner_client::ArtifactReference;

    #[test]
    fn artifacts_of_test_and_sessions_without_repeats() {
        let test = LaunchTest {
            artifacts: vec![
                json!({"name": "Page source", "value": "artifacts/a.html"}),
                json!({"name": "x"}),
            ],
            ..LaunchTest::default()
        };
        let session = TestSession {
            artifact_references: vec![
                ArtifactReference {
                    name: "Log".into(),
                    value: Some("artifacts/s/session.log".into()),
                },
                ArtifactReference {
                    name: "Copy".into(),
                    value: Some("artifacts/a.html".into()),
                },
            ],
            ..TestSession::default()
        };
        let got = artifacts(&test, &[session]);
        assert_eq!(
            got.iter()
                .map(|a| (a.name.as_str(), a.source.as_str()))
                .collect::<Vec<_>>(),
            [("Page source", "test"), ("Log", "session")]
        );
        assert!(is_video("Video", "artifacts/x"));
        assert!(is_video("rec", "artifacts/x.MP4"));
        assert!(!is_video("Log", "artifacts/session.log"));
    }
}
