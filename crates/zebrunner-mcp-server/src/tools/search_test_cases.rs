//! `search_test_cases`: filtered, cursor-paged search over a project's test
//! cases, with an exact `count_only` mode.
//!
//! Filters Zebrunner understands go into one RQL filter; the rest (modified
//! dates, the field-path filter) are applied here while paging. Pages are
//! always fetched at Zebrunner's maximum (100) so a count costs the minimum
//! number of requests, and the cursor remembers the Zebrunner page token plus
//! an offset, so paging never skips or repeats a case.

use regex::{Regex, RegexBuilder};
use rmcp::{
    ErrorData as McpError,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use zebrunner_client::{Rql, TestCase, TokenPageRequest};

use super::{
    args::{self, Bound, NameOrId},
    cursor,
    error::ToolError,
    hierarchy::Hierarchy,
    output::{Format, ToolOutput, cell, finish, truncate},
    scope,
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

/// Zebrunner's largest page.
const ZEBRUNNER_PAGE: u32 = 100;
const DEFAULT_LIMIT: u32 = 25;

#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FieldMatch {
    /// Equal, ignoring case.
    #[default]
    Exact,
    /// Contains, ignoring case.
    Contains,
    /// Matches a regular expression.
    Regex,
    /// Present and not empty.
    Exists,
}

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchTestCasesArgs {
    pub project_key: String,
    /// Only cases in this suite.
    pub suite_id: Option<i64>,
    /// With `suite_id`: sub-suites too (default true).
    pub include_sub_suites: Option<bool>,
    /// In the title, any case.
    pub title_contains: Option<String>,
    /// Names (e.g. "Automated") or ids; any matches.
    #[serde(default)]
    pub automation_states: Vec<NameOrId>,
    /// Names (e.g. "Critical") or ids; any matches.
    #[serde(default)]
    pub priorities: Vec<NameOrId>,
    /// YYYY-MM-DD or RFC 3339.
    pub created_after: Option<String>,
    /// YYYY-MM-DD or RFC 3339.
    pub created_before: Option<String>,
    /// YYYY-MM-DD or RFC 3339.
    pub modified_after: Option<String>,
    /// YYYY-MM-DD or RFC 3339.
    pub modified_before: Option<String>,
    /// true: only deprecated; false: no deprecated.
    pub deprecated: Option<bool>,
    /// true: only drafts; false: no drafts.
    pub draft: Option<bool>,
    /// Case JSON path, e.g. `customField.component`.
    pub field_path: Option<String>,
    /// Compared with `field_path` (not for `exists`).
    pub field_value: Option<String>,
    /// Default exact; exact and contains ignore case.
    pub field_match: Option<FieldMatch>,
    /// Cases per answer (default 25).
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// Only count (reads all matches).
    #[serde(default)]
    pub count_only: bool,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchTestCasesOutput {
    pub project_key: String,
    /// The RQL filter sent to Zebrunner, if any.
    pub filter: Option<String>,
    /// Exact number of matching cases, when known: always with `count_only`,
    /// and whenever this answer reached the last match.
    pub total_matched: Option<u64>,
    /// Cases in this answer.
    pub returned: usize,
    /// Whether more matching cases remain after this answer.
    pub has_more: bool,
    /// Pass as `cursor` to get the next cases.
    pub next_cursor: Option<String>,
    /// Zebrunner pages read for this answer.
    pub pages_scanned: u32,
    pub test_cases: Vec<CaseSummary>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CaseSummary {
    pub id: i64,
    pub key: String,
    pub title: String,
    pub suite_id: Option<i64>,
    pub suite_path: Option<String>,
    pub priority: Option<String>,
    pub automation_state: Option<String>,
    pub draft: bool,
    pub deprecated: bool,
    pub created_at: Option<String>,
    pub last_modified_at: Option<String>,
}

impl ToolOutput for SearchTestCasesOutput {
    fn markdown(&self) -> String {
        let total = match self.total_matched {
            Some(n) => format!("{n} matched"),
            None => "more than shown matched".into(),
        };
        let mut md = format!("**{}: {}**", self.project_key, total);
        if let Some(f) = &self.filter {
            md.push_str(&format!(" (filter `{f}`)"));
        }
        md.push('\n');
        if self.returned > 0 {
            md.push_str("\n| Key | Title | Suite | Priority | Automation | Flags |\n|---|---|---|---|---|---|\n");
            for c in &self.test_cases {
                let mut flags = Vec::new();
                if c.draft {
                    flags.push("draft");
                }
                if c.deprecated {
                    flags.push("deprecated");
                }
                md.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} |\n",
                    c.key,
                    cell(&truncate(&c.title, 90)),
                    cell(&truncate(c.suite_path.as_deref().unwrap_or(""), 60)),
                    c.priority.as_deref().unwrap_or(""),
                    c.automation_state.as_deref().unwrap_or(""),
                    flags.join(", ")
                ));
            }
        }
        if let Some(next) = &self.next_cursor {
            md.push_str(&format!(
                "\nShowing {} cases; more remain. Call again with `cursor` = `{next}`.\n",
                self.returned
            ));
        }
        md
    }
}

