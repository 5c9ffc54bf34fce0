//! R2 project by key, R3 project list (`extraFields=starred`), R4 limit.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::Sandbox;
use crate::auth::BearerUser;
use crate::errors::{ApiError, ApiResult};
use crate::paging::Params;
use crate::routes::{check_access, data};
use crate::views::project_json;

pub async fn get_one(
    State(sb): State<Sandbox>,
    BearerUser(caller): BearerUser,
    Path(key): Path<String>,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let project = st
        .project_by_key(&key)
        .ok_or_else(|| ApiError::not_found(format!("Project with key '{key}' not found")))?;
    check_access(&caller, &project.key)?;
    Ok(data(project_json(project, false)))
}

/// Only projects the caller can see; deleted ones are included (clients hide them).
pub async fn list(
    State(sb): State<Sandbox>,
    BearerUser(caller): BearerUser,
    p: Params,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let starred = p
        .get("extraFields")
        .is_some_and(|f| f.split(',').any(|x| x.trim() == "starred"));
    let items: Vec<Value> = st
        .projects
        .iter()
        .filter(|pr| caller.may_access(&pr.key))
        .map(|pr| project_json(pr, starred))
        .collect();
    Ok(Json(json!({ "items": items })))
}

pub async fn limit(State(sb): State<Sandbox>, BearerUser(_): BearerUser) -> Json<Value> {
    let total = sb.store().projects.iter().filter(|p| !p.deleted).count();
    data(json!({"limit": 10, "currentTotal": total}))
}
