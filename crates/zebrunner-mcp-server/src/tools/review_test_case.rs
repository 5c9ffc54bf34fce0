//! `review_test_case`: score one case against review rules and list issues
//! by severity, each with a concrete rewrite; wording rules here, coherence
//! (steps, suite and expected results that fit the case) in [`coherence`].
//!
//! The rules are built in ([`ReviewRules::default`]) and can be overridden
//! by a TOML file (`review_rules_file` / `ZMCP_REVIEW_RULES_FILE`, format in
//! docs/review-rules.md), checked at start-up and by `config check`, and
//! installed once per process with [`install_rules`]. One Zebrunner request.

use std::{
    collections::BTreeMap,
    path::Path,
    sync::{LazyLock, OnceLock},
};

use regex::Regex;
use rmcp::{
    ErrorData as McpError,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::CallToolResult,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use zebrunner_client::TestCase;

use super::{
    args, coherence,
    error::ToolError,
    output::{Format, ToolOutput, cell, finish, truncate},
    scope,
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Major,
    Minor,
}

impl Severity {
    fn penalty(self) -> u32 {
        match self {
            Severity::Critical => 25,
            Severity::Major => 10,
            Severity::Minor => 3,
        }
    }
}

/// Every rule id, for `disabled` and `severity` in a rules file.
pub const RULE_IDS: &[&str] = &[
    "title_length",
    "title_vague",
    "preconditions_missing",
    "no_steps",
    "step_missing_action",
    "step_missing_expected",
    "step_count",
    "step_compound",
    "vague_words",
    "independence",
    "steps_off_topic",
    "suite_mismatch",
    "expected_not_outcome",
    "automation_readiness",
];

/// Review rules: the built-in defaults, or a rules file's overrides of them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReviewRules {
    pub title_min_chars: usize,
    pub title_max_chars: usize,
    pub title_min_words: usize,
    pub require_preconditions: bool,
    pub min_steps: usize,
    pub max_steps: usize,
    /// An action longer than this hints at a step doing several things.
    pub max_action_chars: usize,
    /// Words that make a title, step or expected result vague.
    pub vague_words: Vec<String>,
    /// Phrases that show a case depends on another one.
    pub dependency_phrases: Vec<String>,
    /// Rule ids switched off.
    pub disabled: Vec<String>,
    /// Severity per rule id, replacing the built-in one.
    pub severity: BTreeMap<String, Severity>,
}

impl Default for ReviewRules {
    fn default() -> Self {
        Self {
            title_min_chars: 10,
            title_max_chars: 120,
            title_min_words: 3,
            require_preconditions: true,
            min_steps: 1,
            max_steps: 15,
            max_action_chars: 200,
            vague_words: [
                "etc",
                "some",
                "stuff",
                "things",
                "properly",
                "correctly",
                "as expected",
                "works",
                "appropriate",
                "various",
                "ok",
                "fine",
                "somehow",
            ]
            .map(String::from)
            .to_vec(),
            dependency_phrases: [
                "previous test",
                "previous case",
                "test above",
                "same as",
                "see above",
                "after running",
                "from the last test",
            ]
            .map(String::from)
            .to_vec(),
            disabled: Vec::new(),
            severity: BTreeMap::new(),
        }
    }
}

impl ReviewRules {
    /// Parse a rules file's TOML and check it; the error names the problem.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        use figment::providers::Format as _;
        let rules: ReviewRules = figment::Figment::from(figment::providers::Toml::string(text))
            .extract()
            .map_err(|e| e.to_string())?;
        rules.check()?;
        Ok(rules)
    }

    /// Read and parse a rules file.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn check(&self) -> Result<(), String> {
        for id in self.disabled.iter().chain(self.severity.keys()) {
            if !RULE_IDS.contains(&id.as_str()) {
                return Err(format!(
                    "unknown rule id {id:?}; rule ids are {}",
                    RULE_IDS.join(", ")
                ));
            }
        }
        if self.min_steps > self.max_steps {
            return Err(format!(
                "min_steps ({}) is larger than max_steps ({})",
                self.min_steps, self.max_steps
            ));
        }
        if self.title_min_chars > self.title_max_chars {
            return Err(format!(
                "title_min_chars ({}) is larger than title_max_chars ({})",
                self.title_min_chars, self.title_max_chars
            ));
        }
        Ok(())
    }

    fn on(&self, id: &str) -> bool {
        !self.disabled.iter().any(|d| d == id)
    }

    fn severity_of(&self, id: &str, default: Severity) -> Severity {
        self.severity.get(id).copied().unwrap_or(default)
    }
}

