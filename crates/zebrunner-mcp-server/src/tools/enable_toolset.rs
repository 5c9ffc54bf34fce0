//! `enable_toolset`: with dynamic toolsets, add one toolset's tools to this session and tell
//! the client its tool list changed.

use rmcp::{
    ErrorData as McpError, RoleServer,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    service::RequestContext,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    error::ToolError,
    output::{Format, ToolOutput, finish},
};
use crate::{context::CallContext, handler::ZebrunnerMcp, toolsets::Toolset};

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnableToolsetArgs {
    /// A toolset from list_toolsets.
    pub toolset: Toolset,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct EnabledOutput {
    pub toolset: String,
    /// Tools this session gained.
    pub added: Vec<String>,
    /// The session's toolsets now.
    pub enabled: Vec<String>,
}

impl ToolOutput for EnabledOutput {
    fn markdown(&self) -> String {
        let added = if self.added.is_empty() {
            "no new tools".to_string()
        } else {
            self.added.join(", ")
        };
        format!(
            "Enabled `{}`: {added}. This session's toolsets: {}.\n",
            self.toolset,
            self.enabled.join(", ")
        )
    }
}

#[tool_router(router = enable_toolset_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "enable_toolset",
        description = "Add a toolset's tools to this session (see list_toolsets).",
        output_schema = rmcp::handler::server::tool::schema_for_output::<EnabledOutput>(),
        annotations(title = "Enable a toolset", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn enable_toolset(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<EnableToolsetArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let outcome = self.enable_toolset_impl(&cx, &args, &context);
        if outcome.as_ref().is_ok_and(|out| !out.added.is_empty())
            && let Err(error) = context.peer.notify_tool_list_changed().await
        {
            tracing::warn!(%error, "could not send notifications/tools/list_changed");
        }
        finish(&cx, args.format, outcome)
    }

    fn enable_toolset_impl(
        &self,
        cx: &CallContext,
        args: &EnableToolsetArgs,
        context: &RequestContext<RoleServer>,
    ) -> Result<EnabledOutput, ToolError> {
        let name = args.toolset.name();
        let Some(session) = self.session_toolsets() else {
            return Err(ToolError::invalid(
                "this server offers every toolset from the start",
            ));
        };
        let parts = context.extensions.get::<http::request::Parts>();
        if parts.is_some_and(|p| !p.headers.contains_key("mcp-session-id")) {
            return Err(ToolError::invalid(
                "this request has no MCP session (the 2026-07-28 protocol is stateless), so \
                 nothing can be enabled for later requests; send the toolsets you want in the \
                 X-Zebrunner-Toolsets header on each request instead",
            ));
        }
        let offered = self.offered_toolsets();
        if !offered.contains(args.toolset) {
            return Err(ToolError::Denied(format!(
                "this server does not offer the toolset `{name}`; it offers: {offered}"
            )));
        }
        let (_, before) = self.scope(context);
        let visible_before = self.visible_tools(&cx.caller, before);
        session.enable(args.toolset);
        let (_, after) = self.scope(context);
        let added = self
            .visible_tools(&cx.caller, after)
            .into_iter()
            .filter(|t| !visible_before.iter().any(|b| b.name == t.name))
            .map(|t| t.name.to_string())
            .collect();
        Ok(EnabledOutput {
            toolset: name.to_string(),
            added,
            enabled: after.iter().map(|t| t.name().to_string()).collect(),
        })
    }
}
