//! Whether the objects a caller names belong to the project they named.
//!
//! Tools send every id with the project key (or id) the caller named and the
//! policy allowed. But a shared service account may see every project, and
//! wherever Zebrunner does not scope a lookup by that parameter, an id of
//! another project would be answered: a policy bypass. So every referenced
//! object is checked before a preview or an answer, against what Zebrunner
//! returns about its project:
//!
//! * a suite by its `projectId` or `projectKey`, else by being in the
//!   project's suite list;
//! * a test case by its key (`<PROJECT>-<n>`, the project's key);
//! * a launch by its `projectId`;
//! * a milestone by being in the project's milestone list with its
//!   `projectId`;
//! * a TCM test run, which carries no project, by being in the project's run
//!   list (searched by the run's own title, usually one request).
//!
//! A mismatch is refused exactly like a missing object, with the error
//! Zebrunner's 404 for that request gives, so ids of other projects are not
//! confirmed to exist.

use serde_json::Value;
use zebrunner_client::{
    Launch, Milestone, Rql, TestCase, TestRun, TestSuite, TokenPageRequest, ZebrunnerClient,
};

use super::{args, error::ToolError};

/// The project key `raw` names, after checking the caller may use it, that
/// Zebrunner has it, and that it is not deleted: a deleted project answers
/// empty lists, which would read as "nothing there". One request per key
/// every few minutes (the client caches projects, and the key→id look-up
/// the reporting tools make anyway is the same request).
pub async fn project(cx: &crate::context::CallContext, raw: &str) -> Result<String, ToolError> {
    let key = cx.allowed_project(raw)?;
    live_project(&cx.client, &key).await?;
    Ok(key)
}

/// Refuse a project Zebrunner no longer has or has deleted.
pub async fn live_project(client: &ZebrunnerClient, key: &str) -> Result<(), ToolError> {
    let project = client.project(key).await?;
    if project.deleted {
        return Err(ToolError::invalid(format!(
            "project {key} ({}) is deleted in Zebrunner, so it has nothing to show or change; list_projects lists the projects in use",
            project.name
        )));
    }
    Ok(())
}

/// The refusal for `GET /api/public/v1/{segments}` naming `what`.
fn public_missing(client: &ZebrunnerClient, segments: &[String], what: String) -> ToolError {
    client
        .public_not_found(segments.iter().cloned(), what)
        .into()
}

/// Whether a test case key is one of `project`'s (`DEMO-12` in DEMO).
pub fn key_in(project: &str, key: &str) -> bool {
    args::case_key(key).is_ok_and(|(p, _)| p == project)
}

/// One suite of `project`, by id.
pub async fn suite(
    client: &ZebrunnerClient,
    project: &str,
    id: i64,
) -> Result<TestSuite, ToolError> {
    let suite = client.test_suite(project, id).await?;
    if suite.id == id && suite_belongs(client, project, &suite).await? {
        Ok(suite)
    } else {
        Err(suite_missing(client, project, id))
    }
}

/// One suite of `project` as raw JSON (the state before a write), by id.
pub async fn suite_value(
    client: &ZebrunnerClient,
    project: &str,
    id: i64,
) -> Result<Value, ToolError> {
    let value = client
        .public_resource(project, suite_segments(id), suite_what(project, id))
        .await?;
    let parsed: Option<TestSuite> = serde_json::from_value(value.clone()).ok();
    match parsed {
        Some(suite) if suite.id == id && suite_belongs(client, project, &suite).await? => Ok(value),
        _ => Err(suite_missing(client, project, id)),
    }
}

fn suite_segments(id: i64) -> Vec<String> {
    vec!["test-suites".to_string(), id.to_string()]
}

fn suite_what(project: &str, id: i64) -> String {
    format!("test suite {id} in project {project}")
}

fn suite_missing(client: &ZebrunnerClient, project: &str, id: i64) -> ToolError {
    public_missing(client, &suite_segments(id), suite_what(project, id))
}

async fn suite_belongs(
    client: &ZebrunnerClient,
    project: &str,
    suite: &TestSuite,
) -> Result<bool, ToolError> {
    if let Some(key) = &suite.project_key
        && !key.trim().eq_ignore_ascii_case(project)
    {
        return Ok(false);
    }
    match suite.project_id {
        Some(id) => Ok(id == client.project_id(project).await?),
        None if suite.project_key.is_some() => Ok(true),
        // Nothing in the answer says whose it is: the project's own list
        // does (read fresh, so a suite created a moment ago is found).
        None => {
            let mut request = TokenPageRequest::first(100);
            loop {
                let page = client.test_suites_page(project, request.clone()).await?;
                if page.items.iter().any(|s| s.id == suite.id) {
                    return Ok(true);
                }
                match page.next_request(&request) {
                    Some(next) => request = next,
                    None => return Ok(false),
                }
            }
        }
    }
}

/// One test case of `project`, by key (`DEMO-12`).
pub async fn case_by_key(
    client: &ZebrunnerClient,
    project: &str,
    key: &str,
) -> Result<TestCase, ToolError> {
    let case = client.test_case_by_key(project, key).await?;
    if case.key.eq_ignore_ascii_case(key) && key_in(project, &case.key) {
        Ok(case)
    } else {
        Err(case_missing(client, project, &format!("key:{key}"), key))
    }
}

