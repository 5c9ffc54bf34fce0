//! TCM test runs: P11 list (token paging, RQL, sortBy), P12 get, P13 cases of a
//! run, P14 create, P15 update (412 when closed), P16 add cases (204), P17
//! import results.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use crate::Sandbox;
use crate::auth::PublicUser;
use crate::errors::{ApiError, ApiResult};
use crate::model::{ConfigGroup, Named, RunCase, RunResult, TestRun};
use crate::paging::{Params, TokenPage};
use crate::routes::{
    JsonBody, body_object, data, id_or_name, opt_str, path_id, project_for, rql_filter, sort_by,
    valid_title,
};
use crate::rql::{Record, Value as RqlValue};
use crate::seed::iso;
use crate::store::Store;
use crate::views::{run_case_json, run_json};

pub const SELECTORS: &[&str] = &[
    "title",
    "milestone.id",
    "closed",
    "description",
    "configurations.optionName",
    "environment.key",
    "createdAt",
];

const SORT_FIELDS: &[&str] = &["id", "title", "createdAt"];

/// A run plus the store, so RQL can see option names and environment keys.
struct RunRecord<'a> {
    run: &'a TestRun,
    st: &'a Store,
}

impl Record for RunRecord<'_> {
    fn field(&self, selector: &str) -> Vec<RqlValue> {
        let r = self.run;
        let settings = self.st.settings(r.project_id);
        match selector {
            "title" => vec![RqlValue::Str(r.title.clone())],
            "description" => r
                .description
                .clone()
                .map(RqlValue::Str)
                .into_iter()
                .collect(),
            "milestone.id" => r
                .milestone_id
                .map(|m| RqlValue::Num(m as f64))
                .into_iter()
                .collect(),
            "closed" => vec![RqlValue::Bool(r.closed)],
            "createdAt" => vec![RqlValue::Str(r.created_at.clone())],
            "environment.key" => r
                .environment_id
                .and_then(|id| settings?.environments.iter().find(|e| e.id == id))
                .map(|e| RqlValue::Str(e.key.clone()))
                .into_iter()
                .collect(),
            "configurations.optionName" => r
                .configurations
                .iter()
                .filter_map(|(g, o)| {
                    let group = settings?.config_groups.iter().find(|cg| cg.id == *g)?;
                    group
                        .options
                        .iter()
                        .find(|op| op.id == *o)
                        .map(|op| RqlValue::Str(op.name.clone()))
                })
                .collect(),
            _ => vec![],
        }
    }
}

pub async fn list(
    State(sb): State<Sandbox>,
    PublicUser(caller): PublicUser,
    p: Params,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let page = TokenPage::from_params(&p)?;
    let filter = rql_filter(&p, SELECTORS)?;
    let sort = sort_by(&p, SORT_FIELDS)?;
    let mut runs: Vec<&TestRun> = st
        .runs
        .iter()
        .filter(|r| r.project_id == pid)
        .filter(|r| {
            filter
                .as_ref()
                .is_none_or(|f| f.matches(&RunRecord { run: r, st: &st }))
        })
        .collect();
    if let Some((field, desc)) = sort {
        runs.sort_by(|a, b| {
            let ord = match field {
                "title" => a.title.cmp(&b.title),
                "createdAt" => a.created_at.cmp(&b.created_at),
                _ => a.id.cmp(&b.id),
            }
            .then(a.id.cmp(&b.id));
            if desc { ord.reverse() } else { ord }
        });
    }
    Ok(Json(page.respond(&runs, |r| run_json(&st, r))))
}

fn find_run(st: &Store, pid: i64, raw: &str) -> ApiResult<TestRun> {
    let id = path_id(raw, "test run")?;
    st.run(pid, id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("Test run not found"))
}

fn ensure_open(run: &TestRun) -> ApiResult<()> {
    if run.closed {
        Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            format!(
                "Test run with id {} is closed and cannot be modified",
                run.id
            ),
        ))
    } else {
        Ok(())
    }
}

pub async fn get_one(
    State(sb): State<Sandbox>,
    PublicUser(caller): PublicUser,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let run = find_run(&st, pid, &id)?;
    Ok(data(run_json(&st, &run)))
}

pub async fn cases(
    State(sb): State<Sandbox>,
    PublicUser(caller): PublicUser,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let run = find_run(&st, pid, &id)?;
    let items: Vec<Value> = st
        .run_cases
        .get(&run.id)
        .map(|cases| cases.iter().map(|rc| run_case_json(&st, pid, rc)).collect())
        .unwrap_or_default();
    Ok(Json(json!({ "items": items })))
}

