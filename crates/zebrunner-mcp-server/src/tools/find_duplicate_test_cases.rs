//! `find_duplicate_test_cases`: clusters of similar cases in a suite (with
//! its sub-suites) or a project, by token Jaccard similarity of their
//! normalised steps (and title), single-linkage, with a medoid per cluster.
//!
//! Zebrunner's case list has no steps, so every case costs one request
//! (`GET /test-cases/{id}`) after the list pages (100 cases each). The work
//! is bounded: above `max_cases` (default 100, at most 300) the tool refuses
//! and says how to narrow the scope.

use std::collections::{BTreeSet, HashMap};

use futures::{StreamExt as _, stream};
use rmcp::{
    ErrorData as McpError, RoleServer,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    service::RequestContext,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use zebrunner_client::{Rql, TestCase, TokenPageRequest};

use super::{
    cursor,
    cursor::OffsetCursor,
    error::ToolError,
    hierarchy::Hierarchy,
    output::{Format, ToolOutput, cell, finish, truncate},
    progress::Progress,
    reporting, scope,
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

const FETCH_CONCURRENCY: usize = 4;
const MAX_CASES: u32 = 300;

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindDuplicateTestCasesArgs {
    pub project_key: String,
    /// With sub-suites (default the whole project).
    pub suite_id: Option<i64>,
    /// Similarity linking two cases (default 0.8).
    #[schemars(range(min = 0.5, max = 1.0))]
    pub threshold: Option<f64>,
    /// Compare titles too (default true).
    pub include_title: Option<bool>,
    /// Cases compared at most (default 100).
    #[schemars(range(min = 1, max = 300))]
    pub max_cases: Option<u32>,
    /// Clusters per answer, largest first (default 10).
    #[schemars(range(min = 1, max = 50))]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DuplicatesOutput {
    pub project_key: String,
    pub suite_id: Option<i64>,
    pub threshold: f64,
    /// Cases compared (deleted cases and cases without steps are left out).
    pub cases_compared: usize,
    /// Cases skipped because they have no step text.
    pub cases_without_steps: Vec<String>,
    /// Clusters found in all.
    pub total_clusters: usize,
    /// Cases that belong to some cluster.
    pub cases_in_clusters: usize,
    pub clusters: Vec<Cluster>,
    pub returned: usize,
    pub has_more: bool,
    pub next_cursor: Option<String>,
    /// Test-case requests this answer made: list pages plus one per case
    /// (the suite tree comes from a 5-minute cache).
    pub case_requests: u32,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Cluster {
    /// The member most similar to the others (medoid): keep this one.
    pub representative: String,
    pub size: usize,
    /// Lowest and mean similarity between members (0-1).
    pub min_similarity: f64,
    pub mean_similarity: f64,
    pub members: Vec<ClusterMember>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ClusterMember {
    pub key: String,
    pub title: String,
    pub suite_id: Option<i64>,
    pub automation_state: Option<String>,
    pub steps: usize,
    /// Similarity to the representative (1 for itself).
    pub similarity_to_representative: f64,
}

impl ToolOutput for DuplicatesOutput {
    fn markdown(&self) -> String {
        let scope = match self.suite_id {
            Some(id) => format!("suite {id} and sub-suites"),
            None => "whole project".into(),
        };
        let mut md = format!(
            "**Duplicates in {} ({scope}): {} clusters, {} of {} cases, threshold {:.2}**\n",
            self.project_key,
            self.total_clusters,
            self.cases_in_clusters,
            self.cases_compared,
            self.threshold
        );
        if !self.cases_without_steps.is_empty() {
            md.push_str(&format!(
                "\nNot compared (no steps): {}\n",
                truncate(&self.cases_without_steps.join(", "), 300)
            ));
        }
        for (i, c) in self.clusters.iter().enumerate() {
            md.push_str(&format!(
                "\n### {}. {} cases, keep {} (similarity {:.0}-{:.0}%)\n\n| Case | Title | Steps | State | Similarity |\n|---|---|---|---|---|\n",
                i + 1,
                c.size,
                c.representative,
                c.min_similarity * 100.0,
                c.mean_similarity * 100.0
            ));
            for m in &c.members {
                md.push_str(&format!(
                    "| {} | {} | {} | {} | {:.0}% |\n",
                    m.key,
                    cell(&truncate(&m.title, 70)),
                    m.steps,
                    m.automation_state.as_deref().unwrap_or(""),
                    m.similarity_to_representative * 100.0
                ));
            }
        }
        if self.total_clusters == 0 {
            md.push_str("\nNo cases are that similar; try a lower `threshold`.\n");
        }
        if let Some(next) = &self.next_cursor {
            md.push_str(&format!(
                "\nShowing {} clusters; more remain. Call again with `cursor` = `{next}`.\n",
                self.returned
            ));
        }
        md
    }
}

/// Lower-cased word tokens of some text, numbers kept, punctuation dropped.
pub fn tokens(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .collect()
}

const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "is", "are", "be", "with", "for", "it",
    "that", "this", "as", "at", "by",
];

/// |A ∩ B| / |A ∪ B|; two empty sets are identical.
pub fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let common = a.intersection(b).count();
    common as f64 / (a.len() + b.len() - common) as f64
}

/// Single-linkage clusters (size ≥ 2) of items whose similarity reaches
/// `threshold`, each as member indices with its medoid first; largest first.
#[allow(clippy::needless_range_loop)] // a symmetric matrix reads best by index
pub fn clusters(sim: &[Vec<f64>], threshold: f64) -> Vec<Vec<usize>> {
    let n = sim.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..n {
        for j in i + 1..n {
            if sim[i][j] >= threshold {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                if a != b {
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
    }
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..n {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let mut out: Vec<Vec<usize>> = groups
        .into_values()
        .filter(|g| g.len() > 1)
        .filter_map(|mut g| {
            let score = |i: usize| -> f64 { g.iter().map(|&j| sim[i][j]).sum() };
            let medoid = *g
                .iter()
                .max_by(|&&a, &&b| score(a).total_cmp(&score(b)).then(b.cmp(&a)))?;
            g.sort_unstable();
            g.retain(|&i| i != medoid);
            g.insert(0, medoid);
            Some(g)
        })
        .collect();
    out.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    out
}

fn case_tokens(case: &TestCase, include_title: bool) -> BTreeSet<String> {
    let mut text = String::new();
    for s in &case.steps {
        for part in [&s.action, &s.expected_result].into_iter().flatten() {
            text.push_str(part);
            text.push(' ');
        }
    }
    if include_title && !text.trim().is_empty() {
        text.push_str(&case.title);
    }
    tokens(&text)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[tool_router(router = find_duplicate_test_cases_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "find_duplicate_test_cases",
        description = "Find near-duplicate test cases in a suite (with sub-suites) or project: clusters of cases with similar steps (and titles) at `threshold`, each with a representative. One Zebrunner request per case, at most `max_cases`.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<DuplicatesOutput>(),
        annotations(title = "Find duplicate test cases", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn find_duplicate_test_cases(
        &self,
        Extension(cx): Extension<CallContext>,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<FindDuplicateTestCasesArgs>,
    ) -> Result<CallToolResult, McpError> {
        let mut progress = Progress::new(context);
        finish(
            &cx,
            args.format,
            self.find_duplicate_test_cases_impl(&cx, &args, &mut progress)
                .await,
        )
    }

    async fn find_duplicate_test_cases_impl(
        &self,
        cx: &CallContext,
        a: &FindDuplicateTestCasesArgs,
        progress: &mut Progress,
    ) -> Result<DuplicatesOutput, ToolError> {
        let client = &cx.client;
        let project = scope::project(cx, &a.project_key).await?;
        let threshold = a.threshold.unwrap_or(0.8);
        if !(0.5..=1.0).contains(&threshold) {
            return Err(ToolError::invalid(format!(
                "`threshold` must be between 0.5 and 1.0, got {threshold}"
            )));
        }
        let max_cases = a.max_cases.unwrap_or(100);
        if !(1..=MAX_CASES).contains(&max_cases) {
            return Err(ToolError::invalid(format!(
                "`max_cases` must be between 1 and {MAX_CASES}"
            )));
        }
        let limit = reporting::limit(a.limit, 10, 50)?;
        let include_title = a.include_title.unwrap_or(true);
        let fingerprint = cursor::fingerprint(&(
            "find_duplicate_test_cases",
            &project,
            a.suite_id,
            threshold.to_bits(),
            include_title,
            max_cases,
        ));
        let offset = OffsetCursor::resume(&cx.cursors, a.cursor.as_deref(), &fingerprint)?;
        let mut requests = 0u32;

        let filter = match a.suite_id {
            None => None,
            Some(suite_id) => {
                let suites = client.all_test_suites(&project).await?;
                let ids = Hierarchy::new(&suites).subtree(suite_id);
                if ids.is_empty() {
                    return Err(ToolError::invalid(format!(
                        "suite {suite_id} does not exist in project {project}; list_test_suites shows the suites"
                    )));
                }
                Some(if ids.len() == 1 {
                    Rql::new().eq("testSuite.id", suite_id)
                } else {
                    Rql::new().in_("testSuite.id", ids)
                })
            }
        };

        // The list (100 per page, no steps), stopping past the cap.
        let mut listed: Vec<TestCase> = Vec::new();
        let mut request = TokenPageRequest::first(100);
        loop {
            progress.before_page()?;
            let page = client
                .test_cases_page(&project, filter.as_ref(), request.clone())
                .await?;
            requests += 1;
            let next = page.next_request(&request);
            listed.extend(page.items.into_iter().filter(|c| !c.deleted));
            progress
                .after_page(
                    listed.len() as u64,
                    None,
                    "find_duplicate_test_cases: listing",
                )
                .await;
            if listed.len() > max_cases as usize {
                return Err(ToolError::invalid(format!(
                    "more than {max_cases} cases to compare (each costs one Zebrunner request, since the case list has no steps); pass a narrower `suite_id` (coverage_report with `depth` shows the case count of each suite) or raise `max_cases` (at most {MAX_CASES})"
                )));
            }
            match next {
                Some(n) => request = n,
                None => break,
            }
        }

        // Each case in full, four at a time.
        let total = listed.len() as u64;
        let mut fetches = stream::iter(listed.iter().map(|c| c.id).collect::<Vec<i64>>())
            .map(|id| {
                let project = project.clone();
                async move { scope::case_by_id(client, &project, id).await }
            })
            .buffered(FETCH_CONCURRENCY);
        let mut cases: Vec<TestCase> = Vec::with_capacity(listed.len());
        while let Some(result) = fetches.next().await {
            progress.before_page()?;
            requests += 1;
            cases.push(result?);
            progress
                .after_page(
                    cases.len() as u64,
                    Some(total),
                    "find_duplicate_test_cases: reading cases",
                )
                .await;
        }
        drop(fetches);

        let mut without_steps = Vec::new();
        let mut compared: Vec<(TestCase, BTreeSet<String>)> = Vec::new();
        for case in cases {
            let toks = case_tokens(&case, include_title);
            if toks.is_empty() {
                without_steps.push(case.key.clone());
            } else {
                compared.push((case, toks));
            }
        }
        let n = compared.len();
        let mut sim = vec![vec![1.0; n]; n];
        for i in 0..n {
            for j in i + 1..n {
                let s = jaccard(&compared[i].1, &compared[j].1);
                sim[i][j] = s;
                sim[j][i] = s;
            }
        }
        let found = clusters(&sim, threshold);
        let in_clusters = found.iter().map(Vec::len).sum();
        let all: Vec<Cluster> = found
            .iter()
            .map(|members| {
                let rep = members[0];
                let mut pair_sims = Vec::new();
                for (x, &i) in members.iter().enumerate() {
                    for &j in &members[x + 1..] {
                        pair_sims.push(sim[i][j]);
                    }
                }
                let min = pair_sims.iter().copied().fold(1.0, f64::min);
                let mean = pair_sims.iter().sum::<f64>() / pair_sims.len().max(1) as f64;
                Cluster {
                    representative: compared[rep].0.key.clone(),
                    size: members.len(),
                    min_similarity: round2(min),
                    mean_similarity: round2(mean),
                    members: members
                        .iter()
                        .map(|&i| {
                            let c = &compared[i].0;
                            ClusterMember {
                                key: c.key.clone(),
                                title: c.title.clone(),
                                suite_id: c.test_suite.as_ref().map(|s| s.id),
                                automation_state: c
                                    .automation_state
                                    .as_ref()
                                    .map(|s| s.name.clone()),
                                steps: c.steps.len(),
                                similarity_to_representative: round2(sim[rep][i]),
                            }
                        })
                        .collect(),
                }
            })
            .collect();
        let total_clusters = all.len();
        if offset > total_clusters {
            return Err(ToolError::invalid(
                "`cursor` is past the last cluster; repeat the call without `cursor`",
            ));
        }
        let page: Vec<Cluster> = all.into_iter().skip(offset).take(limit).collect();
        let has_more = offset + page.len() < total_clusters;
        Ok(DuplicatesOutput {
            project_key: project,
            suite_id: a.suite_id,
            threshold,
            cases_compared: n,
            cases_without_steps: without_steps,
            total_clusters,
            cases_in_clusters: in_clusters,
            returned: page.len(),
            has_more,
            next_cursor: has_more.then(|| {
                cx.cursors.encode(&OffsetCursor {
                    q: fingerprint.clone(),
                    o: offset + page.len(),
                })
            }),
            clusters: page,
            case_requests: requests,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str) -> BTreeSet<String> {
        tokens(text)
    }

    #[test]
    fn jaccard_of_token_sets() {
        let a = set("Open the login page. Enter a valid password!");
        let b = set("open login page; enter valid PASSWORD");
        assert_eq!(
            jaccard(&a, &b),
            1.0,
            "case, punctuation and stop words ignored"
        );
        let c = set("open login page enter invalid password");
        // {open, login, page, enter, valid, password} vs {.., invalid, ..}: 5 / 7.
        assert!((jaccard(&a, &c) - 5.0 / 7.0).abs() < 1e-9);
        assert_eq!(jaccard(&set("x y"), &set("z w")), 0.0);
        assert_eq!(jaccard(&BTreeSet::new(), &BTreeSet::new()), 1.0);
    }

    #[test]
    fn single_linkage_chains_and_medoid() {
        // 0-1 and 1-2 are similar, 0-2 is not: single linkage joins all three;
        // 1 is the medoid. 3 stands alone.
        let sim = vec![
            vec![1.0, 0.85, 0.6, 0.1],
            vec![0.85, 1.0, 0.9, 0.1],
            vec![0.6, 0.9, 1.0, 0.1],
            vec![0.1, 0.1, 0.1, 1.0],
        ];
        assert_eq!(clusters(&sim, 0.8), vec![vec![1, 0, 2]]);
        assert_eq!(clusters(&sim, 0.86), vec![vec![1, 2]]);
        assert!(clusters(&sim, 0.95).is_empty());
        let all: Vec<Vec<f64>> = vec![vec![1.0; 3]; 3];
        assert_eq!(clusters(&all, 1.0), vec![vec![0, 1, 2]]);
    }
}