/// Where the next answer of a search starts.
#[derive(Debug, Serialize, Deserialize)]
struct SearchCursor {
    /// Fingerprint of the search.
    q: String,
    /// Zebrunner page token of the page holding the next case.
    t: Option<String>,
    /// Matching cases of that page already returned.
    o: usize,
    /// Matching cases returned before this page.
    n: u64,
}

/// Filters Zebrunner cannot apply, applied while paging.
struct LocalFilter {
    modified_after: Option<OffsetDateTime>,
    modified_before: Option<OffsetDateTime>,
    field: Option<FieldFilter>,
}

struct FieldFilter {
    path: Vec<String>,
    matcher: Matcher,
}

enum Matcher {
    Exact(String),
    Contains(String),
    Regex(Regex),
    Exists,
}

impl LocalFilter {
    fn matches(&self, case: &TestCase) -> bool {
        if case.deleted {
            return false;
        }
        if self.modified_after.is_some() || self.modified_before.is_some() {
            let Some(at) = case
                .last_modified_at
                .as_deref()
                .and_then(args::parse_instant)
            else {
                return false;
            };
            if self.modified_after.is_some_and(|lo| at < lo)
                || self.modified_before.is_some_and(|hi| at > hi)
            {
                return false;
            }
        }
        match &self.field {
            Some(field) => field.matches(case),
            None => true,
        }
    }
}

impl FieldFilter {
    fn matches(&self, case: &TestCase) -> bool {
        let Ok(json) = serde_json::to_value(case) else {
            return false;
        };
        let mut current = &json;
        for segment in &self.path {
            match current.get(segment) {
                Some(next) => current = next,
                None => return false,
            }
        }
        match current {
            Value::Array(items) => items.iter().any(|v| self.matcher.matches(v)),
            other => self.matcher.matches(other),
        }
    }
}

impl Matcher {
    fn matches(&self, value: &Value) -> bool {
        let text = match value {
            Value::Null => return false,
            Value::String(s) => s.clone(),
            Value::Object(o) => match o.get("name").or_else(|| o.get("title")) {
                Some(Value::String(s)) => s.clone(),
                _ => value.to_string(),
            },
            other => other.to_string(),
        };
        match self {
            Matcher::Exists => !text.trim().is_empty(),
            Matcher::Exact(want) => text.to_lowercase() == *want,
            Matcher::Contains(want) => text.to_lowercase().contains(want.as_str()),
            Matcher::Regex(re) => re.is_match(&text),
        }
    }
}

/// Everything that identifies a search, for cursor fingerprints.
#[derive(Serialize)]
struct QueryIdentity<'a> {
    project: &'a str,
    rql: Option<String>,
    modified_after: &'a Option<String>,
    modified_before: &'a Option<String>,
    field_path: &'a Option<String>,
    field_value: &'a Option<String>,
    field_match: Option<FieldMatch>,
}

