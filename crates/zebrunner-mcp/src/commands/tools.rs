//! `zebrunner-mcp tools`: the tool list exactly as `tools/list` returns it to an
//! unrestricted local caller (every toolset, not read-only), without Zebrunner credentials or
//! a network: the server is asked over an in-memory MCP session, the bytes it would write on
//! stdio.
//!
//! `--json` prints the Docker MCP Registry's `tools.json` (`deploy/docker/zebrunner/tools.json`
//! is this output, and a test fails when the two differ). That format is the registry's, not
//! MCP's: `[{name, description, arguments: [{name, type, items, desc, optional}],
//! annotations}]`, built the way the registry's own generator reads a running server
//! (docker/mcp-registry `internal/mcp`): arguments required first, then optional, each group by
//! name; a type that is not one JSON Schema name is `string`; array items default to `string`.
//! Two differences, both to keep MCP's meaning: the tool's `title` goes into
//! `annotations.title` when the annotations have none, and hints are kept when `false` (MCP
//! reads a missing `destructiveHint` as `true`). `--json --format mcp` prints MCP's own
//! `tools/list` result (`{"tools": [...]}`) instead.

use anyhow::{Context, bail};
use rmcp::ServiceExt as _;
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use zebrunner_client::{ClientConfig, ZebrunnerClient, ZebrunnerUrl};
use zebrunner_mcp_server::{Credentials, ZebrunnerMcp};

use crate::cli::{ToolsArgs, ToolsFormat};
use crate::output::{out, outln};

pub async fn run(args: ToolsArgs) -> anyhow::Result<()> {
    let tools = list_tools().await?;
    if !args.json {
        out!("{}", table(&tools))?;
        return Ok(());
    }
    let output = match args.format {
        ToolsFormat::Registry => Value::Array(tools.iter().map(registry_tool).collect()),
        ToolsFormat::Mcp => json!({ "tools": tools }),
    };
    outln!("{}", serde_json::to_string_pretty(&output)?)?;
    Ok(())
}

/// The `tools` of a `tools/list` answer from a fresh server with the local caller.
async fn list_tools() -> anyhow::Result<Vec<Value>> {
    // Listing tools makes no request to Zebrunner: an address that cannot resolve
    // (RFC 2606 `.invalid`) and a placeholder token keep it that way.
    let url = ZebrunnerUrl::parse("https://zebrunner.invalid")
        .context("the placeholder Zebrunner address")?;
    let config = ClientConfig::new(url, "tools", SecretString::from("unused"));
    let client = ZebrunnerClient::new(config).context("a Zebrunner client")?;
    let server = ZebrunnerMcp::new(Credentials::ServiceAccount(client));

    let (ours, theirs) = tokio::io::duplex(1 << 20);
    let (server_read, server_write) = tokio::io::split(theirs);
    let running = tokio::spawn(async move {
        match server.serve((server_read, server_write)).await {
            Ok(service) => {
                let _ = service.waiting().await;
                Ok(())
            }
            Err(error) => Err(anyhow::anyhow!("the server did not start: {error}")),
        }
    });
    let (read, mut write) = tokio::io::split(ours);
    let mut lines = BufReader::new(read).lines();

    send(
        &mut write,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "zebrunner-mcp tools", "version": env!("CARGO_PKG_VERSION")}
        }}),
    )
    .await?;
    answer(&mut lines, 1).await?;
    send(
        &mut write,
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await?;
    let mut tools = Vec::new();
    let mut cursor: Option<Value> = None;
    for id in 2..100 {
        let params = match &cursor {
            Some(cursor) => json!({ "cursor": cursor }),
            None => json!({}),
        };
        send(
            &mut write,
            json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": params}),
        )
        .await?;
        let mut result = answer(&mut lines, id).await?;
        let page = result
            .get_mut("tools")
            .and_then(|t| t.as_array_mut())
            .context("tools/list answered without a tools array")?;
        tools.append(page);
        cursor = result.get("nextCursor").filter(|c| !c.is_null()).cloned();
        if cursor.is_none() {
            break;
        }
    }
    drop(write);
    drop(lines);
    running.await.context("the in-memory server")??;
    Ok(tools)
}