static RULES: OnceLock<ReviewRules> = OnceLock::new();

/// Use these rules for every review in this process (call once, at start-up).
pub fn install_rules(rules: ReviewRules) {
    let _ = RULES.set(rules);
}

fn rules() -> &'static ReviewRules {
    RULES.get_or_init(ReviewRules::default)
}

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewTestCaseArgs {
    /// E.g. DEMO-12.
    pub key: String,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ReviewOutput {
    pub key: String,
    pub title: String,
    /// 0-100: 100 minus 25 per critical, 10 per major and 3 per minor issue.
    pub score: u32,
    /// excellent (90+), good (75+), needs_improvement (50+) or poor.
    pub rating: String,
    /// No critical or major issue and every expected result is checkable.
    pub automation_ready: bool,
    pub counts: BTreeMap<String, usize>,
    /// Most severe first.
    pub issues: Vec<ReviewIssue>,
    /// Whether a rules file replaced the built-in rules.
    pub custom_rules: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReviewIssue {
    pub severity: Severity,
    pub rule: String,
    /// Where: `title`, `preconditions`, `steps`, `steps[N].action`, ...
    pub location: String,
    pub problem: String,
    /// A concrete rewrite or fix.
    pub suggestion: String,
}

impl ToolOutput for ReviewOutput {
    fn markdown(&self) -> String {
        let mut md = format!(
            "**Review of {} \"{}\": {}/100 ({})**, automation ready: {}\n",
            self.key,
            truncate(&self.title, 80),
            self.score,
            self.rating,
            if self.automation_ready { "yes" } else { "no" }
        );
        if self.issues.is_empty() {
            md.push_str("\nNo issues found.\n");
        } else {
            md.push_str("\n| Severity | Where | Problem | Suggestion |\n|---|---|---|---|\n");
            for i in &self.issues {
                md.push_str(&format!(
                    "| {:?} | {} | {} | {} |\n",
                    i.severity,
                    i.location,
                    cell(&i.problem),
                    cell(&i.suggestion)
                ));
            }
        }
        md
    }
}

#[expect(clippy::expect_used)] // a constant pattern, which clippy::invalid_regex checks
static COMPOUND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\s*(?:,\s*)?\b(?:and then|then|and also)\b\s*|;\s*|\.\s+")
        .expect("valid regex")
});

fn contains_word(text: &str, word: &str) -> bool {
    let text = text.to_lowercase();
    let word = word.to_lowercase();
    text.match_indices(&word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

fn vague_in<'a>(rules: &'a ReviewRules, text: &str) -> Vec<&'a str> {
    rules
        .vague_words
        .iter()
        .filter(|w| contains_word(text, w))
        .map(String::as_str)
        .collect()
}

