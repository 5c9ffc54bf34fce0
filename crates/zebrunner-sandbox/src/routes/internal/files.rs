//! Downloads with the bearer (anchor R24, R25):
//!
//! * `GET /files/{name}`: a screenshot a test's log refers to
//!   (`/files/scr-<test id>-<n>.png`), drawn on demand
//!   ([`crate::screenshots`]);
//! * `GET /artifacts/test-sessions/{sessionId}/session.log`: the session log
//!   a test session's `artifactReferences` name (`text/plain`).
//!
//! Both answer with `Content-Type`, `Content-Length` and
//! `Content-Disposition`, check the caller may access the project the file
//! belongs to (403), and answer 404 for names that are not there (videos are
//! listed by sessions but not recorded in the sandbox).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::Sandbox;
use crate::auth::BearerUser;
use crate::errors::{ApiError, ApiResult};
use crate::model::LaunchTest;
use crate::routes::check_access;
use crate::routes::internal::launches::sessions_of;
use crate::store::Store;
use crate::test_logs::{entries, parse_screenshot_name, session_log};

fn file_response(bytes: Vec<u8>, content_type: &'static str, filename: &str) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("inline; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

fn project_key(st: &Store, project_id: i64) -> String {
    st.project(project_id)
        .map(|p| p.key.clone())
        .unwrap_or_default()
}

fn find_test(st: &Store, test_id: i64) -> Option<&LaunchTest> {
    st.tests.values().flatten().find(|t| t.id == test_id)
}

pub async fn file(
    State(sb): State<Sandbox>,
    BearerUser(caller): BearerUser,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    let missing = || ApiError::not_found(format!("File '{name}' not found"));
    let (test_id, n) = parse_screenshot_name(&name).ok_or_else(missing)?;
    let st = sb.store();
    let test = find_test(&st, test_id).ok_or_else(missing)?;
    let launch = st
        .launches
        .iter()
        .find(|l| l.id == test.launch_id)
        .ok_or_else(missing)?;
    check_access(&caller, &project_key(&st, launch.project_id))?;
    let shots = entries(launch, test)
        .into_iter()
        .filter(|e| e.kind == "screenshot")
        .count();
    if n == 0 || n > shots {
        return Err(missing());
    }
    // The last screenshot of a failed test is the one taken at the failure.
    let failure = test.status == "FAILED" && n == shots;
    let png = crate::screenshots::draw(&launch.name, &test.name, n, failure)
        .map_err(|e| ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e))?;
    Ok(file_response(png, "image/png", &name))
}

pub async fn artifact(
    State(sb): State<Sandbox>,
    BearerUser(caller): BearerUser,
    Path(path): Path<String>,
) -> ApiResult<Response> {
    let missing = || ApiError::not_found(format!("Artifact 'artifacts/{path}' not found"));
    let session_id = path
        .strip_prefix("test-sessions/")
        .and_then(|rest| rest.strip_suffix("/session.log"))
        .ok_or_else(missing)?;
    // Session ids end in the session's number (launch id * 1000 + n), in hex.
    let number = session_id
        .rsplit('-')
        .next()
        .and_then(|hex| i64::from_str_radix(hex, 16).ok())
        .ok_or_else(missing)?;
    let st = sb.store();
    let launch = st
        .launches
        .iter()
        .find(|l| l.id == number / 1000)
        .ok_or_else(missing)?;
    check_access(&caller, &project_key(&st, launch.project_id))?;
    let session = sessions_of(&st, launch)
        .into_iter()
        .find(|s| s["sessionId"].as_str() == Some(session_id))
        .ok_or_else(missing)?;
    let ids: Vec<i64> = session["tests"]
        .as_array()
        .map(|tests| tests.iter().filter_map(|t| t["id"].as_i64()).collect())
        .unwrap_or_default();
    let tests: Vec<&LaunchTest> = st
        .launch_tests(launch.id)
        .iter()
        .filter(|t| ids.contains(&t.id))
        .collect();
    let text = session_log(launch, &tests);
    Ok(file_response(
        text.into_bytes(),
        "text/plain; charset=utf-8",
        "session.log",
    ))
}
