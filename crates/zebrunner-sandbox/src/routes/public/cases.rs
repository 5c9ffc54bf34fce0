//! Test cases: P5 list (token paging, RQL `filter`, `sortBy`), P6/P7 get by
//! key or id, P8 create, P9 partial update by id or key.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use crate::Sandbox;
use crate::auth::PublicUser;
use crate::errors::{ApiError, ApiResult};
use crate::model::{Change, Step, TestCase};
use crate::paging::{Params, TokenPage};
use crate::routes::{
    JsonBody, body_object, data, id_or_name, opt_bool, opt_str, path_id, project_for, rql_filter,
    sort_by, valid_title,
};
use crate::rql::{Record, Value as RqlValue};
use crate::seed::iso;
use crate::store::Store;
use crate::views::{case_full_json, case_short_json};

/// Selectors Zebrunner accepts for test cases. Names (e.g.
/// `automationState.name`) are rejected: clients must resolve ids first.
pub const SELECTORS: &[&str] = &[
    "id",
    "key",
    "title",
    "testSuite.id",
    "automationState.id",
    "priority.id",
    "createdAt",
    "deprecated",
    "draft",
    "deleted",
];

const SORT_FIELDS: &[&str] = &[
    "id",
    "key",
    "title",
    "createdAt",
    "lastModifiedAt",
    "relativePosition",
];

impl Record for TestCase {
    fn field(&self, selector: &str) -> Vec<RqlValue> {
        let v = match selector {
            "id" => RqlValue::Num(self.id as f64),
            "key" => RqlValue::Str(self.key.clone()),
            "title" => RqlValue::Str(self.title.clone()),
            "testSuite.id" => RqlValue::Num(self.suite_id as f64),
            "automationState.id" => RqlValue::Num(self.automation_state_id as f64),
            "priority.id" => RqlValue::Num(self.priority_id as f64),
            "createdAt" => RqlValue::Str(self.created_at.clone()),
            "deprecated" => RqlValue::Bool(self.deprecated),
            "draft" => RqlValue::Bool(self.draft),
            "deleted" => RqlValue::Bool(self.deleted),
            _ => return vec![],
        };
        vec![v]
    }
}

fn key_number(key: &str) -> i64 {
    key.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
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
    let mut cases: Vec<&TestCase> = st
        .project_cases(pid)
        .iter()
        .filter(|c| filter.as_ref().is_none_or(|f| f.matches(*c)))
        .collect();
    if let Some((field, desc)) = sort {
        // Stable sort with id as the tie-breaker keeps paging deterministic.
        cases.sort_by(|a, b| {
            let ord = match field {
                "title" => a.title.cmp(&b.title),
                "key" => key_number(&a.key).cmp(&key_number(&b.key)),
                "createdAt" => a.created_at.cmp(&b.created_at),
                "lastModifiedAt" => a.last_modified_at.cmp(&b.last_modified_at),
                "relativePosition" => a.relative_position.cmp(&b.relative_position),
                _ => a.id.cmp(&b.id),
            }
            .then(a.id.cmp(&b.id));
            if desc { ord.reverse() } else { ord }
        });
    }
    Ok(Json(page.respond(&cases, |c| case_short_json(&st, c))))
}

/// Finds a case by `key:<KEY>` or numeric id, as in the path.
fn locate(st: &Store, pid: i64, ident: &str) -> ApiResult<i64> {
    let found = match ident.strip_prefix("key:") {
        Some(key) => st.case_by_key(pid, key).map(|c| c.id),
        None => st.case(pid, path_id(ident, "test case")?).map(|c| c.id),
    };
    found.ok_or_else(|| ApiError::not_found("Test case not found"))
}

pub async fn get_one(
    State(sb): State<Sandbox>,
    PublicUser(caller): PublicUser,
    Path(ident): Path<String>,
    p: Params,
) -> ApiResult<Json<Value>> {
    let st = sb.store();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let id = locate(&st, pid, &ident)?;
    let case = st
        .case(pid, id)
        .ok_or_else(|| ApiError::not_found("Test case not found"))?;
    Ok(data(case_full_json(&st, case)))
}

