//! R1: `POST /api/iam/v1/auth/refresh` exchanges a personal token (the same
//! one used as the Basic password) for a short-lived JWT-shaped bearer.
//!
//! It also takes the single-use temp token of an SSO sign-in (from
//! `/sso?refresh-token=...`, minted by `POST /__sandbox/sso`): that one is
//! consumed, and `refreshToken` in the answer is a new long-lived token for
//! the account. For any other token `refreshToken` echoes the one sent.
//!
//! R1b: `POST /api/iam/v1/auth/token-exchange` (only when configured, see
//! [`crate::token_exchange`]) takes an Okta ID token instead and answers the
//! same shape, with a new long-lived token for the person the ID token names.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use crate::Sandbox;
use crate::auth::{Caller, TENANT};
use crate::errors::{ApiError, ApiResult};
use crate::routes::{JsonBody, body_object};
use crate::seed::iso;
use crate::token_exchange::{ID_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT};

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
    Ok(Json(grant(&sb, &caller, token)))
}

/// R1b: an Okta ID token for the person's long-lived token and a bearer.
///
/// Checks in order: the body (400 with `errors[{source}]`: `grantType`,
/// `subjectTokenType`, `subjectToken`), the ID token (401 `invalid_token`;
/// 503 when the issuer's keys cannot be fetched), then the person: a sandbox
/// user whose e-mail or username is the token's `email`, else its
/// `preferred_username` (401 `invalid_token` when none is).
pub async fn token_exchange(
    State(sb): State<Sandbox>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let Some(exchange) = sb.token_exchange() else {
        // Only routed when on; answer as for any unknown path all the same.
        return Err(ApiError::not_found(format!(
            "Resource not found: POST {}",
            crate::token_exchange::TOKEN_EXCHANGE_PATH
        )));
    };
    let body = body_object(body)?;
    expect_urn(&body, "grantType", TOKEN_EXCHANGE_GRANT)?;
    expect_urn(&body, "subjectTokenType", ID_TOKEN_TYPE)?;
    let id_token = match body.get("subjectToken") {
        Some(Value::String(t)) if !t.trim().is_empty() => t.as_str(),
        _ => return Err(ApiError::field("subjectToken", "must not be blank")),
    };
    let person = exchange.verify(id_token).await.map_err(|e| {
        tracing::info!(
            reason = e.kind(),
            "token exchange refused: the ID token is not valid"
        );
        if e.is_temporary() {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The identity provider's signing keys are unavailable; try again later",
            )
        } else {
            // TokenError's text never quotes the token.
            ApiError::invalid_token(format!("The ID token was refused: {e}"))
        }
    })?;
    let caller = person
        .names()
        .find_map(|name| sb.caller_by_email_or_username(name));
    let Some(caller) = caller else {
        let mut named: Vec<&str> = person.names().collect();
        named.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        tracing::info!(
            subject = %person.subject,
            "token exchange refused: no sandbox user for the ID token's person"
        );
        return Err(ApiError::invalid_token(if named.is_empty() {
            "The ID token names no e-mail or preferred_username to find a Zebrunner user by"
                .to_owned()
        } else {
            format!(
                "No Zebrunner user has the e-mail or username {}",
                named.join(" or ")
            )
        }));
    };
    let token = sb.auth().mint_sso_long_lived(&caller.login);
    tracing::info!(
        user_id = caller.user_id,
        login = %caller.login,
        "token exchange: an Okta ID token became a long-lived Zebrunner token"
    );
    Ok(Json(grant(&sb, &caller, token)))
}

/// 400 unless `body[field]` is exactly `urn`.
fn expect_urn(body: &Map<String, Value>, field: &str, urn: &str) -> ApiResult<()> {
    match body.get(field) {
        Some(Value::String(s)) if s == urn => Ok(()),
        Some(Value::String(_)) => Err(ApiError::field(field, format!("must be {urn}"))),
        _ => Err(ApiError::field(field, "must not be null")),
    }
}

/// The answer of the IAM refresh and the token exchange: a new bearer for
/// `caller`, with `refresh_token` as the `refreshToken`.
fn grant(sb: &Sandbox, caller: &Caller, refresh_token: String) -> Value {
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
    let (bearer, exp) = auth.issue(caller, &assignments);
    json!({
        "userId": caller.user_id,
        "permissionsSuperset": caller.permissions,
        "projectAssignments": assignments.iter().map(|(id, role)| json!({"projectId": id, "role": role})).collect::<Vec<_>>(),
        "authTokenType": "Bearer",
        "authToken": bearer,
        "authTokenExpirationInSecs": ttl,
        "previousLogin": null,
        "refreshToken": refresh_token,
        "tenantName": TENANT,
        "authTokenExpiresAt": iso(exp),
    })
}
