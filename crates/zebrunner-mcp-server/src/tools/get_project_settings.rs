//! `get_project_settings`: the vocabularies of a project that other tools
//! and filters refer to.

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
    scope,
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    AutomationStates,
    Priorities,
    ResultStatuses,
    ConfigurationGroups,
    Fields,
}

const ALL_SECTIONS: [Section; 5] = [
    Section::AutomationStates,
    Section::Priorities,
    Section::ResultStatuses,
    Section::ConfigurationGroups,
    Section::Fields,
];

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetProjectSettingsArgs {
    pub project_key: String,
    /// Sections to return (default all).
    #[serde(default)]
    pub sections: Vec<Section>,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct ProjectSettingsOutput {
    pub project_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automation_states: Option<Vec<NamedSetting>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priorities: Option<Vec<NamedSetting>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_statuses: Option<Vec<ResultStatusItem>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration_groups: Option<Vec<ConfigurationGroupItem>>,
    /// Test case fields (system and custom) as laid out in the project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldItem>>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct NamedSetting {
    pub id: i64,
    pub name: String,
    pub is_default: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ResultStatusItem {
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    pub is_completed: bool,
    pub is_success: bool,
    pub is_failure: bool,
    pub color_hex: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ConfigurationGroupItem {
    pub id: i64,
    pub name: String,
    pub options: Vec<NamedOption>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct NamedOption {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FieldItem {
    pub id: i64,
    pub name: String,
    /// SYSTEM or CUSTOM.
    pub kind: Option<String>,
    pub data_type: Option<String>,
    pub enabled: bool,
    /// Custom fields: the key in `custom_fields` and `customField.<key>`.
    pub system_name: Option<String>,
    /// Dropdown options.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Tab of the test case form holding the field.
    pub tab: Option<String>,
    pub description: Option<String>,
}

impl ToolOutput for ProjectSettingsOutput {
    fn markdown(&self) -> String {
        let mut md = format!("## Settings of {}\n", self.project_key);
        let named = |md: &mut String, title: &str, items: &[NamedSetting]| {
            md.push_str(&format!("\n**{title}:** "));
            let list: Vec<String> = items
                .iter()
                .map(|i| {
                    format!(
                        "{} (id {}{})",
                        i.name,
                        i.id,
                        if i.is_default { ", default" } else { "" }
                    )
                })
                .collect();
            md.push_str(&list.join(", "));
            md.push('\n');
        };
        if let Some(items) = &self.automation_states {
            named(&mut md, "Automation states", items);
        }
        if let Some(items) = &self.priorities {
            named(&mut md, "Priorities", items);
        }
        if let Some(items) = &self.result_statuses {
            md.push_str("\n**Result statuses:** ");
            let list: Vec<String> = items
                .iter()
                .filter(|s| s.enabled)
                .map(|s| {
                    let kind = if s.is_success {
                        "success"
                    } else if s.is_failure {
                        "failure"
                    } else if s.is_completed {
                        "completed"
                    } else {
                        "open"
                    };
                    format!("{} (id {}, {kind})", s.name, s.id)
                })
                .collect();
            md.push_str(&list.join(", "));
            md.push('\n');
        }
        if let Some(groups) = &self.configuration_groups {
            md.push_str("\n**Configuration groups:**\n");
            for g in groups {
                let options: Vec<String> = g
                    .options
                    .iter()
                    .map(|o| format!("{} ({})", o.name, o.id))
                    .collect();
                md.push_str(&format!(
                    "- {} (id {}): {}\n",
                    g.name,
                    g.id,
                    options.join(", ")
                ));
            }
        }
        if let Some(fields) = &self.fields {
            md.push_str("\n| Field | System name | Kind | Type | Options | Tab | Enabled |\n|---|---|---|---|---|---|---|\n");
            for f in fields {
                md.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} | {} |\n",
                    cell(&f.name),
                    cell(f.system_name.as_deref().unwrap_or("")),
                    f.kind.as_deref().unwrap_or(""),
                    f.data_type.as_deref().unwrap_or(""),
                    cell(&f.options.join(", ")),
                    cell(f.tab.as_deref().unwrap_or("")),
                    if f.enabled { "yes" } else { "no" }
                ));
            }
            if fields.iter().any(|f| f.system_name.is_some()) {
                md.push_str("\nCustom fields go by system name: `custom_fields` on writes, `customField.<system name>` in search_test_cases' `field_path`.\n");
            }
        }
        md
    }
}

#[tool_router(router = get_project_settings_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "get_project_settings",
        description = "Get a project's automation states, priorities, result statuses, configuration groups with options, and test case fields (custom: system name, type, options): the names other tools take.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<ProjectSettingsOutput>(),
        annotations(title = "Get project settings", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn get_project_settings(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<GetProjectSettingsArgs>,
    ) -> Result<CallToolResult, McpError> {
        finish(
            &cx,
            args.format,
            self.get_project_settings_impl(&cx, &args).await,
        )
    }

    pub(crate) async fn get_project_settings_impl(
        &self,
        cx: &CallContext,
        a: &GetProjectSettingsArgs,
    ) -> Result<ProjectSettingsOutput, ToolError> {
        let client = &cx.client;
        let project = scope::project(cx, &a.project_key).await?;
        let wanted: &[Section] = if a.sections.is_empty() {
            &ALL_SECTIONS
        } else {
            &a.sections
        };
        let mut out = ProjectSettingsOutput {
            project_key: project.clone(),
            ..Default::default()
        };
        let named = |items: Vec<zebrunner_client::NamedItem>| {
            items
                .into_iter()
                .map(|i| NamedSetting {
                    id: i.id,
                    name: i.name,
                    is_default: i.is_default,
                })
                .collect::<Vec<_>>()
        };
        for section in wanted {
            match section {
                Section::AutomationStates => {
                    out.automation_states = Some(named(client.automation_states(&project).await?));
                }
                Section::Priorities => {
                    out.priorities = Some(named(client.priorities(&project).await?));
                }
                Section::ResultStatuses => {
                    out.result_statuses = Some(
                        client
                            .result_statuses(&project)
                            .await?
                            .into_iter()
                            .map(|s| ResultStatusItem {
                                id: s.id,
                                name: s.name,
                                enabled: s.enabled,
                                is_completed: s.is_completed,
                                is_success: s.is_success,
                                is_failure: s.is_failure,
                                color_hex: s.color_hex,
                            })
                            .collect(),
                    );
                }
                Section::ConfigurationGroups => {
                    out.configuration_groups = Some(
                        client
                            .configuration_groups(&project)
                            .await?
                            .into_iter()
                            .map(|g| ConfigurationGroupItem {
                                id: g.id,
                                name: g.name,
                                options: g
                                    .options
                                    .into_iter()
                                    .map(|o| NamedOption {
                                        id: o.id,
                                        name: o.name,
                                    })
                                    .collect(),
                            })
                            .collect(),
                    );
                }
                Section::Fields => {
                    let layout = client.fields_layout(&project).await?;
                    // The layout names custom fields; the custom-field
                    // settings add their system names and dropdown options.
                    let custom = client.custom_fields(&project).await?;
                    let custom_of = |f: &zebrunner_client::LayoutField| {
                        (f.type_.eq_ignore_ascii_case("CUSTOM"))
                            .then(|| custom.iter().find(|c| c.id == f.id || c.name == f.name))
                            .flatten()
                    };
                    let tab_name = |id: Option<i64>| {
                        id.and_then(|id| layout.tabs.iter().find(|t| t.id == id))
                            .map(|t| t.name.clone())
                    };
                    let mut fields: Vec<FieldItem> = layout
                        .fields
                        .iter()
                        .map(|f| {
                            let custom = custom_of(f);
                            FieldItem {
                                id: f.id,
                                name: f.name.clone(),
                                kind: Some(f.type_.clone()).filter(|k| !k.is_empty()),
                                data_type: f.data_type.clone(),
                                enabled: f.enabled,
                                system_name: custom
                                    .map(|c| c.system_name.clone())
                                    .or_else(|| f.system_name.clone())
                                    .filter(|n| !n.is_empty()),
                                options: custom
                                    .map(|c| c.options.iter().map(|o| o.name.clone()).collect())
                                    .unwrap_or_default(),
                                tab: tab_name(f.tab_id),
                                description: f.description.clone(),
                            }
                        })
                        .collect();
                    fields.sort_by(|x, y| x.tab.cmp(&y.tab).then(x.id.cmp(&y.id)));
                    out.fields = Some(fields);
                }
            }
        }
        Ok(out)
    }
}
