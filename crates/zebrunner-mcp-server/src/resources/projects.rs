//! `zebrunner://projects`: the projects the caller may use, exactly as the
//! `list_projects` tool answers (deleted projects and projects outside the
//! caller's grant left out). Also the source of project-key completion.

use crate::{
    context::CallContext,
    handler::ZebrunnerMcp,
    tools::{ListProjectsArgs, ProjectsOutput, error::ToolError},
};

impl ZebrunnerMcp {
    pub(crate) async fn projects_resource(
        &self,
        cx: &CallContext,
    ) -> Result<ProjectsOutput, ToolError> {
        self.list_projects_impl(cx, &ListProjectsArgs::default())
            .await
    }

    /// Keys of the projects the caller may use, sorted.
    pub(crate) async fn allowed_project_keys(
        &self,
        cx: &CallContext,
    ) -> Result<Vec<String>, ToolError> {
        let mut keys: Vec<String> = self
            .projects_resource(cx)
            .await?
            .projects
            .into_iter()
            .map(|p| p.key)
            .collect();
        keys.sort();
        Ok(keys)
    }
}

/// Completion values for a typed prefix: case-insensitive prefix match.
pub(crate) fn complete_keys(keys: &[String], prefix: &str) -> Vec<String> {
    let prefix = prefix.trim().to_ascii_lowercase();
    keys.iter()
        .filter(|k| k.to_ascii_lowercase().starts_with(&prefix))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_is_a_case_insensitive_prefix_match() {
        let keys: Vec<String> = ["API", "DEMO", "DESK", "MOBILE"].map(String::from).to_vec();
        assert_eq!(complete_keys(&keys, "d"), ["DEMO", "DESK"]);
        assert_eq!(complete_keys(&keys, "De"), ["DEMO", "DESK"]);
        assert_eq!(complete_keys(&keys, "DEM"), ["DEMO"]);
        assert_eq!(complete_keys(&keys, ""), keys);
        assert!(complete_keys(&keys, "X").is_empty());
        assert!(complete_keys(&keys, "EMO").is_empty());
    }
}
