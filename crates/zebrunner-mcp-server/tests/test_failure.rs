//! `analyze_test_failure` and `get_test_artifact` through the MCP call path
//! (an in-memory session against the sandbox), checked against what the
//! sandbox's own API answers: logs and their paging, screenshots as image
//! blocks within the caps, the last passing run, same-signature failures,
//! and refusals for projects the caller may not see and tests that do not
//! exist.

// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine as _;
use common::Harness;
use serde_json::{Value, json};
use zebrunner_client::{PageRequest, TokenPageRequest, ZebrunnerClient};

const LAUNCH: i64 = 1041;

/// A failed test of launch 1041 that passed in an earlier launch, found
/// through the sandbox's API (not the tools under test).
async fn failed_test_with_earlier_pass(client: &ZebrunnerClient) -> (i64, i64) {
    let pid = client.project_id("DEMO").await.unwrap();
    let failed = client
        .launch_tests_with_status_page(pid, LAUNCH, &["FAILED".into()], PageRequest::new(1, 100))
        .await
        .unwrap();
    for t in failed.items {
        let history = client
            .launch_test_history(pid, LAUNCH, t.id, 20)
            .await
            .unwrap();
        if let Some(pass) = history
            .iter()
            .find(|h| h.test_id != t.id && h.status == "PASSED")
        {
            return (t.id, pass.test_id);
        }
    }
    panic!("launch {LAUNCH} has no failed test with an earlier pass");
}

/// The raw `tools/call` result (content blocks included).
async fn call_raw(h: &mut Harness, tool: &str, arguments: Value) -> Value {
    let response = h
        .request("tools/call", json!({"name": tool, "arguments": arguments}))
        .await;
    response["result"].clone()
}

