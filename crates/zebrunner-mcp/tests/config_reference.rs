//! `docs/config-reference.md` against the binary: it is exactly what `zebrunner-mcp config
//! reference` prints, and that names every setting variable `config env` lists (and no other).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{collections::BTreeSet, path::Path, process::Command};

use serde_json::Value;

const REFERENCE: &str = "docs/config-reference.md";

fn binary(args: &[&str]) -> String {
    // No ZMCP_* variable or configuration file may change the page.
    let out = Command::new(env!("CARGO_BIN_EXE_zebrunner-mcp"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "zebrunner-mcp {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn config_reference_is_what_the_binary_prints() {
    let printed = binary(&["config", "reference"]);
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(REFERENCE);
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{REFERENCE}: {e}"));
    if printed != committed {
        let first = printed
            .lines()
            .zip(committed.lines())
            .position(|(a, b)| a != b)
            .map(|i| i + 1)
            .unwrap_or_else(|| printed.lines().count().min(committed.lines().count()) + 1);
        panic!(
            "{REFERENCE} differs from `zebrunner-mcp config reference` from line {first} on (a \
             setting, its doc comment, default or type changed). Regenerate it and commit the \
             result:\n\n    cargo run -q -p zebrunner-mcp -- config reference > {REFERENCE}\n"
        );
    }
}

#[test]
fn config_reference_names_every_setting_variable() {
    let page = binary(&["config", "reference"]);
    let env: Vec<Value> = serde_json::from_str(&binary(&["config", "env", "--json"])).unwrap();
    let mut listed = BTreeSet::new();
    for entry in &env {
        let name = entry["name"].as_str().unwrap().to_string();
        let in_page = page.contains(&format!("`{name}`"));
        assert!(in_page, "`config env` lists {name}; the reference does not");
        if entry["kind"] == "setting" {
            let setting = entry["about"].as_str().unwrap();
            assert!(
                page.contains(&format!("| `{setting}` | `{name}` |")),
                "{setting} is not a row with {name}"
            );
        }
        listed.insert(name);
    }
    // Every variable in the setting tables is one `config env` lists.
    for line in page.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split(" | ").collect();
        if let Some(variable) = cells.get(1).and_then(|c| c.strip_prefix('`')) {
            let variable = variable.trim_end_matches('`');
            if variable.starts_with("ZMCP_") && !variable.contains('`') {
                assert!(listed.contains(variable), "{variable} is not read: {line}");
            }
        }
    }
}