#[tool_router(router = search_test_cases_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "search_test_cases",
        description = "Search a project's test cases by suite, title, automation states, priorities, dates, deprecated/draft and a field path. Answers give `total_matched` when known and `next_cursor`; `count_only` counts exactly.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<SearchTestCasesOutput>(),
        annotations(title = "Search test cases", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn search_test_cases(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<SearchTestCasesArgs>,
    ) -> Result<CallToolResult, McpError> {
        finish(
            &cx,
            args.format,
            self.search_test_cases_impl(&cx, &args).await,
        )
    }

    async fn search_test_cases_impl(
        &self,
        cx: &CallContext,
        a: &SearchTestCasesArgs,
    ) -> Result<SearchTestCasesOutput, ToolError> {
        let client = &cx.client;
        let project = scope::project(cx, &a.project_key).await?;
        let limit = a.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=100).contains(&limit) {
            return Err(ToolError::invalid(format!(
                "`limit` must be between 1 and 100, got {limit}"
            )));
        }
        if a.count_only && a.cursor.is_some() {
            return Err(ToolError::invalid(
                "`count_only` counts everything; omit `cursor`",
            ));
        }
        let local = local_filter(a)?;
        let rql = self.build_rql(cx, &project, a).await?;
        let rql_text = (!rql.is_empty()).then(|| rql.to_string());
        let fingerprint = cursor::fingerprint(&QueryIdentity {
            project: &project,
            rql: rql_text.clone(),
            modified_after: &a.modified_after,
            modified_before: &a.modified_before,
            field_path: &a.field_path,
            field_value: &a.field_value,
            field_match: a.field_match,
        });
        let filter = rql_text.as_ref().map(|_| &rql);

        if a.count_only {
            let mut total = 0u64;
            let mut pages = 0u32;
            let mut token = None;
            loop {
                let page = client
                    .test_cases_page(&project, filter, page_request(token))
                    .await?;
                pages += 1;
                total += page.items.iter().filter(|c| local.matches(c)).count() as u64;
                match page.next_page_token {
                    Some(next) => token = Some(next),
                    None => break,
                }
            }
            return Ok(SearchTestCasesOutput {
                project_key: project,
                filter: rql_text,
                total_matched: Some(total),
                returned: 0,
                has_more: false,
                next_cursor: None,
                pages_scanned: pages,
                test_cases: Vec::new(),
            });
        }

        let (mut token, mut skip, before) = match a.cursor.as_deref() {
            Some(raw) => {
                let c: SearchCursor = cx.cursors.decode(raw)?;
                if c.q != fingerprint {
                    return Err(ToolError::invalid(
                        "`cursor` belongs to a different search; repeat the search without `cursor`",
                    ));
                }
                (c.t, c.o, c.n)
            }
            None => (None, 0, 0),
        };
        let mut found: Vec<TestCase> = Vec::new();
        let mut pages = 0u32;
        let mut next: Option<SearchCursor> = None;
        // Matching cases that precede the current page.
        let mut returned_before_page = before.saturating_sub(skip as u64);
        'pages: loop {
            let page = client
                .test_cases_page(&project, filter, page_request(token.clone()))
                .await?;
            pages += 1;
            let matching: Vec<TestCase> = page
                .items
                .into_iter()
                .filter(|c| local.matches(c))
                .collect();
            let page_matches = matching.len();
            for (index, case) in matching.into_iter().enumerate().skip(skip) {
                if found.len() == limit as usize {
                    next = Some(SearchCursor {
                        q: fingerprint.clone(),
                        t: token.clone(),
                        o: index,
                        n: returned_before_page + index as u64,
                    });
                    break 'pages;
                }
                found.push(case);
            }
            returned_before_page += page_matches as u64;
            skip = 0;
            match page.next_page_token {
                None => break,
                Some(next_token) => {
                    token = Some(next_token);
                    if found.len() == limit as usize {
                        next = Some(SearchCursor {
                            q: fingerprint.clone(),
                            t: token.clone(),
                            o: 0,
                            n: returned_before_page,
                        });
                        break;
                    }
                }
            }
        }

        let suites = client.all_test_suites(&project).await?;
        let hierarchy = Hierarchy::new(&suites);
        let total_matched = next.is_none().then_some(before + found.len() as u64);
        let test_cases: Vec<CaseSummary> = found
            .into_iter()
            .map(|c| {
                let suite_id = c.test_suite.as_ref().map(|s| s.id);
                CaseSummary {
                    id: c.id,
                    key: c.key,
                    title: c.title,
                    suite_id,
                    suite_path: suite_id.and_then(|id| hierarchy.path(id)),
                    priority: c.priority.map(|p| p.name),
                    automation_state: c.automation_state.map(|s| s.name),
                    draft: c.draft,
                    deprecated: c.deprecated,
                    created_at: c.created_at,
                    last_modified_at: c.last_modified_at,
                }
            })
            .collect();
        Ok(SearchTestCasesOutput {
            project_key: project,
            filter: rql_text,
            total_matched,
            returned: test_cases.len(),
            has_more: next.is_some(),
            next_cursor: next.as_ref().map(|c| cx.cursors.encode(c)),
            pages_scanned: pages,
            test_cases,
        })
    }

    /// The RQL for every filter Zebrunner applies itself, with names
    /// resolved to ids.
    async fn build_rql(
        &self,
        cx: &CallContext,
        project: &str,
        a: &SearchTestCasesArgs,
    ) -> Result<Rql, ToolError> {
        let client = &cx.client;
        let mut rql = Rql::new();
        if let Some(suite_id) = a.suite_id {
            if a.include_sub_suites.unwrap_or(true) {
                let suites = client.all_test_suites(project).await?;
                let ids = Hierarchy::new(&suites).subtree(suite_id);
                if ids.is_empty() {
                    return Err(ToolError::invalid(format!(
                        "suite {suite_id} does not exist in project {project}; list_test_suites shows the suites"
                    )));
                }
                rql = if ids.len() == 1 {
                    rql.eq("testSuite.id", suite_id)
                } else {
                    rql.in_("testSuite.id", ids)
                };
            } else {
                let suites = client.all_test_suites(project).await?;
                if Hierarchy::new(&suites).get(suite_id).is_none() {
                    return Err(ToolError::invalid(format!(
                        "suite {suite_id} does not exist in project {project}; list_test_suites shows the suites"
                    )));
                }
                rql = rql.eq("testSuite.id", suite_id);
            }
        }
        if !a.automation_states.is_empty() {
            let mut ids = Vec::new();
            for state in &a.automation_states {
                ids.push(
                    client
                        .resolve_automation_state(project, &state.as_lookup())
                        .await?,
                );
            }
            rql = one_or_many(rql, "automationState.id", ids);
        }
        if !a.priorities.is_empty() {
            let mut ids = Vec::new();
            for priority in &a.priorities {
                ids.push(
                    client
                        .resolve_priority(project, &priority.as_lookup())
                        .await?,
                );
            }
            rql = one_or_many(rql, "priority.id", ids);
        }
        if let Some(title) = a
            .title_contains
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            rql = rql.contains("title", title);
        }
        if let Some(after) = &a.created_after {
            rql = rql.ge(
                "createdAt",
                args::rfc3339(args::date_bound("created_after", after, Bound::Lower)?),
            );
        }
        if let Some(before) = &a.created_before {
            rql = rql.le(
                "createdAt",
                args::rfc3339(args::date_bound("created_before", before, Bound::Upper)?),
            );
        }
        if let Some(deprecated) = a.deprecated {
            rql = rql.eq("deprecated", deprecated);
        }
        if let Some(draft) = a.draft {
            rql = rql.eq("draft", draft);
        }
        Ok(rql)
    }
}

