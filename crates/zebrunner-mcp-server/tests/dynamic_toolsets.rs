//! Dynamic toolsets through rmcp's own client over an in-memory session: the session starts
//! with the start set and the two toolset tools, `enable_toolset` adds a toolset's tools and
//! the client hears `notifications/tools/list_changed`, a second session is unaffected, and
//! the configuration and the caller's grant still bound what can be enabled.
// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use rmcp::{
    ClientHandler, RoleClient, ServiceExt,
    model::CallToolRequestParams,
    service::{NotificationContext, RunningService},
};
use serde_json::{Value, json};
use zebrunner_client::{ClientConfig, SecretString, ZebrunnerClient, ZebrunnerUrl};
use zebrunner_mcp_server::{Caller, Credentials, ZebrunnerMcp, policy::Grant, toolsets::Toolsets};

/// A client that counts `notifications/tools/list_changed`.
#[derive(Clone, Default)]
struct Listener {
    changed: Arc<AtomicUsize>,
    heard: Arc<tokio::sync::Notify>,
}

impl ClientHandler for Listener {
    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.changed.fetch_add(1, Ordering::SeqCst);
        self.heard.notify_one();
    }
}

fn server(offered: &[&str], start: &[&str], read_only: bool) -> ZebrunnerMcp {
    // Listing and enabling toolsets makes no Zebrunner request: an unreachable address is fine.
    let url = ZebrunnerUrl::parse("https://zebrunner.invalid").unwrap();
    let client = ZebrunnerClient::new(ClientConfig::new(
        url,
        "nobody",
        SecretString::from("unused"),
    ))
    .unwrap();
    ZebrunnerMcp::new(Credentials::ServiceAccount(client))
        .with_local_caller(Caller {
            identity: None,
            grant: Grant {
                read_only,
                projects: None,
            },
            transport: "stdio",
            zebrunner_headers: None,
        })
        .with_toolsets(Toolsets::parse(offered).unwrap())
        .with_dynamic_toolsets(Toolsets::parse(start).unwrap())
}

async fn session(server: &ZebrunnerMcp) -> (RunningService<RoleClient, Listener>, Listener) {
    let server = server.for_session();
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    let listener = Listener::default();
    (listener.clone().serve(client_io).await.unwrap(), listener)
}

async fn names(client: &RunningService<RoleClient, Listener>) -> Vec<String> {
    let mut names: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    names.sort();
    names
}

async fn call(
    client: &RunningService<RoleClient, Listener>,
    name: &str,
    args: Value,
) -> (bool, Value, String) {
    let params = CallToolRequestParams::new(name.to_string())
        .with_arguments(args.as_object().cloned().unwrap());
    let result = client.call_tool(params).await.unwrap();
    let text = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n");
    (
        result.is_error == Some(true),
        result.structured_content.unwrap_or(Value::Null),
        text,
    )
}

const ALL: [&str; 6] = ["cases", "suites", "runs", "launches", "analysis", "writes"];

#[tokio::test]
async fn enabling_a_toolset_grows_this_session_only_and_tells_the_client() {
    let server = server(&ALL, &["cases"], false);
    let (one, heard) = session(&server).await;
    let (two, _) = session(&server).await;

    let info = one.peer_info().unwrap();
    assert_eq!(
        info.capabilities
            .tools
            .as_ref()
            .and_then(|t| t.list_changed),
        Some(true),
        "a dynamic server declares tools.listChanged"
    );
    let start = names(&one).await;
    assert!(
        start.contains(&"search_test_cases".to_string()),
        "{start:?}"
    );
    assert!(
        start.contains(&"list_toolsets".to_string())
            && start.contains(&"enable_toolset".to_string())
    );
    assert!(!start.contains(&"list_test_runs".to_string()), "{start:?}");

    let (error, listed, _) = call(&one, "list_toolsets", json!({"format": "json"})).await;
    assert!(!error);
    let runs = listed["toolsets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "runs")
        .unwrap();
    assert_eq!(runs["enabled"], false);
    assert!(
        runs["tools"]
            .as_array()
            .unwrap()
            .contains(&json!("list_test_runs")),
        "{runs}"
    );

    let (error, enabled, text) = call(
        &one,
        "enable_toolset",
        json!({"toolset": "runs", "format": "json"}),
    )
    .await;
    assert!(!error, "{text}");
    assert!(
        enabled["added"]
            .as_array()
            .unwrap()
            .contains(&json!("list_test_runs")),
        "{enabled}"
    );
    assert_eq!(enabled["enabled"], json!(["cases", "runs"]));
    tokio::time::timeout(std::time::Duration::from_secs(5), heard.heard.notified())
        .await
        .expect("notifications/tools/list_changed");
    assert_eq!(heard.changed.load(Ordering::SeqCst), 1);
    let grown = names(&one).await;
    assert!(
        grown.contains(&"list_test_runs".to_string())
            && grown.contains(&"get_test_run".to_string())
    );
    assert!(
        !grown.contains(&"create_test_run".to_string()),
        "writes is not enabled"
    );

    // Enabling it again adds nothing and sends no second notification.
    let (error, again, _) = call(
        &one,
        "enable_toolset",
        json!({"toolset": "runs", "format": "json"}),
    )
    .await;
    assert!(!error);
    assert_eq!(again["added"], json!([]));

    // The other session still has its start set.
    assert_eq!(names(&two).await, start);
    assert_eq!(heard.changed.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_configuration_and_the_grant_still_bound_what_can_be_enabled() {
    // Offered: cases and writes only; the caller is read-only.
    let server = server(&["cases", "writes"], &["cases"], true);
    let (client, heard) = session(&server).await;
    let (error, _, text) = call(&client, "enable_toolset", json!({"toolset": "runs"})).await;
    assert!(error);
    assert!(
        text.contains("does not offer the toolset `runs`") && text.contains("cases,writes"),
        "{text}"
    );
    let (error, enabled, text) = call(
        &client,
        "enable_toolset",
        json!({"toolset": "writes", "format": "json"}),
    )
    .await;
    assert!(!error, "{text}");
    assert_eq!(
        enabled["added"],
        json!([]),
        "a read-only caller gains no write tool"
    );
    assert!(
        !names(&client)
            .await
            .iter()
            .any(|n| n.starts_with("create_"))
    );
    assert_eq!(
        heard.changed.load(Ordering::SeqCst),
        0,
        "nothing changed, nothing sent"
    );
    let (error, _, text) = call(&client, "enable_toolset", json!({"toolset": "reports"})).await;
    assert!(error, "{text}");
}

#[tokio::test]
async fn without_dynamic_toolsets_every_tool_is_there_and_the_toolset_tools_are_not() {
    let url = ZebrunnerUrl::parse("https://zebrunner.invalid").unwrap();
    let client = ZebrunnerClient::new(ClientConfig::new(
        url,
        "nobody",
        SecretString::from("unused"),
    ))
    .unwrap();
    let server = ZebrunnerMcp::new(Credentials::ServiceAccount(client));
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    let client = Listener::default().serve(client_io).await.unwrap();
    let info = client.peer_info().unwrap();
    assert_eq!(
        info.capabilities
            .tools
            .as_ref()
            .and_then(|t| t.list_changed),
        None
    );
    let names = names(&client).await;
    assert!(names.contains(&"list_test_runs".to_string()));
    assert!(
        !names
            .iter()
            .any(|n| n == "list_toolsets" || n == "enable_toolset")
    );
}
