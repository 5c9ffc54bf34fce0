//! TCM internal API: R18 automation states, R19 priorities, R20 fields layout,
//! R21 test-case executions, R22 test-case change history (token paging).

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::Sandbox;
use crate::auth::BearerUser;
use crate::errors::{ApiError, ApiResult};
use crate::model::{Change, Named};
use crate::paging::{Params, TokenPage};
use crate::routes::{data, path_id, project_for};
use crate::seed;

fn named_items(list: &[Named]) -> Json<Value> {
    Json(
        json!({"items": list.iter().map(|n| json!({"id": n.id, "name": n.name, "isDefault": n.is_default})).collect::<Vec<_>>()}),
    )
}

pub async fn automation_states(
    State(sb): State<Sandbox>,
    BearerUser(caller): BearerUser,
    p: Params,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let s = st
        .settings(pid)
        .ok_or_else(|| ApiError::not_found("Project settings not found"))?;
    Ok(named_items(&s.automation_states))
}

pub async fn priorities(
    State(sb): State<Sandbox>,
    BearerUser(caller): BearerUser,
    p: Params,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let s = st
        .settings(pid)
        .ok_or_else(|| ApiError::not_found("Project settings not found"))?;
    Ok(named_items(&s.priorities))
}

pub async fn fields_layout(
    State(sb): State<Sandbox>,
    BearerUser(caller): BearerUser,
    p: Params,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let s = st
        .settings(pid)
        .ok_or_else(|| ApiError::not_found("Project settings not found"))?;
    let system = [
        ("Title", "STRING"),
        ("Description", "TEXT"),
        ("Priority", "DROPDOWN"),
        ("Automation State", "DROPDOWN"),
        ("Pre-Conditions", "TEXT"),
        ("Steps", "STEPS"),
        ("Post-Conditions", "TEXT"),
        ("Attachments", "ATTACHMENTS"),
    ];
    let mut fields: Vec<Value> = system
        .iter()
        .enumerate()
        .map(|(i, (name, dt))| json!({"id": pid * 1000 + i as i64, "type": "SYSTEM", "tabId": 1, "relativePosition": i, "name": name, "enabled": true, "dataType": dt, "description": null}))
        .collect();
    fields.extend(s.custom_fields.iter().enumerate().map(|(i, f)| {
        json!({"id": f.id, "type": "CUSTOM", "tabId": 2, "relativePosition": i, "name": f.name, "systemName": f.system_name, "enabled": true, "dataType": f.data_type, "description": format!("Custom field {}", f.name)})
    }));
    Ok(data(json!({
        "tabs": [
            {"id": 1, "name": "General", "relativePosition": 0, "displayMode": "TWO_COLUMNS"},
            {"id": 2, "name": "Custom fields", "relativePosition": 1, "displayMode": "ONE_COLUMN"},
        ],
        "fields": fields,
    })))
}

pub async fn executions(
    State(sb): State<Sandbox>,
    BearerUser(caller): BearerUser,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let id = path_id(&id, "test case")?;
    let case = st
        .case(pid, id)
        .ok_or_else(|| ApiError::not_found("Test case not found"))?;
    let items = seed::executions(sb.config().seed, &st, case);
    Ok(Json(json!({ "items": items })))
}

fn change_json(c: &Change) -> Value {
    json!({"id": c.id, "instant": c.instant, "userId": c.user_id, "type": c.kind, "items": c.items})
}

/// Newest first, so `maxPageSize=N` gives the N latest entries.
pub async fn changes(
    State(sb): State<Sandbox>,
    BearerUser(caller): BearerUser,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let id = path_id(&id, "test case")?;
    st.case(pid, id)
        .ok_or_else(|| ApiError::not_found("Test case not found"))?;
    let page = TokenPage::with_default(&p, 20)?;
    let mut list: Vec<&Change> = st
        .changes
        .get(&id)
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    list.reverse();
    Ok(Json(page.respond(&list, |c| change_json(c))))
}
