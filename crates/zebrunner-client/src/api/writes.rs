//! Writes on the TCM Public API (Basic, `projectKey`): suites (POST, PUT),
//! test cases (POST, PATCH by id or key), test runs (POST, PATCH), adding
//! cases to a run, and importing results into a run; and writes on the
//! internal APIs (Bearer, `projectId`, see [`WriteRequest::internal`]), such
//! as the launch actions of [`super::launch_actions`].
//!
//! A write is described by a [`WriteRequest`] first, so a caller can show the
//! exact request before sending it. POST and PATCH are never retried (the
//! transport retries only idempotent methods); PUT may be.

use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use crate::client::ZebrunnerClient;
use crate::error::Error;
use crate::transport::{Api, Call};

use super::decode_single;

/// The HTTP method of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum WriteMethod {
    Post,
    Put,
    Patch,
}

impl WriteMethod {
    fn as_method(self) -> Method {
        match self {
            WriteMethod::Post => Method::POST,
            WriteMethod::Put => Method::PUT,
            WriteMethod::Patch => Method::PATCH,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WriteMethod::Post => "POST",
            WriteMethod::Put => "PUT",
            WriteMethod::Patch => "PATCH",
        }
    }
}

/// One write, exactly as it will be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteRequest {
    pub method: WriteMethod,
    /// Path segments below `/api/public/v1` (e.g. `["test-runs", "7",
    /// "test-cases"]`), or below the host for an internal write.
    pub segments: Vec<String>,
    /// Query parameters; `projectKey` (or `projectId`) first.
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Value>,
    api: Api,
    /// The project as errors name it: its key, or `id <n>`.
    project: String,
    what: String,
}

impl WriteRequest {
    /// A write in `project_key` (sent as `projectKey`), for error messages `what`.
    pub fn new<S: Into<String>>(
        method: WriteMethod,
        project_key: &str,
        segments: impl IntoIterator<Item = S>,
        what: impl Into<String>,
    ) -> Self {
        Self {
            method,
            segments: segments.into_iter().map(Into::into).collect(),
            query: vec![("projectKey", project_key.to_owned())],
            body: None,
            api: Api::Public,
            project: project_key.to_owned(),
            what: what.into(),
        }
    }

    /// A write on the internal APIs (Bearer) in the project with id
    /// `project_id` (sent as `projectId`); `segments` start below the host
    /// (`["api", "reporting", "v1", ...]`).
    pub fn internal<S: Into<String>>(
        method: WriteMethod,
        project_id: i64,
        segments: impl IntoIterator<Item = S>,
        what: impl Into<String>,
    ) -> Self {
        Self {
            method,
            segments: segments.into_iter().map(Into::into).collect(),
            query: vec![("projectId", project_id.to_string())],
            body: None,
            api: Api::Internal,
            project: format!("id {project_id}"),
            what: what.into(),
        }
    }

    pub fn query(mut self, key: &'static str, value: impl ToString) -> Self {
        self.query.push((key, value.to_string()));
        self
    }

    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// The path and query as sent, e.g. `/api/public/v1/test-suites?projectKey=DEMO`.
    pub fn path(&self) -> String {
        let base = match self.api {
            Api::Public => "/api/public/v1",
            Api::Internal | Api::Iam => "",
        };
        let Ok(mut url) = url::Url::parse(&format!("http://x{base}")) else {
            // Not reached: the base is a constant, valid URL.
            return format!("{base}/{}", self.segments.join("/"));
        };
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.extend(&self.segments);
        }
        url.query_pairs_mut().extend_pairs(&self.query);
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    fn call(&self) -> Call {
        let mut call = Call::new(self.method.as_method(), self.api, self.segments.clone())
            .what(self.what.clone())
            .project(self.project.clone());
        for (k, v) in &self.query {
            call = call.query(k, v);
        }
        match &self.body {
            Some(body) => call.json(body.clone()),
            None => call,
        }
    }
}

impl ZebrunnerClient {
    /// Send a write and return the response body (`Null` for 204), unwrapped
    /// from `{data: ...}`. Caches that the write may change are emptied.
    pub async fn write(&self, request: &WriteRequest) -> Result<Value, Error> {
        let call = request.call();
        let result = self.inner.transport.execute(&call).await;
        if request.segments.first().map(String::as_str) == Some("test-suites") {
            self.inner.caches.suites.invalidate_all();
        }
        let body = result?
            .into_value()
            .map_err(|e| self.inner.transport.decode_error(&call, &e))?;
        Ok(match body {
            Value::Object(mut map) if map.get("data").is_some_and(Value::is_object) => {
                map.remove("data").unwrap_or_default()
            }
            other => other,
        })
    }

    /// One Public API resource as raw JSON (unwrapped from `{data: ...}`),
    /// e.g. the current state before a write.
    pub async fn public_resource(
        &self,
        project_key: &str,
        segments: Vec<String>,
        what: impl Into<String>,
    ) -> Result<Value, Error> {
        let call = Call::public(segments)
            .query("projectKey", project_key)
            .what(what)
            .project(project_key);
        self.inner.transport.fetch(call, decode_single).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_with_the_query() {
        let r = WriteRequest::new(
            WriteMethod::Post,
            "DEMO",
            ["test-runs", "7", "test-cases:import"],
            "x",
        )
        .query("skipErrors", true);
        assert_eq!(
            r.path(),
            "/api/public/v1/test-runs/7/test-cases:import?projectKey=DEMO&skipErrors=true"
        );
        let k = WriteRequest::new(
            WriteMethod::Patch,
            "DEMO",
            ["test-cases", "key:DEMO-1"],
            "x",
        );
        assert_eq!(
            k.path(),
            "/api/public/v1/test-cases/key:DEMO-1?projectKey=DEMO"
        );
        let i = WriteRequest::internal(
            WriteMethod::Post,
            1,
            ["api", "reporting", "v1", "launches", "7:rerun"],
            "x",
        )
        .query("rerunFailures", true);
        assert_eq!(
            i.path(),
            "/api/reporting/v1/launches/7:rerun?projectId=1&rerunFailures=true"
        );
    }

    #[test]
    fn only_put_writes_are_idempotent() {
        let post = WriteRequest::new(WriteMethod::Post, "D", ["test-suites"], "x");
        let patch = WriteRequest::new(WriteMethod::Patch, "D", ["test-runs", "1"], "x");
        let put = WriteRequest::new(WriteMethod::Put, "D", ["test-suites", "1"], "x");
        assert!(!post.call().is_idempotent());
        assert!(!patch.call().is_idempotent());
        assert!(put.call().is_idempotent());
    }
}