/// Applies the writable fields present in `obj` to `case`, returning change
/// items for the audit log. Shared by create (everything new) and PATCH.
fn apply_fields(
    st: &Store,
    case: &mut TestCase,
    obj: &Map<String, Value>,
    next_step_id: &mut i64,
) -> ApiResult<Vec<Value>> {
    let settings = st
        .settings(case.project_id)
        .ok_or_else(|| ApiError::not_found("Project settings not found"))?;
    let mut changes = Vec::new();
    let mut scalar = |field: &str, old: Value, new: Value| {
        if old != new {
            changes.push(
                json!({"field": field, "action": "UPDATE", "oldValue": old, "newValue": new}),
            );
        }
    };

    if let Some(v) = obj.get("testSuite").filter(|v| !v.is_null()) {
        let id = v
            .get("id")
            .and_then(Value::as_i64)
            .ok_or_else(|| ApiError::field("testSuite.id", "must be a number"))?;
        if st.suite(case.project_id, id).is_none() {
            return Err(ApiError::not_found("Test suite not found"));
        }
        scalar("testSuite", json!(case.suite_id), json!(id));
        case.suite_id = id;
    }
    if obj.contains_key("title") {
        let title = valid_title(opt_str(obj, "title")?)?;
        scalar("title", json!(case.title), json!(title));
        case.title = title;
    }
    if let Some(d) = opt_str(obj, "description")? {
        if d.as_ref().is_some_and(|d| d.chars().count() > 5000) {
            return Err(ApiError::field(
                "description",
                "size must be between 0 and 5000",
            ));
        }
        scalar("description", json!(case.description), json!(d));
        case.description = d;
    }
    if let Some(v) = obj.get("priority").filter(|v| !v.is_null()) {
        let prio = id_or_name(v, "priority", &settings.priorities)?;
        scalar(
            "priority",
            json!(name_of(&settings.priorities, case.priority_id)),
            json!(prio.name),
        );
        case.priority_id = prio.id;
    }
    if let Some(v) = obj.get("automationState").filter(|v| !v.is_null()) {
        let state = id_or_name(v, "automationState", &settings.automation_states)?;
        scalar(
            "automationState",
            json!(name_of(
                &settings.automation_states,
                case.automation_state_id
            )),
            json!(state.name),
        );
        case.automation_state_id = state.id;
    }
    if let Some(b) = opt_bool(obj, "draft")? {
        scalar("draft", json!(case.draft), json!(b));
        case.draft = b;
    }
    if let Some(b) = opt_bool(obj, "deprecated")? {
        scalar("deprecated", json!(case.deprecated), json!(b));
        case.deprecated = b;
    }
    if let Some(v) = opt_str(obj, "preConditions")? {
        let old = case.pre_conditions.clone();
        case.pre_conditions = v;
        push_text_change(&mut changes, "preConditions", &old, &case.pre_conditions);
    }
    if let Some(v) = opt_str(obj, "postConditions")? {
        let old = case.post_conditions.clone();
        case.post_conditions = v;
        push_text_change(&mut changes, "postConditions", &old, &case.post_conditions);
    }
    if let Some(v) = obj.get("steps") {
        let steps = parse_steps(v, next_step_id)?;
        let same = steps.len() == case.steps.len()
            && steps
                .iter()
                .zip(&case.steps)
                .all(|(a, b)| a.action == b.action && a.expected_result == b.expected_result);
        if !same {
            changes.push(json!({"field": "steps", "action": "UPDATE", "oldValues": audit_steps(&case.steps), "newValues": audit_steps(&steps)}));
        }
        case.steps = steps;
    }
    if let Some(v) = obj.get("requirements") {
        case.requirements = parse_requirements(v)?;
    }
    if let Some(v) = obj.get("attachments") {
        case.attachments = parse_attachments(v, "attachments")?;
    }
    if let Some(v) = obj.get("customField").filter(|v| !v.is_null()) {
        let map = v
            .as_object()
            .ok_or_else(|| ApiError::field("customField", "must be an object"))?;
        for (name, value) in map {
            let Some(field) = settings
                .custom_fields
                .iter()
                .find(|f| &f.system_name == name)
            else {
                return Err(ApiError::field(
                    &format!("customField.{name}"),
                    "unknown custom field system name",
                ));
            };
            // A dropdown takes one of its options, a checkbox a boolean.
            let fits = match field.data_type.as_str() {
                "DROPDOWN" => value
                    .as_str()
                    .is_some_and(|v| field.options.iter().any(|o| o == v)),
                "CHECKBOX" => value.is_boolean(),
                _ => true,
            };
            if !value.is_null() && !fits {
                return Err(ApiError::field(
                    &format!("customField.{name}"),
                    format!("invalid value {value} for a {} field", field.data_type),
                ));
            }
            // Keys merge; null clears a value.
            if value.is_null() {
                case.custom_fields.remove(name);
            } else {
                case.custom_fields.insert(name.clone(), value.clone());
            }
        }
    }
    Ok(changes)
}

