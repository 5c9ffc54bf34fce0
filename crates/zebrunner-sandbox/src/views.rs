//! JSON views: how Zebrunner serialises each entity.
//!
//! Handlers read from the [`Store`] and call these to build response bodies,
//! so field names and nesting live in one place. A few numbers are rendered
//! as numeric strings on purpose (see [`stringly`]) because the real API does
//! that on some items and clients must cope.

use serde_json::{Value, json};

use crate::model::*;
use crate::store::Store;

pub fn person_ref(st: &Store, id: i64) -> Value {
    match st.person(id) {
        Some(p) => json!({"id": p.id, "username": p.username, "email": p.email}),
        None => Value::Null,
    }
}

/// Deterministically renders some numbers as strings: true when `id % modulo == 0`.
pub fn stringly(id: i64, modulo: i64, n: i64) -> Value {
    if id.rem_euclid(modulo) == 0 {
        Value::String(n.to_string())
    } else {
        json!(n)
    }
}

pub fn project_json(p: &Project, with_starred: bool) -> Value {
    let mut v = json!({
        "id": p.id,
        "name": p.name,
        "key": p.key,
        "logoUrl": null,
        "createdAt": p.created_at,
        "leadId": p.lead_id,
        "publiclyAccessible": p.publicly_accessible,
        "deleted": p.deleted,
    });
    if with_starred {
        v["starred"] = json!(p.starred);
    }
    v
}

pub fn suite_json(st: &Store, s: &Suite) -> Value {
    json!({
        "id": s.id,
        "title": s.title,
        "description": s.description,
        "parentSuiteId": s.parent_id,
        "relativePosition": s.relative_position,
        "projectId": s.project_id,
        "deleted": false,
        "createdAt": s.created_at,
        "createdBy": person_ref(st, s.created_by),
        "lastModifiedAt": s.last_modified_at,
        "lastModifiedBy": person_ref(st, s.last_modified_by),
    })
}

fn named_ref(list: &[Named], id: i64) -> Value {
    match list.iter().find(|n| n.id == id) {
        Some(n) => json!({"id": n.id, "name": n.name}),
        None => Value::Null,
    }
}

/// The list item shape (`GET /test-cases`).
pub fn case_short_json(st: &Store, c: &TestCase) -> Value {
    let settings = st.settings(c.project_id);
    let suite = st.suite(c.project_id, c.suite_id);
    json!({
        "id": c.id,
        "key": c.key,
        "title": c.title,
        "deleted": c.deleted,
        "deprecated": c.deprecated,
        "draft": c.draft,
        "priority": settings.map_or(Value::Null, |s| named_ref(&s.priorities, c.priority_id)),
        "automationState": settings.map_or(Value::Null, |s| named_ref(&s.automation_states, c.automation_state_id)),
        "testSuite": suite.map_or(json!({"id": c.suite_id}), |s| json!({"id": s.id, "title": s.title})),
        "createdAt": c.created_at,
        "createdBy": person_ref(st, c.created_by),
        "lastModifiedAt": c.last_modified_at,
        "lastModifiedBy": person_ref(st, c.last_modified_by),
        "customField": c.custom_fields,
    })
}

pub fn steps_json(steps: &[Step]) -> Value {
    Value::Array(
        steps
            .iter()
            .map(|s| json!({"id": s.id, "action": s.action, "expectedResult": s.expected_result, "attachments": []}))
            .collect(),
    )
}

/// The single-case shape (`GET /test-cases/{id}`).
pub fn case_full_json(st: &Store, c: &TestCase) -> Value {
    let mut v = case_short_json(st, c);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("description".into(), json!(c.description));
        obj.insert("relativePosition".into(), json!(c.relative_position));
        obj.insert("attachments".into(), json!(c.attachments));
        obj.insert("preConditions".into(), json!(c.pre_conditions));
        obj.insert("postConditions".into(), json!(c.post_conditions));
        obj.insert("steps".into(), steps_json(&c.steps));
        obj.insert("requirements".into(), json!(c.requirements));
    }
    v
}

pub fn milestone_ref(m: &Milestone) -> Value {
    json!({
        "id": m.id,
        "name": m.name,
        "completed": m.completed,
        "description": m.description,
        "startDate": m.start_date,
        "dueDate": m.due_date,
    })
}

