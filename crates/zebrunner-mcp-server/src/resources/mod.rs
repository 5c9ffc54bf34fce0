//! MCP resources: `zebrunner://projects` and, per project, resource
//! templates for the suite tree and the project's vocabularies, with
//! completion of project keys.
//!
//! Every read is decided like a tool call: the caller's grant is checked
//! first (a project outside it is refused the same way whether or not it
//! exists, before Zebrunner is asked), the contents come from the same code
//! as the tools (`list_projects`, `list_test_suites`, `get_project_settings`),
//! and an audit record names the template as `resource:<uri template>` with
//! the Zebrunner requests the read made.
//!
//! Contents are compact `application/json`. Results are per caller (they
//! depend on the grant), so on 2026-07-28 they carry `cacheScope: private`.

mod milestones;
mod projects;
mod settings;
mod suites;
pub mod uri;

use std::time::Instant;

use rmcp::{
    ErrorData as McpError,
    model::{
        CacheScope, CompleteRequestParams, CompleteResult, CompletionInfo, ReadResourceResult,
        Reference, Resource, ResourceContents, ResourceTemplate,
    },
};
use serde_json::{Map, Value, json};
use zebrunner_client::ErrorKind;
use zebrunner_storage::audit::Outcome;

use crate::{
    audit::{self, CalledTool},
    caller::Caller,
    context::CallContext,
    handler::ZebrunnerMcp,
    observe::Durability,
    tools::error::ToolError,
};

pub use uri::{Family, PROJECTS_URI, ResourceUri};

const JSON: &str = "application/json";

/// `resources/list` names each project's resources concretely only when the
/// caller may use at most this many projects. Templates and completion cover
/// every project anyway; concrete entries help clients that show only
/// `resources/list` (a picker), and a handful of projects keeps the list
/// short (7 entries per project). Beyond that the list would grow with the
/// workspace, so it stays at `zebrunner://projects` plus the templates.
pub const CONCRETE_LIST_MAX_PROJECTS: usize = 5;

/// The resource templates: one per family, the same for every caller.
pub fn templates() -> Vec<ResourceTemplate> {
    Family::ALL
        .into_iter()
        .map(|f| {
            ResourceTemplate::new(f.template(), format!("project-{}", f.segment()))
                .with_title(f.title())
                .with_description(f.description())
                .with_mime_type(JSON)
        })
        .collect()
}

fn projects_entry() -> Resource {
    Resource::new(PROJECTS_URI, "projects")
        .with_title("Projects")
        .with_description(
            "The Zebrunner projects you may use, with the keys the per-project resources and tools take.",
        )
        .with_mime_type(JSON)
}

fn concrete_entry(key: &str, family: Family) -> Resource {
    Resource::new(family.uri(key), format!("{key}/{}", family.segment()))
        .with_title(format!("{key}: {}", family.title()))
        .with_description(family.description())
        .with_mime_type(JSON)
}

/// The MCP error for a failed read, carrying the same advice as a tool's
/// `isError` result.
pub fn mcp_error(uri: &str, error: &ToolError, message: String) -> McpError {
    let data = Some(json!({ "uri": uri, "class": error.class() }));
    // Not an exhaustive match: a failure kind added later is an internal error.
    if let ToolError::Zebrunner(e) = error {
        return match e.kind() {
            ErrorKind::NotFound => McpError::resource_not_found(message, data),
            ErrorKind::BadRequest | ErrorKind::InvalidFilter => {
                McpError::invalid_params(message, data)
            }
            _ => McpError::internal_error(message, data),
        };
    }
    if matches!(error, ToolError::Denied(_) | ToolError::InvalidArgument(_)) {
        return McpError::invalid_params(message, data);
    }
    McpError::internal_error(message, data)
}

fn unknown_uri(uri: &str) -> McpError {
    let families: Vec<&str> = Family::ALL.iter().map(|f| f.segment()).collect();
    McpError::resource_not_found(
        format!(
            "Unknown resource {uri:?}. Resources are {PROJECTS_URI} and {PROJECTS_URI}/{{project_key}}/{{family}} \
             with a project key such as DEMO and family one of: {}. Call resources/templates/list to see them.",
            families.join(", ")
        ),
        Some(json!({ "uri": uri })),
    )
}

impl ZebrunnerMcp {
    /// The JSON contents of a parsed resource, for this caller.
    async fn resource_value(
        &self,
        cx: &CallContext,
        uri: &ResourceUri,
    ) -> Result<Value, ToolError> {
        match uri {
            ResourceUri::Projects => to_value(&self.projects_resource(cx).await?),
            ResourceUri::Project { key, family } => match family {
                Family::Suites => self.suites_resource(cx, key).await,
                Family::Milestones => to_value(&self.milestones_resource(cx, key).await?),
                other => {
                    let section = settings::section(*other).ok_or_else(|| {
                        ToolError::invalid(format!("no settings section for {}", other.segment()))
                    })?;
                    to_value(&self.settings_resource(cx, key, section).await?)
                }
            },
        }
    }

