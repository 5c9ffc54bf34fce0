//! `list_projects`: the Zebrunner projects the account can see.

use rmcp::{
    ErrorData as McpError,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    error::ToolError,
    output::{Format, ToolOutput, cell, finish},
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListProjectsArgs {
    /// Only starred projects.
    #[serde(default)]
    pub starred_only: bool,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ProjectsOutput {
    /// Number of projects listed.
    pub total: usize,
    pub projects: Vec<ProjectItem>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ProjectItem {
    pub id: i64,
    /// Project key used by every other tool, e.g. DEMO.
    pub key: String,
    pub name: String,
    pub starred: bool,
    pub publicly_accessible: bool,
}

impl ToolOutput for ProjectsOutput {
    fn markdown(&self) -> String {
        if self.projects.is_empty() {
            return "No projects are visible to this account.".into();
        }
        let mut md = format!(
            "**{} projects**\n\n| Key | Name | Id | Starred |\n|---|---|---|---|\n",
            self.total
        );
        for p in &self.projects {
            md.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                p.key,
                cell(&p.name),
                p.id,
                if p.starred { "★" } else { "" }
            ));
        }
        md
    }
}

#[tool_router(router = list_projects_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "list_projects",
        description = "List the Zebrunner projects this account can use, with the keys every other tool needs.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<ProjectsOutput>(),
        annotations(title = "List projects", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn list_projects(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<ListProjectsArgs>,
    ) -> Result<CallToolResult, McpError> {
        finish(&cx, args.format, self.list_projects_impl(&cx, &args).await)
    }

    pub(crate) async fn list_projects_impl(
        &self,
        cx: &CallContext,
        args: &ListProjectsArgs,
    ) -> Result<ProjectsOutput, ToolError> {
        let projects: Vec<ProjectItem> = cx
            .client
            .list_projects()
            .await?
            .into_iter()
            .filter(|p| {
                !p.deleted && (!args.starred_only || p.starred) && cx.grant().allows_project(&p.key)
            })
            .map(|p| ProjectItem {
                id: p.id,
                key: p.key,
                name: p.name,
                starred: p.starred,
                publicly_accessible: p.publicly_accessible,
            })
            .collect();
        Ok(ProjectsOutput {
            total: projects.len(),
            projects,
        })
    }
}