fn name_of(list: &[crate::model::Named], id: i64) -> Option<String> {
    list.iter().find(|n| n.id == id).map(|n| n.name.clone())
}

fn push_text_change(
    changes: &mut Vec<Value>,
    field: &str,
    old: &Option<String>,
    new: &Option<String>,
) {
    if old != new {
        let arr = |t: &Option<String>| match t {
            Some(t) => json!([{"relativePosition": 0, "action": t, "expectedResult": ""}]),
            None => json!([]),
        };
        changes.push(json!({"field": field, "action": "UPDATE", "oldValues": arr(old), "newValues": arr(new)}));
    }
}

fn audit_steps(steps: &[Step]) -> Value {
    Value::Array(
        steps
            .iter()
            .enumerate()
            .map(|(i, s)| json!({"relativePosition": i, "action": s.action, "expectedResult": s.expected_result, "attachments": []}))
            .collect(),
    )
}

fn parse_steps(v: &Value, next_id: &mut i64) -> ApiResult<Vec<Step>> {
    if v.is_null() {
        return Ok(vec![]);
    }
    let arr = v
        .as_array()
        .ok_or_else(|| ApiError::field("steps", "must be an array"))?;
    arr.iter()
        .enumerate()
        .map(|(i, s)| {
            let obj = s
                .as_object()
                .ok_or_else(|| ApiError::field(&format!("steps[{i}]"), "must be an object"))?;
            let text = |name: &str| -> ApiResult<String> {
                match obj.get(name) {
                    None | Some(Value::Null) => Ok(String::new()),
                    Some(Value::String(s)) => Ok(s.clone()),
                    Some(_) => Err(ApiError::field(
                        &format!("steps[{i}].{name}"),
                        "must be a string",
                    )),
                }
            };
            *next_id += 1;
            Ok(Step {
                id: *next_id,
                action: text("action")?,
                expected_result: text("expectedResult")?,
            })
        })
        .collect()
}

fn parse_requirements(v: &Value) -> ApiResult<Vec<Value>> {
    if v.is_null() {
        return Ok(vec![]);
    }
    let arr = v
        .as_array()
        .ok_or_else(|| ApiError::field("requirements", "must be an array"))?;
    arr.iter()
        .enumerate()
        .map(|(i, r)| {
            let source = r.get("source").and_then(Value::as_str);
            let reference = r.get("reference").and_then(Value::as_str);
            match (source, reference) {
                (Some(s @ ("JIRA" | "AZURE_DEVOPS")), Some(reference))
                    if !reference.trim().is_empty() =>
                {
                    Ok(json!({"source": s, "reference": reference}))
                }
                (Some("JIRA" | "AZURE_DEVOPS"), _) => Err(ApiError::field(
                    &format!("requirements[{i}].reference"),
                    "must not be blank",
                )),
                _ => Err(ApiError::field(
                    &format!("requirements[{i}].source"),
                    "must be one of JIRA, AZURE_DEVOPS",
                )),
            }
        })
        .collect()
}