async fn send(
    write: &mut (impl tokio::io::AsyncWrite + Unpin),
    message: Value,
) -> anyhow::Result<()> {
    let mut line = serde_json::to_vec(&message)?;
    line.push(b'\n');
    write
        .write_all(&line)
        .await
        .context("writing to the in-memory MCP session")
}

/// The `result` of the answer to request `id` (notifications before it are skipped).
async fn answer(
    lines: &mut tokio::io::Lines<BufReader<impl tokio::io::AsyncRead + Unpin>>,
    id: u64,
) -> anyhow::Result<Value> {
    while let Some(line) = lines
        .next_line()
        .await
        .context("reading the in-memory MCP session")?
    {
        let message: Value = serde_json::from_str(&line).context("the server wrote non-JSON")?;
        if message.get("id").and_then(Value::as_u64) != Some(id) {
            continue;
        }
        if let Some(error) = message.get("error") {
            bail!("request {id} failed: {error}");
        }
        return message
            .get("result")
            .cloned()
            .with_context(|| format!("request {id} has no result"));
    }
    bail!("the server closed the session before answering request {id}")
}

/// One tool in the registry's `tools.json` shape.
fn registry_tool(tool: &Value) -> Value {
    let name = text(tool, "name");
    let raw_description = text(tool, "description");
    let description = remove_args(raw_description);
    let schema = tool.get("inputSchema").unwrap_or(&Value::Null);
    let definitions = schema
        .get("$defs")
        .or_else(|| schema.get("definitions"))
        .and_then(Value::as_object);
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut names: Vec<&String> = properties.keys().collect();
    names.sort_by_key(|name| (!required.contains(&name.as_str()), name.as_str()));
    let arguments: Vec<Value> = names
        .into_iter()
        .map(|argument| {
            let property = resolve(&properties[argument], definitions);
            let kind = json_type(property).unwrap_or("string");
            let mut out = Map::new();
            out.insert("name".into(), json!(argument));
            out.insert("type".into(), json!(kind));
            if kind == "array" {
                let items = property
                    .get("items")
                    .map(|items| resolve(items, definitions))
                    .and_then(json_type)
                    .unwrap_or("string");
                out.insert("items".into(), json!({ "type": items }));
            }
            let desc = property
                .get("description")
                .and_then(Value::as_str)
                .filter(|d| !d.is_empty())
                .map(str::to_owned)
                .unwrap_or_else(|| described_in(raw_description, argument));
            out.insert("desc".into(), json!(desc));
            if !required.contains(&argument.as_str()) {
                out.insert("optional".into(), json!(true));
            }
            Value::Object(out)
        })
        .collect();

    let mut out = Map::new();
    out.insert("name".into(), json!(name));
    out.insert("description".into(), json!(description));
    if !arguments.is_empty() {
        out.insert("arguments".into(), Value::Array(arguments));
    }
    let mut annotations = Map::new();
    let given = tool.get("annotations").and_then(Value::as_object);
    let title = given
        .and_then(|a| a.get("title"))
        .or_else(|| tool.get("title"))
        .and_then(Value::as_str);
    if let Some(title) = title {
        annotations.insert("title".into(), json!(title));
    }
    for hint in [
        "readOnlyHint",
        "destructiveHint",
        "idempotentHint",
        "openWorldHint",
    ] {
        if let Some(value) = given.and_then(|a| a.get(hint)).filter(|v| v.is_boolean()) {
            annotations.insert(hint.into(), value.clone());
        }
    }
    if !annotations.is_empty() {
        out.insert("annotations".into(), Value::Object(annotations));
    }
    Value::Object(out)
}

