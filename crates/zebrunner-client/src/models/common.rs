//! Small shapes shared by several resources: named items, user references,
//! environments.

use serde::{Deserialize, Serialize};

use crate::lenient;

/// An `{id, name}` pair such as a priority, an automation state or a
/// configuration option; `isDefault` where Zebrunner sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NamedItem {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    pub name: String,
    #[serde(deserialize_with = "lenient::bool")]
    pub is_default: bool,
}

/// A reference to a Zebrunner user (`createdBy`, `assignee`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserRef {
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub id: Option<i64>,
    pub username: Option<String>,
    pub email: Option<String>,
}

/// A TCM environment (`{id, key, name}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Environment {
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub id: Option<i64>,
    pub key: Option<String>,
    pub name: Option<String>,
}
