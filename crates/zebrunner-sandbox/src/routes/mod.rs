//! HTTP handlers, grouped by API family, and the helpers they share.
//!
//! * [`public`]: TCM Public API under `/api/public/v1` (Basic auth, `projectKey`).
//! * [`internal`]: IAM, projects, reporting, TCM-internal and logs APIs (Bearer
//!   auth, `projectId`).
//! * [`web`]: the web app's `GET /sso` landing page of an SSO sign-in.

pub mod internal;
pub mod public;
pub mod web;

use axum::Json;
use axum::extract::{FromRequest, Request};
use axum::http::{Method, Uri};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::errors::{ApiError, ApiResult};
use crate::paging::Params;
use crate::store::Store;

/// `{"data": ...}`, the wrapper of every single resource.
pub fn data(v: Value) -> Json<Value> {
    Json(json!({ "data": v }))
}

/// A JSON body whose rejections become Zebrunner error bodies.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(rej) => Err(ApiError::new(rej.status(), rej.body_text())),
        }
    }
}

/// Fallback for unknown paths.
pub async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("Resource not found: {method} {}", uri.path()))
}

/// The project named by `projectKey` or `projectId`, checked for access.
/// Order of checks matches Zebrunner: missing (400), unknown (404), access (403).
pub fn project_for(st: &Store, caller: &Caller, p: &Params) -> ApiResult<(i64, String)> {
    let project = if let Some(key) = p.text("projectKey") {
        st.project_by_key(key)
            .ok_or_else(|| ApiError::not_found(format!("Project with key '{key}' not found")))?
    } else if let Some(id) = p.int("projectId")? {
        st.project(id)
            .ok_or_else(|| ApiError::not_found(format!("Project with id {id} not found")))?
    } else {
        return Err(ApiError::bad_request(
            "Either 'projectKey' or 'projectId' request parameter must be provided",
        ));
    };
    check_access(caller, &project.key)?;
    Ok((project.id, project.key.clone()))
}

pub fn check_access(caller: &Caller, key: &str) -> ApiResult<()> {
    if caller.may_access(key) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "Access denied: user '{}' has no permission for project '{key}'",
            caller.login
        )))
    }
}

/// A numeric path id; anything else is a 400, not a 404.
pub fn path_id(raw: &str, what: &str) -> ApiResult<i64> {
    raw.parse().map_err(|_| {
        ApiError::bad_request(format!("Invalid {what} id '{raw}': a number is expected"))
    })
}

/// Parses `filter` and checks it only uses `allowed` selectors.
pub fn rql_filter(p: &Params, allowed: &[&str]) -> ApiResult<Option<crate::rql::Expr>> {
    let Some(text) = p.text("filter") else {
        return Ok(None);
    };
    let expr = crate::rql::parse(text)
        .map_err(|e| ApiError::bad_request(format!("Invalid RQL filter: {e}")))?;
    expr.check_selectors(allowed)
        .map_err(|e| ApiError::bad_request(e.message))?;
    Ok(Some(expr))
}

/// Parses `sortBy` (`field` or `-field`) against the allowed fields.
pub fn sort_by<'a>(p: &'a Params, allowed: &[&str]) -> ApiResult<Option<(&'a str, bool)>> {
    let Some(raw) = p.text("sortBy") else {
        return Ok(None);
    };
    let (field, desc) = match raw.strip_prefix('-') {
        Some(f) => (f, true),
        None => (raw.strip_prefix('+').unwrap_or(raw), false),
    };
    if allowed.contains(&field) {
        Ok(Some((field, desc)))
    } else {
        Err(ApiError::bad_request(format!(
            "Unsupported sortBy field '{field}'. Supported fields: {}",
            allowed.join(", ")
        )))
    }
}

/// Reads an optional string field of a JSON object, rejecting other types.
pub fn opt_str(
    obj: &serde_json::Map<String, Value>,
    field: &str,
) -> ApiResult<Option<Option<String>>> {
    match obj.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(ApiError::field(field, "must be a string")),
    }
}

pub fn opt_bool(obj: &serde_json::Map<String, Value>, field: &str) -> ApiResult<Option<bool>> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::field(field, "must be a boolean")),
    }
}

pub fn body_object(v: Value) -> ApiResult<serde_json::Map<String, Value>> {
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::bad_request("Request body must be a JSON object")),
    }
}

/// Validates a title: required, non-blank, at most 255 characters.
pub fn valid_title(title: Option<Option<String>>) -> ApiResult<String> {
    match title.flatten() {
        Some(t) if t.trim().is_empty() => Err(ApiError::field("title", "must not be blank")),
        Some(t) if t.chars().count() > 255 => {
            Err(ApiError::field("title", "size must be between 1 and 255"))
        }
        Some(t) => Ok(t),
        None => Err(ApiError::field("title", "must not be null")),
    }
}

/// Resolves `{id}` or `{name}` against a list of named items.
pub fn id_or_name<'a>(
    v: &Value,
    field: &str,
    list: &'a [crate::model::Named],
) -> ApiResult<&'a crate::model::Named> {
    let found = if let Some(id) = v.get("id").and_then(Value::as_i64) {
        list.iter().find(|n| n.id == id)
    } else if let Some(name) = v.get("name").and_then(Value::as_str) {
        list.iter().find(|n| n.name.eq_ignore_ascii_case(name))
    } else {
        return Err(ApiError::field(
            field,
            "either 'id' or 'name' must be provided",
        ));
    };
    found.ok_or_else(|| {
        let valid: Vec<String> = list
            .iter()
            .map(|n| format!("{} (id {})", n.name, n.id))
            .collect();
        ApiError::field(
            field,
            format!("not found; valid values: {}", valid.join(", ")),
        )
    })
}
