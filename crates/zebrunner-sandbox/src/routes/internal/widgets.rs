//! R17 `POST /api/reporting/v1/widget-templates/sql?projectId=N`, body
//! `{templateId, paramsConfig}`: the rows of one widget template, computed in
//! [`crate::widgets`].

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value};

use crate::Sandbox;
use crate::auth::BearerUser;
use crate::errors::{ApiError, ApiResult};
use crate::paging::Params;
use crate::routes::{JsonBody, project_for};
use crate::widgets;

pub async fn sql(
    State(sb): State<Sandbox>,
    BearerUser(caller): BearerUser,
    p: Params,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let (pid, key) = project_for(&st, &caller, &p)?;
    let template = body
        .get("templateId")
        .and_then(|v| v.as_i64().or_else(|| v.as_str()?.trim().parse().ok()))
        .ok_or_else(|| ApiError::field("templateId", "must be a template id (a number)"))?;
    let empty = Map::new();
    let config = match body.get("paramsConfig") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(map)) => map,
        Some(_) => return Err(ApiError::field("paramsConfig", "must be an object")),
    };
    let params = widgets::Params::parse(config)?;
    let rows = widgets::run(&st, pid, &key, template, &params)?;
    Ok(Json(Value::Array(rows)))
}
