//! A sandbox Zebrunner and this server in one process: the server runs on an
//! in-memory duplex with a caller chosen by the test, and the test speaks
//! MCP (newline-delimited JSON-RPC) on the other end.

// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeSet;
use std::time::Duration;

use rmcp::ServiceExt;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, ReadHalf, WriteHalf};
use zebrunner_client::{ClientConfig, SecretString, ZebrunnerClient, ZebrunnerUrl};
use zebrunner_mcp_server::{Caller, Credentials, ZebrunnerMcp, policy::Grant};
use zebrunner_sandbox::{RunningSandbox, Sandbox, SandboxConfig};

pub struct Harness {
    pub sandbox: RunningSandbox,
    reader: BufReader<ReadHalf<DuplexStream>>,
    writer: WriteHalf<DuplexStream>,
    next_id: u64,
    http: reqwest::Client,
}

/// What a tool call answered.
#[derive(Debug)]
pub struct Answer {
    pub is_error: bool,
    /// The text content.
    pub text: String,
    pub structured: Value,
}

impl Harness {
    /// The sandbox and a server whose local caller may use only `projects`
    /// (every project with `None`), served by alice's account, which sees
    /// every project (a shared service account).
    pub async fn start(projects: Option<&[&str]>) -> Harness {
        Harness::start_as("alice", projects).await
    }

    /// [`Harness::start`] served by the account whose login starts with `login`.
    pub async fn start_as(login: &str, projects: Option<&[&str]>) -> Harness {
        let sandbox = Sandbox::spawn(SandboxConfig::default(), "127.0.0.1:0")
            .await
            .expect("sandbox starts");
        let caller = Caller {
            identity: None,
            grant: Grant {
                read_only: false,
                projects: projects
                    .map(|p| p.iter().map(|k| k.to_string()).collect::<BTreeSet<_>>()),
            },
            transport: "stdio",
            zebrunner_headers: None,
        };
        let client = account(&sandbox, login);
        let server =
            ZebrunnerMcp::new(Credentials::ServiceAccount(client)).with_local_caller(caller);
        let (ours, theirs) = tokio::io::duplex(1 << 20);
        let (read, write) = tokio::io::split(theirs);
        tokio::spawn(async move {
            if let Ok(running) = server.serve((read, write)).await {
                let _ = running.waiting().await;
            }
        });
        let (reader, writer) = tokio::io::split(ours);
        let mut h = Harness {
            sandbox,
            reader: BufReader::new(reader),
            writer,
            next_id: 0,
            http: reqwest::Client::new(),
        };
        let init = h
            .request(
                "initialize",
                json!({"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "harness", "version": "0"}}),
            )
            .await;
        assert!(init.get("result").is_some(), "initialize failed: {init}");
        h.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        h
    }

    async fn send(&mut self, message: Value) {
        let mut line = message.to_string();
        line.push('\n');
        self.writer
            .write_all(line.as_bytes())
            .await
            .expect("write to the server");
        self.writer.flush().await.expect("flush");
    }

    /// One JSON-RPC request and its response (notifications are skipped).
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        loop {
            let mut line = String::new();
            let read =
                tokio::time::timeout(Duration::from_secs(60), self.reader.read_line(&mut line))
                    .await
                    .expect("the server answers within a minute")
                    .expect("read from the server");
            assert!(read > 0, "the server closed the stream");
            let message: Value = serde_json::from_str(&line).expect("JSON-RPC from the server");
            if message.get("id") == Some(&json!(id)) {
                return message;
            }
        }
    }

    /// Call `tool` with `arguments` (format json).
    pub async fn call(&mut self, tool: &str, mut arguments: Value) -> Answer {
        arguments["format"] = json!("json");
        let response = self
            .request("tools/call", json!({"name": tool, "arguments": arguments}))
            .await;
        let result = response
            .get("result")
            .unwrap_or_else(|| panic!("{tool}: no result: {response}"));
        Answer {
            is_error: result["isError"] == json!(true),
            text: result["content"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            structured: result
                .get("structuredContent")
                .cloned()
                .unwrap_or(Value::Null),
        }
    }

    /// Call `tool` and expect success.
    pub async fn ok(&mut self, tool: &str, arguments: Value) -> Value {
        let answer = self.call(tool, arguments.clone()).await;
        assert!(
            !answer.is_error,
            "{tool} {arguments} failed: {}",
            answer.text
        );
        answer.structured
    }

    /// Call `tool` and expect an error; its text.
    pub async fn refused(&mut self, tool: &str, arguments: Value) -> String {
        let answer = self.call(tool, arguments.clone()).await;
        assert!(
            answer.is_error,
            "{tool} {arguments} should have been refused, answered {}",
            answer.text
        );
        answer.text
    }

    /// Make the sandbox answer lookups by id from any project (as a
    /// Zebrunner that ignores the project parameter would), or not.
    pub async fn ids_ignore_project(&self, ignore: bool) {
        let resp = self
            .http
            .post(format!("{}/__sandbox/behaviour", self.sandbox.url))
            .json(&json!({"ids_ignore_project": ignore}))
            .send()
            .await
            .expect("sandbox control");
        assert!(resp.status().is_success());
    }

    /// Another client of the same account: someone changing Zebrunner
    /// between a preview and its confirm.
    pub fn someone_else(&self) -> ZebrunnerClient {
        account(&self.sandbox, "alice")
    }
}

fn account(sandbox: &RunningSandbox, login: &str) -> ZebrunnerClient {
    let user = sandbox
        .sandbox
        .users()
        .into_iter()
        .find(|u| u.login.starts_with(login))
        .expect("a sandbox user");
    let url = ZebrunnerUrl::parse(&sandbox.url).expect("sandbox url");
    let mut config = ClientConfig::new(url, user.login, SecretString::from(user.token));
    config.retry_deadline = Duration::from_secs(5);
    config.timeout = Duration::from_secs(10);
    ZebrunnerClient::new(config).expect("client")
}

/// The sandbox, a server with alice's account, and rmcp's own client connected to it in
/// memory: for tests that speak MCP through the official Rust client rather than raw JSON.
pub struct RmcpSetup {
    pub client: rmcp::service::RunningService<rmcp::RoleClient, ()>,
    /// A Zebrunner client of the same account: the oracle.
    pub zebrunner: ZebrunnerClient,
    pub sandbox: RunningSandbox,
}

impl RmcpSetup {
    pub async fn start() -> RmcpSetup {
        let sandbox = Sandbox::spawn(SandboxConfig::default(), "127.0.0.1:0")
            .await
            .expect("sandbox starts");
        let zebrunner = account(&sandbox, "alice");
        let server = ZebrunnerMcp::new(Credentials::ServiceAccount(zebrunner.clone()));
        let (server_io, client_io) = tokio::io::duplex(1 << 20);
        tokio::spawn(async move {
            if let Ok(running) = server.serve(server_io).await {
                let _ = running.waiting().await;
            }
        });
        RmcpSetup {
            client: ().serve(client_io).await.expect("client connects"),
            zebrunner,
            sandbox,
        }
    }

    /// Call `tool`: whether it failed, its structured content and its text.
    pub async fn call(&self, tool: &str, args: Value) -> (bool, Value, String) {
        let params = rmcp::model::CallToolRequestParams::new(tool.to_string())
            .with_arguments(args.as_object().cloned().expect("arguments object"));
        let result = self.client.call_tool(params).await.expect("tools/call");
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
}
