//! Test suites: P1 list (token paging), P2 get, P3 create, P4 full replace.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;

use crate::Sandbox;
use crate::auth::PublicUser;
use crate::errors::{ApiError, ApiResult};
use crate::model::Suite;
use crate::paging::{Params, TokenPage};
use crate::routes::{body_object, data, opt_str, path_id, project_for, valid_title};
use crate::seed::iso;
use crate::views::suite_json;

pub async fn list(
    State(sb): State<Sandbox>,
    PublicUser(caller): PublicUser,
    p: Params,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let page = TokenPage::from_params(&p)?;
    // `parentSuiteId` is sent by older clients; honour it as a children filter.
    let parent = p.int("parentSuiteId")?;
    let suites: Vec<&Suite> = st
        .suites
        .iter()
        .filter(|s| s.project_id == pid && parent.is_none_or(|id| s.parent_id == Some(id)))
        .collect();
    Ok(Json(page.respond(&suites, |s| suite_json(&st, s))))
}

pub async fn get_one(
    State(sb): State<Sandbox>,
    PublicUser(caller): PublicUser,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let id = path_id(&id, "test suite")?;
    let suite = st
        .suite(pid, id)
        .ok_or_else(|| ApiError::not_found("Test suite not found"))?;
    Ok(data(suite_json(&st, suite)))
}

/// Parses `{title, description?, parentSuiteId?}`.
fn parse_body(body: Value) -> ApiResult<(String, Option<String>, Option<i64>)> {
    let obj = body_object(body)?;
    let title = valid_title(opt_str(&obj, "title")?)?;
    let description = opt_str(&obj, "description")?.flatten();
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 5000)
    {
        return Err(ApiError::field(
            "description",
            "size must be between 0 and 5000",
        ));
    }
    let parent = match obj.get("parentSuiteId") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .ok_or_else(|| ApiError::field("parentSuiteId", "must be a number"))?,
        ),
    };
    Ok((title, description, parent))
}

pub async fn create(
    State(sb): State<Sandbox>,
    PublicUser(caller): PublicUser,
    p: Params,
    crate::routes::JsonBody(body): crate::routes::JsonBody<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let mut st = sb.store_mut();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let (title, description, parent) = parse_body(body)?;
    if let Some(parent) = parent
        && st.suite(pid, parent).is_none()
    {
        return Err(ApiError::field(
            "parentSuiteId",
            format!("Test suite with id {parent} not found"),
        ));
    }
    let position = st
        .suites
        .iter()
        .filter(|s| s.project_id == pid && s.parent_id == parent)
        .count() as i64;
    let now = iso(crate::auth::unix_now());
    let id = st.alloc_id();
    let suite = Suite {
        id,
        project_id: pid,
        title,
        description,
        parent_id: parent,
        relative_position: position,
        created_at: now.clone(),
        created_by: caller.user_id,
        last_modified_at: now,
        last_modified_by: caller.user_id,
    };
    let body = suite_json(&st, &suite);
    st.suites.push(suite);
    Ok((StatusCode::CREATED, data(body)))
}

pub async fn replace(
    State(sb): State<Sandbox>,
    PublicUser(caller): PublicUser,
    Path(id): Path<String>,
    p: Params,
    crate::routes::JsonBody(body): crate::routes::JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let mut st = sb.store_mut();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let id = path_id(&id, "test suite")?;
    if st.suite(pid, id).is_none() {
        return Err(ApiError::not_found("Test suite not found"));
    }
    let (title, description, parent) = parse_body(body)?;
    if let Some(parent) = parent {
        if st.suite(pid, parent).is_none() {
            return Err(ApiError::field(
                "parentSuiteId",
                format!("Test suite with id {parent} not found"),
            ));
        }
        if parent == id || st.descendant_suites(pid, id).contains(&parent) {
            return Err(ApiError::field(
                "parentSuiteId",
                "a suite cannot be moved under itself or its descendants",
            ));
        }
    }
    let now = iso(crate::auth::unix_now());
    let Some(suite) = st
        .suites
        .iter_mut()
        .find(|s| s.id == id && s.project_id == pid)
    else {
        return Err(ApiError::not_found("Test suite not found"));
    };
    // PUT is a full replacement: an omitted description is cleared.
    suite.title = title;
    suite.description = description;
    suite.parent_id = parent;
    suite.last_modified_at = now;
    suite.last_modified_by = caller.user_id;
    let suite = suite.clone();
    Ok(data(suite_json(&st, &suite)))
}
