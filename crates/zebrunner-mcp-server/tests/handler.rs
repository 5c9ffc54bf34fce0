//! The MCP handler over an in-memory duplex with rmcp's own client: what a
//! local (stdio) caller with a restricted grant sees and may do.
// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use rmcp::{ServiceExt, model::CallToolRequestParams};
use serde_json::{Value, json};
use zebrunner_client::{ClientConfig, SecretString, ZebrunnerClient, ZebrunnerUrl};
use zebrunner_mcp_server::{Caller, Credentials, ZebrunnerMcp, policy::Grant, toolsets::Toolsets};
use zebrunner_sandbox::SandboxConfig;

async fn connect(
    grant: Grant,
    toolsets: Toolsets,
) -> (
    rmcp::service::RunningService<rmcp::RoleClient, ()>,
    zebrunner_sandbox::RunningSandbox,
) {
    let sandbox = zebrunner_sandbox::Sandbox::spawn(SandboxConfig::default(), "127.0.0.1:0")
        .await
        .unwrap();
    let user = sandbox.sandbox.users().into_iter().next().unwrap();
    let client = ZebrunnerClient::new(ClientConfig::new(
        ZebrunnerUrl::parse(&sandbox.url).unwrap(),
        user.login,
        SecretString::from(user.token),
    ))
    .unwrap();
    let caller = Caller {
        identity: None,
        grant,
        transport: "stdio",
        zebrunner_headers: None,
    };
    let server = ZebrunnerMcp::new(Credentials::ServiceAccount(client))
        .with_local_caller(caller)
        .with_toolsets(toolsets);
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    (().serve(client_io).await.unwrap(), sandbox)
}

fn demo_only(read_only: bool) -> Grant {
    Grant {
        read_only,
        projects: Some(BTreeSet::from(["DEMO".to_string()])),
    }
}

async fn call(
    client: &rmcp::service::RunningService<rmcp::RoleClient, ()>,
    name: &str,
    arguments: Value,
) -> rmcp::model::CallToolResult {
    let params = CallToolRequestParams::new(name.to_string())
        .with_arguments(arguments.as_object().cloned().unwrap());
    client.call_tool(params).await.unwrap()
}

#[tokio::test]
async fn a_project_limited_caller_sees_only_their_projects() {
    let (client, _sandbox) = connect(demo_only(false), Toolsets::all()).await;
    let projects = call(&client, "list_projects", json!({"format": "json"})).await;
    let keys: Vec<&str> = projects.structured_content.as_ref().unwrap()["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["DEMO"]);
    let other = call(
        &client,
        "list_test_suites",
        json!({"project_key": "MOBILE"}),
    )
    .await;
    assert_eq!(other.is_error, Some(true));
    let text = format!("{:?}", other.content);
    assert!(text.contains("projects you may use: DEMO"), "{text}");
}

#[tokio::test]
async fn read_only_callers_are_not_offered_writes() {
    let (client, _sandbox) = connect(demo_only(true), Toolsets::all()).await;
    let tools = client.list_all_tools().await.unwrap();
    assert!(tools.iter().all(|t| !t.name.starts_with("create_")));
    let refused = client
        .call_tool(
            CallToolRequestParams::new("create_test_suite").with_arguments(
                json!({"project_key": "DEMO", "title": "x"})
                    .as_object()
                    .cloned()
                    .unwrap(),
            ),
        )
        .await;
    assert!(
        refused.is_err(),
        "a hidden tool is refused like a missing one"
    );
}

#[tokio::test]
async fn configured_toolsets_bound_tools_and_prompts() {
    let toolsets = Toolsets::parse(&["cases"]).unwrap();
    let (client, _sandbox) = connect(Grant::unrestricted(false), toolsets).await;
    let names: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    assert!(names.contains(&"get_test_case".to_string()));
    assert!(!names.contains(&"list_launches".to_string()), "{names:?}");
    // Prompts name only tools the caller is offered.
    let prompt = client
        .get_prompt(
            rmcp::model::GetPromptRequestParams::new("launch-triage").with_arguments(
                json!({"project_key": "DEMO", "launch_id": "1041"})
                    .as_object()
                    .cloned()
                    .unwrap(),
            ),
        )
        .await;
    if let Ok(prompt) = prompt {
        let text = format!("{:?}", prompt.messages);
        assert!(!text.contains("analyze_launch_failures"), "{text}");
    }
}
