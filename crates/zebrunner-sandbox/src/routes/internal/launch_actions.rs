//! Launch writes: R14 `POST /launches/{id}:rerun` (rerun a launch's
//! failures: a new attempt) and R16 `POST /launches/{id}/job:build` (build
//! the launch's CI job again: a new, queued launch).
//!
//! Zebrunner names these actions with a `:` inside a path segment, which a
//! router cannot match as a parameter followed by a literal. So the segment
//! is matched whole (`/launches/{id}` for POST, `/launches/{id}/{action}`
//! for every method) and split here; an unknown action answers 404 and a
//! known path with another method 405, with Zebrunner's error body.
//!
//! Both are logged by [`crate::control::observe`] like every request, so a
//! test can count them in the request log.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, Uri};
use serde_json::{Map, Value};

use super::launches::{find_launch, job_of};
use crate::Sandbox;
use crate::auth::{BearerUser, Caller, unix_now};
use crate::errors::{ApiError, ApiResult, FieldError};
use crate::model::{JobParam, Launch, Rerun};
use crate::paging::Params;
use crate::routes::{body_object, not_found, project_for};
use crate::seed::RERUN_PERMISSION;
use crate::views::launch_json;

fn method_not_allowed(method: &Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("Request method '{method}' is not supported"),
    )
}

/// `POST /api/reporting/v1/launches/{segment}`: `{id}:rerun` is R14; a bare
/// id is the launch itself, which takes no POST (405).
pub async fn launch_action(
    State(sb): State<Sandbox>,
    BearerUser(caller): BearerUser,
    Path(segment): Path<String>,
    method: Method,
    uri: Uri,
    p: Params,
) -> ApiResult<Json<Value>> {
    match segment.split_once(':') {
        Some((id, "rerun")) => rerun(&sb, &caller, id, &p),
        Some(_) => Err(not_found(method, uri).await),
        None => Err(method_not_allowed(&method)),
    }
}

/// `/api/reporting/v1/launches/{id}/{action}` for actions with no route of
/// their own: `job:build` takes a POST (R16), anything else is unknown (404).
pub async fn launch_sub_action(
    State(sb): State<Sandbox>,
    BearerUser(caller): BearerUser,
    Path((id, action)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    p: Params,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    match (action.as_str(), method == Method::POST) {
        ("job:build", true) => {
            // No body is a body that is not an object, as for any JSON write.
            let body = if body.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&body)
                    .map_err(|e| ApiError::bad_request(format!("JSON parse error: {e}")))?
            };
            build(&sb, &caller, &id, &p, body)
        }
        ("job:build", false) => Err(method_not_allowed(&method)),
        _ => Err(not_found(method, uri).await),
    }
}

/// R14: rerun the failures (`rerunFailures=true`) or all tests of a finished
/// launch. Checks in order: project (400/404/403), the IAM permission (403),
/// the launch (404), that it may be relaunched (400).
fn rerun(sb: &Sandbox, caller: &Caller, raw_id: &str, p: &Params) -> ApiResult<Json<Value>> {
    let mut st = sb.store_mut();
    let (pid, _) = project_for(&st, caller, p)?;
    if !caller.has_permission(RERUN_PERMISSION) {
        return Err(ApiError::forbidden(format!(
            "Access denied: user '{}' lacks the permission '{RERUN_PERMISSION}'",
            caller.login
        )));
    }
    // Only true or false: anything else is a bad parameter, as in Spring.
    match p.text("rerunFailures") {
        None | Some("true" | "false") => {}
        Some(other) => {
            return Err(ApiError::field(
                "rerunFailures",
                format!("must be true or false, but was '{other}'"),
            ));
        }
    }
    let id = find_launch(&st, pid, raw_id)?.id;
    let launch = st
        .launches
        .iter_mut()
        .find(|l| l.id == id)
        .ok_or_else(|| ApiError::not_found(format!("Launch with id {id} not found")))?;
    if !launch.relaunch_possible() {
        return Err(ApiError::bad_request(format!(
            "Launch with id {id} cannot be relaunched: it is {}",
            launch.status
        )));
    }
    launch.reruns.push(Rerun {
        user_id: caller.user_id,
        at: unix_now(),
    });
    launch.status = "QUEUED".into();
    let launch = launch.clone();
    Ok(Json(launch_json(&st, &launch)))
}