fn one_or_many(rql: Rql, field: &str, mut ids: Vec<i64>) -> Rql {
    ids.sort_unstable();
    ids.dedup();
    if ids.len() == 1 {
        rql.eq(field, ids[0])
    } else {
        rql.in_(field, ids)
    }
}

fn page_request(page_token: Option<String>) -> TokenPageRequest {
    TokenPageRequest {
        max_page_size: ZEBRUNNER_PAGE,
        page_token,
    }
}

fn local_filter(a: &SearchTestCasesArgs) -> Result<LocalFilter, ToolError> {
    let modified_after = a
        .modified_after
        .as_deref()
        .map(|v| args::date_bound("modified_after", v, Bound::Lower))
        .transpose()?;
    let modified_before = a
        .modified_before
        .as_deref()
        .map(|v| args::date_bound("modified_before", v, Bound::Upper))
        .transpose()?;
    let field = match a
        .field_path
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        None => {
            if a.field_value.is_some() {
                return Err(ToolError::invalid("`field_value` needs `field_path`"));
            }
            None
        }
        Some(path) => {
            let segments: Vec<String> = path.split('.').map(|s| s.trim().to_string()).collect();
            if segments.iter().any(String::is_empty) || segments.len() > 8 {
                return Err(ToolError::invalid(format!(
                    "`field_path` {path:?} is not a dot path such as customField.component"
                )));
            }
            let mode = a.field_match.unwrap_or_default();
            let value = a.field_value.as_deref();
            let matcher = match (mode, value) {
                (FieldMatch::Exists, _) => Matcher::Exists,
                (_, None) => {
                    return Err(ToolError::invalid(
                        "`field_value` is needed unless `field_match` is exists",
                    ));
                }
                (FieldMatch::Exact, Some(v)) => Matcher::Exact(v.trim().to_lowercase()),
                (FieldMatch::Contains, Some(v)) => Matcher::Contains(v.trim().to_lowercase()),
                (FieldMatch::Regex, Some(v)) => {
                    Matcher::Regex(RegexBuilder::new(v).size_limit(1 << 20).build().map_err(
                        |e| {
                            ToolError::invalid(format!(
                                "`field_value` is not a valid regular expression: {e}"
                            ))
                        },
                    )?)
                }
            };
            Some(FieldFilter {
                path: segments,
                matcher,
            })
        }
    };
    Ok(LocalFilter {
        modified_after,
        modified_before,
        field,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn case(v: Value) -> TestCase {
        serde_json::from_value(v).unwrap()
    }

    fn filter_of(path: &str, value: Option<&str>, mode: FieldMatch) -> LocalFilter {
        local_filter(&SearchTestCasesArgs {
            project_key: "DEMO".into(),
            field_path: Some(path.into()),
            field_value: value.map(Into::into),
            field_match: Some(mode),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn field_path_modes() {
        let c = case(json!({"id": 1, "key": "DEMO-1", "title": "Login works",
            "customField": {"component": "Auth", "tags": ["smoke", "ui"]},
            "priority": {"id": 3, "name": "Major"}}));
        assert!(filter_of("customField.component", Some("auth"), FieldMatch::Exact).matches(&c));
        assert!(filter_of("customField.component", Some("ut"), FieldMatch::Contains).matches(&c));
        assert!(filter_of("customField.tags", Some("smoke"), FieldMatch::Exact).matches(&c));
        assert!(filter_of("priority", Some("major"), FieldMatch::Exact).matches(&c));
        assert!(filter_of("title", Some("^Login"), FieldMatch::Regex).matches(&c));
        assert!(filter_of("customField.component", None, FieldMatch::Exists).matches(&c));
        assert!(!filter_of("customField.missing", None, FieldMatch::Exists).matches(&c));
    }

    #[test]
    fn bad_field_filters_are_refused() {
        let bad = |path: &str, value: Option<&str>, mode| {
            local_filter(&SearchTestCasesArgs {
                project_key: "DEMO".into(),
                field_path: Some(path.into()),
                field_value: value.map(Into::into),
                field_match: Some(mode),
                ..Default::default()
            })
            .is_err()
        };
        assert!(bad("a..b", Some("x"), FieldMatch::Exact));
        assert!(bad("title", None, FieldMatch::Contains));
        assert!(bad("title", Some("("), FieldMatch::Regex));
    }

    #[test]
    fn deleted_cases_never_match() {
        let f = local_filter(&SearchTestCasesArgs::default()).unwrap();
        assert!(!f.matches(&case(json!({"id": 1, "deleted": true}))));
        assert!(f.matches(&case(json!({"id": 1}))));
    }
}
