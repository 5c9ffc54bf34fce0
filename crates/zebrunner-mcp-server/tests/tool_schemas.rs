//! Snapshots of every tool's description, input schema, output schema and
//! annotations, so that a schema change is always a deliberate one
//! (`cargo insta review` to accept).

// Test helpers may unwrap/expect/panic: clippy.toml only covers #[test] fns and #[cfg(test)].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use secrecy::SecretString;
use zebrunner_client::{ClientConfig, ZebrunnerClient, ZebrunnerUrl};
use zebrunner_mcp_server::{Credentials, ZebrunnerMcp};

fn server() -> ZebrunnerMcp {
    // Listing tools makes no request, so an unreachable address is fine.
    let url = ZebrunnerUrl::parse("https://schemas.invalid").expect("valid url");
    let config = ClientConfig::new(url, "schemas", SecretString::from("unused"));
    let client = ZebrunnerClient::new(config).expect("client");
    ZebrunnerMcp::new(Credentials::ServiceAccount(client))
}

#[test]
fn tool_list_is_the_documented_set() {
    let names: Vec<String> = server()
        .tool_definitions()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    assert_eq!(
        names,
        vec![
            "add_test_cases_to_run",
            "analyze_launch_failures",
            "analyze_launch_runtime",
            "analyze_test_failure",
            "coverage_report",
            "create_test_case",
            "create_test_run",
            "create_test_suite",
            "defect_analytics",
            "enable_toolset",
            "find_duplicate_test_cases",
            "find_flaky_tests",
            "get_launch",
            "get_project_settings",
            "get_test_artifact",
            "get_test_case",
            "get_test_case_history",
            "get_test_run",
            "get_test_suite",
            "list_launch_tests",
            "list_launches",
            "list_milestones",
            "list_projects",
            "list_test_runs",
            "list_test_suites",
            "list_toolsets",
            "pass_rate_report",
            "record_test_results",
            "regression_report",
            "release_readiness",
            "rerun_launch_failures",
            "review_test_case",
            "search_test_cases",
            "start_launch",
            "update_test_case",
            "update_test_run",
            "update_test_suite",
        ]
    );
}

/// The write tools, with whether each is idempotent and destructive.
const WRITES: [(&str, bool, bool); 10] = [
    ("create_test_suite", false, false),
    ("update_test_suite", true, false),
    ("create_test_case", false, false),
    ("update_test_case", true, false),
    ("create_test_run", false, false),
    ("update_test_run", true, false),
    ("add_test_cases_to_run", false, false),
    ("record_test_results", false, true),
    ("rerun_launch_failures", false, true),
    ("start_launch", false, true),
];

#[test]
fn annotations_per_tool_and_an_output_schema() {
    for tool in server().tool_definitions() {
        let annotations = tool.annotations.as_ref().expect("annotations");
        let write = WRITES.iter().find(|(n, _, _)| *n == tool.name);
        let (read_only, idempotent, destructive) = match write {
            Some((_, idempotent, destructive)) => (false, *idempotent, *destructive),
            None => (true, true, false),
        };
        assert_eq!(annotations.read_only_hint, Some(read_only), "{}", tool.name);
        assert_eq!(
            annotations.destructive_hint,
            Some(destructive),
            "{}",
            tool.name
        );
        assert_eq!(
            annotations.idempotent_hint,
            Some(idempotent),
            "{}",
            tool.name
        );
        assert_eq!(annotations.open_world_hint, Some(false), "{}", tool.name);
        if write.is_some() {
            let input = serde_json::to_value(&tool.input_schema).expect("schema");
            for control in ["dry_run", "confirm", "confirmation_token"] {
                assert!(
                    input.pointer(&format!("/properties/{control}")).is_some(),
                    "{} has no {control} argument",
                    tool.name
                );
            }
        }
        assert!(
            tool.output_schema.is_some(),
            "{} has no outputSchema",
            tool.name
        );
        let input = serde_json::to_value(&tool.input_schema).expect("schema");
        assert!(
            input.pointer("/properties/format").is_some(),
            "{} has no format argument",
            tool.name
        );
    }
}

#[test]
fn tool_schemas() {
    for tool in server().tool_definitions() {
        insta::assert_json_snapshot!(tool.name.to_string(), tool);
    }
}