/// R16: build the CI job of a launch with `body` (every parameter by name,
/// a string, or a boolean for a BOOLEAN one; one left out keeps the
/// launch's value). The new launch is queued, newest in its project.
fn build(
    sb: &Sandbox,
    caller: &Caller,
    raw_id: &str,
    p: &Params,
    body: Value,
) -> ApiResult<Json<Value>> {
    let mut st = sb.store_mut();
    let (pid, _) = project_for(&st, caller, p)?;
    let template = find_launch(&st, pid, raw_id)?;
    let job = job_of(template).map_err(|_| {
        ApiError::bad_request(format!(
            "Launch with id {} cannot be launched again: it was not started by a CI job",
            template.id
        ))
    })?;
    let params = merged_params(job, body_object(body)?)?;
    let text = |name: &str, fallback: &str| {
        params
            .iter()
            .find(|j| j.name == name)
            .and_then(|j| j.value.as_str())
            .filter(|v| !v.is_empty())
            .unwrap_or(fallback)
            .to_string()
    };
    let build_number = text("build", &template.build_number);
    let locale = text("locale", &template.locale);
    let job_base = template
        .job_url
        .rsplit_once('/')
        .map_or(template.job_url.as_str(), |(base, _)| base)
        .to_string();
    let template = template.clone();
    let id = st.alloc_id();
    let launch = Launch {
        id,
        status: "QUEUED".into(),
        started_at_ms: unix_now() * 1000,
        finished_at_ms: None,
        job_url: format!("{job_base}/{id}"),
        build_number,
        locale,
        user_id: caller.user_id,
        attempts: 1,
        reviewed: false,
        job: Some(params),
        reruns: Vec::new(),
        ..template
    };
    let answer = launch_json(&st, &launch);
    // Newest first: lists keep this order within a project.
    st.launches.insert(0, launch);
    Ok(Json(answer))
}

/// The job's parameters with the values of `body`, which may only name
/// parameters of the job, each with a value of its class. Every problem is
/// one `errors[]` entry, named by the parameter.
fn merged_params(job: &[JobParam], body: Map<String, Value>) -> ApiResult<Vec<JobParam>> {
    let mut errors = Vec::new();
    for (name, value) in &body {
        let problem = match job.iter().find(|j| &j.name == name) {
            None => Some(format!(
                "unknown job parameter; the job's parameters are: {}",
                job.iter()
                    .map(|j| j.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Some(j) if j.class == "BOOLEAN" && !value.is_boolean() => {
                Some("must be a boolean".to_string())
            }
            Some(j) if j.class != "BOOLEAN" && !value.is_string() => {
                Some("must be a string".to_string())
            }
            Some(_) => None,
        };
        if let Some(message) = problem {
            errors.push(FieldError {
                source: name.clone(),
                message,
            });
        }
    }
    if !errors.is_empty() {
        let mut err = ApiError::bad_request(format!(
            "Validation failed: {}",
            errors
                .iter()
                .map(|e| format!("{}: {}", e.source, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        ));
        err.errors = errors;
        return Err(err);
    }
    Ok(job
        .iter()
        .map(|j| JobParam {
            value: body
                .get(&j.name)
                .cloned()
                .unwrap_or_else(|| j.value.clone()),
            ..j.clone()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job() -> Vec<JobParam> {
        vec![
            JobParam {
                name: "build".into(),
                class: "STRING",
                value: json!("1.0"),
            },
            JobParam {
                name: "rerun_failures".into(),
                class: "BOOLEAN",
                value: json!(false),
            },
        ]
    }

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn overrides_replace_and_omitted_keep_the_launch_value() {
        let merged = merged_params(&job(), body(json!({"rerun_failures": true}))).unwrap();
        assert_eq!(merged[0].value, json!("1.0"));
        assert_eq!(merged[1].value, json!(true));
    }

    #[test]
    fn unknown_names_and_wrong_types_are_field_errors() {
        let err = merged_params(
            &job(),
            body(json!({"nope": "x", "rerun_failures": "yes", "build": 3})),
        )
        .unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        let mut problems: Vec<(&str, &str)> = err
            .errors
            .iter()
            .map(|e| (e.source.as_str(), e.message.as_str()))
            .collect();
        problems.sort();
        assert_eq!(
            problems,
            [
                ("build", "must be a string"),
                (
                    "nope",
                    "unknown job parameter; the job's parameters are: build, rerun_failures"
                ),
                ("rerun_failures", "must be a boolean"),
            ]
        );
    }
}
