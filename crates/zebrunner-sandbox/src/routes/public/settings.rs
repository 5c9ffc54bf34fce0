//! Project settings on the Public API: P18 result statuses, P19 configuration
//! groups, P20 automation states, P21 priorities, P22 custom fields.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::Sandbox;
use crate::auth::PublicUser;
use crate::errors::{ApiError, ApiResult};
use crate::model::{Named, ProjectSettings};
use crate::paging::Params;
use crate::routes::project_for;

/// Runs `render` on the settings of the requested project.
fn with_settings(
    sb: &Sandbox,
    caller: &crate::auth::Caller,
    p: &Params,
    render: impl Fn(&ProjectSettings) -> Vec<Value>,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let (pid, _) = project_for(&st, caller, p)?;
    let settings = st
        .settings(pid)
        .ok_or_else(|| ApiError::not_found("Project settings not found"))?;
    Ok(Json(json!({ "items": render(settings) })))
}

fn named(list: &[Named]) -> Vec<Value> {
    list.iter()
        .map(|n| json!({"id": n.id, "name": n.name, "isDefault": n.is_default}))
        .collect()
}

pub async fn result_statuses(
    State(sb): State<Sandbox>,
    PublicUser(caller): PublicUser,
    p: Params,
) -> ApiResult<Json<Value>> {
    with_settings(&sb, &caller, &p, |s| {
        s.result_statuses
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "name": r.name,
                    "aliases": if r.aliases.is_empty() { Value::Null } else { json!(r.aliases.join(",")) },
                    "colorHex": r.color_hex,
                    "enabled": true,
                    "isCompleted": r.is_completed,
                    "isSuccess": r.is_success,
                    "isFailure": r.is_failure,
                    "isAssignable": r.name != "Untested",
                })
            })
            .collect()
    })
}

pub async fn configuration_groups(
    State(sb): State<Sandbox>,
    PublicUser(caller): PublicUser,
    p: Params,
) -> ApiResult<Json<Value>> {
    with_settings(&sb, &caller, &p, |s| {
        s.config_groups
            .iter()
            .map(|g| json!({"id": g.id, "name": g.name, "options": g.options.iter().map(|o| json!({"id": o.id, "name": o.name})).collect::<Vec<_>>()}))
            .collect()
    })
}

pub async fn automation_states(
    State(sb): State<Sandbox>,
    PublicUser(caller): PublicUser,
    p: Params,
) -> ApiResult<Json<Value>> {
    with_settings(&sb, &caller, &p, |s| named(&s.automation_states))
}

pub async fn priorities(
    State(sb): State<Sandbox>,
    PublicUser(caller): PublicUser,
    p: Params,
) -> ApiResult<Json<Value>> {
    with_settings(&sb, &caller, &p, |s| named(&s.priorities))
}

pub async fn custom_fields(
    State(sb): State<Sandbox>,
    PublicUser(caller): PublicUser,
    p: Params,
) -> ApiResult<Json<Value>> {
    with_settings(&sb, &caller, &p, |s| {
        s.custom_fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                json!({
                    "id": f.id,
                    "name": f.name,
                    "systemName": f.system_name,
                    "dataType": f.data_type,
                    "enabled": true,
                    "relativePosition": i,
                    "options": f.options.iter().enumerate().map(|(j, o)| json!({"id": f.id * 100 + j as i64, "name": o})).collect::<Vec<_>>(),
                })
            })
            .collect()
    })
}