    /// `resources/read`: policy, contents, audit record (written before the
    /// answer leaves, like a tool call).
    pub(crate) async fn read_resource_as(
        &self,
        caller: &Caller,
        raw_uri: &str,
        cacheable: bool,
    ) -> Result<ReadResourceResult, McpError> {
        let started = Instant::now();
        let Some(parsed) = ResourceUri::parse(raw_uri) else {
            // The URI itself is the caller's text: recorded only as a name.
            let record = audit::tool_call(
                caller,
                &audit::correlation_id(),
                CalledTool::Unknown(raw_uri),
                None,
                Vec::new(),
                Outcome::Error,
                Some("resource_not_found"),
                started.elapsed(),
            );
            let _ = self
                .observer()
                .record(&record, Durability::BestEffort)
                .await;
            return Err(unknown_uri(raw_uri));
        };
        let arguments: Map<String, Value> = parsed
            .project_key()
            .map(|k| ("project_key".to_string(), json!(k)))
            .into_iter()
            .collect();
        let name = format!("resource:{}", parsed.template());
        let (outcome, cx) = match self.context_for(caller).await {
            Ok(cx) => {
                let outcome = cx
                    .requests
                    .scope(self.resource_value(&cx, &parsed))
                    .await
                    .and_then(|value| {
                        serde_json::to_string(&value)
                            .map_err(|e| ToolError::Internal(format!("could not serialise: {e}")))
                    });
                (outcome, Some(cx))
            }
            Err(error) => (Err(error), None),
        };
        let (audit_outcome, class) = match &outcome {
            Ok(_) => (Outcome::Ok, None),
            Err(ToolError::Denied(_)) => (Outcome::Denied, Some("denied")),
            Err(e) => (Outcome::Error, Some(e.class())),
        };
        let correlation_id = cx
            .as_ref()
            .map_or_else(audit::correlation_id, |cx| cx.correlation_id.clone());
        let mut record = audit::tool_call(
            caller,
            &correlation_id,
            CalledTool::Resource(&name),
            Some(&arguments),
            cx.as_ref()
                .map(|cx| cx.requests.entries())
                .unwrap_or_default(),
            audit_outcome,
            class,
            started.elapsed(),
        );
        record.zebrunner_login = cx.as_ref().and_then(|cx| cx.zebrunner_login.clone());
        if let Some(cx) = &cx {
            self.settle(cx, class).await;
        }
        let _ = self
            .observer()
            .record(&record, Durability::BestEffort)
            .await;
        let text = outcome.map_err(|e| {
            let message = cx
                .as_ref()
                .map_or_else(|| e.message(), |cx| cx.render_error(&e));
            mcp_error(raw_uri, &e, message)
        })?;
        let mut result = ReadResourceResult::new(vec![
            ResourceContents::text(text, raw_uri).with_mime_type(JSON),
        ]);
        if cacheable {
            // The contents depend on who asks (their grant).
            result = result.with_ttl_ms(0).with_cache_scope(CacheScope::Private);
        }
        Ok(result)
    }

    /// `resources/list`: `zebrunner://projects`, plus each project's
    /// resources when the caller has few (see [`CONCRETE_LIST_MAX_PROJECTS`]).
    /// If Zebrunner cannot be asked, the list still names the projects
    /// resource (whose read then reports the problem).
    pub(crate) async fn resources_for(&self, caller: &Caller) -> Vec<Resource> {
        let mut resources = vec![projects_entry()];
        let keys = match self.context_for(caller).await {
            Ok(cx) => self.allowed_project_keys(&cx).await,
            Err(error) => Err(error),
        };
        match keys {
            Ok(keys) if keys.len() <= CONCRETE_LIST_MAX_PROJECTS => {
                for key in &keys {
                    resources.extend(Family::ALL.into_iter().map(|f| concrete_entry(key, f)));
                }
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(error = %error.message(), "resources/list: projects unavailable");
            }
        }
        resources
    }

    /// `completion/complete` for `project_key` of the templates: the
    /// caller's projects, prefix-matched case-insensitively.
    pub(crate) async fn complete_as(
        &self,
        caller: &Caller,
        request: &CompleteRequestParams,
    ) -> Result<CompleteResult, McpError> {
        let template = match &request.r#ref {
            Reference::Resource(r) => r.uri.as_str(),
            _ => return Err(McpError::invalid_params("this server has no prompts", None)),
        };
        if !uri::is_template(template) {
            return Err(McpError::invalid_params(
                format!("{template:?} is not one of this server's resource templates"),
                None,
            ));
        }
        if request.argument.name != "project_key" {
            return Err(McpError::invalid_params(
                format!(
                    "the templates have no argument {:?}; only project_key",
                    request.argument.name
                ),
                None,
            ));
        }
        let cx = self
            .context_for(caller)
            .await
            .map_err(|e| mcp_error(template, &e, e.message()))?;
        let keys = self
            .allowed_project_keys(&cx)
            .await
            .map_err(|e| mcp_error(template, &e, cx.render_error(&e)))?;
        let matches = projects::complete_keys(&keys, &request.argument.value);
        let total = matches.len();
        let values: Vec<String> = matches
            .into_iter()
            .take(CompletionInfo::MAX_VALUES)
            .collect();
        let has_more = total > values.len();
        let info = CompletionInfo::with_pagination(values, Some(total as u32), has_more)
            .map_err(|e| McpError::internal_error(e, None))?;
        Ok(CompleteResult::new(info))
    }
}

fn to_value<T: serde::Serialize>(value: &T) -> Result<Value, ToolError> {
    serde_json::to_value(value).map_err(|e| ToolError::invalid(format!("could not serialise: {e}")))
}
