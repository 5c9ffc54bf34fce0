//! A reader that closes standard output early (`zebrunner-mcp config schema | head`): the
//! command stops quietly and successfully, with no panic; a check still reports its verdict.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output, Stdio};

/// Runs the binary with a standard output nobody reads: the pipe's read end is closed before
/// the command starts, so its first write fails with a broken pipe.
fn with_stdout_closed(args: &[&str], data_dir: &std::path::Path) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_zebrunner-mcp"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ZMCP_DATA_DIR", data_dir)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn answers_stop_quietly_when_nobody_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["config", "schema"][..],
        &["config", "env"],
        &["config", "env", "--json"],
        &["config", "reference"],
        &["vault", "keygen", "--id", "k1"],
        &["oauth", "client-secret", "--client", "ci"],
    ] {
        let out = with_stdout_closed(args, dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("error"), "{args:?}: {stderr}");
        assert!(out.status.success(), "{args:?}: {:?}: {stderr}", out.status);
    }
}

#[test]
fn a_check_keeps_its_verdict_when_nobody_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    // No ZEBRUNNER_URL and friends: the check finds errors, and says so on stderr.
    let out = with_stdout_closed(&["config", "check"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("configuration error(s)"), "{stderr}");
}
