//! `get_test_suite`: one suite with its path, children and case counts.

use std::collections::HashMap;

use rmcp::{
    ErrorData as McpError,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use zebrunner_client::{Rql, TokenPageRequest};

use super::{
    error::ToolError,
    hierarchy::Hierarchy,
    output::{Format, ToolOutput, cell, finish},
    scope,
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetTestSuiteArgs {
    pub project_key: String,
    /// Suite id (see list_test_suites).
    pub suite_id: i64,
    /// Count cases (default true; a request per 100).
    pub include_case_counts: Option<bool>,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TestSuiteOutput {
    pub project_key: String,
    pub suite: SuiteInfo,
    pub children: Vec<ChildSuite>,
    /// Present when case counts were requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_counts: Option<CaseCounts>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SuiteInfo {
    pub id: i64,
    pub title: String,
    pub description: Option<String>,
    pub parent_suite_id: Option<i64>,
    /// e.g. `Checkout > Payments > Cards`.
    pub path: String,
    /// 1 for a root suite.
    pub depth: usize,
    /// Number of suites below this one, at any depth.
    pub descendant_suites: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ChildSuite {
    pub id: i64,
    pub title: String,
    /// Sub-suites below this child.
    pub descendant_suites: usize,
    /// Cases in this child and below it (when counted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_count: Option<u64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CaseCounts {
    /// Cases directly in this suite.
    pub direct: u64,
    /// Cases in this suite and all its sub-suites.
    pub including_descendants: u64,
}

impl ToolOutput for TestSuiteOutput {
    fn markdown(&self) -> String {
        let s = &self.suite;
        let mut md = format!("## Suite {} (id {})\n\nPath: {}\n", s.title, s.id, s.path);
        if let Some(d) = s.description.as_deref().filter(|d| !d.is_empty()) {
            md.push_str(&format!("\n{d}\n"));
        }
        if let Some(c) = &self.case_counts {
            md.push_str(&format!(
                "\nTest cases: {} directly, {} including sub-suites.\n",
                c.direct, c.including_descendants
            ));
        }
        if self.children.is_empty() {
            md.push_str("\nNo sub-suites.\n");
        } else {
            md.push_str("\n| Child | Id | Sub-suites | Cases |\n|---|---|---|---|\n");
            for c in &self.children {
                md.push_str(&format!(
                    "| {} | {} | {} | {} |\n",
                    cell(&c.title),
                    c.id,
                    c.descendant_suites,
                    c.case_count.map(|n| n.to_string()).unwrap_or_default()
                ));
            }
        }
        md
    }
}

#[tool_router(router = get_test_suite_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "get_test_suite",
        description = "Get one test suite: path, description, children, and case counts directly and with sub-suites.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<TestSuiteOutput>(),
        annotations(title = "Get test suite", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn get_test_suite(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<GetTestSuiteArgs>,
    ) -> Result<CallToolResult, McpError> {
        finish(&cx, args.format, self.get_test_suite_impl(&cx, &args).await)
    }

    async fn get_test_suite_impl(
        &self,
        cx: &CallContext,
        a: &GetTestSuiteArgs,
    ) -> Result<TestSuiteOutput, ToolError> {
        let client = &cx.client;
        let project = scope::project(cx, &a.project_key).await?;
        let suites = client.all_test_suites(&project).await?;
        let hierarchy = Hierarchy::new(&suites);
        // The single-suite endpoint answers 404 with Zebrunner's own message.
        let suite = match hierarchy.get(a.suite_id) {
            Some(s) => s.clone(),
            None => scope::suite(client, &project, a.suite_id).await?,
        };
        let subtree = hierarchy.subtree(suite.id);
        let counts = if a.include_case_counts.unwrap_or(true) {
            Some(self.count_cases_by_suite(cx, &project, &subtree).await?)
        } else {
            None
        };
        let children = hierarchy
            .children(Some(suite.id))
            .iter()
            .filter_map(|&id| {
                let child = hierarchy.get(id)?;
                let below = hierarchy.subtree(id);
                Some(ChildSuite {
                    id,
                    title: child.title.clone(),
                    descendant_suites: below.len().saturating_sub(1),
                    case_count: counts
                        .as_ref()
                        .map(|c| below.iter().map(|s| c.get(s).copied().unwrap_or(0)).sum()),
                })
            })
            .collect();
        let case_counts = counts.as_ref().map(|c| CaseCounts {
            direct: c.get(&suite.id).copied().unwrap_or(0),
            including_descendants: subtree.iter().map(|s| c.get(s).copied().unwrap_or(0)).sum(),
        });
        Ok(TestSuiteOutput {
            suite: SuiteInfo {
                id: suite.id,
                path: hierarchy
                    .path(suite.id)
                    .unwrap_or_else(|| suite.title.clone()),
                depth: hierarchy.depth(suite.id).max(1),
                descendant_suites: subtree.len().saturating_sub(1),
                title: suite.title,
                description: suite.description,
                parent_suite_id: suite.parent_suite_id,
            },
            project_key: project,
            children,
            case_counts,
        })
    }

    /// Cases per suite id for the given suites, in one paged scan.
    async fn count_cases_by_suite(
        &self,
        cx: &CallContext,
        project: &str,
        suite_ids: &[i64],
    ) -> Result<HashMap<i64, u64>, ToolError> {
        let mut counts = HashMap::new();
        if suite_ids.is_empty() {
            return Ok(counts);
        }
        let rql = if suite_ids.len() == 1 {
            Rql::new().eq("testSuite.id", suite_ids[0])
        } else {
            Rql::new().in_("testSuite.id", suite_ids.to_vec())
        };
        let mut token = None;
        loop {
            let page = cx
                .client
                .test_cases_page(
                    project,
                    Some(&rql),
                    TokenPageRequest {
                        max_page_size: 100,
                        page_token: token,
                    },
                )
                .await?;
            for case in page.items.iter().filter(|c| !c.deleted) {
                if let Some(suite) = &case.test_suite {
                    *counts.entry(suite.id).or_insert(0) += 1;
                }
            }
            match page.next_page_token {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        Ok(counts)
    }
}
