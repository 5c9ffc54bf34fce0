//! The deployment files against the binary and against the Docker MCP Registry's schema:
//!
//! - `deploy/docker/zebrunner/tools.json` is exactly what `zebrunner-mcp tools --json` prints;
//! - every `deploy/docker/*/server.yaml` parses into the registry's `server.yaml` types
//!   (docker/mcp-registry `pkg/servers`), unknown fields refused, and passes the registry's own
//!   validation rules (`cmd/validate`); `deploy/docker/catalog.yaml` parses into the catalog
//!   types `task catalog` writes and `docker mcp catalog import` reads (`pkg/catalog`), and
//!   agrees with the entries;
//! - the compose files parse into the part of the Compose specification they use (unknown
//!   fields refused), keep secrets in files, and name only variables the binary reads.
//!
//! "What the binary reads" is derived from the code: `zebrunner-mcp config env --json` (the
//! configuration schema, the `<NAME>_FILE` list in settings.rs, the flags) and the request
//! header names in `zebrunner_mcp_server::credentials::headers`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The structs mirror the registry's and Compose's schemas so that unknown fields are refused;
// not every field they accept is checked.
#![allow(dead_code)]

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::Command,
};

use serde::Deserialize;
use serde_json::Value as Json;
use serde_yaml_ng::Value as Yaml;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn binary(args: &[&str]) -> String {
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

/// Every environment variable the binary reads, with the `<NAME>_FILE` variants.
fn variables() -> BTreeSet<String> {
    let list: Vec<Json> = serde_json::from_str(&binary(&["config", "env", "--json"])).unwrap();
    let mut names = BTreeSet::new();
    for entry in list {
        names.insert(entry["name"].as_str().unwrap().to_string());
        if let Some(file) = entry["file"].as_str() {
            names.insert(file.to_string());
        }
    }
    names
}

/// Variables whose value is a secret: allowed only as `<NAME>_FILE` in committed files.
fn secret_variables() -> BTreeSet<String> {
    let list: Vec<Json> = serde_json::from_str(&binary(&["config", "env", "--json"])).unwrap();
    list.into_iter()
        .filter(|e| e["kind"] == "secret")
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

fn yaml<T: serde::de::DeserializeOwned>(path: &str) -> T {
    let mut value: Yaml =
        serde_yaml_ng::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    value.apply_merge().unwrap();
    // Compose extension fields (`x-...`) hold the anchors merged above; compose ignores them.
    if let Yaml::Mapping(map) = &mut value {
        map.retain(|k, _| !k.as_str().is_some_and(|k| k.starts_with("x-")));
    }
    serde_yaml_ng::from_value(value).unwrap_or_else(|e| panic!("{path}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// tools.json

const TOOLS_JSON: &str = "deploy/docker/zebrunner/tools.json";

#[test]
fn tools_json_is_what_the_binary_prints() {
    let printed = binary(&["tools", "--json"]);
    let committed = read(TOOLS_JSON);
    assert!(
        printed.trim_end() == committed.trim_end(),
        "{TOOLS_JSON} differs from `zebrunner-mcp tools --json` (a tool, its description, \
         arguments or annotations changed). Regenerate it and commit the result:\n\n    \
         cargo run -q -p zebrunner-mcp -- tools --json > {TOOLS_JSON}\n"
    );
}

/// The registry's tools.json shape (docker/mcp-registry `internal/mcp` `Tool`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryTool {
    name: String,
    description: String,
    #[serde(default)]
    arguments: Vec<ToolArgument>,
    annotations: Option<ToolAnnotations>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolArgument {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    items: Option<Items>,
    /// Required by the registry's validation ("desc" is required).
    desc: String,
    #[serde(default)]
    optional: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Items {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ToolAnnotations {
    title: Option<String>,
    read_only_hint: Option<bool>,
    destructive_hint: Option<bool>,
    idempotent_hint: Option<bool>,
    open_world_hint: Option<bool>,
}

#[test]
fn tools_json_matches_the_mcp_tool_list() {
    let tools: Vec<RegistryTool> = serde_json::from_str(&read(TOOLS_JSON)).unwrap();
    let mcp: Json = serde_json::from_str(&binary(&["tools", "--json", "--format", "mcp"])).unwrap();
    let mcp = mcp["tools"].as_array().unwrap();
    assert_eq!(tools.len(), mcp.len());
    assert!(tools.len() >= 20, "{} tools", tools.len());
    const JSON_TYPES: [&str; 6] = ["string", "integer", "number", "boolean", "array", "object"];
    for (tool, listed) in tools.iter().zip(mcp) {
        assert_eq!(tool.name, listed["name"], "same order, by name");
        assert!(!tool.description.is_empty(), "{}", tool.name);
        let schema = &listed["inputSchema"];
        let properties = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default();
        let names: BTreeSet<&str> = tool.arguments.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names,
            properties.keys().map(String::as_str).collect(),
            "{}",
            tool.name
        );
        for argument in &tool.arguments {
            assert!(JSON_TYPES.contains(&argument.kind.as_str()), "{argument:?}");
            assert_eq!(
                argument.items.is_some(),
                argument.kind == "array",
                "{argument:?}"
            );
            if let Some(items) = &argument.items {
                assert!(JSON_TYPES.contains(&items.kind.as_str()), "{argument:?}");
            }
            assert_eq!(
                argument.optional,
                !required.contains(&argument.name.as_str()),
                "{argument:?}"
            );
            // The schema's description where it has one (the server leaves self-explanatory
            // arguments such as `format` and `cursor` undescribed, to keep tools/list small).
            let described = properties[&argument.name]["description"]
                .as_str()
                .unwrap_or_default();
            if !described.is_empty() {
                assert_eq!(argument.desc, described, "{}.{}", tool.name, argument.name);
            }
        }
        let annotations = tool.annotations.as_ref().expect("every tool is annotated");
        let hints = &listed["annotations"];
        assert_eq!(
            annotations.read_only_hint,
            hints["readOnlyHint"].as_bool(),
            "{}",
            tool.name
        );
        assert_eq!(
            annotations.destructive_hint,
            hints["destructiveHint"].as_bool(),
            "{}",
            tool.name
        );
        assert_eq!(
            annotations.idempotent_hint,
            hints["idempotentHint"].as_bool(),
            "{}",
            tool.name
        );
        assert_eq!(
            annotations.open_world_hint,
            hints["openWorldHint"].as_bool(),
            "{}",
            tool.name
        );
        assert_eq!(
            annotations.title.as_deref(),
            hints["title"].as_str().or(listed["title"].as_str()),
            "{}",
            tool.name
        );
    }
}

// ---------------------------------------------------------------------------------------------
// server.yaml: docker/mcp-registry pkg/servers

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Server {
    name: String,
    image: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    dynamic: Option<Dynamic>,
    #[serde(rename = "longLived")]
    long_lived: Option<bool>,
    meta: Meta,
    about: About,
    source: Option<Source>,
    remote: Option<Remote>,
    run: Option<Run>,
    config: Option<ServerConfig>,
    #[serde(default)]
    oauth: Vec<OAuthProvider>,
    tools: Option<Vec<Yaml>>,
    requirement: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Dynamic {
    tools: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Meta {
    category: String,
    tags: Vec<String>,
    highlighted: Option<bool>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct About {
    title: String,
    description: String,
    icon: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Source {
    project: String,
    upstream: Option<String>,
    branch: Option<String>,
    commit: Option<String>,
    directory: Option<String>,
    dockerfile: Option<String>,
    build_target: Option<String>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Remote {
    transport_type: String,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Run {
    command: Option<Vec<String>>,
    volumes: Option<Vec<String>>,
    user: Option<String>,
    env: Option<BTreeMap<String, String>>,
    allow_hosts: Option<Vec<String>>,
    disable_network: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerConfig {
    description: String,
    #[serde(default)]
    secrets: Vec<Secret>,
    #[serde(default)]
    env: Vec<Env>,
    parameters: Option<Schema>,
    #[serde(rename = "anyOf")]
    any_of: Option<Vec<AnyOf>>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Secret {
    name: String,
    env: String,
    example: Option<String>,
    description: Option<String>,
    required: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Env {
    name: String,
    example: Option<Yaml>,
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Schema {
    #[serde(rename = "type")]
    kind: String,
    description: Option<String>,
    #[serde(default)]
    properties: BTreeMap<String, Schema>,
    #[serde(default)]
    required: Vec<String>,
    items: Option<Items>,
    #[serde(rename = "anyOf")]
    any_of: Option<Vec<AnyOf>>,
    default: Option<Yaml>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnyOf {
    #[serde(default)]
    required: Vec<String>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct OAuthProvider {
    provider: String,
    secret: Option<String>,
    env: Option<String>,
}

/// What scripts/release-pin replaces with the released commit.
const COMMIT_PLACEHOLDER: &str = "RELEASE_COMMIT_PLACEHOLDER";

fn entries() -> Vec<(String, Server)> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(root().join("deploy/docker")).unwrap() {
        let dir = dir.unwrap().path();
        if dir.join("server.yaml").exists() {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            out.push((
                name.clone(),
                yaml(&format!("deploy/docker/{name}/server.yaml")),
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    let names: Vec<&str> = out.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["zebrunner", "zebrunner-remote", "zebrunner-remote-oauth"]
    );
    out
}

fn is_sha1(text: &str) -> bool {
    text.len() == 40
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The Docker MCP Registry's `cmd/validate` rules that need no network, plus ours.
#[test]
fn registry_entries_follow_the_registry_rules() {
    let variables = variables();
    for (dir, server) in entries() {
        let what = format!("deploy/docker/{dir}/server.yaml");
        // isNameValid, isDirectoryValid
        assert_eq!(server.name, dir, "{what}");
        assert!(
            server
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{what}: name"
        );
        // isTitleValid
        let title = &server.about.title;
        assert!(
            !title.contains("MCP") && !title.contains("Server"),
            "{what}: {title}"
        );
        for word in title.split_whitespace() {
            let first = word.chars().next().unwrap();
            assert!(
                ["and", "for"].contains(&word) || first.to_uppercase().eq([first]),
                "{what}: every word of the title capitalised: {word}"
            );
        }
        assert!(server.about.icon.starts_with("https://"), "{what}: icon");
        assert!(!server.about.description.is_empty(), "{what}");
        assert_eq!(server.meta.category, "testing", "{what}");
        assert!(server.meta.tags.contains(&"testing".to_string()), "{what}");
        // areSecretsValid: prefix.name
        let config = server.config.as_ref();
        let secrets = config.map(|c| c.secrets.as_slice()).unwrap_or_default();
        for secret in secrets {
            let (prefix, rest) = secret.name.split_once('.').expect("prefix.name");
            assert!(
                !prefix.is_empty() && !rest.is_empty(),
                "{what}: {}",
                secret.name
            );
            assert!(
                secret.example.is_some() && secret.description.is_some(),
                "{what}: {secret:?}"
            );
        }
        // isConfigEnvValid: templates name this server's parameters, which exist.
        if let Some(config) = config {
            for env in &config.env {
                let value = env.value.as_deref().unwrap_or_default();
                if let Some(parameter) = value
                    .strip_prefix(&format!("{{{{{}.", server.name))
                    .and_then(|v| v.strip_suffix("}}"))
                {
                    let parameters = config.parameters.as_ref().expect("parameters");
                    assert_eq!(parameters.kind, "object");
                    assert!(
                        parameters.properties.contains_key(parameter),
                        "{what}: {value}"
                    );
                } else {
                    assert!(
                        !value.starts_with("{{"),
                        "{what}: unknown parameter {value}"
                    );
                }
            }
            if let Some(parameters) = &config.parameters {
                for (name, property) in &parameters.properties {
                    assert!(!property.kind.is_empty(), "{what}: {name} has a type");
                }
                for name in &parameters.required {
                    assert!(parameters.properties.contains_key(name), "{what}: {name}");
                }
            }
        }
        // isOAuthDynamicValid
        if !server.oauth.is_empty() {
            assert!(
                server.dynamic.as_ref().is_some_and(|d| d.tools),
                "{what}: OAuth needs dynamic tools"
            );
        }
        let tools_json = root().join(format!("deploy/docker/{dir}/tools.json"));
        assert!(
            root()
                .join(format!("deploy/docker/{dir}/readme.md"))
                .exists(),
            "{what}: readme.md"
        );
        match server.kind.as_str() {
            "server" => {
                // isCommitPinnedIfNecessary; the committed file keeps the placeholder.
                let source = server.source.as_ref().expect("source");
                assert_eq!(
                    source.project,
                    "https://github.com/zebrunner-mcp/zebrunner-mcp"
                );
                let commit = source.commit.as_deref().expect("source.commit");
                assert!(
                    commit == COMMIT_PLACEHOLDER || is_sha1(commit),
                    "{what}: {commit}"
                );
                assert!(server.remote.is_none(), "{what}");
                assert_eq!(server.image.as_deref(), Some("mcp/zebrunner"), "{what}");
                assert!(tools_json.exists(), "{what}: tools.json");
                // Every variable the gateway sets is one the binary reads.
                for secret in secrets {
                    assert!(
                        variables.contains(&secret.env),
                        "{what}: {} is not read",
                        secret.env
                    );
                }
                for env in &config.unwrap().env {
                    assert!(
                        variables.contains(&env.name),
                        "{what}: {} is not read",
                        env.name
                    );
                }
                let set: BTreeSet<&str> = secrets.iter().map(|s| s.env.as_str()).collect();
                assert!(set.contains("ZEBRUNNER_TOKEN") && set.contains("ZEBRUNNER_LOGIN"));
                assert!(secrets.iter().all(|s| s.required == Some(true)), "{what}");
                let names: BTreeSet<&str> = secrets.iter().map(|s| s.name.as_str()).collect();
                assert_eq!(names, ["zebrunner.api_token", "zebrunner.login"].into());
            }
            "remote" => {
                // isRemoteValid
                let remote = server.remote.as_ref().expect("remote");
                assert_eq!(remote.transport_type, "streamable-http", "{what}");
                assert!(
                    remote.url.ends_with("/mcp"),
                    "{what}: the MCP endpoint is /mcp"
                );
                assert!(server.dynamic.as_ref().is_some_and(|d| d.tools), "{what}");
                assert!(server.image.is_none() && server.source.is_none(), "{what}");
                assert_eq!(
                    std::fs::read_to_string(&tools_json).unwrap().trim(),
                    "[]",
                    "{what}"
                );
                remote_headers_are_read(&what, remote, secrets);
                for provider in &server.oauth {
                    // The gateway looks the token up by the server's name and sends it as
                    // `Authorization: Bearer`; secret and env follow `task remote-wizard`.
                    assert_eq!(provider.provider, server.name, "{what}");
                    assert_eq!(
                        provider.secret.as_deref(),
                        Some(format!("{}.personal_access_token", server.name).as_str())
                    );
                    let env = format!("{}_PERSONAL_ACCESS_TOKEN", server.name.replace('-', "_"))
                        .to_uppercase();
                    assert_eq!(provider.env.as_deref(), Some(env.as_str()), "{what}");
                }
            }
            other => panic!("{what}: type {other}"),
        }
    }
}

/// A remote entry's headers are ones the server reads, filled from this entry's secrets.
fn remote_headers_are_read(what: &str, remote: &Remote, secrets: &[Secret]) {
    use zebrunner_mcp_server::credentials::headers::{LOGIN_HEADERS, TOKEN_HEADERS};
    let envs: BTreeSet<&str> = secrets.iter().map(|s| s.env.as_str()).collect();
    for (header, value) in &remote.headers {
        let lower = header.to_ascii_lowercase();
        assert!(
            LOGIN_HEADERS.contains(&lower.as_str()) || TOKEN_HEADERS.contains(&lower.as_str()),
            "{what}: the server does not read {header}"
        );
        let variable = value
            .strip_prefix("${")
            .and_then(|v| v.strip_suffix('}'))
            .unwrap_or_else(|| panic!("{what}: {header} must be one ${{SECRET}}, not a value"));
        assert!(
            envs.contains(variable),
            "{what}: {header} uses {variable}, no secret sets it"
        );
    }
}

#[test]
fn the_remote_entries_are_the_two_variants() {
    let entries: BTreeMap<String, Server> = entries().into_iter().collect();
    let headers = &entries["zebrunner-remote"];
    let remote = headers.remote.as_ref().unwrap();
    let names: BTreeSet<&str> = remote.headers.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["X-Zebrunner-Api-Token", "X-Zebrunner-Username"].into()
    );
    assert!(headers.oauth.is_empty());
    let oauth = &entries["zebrunner-remote-oauth"];
    assert_eq!(oauth.oauth.len(), 1);
    assert!(oauth.remote.as_ref().unwrap().url.starts_with("https://"));
    // The same secret names as the local entry: one `docker mcp secret set` serves both.
    let local = entries["zebrunner"].config.as_ref().unwrap();
    assert_eq!(local.secrets, headers.config.as_ref().unwrap().secrets);
}

// ---------------------------------------------------------------------------------------------
// catalog.yaml: docker/mcp-registry pkg/catalog (what `task catalog` writes, what
// `docker mcp catalog import` reads)

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Catalog {
    version: u32,
    name: String,
    display_name: String,
    registry: BTreeMap<String, Tile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Tile {
    name: Option<String>,
    description: String,
    title: String,
    #[serde(rename = "type")]
    kind: String,
    date_added: Option<String>,
    image: Option<String>,
    #[serde(rename = "ref")]
    reference: String,
    readme: Option<String>,
    tools_url: Option<String>,
    long_lived: Option<bool>,
    source: String,
    upstream: Option<String>,
    remote: Option<Remote>,
    icon: String,
    tools: Vec<CatalogTool>,
    #[serde(default)]
    secrets: Vec<CatalogSecret>,
    #[serde(default)]
    env: Vec<CatalogEnv>,
    command: Option<Vec<String>>,
    volumes: Option<Vec<String>>,
    user: Option<String>,
    disable_network: Option<bool>,
    allow_hosts: Option<Vec<String>>,
    prompts: u32,
    resources: BTreeMap<String, Yaml>,
    #[serde(default)]
    config: Vec<CatalogConfig>,
    metadata: Option<Metadata>,
    oauth: Option<CatalogOAuth>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogTool {
    name: String,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogSecret {
    name: String,
    env: String,
    example: String,
    description: Option<String>,
    required: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogEnv {
    name: String,
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogConfig {
    name: String,
    description: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    properties: BTreeMap<String, Schema>,
    #[serde(rename = "anyOf")]
    any_of: Option<Vec<AnyOf>>,
    #[serde(default)]
    required: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Metadata {
    pulls: Option<u64>,
    stars: Option<u64>,
    github_stars: Option<u64>,
    category: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    license: Option<String>,
    owner: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogOAuth {
    providers: Vec<OAuthProvider>,
}

#[test]
fn the_catalog_agrees_with_the_entries() {
    let catalog: Catalog = yaml("deploy/docker/catalog.yaml");
    assert_eq!(catalog.version, 2);
    assert_eq!(
        catalog.name, "zebrunner",
        "`docker mcp catalog import` asks for a name without one"
    );
    assert!(!catalog.display_name.is_empty());
    let entries: BTreeMap<String, Server> = entries().into_iter().collect();
    assert_eq!(
        catalog.registry.keys().collect::<Vec<_>>(),
        entries.keys().collect::<Vec<_>>()
    );
    let tools: Vec<RegistryTool> = serde_json::from_str(&read(TOOLS_JSON)).unwrap();
    for (name, tile) in &catalog.registry {
        let server = &entries[name];
        let what = format!("deploy/docker/catalog.yaml: {name}");
        assert!(
            tile.name.is_none() || tile.name.as_deref() == Some(name.as_str()),
            "{what}"
        );
        assert_eq!(tile.kind, server.kind, "{what}");
        assert_eq!(tile.title, server.about.title, "{what}");
        assert_eq!(tile.icon, server.about.icon, "{what}");
        assert_eq!(
            tile.description.trim_end_matches('.'),
            server.about.description.trim_end_matches('.'),
            "{what}"
        );
        assert_eq!(tile.remote, server.remote, "{what}");
        let providers = tile
            .oauth
            .as_ref()
            .map(|o| o.providers.as_slice())
            .unwrap_or_default();
        assert_eq!(providers, server.oauth.as_slice(), "{what}");
        let config = server.config.as_ref();
        let secrets = config.map(|c| c.secrets.as_slice()).unwrap_or_default();
        assert_eq!(tile.secrets.len(), secrets.len(), "{what}");
        for (ours, theirs) in tile.secrets.iter().zip(secrets) {
            assert_eq!(ours.name, theirs.name, "{what}");
            assert_eq!(ours.env, theirs.env, "{what}");
            assert_eq!(Some(&ours.example), theirs.example.as_ref(), "{what}");
            assert_eq!(ours.description, theirs.description, "{what}");
            assert_eq!(ours.required, theirs.required, "{what}");
        }
        let env = config.map(|c| c.env.as_slice()).unwrap_or_default();
        assert_eq!(
            tile.env
                .iter()
                .map(|e| (&e.name, Some(&e.value)))
                .collect::<Vec<_>>(),
            env.iter()
                .map(|e| (&e.name, e.value.as_ref()))
                .collect::<Vec<_>>(),
            "{what}"
        );
        if let Some(parameters) = config.and_then(|c| c.parameters.as_ref()) {
            let [block] = tile.config.as_slice() else {
                panic!("{what}: one config block for the parameters")
            };
            assert_eq!(block.name, *name);
            assert_eq!(block.kind, parameters.kind);
            assert_eq!(block.required, parameters.required);
            assert_eq!(
                block.properties.keys().collect::<Vec<_>>(),
                parameters.properties.keys().collect::<Vec<_>>()
            );
        }
        let metadata = tile.metadata.as_ref().expect("metadata");
        assert_eq!(
            metadata.category.as_deref(),
            Some(server.meta.category.as_str())
        );
        assert_eq!(metadata.tags, server.meta.tags, "{what}");
        match tile.kind.as_str() {
            "server" => {
                // A locally built image: the gateway verifies `mcp/` images by digest and
                // signature, and uses a tagged local image as it is.
                let image = tile.image.as_deref().expect("image");
                assert!(!image.starts_with("mcp/"), "{what}: {image}");
                assert_eq!(
                    image, "zebrunner-mcp:latest",
                    "{what}: the tag the README builds"
                );
                let names: Vec<&str> = tile.tools.iter().map(|t| t.name.as_str()).collect();
                let expected: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
                assert_eq!(names, expected, "{what}: tools as in {TOOLS_JSON}");
                assert_eq!(
                    tile.prompts as usize,
                    zebrunner_mcp_server::prompts::list().len(),
                    "{what}: the server's prompts"
                );
            }
            _ => assert!(tile.image.is_none() && tile.tools.is_empty(), "{what}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Compose files: the part of the Compose specification they use

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Compose {
    name: Option<String>,
    services: BTreeMap<String, Service>,
    #[serde(default)]
    secrets: BTreeMap<String, ComposeSecret>,
    #[serde(default)]
    volumes: BTreeMap<String, Option<Yaml>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Service {
    image: Option<String>,
    build: Option<Build>,
    restart: Option<String>,
    stdin_open: Option<bool>,
    read_only: Option<bool>,
    #[serde(default)]
    tmpfs: Vec<String>,
    #[serde(default)]
    cap_drop: Vec<String>,
    #[serde(default)]
    security_opt: Vec<String>,
    #[serde(default)]
    env_file: Vec<String>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    #[serde(default)]
    secrets: Vec<String>,
    #[serde(default)]
    volumes: Vec<String>,
    #[serde(default)]
    expose: Vec<String>,
    #[serde(default)]
    ports: Vec<String>,
    depends_on: Option<Yaml>,
    healthcheck: Option<Healthcheck>,
    stop_grace_period: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Build {
    context: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Healthcheck {
    test: Vec<String>,
    interval: Option<String>,
    timeout: Option<String>,
    retries: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ComposeSecret {
    file: String,
}

fn is_zebrunner_mcp(service: &Service) -> bool {
    service
        .image
        .as_deref()
        .is_some_and(|i| i.starts_with("zebrunner-mcp:"))
}

/// `KEY=value` lines of an env file.
fn env_file(path: &str) -> BTreeMap<String, String> {
    read(path)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or_else(|| panic!("{path}: {l}"));
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect()
}

/// Seconds of a Compose duration as these files write it (`30s`, `1m`, `1m30s`).
fn compose_seconds(duration: &str) -> u64 {
    let mut total = 0;
    let mut digits = String::new();
    for c in duration.chars() {
        match c {
            '0'..='9' => digits.push(c),
            'h' | 'm' | 's' => {
                let n: u64 = digits
                    .parse()
                    .unwrap_or_else(|_| panic!("duration {duration}"));
                total += n * match c {
                    'h' => 3600,
                    'm' => 60,
                    _ => 1,
                };
                digits.clear();
            }
            _ => panic!("duration {duration}: unexpected {c:?}"),
        }
    }
    assert!(digits.is_empty(), "duration {duration}: a unit is missing");
    total
}

/// The server's default `shutdown_grace_secs`, from its configuration schema.
fn default_shutdown_grace_secs() -> u64 {
    let schema: serde_json::Value = serde_json::from_str(&binary(&["config", "schema"])).unwrap();
    schema["properties"]["shutdown_grace_secs"]["default"]
        .as_u64()
        .expect("shutdown_grace_secs has a default")
}

/// Rules every compose file (and override) keeps.
fn check_compose(path: &str, compose: &Compose, secrets_in: &BTreeMap<String, ComposeSecret>) {
    let variables = variables();
    let secret_variables = secret_variables();
    for (name, secret) in &compose.secrets {
        assert!(
            secret.file.starts_with("deploy/compose/secrets/"),
            "{path}: secret {name} must be a file under deploy/compose/secrets/ (git ignores it)"
        );
    }
    for (name, service) in &compose.services {
        let what = format!("{path}: {name}");
        let mut names: Vec<(&String, &String)> = service.environment.iter().collect();
        let files: Vec<BTreeMap<String, String>> =
            service.env_file.iter().map(|f| env_file(f)).collect();
        names.extend(files.iter().flatten());
        for (key, value) in names {
            let upper = key.to_ascii_uppercase();
            // No secret values anywhere: only files holding them.
            assert!(
                !secret_variables.contains(key),
                "{what}: {key} inline; use {key}_FILE"
            );
            if ["PASSWORD", "SECRET", "TOKEN", "KEYS"]
                .iter()
                .any(|w| upper.contains(w))
            {
                assert!(
                    key.ends_with("_FILE") || key == "PGPASSFILE",
                    "{what}: {key} inline"
                );
            }
            assert!(
                url::Url::parse(value).map_or(true, |u| u.password().is_none()),
                "{what}: {key} holds a URL with a password"
            );
            if key.ends_with("_FILE") || key == "PGPASSFILE" {
                let secret = value
                    .strip_prefix("/run/secrets/")
                    .unwrap_or_else(|| panic!("{what}: {key} must name a /run/secrets/ file"));
                assert!(
                    service.secrets.iter().any(|s| s == secret),
                    "{what}: {key}: {secret} not mounted"
                );
                assert!(
                    secrets_in.contains_key(secret),
                    "{what}: {key}: {secret} not defined"
                );
            }
            if is_zebrunner_mcp(service) || service.image.is_none() {
                assert!(
                    variables.contains(key),
                    "{what}: zebrunner-mcp does not read {key}"
                );
            }
        }
        for secret in &service.secrets {
            assert!(
                secrets_in.contains_key(secret),
                "{what}: secret {secret} not defined"
            );
        }
        if is_zebrunner_mcp(service) {
            assert_eq!(
                service.read_only,
                Some(true),
                "{what}: read-only root filesystem"
            );
            assert_eq!(service.tmpfs, ["/tmp"], "{what}");
            assert_eq!(service.cap_drop, ["ALL"], "{what}");
            assert_eq!(
                service.build.as_ref().map(|b| b.context.as_str()),
                Some("."),
                "{what}"
            );
            // Docker kills 10 s after SIGTERM by default: the grace period the server gives
            // calls in flight must fit, with room to close the audit log and exit.
            // `environment` wins over `env_file`, a later env file over an earlier one.
            const GRACE: &str = "ZMCP_SHUTDOWN_GRACE_SECS";
            let grace = service
                .environment
                .get(GRACE)
                .or_else(|| files.iter().rev().find_map(|f| f.get(GRACE)))
                .map(|v| v.parse::<u64>().unwrap())
                .unwrap_or_else(default_shutdown_grace_secs);
            let stop = service
                .stop_grace_period
                .as_deref()
                .map(compose_seconds)
                .unwrap_or(10);
            assert!(
                stop >= grace + 5,
                "{what}: stop_grace_period ({stop} s) must exceed shutdown_grace_secs ({grace} s) \
                 by at least 5 s"
            );
        }
    }
}

#[test]
fn compose_on_stdio() {
    let path = "docker-compose.yml";
    let compose: Compose = yaml(path);
    check_compose(path, &compose, &compose.secrets);
    let [(name, service)] = compose.services.iter().collect::<Vec<_>>()[..] else {
        panic!("{path}: one service")
    };
    assert_eq!(name, "zebrunner-mcp");
    assert!(is_zebrunner_mcp(service));
    assert_eq!(service.stdin_open, Some(true), "{path}: stdio needs stdin");
    assert!(
        service.ports.is_empty() && service.expose.is_empty(),
        "{path}: stdio has no port"
    );
    assert!(
        service.volumes.iter().any(|v| v.ends_with(":/data")),
        "{path}: /data volume"
    );
    let env: BTreeMap<String, String> = env_file(&service.env_file[0]);
    assert!(env.contains_key("ZEBRUNNER_URL"));
    for key in ["ZEBRUNNER_LOGIN_FILE", "ZEBRUNNER_TOKEN_FILE"] {
        assert!(service.environment.contains_key(key), "{path}: {key}");
    }
}

#[test]
fn compose_over_http() {
    let path = "docker-compose.http.yml";
    let compose: Compose = yaml(path);
    check_compose(path, &compose, &compose.secrets);
    let replicas: Vec<(&String, &Service)> = compose
        .services
        .iter()
        .filter(|(_, s)| is_zebrunner_mcp(s))
        .collect();
    assert_eq!(replicas.len(), 2, "{path}: two replicas");
    for (name, service) in &replicas {
        let env = &service.environment;
        assert_eq!(env["ZMCP_TRANSPORT"], "http", "{name}");
        assert_eq!(env["ZMCP_IDENTITY"], "oidc", "{name}");
        assert_eq!(env["ZMCP_LISTEN"], "0.0.0.0:8080", "{name}");
        assert!(
            env["ZMCP_DATABASE_URL"].starts_with("postgres://"),
            "{name}: shared state"
        );
        assert!(
            service.ports.is_empty(),
            "{name}: only the proxy is published"
        );
        for key in [
            "ZMCP_VAULT_KEYS_FILE",
            "ZMCP_OIDC_CLIENT_SECRET_FILE",
            "PGPASSFILE",
        ] {
            assert!(env.contains_key(key), "{name}: {key}");
        }
    }
    assert_eq!(replicas[0].1.environment, replicas[1].1.environment);
    let postgres = &compose.services["postgres"];
    assert!(
        postgres
            .image
            .as_deref()
            .unwrap()
            .starts_with("postgres:16"),
        "PostgreSQL 16"
    );
    assert!(postgres.environment.contains_key("POSTGRES_PASSWORD_FILE"));
    assert!(
        postgres
            .volumes
            .iter()
            .any(|v| v.ends_with(":/var/lib/postgresql/data"))
    );
    assert!(compose.volumes.contains_key("pgdata"));
    let proxy = &compose.services["haproxy"];
    assert!(
        proxy.ports.iter().any(|p| p.starts_with("443:")),
        "TLS on 443"
    );
    assert!(proxy.secrets.iter().any(|s| s == "tls.pem"));
    let config = read("deploy/compose/haproxy.cfg");
    for (name, _) in &replicas {
        assert!(
            config.contains(&format!(" {name}:8080")),
            "haproxy.cfg routes to {name}"
        );
    }
    assert!(config.contains("stick store-response res.hdr(mcp-session-id)"));
    // A stopping replica refuses connections: those requests go to the other one.
    let backend = config
        .split("\nbackend zebrunner_mcp")
        .nth(1)
        .expect("backend zebrunner_mcp");
    let directives: Vec<&str> = backend.lines().map(str::trim).collect();
    assert!(
        directives
            .iter()
            .any(|l| l.starts_with("option redispatch")),
        "haproxy.cfg: option redispatch in backend zebrunner_mcp"
    );
    let retries = directives
        .iter()
        .find_map(|l| l.strip_prefix("retries "))
        .map(|n| n.trim().parse::<u32>().unwrap());
    assert!(
        retries.is_some_and(|n| n >= 1),
        "haproxy.cfg: retries in backend zebrunner_mcp"
    );
    // Retrying only refused connections: a request a replica received (a write) never twice.
    assert!(
        !directives.iter().any(|l| l.starts_with("retry-on")),
        "haproxy.cfg: keep retry-on's default (conn-failure)"
    );
    assert!(config.contains("uri /healthz"));
    let env = env_file("deploy/compose/http.env");
    assert!(env["ZMCP_PUBLIC_URL"].starts_with("https://"));
    assert!(env.contains_key("ZMCP_OIDC_ISSUER") && env.contains_key("ZEBRUNNER_URL"));
}

#[test]
fn compose_service_account_override() {
    let base: Compose = yaml("docker-compose.http.yml");
    let path = "deploy/compose/service-account.yml";
    let mut value: Yaml = serde_yaml_ng::from_str(&read(path)).unwrap();
    value.apply_merge().unwrap();
    let Yaml::Mapping(mut map) = value else {
        panic!("{path}")
    };
    map.retain(|k, _| !k.as_str().is_some_and(|k| k.starts_with("x-")));
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Override {
        services: BTreeMap<String, Service>,
        secrets: BTreeMap<String, ComposeSecret>,
    }
    let over: Override = serde_yaml_ng::from_value(Yaml::Mapping(map)).unwrap();
    let mut secrets: BTreeMap<String, ComposeSecret> = base.secrets;
    secrets.extend(over.secrets);
    let compose = Compose {
        name: None,
        services: over.services,
        secrets: BTreeMap::new(),
        volumes: BTreeMap::new(),
    };
    check_compose(path, &compose, &secrets);
    assert_eq!(
        compose.services.keys().collect::<Vec<_>>(),
        base.services
            .iter()
            .filter(|(_, s)| is_zebrunner_mcp(s))
            .map(|(n, _)| n)
            .collect::<Vec<_>>()
    );
    for service in compose.services.values() {
        assert_eq!(service.environment["ZMCP_CREDENTIALS"], "service-account");
        assert!(service.environment.contains_key("ZEBRUNNER_TOKEN_FILE"));
    }
}

// ---------------------------------------------------------------------------------------------
// Dockerfile: what the image sets is what the binary reads

#[test]
fn the_dockerfile_sets_only_what_the_binary_reads() {
    let variables = variables();
    let dockerfile = read("Dockerfile");
    let mut env = 0;
    for line in dockerfile.lines() {
        if let Some(rest) = line.strip_prefix("ENV ") {
            let (name, value) = rest.split_once('=').unwrap();
            assert!(
                variables.contains(name),
                "Dockerfile: zebrunner-mcp does not read {name}"
            );
            assert_eq!((name, value), ("ZMCP_DATA_DIR", "/data"));
            env += 1;
        }
    }
    assert_eq!(env, 1);
    assert!(dockerfile.contains(r#"CMD ["/usr/local/bin/zebrunner-mcp", "healthcheck"]"#));
    assert!(dockerfile.contains(r#"ENTRYPOINT ["/usr/local/bin/zebrunner-mcp"]"#));
    assert!(dockerfile.contains(r#"CMD ["serve", "--transport", "stdio"]"#));
    // The image's healthcheck and the entries' commands exist.
    binary(&["healthcheck", "--help"]);
}
