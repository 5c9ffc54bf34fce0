//! `zebrunner-mcp config env`: every environment variable this binary reads, derived from the
//! code rather than written down twice: the `ZMCP_*` settings from the configuration's JSON
//! Schema (the same source as `config schema` and `config check`), the values read with
//! `<NAME>_FILE` variants from [`settings::ENV_OR_FILE`], and the flags' variables from the
//! command line's definition. Container and compose files name only these; their tests check.

use clap::CommandFactory as _;
use serde_json::{Value, json};
use zebrunner_mcp_server::config::Config;

use crate::output::outln;
use crate::{cli::Cli, settings};

/// Read by the PostgreSQL driver (sqlx) when `database_url` has no password: a libpq
/// password file (`host:port:database:user:password`, mode 0600), so the URL needs none.
const DRIVER: [(&str, &str); 1] = [(
    "PGPASSFILE",
    "PostgreSQL password file for a database_url without a password (libpq format, mode 0600)",
)];

/// One variable and where it comes from.
pub(crate) struct Variable {
    pub(crate) name: String,
    pub(crate) kind: &'static str,
    pub(crate) about: String,
    /// The variable naming a file that holds the value instead.
    pub(crate) file: Option<String>,
}

pub fn run(json: bool) -> anyhow::Result<()> {
    let variables = variables();
    if json {
        let list: Vec<Value> = variables
            .iter()
            .map(|v| {
                let mut entry = json!({ "name": v.name, "kind": v.kind, "about": v.about });
                if let Some(file) = &v.file {
                    entry["file"] = json!(file);
                }
                entry
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&list)?)?;
        return Ok(());
    }
    let width = variables.iter().map(|v| v.name.len()).max().unwrap_or(0);
    for v in &variables {
        let file = v
            .file
            .as_deref()
            .map(|f| format!(" (or {f})"))
            .unwrap_or_default();
        outln!("{:width$}  {:8}  {}{file}", v.name, v.kind, v.about)?;
    }
    Ok(())
}

/// Every variable, as `config env` lists them (also `config reference`'s last table).
pub(crate) fn variables() -> Vec<Variable> {
    let mut out = Vec::new();
    for name in settings::ENV_OR_FILE {
        // The workspace address is the one of these that is no secret.
        let kind = if name == settings::ZEBRUNNER_URL {
            "zebrunner"
        } else {
            "secret"
        };
        out.push(Variable {
            name: name.to_string(),
            kind,
            about: "environment or file only, never a setting or a flag".into(),
            file: Some(format!("{name}_FILE")),
        });
    }
    for argument in Cli::command().get_arguments() {
        if let Some(name) = argument.get_env().and_then(|n| n.to_str()) {
            out.push(Variable {
                name: name.to_string(),
                kind: "flag",
                about: format!("--{}", argument.get_long().unwrap_or_default()),
                file: None,
            });
        }
    }
    out.push(Variable {
        name: "RUST_LOG".into(),
        kind: "logging",
        about: "log filter (docs/configuration.md#logging)".into(),
        file: None,
    });
    for (name, setting) in settings_from_schema(&Config::json_schema()) {
        out.push(Variable {
            name,
            kind: "setting",
            about: setting,
            file: None,
        });
    }
    for (name, about) in DRIVER {
        out.push(Variable {
            name: name.into(),
            kind: "driver",
            about: about.into(),
            file: None,
        });
    }
    out
}

/// `ZMCP_<KEY>` for each top-level setting and `ZMCP_<SECTION>_<KEY>` for each setting of a
/// section (a property whose schema is an object with properties), as `Config::figment` maps
/// them; with the setting's dotted name.
fn settings_from_schema(schema: &Value) -> Vec<(String, String)> {
    let definitions = schema.get("$defs").and_then(Value::as_object);
    let resolve = |property: &Value| -> Value {
        property
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.rsplit('/').next())
            .and_then(|name| definitions?.get(name))
            .cloned()
            .unwrap_or_else(|| property.clone())
    };
    let mut out = Vec::new();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return out;
    };
    for (key, property) in properties {
        let resolved = resolve(property);
        match resolved.get("properties").and_then(Value::as_object) {
            Some(section) => {
                for inner in section.keys() {
                    out.push((
                        format!("ZMCP_{}_{}", key.to_uppercase(), inner.to_uppercase()),
                        format!("{key}.{inner}"),
                    ));
                }
            }
            None => out.push((format!("ZMCP_{}", key.to_uppercase()), key.clone())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_figment_mapping() {
        let names: Vec<String> = variables().into_iter().map(|v| v.name).collect();
        for expected in [
            "ZMCP_LISTEN",
            "ZMCP_DATA_DIR",
            "ZMCP_OIDC_ISSUER",
            "ZMCP_POLICY_ALLOWED_GROUPS",
            "ZMCP_AUDIT_SINKS",
            "ZMCP_ZEBRUNNER_REQUESTS_PER_SECOND",
            "ZMCP_VAULT_CONNECT_URL",
            "ZMCP_CONFIG",
            "ZMCP_LOG_FORMAT",
            "ZEBRUNNER_TOKEN",
            "ZMCP_VAULT_KEYS",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} in {names:?}"
            );
        }
        // Sections are not settings of their own.
        assert!(!names.iter().any(|n| n == "ZMCP_OIDC" || n == "ZMCP_POLICY"));
    }
}
