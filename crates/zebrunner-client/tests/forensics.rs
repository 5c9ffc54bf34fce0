//! Failure forensics against the real sandbox: one launch test, its logs
//! (token paging up to 1,000 a page), its sessions, and authenticated
//! downloads that stop at a byte cap and never leave the workspace's host.

// Test helpers may unwrap/expect/panic: clippy.toml only covers #[test] fns and #[cfg(test)].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Env;
use zebrunner_client::{ErrorKind, PageRequest, TokenPageRequest};
use zebrunner_sandbox::seed::BIG_LAUNCH_ID;

#[tokio::test]
async fn logs_page_sessions_and_capped_downloads() {
    let env = Env::start().await;
    let alice = env.client("alice");
    let pid = alice.project_id("DEMO").await.unwrap();
    let failed = alice
        .launch_tests_with_status_page(
            pid,
            BIG_LAUNCH_ID,
            &["FAILED".into()],
            PageRequest::new(1, 100),
        )
        .await
        .unwrap()
        .items
        .remove(0);
    let test = alice
        .launch_test(pid, BIG_LAUNCH_ID, failed.id)
        .await
        .unwrap();
    assert_eq!((test.id, test.status.as_str()), (failed.id, "FAILED"));

    // Pages of 7 add up to the single page of 1,000, in the same order.
    let whole = alice
        .test_logs_page(BIG_LAUNCH_ID, test.id, &TokenPageRequest::first(1000))
        .await
        .unwrap();
    assert!(whole.next_page_token.is_none());
    let mut paged = Vec::new();
    let mut req = TokenPageRequest::first(7);
    let mut pages = 0;
    loop {
        let page = alice
            .test_logs_page(BIG_LAUNCH_ID, test.id, &req)
            .await
            .unwrap();
        pages += 1;
        let next = page.next_request(&req);
        paged.extend(page.items);
        match next {
            Some(n) => req = n,
            None => break,
        }
    }
    assert_eq!(paged, whole.items);
    assert_eq!(pages, whole.items.len().div_ceil(7));
    let shot = whole.items.iter().rfind(|e| e.is_screenshot()).unwrap();

    // The session that ran it, with its environment and artifacts.
    let sessions = alice
        .test_sessions_page(pid, BIG_LAUNCH_ID, Some(test.id), PageRequest::new(1, 50))
        .await
        .unwrap();
    assert_eq!(sessions.items.len(), 1);
    let session = &sessions.items[0];
    assert!(session.tests.iter().any(|t| t.id == test.id));
    assert_eq!(session.browser(), Some("chrome"));
    let log_ref = session
        .artifact_references
        .iter()
        .find(|a| a.name == "Log")
        .and_then(|a| a.value.clone())
        .unwrap();

    // A screenshot in full, then cut at 1,000 bytes (the transfer stops there).
    let file = alice
        .file_reference(shot.value.as_deref().unwrap())
        .unwrap();
    let full = alice.download_file(&file, 1 << 20).await.unwrap();
    assert_eq!(full.content_type.as_deref(), Some("image/png"));
    assert!(!full.truncated && full.bytes.starts_with(b"\x89PNG"));
    assert_eq!(full.declared_len, Some(full.bytes.len() as u64));
    let cut = alice.download_file(&file, 1000).await.unwrap();
    assert!(cut.truncated);
    assert_eq!(cut.bytes, full.bytes[..1000]);

    // The session log as text, every line of it naming the test class.
    let text = alice
        .download_file(&alice.file_reference(&log_ref).unwrap(), 1 << 22)
        .await
        .unwrap();
    assert_eq!(text.content_type.as_deref(), Some("text/plain"));
    let text = String::from_utf8(text.bytes).unwrap();
    assert!(text.lines().count() > 50);
    assert!(text.contains("\tat "), "stack traces in full");

    // An absolute URL on the workspace is the same file; another host, `..`
    // and other roots are refused before any request.
    let absolute = alice
        .file_reference(&format!(
            "{}{}",
            env.sandbox.url,
            shot.value.as_deref().unwrap()
        ))
        .unwrap();
    assert!(absolute.same_file(&file));
    env.clear_requests().await;
    for bad in [
        "https://elsewhere.example/files/scr-1-1.png",
        "/files/../api/projects/v1/projects",
        "/api/projects/v1/projects",
        "/files/a?x=1",
        "files",
    ] {
        assert!(alice.file_reference(bad).is_err(), "{bad}");
    }
    assert!(env.requests().await.is_empty());

    // Missing files are 404s; bob may not read API's files (403).
    let missing = alice.file_reference("/files/scr-1041001-99.png").unwrap();
    let err = alice.download_file(&missing, 1000).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let bob = env.client("bob");
    let api_file = bob.file_reference("/files/scr-3001001-1.png").unwrap();
    let err = bob.download_file(&api_file, 1000).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden);
}