/// One test case of `project`, by numeric id.
pub async fn case_by_id(
    client: &ZebrunnerClient,
    project: &str,
    id: i64,
) -> Result<TestCase, ToolError> {
    let case = client.test_case_by_id(project, id).await?;
    if case.id == id && key_in(project, &case.key) {
        Ok(case)
    } else {
        Err(case_missing(
            client,
            project,
            &id.to_string(),
            &id.to_string(),
        ))
    }
}

/// One test case of `project` as raw JSON (the state before a write), by
/// `ident` (`key:DEMO-12` or the numeric id); `label` names it in errors.
pub async fn case_value(
    client: &ZebrunnerClient,
    project: &str,
    ident: &str,
    label: &str,
) -> Result<Value, ToolError> {
    let segments = vec!["test-cases".to_string(), ident.to_string()];
    let what = format!("{label} in project {project}");
    let value = client
        .public_resource(project, segments.clone(), what.clone())
        .await?;
    let key = value.get("key").and_then(Value::as_str).unwrap_or_default();
    let same = match ident.strip_prefix("key:") {
        Some(wanted) => key.eq_ignore_ascii_case(wanted),
        None => value
            .get("id")
            .map(|v| v.to_string().trim_matches('"') == ident)
            .unwrap_or(false),
    };
    if same && key_in(project, key) {
        Ok(value)
    } else {
        Err(public_missing(client, &segments, what))
    }
}

fn case_missing(client: &ZebrunnerClient, project: &str, ident: &str, label: &str) -> ToolError {
    public_missing(
        client,
        &["test-cases".to_string(), ident.to_string()],
        format!("test case {label} in project {project}"),
    )
}

/// One TCM test run of `project`, by id.
pub async fn run(client: &ZebrunnerClient, project: &str, id: i64) -> Result<TestRun, ToolError> {
    let run = client.test_run(project, id).await?;
    if run.id == id && run_listed(client, project, id, &run.title).await? {
        Ok(run)
    } else {
        Err(run_missing(client, project, id))
    }
}

/// One TCM test run of `project` as raw JSON (the state before a write).
pub async fn run_value(
    client: &ZebrunnerClient,
    project: &str,
    id: i64,
) -> Result<Value, ToolError> {
    let value = client
        .public_resource(project, run_segments(id), run_what(project, id))
        .await?;
    let title = value
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let same = value.get("id").and_then(Value::as_i64) == Some(id);
    if same && run_listed(client, project, id, title).await? {
        Ok(value)
    } else {
        Err(run_missing(client, project, id))
    }
}

fn run_segments(id: i64) -> Vec<String> {
    vec!["test-runs".to_string(), id.to_string()]
}

fn run_what(project: &str, id: i64) -> String {
    format!("test run {id} in project {project}")
}

fn run_missing(client: &ZebrunnerClient, project: &str, id: i64) -> ToolError {
    public_missing(client, &run_segments(id), run_what(project, id))
}

/// Whether run `id` is in `project`'s run list. Runs carry no project, but
/// the list is the project's; searching it by the run's own title keeps
/// this to one request unless many runs share the title.
async fn run_listed(
    client: &ZebrunnerClient,
    project: &str,
    id: i64,
    title: &str,
) -> Result<bool, ToolError> {
    let filter = (!title.trim().is_empty()).then(|| Rql::new().contains("title", title));
    let mut request = TokenPageRequest::first(100);
    loop {
        let page = client
            .test_runs_page(project, filter.as_ref(), None, request.clone())
            .await?;
        if page.items.iter().any(|r| r.id == id) {
            return Ok(true);
        }
        match page.next_request(&request) {
            Some(next) => request = next,
            None => return Ok(false),
        }
    }
}

/// One launch of the project with id `project_id`.
pub async fn launch(
    client: &ZebrunnerClient,
    project_id: i64,
    id: i64,
) -> Result<Launch, ToolError> {
    let launch = client.launch(project_id, id).await?;
    if launch.id == id && launch.project_id == project_id {
        Ok(launch)
    } else {
        Err(client
            .internal_not_found(
                ["api", "reporting", "v1", "launches"]
                    .map(str::to_string)
                    .into_iter()
                    .chain([id.to_string()]),
                format!("launch {id} in project id {project_id}"),
            )
            .into())
    }
}

/// Keep the milestones of the project with id `project_id` (a list may only
/// hold the project's; one that says otherwise is left out).
pub fn own_milestones(project_id: i64, all: Vec<Milestone>) -> Vec<Milestone> {
    all.into_iter()
        .filter(|m| m.project_id == project_id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_keys_name_their_project() {
        assert!(key_in("DEMO", "DEMO-12"));
        assert!(key_in("DEMO", "demo-12"));
        assert!(!key_in("DEMO", "MOBILE-12"));
        assert!(!key_in("DEMO", "DEMOX-1"));
        assert!(!key_in("DEMO", ""));
    }

    #[test]
    fn milestones_of_other_projects_are_left_out() {
        let m = |id, project_id| Milestone {
            id,
            project_id,
            ..Milestone::default()
        };
        let kept: Vec<i64> = own_milestones(1, vec![m(501, 1), m(509, 2), m(502, 1)])
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(kept, [501, 502]);
    }
}
