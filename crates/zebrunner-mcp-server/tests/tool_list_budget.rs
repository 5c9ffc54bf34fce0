//! The context cost of `tools/list`: clients put every tool's name, title,
//! description and input schema into the model's context on every turn.
//! This test asks the real server for `tools/list` over an in-memory MCP
//! session (the bytes rmcp writes on stdio) and fails above the budget, so
//! growth is deliberate. It also checks the schemas stay standard: no
//! `$schema`, only standard `format`s, no `null` in input schemas, and that
//! every argument a schema lists deserialises with a value of its declared
//! type (and that leaving optionals out still works).
//!
//! Print the figures:
//! `cargo nextest run -p zebrunner-mcp-server --test tool_list_budget --no-capture`
// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use secrecy::SecretString;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use zebrunner_client::{ClientConfig, ZebrunnerClient, ZebrunnerUrl};
use zebrunner_mcp_server::{Credentials, ZebrunnerMcp, tools::*};

/// Average of name + title + description + inputSchema per tool, in bytes.
const PER_TOOL_BUDGET: usize = 1_100;
/// The whole `tools/list` response as sent, in bytes per tool on average (output schemas
/// included). Issue 7 set 60,000 B for 26 tools (2,308 B each); it grows with the tools, a
/// little: a client that wants less starts a dynamic session (`DYNAMIC_START_BUDGET`).
const ANSWER_BUDGET_PER_TOOL: usize = 2_400;
/// name + title + description + inputSchema of every tool a dynamic session starts with.
const DYNAMIC_START_BUDGET: usize = 15_000;

const STANDARD_FORMATS: [&str; 19] = [
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

fn server() -> ZebrunnerMcp {
    // Listing tools makes no request, so an unreachable address is fine.
    let url = ZebrunnerUrl::parse("https://schemas.invalid").expect("valid url");
    let config = ClientConfig::new(url, "schemas", SecretString::from("unused"));
    let client = ZebrunnerClient::new(config).expect("client");
    ZebrunnerMcp::new(Credentials::ServiceAccount(client))
}

/// The `tools/list` response line exactly as the server writes it.
async fn tools_list_line() -> String {
    tools_list_line_of(server()).await
}

/// The same, from `server`.
async fn tools_list_line_of(server: ZebrunnerMcp) -> String {
    use rmcp::ServiceExt;

    let (client_side, server_side) = tokio::io::duplex(1 << 20);
    let (server_read, server_write) = tokio::io::split(server_side);
    let running = tokio::spawn(async move {
        let service = server
            .serve((server_read, server_write))
            .await
            .expect("initialised");
        let _ = service.waiting().await;
    });
    let (client_read, mut client_write) = tokio::io::split(client_side);
    let mut lines = BufReader::new(client_read).lines();
    let mut send = async |message: Value| {
        let mut line = serde_json::to_vec(&message).expect("json");
        line.push(b'\n');
        client_write.write_all(&line).await.expect("write");
    };
    send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "budget", "version": "0"}
        }}),
    )
    .await;
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
    send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}})).await;
    let answer = loop {
        let line = lines.next_line().await.expect("read").expect("a line");
        let message: Value = serde_json::from_str(&line).expect("json line");
        if message["id"] == json!(2) {
            break line;
        }
    };
    running.abort();
    answer
}

struct Figures {
    tools: Vec<Value>,
    per_tool: Vec<(String, usize, usize)>,
    context: usize,
    output_schemas: usize,
    answer: usize,
}

async fn figures() -> Figures {
    figures_of(tools_list_line().await)
}

fn figures_of(line: String) -> Figures {
    let answer: Value = serde_json::from_str(&line).expect("json");
    let tools = answer["result"]["tools"]
        .as_array()
        .expect("a tools array")
        .clone();
    let bytes = |v: &Value| serde_json::to_vec(v).expect("json").len();
    let mut per_tool = Vec::new();
    for tool in &tools {
        let title = tool
            .get("title")
            .or_else(|| tool.pointer("/annotations/title"))
            .cloned()
            .unwrap_or(Value::Null);
        let seen = json!({
            "name": tool["name"],
            "title": title,
            "description": tool["description"],
            "inputSchema": tool["inputSchema"],
        });
        let name = tool["name"].as_str().unwrap_or_default().to_string();
        per_tool.push((name, bytes(&seen), bytes(&tool["outputSchema"])));
    }
    Figures {
        context: per_tool.iter().map(|(_, c, _)| c).sum(),
        output_schemas: per_tool.iter().map(|(_, _, o)| o).sum(),
        answer: line.len(),
        per_tool,
        tools,
    }
}

