//! Failure forensics models: a launch test's log lines and screenshots
//! (R12), its test sessions (R11) and downloaded files (R24, R25).

use serde::{Deserialize, Serialize};

use crate::lenient;

/// One entry of a test's `logs-and-screenshots` (R12), in time order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LogEntry {
    /// `log` or `screenshot`.
    pub kind: String,
    /// `INFO`, `DEBUG`, `WARN`, `ERROR`... (log lines only).
    pub level: Option<String>,
    /// ISO 8601.
    pub instant: Option<String>,
    /// The message, or for a screenshot its file path (`/files/<id>`).
    #[serde(deserialize_with = "lenient::opt_string")]
    pub value: Option<String>,
}

impl LogEntry {
    pub fn is_screenshot(&self) -> bool {
        self.kind.eq_ignore_ascii_case("screenshot")
    }
}

/// A `{name, value}` artifact reference of a test session (video, logs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ArtifactReference {
    pub name: String,
    /// A path relative to the workspace (`artifacts/...`) or a URL.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub value: Option<String>,
}

/// A test of a session, as the session lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SessionTest {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    pub name: String,
    pub status: String,
}

/// A test session of a launch (R11): the browser or device a group of tests
/// ran in. Zebrunner spells several fields two ways (`browser` or
/// `browserName`...); the accessors take whichever is present.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TestSession {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    pub session_id: Option<String>,
    pub name: Option<String>,
    pub status: Option<String>,
    pub initiated_at: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub started_at: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub ended_at: Option<String>,
    pub platform: Option<String>,
    pub platform_name: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub platform_version: Option<String>,
    pub browser: Option<String>,
    pub browser_name: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub browser_version: Option<String>,
    pub device: Option<String>,
    pub device_name: Option<String>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub duration_in_seconds: Option<i64>,
    pub tests: Vec<SessionTest>,
    pub artifact_references: Vec<ArtifactReference>,
}

impl TestSession {
    pub fn platform(&self) -> Option<&str> {
        self.platform_name.as_deref().or(self.platform.as_deref())
    }

    pub fn browser(&self) -> Option<&str> {
        self.browser_name.as_deref().or(self.browser.as_deref())
    }

    pub fn device(&self) -> Option<&str> {
        self.device_name.as_deref().or(self.device.as_deref())
    }
}

/// A downloaded file, read up to a byte cap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Download {
    /// The bytes read: all of the file, or the first `cap` bytes.
    pub bytes: Vec<u8>,
    /// `Content-Type` without parameters, lower-cased.
    pub content_type: Option<String>,
    /// `Content-Length`, when Zebrunner sent one.
    pub declared_len: Option<u64>,
    /// The file is longer than the cap: `bytes` holds its beginning only.
    pub truncated: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sessions_take_either_spelling() -> Result<(), serde_json::Error> {
        let s: TestSession = serde_json::from_value(json!({
            "id": "7", "name": "chrome", "status": "FAILED", "browser": "chrome",
            "platformName": "linux", "endedAt": 1767225600000i64, "durationInSeconds": "12",
            "artifactReferences": [{"name": "Log", "value": "artifacts/x/session.log"}],
            "tests": [{"id": 3, "name": "t", "status": "FAILED"}]
        }))?;
        assert_eq!(
            (s.id, s.browser(), s.platform()),
            (7, Some("chrome"), Some("linux"))
        );
        assert_eq!(s.ended_at.as_deref(), Some("1767225600000"));
        assert_eq!(s.duration_in_seconds, Some(12));
        let e: LogEntry = serde_json::from_value(
            json!({"kind": "screenshot", "level": null, "instant": "2026-01-01T00:00:00Z", "value": "/files/a"}),
        )?;
        assert!(e.is_screenshot());
        Ok(())
    }
}
