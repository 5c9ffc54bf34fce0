//! The audit log's stdout/file sinks and failure counting.

// Test helpers may unwrap/expect/panic: clippy.toml only covers #[test] fns and #[cfg(test)].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::record;
use zebrunner_storage::audit::{AuditLog, AuditRecord, AuditSink, Outcome};

#[tokio::test]
async fn file_sink_appends_one_json_line_per_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    std::fs::write(&path, "{\"existing\":true}\n").unwrap();
    let log = AuditLog::new(vec![AuditSink::File(path.clone())]);
    let first = record(
        "2026-05-01T09:00:00.000Z",
        "ann",
        "get_test_case",
        Outcome::Ok,
    );
    let second = record(
        "2026-05-01T09:00:01.000Z",
        "bob",
        "list_projects",
        Outcome::Denied,
    );
    log.record(&first).await.unwrap();
    log.record(&second).await.unwrap();
    assert_eq!(log.failures(), 0);

    let content = std::fs::read_to_string(&path).unwrap();
    assert!(content.ends_with('\n'));
    let lines: Vec<&str> = content.lines().collect();
    assert_eq!(lines.len(), 3, "appends, never truncates: {content}");
    assert_eq!(lines[0], "{\"existing\":true}");
    let back: Vec<AuditRecord> = lines[1..]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(back, [first, second]);
    assert!(lines[2].contains(r#""outcome":"denied""#), "{}", lines[2]);
    assert!(lines[1].contains(r#""kind":"tool_call""#), "{}", lines[1]);
}

#[cfg(unix)]
#[tokio::test]
async fn file_sink_creates_the_file_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.jsonl");
    let log = AuditLog::new(vec![AuditSink::File(path.clone())]);
    log.record(&record("2026-05-01T09:00:00Z", "a", "t", Outcome::Ok))
        .await
        .unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[tokio::test]
async fn concurrent_records_never_interleave() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::new(vec![AuditSink::File(path.clone())]);
    let mut handles = Vec::new();
    for i in 0..20 {
        let log = log.clone();
        handles.push(tokio::spawn(async move {
            let mut r = record("2026-05-01T09:00:00Z", &format!("u{i}"), "t", Outcome::Ok);
            r.detail = Some("x".repeat(10_000));
            log.record(&r).await.unwrap();
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let content = std::fs::read_to_string(&path).unwrap();
    assert_eq!(content.lines().count(), 20);
    for line in content.lines() {
        serde_json::from_str::<AuditRecord>(line).expect("every line is a whole record");
    }
}

#[tokio::test]
async fn a_failing_sink_fails_the_record_and_is_counted_but_others_still_write() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.jsonl");
    // A path below a regular file cannot be created, even by root.
    let blocker = dir.path().join("not-a-directory");
    std::fs::write(&blocker, "").unwrap();
    let bad = blocker.join("audit.jsonl");
    let log = AuditLog::new(vec![
        AuditSink::File(bad.clone()),
        AuditSink::File(good.clone()),
    ]);

    let r = record("2026-05-01T09:00:00Z", "ann", "t", Outcome::Ok);
    let err = log.record(&r).await.unwrap_err();
    assert_eq!(err.failures.len(), 1);
    assert!(err.to_string().contains("not-a-directory"), "{err}");
    assert_eq!(log.failures(), 1);
    log.record(&r).await.unwrap_err();
    assert_eq!(log.failures(), 2);
    assert_eq!(log.clone().failures(), 2, "clones share the counter");
    assert_eq!(std::fs::read_to_string(&good).unwrap().lines().count(), 2);
}

#[tokio::test]
async fn disabled_log_accepts_everything() {
    let log = AuditLog::disabled();
    assert!(!log.is_enabled());
    log.record(&record("2026-05-01T09:00:00Z", "a", "t", Outcome::Ok))
        .await
        .unwrap();
    assert_eq!(log.failures(), 0);
}

#[tokio::test]
async fn stdout_sink_writes() {
    // Output goes to the test harness's captured stdout; this checks it does not fail.
    let log = AuditLog::new(vec![AuditSink::Stdout]);
    log.record(&record("2026-05-01T09:00:00Z", "a", "t", Outcome::Ok))
        .await
        .unwrap();
    assert_eq!(log.failures(), 0);
}

#[tokio::test]
async fn line_sinks_write_bounded_records() {
    use zebrunner_storage::audit::bound::{MAX_DETAIL_CHARS, MAX_TOOL_CHARS};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::new(vec![AuditSink::File(path.clone())]);
    let mut r = record("2026-05-01T09:00:00Z", "ann", "t", Outcome::Error);
    r.tool = Some("x".repeat(900_000));
    r.detail = Some("d".repeat(900_000));
    log.record(&r).await.unwrap();
    let content = std::fs::read_to_string(&path).unwrap();
    assert!(content.len() < 4_096, "{} bytes", content.len());
    let back: AuditRecord = serde_json::from_str(content.trim_end()).unwrap();
    assert_eq!(back.tool.unwrap().chars().count(), MAX_TOOL_CHARS);
    assert_eq!(back.detail.unwrap().chars().count(), MAX_DETAIL_CHARS);
}