#[tokio::test]
async fn a_dynamic_session_starts_under_15_kb() {
    let start = zebrunner_mcp_server::toolsets::Toolsets::parse(
        &zebrunner_mcp_server::dynamic_toolsets::DEFAULT_START,
    )
    .unwrap();
    let f = figures_of(tools_list_line_of(server().with_dynamic_toolsets(start)).await);
    let names: Vec<&str> = f.per_tool.iter().map(|(n, _, _)| n.as_str()).collect();
    println!(
        "dynamic start ({}): {} tools, {} bytes of name+title+description+inputSchema, \
         answer {} bytes: {names:?}",
        zebrunner_mcp_server::dynamic_toolsets::DEFAULT_START.join(","),
        names.len(),
        f.context,
        f.answer
    );
    assert!(names.contains(&"list_toolsets") && names.contains(&"enable_toolset"));
    assert!(names.contains(&"search_test_cases") && names.contains(&"list_launches"));
    assert!(
        !names.contains(&"list_test_runs"),
        "runs is not in the start set"
    );
    assert!(
        f.context <= DYNAMIC_START_BUDGET,
        "a dynamic session starts with {} bytes of tool definitions, budget {DYNAMIC_START_BUDGET}",
        f.context
    );
}

#[tokio::test]
async fn tools_list_fits_the_context_budget() {
    let f = figures().await;
    println!("{:>7} {:>7}  tool", "context", "output");
    for (name, context, output) in &f.per_tool {
        println!("{context:>7} {output:>7}  {name}");
    }
    let average = f.context / f.per_tool.len();
    println!(
        "{} tools: name+title+description+inputSchema {} bytes ({average} per tool); \
         output schemas {} bytes; whole tools/list answer {} bytes",
        f.per_tool.len(),
        f.context,
        f.output_schemas,
        f.answer
    );
    assert!(
        average <= PER_TOOL_BUDGET,
        "name+title+description+inputSchema average {average} bytes per tool, budget {PER_TOOL_BUDGET}"
    );
    assert!(
        f.answer <= ANSWER_BUDGET_PER_TOOL * f.per_tool.len(),
        "tools/list answer {} bytes for {} tools, budget {ANSWER_BUDGET_PER_TOOL} per tool",
        f.answer,
        f.per_tool.len()
    );
}

/// Every schema object in a schema, with its path.
fn schemas<'a>(value: &'a Value, path: String, out: &mut Vec<(String, &'a Map<String, Value>)>) {
    let Value::Object(object) = value else {
        return;
    };
    out.push((path.clone(), object));
    for key in ["properties", "$defs", "patternProperties"] {
        if let Some(Value::Object(map)) = object.get(key) {
            for (name, sub) in map {
                schemas(sub, format!("{path}/{key}/{name}"), out);
            }
        }
    }
    for key in ["anyOf", "oneOf", "allOf", "prefixItems"] {
        if let Some(Value::Array(list)) = object.get(key) {
            for (i, sub) in list.iter().enumerate() {
                schemas(sub, format!("{path}/{key}/{i}"), out);
            }
        }
    }
    for key in ["items", "additionalProperties", "not", "contains"] {
        if let Some(sub) = object.get(key) {
            schemas(sub, format!("{path}/{key}"), out);
        }
    }
}

fn is_null_branch(value: &Value) -> bool {
    value.get("type") == Some(&json!("null"))
}