fn parse_attachments(v: &Value, field: &str) -> ApiResult<Vec<Value>> {
    if v.is_null() {
        return Ok(vec![]);
    }
    let arr = v
        .as_array()
        .ok_or_else(|| ApiError::field(field, "must be an array"))?;
    arr.iter()
        .enumerate()
        .map(|(i, a)| match a.get("fileUuid").and_then(Value::as_str) {
            Some(u) => Ok(json!({"fileUuid": u})),
            None => Err(ApiError::field(
                &format!("{field}[{i}].fileUuid"),
                "must not be null",
            )),
        })
        .collect()
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
    let suite_id = obj
        .get("testSuite")
        .and_then(|s| s.get("id"))
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::field("testSuite", "must not be null"))?;
    if !obj.contains_key("title") {
        return Err(ApiError::field("title", "must not be null"));
    }
    let settings = st
        .settings(pid)
        .ok_or_else(|| ApiError::not_found("Project settings not found"))?;
    let default_of =
        |list: &[crate::model::Named]| list.iter().find(|n| n.is_default).map_or(0, |n| n.id);
    let (prio, state) = (
        default_of(&settings.priorities),
        default_of(&settings.automation_states),
    );
    let now = iso(crate::auth::unix_now());
    let id = st.alloc_id();
    let mut case = TestCase {
        id,
        project_id: pid,
        key: String::new(),
        title: String::new(),
        description: None,
        suite_id,
        priority_id: prio,
        automation_state_id: state,
        deprecated: false,
        draft: false,
        deleted: false,
        pre_conditions: None,
        post_conditions: None,
        steps: vec![],
        requirements: vec![],
        custom_fields: Map::new(),
        attachments: vec![],
        relative_position: 0,
        created_at: now.clone(),
        created_by: caller.user_id,
        last_modified_at: now.clone(),
        last_modified_by: caller.user_id,
    };
    let mut step_id = id * 10;
    apply_fields(&st, &mut case, &obj, &mut step_id)?;
    // Allocate the key only once validation passed, so failures leave no gaps.
    case.key = st
        .next_case_key(pid)
        .ok_or_else(|| ApiError::not_found("Project not found"))?;
    case.relative_position = st.project_cases(pid).len() as i64 + 1;
    st.changes.insert(
        id,
        vec![Change {
            id: id * 100,
            instant: now,
            user_id: caller.user_id,
            kind: "CREATE",
            items: vec![json!({"field": "title", "action": "SET", "newValue": case.title})],
        }],
    );
    let body = case_full_json(&st, &case);
    st.insert_case(case);
    Ok((StatusCode::CREATED, data(body)))
}

pub async fn update(
    State(sb): State<Sandbox>,
    PublicUser(caller): PublicUser,
    Path(ident): Path<String>,
    p: Params,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let mut st = sb.store_mut();
    let (pid, _) = project_for(&st, &caller, &p)?;
    let id = locate(&st, pid, &ident)?;
    let obj = body_object(body)?;
    let mut case = st
        .case(pid, id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("Test case not found"))?;
    let mut step_id = case.steps.iter().map(|s| s.id).max().unwrap_or(id * 10);
    let items = apply_fields(&st, &mut case, &obj, &mut step_id)?;
    let now = iso(crate::auth::unix_now());
    case.last_modified_at = now.clone();
    case.last_modified_by = caller.user_id;
    if !items.is_empty() {
        let log = st.changes.entry(id).or_default();
        let change_id = log.iter().map(|c| c.id).max().unwrap_or(id * 100) + 1;
        log.push(Change {
            id: change_id,
            instant: now,
            user_id: caller.user_id,
            kind: "UPDATE",
            items,
        });
    }
    let body = case_full_json(&st, &case);
    if let Some(slot) = st.case_mut(pid, id) {
        *slot = case;
    }
    Ok(data(body))
}