pub fn milestone_json(m: &Milestone) -> Value {
    let mut v = milestone_ref(m);
    v["projectId"] = json!(m.project_id);
    v
}

pub fn run_json(st: &Store, r: &TestRun) -> Value {
    let settings = st.settings(r.project_id);
    let milestone = r
        .milestone_id
        .and_then(|id| st.milestone(r.project_id, id))
        .map_or(Value::Null, milestone_ref);
    let environment = r
        .environment_id
        .and_then(|id| settings?.environments.iter().find(|e| e.id == id))
        .map_or(
            Value::Null,
            |e| json!({"id": e.id, "key": e.key, "name": e.name}),
        );
    let configurations: Vec<Value> = r
        .configurations
        .iter()
        .filter_map(|(g, o)| {
            let group = settings?.config_groups.iter().find(|cg| cg.id == *g)?;
            let option = group.options.iter().find(|op| op.id == *o)?;
            Some(json!({"group": {"id": group.id, "name": group.name}, "option": {"id": option.id, "name": option.name}}))
        })
        .collect();
    let mut summaries = Vec::new();
    if let (Some(settings), Some(cases)) = (settings, st.run_cases.get(&r.id)) {
        for status in &settings.result_statuses {
            let count = cases
                .iter()
                .filter(|c| match &c.result {
                    Some(res) => res.status_id == status.id,
                    None => status.name == "Untested",
                })
                .count();
            if count > 0 {
                summaries.push(json!({"status": {"id": status.id, "name": status.name, "colorHex": status.color_hex}, "testCasesCount": count}));
            }
        }
    }
    json!({
        "id": r.id,
        "title": r.title,
        "description": r.description,
        "milestone": milestone,
        "environment": environment,
        "configurations": configurations,
        "requirements": r.requirements,
        "closed": r.closed,
        "createdBy": person_ref(st, r.created_by),
        "createdAt": r.created_at,
        "executionSummaries": summaries,
    })
}

pub fn run_case_json(st: &Store, project_id: i64, rc: &RunCase) -> Value {
    let case = st.case(project_id, rc.case_id);
    let statuses = st
        .settings(project_id)
        .map(|s| s.result_statuses.as_slice())
        .unwrap_or(&[]);
    let result = rc.result.as_ref().map_or(Value::Null, |res| {
        let status = statuses.iter().find(|s| s.id == res.status_id).map_or(
            Value::Null,
            |s| json!({"id": s.id, "name": s.name, "aliases": s.aliases.join(",")}),
        );
        json!({
            "status": status,
            "details": res.details,
            "issue": res.issue.as_ref().map(|(t, id)| json!({"type": t, "id": id})),
            "executionTimeInMillis": res.execution_time_ms,
            "executionType": res.execution_type,
            "attachments": [],
        })
    });
    json!({
        "testCase": case.map_or(json!({"id": rc.case_id}), |c| json!({"id": c.id, "key": c.key, "title": c.title})),
        "assignee": rc.assignee.map_or(Value::Null, |a| person_ref(st, a)),
        "result": result,
    })
}

/// Per-status counts of a launch, computed from its tests.
pub struct Counts {
    pub passed: i64,
    pub failed: i64,
    pub known_issue: i64,
    pub skipped: i64,
    pub aborted: i64,
    pub in_progress: i64,
    pub total: i64,
}

pub fn counts(tests: &[LaunchTest]) -> Counts {
    let mut c = Counts {
        passed: 0,
        failed: 0,
        known_issue: 0,
        skipped: 0,
        aborted: 0,
        in_progress: 0,
        total: 0,
    };
    for t in tests {
        c.total += 1;
        match t.status.as_str() {
            "PASSED" => c.passed += 1,
            "FAILED" if t.known_issue => c.known_issue += 1,
            "FAILED" => c.failed += 1,
            "SKIPPED" => c.skipped += 1,
            "ABORTED" => c.aborted += 1,
            _ => c.in_progress += 1,
        }
    }
    c
}

fn launch_milestone(st: &Store, l: &Launch) -> Value {
    l.milestone_id
        .and_then(|id| st.milestone(l.project_id, id))
        .map_or(Value::Null, milestone_ref)
}

