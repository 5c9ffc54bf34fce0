//! R13: milestones, page paging with `_meta: {total, totalPages}` and an
//! optional `completed` filter.

use axum::Json;
use axum::extract::State;
use serde_json::Value;

use crate::Sandbox;
use crate::auth::BearerUser;
use crate::errors::ApiResult;
use crate::model::Milestone;
use crate::paging::{DEFAULT_PAGE_SIZE, NumberedPage, Params};
use crate::routes::project_for;
use crate::views::milestone_json;

pub async fn list(
    State(sb): State<Sandbox>,
    BearerUser(caller): BearerUser,
    p: Params,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let page = NumberedPage::from_params(&p, &["pageSize", "size"], DEFAULT_PAGE_SIZE)?;
    let completed = p.bool("completed")?;
    let list: Vec<&Milestone> = st
        .milestones
        .iter()
        .filter(|m| m.project_id == pid && completed.is_none_or(|c| m.completed == c))
        .collect();
    Ok(Json(page.with_meta(&list, |m| milestone_json(m))))
}