/// Resolves `configurations[]`; with `create_missing`, unknown groups/options
/// named by `name` are added to the project settings.
fn resolve_configurations(
    st: &mut Store,
    pid: i64,
    v: &Value,
    create_missing: bool,
    skip_errors: bool,
) -> ApiResult<Vec<(i64, i64)>> {
    let arr = v
        .as_array()
        .ok_or_else(|| ApiError::field("configurations", "must be an array"))?;
    if arr.len() > 100 {
        return Err(ApiError::field(
            "configurations",
            "size must be between 0 and 100",
        ));
    }
    let mut out = Vec::new();
    for (i, c) in arr.iter().enumerate() {
        let field = format!("configurations[{i}]");
        match resolve_one_configuration(st, pid, c, &field, create_missing) {
            Ok(pair) => {
                // One option per group: a later entry replaces an earlier one.
                out.retain(|(g, _)| *g != pair.0);
                out.push(pair);
            }
            Err(_) if skip_errors => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

fn resolve_one_configuration(
    st: &mut Store,
    pid: i64,
    c: &Value,
    field: &str,
    create_missing: bool,
) -> ApiResult<(i64, i64)> {
    let group_ref = c
        .get("group")
        .ok_or_else(|| ApiError::field(&format!("{field}.group"), "must not be null"))?;
    let option_ref = c
        .get("option")
        .ok_or_else(|| ApiError::field(&format!("{field}.option"), "must not be null"))?;
    let groups: Vec<Named> = st
        .settings(pid)
        .map(|s| {
            s.config_groups
                .iter()
                .map(|g| Named {
                    id: g.id,
                    name: g.name.clone(),
                    is_default: false,
                })
                .collect()
        })
        .unwrap_or_default();
    let group_id = match id_or_name(group_ref, &format!("{field}.group"), &groups) {
        Ok(g) => g.id,
        Err(e) => match group_ref.get("name").and_then(Value::as_str) {
            Some(name) if create_missing => {
                let id = st.alloc_id();
                if let Some(s) = st.settings.get_mut(&pid) {
                    s.config_groups.push(ConfigGroup {
                        id,
                        name: name.to_string(),
                        options: vec![],
                    });
                }
                id
            }
            _ => return Err(e),
        },
    };
    let options: Vec<Named> = st
        .settings(pid)
        .and_then(|s| s.config_groups.iter().find(|g| g.id == group_id))
        .map(|g| g.options.clone())
        .unwrap_or_default();
    let option_id = match id_or_name(option_ref, &format!("{field}.option"), &options) {
        Ok(o) => o.id,
        Err(e) => match option_ref.get("name").and_then(Value::as_str) {
            Some(name) if create_missing => {
                let id = st.alloc_id();
                if let Some(g) = st
                    .settings
                    .get_mut(&pid)
                    .and_then(|s| s.config_groups.iter_mut().find(|g| g.id == group_id))
                {
                    g.options.push(Named {
                        id,
                        name: name.to_string(),
                        is_default: false,
                    });
                }
                id
            }
            _ => return Err(e),
        },
    };
    Ok((group_id, option_id))
}

/// Applies P14/P15 body fields to `run`.
fn apply_run_fields(
    st: &mut Store,
    run: &mut TestRun,
    obj: &Map<String, Value>,
    p: &Params,
) -> ApiResult<()> {
    let pid = run.project_id;
    if obj.contains_key("title") {
        run.title = valid_title(opt_str(obj, "title")?)?;
    }
    if let Some(d) = opt_str(obj, "description")? {
        if d.as_ref().is_some_and(|d| d.chars().count() > 10_000) {
            return Err(ApiError::field(
                "description",
                "size must be between 0 and 10000",
            ));
        }
        run.description = d;
    }
    if let Some(m) = obj.get("milestone") {
        run.milestone_id = if m.is_null() {
            None
        } else {
            let list: Vec<Named> = st
                .milestones
                .iter()
                .filter(|ms| ms.project_id == pid)
                .map(|ms| Named {
                    id: ms.id,
                    name: ms.name.clone(),
                    is_default: false,
                })
                .collect();
            Some(id_or_name(m, "milestone", &list)?.id)
        };
    }
    if let Some(e) = obj.get("environment") {
        run.environment_id = if e.is_null() {
            None
        } else {
            let key = e
                .get("key")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::field("environment.key", "must not be null"))?;
            let env = st
                .settings(pid)
                .and_then(|s| s.environments.iter().find(|env| env.key == key))
                .ok_or_else(|| {
                    ApiError::field("environment.key", format!("environment '{key}' not found"))
                })?;
            Some(env.id)
        };
    }
    if let Some(c) = obj.get("configurations") {
        let create = p.bool("createMissingConfigurations")?.unwrap_or(false);
        let skip = p.bool("skipErrors")?.unwrap_or(false);
        run.configurations = if c.is_null() {
            vec![]
        } else {
            resolve_configurations(st, pid, c, create, skip)?
        };
    }
    if let Some(r) = obj.get("requirements") {
        run.requirements = match r {
            Value::Null => vec![],
            Value::Array(a) => a.clone(),
            _ => return Err(ApiError::field("requirements", "must be an array")),
        };
    }
    Ok(())
}

pub async fn create(
    State(sb): State<Sandbox>,
    PublicUser(caller): PublicUser,
    p: Params,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let mut st = sb.store_mut();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let obj = body_object(body)?;
    if !obj.contains_key("title") {
        return Err(ApiError::field("title", "must not be null"));
    }
    let id = st.alloc_id();
    let mut run = TestRun {
        id,
        project_id: pid,
        title: String::new(),
        description: None,
        milestone_id: None,
        environment_id: None,
        configurations: vec![],
        requirements: vec![],
        closed: false,
        created_by: caller.user_id,
        created_at: iso(crate::auth::unix_now()),
    };
    apply_run_fields(&mut st, &mut run, &obj, &p)?;
    let body = run_json(&st, &run);
    st.runs.push(run);
    st.run_cases.insert(id, vec![]);
    Ok((StatusCode::CREATED, data(body)))
}

pub async fn update(
    State(sb): State<Sandbox>,
    PublicUser(caller): PublicUser,
    Path(id): Path<String>,
    p: Params,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let mut st = sb.store_mut();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let mut run = find_run(&st, pid, &id)?;
    ensure_open(&run)?;
    let obj = body_object(body)?;
    apply_run_fields(&mut st, &mut run, &obj, &p)?;
    let body = run_json(&st, &run);
    if let Some(slot) = st.runs.iter_mut().find(|r| r.id == run.id) {
        *slot = run;
    }
    Ok(data(body))
}

pub async fn add_cases(
    State(sb): State<Sandbox>,
    PublicUser(caller): PublicUser,
    Path(id): Path<String>,
    p: Params,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<StatusCode> {
    let mut st = sb.store_mut();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let run = find_run(&st, pid, &id)?;
    ensure_open(&run)?;
    let obj = body_object(body)?;
    let mut ids: Vec<i64> = Vec::new();
    if let Some(items) = obj.get("items").filter(|v| !v.is_null()) {
        let arr = items
            .as_array()
            .ok_or_else(|| ApiError::field("items", "must be an array"))?;
        for (i, item) in arr.iter().enumerate() {
            let key = item
                .get("key")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::field(&format!("items[{i}].key"), "must not be null"))?;
            let case = st
                .case_by_key(pid, key)
                .filter(|c| !c.deleted)
                .ok_or_else(|| {
                    ApiError::field(
                        &format!("items[{i}].key"),
                        format!("Test case '{key}' not found"),
                    )
                })?;
            ids.push(case.id);
        }
    }
    if let Some(sel) = obj.get("selector").filter(|v| !v.is_null()) {
        if sel.get("allProjectTestCases").and_then(Value::as_bool) == Some(true) {
            ids.extend(
                st.project_cases(pid)
                    .iter()
                    .filter(|c| !c.deleted)
                    .map(|c| c.id),
            );
        }
        if let Some(suites) = sel.get("testSuites").and_then(Value::as_array) {
            for (i, s) in suites.iter().enumerate() {
                let sid = s.get("id").and_then(Value::as_i64).ok_or_else(|| {
                    ApiError::field(&format!("selector.testSuites[{i}].id"), "must not be null")
                })?;
                if st.suite(pid, sid).is_none() {
                    return Err(ApiError::not_found("Test suite not found"));
                }
                let mode = s
                    .get("selectionMode")
                    .and_then(Value::as_str)
                    .unwrap_or("ALL_DESCENDANTS");
                let mut suite_ids = vec![sid];
                match mode {
                    "ALL_DESCENDANTS" => suite_ids.extend(st.descendant_suites(pid, sid)),
                    "IMMEDIATE" => {}
                    other => {
                        return Err(ApiError::field(
                            &format!("selector.testSuites[{i}].selectionMode"),
                            format!("'{other}' is not one of IMMEDIATE, ALL_DESCENDANTS"),
                        ));
                    }
                }
                ids.extend(
                    st.project_cases(pid)
                        .iter()
                        .filter(|c| !c.deleted && suite_ids.contains(&c.suite_id))
                        .map(|c| c.id),
                );
            }
        }
    }
    let list = st.run_cases.entry(run.id).or_default();
    for case_id in ids {
        if !list.iter().any(|rc| rc.case_id == case_id) {
            list.push(RunCase {
                case_id,
                assignee: None,
                result: None,
            });
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

pub async fn import(
    State(sb): State<Sandbox>,
    PublicUser(caller): PublicUser,
    Path(id): Path<String>,
    p: Params,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let mut st = sb.store_mut();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let run = find_run(&st, pid, &id)?;
    ensure_open(&run)?;
    let skip_errors = p.bool("skipErrors")?.unwrap_or(false);
    let add_missing = p.bool("addMissingTestCases")?.unwrap_or(false);
    let obj = body_object(body)?;
    let items = obj
        .get("items")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::field("items", "must not be null"))?;
    let statuses = st
        .settings(pid)
        .map(|s| s.result_statuses.clone())
        .unwrap_or_default();
    let in_run: Vec<i64> = st
        .run_cases
        .get(&run.id)
        .map(|l| l.iter().map(|rc| rc.case_id).collect())
        .unwrap_or_default();

    // Validate everything first: without skipErrors a single bad item fails the lot.
    let mut outcomes = Vec::new();
    let mut planned: Vec<(i64, RunResult)> = Vec::new();
    for item in items {
        let key = item
            .pointer("/testCase/key")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let status_name = item
            .pointer("/result/status/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let case = st.case_by_key(pid, &key).filter(|c| !c.deleted);
        let status = statuses.iter().find(|s| {
            s.name.eq_ignore_ascii_case(status_name)
                || s.aliases
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(status_name))
        });
        let error = match (case, status) {
            (None, _) => Some((
                "TEST_CASE_NOT_FOUND",
                format!("Test case with key '{key}' not found"),
            )),
            (Some(c), _) if !in_run.contains(&c.id) && !add_missing => Some((
                "TEST_CASE_NOT_IN_TEST_RUN",
                format!("Test case '{key}' is not added to the test run"),
            )),
            (_, None) => Some((
                "RESULT_STATUS_NOT_FOUND",
                format!("Result status '{status_name}' not found"),
            )),
            _ => None,
        };
        match (error, case, status) {
            (None, Some(c), Some(s)) => {
                let result = item.get("result").cloned().unwrap_or(Value::Null);
                planned.push((
                    c.id,
                    RunResult {
                        status_id: s.id,
                        details: result
                            .get("details")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        issue: None,
                        execution_time_ms: result
                            .get("executionTimeInMillis")
                            .and_then(Value::as_i64),
                        execution_type: result
                            .get("executionType")
                            .and_then(Value::as_str)
                            .unwrap_or("MANUAL")
                            .to_string(),
                    },
                ));
                outcomes.push(json!({"key": key, "succeeded": true}));
            }
            (err, _, _) => {
                let (reason, message) = err.unwrap_or(("INVALID_ITEM", "Invalid item".to_string()));
                outcomes.push(json!({"key": key, "succeeded": false, "error": {"reason": reason, "message": message}}));
            }
        }
    }
    if !skip_errors && outcomes.iter().any(|o| o["succeeded"] == json!(false)) {
        let mut err = ApiError::bad_request("Some test execution results could not be imported");
        for (i, o) in outcomes.iter().enumerate() {
            if let Some(m) = o.pointer("/error/message").and_then(Value::as_str) {
                err.errors.push(crate::errors::FieldError {
                    source: format!("items[{i}]"),
                    message: m.to_string(),
                });
            }
        }
        return Err(err);
    }
    let list = st.run_cases.entry(run.id).or_default();
    for (case_id, result) in planned {
        match list.iter_mut().find(|rc| rc.case_id == case_id) {
            Some(rc) => rc.result = Some(result),
            None => list.push(RunCase {
                case_id,
                assignee: None,
                result: Some(result),
            }),
        }
    }
    Ok(Json(json!({ "items": outcomes })))
}
