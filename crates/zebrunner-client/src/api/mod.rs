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
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::client::ZebrunnerClient;
use crate::error::Error;
use crate::transport::{Answer, Call};

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

/// Decodes a list from `{items: [...]}`, `{results: [...]}`, a bare array, `{data: [...]}` or
/// `{data: {items: [...]}}`; `null` items (or an empty body) mean an empty list. Straight from
/// the answer's text: the envelope is read without decoding what it holds.
pub(crate) fn decode_items<T: DeserializeOwned>(
    answer: Answer,
) -> Result<Vec<T>, serde_json::Error> {
    match answer.json()? {
        Some(json) => items_in(json),
        None => Ok(Vec::new()),
    }
}

fn items_in<T: DeserializeOwned>(json: &str) -> Result<Vec<T>, serde_json::Error> {
    match json.trim_start().as_bytes().first() {
        Some(b'n') => serde_json::from_str::<()>(json).map(|()| Vec::new()),
        Some(b'{') => {
            let envelope: ListEnvelope = serde_json::from_str(json)?;
            match (envelope.items.or(envelope.results), envelope.data) {
                (Some(items), _) if items.get() == "null" => Ok(Vec::new()),
                (Some(items), _) => serde_json::from_str(items.get()),
                (None, Some(data)) => items_in(data.get()),
                // Decoding the object as a list reports the real shape.
                (None, None) => serde_json::from_str(json),
            }
        }
        _ => serde_json::from_str(json),
    }
}

/// The keys a list may come under, each kept as its raw text (`null` included).
#[derive(Deserialize)]
struct ListEnvelope<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    items: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    results: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    data: Option<&'a RawValue>,
}

/// A key that is there, even with `null` (which `Option` alone would take for absent).
fn present<'de, D: Deserializer<'de>>(value: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(value).map(Some)
}

/// Decodes a single resource from `{data: {...}}` (also `{data: {data: ...}}`) or a bare
/// object, straight from the answer's text.
pub(crate) fn decode_single<T: DeserializeOwned>(answer: Answer) -> Result<T, serde_json::Error> {
    let Some(mut json) = answer.json()? else {
        return T::deserialize(Value::Null);
    };
    for _ in 0..2 {
        if !json.trim_start().starts_with('{') {
            break;
        }
        match serde_json::from_str::<DataEnvelope>(json)?.data {
            Some(data) if data.get().starts_with('{') => json = data.get(),
            _ => break,
        }
    }
    serde_json::from_str(json)
}

/// `{data: ...}`, the rest of the object skipped.
#[derive(Deserialize)]
struct DataEnvelope<'a> {
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
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
            assert_eq!(decode_items::<i64>(body.into())?, vec![1, 2]);
        }
        for empty in [
            json!({"items": null, "data": [1]}),
            json!({"data": {"results": null}}),
            json!(null),
        ] {
            assert!(decode_items::<i64>(empty.into())?.is_empty());
        }
        assert!(decode_items::<i64>(Answer::from_text(" \n"))?.is_empty());
        assert!(decode_items::<i64>(json!({"results": [1], "items": [2]}).into())? == vec![2]);
        for wrong in [
            json!({"unexpected": 1}),
            json!({"items": {"a": 1}}),
            json!("x"),
        ] {
            assert!(decode_items::<i64>(wrong.into()).is_err());
        }
        assert!(decode_items::<i64>(Answer::from_text("{\"items\": [1,")).is_err());
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
            assert_eq!(decode_single::<X>(body.into())?.id, 3);
        }
        // `data` that is not an object is the resource's own field, not an envelope.
        #[derive(serde::Deserialize)]
        struct Y {
            data: Vec<i64>,
        }
        assert_eq!(decode_single::<Y>(json!({"data": [1]}).into())?.data, [1]);
        assert!(decode_single::<X>(json!({"data": {"data": {"data": {"id": 3}}}}).into()).is_err());
        assert!(decode_single::<X>(Answer::from_text("")).is_err());
        assert!(decode_single::<Option<X>>(Answer::from_text(""))?.is_none());
        assert!(decode_single::<X>(Answer::from_text("{\"id\": 3")).is_err());
        Ok(())
    }
}
