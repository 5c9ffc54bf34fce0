//! The project vocabularies: automation states, priorities, result
//! statuses, configuration groups and the fields layout. Each is the
//! `get_project_settings` tool's answer for that one section.

use crate::{
    context::CallContext,
    handler::ZebrunnerMcp,
    tools::{GetProjectSettingsArgs, ProjectSettingsOutput, error::ToolError},
};

use super::uri::Family;

/// The `get_project_settings` section serving `family`, as the tool's
/// `sections` argument spells it; `None` for families it does not serve.
pub(crate) fn section(family: Family) -> Option<&'static str> {
    match family {
        Family::AutomationStates => Some("automation_states"),
        Family::Priorities => Some("priorities"),
        Family::ResultStatuses => Some("result_statuses"),
        Family::ConfigurationGroups => Some("configuration_groups"),
        Family::Fields => Some("fields"),
        Family::Suites | Family::Milestones => None,
    }
}

/// The tool's arguments asking for one section, in its input contract.
fn args_for(key: &str, section: &str) -> Result<GetProjectSettingsArgs, ToolError> {
    serde_json::from_value(serde_json::json!({
        "project_key": key,
        "sections": [section],
    }))
    .map_err(|e| ToolError::invalid(format!("section {section}: {e}")))
}

impl ZebrunnerMcp {
    /// `{"project_key": .., "<section>": [..]}`; only the asked section is set.
    pub(crate) async fn settings_resource(
        &self,
        cx: &CallContext,
        key: &str,
        section: &str,
    ) -> Result<ProjectSettingsOutput, ToolError> {
        let args = args_for(key, section)?;
        self.get_project_settings_impl(cx, &args).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_settings_family_is_a_section_of_the_tool() {
        for family in Family::ALL {
            if let Some(section) = section(family) {
                let args = args_for("DEMO", section).expect(section);
                assert_eq!(args.sections.len(), 1, "{section}");
                // The section name is the key of its part of the tool's output.
                let out = serde_json::to_value(args.sections[0]).unwrap();
                assert_eq!(out, section);
            }
        }
        assert!(section(Family::Suites).is_none());
        assert!(section(Family::Milestones).is_none());
    }
}
