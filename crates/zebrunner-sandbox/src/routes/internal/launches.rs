//! Reporting launches: R5 list (page paging, `milestone`, `query`), R6 one
//! launch, R7 attempts, R8 tests (top-level `totalElements`, `status` filter),
//! R9 one test, R10 test history, R11 test sessions and R15 job parameters
//! (R12 logs-and-screenshots is in [`super::test_logs`]; the R14 rerun and
//! R16 job build writes in [`super::launch_actions`]).

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::Sandbox;
use crate::auth::BearerUser;
use crate::errors::{ApiError, ApiResult};
use crate::model::{JobParam, Launch, LaunchTest};
use crate::paging::{DEFAULT_PAGE_SIZE, NumberedPage, Params};
use crate::routes::{data, path_id, project_for};
use crate::seed::{fnv, iso};
use crate::store::Store;
use crate::views::{counts, launch_json, launch_list_item, person_ref, test_json};

pub async fn list(
    State(sb): State<Sandbox>,
    BearerUser(caller): BearerUser,
    p: Params,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let page = NumberedPage::from_params(&p, &["pageSize", "size"], DEFAULT_PAGE_SIZE)?;
    let milestone = p.text("milestone");
    let query = p.text("query").map(str::to_lowercase);
    let launches: Vec<&Launch> = st
        .launches
        .iter()
        .filter(|l| l.project_id == pid)
        .filter(|l| {
            milestone.is_none_or(|name| {
                l.milestone_id
                    .and_then(|id| st.milestone(pid, id))
                    .is_some_and(|m| m.name == name)
            })
        })
        .filter(|l| {
            query.as_deref().is_none_or(|q| {
                l.name.to_lowercase().contains(q) || l.build_number.to_lowercase().contains(q)
            })
        })
        .collect();
    Ok(Json(
        page.with_meta(&launches, |l| launch_list_item(&st, l)),
    ))
}

pub(crate) fn find_launch<'a>(st: &'a Store, pid: i64, raw: &str) -> ApiResult<&'a Launch> {
    let id = path_id(raw, "launch")?;
    st.launch(pid, id)
        .ok_or_else(|| ApiError::not_found(format!("Launch with id {id} not found")))
}

pub(crate) fn find_test<'a>(
    st: &'a Store,
    launch: &Launch,
    raw: &str,
) -> ApiResult<&'a LaunchTest> {
    let id = path_id(raw, "test")?;
    st.launch_tests(launch.id)
        .iter()
        .find(|t| t.id == id)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Test with id {id} not found in launch {}",
                launch.id
            ))
        })
}

pub async fn get_one(
    State(sb): State<Sandbox>,
    BearerUser(caller): BearerUser,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let launch = find_launch(&st, pid, &id)?;
    Ok(data(launch_json(&st, launch)))
}

pub async fn attempts(
    State(sb): State<Sandbox>,
    BearerUser(caller): BearerUser,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let launch = find_launch(&st, pid, &id)?;
    let c = counts(st.launch_tests(launch.id));
    let first_end = launch.finished_at_ms.unwrap_or(launch.started_at_ms);
    let mut items = vec![json!({
        "id": launch.id * 10 + 1,
        "startedBy": person_ref(&st, launch.user_id),
        "startedAt": iso(launch.started_at_ms / 1000),
        "finishedAt": launch.finished_at_ms.map(|f| iso(f / 1000)),
        "finishPassed": c.passed,
        "finishPassedManually": 0,
        "finishFailed": c.failed,
        "finishKnownIssue": c.known_issue,
        "finishSkipped": c.skipped,
        "finishBlocked": 0,
        "finishAborted": c.aborted,
    })];
    if launch.attempts > 1 {
        // The rerun of failures: most failures pass the second time.
        let rerun_start = first_end / 1000 + 600;
        items.push(json!({
            "id": launch.id * 10 + 2,
            "startedBy": person_ref(&st, launch.user_id),
            "startedAt": iso(rerun_start),
            "finishedAt": iso(rerun_start + 900),
            "finishPassed": c.passed + c.failed / 2,
            "finishPassedManually": 0,
            "finishFailed": c.failed - c.failed / 2,
            "finishKnownIssue": c.known_issue,
            "finishSkipped": c.skipped,
            "finishBlocked": 0,
            "finishAborted": c.aborted,
        }));
    }
    // Reruns requested through the API have started and not finished yet.
    for (n, rerun) in launch.reruns.iter().enumerate() {
        items.push(json!({
            "id": launch.id * 10 + i64::from(launch.attempts) + n as i64 + 1,
            "startedBy": person_ref(&st, rerun.user_id),
            "startedAt": iso(rerun.at),
            "finishedAt": null,
            "finishPassed": 0,
            "finishPassedManually": 0,
            "finishFailed": 0,
            "finishKnownIssue": 0,
            "finishSkipped": 0,
            "finishBlocked": 0,
            "finishAborted": 0,
        }));
    }
    Ok(Json(json!({ "items": items })))
}

pub async fn tests(
    State(sb): State<Sandbox>,
    BearerUser(caller): BearerUser,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let launch = find_launch(&st, pid, &id)?;
    let page = NumberedPage::from_params(&p, &["pageSize", "size"], DEFAULT_PAGE_SIZE)?;
    // `status=FAILED` or `status=FAILED,SKIPPED` (also repeated parameters).
    let statuses: Vec<String> =
        p.0.iter()
            .filter(|(k, _)| k == "status" || k == "statuses")
            .flat_map(|(_, v)| v.split(','))
            .map(|s| s.trim().to_ascii_uppercase())
            .filter(|s| !s.is_empty())
            .collect();
    let tests: Vec<&LaunchTest> = st
        .launch_tests(launch.id)
        .iter()
        .filter(|t| statuses.is_empty() || statuses.contains(&t.status))
        .collect();
    Ok(Json(page.top_level(&tests, |t| test_json(t))))
}