/// `GET /api/reporting/v1/launches` item. `startedAt` is a numeric string for
/// launch ids divisible by 3, and the counts are strings for ids divisible by 4.
pub fn launch_list_item(st: &Store, l: &Launch) -> Value {
    let c = counts(st.launch_tests(l.id));
    let duration = l.finished_at_ms.map(|f| (f - l.started_at_ms) / 1000);
    json!({
        "id": l.id,
        "name": l.name,
        "status": l.status,
        "projectId": l.project_id,
        "milestone": launch_milestone(st, l),
        "startedAt": stringly(l.id, 3, l.started_at_ms),
        "finishedAt": l.finished_at_ms,
        "duration": duration,
        "passed": stringly(l.id, 4, c.passed),
        "failed": stringly(l.id, 4, c.failed + c.known_issue),
        "failedAsKnown": c.known_issue,
        "skipped": stringly(l.id, 4, c.skipped),
        "aborted": stringly(l.id, 4, c.aborted),
        "queued": 0,
        "inProgress": c.in_progress,
        "total": stringly(l.id, 4, c.total),
        "userId": l.user_id,
        "buildNumber": l.build_number,
        "jobUrl": l.job_url,
        "upstream": false,
        "reviewed": l.reviewed,
        "isRelaunchPossible": l.relaunch_possible(),
        "isLaunchAgainPossible": l.job.is_some(),
    })
}

pub fn launch_json(st: &Store, l: &Launch) -> Value {
    let c = counts(st.launch_tests(l.id));
    let project = st.project(l.project_id);
    json!({
        "id": l.id,
        "name": l.name,
        "status": l.status,
        "projectId": l.project_id,
        "project": project.map(|p| json!({"id": p.id, "name": p.name, "key": p.key, "deleted": p.deleted})),
        "user": person_ref(st, l.user_id),
        "userId": l.user_id,
        "ciRunId": format!("ci-{}-{}", l.project_id, l.id),
        "testSuite": {"id": l.id % 17 + 1, "name": l.name, "projectId": l.project_id},
        "testSuiteId": l.id % 17 + 1,
        "ciBuild": {"jobUrl": l.job_url, "number": l.build_number},
        "milestone": launch_milestone(st, l),
        "startedAt": l.started_at_ms,
        "endedAt": l.finished_at_ms,
        "elapsed": l.finished_at_ms.map(|f| (f - l.started_at_ms) / 1000),
        "framework": "testng",
        "environment": l.environment,
        "build": l.build_number,
        "locale": l.locale,
        "platform": l.platform,
        "platformVersion": null,
        "browser": l.browser,
        "device": null,
        "passed": c.passed,
        "passedManually": 0,
        "failed": c.failed,
        "failedAsKnown": c.known_issue,
        "skipped": c.skipped,
        "blocked": 0,
        "inProgress": c.in_progress,
        "aborted": c.aborted,
        "reviewed": l.reviewed,
        "isRelaunchPossible": l.relaunch_possible(),
        "isLaunchAgainPossible": l.job.is_some(),
        "isAbortPossible": !l.relaunch_possible(),
        "labels": [{"key": "build", "value": l.build_number}, {"key": "env", "value": l.environment}],
        "artifacts": [{"name": "CI job", "value": l.job_url}],
    })
}

/// A launch test. `startTime` is a numeric string for test ids divisible by 5.
pub fn test_json(t: &LaunchTest) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "status": t.status,
        "startTime": stringly(t.id, 5, t.start_ms),
        "finishTime": t.finish_ms,
        "testRunId": t.launch_id,
        "message": t.message,
        "messageHashCode": t.message_hash,
        "issueReferences": t.issue_refs.iter().map(|r| json!({"id": r.id, "type": r.kind, "value": r.value})).collect::<Vec<_>>(),
        "knownIssue": t.known_issue,
        "passedManually": false,
        "owner": t.owner,
        "testClass": t.test_class,
        "artifacts": [],
        "labels": [{"key": "priority", "value": if t.id % 3 == 0 { "P1" } else { "P2" }}],
        "failureTagAssignments": [],
        "testCases": t.tcm_keys.iter().map(|k| json!({"testId": t.id, "tcmType": "ZEBRUNNER", "testCaseId": k, "resultStatus": t.status})).collect::<Vec<_>>(),
        "testGroups": [],
        "testSessionsCount": 1,
        "maintainerId": 3,
        "stability": t.stability,
        "notNullTestGroup": t.test_class,
        "testCaseId": t.tcm_keys.first(),
    })
}
