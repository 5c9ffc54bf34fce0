//! Project settings: result statuses and configuration groups (Public API),
//! and the test-case fields layout (TCM internal).

use serde::{Deserialize, Serialize};

use crate::lenient;
use crate::models::common::NamedItem;

/// A test-run result status (`Passed`, `Failed`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResultStatus {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    pub name: String,
    /// Comma-separated alternative names used when importing results.
    pub aliases: Option<String>,
    pub color_hex: Option<String>,
    #[serde(deserialize_with = "lenient::bool")]
    pub enabled: bool,
    #[serde(deserialize_with = "lenient::bool")]
    pub is_completed: bool,
    #[serde(deserialize_with = "lenient::bool")]
    pub is_success: bool,
    #[serde(deserialize_with = "lenient::bool")]
    pub is_failure: bool,
    #[serde(deserialize_with = "lenient::bool")]
    pub is_assignable: bool,
}

/// A configuration group (e.g. `Browser`) and its options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConfigurationGroup {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    pub name: String,
    pub options: Vec<NamedItem>,
}

/// A custom test-case field (P22): the `systemName` a case's `customField`
/// map and `customField.<systemName>` filters use, its type and, for
/// dropdowns, its options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CustomField {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    pub name: String,
    pub system_name: String,
    /// `STRING`, `TEXT`, `DROPDOWN`, `CHECKBOX`, ...
    pub data_type: Option<String>,
    #[serde(deserialize_with = "lenient::bool")]
    pub enabled: bool,
    /// Dropdown options (empty for other types).
    pub options: Vec<NamedItem>,
}

/// Tabs and fields of the test-case form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FieldsLayout {
    pub tabs: Vec<FieldTab>,
    pub fields: Vec<LayoutField>,
}

/// A tab of the test-case form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FieldTab {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    pub name: String,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub relative_position: Option<i64>,
    pub display_mode: Option<String>,
}

/// A field of the test-case form: `SYSTEM` or `CUSTOM`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LayoutField {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub tab_id: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub relative_position: Option<i64>,
    pub name: String,
    #[serde(deserialize_with = "lenient::bool")]
    pub enabled: bool,
    pub data_type: Option<String>,
    pub description: Option<String>,
    /// Key used in a test case's `customField` map (custom fields only).
    pub system_name: Option<String>,
}