#[tokio::test]
async fn schemas_are_standard_and_inputs_carry_no_null() {
    let f = figures().await;
    let mut problems = Vec::new();
    for tool in &f.tools {
        let name = tool["name"].as_str().unwrap_or_default();
        for side in ["inputSchema", "outputSchema"] {
            let mut all = Vec::new();
            schemas(&tool[side], format!("{name}.{side}"), &mut all);
            for (path, schema) in all {
                if schema.contains_key("$schema") {
                    problems.push(format!("{path}: $schema"));
                }
                if let Some(Value::String(format)) = schema.get("format")
                    && !STANDARD_FORMATS.contains(&format.as_str())
                {
                    problems.push(format!("{path}: non-standard format {format:?}"));
                }
                let null_in_type = match schema.get("type") {
                    Some(Value::Array(types)) => types.contains(&json!("null")),
                    Some(t) => t == "null",
                    None => false,
                };
                let null_branch = ["anyOf", "oneOf"].iter().any(|k| {
                    schema
                        .get(*k)
                        .and_then(Value::as_array)
                        .is_some_and(|v| v.iter().any(is_null_branch))
                });
                let null_value = schema
                    .get("enum")
                    .and_then(Value::as_array)
                    .is_some_and(|v| v.contains(&Value::Null))
                    || schema.get("default") == Some(&Value::Null);
                // Inputs: an optional argument is left out, never typed as
                // "T or null" (clients cannot convert a value for a union).
                if side == "inputSchema" && (null_in_type || null_branch || null_value) {
                    problems.push(format!("{path}: null in an input schema"));
                }
                // Outputs may say a value is null (they must not lie), but
                // only as `type: [T, "null"]`, never as a null branch.
                if side == "outputSchema" && null_branch {
                    problems.push(format!("{path}: anyOf/oneOf with null"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A value of the type a schema declares (`$ref`s looked up in `root`).
fn example(root: &Value, schema: &Value) -> Value {
    if let Some(name) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        return example(root, &root["$defs"][name]);
    }
    if let Some(Value::Array(values)) = schema.get("enum") {
        return values.first().cloned().unwrap_or(Value::Null);
    }
    let kind = match schema.get("type") {
        Some(Value::Array(types)) => types.first().and_then(Value::as_str),
        Some(Value::String(kind)) => Some(kind.as_str()),
        _ => None,
    };
    match kind {
        Some("integer") => schema.get("minimum").cloned().unwrap_or(json!(1)),
        Some("number") => schema.get("minimum").cloned().unwrap_or(json!(0.5)),
        Some("boolean") => json!(true),
        Some("string") => json!("DEMO-1"),
        Some("array") => json!([example(root, schema.get("items").unwrap_or(&json!({})))]),
        Some("object") => match schema.get("properties") {
            Some(Value::Object(properties)) => Value::Object(
                properties
                    .iter()
                    .map(|(name, sub)| (name.clone(), example(root, sub)))
                    .collect(),
            ),
            _ => match schema.get("additionalProperties") {
                Some(sub @ Value::Object(_)) => json!({"PASSED": example(root, sub)}),
                _ => json!({}),
            },
        },
        _ => json!("DEMO-1"),
    }
}

/// Only the required arguments, each with a value of its type.
fn required_only(schema: &Value) -> Value {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let properties = schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    Value::Object(
        properties
            .into_iter()
            .filter(|(name, _)| required.contains(&name.as_str()))
            .map(|(name, sub)| (name, example(schema, &sub)))
            .collect(),
    )
}

fn deserialise(tool: &str, arguments: Value) -> Result<(), String> {
    macro_rules! args {
        ($($name:literal => $ty:ty),* $(,)?) => {
            match tool {
                $($name => serde_json::from_value::<$ty>(arguments).map(|_| ()).map_err(|e| e.to_string()),)*
                other => Err(format!("no arguments type listed for {other}")),
            }
        };
    }
    args!(
        "add_test_cases_to_run" => AddTestCasesToRunArgs,
        "analyze_launch_failures" => AnalyzeLaunchFailuresArgs,
        "analyze_launch_runtime" => AnalyzeLaunchRuntimeArgs,
        "analyze_test_failure" => AnalyzeTestFailureArgs,
        "coverage_report" => CoverageReportArgs,
        "create_test_case" => CreateTestCaseArgs,
        "create_test_run" => CreateTestRunArgs,
        "create_test_suite" => CreateTestSuiteArgs,
        "defect_analytics" => DefectAnalyticsArgs,
        "find_duplicate_test_cases" => FindDuplicateTestCasesArgs,
        "find_flaky_tests" => FindFlakyTestsArgs,
        "get_launch" => GetLaunchArgs,
        "get_project_settings" => GetProjectSettingsArgs,
        "get_test_artifact" => GetTestArtifactArgs,
        "get_test_case" => GetTestCaseArgs,
        "get_test_case_history" => GetTestCaseHistoryArgs,
        "get_test_run" => GetTestRunArgs,
        "get_test_suite" => GetTestSuiteArgs,
        "list_launch_tests" => ListLaunchTestsArgs,
        "list_launches" => ListLaunchesArgs,
        "list_milestones" => ListMilestonesArgs,
        "list_projects" => ListProjectsArgs,
        "list_test_runs" => ListTestRunsArgs,
        "list_test_suites" => ListTestSuitesArgs,
        "pass_rate_report" => PassRateReportArgs,
        "record_test_results" => RecordTestResultsArgs,
        "regression_report" => RegressionReportArgs,
        "release_readiness" => ReleaseReadinessArgs,
        "rerun_launch_failures" => RerunLaunchFailuresArgs,
        "review_test_case" => ReviewTestCaseArgs,
        "search_test_cases" => SearchTestCasesArgs,
        "start_launch" => StartLaunchArgs,
        "update_test_case" => UpdateTestCaseArgs,
        "update_test_run" => UpdateTestRunArgs,
        "update_test_suite" => UpdateTestSuiteArgs,
    )
}

#[tokio::test]
async fn every_listed_argument_deserialises_and_optionals_may_be_left_out() {
    let f = figures().await;
    let mut problems = Vec::new();
    for tool in &f.tools {
        let name = tool["name"].as_str().unwrap_or_default();
        let schema = &tool["inputSchema"];
        let every = example(schema, schema);
        if let Err(e) = deserialise(name, every.clone()) {
            problems.push(format!("{name} with every argument {every}: {e}"));
        }
        let required = required_only(schema);
        if let Err(e) = deserialise(name, required.clone()) {
            problems.push(format!("{name} with only {required}: {e}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
