//! `list_test_suites`: a project's suites, as a flat list with paths (cursor
//! paged) or as a tree limited in depth.

use rmcp::{
    ErrorData as McpError,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    cursor::{self, OffsetCursor},
    error::ToolError,
    hierarchy::Hierarchy,
    output::{Format, ToolOutput, cell, finish},
    scope,
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

const DEFAULT_LIMIT: usize = 50;
const DEFAULT_DEPTH: usize = 5;
/// Largest tree returned in one answer; deeper or wider parts are summarised.
const MAX_TREE_NODES: usize = 500;

#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SuiteListMode {
    /// One row per suite with its path, cursor paged.
    #[default]
    Flat,
    /// Nested children, limited by `max_depth`.
    Tree,
}

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListTestSuitesArgs {
    pub project_key: String,
    #[serde(default)]
    pub mode: SuiteListMode,
    /// Only this branch.
    pub root_suite_id: Option<i64>,
    /// Tree: levels below the top (default 5).
    #[schemars(range(min = 1, max = 10))]
    pub max_depth: Option<usize>,
    /// Flat: suites per answer (default 50).
    #[schemars(range(min = 1, max = 200))]
    pub limit: Option<usize>,
    /// Flat mode only.
    pub cursor: Option<String>,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TestSuitesOutput {
    pub project_key: String,
    pub mode: SuiteListMode,
    /// Suites in scope (the whole project, or under `root_suite_id`).
    pub total: usize,
    /// Flat mode: the suites of this answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suites: Option<Vec<SuiteRow>>,
    /// Flat mode: pass as `cursor` for the next suites.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// Tree mode: the top nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree: Option<Vec<SuiteNode>>,
    /// Whether suites were left out (by depth, size or paging).
    pub truncated: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SuiteRow {
    pub id: i64,
    pub title: String,
    pub parent_suite_id: Option<i64>,
    /// 1 for a root suite.
    pub depth: usize,
    /// e.g. `Checkout > Payments > Cards`.
    pub path: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SuiteNode {
    pub id: i64,
    pub title: String,
    pub path: String,
    pub depth: usize,
    pub children: Vec<SuiteNode>,
    /// Sub-suites below this node that are not shown (depth or size limit).
    #[serde(skip_serializing_if = "is_zero")]
    pub hidden_descendants: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl ToolOutput for TestSuitesOutput {
    fn markdown(&self) -> String {
        let mut md = format!("**{}: {} suites**\n\n", self.project_key, self.total);
        if let Some(rows) = &self.suites {
            md.push_str("| Id | Path | Depth |\n|---|---|---|\n");
            for r in rows {
                md.push_str(&format!("| {} | {} | {} |\n", r.id, cell(&r.path), r.depth));
            }
            if let Some(next) = &self.next_cursor {
                md.push_str(&format!(
                    "\nShowing {} of {}; call again with `cursor` = `{next}`.\n",
                    rows.len(),
                    self.total
                ));
            }
        }
        if let Some(tree) = &self.tree {
            fn walk(md: &mut String, nodes: &[SuiteNode], indent: usize) {
                for n in nodes {
                    md.push_str(&format!(
                        "{}- {} (id {})",
                        "  ".repeat(indent),
                        n.title,
                        n.id
                    ));
                    if n.hidden_descendants > 0 {
                        md.push_str(&format!(" … {} more below", n.hidden_descendants));
                    }
                    md.push('\n');
                    walk(md, &n.children, indent + 1);
                }
            }
            walk(&mut md, tree, 0);
            if self.truncated {
                md.push_str("\nSome suites are not shown; raise `max_depth`, pass `root_suite_id`, or use mode=flat.\n");
            }
        }
        md
    }
}

#[tool_router(router = list_test_suites_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "list_test_suites",
        description = "List a project's test suites: flat rows with paths (`Root > Child`), cursor paged, or a tree up to `max_depth`; `root_suite_id` for one branch.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<TestSuitesOutput>(),
        annotations(title = "List test suites", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn list_test_suites(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<ListTestSuitesArgs>,
    ) -> Result<CallToolResult, McpError> {
        finish(
            &cx,
            args.format,
            self.list_test_suites_impl(&cx, &args).await,
        )
    }

    pub(crate) async fn list_test_suites_impl(
        &self,
        cx: &CallContext,
        a: &ListTestSuitesArgs,
    ) -> Result<TestSuitesOutput, ToolError> {
        let project = scope::project(cx, &a.project_key).await?;
        let suites = cx.client.all_test_suites(&project).await?;
        let hierarchy = Hierarchy::new(&suites);
        if let Some(root) = a.root_suite_id
            && hierarchy.get(root).is_none()
        {
            return Err(ToolError::invalid(format!(
                "suite {root} does not exist in project {project}; omit `root_suite_id` to see every suite"
            )));
        }
        let order = hierarchy.depth_first(a.root_suite_id);
        match a.mode {
            SuiteListMode::Flat => {
                let limit = a.limit.unwrap_or(DEFAULT_LIMIT);
                if !(1..=200).contains(&limit) {
                    return Err(ToolError::invalid(format!(
                        "`limit` must be between 1 and 200, got {limit}"
                    )));
                }
                let fingerprint = cursor::fingerprint(&(&project, a.root_suite_id));
                let start = OffsetCursor::resume(&cx.cursors, a.cursor.as_deref(), &fingerprint)?;
                let end = (start + limit).min(order.len());
                let rows: Vec<SuiteRow> = order
                    .get(start..end)
                    .unwrap_or(&[])
                    .iter()
                    .filter_map(|&(id, depth)| {
                        let s = hierarchy.get(id)?;
                        Some(SuiteRow {
                            id,
                            title: s.title.clone(),
                            parent_suite_id: s.parent_suite_id,
                            depth,
                            path: hierarchy.path(id).unwrap_or_default(),
                        })
                    })
                    .collect();
                let next_cursor = (end < order.len()).then(|| {
                    cx.cursors.encode(&OffsetCursor {
                        q: fingerprint,
                        o: end,
                    })
                });
                Ok(TestSuitesOutput {
                    project_key: project,
                    mode: a.mode,
                    total: order.len(),
                    truncated: next_cursor.is_some(),
                    suites: Some(rows),
                    next_cursor,
                    tree: None,
                })
            }
            SuiteListMode::Tree => {
                let max_depth = a.max_depth.unwrap_or(DEFAULT_DEPTH);
                if !(1..=10).contains(&max_depth) {
                    return Err(ToolError::invalid(format!(
                        "`max_depth` must be between 1 and 10, got {max_depth}"
                    )));
                }
                let tops: Vec<i64> = match a.root_suite_id {
                    Some(root) => vec![root],
                    None => hierarchy.children(None).to_vec(),
                };
                let mut budget = MAX_TREE_NODES;
                let tree: Vec<SuiteNode> = tops
                    .iter()
                    .filter_map(|&id| build_node(&hierarchy, id, 1, max_depth, &mut budget))
                    .collect();
                let shown = MAX_TREE_NODES - budget;
                Ok(TestSuitesOutput {
                    project_key: project,
                    mode: a.mode,
                    total: order.len(),
                    suites: None,
                    next_cursor: None,
                    truncated: shown < order.len(),
                    tree: Some(tree),
                })
            }
        }
    }
}

/// Build a node and its children down to `max_depth` levels, spending at
/// most `budget` nodes overall.
fn build_node(
    h: &Hierarchy<'_>,
    id: i64,
    level: usize,
    max_depth: usize,
    budget: &mut usize,
) -> Option<SuiteNode> {
    let suite = h.get(id)?;
    if *budget == 0 {
        return None;
    }
    *budget -= 1;
    let mut node = SuiteNode {
        id,
        title: suite.title.clone(),
        path: h.path(id).unwrap_or_default(),
        depth: h.depth(id),
        children: Vec::new(),
        hidden_descendants: 0,
    };
    for &child in h.children(Some(id)) {
        let shown = if level < max_depth {
            build_node(h, child, level + 1, max_depth, budget)
        } else {
            None
        };
        match shown {
            Some(child_node) => node.children.push(child_node),
            None => node.hidden_descendants += h.subtree(child).len(),
        }
    }
    Some(node)
}