fn images(result: &Value) -> Vec<(u32, u32, usize)> {
    result["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "image")
        .map(|c| {
            assert_eq!(c["mimeType"], "image/png");
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(c["data"].as_str().unwrap())
                .unwrap();
            let reader = png::Decoder::new(std::io::Cursor::new(&bytes))
                .read_info()
                .expect("a valid PNG");
            (reader.info().width, reader.info().height, bytes.len())
        })
        .collect()
}

#[tokio::test]
async fn a_failed_test_fully_explained() {
    let mut h = Harness::start(None).await;
    let rest = h.someone_else();
    let (test_id, pass_test) = failed_test_with_earlier_pass(&rest).await;
    let result = call_raw(
        &mut h,
        "analyze_test_failure",
        json!({"project_key": "DEMO", "launch_id": LAUNCH, "test_id": test_id, "format": "json"}),
    )
    .await;
    assert_ne!(result["isError"], json!(true), "{result}");
    let out = &result["structuredContent"];

    // The log window ends just after the failure and keeps the levels; the
    // failure carries its stack trace.
    let (entries, _) = {
        let mut all = Vec::new();
        let mut req = TokenPageRequest::first(1000);
        loop {
            let page = rest.test_logs_page(LAUNCH, test_id, &req).await.unwrap();
            let next = page.next_request(&req);
            all.extend(page.items);
            match next {
                Some(n) => req = n,
                None => break (all, ()),
            }
        }
    };
    let log = &out["log"];
    assert_eq!(log["total"], json!(entries.len()));
    let failure = entries
        .iter()
        .position(|e| e.level.as_deref() == Some("ERROR"))
        .unwrap();
    assert_eq!(log["failure_line"], json!(failure + 1));
    let lines = log["lines"].as_array().unwrap();
    let error = lines.iter().find(|l| l["level"] == "ERROR").unwrap();
    assert!(
        error["text"]
            .as_str()
            .unwrap()
            .contains("\n\tat com.zebrunner.demo.")
    );
    let levels: Vec<&str> = lines.iter().map(|l| l["level"].as_str().unwrap()).collect();
    for level in ["INFO", "DEBUG", "WARN", "SCREENSHOT"] {
        assert!(levels.contains(&level), "{level} missing from {levels:?}");
    }
    assert_eq!(
        lines.last().unwrap()["n"],
        json!((failure + 1 + 3).min(entries.len()))
    );

    // Four screenshots, the three nearest the failure shown, as valid PNGs no
    // wider than 768 px; the first stays a reference.
    let shots = out["screenshots"].as_array().unwrap();
    assert_eq!(shots.len(), 4);
    let shown: Vec<bool> = shots.iter().map(|s| s["shown"] == json!(true)).collect();
    assert_eq!(shown, [false, true, true, true]);
    assert!(
        shots[0]["note"]
            .as_str()
            .unwrap()
            .contains("get_test_artifact")
    );
    let imgs = images(&result);
    assert_eq!(imgs.len(), 3);
    for (w, hgt, _) in &imgs {
        assert_eq!((*w, *hgt), (768, 480));
    }

    // Session environment and artifacts.
    assert_eq!(out["environment"]["browser"], "chrome");
    assert_eq!(out["environment"]["platform"], "linux");
    let artifacts: Vec<&str> = out["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(artifacts, ["Video", "Log"]);

    // The last passing run: the one the history names, what changed in the
    // launch's environment (as the sandbox reports both launches), and the
    // first log line that differs: the session line when the environment
    // changed, else the retry warning before the failure.
    let pid = rest.project_id("DEMO").await.unwrap();
    let pass = &out["last_pass"];
    assert_eq!(pass["test_id"], json!(pass_test));
    let now_launch = rest.launch(pid, LAUNCH).await.unwrap();
    let then_launch = rest
        .launch(pid, pass["launch_id"].as_i64().unwrap())
        .await
        .unwrap();
    let env_changed = now_launch.environment != then_launch.environment;
    let changes = pass["environment_changes"].as_array().unwrap();
    assert_eq!(
        changes.iter().any(|c| c["key"] == "environment"
            && c["then"].as_str() == then_launch.environment.as_deref()
            && c["now"].as_str() == now_launch.environment.as_deref()),
        env_changed,
        "{changes:?}"
    );
    let diff = &pass["first_difference"];
    let expected = if env_changed {
        "Opening chrome"
    } else {
        "retrying"
    };
    assert!(diff["now"].as_str().unwrap().contains(expected), "{diff}");
    assert!(out["history"].as_str().unwrap().starts_with('F'));

    // Same-signature failures agree with the launch's failed tests.
    let me = rest.launch_test(pid, LAUNCH, test_id).await.unwrap();
    let mut same = 0;
    let mut page = PageRequest::new(1, 100);
    loop {
        let p = rest
            .launch_tests_with_status_page(pid, LAUNCH, &["FAILED".into()], page)
            .await
            .unwrap();
        same += p
            .items
            .iter()
            .filter(|t| t.id != test_id && t.message == me.message)
            .count();
        match p.next_request() {
            Some(n) => page = n,
            None => break,
        }
    }
    assert_eq!(out["similar"]["count"], json!(same));
    assert!(same > 0, "the seed repeats failure messages");

    // Linked TCM case with its title, and a Markdown defect text.
    let case = &out["test_cases"][0];
    assert_eq!(
        case["key"].as_str(),
        me.test_cases[0].test_case_id.as_deref()
    );
    assert!(case["title"].as_str().is_some_and(|t| !t.is_empty()));
    let defect = &out["defect"];
    assert_eq!(defect["format"], "markdown");
    assert!(
        defect["body"]
            .as_str()
            .unwrap()
            .contains("### Steps to reproduce\n1. Step 1:")
    );

    // Jira text on request.
    let jira = h
        .ok(
            "analyze_test_failure",
            json!({"project_key": "DEMO", "launch_id": LAUNCH, "test_id": test_id,
                   "defect_format": "jira", "max_images": 0}),
        )
        .await;
    let body = jira["defect"]["body"].as_str().unwrap();
    assert!(
        body.starts_with("h3. Environment\n||Key||Value||"),
        "{body}"
    );
    assert!(body.contains("{code}\n"));
}

#[tokio::test]
async fn log_pages_cover_the_whole_log_once() {
    let mut h = Harness::start(None).await;
    let rest = h.someone_else();
    let (test_id, _) = failed_test_with_earlier_pass(&rest).await;
    let args = json!({"project_key": "DEMO", "launch_id": LAUNCH, "test_id": test_id,
                      "log_lines": 5, "max_images": 0});
    let first = h.ok("analyze_test_failure", args.clone()).await;
    let total = first["log"]["total"].as_u64().unwrap() as usize;
    assert!(total > 10, "a failed test logs more than two pages of 5");
    let mut seen: Vec<u64> = first["log"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["n"].as_u64().unwrap())
        .collect();
    assert_eq!(seen.len(), 5);
    let mut cursor = first["log"]["next_cursor"].as_str().map(str::to_string);
    while let Some(c) = cursor {
        let mut next_args = args.clone();
        next_args["cursor"] = json!(c);
        let page = h.ok("analyze_test_failure", next_args).await;
        assert_eq!(page["log_page_only"], json!(true));
        assert!(page["defect"].is_null() && page["screenshots"] == json!([]));
        let ns: Vec<u64> = page["log"]["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["n"].as_u64().unwrap())
            .collect();
        assert_eq!(
            ns.last().map(|n| n + 1),
            seen.first().copied(),
            "pages are contiguous"
        );
        seen.splice(0..0, ns);
        cursor = page["log"]["next_cursor"].as_str().map(str::to_string);
    }
    let end = *seen.last().unwrap() as usize;
    assert_eq!(seen, (1..=end as u64).collect::<Vec<_>>());
}

#[tokio::test]
async fn images_are_capped_in_count_size_and_bytes() {
    let mut h = Harness::start(None).await;
    let rest = h.someone_else();
    let (test_id, _) = failed_test_with_earlier_pass(&rest).await;
    let base =
        json!({"project_key": "DEMO", "launch_id": LAUNCH, "test_id": test_id, "format": "json"});

    let mut args = base.clone();
    args["max_images"] = json!(1);
    args["image_px"] = json!(200);
    let one = call_raw(&mut h, "analyze_test_failure", args).await;
    let imgs = images(&one);
    assert_eq!(imgs.len(), 1);
    assert_eq!((imgs[0].0, imgs[0].1), (200, 125));
    let shots = one["structuredContent"]["screenshots"].as_array().unwrap();
    assert_eq!(
        shots.iter().filter(|s| s["shown"] == json!(true)).count(),
        1
    );
    // The one shown is the failure's (the last).
    assert_eq!(shots[3]["shown"], json!(true));

    // Full-size screenshots against a 16 KB budget: what is sent stays
    // within it, the rest say why.
    let mut args = base.clone();
    args["image_px"] = json!(1600);
    args["max_image_kb"] = json!(16);
    let capped = call_raw(&mut h, "analyze_test_failure", args).await;
    let imgs = images(&capped);
    assert!(imgs.iter().map(|i| i.2).sum::<usize>() <= 16 * 1024);
    let notes: Vec<&str> = capped["structuredContent"]["screenshots"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["note"].as_str())
        .collect();
    assert!(
        notes.iter().any(|n| n.contains("max_image_kb")),
        "{notes:?}"
    );
    assert!(imgs.len() < 3);
}

#[tokio::test]
async fn artifacts_by_reference_screenshot_and_paged_session_log() {
    let mut h = Harness::start(None).await;
    let rest = h.someone_else();
    let (test_id, pass_test) = failed_test_with_earlier_pass(&rest).await;
    let out = h
        .ok(
            "analyze_test_failure",
            json!({"project_key": "DEMO", "launch_id": LAUNCH, "test_id": test_id, "max_images": 0}),
        )
        .await;
    let first_shot = out["screenshots"][0]["reference"]
        .as_str()
        .unwrap()
        .to_string();
    let log_ref = out["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "Log")
        .unwrap()["reference"]
        .as_str()
        .unwrap()
        .to_string();
    let video = out["artifacts"][0]["reference"]
        .as_str()
        .unwrap()
        .to_string();

    let shot = call_raw(
        &mut h,
        "get_test_artifact",
        json!({"project_key": "DEMO", "launch_id": LAUNCH, "test_id": test_id,
               "reference": first_shot, "format": "json"}),
    )
    .await;
    assert_ne!(shot["isError"], json!(true), "{shot}");
    assert_eq!(
        images(&shot),
        vec![(
            1280,
            800,
            shot["structuredContent"]["image"]["bytes"]
                .as_u64()
                .unwrap() as usize
        )]
    );

    // The session log, page by page, equals the file the sandbox serves.
    let file = rest.file_reference(&log_ref).unwrap();
    let served = rest.download_file(&file, 1 << 24).await.unwrap();
    let text = String::from_utf8(served.bytes).unwrap();
    let mut lines = Vec::new();
    let mut args = json!({"project_key": "DEMO", "launch_id": LAUNCH, "test_id": test_id,
                          "reference": log_ref, "lines": 50});
    loop {
        let page = h.ok("get_test_artifact", args.clone()).await;
        assert_eq!(page["kind"], "text");
        lines.extend(
            page["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["text"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => args["cursor"] = json!(c),
            None => break,
        }
    }
    assert!(lines.len() > 50, "more than one page");
    assert_eq!(lines, text.lines().map(str::to_string).collect::<Vec<_>>());

    // Not this test's file, another host, a video: refused, nothing fetched.
    let other = format!("/files/scr-{pass_test}-1.png");
    for (reference, says) in [
        (other.as_str(), "analyze_test_failure lists them"),
        (
            "https://evil.example/files/scr-1-1.png",
            "outside this Zebrunner workspace",
        ),
        ("/files/../api/projects/v1/projects", "not a Zebrunner file"),
        (video.as_str(), "video"),
    ] {
        let text = h
            .refused(
                "get_test_artifact",
                json!({"project_key": "DEMO", "launch_id": LAUNCH, "test_id": test_id,
                       "reference": reference}),
            )
            .await;
        assert!(text.contains(says), "{reference}: {text}");
    }
}

#[tokio::test]
async fn other_projects_and_missing_tests_are_refused() {
    let mut h = Harness::start(Some(&["DEMO"])).await;
    // A MOBILE launch's test, named with its own project: the caller may not see MOBILE.
    let text = h
        .refused(
            "analyze_test_failure",
            json!({"project_key": "MOBILE", "launch_id": 2001, "test_id": 2001001}),
        )
        .await;
    assert!(text.contains("Not allowed"), "{text}");
    let text = h
        .refused(
            "get_test_artifact",
            json!({"project_key": "MOBILE", "launch_id": 2001, "test_id": 2001001,
                   "reference": "/files/scr-2001001-1.png"}),
        )
        .await;
    assert!(text.contains("Not allowed"), "{text}");
    // The same ids under DEMO, even with a Zebrunner that ignores the project.
    h.ids_ignore_project(true).await;
    let text = h
        .refused(
            "analyze_test_failure",
            json!({"project_key": "DEMO", "launch_id": 2001, "test_id": 2001001}),
        )
        .await;
    assert!(text.contains("list_launches project_key=DEMO"), "{text}");
    h.ids_ignore_project(false).await;
    // A test that does not exist points at the tool listing the launch's tests.
    let text = h
        .refused(
            "analyze_test_failure",
            json!({"project_key": "DEMO", "launch_id": LAUNCH, "test_id": 999_999}),
        )
        .await;
    assert!(
        text.contains("list_launch_tests project_key=DEMO launch_id=1041"),
        "{text}"
    );
}
