//! Projects (`/api/projects/v1/projects`).

use serde::{Deserialize, Serialize};

use crate::lenient;

/// A Zebrunner project. Deleted projects are still listed; callers decide
/// whether to hide them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Project {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    pub key: String,
    pub name: String,
    #[serde(deserialize_with = "lenient::bool")]
    pub starred: bool,
    #[serde(deserialize_with = "lenient::bool")]
    pub publicly_accessible: bool,
    #[serde(deserialize_with = "lenient::bool")]
    pub deleted: bool,
    pub created_at: Option<String>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub lead_id: Option<i64>,
    pub logo_url: Option<String>,
}
