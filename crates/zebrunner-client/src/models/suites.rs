//! Test suites (Public API `/test-suites`).

use serde::{Deserialize, Serialize};

use crate::lenient;
use crate::models::common::UserRef;

/// A TCM test suite. `parent_suite_id` is `None` for root suites.
///
/// Zebrunner sometimes names the title `name`; deserialisation accepts
/// either (and both) through a private wire struct.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "TestSuiteWire")]
pub struct TestSuite {
    pub id: i64,
    pub title: String,
    pub description: Option<String>,
    pub parent_suite_id: Option<i64>,
    pub relative_position: Option<i64>,
    pub project_id: Option<i64>,
    /// The project's key, where Zebrunner sends it.
    pub project_key: Option<String>,
    pub deleted: bool,
    pub created_at: Option<String>,
    pub created_by: Option<UserRef>,
    pub last_modified_at: Option<String>,
    pub last_modified_by: Option<UserRef>,
}

/// The wire shape: `title` and `name` as separate optional fields, because a
/// serde `alias` would fail on bodies that carry both.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct TestSuiteWire {
    #[serde(deserialize_with = "lenient::i64")]
    id: i64,
    title: Option<String>,
    name: Option<String>,
    description: Option<String>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    parent_suite_id: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    relative_position: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    project_id: Option<i64>,
    project_key: Option<String>,
    #[serde(deserialize_with = "lenient::bool")]
    deleted: bool,
    created_at: Option<String>,
    created_by: Option<UserRef>,
    last_modified_at: Option<String>,
    last_modified_by: Option<UserRef>,
}

impl From<TestSuiteWire> for TestSuite {
    fn from(w: TestSuiteWire) -> Self {
        Self {
            id: w.id,
            title: w.title.or(w.name).unwrap_or_default(),
            description: w.description,
            parent_suite_id: w.parent_suite_id,
            relative_position: w.relative_position,
            project_id: w.project_id,
            project_key: w.project_key,
            deleted: w.deleted,
            created_at: w.created_at,
            created_by: w.created_by,
            last_modified_at: w.last_modified_at,
            last_modified_by: w.last_modified_by,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn title_or_name_and_string_ids() -> Result<(), serde_json::Error> {
        let s: TestSuite = serde_json::from_value(
            json!({"id": "7", "name": "Login", "parentSuiteId": null, "extra": 1}),
        )?;
        assert_eq!(
            (s.id, s.title.as_str(), s.parent_suite_id),
            (7, "Login", None)
        );
        let s: TestSuite = serde_json::from_value(
            json!({"id": 8, "title": "A", "name": "B", "parentSuiteId": 7}),
        )?;
        assert_eq!((s.title.as_str(), s.parent_suite_id), ("A", Some(7)));
        let p: TestSuite = serde_json::from_value(
            json!({"id": 9, "title": "C", "projectId": "2", "projectKey": "MOBILE"}),
        )?;
        assert_eq!(
            (p.project_id, p.project_key.as_deref()),
            (Some(2), Some("MOBILE"))
        );
        // Serialises with camelCase `title`, round-trips.
        let v = serde_json::to_value(&s)?;
        assert_eq!(v["parentSuiteId"], 7);
        let back: TestSuite = serde_json::from_value(v)?;
        assert_eq!(back, s);
        Ok(())
    }
}
