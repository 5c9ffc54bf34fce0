//! On stdio, a message nested deeper than `limits.max_json_depth` is answered with a JSON-RPC
//! error under its own id (not dropped, not parsed, no crash), a deep notification is dropped,
//! and the session goes on answering.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    io::{BufRead, BufReader, Write},
    process::{Command, Stdio},
};

use serde_json::{Value, json};

#[test]
fn a_message_nested_too_deeply_is_refused_under_its_id() {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_zebrunner-mcp"))
        .args(["serve", "--transport", "stdio", "--skip-credential-check"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ZMCP_DATA_DIR", data.path())
        .env("ZMCP_LIMITS_MAX_JSON_DEPTH", "16")
        .env("ZEBRUNNER_URL", "http://127.0.0.1:9")
        .env("ZEBRUNNER_LOGIN", "nobody")
        .env("ZEBRUNNER_TOKEN", "unused")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut send = |line: String| {
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    };
    let mut answer = || {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "stdout closed");
        serde_json::from_str::<Value>(&line).unwrap()
    };

    send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "stdio-limits", "version": "1"}}})
        .to_string(),
    );
    assert_eq!(answer()["id"], 1);
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string());

    let deep = |levels: usize| format!("{}1{}", "[".repeat(levels), "]".repeat(levels));
    // A notification too deep: dropped (nothing to answer); then a request too deep, far
    // deeper than serde's own limit too.
    send(format!(
        r#"{{"jsonrpc":"2.0","method":"notifications/progress","params":{{"x":{}}}}}"#,
        deep(40)
    ));
    for (id, levels) in [(7, 20), (8, 10_000)] {
        send(format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"list_projects","arguments":{{"x":{}}}}}}}"#,
            deep(levels)
        ));
        let refused = answer();
        assert_eq!(refused["id"], id, "{refused}");
        assert_eq!(refused["error"]["code"], -32600, "{refused}");
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(message.contains("nested more than 16 levels"), "{message}");
    }
    // The session goes on.
    send(json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list"}).to_string());
    let listed = answer();
    assert_eq!(listed["id"], 9);
    assert!(listed["result"]["tools"].as_array().unwrap().len() > 5);

    drop(stdin);
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("refused a message nested too deeply"),
        "{stderr}"
    );
    assert!(status.success(), "{status:?}: {stderr}");
}
