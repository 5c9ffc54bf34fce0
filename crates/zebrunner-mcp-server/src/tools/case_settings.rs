//! Test-case values checked against the project's settings before a
//! preview: priorities, automation states and custom fields by the names
//! Zebrunner knows. A name the project lacks is refused at the preview with
//! the valid names, instead of passing it and failing the confirm with a 400.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use zebrunner_client::{CustomField, NamedItem, ZebrunnerClient};

use super::{args::NameOrId, error::ToolError};

/// A test-case system field whose values come from the project's settings.
#[derive(Clone, Copy)]
pub enum Setting {
    Priority,
    AutomationState,
}

impl Setting {
    fn argument(self) -> &'static str {
        match self {
            Setting::Priority => "priority",
            Setting::AutomationState => "automation_state",
        }
    }
}

/// The body reference (`{name}` or `{id}`) for `given`, after checking the
/// project has it; a name is sent as the project spells it.
pub async fn reference(
    client: &ZebrunnerClient,
    project: &str,
    setting: Setting,
    given: &NameOrId,
) -> Result<Value, ToolError> {
    let items = match setting {
        Setting::Priority => client.priorities(project).await?,
        Setting::AutomationState => client.automation_states(project).await?,
    };
    let found = match given {
        NameOrId::Id(id) => items.iter().find(|i| i.id == *id),
        NameOrId::Name(name) => items
            .iter()
            .find(|i| i.name.trim().eq_ignore_ascii_case(name.trim())),
    };
    match (found, given) {
        (Some(item), NameOrId::Id(_)) => Ok(json!({ "id": item.id })),
        (Some(item), NameOrId::Name(_)) => Ok(json!({ "name": item.name })),
        (None, _) => Err(ToolError::invalid(format!(
            "`{}` {:?} is not one of project {project}'s: {}",
            setting.argument(),
            given.as_lookup(),
            listing(&items)
        ))),
    }
}

fn listing(items: &[NamedItem]) -> String {
    if items.is_empty() {
        return "it has none".into();
    }
    items
        .iter()
        .map(|i| format!("{} (id {})", i.name, i.id))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `customField` body for `given` (system name → value), after checking
/// each system name exists and each value fits the field's type; dropdown
/// values are sent as the project spells the option. Null clears a value.
pub async fn custom_fields(
    client: &ZebrunnerClient,
    project: &str,
    given: &BTreeMap<String, Value>,
) -> Result<Value, ToolError> {
    if given.is_empty() {
        return Ok(json!({}));
    }
    let fields = client.custom_fields(project).await?;
    let mut out = serde_json::Map::new();
    for (name, value) in given {
        let field = fields
            .iter()
            .find(|f| f.system_name == *name)
            .ok_or_else(|| unknown_field(project, name, &fields))?;
        out.insert(field.system_name.clone(), checked_value(field, value)?);
    }
    Ok(Value::Object(out))
}

fn unknown_field(project: &str, name: &str, fields: &[CustomField]) -> ToolError {
    let known: Vec<String> = fields
        .iter()
        .map(|f| format!("{} ({})", f.system_name, f.name))
        .collect();
    let close = fields
        .iter()
        .find(|f| f.system_name.eq_ignore_ascii_case(name) || f.name.eq_ignore_ascii_case(name));
    ToolError::invalid(format!(
        "`custom_fields` has {name:?}, which is not a custom field system name of project {project}{}; its custom fields are: {} (get_project_settings shows their types and options)",
        close
            .map(|f| format!(" (did you mean {:?}?)", f.system_name))
            .unwrap_or_default(),
        if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        }
    ))
}

fn checked_value(field: &CustomField, value: &Value) -> Result<Value, ToolError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let kind = field
        .data_type
        .as_deref()
        .unwrap_or("")
        .to_ascii_uppercase();
    let refuse = |wanted: &str| {
        ToolError::invalid(format!(
            "custom field `{}` ({}) takes {wanted}, not {value}",
            field.system_name, field.name
        ))
    };
    match kind.as_str() {
        "DROPDOWN" => {
            let text = value.as_str().ok_or_else(|| refuse("one of its options"))?;
            field
                .options
                .iter()
                .find(|o| o.name.trim().eq_ignore_ascii_case(text.trim()))
                .map(|o| json!(o.name))
                .ok_or_else(|| {
                    let options: Vec<&str> =
                        field.options.iter().map(|o| o.name.as_str()).collect();
                    refuse(&format!("one of: {}", options.join(", ")))
                })
        }
        "CHECKBOX" => value
            .is_boolean()
            .then(|| value.clone())
            .ok_or_else(|| refuse("true or false")),
        "STRING" | "TEXT" => value
            .is_string()
            .then(|| value.clone())
            .ok_or_else(|| refuse("text")),
        // Types whose values this server does not know how to check
        // (dates, numbers, ...) go as given; Zebrunner judges them.
        _ => Ok(value.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(kind: &str, options: &[&str]) -> CustomField {
        CustomField {
            id: 1,
            name: "Component".into(),
            system_name: "component".into(),
            data_type: Some(kind.into()),
            enabled: true,
            options: options
                .iter()
                .enumerate()
                .map(|(i, o)| NamedItem {
                    id: i as i64,
                    name: o.to_string(),
                    is_default: false,
                })
                .collect(),
        }
    }

    #[test]
    fn values_must_fit_the_field_type() {
        let dropdown = field("DROPDOWN", &["auth", "cart"]);
        assert_eq!(
            checked_value(&dropdown, &json!("Cart")).unwrap(),
            json!("cart")
        );
        let m = checked_value(&dropdown, &json!("billing"))
            .unwrap_err()
            .message();
        assert!(m.contains("one of: auth, cart"), "{m}");
        assert!(checked_value(&field("CHECKBOX", &[]), &json!("yes")).is_err());
        assert_eq!(
            checked_value(&field("CHECKBOX", &[]), &json!(true)).unwrap(),
            json!(true)
        );
        assert!(checked_value(&field("STRING", &[]), &json!(3)).is_err());
        assert_eq!(
            checked_value(&field("STRING", &[]), &Value::Null).unwrap(),
            Value::Null
        );
    }
}
