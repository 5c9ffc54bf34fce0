//! Endpoint methods on [`crate::ZebrunnerClient`], one file per area:
//!
//! * [`projects`]: projects (internal API) and key → id resolution;
//! * [`suites`]: test suites (Public API, token paging);
//! * [`cases`]: test cases (Public API) and their TCM-internal executions,
//!   changes, automation states, priorities and fields layout;
//! * [`settings`]: result statuses and configuration groups (Public API);
//! * [`reporting`]: launches (list, details, attempts), milestones, launch
//!   tests (page paging);
//! * [`forensics`]: one launch test, its logs and screenshots, its test
//!   sessions, and capped downloads of the files they link to;
//! * [`launch_actions`]: a launch's CI job parameters, and its rerun and job
//!   build writes (internal API) as [`writes::WriteRequest`]s;
//! * [`runs`]: TCM test runs and the cases in them (Public API);
//! * [`widgets`]: widget SQL templates (dashboard queries), rows capped;
//! * [`writes`]: suite, case and run writes (Public API), described first as
//!   a [`writes::WriteRequest`] so the exact request can be previewed.
//!
//! This module also holds the envelope decoders shared by all of them.

pub mod cases;
pub mod forensics;
pub mod launch_actions;
pub mod projects;
pub mod reporting;
pub mod runs;
pub mod settings;
pub mod suites;
pub mod widgets;
pub mod writes;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::ZebrunnerClient;
use crate::error::Error;
use crate::transport::Call;

impl ZebrunnerClient {
    /// The error Zebrunner's 404 gives for `GET /api/public/v1/{segments}`
    /// (`what` as in the request's own messages), for an answer that turned
    /// out to belong to another project: refused exactly like a missing one.
    pub fn public_not_found<S: Into<String>>(
        &self,
        segments: impl IntoIterator<Item = S>,
        what: impl Into<String>,
    ) -> Error {
        self.inner
            .transport
            .not_found(&Call::public(segments).what(what))
    }

    /// The same for `GET {host}/{segments}` on the internal APIs.
    pub fn internal_not_found<S: Into<String>>(
        &self,
        segments: impl IntoIterator<Item = S>,
        what: impl Into<String>,
    ) -> Error {
        self.inner
            .transport
            .not_found(&Call::internal(segments).what(what))
    }
}

/// Decodes a list from `{items: [...]}`, a bare array, `{data: [...]}` or
/// `{data: {items: [...]}}`; `null` items mean an empty list.
pub(crate) fn decode_items<T: DeserializeOwned>(body: Value) -> Result<Vec<T>, serde_json::Error> {
    serde_json::from_value(items_of(body))
}

fn items_of(body: Value) -> Value {
    match body {
        Value::Null => Value::Array(Vec::new()),
        Value::Object(mut map) => {
            for key in ["items", "results"] {
                if let Some(items) = map.remove(key) {
                    return if items.is_null() {
                        Value::Array(Vec::new())
                    } else {
                        items
                    };
                }
            }
            match map.remove("data") {
                Some(data) => items_of(data),
                // Leave the object in place: decoding it reports the real shape.
                None => Value::Object(map),
            }
        }
        other => other,
    }
}

/// Decodes a single resource from `{data: {...}}` (also `{data: {data: ...}}`)
/// or a bare object.
pub(crate) fn decode_single<T: DeserializeOwned>(body: Value) -> Result<T, serde_json::Error> {
    let mut body = body;
    for _ in 0..2 {
        match body {
            Value::Object(mut map) if map.get("data").is_some_and(Value::is_object) => {
                body = map.remove("data").unwrap_or_default();
            }
            other => {
                body = other;
                break;
            }
        }
    }
    serde_json::from_value(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_envelopes() -> Result<(), serde_json::Error> {
        for body in [
            json!({"items": [1, 2], "_meta": {}}),
            json!([1, 2]),
            json!({"data": [1, 2]}),
            json!({"data": {"items": [1, 2]}}),
        ] {
            assert_eq!(decode_items::<i64>(body)?, vec![1, 2]);
        }
        assert!(decode_items::<i64>(json!({"items": null}))?.is_empty());
        assert!(decode_items::<i64>(json!({"unexpected": 1})).is_err());
        Ok(())
    }

    #[test]
    fn single_envelopes() -> Result<(), serde_json::Error> {
        #[derive(serde::Deserialize)]
        struct X {
            id: i64,
        }
        for body in [
            json!({"data": {"id": 3}}),
            json!({"id": 3}),
            json!({"data": {"data": {"id": 3}}}),
        ] {
            assert_eq!(decode_single::<X>(body)?.id, 3);
        }
        Ok(())
    }
}
