//! Answers a model can trust (issue 12), through the tools' call path
//! against the sandbox: closed sets refused with their valid values, write
//! previews checked against the project's settings, tokens kept when a
//! write was refused, readable errors, names instead of ids, and charts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Harness;
use serde_json::{Value, json};
use zebrunner_sandbox::seed::{BIG_LAUNCH_ID, HISTORY_CASE_KEY};

async fn sandbox_requests(h: &Harness) -> Vec<Value> {
    reqwest::get(format!("{}/__sandbox/requests", h.sandbox.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn clear_requests(h: &Harness) {
    reqwest::Client::new()
        .delete(format!("{}/__sandbox/requests", h.sandbox.url))
        .send()
        .await
        .unwrap();
}

async fn fault(h: &Harness, spec: Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/__sandbox/faults", h.sandbox.url))
        .json(&spec)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "fault {spec}");
}

#[tokio::test]
async fn unknown_statuses_are_refused_with_the_valid_ones() {
    let mut h = Harness::start(None).await;
    let cases = [
        (
            "list_launches",
            json!({"project_key": "DEMO", "statuses": ["FAIL"]}),
            "QUEUED",
        ),
        (
            "list_launch_tests",
            json!({"project_key": "DEMO", "launch_id": BIG_LAUNCH_ID, "statuses": ["FAIL"]}),
            "IN_PROGRESS",
        ),
        (
            "get_test_case_history",
            json!({"key": HISTORY_CASE_KEY, "statuses": ["Fail!"]}),
            "Retest",
        ),
        (
            "get_test_run",
            json!({"project_key": "DEMO", "run_id": 801, "statuses": ["Flaky"]}),
            "Blocked",
        ),
    ];
    for (tool, args, valid) in cases {
        let text = h.refused(tool, args).await;
        assert!(text.contains("is not one of"), "{tool}: {text}");
        assert!(
            text.contains(valid),
            "{tool} names the valid values: {text}"
        );
    }
    // Any case, spaces and aliases still match.
    let out = h
        .ok(
            "list_launches",
            json!({"project_key": "DEMO", "statuses": ["failed"], "page_size": 5}),
        )
        .await;
    assert!(
        out["launches"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["status"] == "FAILED")
    );
    let out = h
        .ok(
            "get_test_case_history",
            json!({"key": HISTORY_CASE_KEY, "statuses": ["FAILED"], "changes": "none"}),
        )
        .await;
    assert_eq!(out["executions"]["by_status"].as_object().unwrap().len(), 1);
    assert!(out["executions"]["by_status"]["Failed"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn a_status_filter_is_one_request_to_zebrunner_with_its_total() {
    let mut h = Harness::start(None).await;
    clear_requests(&h).await;
    let out = h
        .ok(
            "list_launch_tests",
            json!({"project_key": "DEMO", "launch_id": BIG_LAUNCH_ID, "statuses": ["failed"], "limit": 100}),
        )
        .await;
    let tests = out["tests"].as_array().unwrap();
    assert!(!tests.is_empty() && tests.iter().all(|t| t["status"] == "FAILED"));
    assert_eq!(out["total_matched"], json!(tests.len()));
    assert_eq!(out["launch_total"], json!(500));
    let pages: Vec<Value> = sandbox_requests(&h)
        .await
        .into_iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/launches/{BIG_LAUNCH_ID}/tests"))
        })
        .collect();
    assert_eq!(pages.len(), 1, "one page of tests: {pages:?}");
    assert!(
        pages[0]["query"]
            .as_str()
            .unwrap()
            .contains("status=FAILED")
    );
}

#[tokio::test]
async fn write_previews_check_names_against_the_projects_settings() {
    let mut h = Harness::start(None).await;
    let base = json!({"project_key": "DEMO", "suite_id": 102, "title": "Login keeps the session"});
    let with = |extra: Value| {
        let mut args = base.clone();
        for (k, v) in extra.as_object().unwrap() {
            args[k] = v.clone();
        }
        args
    };
    let text = h
        .refused("create_test_case", with(json!({"priority": "High"})))
        .await;
    assert!(
        text.contains("Major") && text.contains("Critical"),
        "{text}"
    );
    assert!(
        !text.contains("confirmation_token") && !text.contains("filter"),
        "{text}"
    );
    let text = h
        .refused(
            "create_test_case",
            with(json!({"automation_state": "Manual"})),
        )
        .await;
    assert!(text.contains("Not Automated"), "{text}");
    let text = h
        .refused(
            "create_test_case",
            with(json!({"custom_fields": {"Component": "auth"}})),
        )
        .await;
    assert!(text.contains("did you mean \"component\""), "{text}");
    let text = h
        .refused(
            "create_test_case",
            with(json!({"custom_fields": {"component": "billing"}})),
        )
        .await;
    assert!(text.contains("checkout"), "the options are listed: {text}");
    // Names the project has pass, spelled as the project spells them.
    let preview = h
        .ok(
            "create_test_case",
            with(json!({"priority": "major", "automation_state": "automated",
                        "custom_fields": {"component": "AUTH", "manualOnly": false}})),
        )
        .await;
    let body = &preview["request"]["body"];
    assert_eq!(body["priority"], json!({"name": "Major"}));
    assert_eq!(body["automationState"], json!({"name": "Automated"}));
    assert_eq!(body["customField"]["component"], "auth");
    let token = preview["confirmation_token"].as_str().unwrap().to_string();
    let mut confirm = with(json!({"priority": "major", "automation_state": "automated",
                                  "custom_fields": {"component": "AUTH", "manualOnly": false}}));
    confirm["confirm"] = json!(true);
    confirm["confirmation_token"] = json!(token);
    let written = h.ok("create_test_case", confirm).await;
    assert_eq!(written["stage"], "written");
}

#[tokio::test]
async fn a_refused_confirm_keeps_its_token_and_an_outage_does_not() {
    let mut h = Harness::start(None).await;
    let args = json!({"project_key": "DEMO", "suite_id": 102, "title": "Logout ends the session"});
    let preview = h.ok("create_test_case", args.clone()).await;
    let mut confirm = args.clone();
    confirm["confirm"] = json!(true);
    confirm["confirmation_token"] = preview["confirmation_token"].clone();
    fault(
        &h,
        json!({"path_prefix": "/api/public/v1/test-cases", "method": "POST", "status": 400, "count": 1}),
    )
    .await;
    let text = h.refused("create_test_case", confirm.clone()).await;
    assert!(text.contains("Nothing was written"), "{text}");
    assert!(text.contains("still valid"), "{text}");
    // The same token writes once the cause is gone.
    let written = h.ok("create_test_case", confirm.clone()).await;
    assert_eq!(written["stage"], "written");

    // A 503 leaves it unknown whether anything was written: the token is spent.
    let args =
        json!({"project_key": "DEMO", "suite_id": 102, "title": "Session expires after idling"});
    let preview = h.ok("create_test_case", args.clone()).await;
    let mut confirm = args.clone();
    confirm["confirm"] = json!(true);
    confirm["confirmation_token"] = preview["confirmation_token"].clone();
    fault(
        &h,
        json!({"path_prefix": "/api/public/v1/test-cases", "method": "POST", "status": 503}),
    )
    .await;
    h.refused("create_test_case", confirm.clone()).await;
    reqwest::Client::new()
        .delete(format!("{}/__sandbox/faults", h.sandbox.url))
        .send()
        .await
        .unwrap();
    let text = h.refused("create_test_case", confirm).await;
    assert!(text.contains("already used"), "{text}");
}

#[tokio::test]
async fn settings_and_the_fields_resource_give_custom_fields_system_names_types_and_options() {
    let mut h = Harness::start(None).await;
    let out = h
        .ok(
            "get_project_settings",
            json!({"project_key": "DEMO", "sections": ["fields"]}),
        )
        .await;
    let component = out["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Component")
        .unwrap()
        .clone();
    assert_eq!(component["system_name"], "component");
    assert_eq!(component["data_type"], "DROPDOWN");
    assert!(
        component["options"]
            .as_array()
            .unwrap()
            .contains(&json!("checkout"))
    );
    let read = h
        .request(
            "resources/read",
            json!({"uri": "zebrunner://projects/DEMO/fields"}),
        )
        .await;
    let text = read["result"]["contents"][0]["text"].as_str().unwrap();
    assert!(text.contains("\"system_name\":\"manualOnly\""), "{text}");
}

#[tokio::test]
async fn errors_say_what_exists_and_what_to_send() {
    let mut h = Harness::start(None).await;
    let text = h
        .refused("list_launches", json!({"project_key": "NOPE"}))
        .await;
    assert!(text.contains("list_projects"), "{text}");
    let text = h
        .refused(
            "get_launch",
            json!({"project_key": "DEMO", "launch_id": 99999}),
        )
        .await;
    assert!(text.contains("list_launches"), "{text}");
    for tool in ["search_test_cases", "list_test_suites", "list_launches"] {
        let text = h.refused(tool, json!({"project_key": "OLD"})).await;
        assert!(text.contains("deleted"), "{tool}: {text}");
    }
    let text = h.refused("list_launches", json!({})).await;
    assert!(text.contains("`project_key` is missing"), "{text}");
    assert!(!text.contains("deserialize"), "{text}");
    let text = h
        .refused(
            "list_launches",
            json!({"project_key": "DEMO", "page_size": "ten"}),
        )
        .await;
    assert!(text.contains("`page_size` is the text \"ten\""), "{text}");
    assert!(text.contains("whole number"), "{text}");
    let text = h
        .refused("find_duplicate_test_cases", json!({"project_key": "DEMO"}))
        .await;
    assert!(text.contains("coverage_report"), "{text}");
}

#[tokio::test]
async fn change_logs_name_people_and_requirements_read_as_text() {
    let mut h = Harness::start(None).await;
    let out = h
        .ok(
            "get_test_case_history",
            json!({"key": HISTORY_CASE_KEY, "limit": 1}),
        )
        .await;
    let entries = out["changes"]["entries"].as_array().unwrap();
    assert!(!entries.is_empty());
    for e in entries {
        assert!(e["user"].as_str().is_some_and(|u| u.contains('@')), "{e}");
    }
    let md = h
        .request(
            "tools/call",
            json!({"name": "get_test_case_history", "arguments": {"key": HISTORY_CASE_KEY, "limit": 1}}),
        )
        .await;
    let text = md["result"]["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("by alice@sandbox.test") || text.contains("@sandbox.test"),
        "{text}"
    );
    assert!(!text.contains("by user "), "{text}");

    let mut found = false;
    for n in 1..=40 {
        let out = h
            .ok("get_test_case", json!({"key": format!("DEMO-{n}")}))
            .await;
        let reqs = out["test_case"]["requirements"].as_array().unwrap();
        if !reqs.is_empty() {
            for r in reqs {
                let r = r.as_str().expect("requirements are text");
                assert!(!r.contains('{') && r.contains(' '), "{r}");
            }
            found = true;
            break;
        }
    }
    assert!(found, "some seeded case has requirements");
}

#[tokio::test]
async fn update_previews_diff_field_by_field_and_counts_read_right() {
    let mut h = Harness::start(None).await;
    let md = h
        .request(
            "tools/call",
            json!({"name": "update_test_case", "arguments": {
                "key": "DEMO-2", "priority": "Critical",
                "custom_fields": {"component": "cart"}}}),
        )
        .await;
    let text = md["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("| priority |"), "{text}");
    assert!(text.contains("| Critical | yes |"), "{text}");
    assert!(text.contains("| customField.component |"), "{text}");
    let table: Vec<&str> = text.lines().filter(|l| l.starts_with("| ")).collect();
    assert!(
        table.iter().all(|l| !l.contains("{\"")),
        "no raw JSON: {table:?}"
    );

    let md = h
        .request(
            "tools/call",
            json!({"name": "list_launch_tests", "arguments": {
                "project_key": "DEMO", "launch_id": BIG_LAUNCH_ID, "limit": 25}}),
        )
        .await;
    let text = md["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("500 tests, 500 matching"), "{text}");
    assert!(text.contains("Showing tests 1–25 of 500"), "{text}");
}

#[tokio::test]
async fn review_checks_that_a_case_hangs_together() {
    let mut h = Harness::start(None).await;
    // An incoherent case: steps about checkout in a password-reset case,
    // an expected result that is another action.
    let args = json!({
        "project_key": "DEMO", "suite_id": 104, "title": "Password reset email arrives",
        "pre_conditions": "A registered account",
        "steps": [
            {"action": "Add a lamp to the cart", "expected_result": "Click Checkout"},
            {"action": "Pay with a Visa card", "expected_result": "The order is confirmed"}
        ]
    });
    let preview = h.ok("create_test_case", args.clone()).await;
    let mut confirm = args;
    confirm["confirm"] = json!(true);
    confirm["confirmation_token"] = preview["confirmation_token"].clone();
    let written = h.ok("create_test_case", confirm).await;
    let key = written["result"]["key"].as_str().unwrap().to_string();
    let review = h.ok("review_test_case", json!({"key": key})).await;
    let rules: Vec<&str> = review["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"steps_off_topic"), "{rules:?}");
    assert!(rules.contains(&"expected_not_outcome"), "{rules:?}");
    assert_eq!(review["automation_ready"], false);
    let off_topic = review["issues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["rule"] == "steps_off_topic")
        .unwrap();
    assert!(
        off_topic["suggestion"]
            .as_str()
            .unwrap()
            .contains("\"password\"")
    );
    // A coherent seeded case has none of them.
    let review = h.ok("review_test_case", json!({"key": "DEMO-3"})).await;
    assert!(
        review["issues"].as_array().unwrap().iter().all(|i| ![
            "steps_off_topic",
            "expected_not_outcome"
        ]
        .contains(&i["rule"].as_str().unwrap())),
        "{review}"
    );
}

#[tokio::test]
async fn the_coverage_chart_at_depth_two_has_a_legend_and_a_key() {
    use base64::Engine as _;
    let mut h = Harness::start(None).await;
    let r = h
        .request(
            "tools/call",
            json!({"name": "coverage_report", "arguments": {"project_key": "DEMO", "depth": 2, "chart": "png"}}),
        )
        .await;
    let image = r["result"]["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "image")
        .expect("an image block");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(image["data"].as_str().unwrap())
        .unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let width = info.width;
    let dark = |x0: u32, y0: u32, x1: u32, y1: u32| {
        (y0..y1).any(|y| {
            (x0..x1).any(|x| {
                let i = ((y * width + x) * 3) as usize;
                pixels[i..i + 3].iter().all(|&c| c < 100)
            })
        })
    };
    // The legend row under the title, and the key naming the numbered bars.
    assert!(dark(20, 32, 120, 41), "legend text");
    assert!(dark(560, 56, 790, 66), "first key line");
    assert!(
        dark(560, 56 + 11 * 20, 790, 66 + 11 * 20),
        "a key line for the 21st bar"
    );
}
