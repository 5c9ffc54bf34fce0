//! `list_toolsets`: with dynamic toolsets, the toolsets this session can enable, which it has,
//! and the tools each would add.

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

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListToolsetsArgs {
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ToolsetsOutput {
    pub toolsets: Vec<ToolsetItem>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ToolsetItem {
    pub name: String,
    /// Its tools are in this session's tools/list.
    pub enabled: bool,
    /// The tools it offers you (write tools also need `writes`).
    pub tools: Vec<String>,
}

impl ToolOutput for ToolsetsOutput {
    fn markdown(&self) -> String {
        let mut md = String::from("| Toolset | Enabled | Tools |\n|---|---|---|\n");
        for t in &self.toolsets {
            let enabled = if t.enabled { "yes" } else { "no" };
            md.push_str(&format!(
                "| {} | {enabled} | {} |\n",
                t.name,
                t.tools.join(", ")
            ));
        }
        md.push_str("\nEnable one with `enable_toolset`.\n");
        md
    }
}

#[tool_router(router = list_toolsets_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "list_toolsets",
        description = "List the toolsets this session can enable, which are enabled, and their tools.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<ToolsetsOutput>(),
        annotations(title = "List toolsets", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn list_toolsets(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<ListToolsetsArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        finish(&cx, args.format, self.list_toolsets_impl(&cx, &context))
    }

    fn list_toolsets_impl(
        &self,
        cx: &CallContext,
        context: &RequestContext<RoleServer>,
    ) -> Result<ToolsetsOutput, ToolError> {
        let (_, current) = self.scope(context);
        let offered = self.offered_toolsets();
        let toolsets = offered
            .iter()
            .map(|toolset| ToolsetItem {
                name: toolset.name().to_string(),
                enabled: current.contains(toolset),
                tools: self.tools_of(&cx.caller, toolset),
            })
            .collect();
        Ok(ToolsetsOutput { toolsets })
    }

    /// The tools `toolset` offers `caller` on its own (with `writes`: the write tools of the
    /// areas offered).
    pub(crate) fn tools_of(&self, caller: &crate::Caller, toolset: Toolset) -> Vec<String> {
        let alone = crate::toolsets::Toolsets::none().with(toolset);
        let with = if toolset == Toolset::Writes {
            self.offered_toolsets()
        } else {
            alone
        };
        self.visible_tools(caller, with)
            .into_iter()
            .map(|t| t.name.to_string())
            .filter(|name| {
                !crate::dynamic_toolsets::TOOLS.contains(&name.as_str())
                    && crate::toolsets::toolsets_of(name)
                        .is_some_and(|sets| sets.contains(&toolset))
            })
            .collect()
    }
}
