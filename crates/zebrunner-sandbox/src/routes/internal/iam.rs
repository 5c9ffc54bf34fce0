//! R1: `POST /api/iam/v1/auth/refresh` exchanges a personal token (the same
//! one used as the Basic password) for a short-lived JWT-shaped bearer.
//!
//! It also takes the single-use temp token of an SSO sign-in (from
//! `/sso?refresh-token=...`, minted by `POST /__sandbox/sso`): that one is
//! consumed, and `refreshToken` in the answer is a new long-lived token for
//! the account. For any other token `refreshToken` echoes the one sent.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::Sandbox;
use crate::auth::TENANT;
use crate::errors::{ApiError, ApiResult};
use crate::routes::JsonBody;
use crate::seed::iso;

pub async fn refresh(
    State(sb): State<Sandbox>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let token = match body.get("refreshToken") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        _ => return Err(ApiError::field("refreshToken", "must not be blank")),
    };
    let (caller, token) = match sb.caller_by_token(&token) {
        Some(caller) => (caller, token),
        None => {
            // The guard is a temporary of this statement: auth is released
            // before caller_by_login takes the store.
            let exchanged = sb.auth().exchange_sso_temp(&token);
            let (login, long_lived) = exchanged.ok_or_else(ApiError::unauthorized)?;
            let caller = sb
                .caller_by_login(&login)
                .ok_or_else(ApiError::unauthorized)?;
            (caller, long_lived)
        }
    };
    let assignments: Vec<(i64, &str)> = {
        let st = sb.store();
        caller
            .projects
            .iter()
            .filter_map(|k| {
                st.project_by_key(k).map(|p| {
                    (
                        p.id,
                        if caller.user_id == 1 {
                            "MANAGER"
                        } else {
                            "ENGINEER"
                        },
                    )
                })
            })
            .collect()
    };
    let mut auth = sb.auth();
    let ttl = auth.token_ttl_secs;
    let (bearer, exp) = auth.issue(&caller, &assignments);
    Ok(Json(json!({
        "userId": caller.user_id,
        "permissionsSuperset": ["reporting:test-runs:read", "reporting:test-runs:rerun", "tcm:test-cases:read", "tcm:test-cases:update"],
        "projectAssignments": assignments.iter().map(|(id, role)| json!({"projectId": id, "role": role})).collect::<Vec<_>>(),
        "authTokenType": "Bearer",
        "authToken": bearer,
        "authTokenExpirationInSecs": ttl,
        "previousLogin": null,
        "refreshToken": token,
        "tenantName": TENANT,
        "authTokenExpiresAt": iso(exp),
    })))
}
