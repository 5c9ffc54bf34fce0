//! `zebrunner://projects/{project_key}/milestones`: every milestone of the
//! project, open and completed, across all pages of the reporting API.

use futures::TryStreamExt;
use serde::Serialize;

use crate::{context::CallContext, handler::ZebrunnerMcp, tools::error::ToolError};

#[derive(Debug, Serialize)]
pub struct MilestonesResource {
    pub project_key: String,
    pub total: usize,
    pub milestones: Vec<MilestoneItem>,
}

#[derive(Debug, Serialize)]
pub struct MilestoneItem {
    pub id: i64,
    pub name: String,
    pub completed: bool,
    pub description: Option<String>,
    pub start_date: Option<String>,
    pub due_date: Option<String>,
}

impl ZebrunnerMcp {
    pub(crate) async fn milestones_resource(
        &self,
        cx: &CallContext,
        key: &str,
    ) -> Result<MilestonesResource, ToolError> {
        let project = cx.allowed_project(key)?;
        let client = &cx.client;
        let project_id = client.project_id(&project).await?;
        let milestones: Vec<MilestoneItem> = client
            .milestones(project_id, None)
            .try_filter(|m| std::future::ready(m.project_id == project_id))
            .map_ok(|m| MilestoneItem {
                id: m.id,
                name: m.name,
                completed: m.completed,
                description: m.description,
                start_date: m.start_date,
                due_date: m.due_date,
            })
            .try_collect()
            .await?;
        Ok(MilestonesResource {
            project_key: project,
            total: milestones.len(),
            milestones,
        })
    }
}