fn text<'v>(value: &'v Value, key: &str) -> &'v str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// A `$ref` into the schema's definitions, followed once.
fn resolve<'v>(schema: &'v Value, definitions: Option<&'v Map<String, Value>>) -> &'v Value {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
        .and_then(|name| definitions?.get(name))
        .unwrap_or(schema)
}

/// The JSON type a schema names: `type` as one name, or the one that is not `null`.
fn json_type(schema: &Value) -> Option<&str> {
    match schema.get("type")? {
        Value::String(kind) => Some(kind),
        Value::Array(kinds) => {
            let named: Vec<&str> = kinds
                .iter()
                .filter_map(Value::as_str)
                .filter(|k| *k != "null")
                .collect();
            match named.as_slice() {
                [one] => Some(one),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The description up to an `Args:` section, as the registry's generator keeps it.
fn remove_args(description: &str) -> String {
    let mut kept = Vec::new();
    for line in description.split('\n') {
        if line.trim().to_lowercase().starts_with("args:") {
            break;
        }
        kept.push(if line.trim().is_empty() { "" } else { line });
    }
    kept.join("\n").trim().to_string()
}

/// An argument's description from a `name: ...` line of the tool's whole description, else
/// empty (the registry requires `desc` to be present).
fn described_in(description: &str, argument: &str) -> String {
    let prefix = format!("{argument}:");
    description
        .lines()
        .map(str::trim)
        .find(|line| line.to_lowercase().starts_with(&prefix))
        .map(|line| {
            line.strip_prefix(&prefix)
                .unwrap_or(line)
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

/// Without `--json`: one line per tool.
fn table(tools: &[Value]) -> String {
    let width = tools
        .iter()
        .map(|t| text(t, "name").len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for tool in tools {
        let read_only = tool
            .pointer("/annotations/readOnlyHint")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let title = tool
            .get("title")
            .or_else(|| tool.pointer("/annotations/title"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        out.push_str(&format!(
            "{:width$}  {:5}  {title}\n",
            text(tool, "name"),
            if read_only { "read" } else { "write" },
        ));
    }
    out.push_str(&format!(
        "{} tools; `--json` prints the Docker MCP Registry's tools.json, `--json --format mcp` MCP's tools/list\n",
        tools.len()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_shape_follows_the_registry_generator() {
        let tool = json!({
            "name": "search",
            "title": "Search",
            "description": "Find things.\nArgs:\n  q: the query",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "z_opt": {"type": ["integer", "null"], "description": "Later"},
                    "q": {"type": "string"},
                    "tags": {"type": "array", "items": {"$ref": "#/$defs/Tag"}},
                    "mode": {"$ref": "#/$defs/Mode", "description": "How"}
                },
                "required": ["q"],
                "$defs": {"Tag": {"type": "string"}, "Mode": {"enum": ["a", "b"]}}
            },
            "annotations": {"readOnlyHint": true, "destructiveHint": false}
        });
        let out = registry_tool(&tool);
        assert_eq!(out["description"], "Find things.");
        let names: Vec<&str> = out["arguments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["q", "mode", "tags", "z_opt"]);
        assert_eq!(out["arguments"][0]["desc"], "the query", "from the q: line");
        assert!(out["arguments"][0].get("optional").is_none());
        assert_eq!(out["arguments"][1]["type"], "string");
        assert_eq!(out["arguments"][2]["items"], json!({"type": "string"}));
        assert_eq!(out["arguments"][3]["type"], "integer");
        assert_eq!(out["arguments"][3]["optional"], true);
        assert_eq!(
            out["annotations"],
            json!({"title": "Search", "readOnlyHint": true, "destructiveHint": false})
        );
    }

    #[test]
    fn an_argument_description_can_come_from_the_tool_description() {
        assert_eq!(
            described_in("Does it.\n  key: the case key", "key"),
            "the case key"
        );
        assert_eq!(described_in("Does it.", "key"), "");
    }
}