pub async fn test(
    State(sb): State<Sandbox>,
    BearerUser(caller): BearerUser,
    Path((id, test_id)): Path<(String, String)>,
    p: Params,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let launch = find_launch(&st, pid, &id)?;
    let test = find_test(&st, launch, &test_id)?;
    Ok(data(test_json(test)))
}

pub async fn history(
    State(sb): State<Sandbox>,
    BearerUser(caller): BearerUser,
    Path((id, test_id)): Path<(String, String)>,
    p: Params,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let launch = find_launch(&st, pid, &id)?;
    let test = find_test(&st, launch, &test_id)?;
    let limit = match p.int("limit")? {
        None => 10,
        Some(n) if (1..=100).contains(&n) => n as usize,
        Some(n) => {
            return Err(ApiError::field(
                "limit",
                format!("must be between 1 and 100, but was {n}"),
            ));
        }
    };
    // Same test name in this and older launches of the project, newest first.
    let mut runs: Vec<&LaunchTest> = st
        .launches
        .iter()
        .filter(|l| l.project_id == pid && l.started_at_ms <= launch.started_at_ms)
        .flat_map(|l| st.launch_tests(l.id).iter().filter(|t| t.name == test.name))
        .collect();
    runs.sort_by_key(|t| std::cmp::Reverse(t.start_ms));
    let items: Vec<Value> = runs
        .into_iter()
        .take(limit)
        .map(|t| {
            json!({
                "testId": t.id,
                "status": t.status,
                "passedManually": false,
                "elapsed": t.finish_ms.map_or(0, |f| f - t.start_ms),
                "issueReferences": t.issue_refs.iter().map(|r| json!({"id": r.id, "type": r.kind, "value": r.value})).collect::<Vec<_>>(),
                "testRunId": t.launch_id,
                "startTime": t.start_ms,
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// Sessions group a launch's tests ten at a time (one browser per group).
pub(crate) fn sessions_of(st: &Store, launch: &Launch) -> Vec<Value> {
    let tests = st.launch_tests(launch.id);
    tests
        .chunks(10)
        .enumerate()
        .map(|(i, chunk)| {
            let id = launch.id * 1000 + i as i64 + 1;
            let session_id = format!("{:08x}-5a4d-4b0c-9e1f-{:012x}", fnv(&format!("s{id}")) as u32, id);
            let start = chunk.first().map_or(launch.started_at_ms, |t| t.start_ms);
            let end = chunk.iter().filter_map(|t| t.finish_ms).max();
            let c = counts(chunk);
            let status = if c.in_progress > 0 { "RUNNING" } else if c.failed + c.known_issue > 0 { "FAILED" } else { "COMPLETED" };
            json!({
                "id": id,
                "sessionId": session_id,
                "name": format!("{} {} session {}", launch.browser, launch.platform, i + 1),
                "status": status,
                "initiatedAt": iso(start / 1000 - 5),
                "startedAt": iso(start / 1000),
                "endedAt": end.map(|e| iso(e / 1000)),
                "platformName": if launch.platform == "web" { "linux" } else { launch.platform.as_str() },
                "platformVersion": null,
                "browserName": launch.browser,
                "browserVersion": if launch.browser == "firefox" { "128.0" } else { "126.0" },
                "deviceName": null,
                "passed": c.passed,
                "failed": c.failed,
                "skipped": c.skipped,
                "aborted": c.aborted,
                "knownIssue": c.known_issue,
                "durationInSeconds": end.map(|e| (e - start) / 1000),
                "tests": chunk.iter().map(|t| json!({"id": t.id, "name": t.name, "status": t.status, "passedManually": false})).collect::<Vec<_>>(),
                "artifactReferences": [
                    {"name": "Video", "value": format!("artifacts/test-sessions/{session_id}/video.mp4")},
                    {"name": "Log", "value": format!("artifacts/test-sessions/{session_id}/session.log")},
                ],
            })
        })
        .collect()
}

pub async fn sessions(
    State(sb): State<Sandbox>,
    BearerUser(caller): BearerUser,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let launch = find_launch(&st, pid, &id)?;
    let page = NumberedPage::from_params(&p, &["size", "pageSize"], 50)?;
    let test_id = p.int("testId")?;
    let sessions: Vec<Value> = sessions_of(&st, launch)
        .into_iter()
        .filter(|s| {
            test_id.is_none_or(|tid| {
                s["tests"]
                    .as_array()
                    .is_some_and(|ts| ts.iter().any(|t| t["id"] == json!(tid)))
            })
        })
        .collect();
    Ok(Json(page.top_level(&sessions, Value::clone)))
}

/// R15. A launch no CI job started (a Launch Launcher's) has no job: 404.
pub async fn job_parameters(
    State(sb): State<Sandbox>,
    BearerUser(caller): BearerUser,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let launch = find_launch(&st, pid, &id)?;
    let job = job_of(launch)?;
    let items: Vec<Value> = job
        .iter()
        .map(|j| json!({"name": j.name, "parameterClass": j.class, "value": j.value}))
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// The CI job of `launch`, or the 404 Zebrunner gives for a launch without one.
pub(crate) fn job_of(launch: &Launch) -> ApiResult<&[JobParam]> {
    launch.job.as_deref().ok_or_else(|| {
        ApiError::not_found(format!(
            "Launch with id {} has no CI job: it was not started by a CI job",
            launch.id
        ))
    })
}
