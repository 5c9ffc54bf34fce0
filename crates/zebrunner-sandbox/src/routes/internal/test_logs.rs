//! R12 `GET /api/test-execution-logs/v1/test-runs/{launchId}/tests/{testId}/logs-and-screenshots`:
//! a launch test's log lines and screenshots in time order, token paging
//! (`maxPageSize` 1..=1000, default 100, `pageToken`, `_meta.nextPageToken`).
//! The API takes no `projectId`: the launch alone locates the project, whose
//! access is checked.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::Sandbox;
use crate::auth::{BearerUser, Caller};
use crate::errors::{ApiError, ApiResult};
use crate::model::Launch;
use crate::paging::{Params, TokenPage};
use crate::routes::internal::launches::find_test;
use crate::routes::{check_access, path_id};
use crate::store::Store;
use crate::test_logs::{entries, iso_ms};

/// Largest page this API serves (clients ask for 1,000).
const MAX_LOG_PAGE: usize = 1000;
const DEFAULT_LOG_PAGE: usize = 100;

/// The launch with id `raw` in any project the caller may access (403 otherwise).
pub fn launch_any<'a>(st: &'a Store, caller: &Caller, raw: &str) -> ApiResult<&'a Launch> {
    let id = path_id(raw, "launch")?;
    let launch = st
        .launches
        .iter()
        .find(|l| l.id == id)
        .ok_or_else(|| ApiError::not_found(format!("Launch with id {id} not found")))?;
    let key = st
        .project(launch.project_id)
        .map(|p| p.key.clone())
        .unwrap_or_default();
    check_access(caller, &key)?;
    Ok(launch)
}

pub async fn logs(
    State(sb): State<Sandbox>,
    BearerUser(caller): BearerUser,
    Path((id, test_id)): Path<(String, String)>,
    p: Params,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let launch = launch_any(&st, &caller, &id)?;
    let test = find_test(&st, launch, &test_id)?;
    let page = TokenPage::with_bounds(&p, DEFAULT_LOG_PAGE, MAX_LOG_PAGE)?;
    let all = entries(launch, test);
    Ok(Json(page.respond(&all, |e| {
        json!({
            "kind": e.kind,
            "level": e.level,
            "instant": iso_ms(e.at_ms),
            "value": e.value,
        })
    })))
}