fn sentence_case(text: &str) -> String {
    let t = text.trim().trim_end_matches('.');
    let mut c = t.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// A title built from the case's own steps: "<first action> shows <last expected result>".
fn suggested_title(case: &TestCase) -> String {
    let action = case
        .steps
        .iter()
        .find_map(|s| s.action.as_deref().filter(|a| !a.trim().is_empty()));
    let outcome = case.steps.iter().rev().find_map(|s| {
        s.expected_result
            .as_deref()
            .filter(|e| !e.trim().is_empty())
    });
    match (action, outcome) {
        (Some(a), Some(o)) => truncate(
            &format!(
                "{}: {}",
                sentence_case(a),
                o.trim().trim_end_matches('.').to_lowercase()
            ),
            100,
        ),
        (Some(a), None) => truncate(&format!("{} succeeds", sentence_case(a)), 100),
        _ => "<Feature>: <action> results in <observable outcome>".into(),
    }
}

fn push(
    issues: &mut Vec<ReviewIssue>,
    rules: &ReviewRules,
    id: &str,
    default: Severity,
    location: String,
    problem: String,
    suggestion: String,
) {
    if rules.on(id) {
        issues.push(ReviewIssue {
            severity: rules.severity_of(id, default),
            rule: id.into(),
            location,
            problem,
            suggestion,
        });
    }
}

/// Review a case against rules; issues most severe first.
pub fn review(case: &TestCase, rules: &ReviewRules) -> Vec<ReviewIssue> {
    let mut issues = Vec::new();
    macro_rules! add {
        ($id:expr, $default:expr, $location:expr, $problem:expr, $suggestion:expr $(,)?) => {
            push(
                &mut issues,
                rules,
                $id,
                $default,
                $location,
                $problem,
                $suggestion,
            )
        };
    }
    let title = case.title.trim();
    let words = title.split_whitespace().count();
    if title.chars().count() < rules.title_min_chars || words < rules.title_min_words {
        add!(
            "title_length",
            Severity::Major,
            "title".into(),
            format!(
                "title \"{title}\" is too short ({} characters, {words} words; at least {} and {})",
                title.chars().count(),
                rules.title_min_chars,
                rules.title_min_words
            ),
            format!("Rename to \"{}\"", suggested_title(case)),
        );
    } else if title.chars().count() > rules.title_max_chars {
        add!(
            "title_length",
            Severity::Minor,
            "title".into(),
            format!(
                "title is {} characters long (at most {})",
                title.chars().count(),
                rules.title_max_chars
            ),
            format!(
                "Shorten to \"{}\" and move details into preconditions",
                truncate(title, rules.title_max_chars.min(80))
            ),
        );
    }
    let vague_title = vague_in(rules, title);
    let generic_start = ["test", "check", "verify", "testing"].iter().any(|w| {
        title.to_lowercase() == *w
            || title.to_lowercase().starts_with(&format!("{w} ")) && words <= 2
    });
    if !vague_title.is_empty() || generic_start {
        add!(
            "title_vague",
            Severity::Minor,
            "title".into(),
            if vague_title.is_empty() {
                "title says only that something is tested".into()
            } else {
                format!("title uses vague words: {}", vague_title.join(", "))
            },
            format!(
                "Name the behaviour and its outcome, e.g. \"{}\"",
                suggested_title(case)
            ),
        );
    }
    let pre = case.pre_conditions.as_deref().unwrap_or("").trim();
    if rules.require_preconditions && pre.is_empty() {
        add!(
            "preconditions_missing",
            Severity::Major,
            "preconditions".into(),
            "no preconditions: a tester cannot know the starting state".into(),
            "Add the starting state, e.g. \"A registered user exists; the browser is on the home page; the cart is empty\"".into(),
        );
    }
    if case.steps.is_empty() {
        add!(
            "no_steps",
            Severity::Critical,
            "steps".into(),
            "the case has no steps".into(),
            "Add steps, each one action with one observable expected result".into(),
        );
    } else if case.steps.len() < rules.min_steps || case.steps.len() > rules.max_steps {
        add!(
            "step_count",
            Severity::Minor,
            "steps".into(),
            format!(
                "{} steps (expected {}-{})",
                case.steps.len(),
                rules.min_steps,
                rules.max_steps
            ),
            if case.steps.len() > rules.max_steps {
                format!(
                    "Split into {} cases of at most {} steps, one behaviour each",
                    case.steps.len().div_ceil(rules.max_steps),
                    rules.max_steps
                )
            } else {
                "Add the missing steps up to the outcome being checked".into()
            },
        );
    }
    let mut checkable = true;
    for (i, step) in case.steps.iter().enumerate() {
        let n = i + 1;
        if step.shared_steps_id.is_some() {
            continue;
        }
        let action = step.action.as_deref().unwrap_or("").trim();
        let expected = step.expected_result.as_deref().unwrap_or("").trim();
        if action.is_empty() {
            add!(
                "step_missing_action",
                Severity::Critical,
                format!("steps[{n}].action"),
                format!("step {n} has no action"),
                if expected.is_empty() {
                    format!("Remove step {n} or write what the tester does")
                } else {
                    format!(
                        "Write the action that leads to \"{}\"",
                        truncate(expected, 80)
                    )
                },
            );
        }
        if expected.is_empty() && !action.is_empty() {
            checkable = false;
            add!(
                "step_missing_expected",
                Severity::Major,
                format!("steps[{n}].expectedResult"),
                format!(
                    "step {n} (\"{}\") has no expected result",
                    truncate(action, 60)
                ),
                format!(
                    "Add what the tester should observe after \"{}\", e.g. \"The page shows …\" with a concrete value",
                    truncate(action, 60)
                ),
            );
        }
        let parts: Vec<&str> = COMPOUND
            .split(action)
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if parts.len() > 1 || action.chars().count() > rules.max_action_chars {
            let split = if parts.len() > 1 {
                parts
                    .iter()
                    .enumerate()
                    .map(|(k, p)| format!("{n}.{} {}", k + 1, sentence_case(p)))
                    .collect::<Vec<_>>()
                    .join(" / ")
            } else {
                "one action per step, each with its own expected result".into()
            };
            add!(
                "step_compound",
                Severity::Minor,
                format!("steps[{n}].action"),
                format!("step {n} does several things"),
                format!("Split it: {split}"),
            );
        }
        for (part, text) in [("action", action), ("expectedResult", expected)] {
            let vague = vague_in(rules, text);
            if !vague.is_empty() {
                if part == "expectedResult" {
                    checkable = false;
                }
                add!(
                    "vague_words",
                    Severity::Minor,
                    format!("steps[{n}].{part}"),
                    format!("vague: {}", vague.join(", ")),
                    format!(
                        "Replace \"{}\" with a concrete, checkable value (a text, a count, a state)",
                        vague.join("\", \"")
                    ),
                );
            }
        }
    }
    let all_text = std::iter::once(pre.to_string())
        .chain(case.steps.iter().flat_map(|s| {
            [s.action.clone(), s.expected_result.clone()]
                .into_iter()
                .flatten()
        }))
        .collect::<Vec<_>>()
        .join("\n");
    let deps: Vec<&str> = rules
        .dependency_phrases
        .iter()
        .filter(|p| contains_word(&all_text, p))
        .map(String::as_str)
        .collect();
    if !deps.is_empty() {
        add!(
            "independence",
            Severity::Major,
            "preconditions".into(),
            format!("depends on another case: \"{}\"", deps.join("\", \"")),
            "State the needed data and state in the preconditions instead of relying on another case having run".into(),
        );
    }
    // Coherence, not only wording: steps about the title, a case about its
    // suite, expected results that are outcomes.
    for finding in coherence::check(case) {
        let default = match finding.rule {
            "suite_mismatch" => Severity::Minor,
            _ => Severity::Major,
        };
        add!(
            finding.rule,
            default,
            finding.location,
            finding.problem,
            finding.suggestion,
        );
    }
    let blocking = issues.iter().any(|i| i.severity <= Severity::Major);
    if !checkable && !blocking {
        add!(
            "automation_readiness",
            Severity::Minor,
            "steps".into(),
            "some expected results cannot be asserted by a test".into(),
            "Give every expected result a value a test can assert".into(),
        );
    }
    issues.sort_by_key(|i| i.severity);
    issues
}

fn score(issues: &[ReviewIssue]) -> u32 {
    100u32.saturating_sub(issues.iter().map(|i| i.severity.penalty()).sum())
}

fn rating(score: u32) -> &'static str {
    match score {
        90.. => "excellent",
        75.. => "good",
        50.. => "needs_improvement",
        _ => "poor",
    }
}

#[tool_router(router = review_test_case_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "review_test_case",
        description = "Review a test case against review rules (title, preconditions, an action and expected result per step, vague words, independence, automation readiness): a 0-100 score and issues by severity with rewrites.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<ReviewOutput>(),
        annotations(title = "Review test case", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn review_test_case(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<ReviewTestCaseArgs>,
    ) -> Result<CallToolResult, McpError> {
        finish(
            &cx,
            args.format,
            self.review_test_case_impl(&cx, &args).await,
        )
    }

    async fn review_test_case_impl(
        &self,
        cx: &CallContext,
        a: &ReviewTestCaseArgs,
    ) -> Result<ReviewOutput, ToolError> {
        let (project, key) = args::case_key(&a.key)?;
        let project = scope::project(cx, &project).await?;
        let case = scope::case_by_key(&cx.client, &project, &key).await?;
        let rules = rules();
        let issues = review(&case, rules);
        let score = score(&issues);
        let mut counts = BTreeMap::new();
        for s in ["critical", "major", "minor"] {
            counts.insert(s.to_string(), 0);
        }
        for i in &issues {
            *counts
                .entry(format!("{:?}", i.severity).to_lowercase())
                .or_default() += 1;
        }
        Ok(ReviewOutput {
            key: case.key.clone(),
            title: case.title.clone(),
            score,
            rating: rating(score).into(),
            automation_ready: !issues
                .iter()
                .any(|i| i.severity <= Severity::Major || i.rule == "automation_readiness"),
            counts,
            issues,
            custom_rules: *rules != ReviewRules::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn case(value: serde_json::Value) -> TestCase {
        serde_json::from_value(value).unwrap()
    }

    fn rules_hit(issues: &[ReviewIssue]) -> Vec<&str> {
        issues.iter().map(|i| i.rule.as_str()).collect()
    }

    #[test]
    fn a_good_case_has_no_issues() {
        let c = case(json!({
            "id": 1, "key": "DEMO-1", "title": "Login with valid credentials opens the dashboard",
            "preConditions": "A registered user alice exists",
            "steps": [
                {"action": "Open the login page", "expectedResult": "The login form is shown"},
                {"action": "Submit alice's e-mail and password", "expectedResult": "The dashboard greets Alice"}
            ]
        }));
        assert!(review(&c, &ReviewRules::default()).is_empty());
    }

    #[test]
    fn a_poor_case_gets_issues_with_rewrites() {
        let c = case(json!({
            "id": 2, "key": "DEMO-2", "title": "test",
            "steps": [
                {"action": "Log in and then open the cart", "expectedResult": "It works properly"},
                {"action": "Pay as in the previous test", "expectedResult": ""},
                {"action": "", "expectedResult": "Order shown"}
            ]
        }));
        let issues = review(&c, &ReviewRules::default());
        let hit = rules_hit(&issues);
        for rule in [
            "title_length",
            "title_vague",
            "preconditions_missing",
            "step_missing_action",
            "step_missing_expected",
            "step_compound",
            "vague_words",
            "independence",
        ] {
            assert!(hit.contains(&rule), "{rule} missing from {hit:?}");
        }
        assert_eq!(issues[0].severity, Severity::Critical, "most severe first");
        let split = issues.iter().find(|i| i.rule == "step_compound").unwrap();
        assert_eq!(split.suggestion, "Split it: 1.1 Log in / 1.2 Open the cart");
        let title = issues.iter().find(|i| i.rule == "title_length").unwrap();
        assert_eq!(
            title.suggestion,
            "Rename to \"Log in and then open the cart: order shown\""
        );
        assert!(score(&issues) < 50);
        assert_eq!(rating(score(&issues)), "poor");
    }

    #[test]
    fn rules_files_override_and_are_checked() {
        let rules = ReviewRules::from_toml(
            "require_preconditions = false\nmax_steps = 1\ndisabled = [\"title_vague\"]\n[severity]\nstep_count = \"critical\"\n",
        )
        .unwrap();
        let c = case(json!({
            "id": 3, "key": "DEMO-3", "title": "Test the cart badge count",
            "steps": [
                {"action": "Add an item", "expectedResult": "The badge shows 1"},
                {"action": "Add another item", "expectedResult": "The badge shows 2"}
            ]
        }));
        let issues = review(&c, &rules);
        assert_eq!(rules_hit(&issues), vec!["step_count"]);
        assert_eq!(issues[0].severity, Severity::Critical);

        let err = ReviewRules::from_toml("disabled = [\"nope\"]").unwrap_err();
        assert!(err.contains("unknown rule id \"nope\""), "{err}");
        let err = ReviewRules::from_toml("max_stepz = 3").unwrap_err();
        assert!(err.contains("max_stepz"), "{err}");
        let err = ReviewRules::from_toml("min_steps = 5\nmax_steps = 2").unwrap_err();
        assert!(err.contains("min_steps"), "{err}");
    }
}
