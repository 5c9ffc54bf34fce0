//! Whether a test case hangs together, for `review_test_case`: steps about
//! what the title names, a case about its suite, and expected results that
//! are outcomes of their action rather than further actions. Word checks
//! only (no model): each flags what a reviewer would see at a glance, and
//! each suggestion is built from the case's own words, so a rewrite stays
//! about the same case.

use std::collections::BTreeSet;

use zebrunner_client::TestCase;

/// Words that carry no topic: articles, pronouns, auxiliaries, and the
/// verbs every test case uses.
const STOP_WORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "and",
    "or",
    "of",
    "to",
    "in",
    "on",
    "at",
    "by",
    "for",
    "with",
    "from",
    "into",
    "is",
    "are",
    "be",
    "was",
    "were",
    "it",
    "its",
    "this",
    "that",
    "as",
    "should",
    "can",
    "user",
    "users",
    "test",
    "check",
    "verify",
    "verifies",
    "case",
    "when",
    "then",
    "after",
    "before",
    "new",
    "valid",
    "invalid",
    "page",
    "screen",
    "button",
    "field",
    "shown",
    "displayed",
    "appears",
    "opens",
    "open",
    "click",
    "enter",
    "select",
    "tap",
    "go",
    "via",
];

/// Verbs that start an instruction: an expected result starting with one
/// is another action, not an outcome.
const ACTION_VERBS: &[&str] = &[
    "click", "enter", "type", "open", "navigate", "go", "select", "tap", "press", "fill", "submit",
    "choose", "scroll", "log", "sign", "upload", "drag", "close", "launch", "run",
];

/// The topic words of `text`: lower-case, at least three letters, not stop
/// words, with a plural `s` dropped so `product` meets `products`.
pub fn topic_words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 3 && !STOP_WORDS.contains(&w.as_str()))
        .map(|w| match w.strip_suffix('s') {
            Some(stem) if stem.len() >= 3 && !w.ends_with("ss") => stem.to_string(),
            _ => w,
        })
        .collect()
}

/// One incoherence found: rule id, where, what, and the rewrite.
pub struct Finding {
    pub rule: &'static str,
    pub location: String,
    pub problem: String,
    pub suggestion: String,
}

fn listed(words: &BTreeSet<String>, at_most: usize) -> String {
    words
        .iter()
        .take(at_most)
        .map(|w| format!("\"{w}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The coherence findings for `case`.
pub fn check(case: &TestCase) -> Vec<Finding> {
    let mut found = Vec::new();
    let title = topic_words(&case.title);
    let step_text: String = case
        .steps
        .iter()
        .flat_map(|s| [s.action.as_deref(), s.expected_result.as_deref()])
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let steps = topic_words(&step_text);
    if !title.is_empty() && !steps.is_empty() && title.is_disjoint(&steps) {
        found.push(Finding {
            rule: "steps_off_topic",
            location: "steps".into(),
            problem: format!(
                "no step mentions what the title is about ({}); the steps are about {}",
                listed(&title, 4),
                listed(&steps, 4)
            ),
            suggestion: format!(
                "Make the steps exercise {} as the title says, or retitle the case after what its steps do ({})",
                listed(&title, 4),
                listed(&steps, 3)
            ),
        });
    }
    let suite = case
        .test_suite
        .as_ref()
        .and_then(|s| s.title.as_deref())
        .map(topic_words)
        .unwrap_or_default();
    let case_text = format!(
        "{} {} {} {step_text}",
        case.title,
        case.description.as_deref().unwrap_or(""),
        case.pre_conditions.as_deref().unwrap_or("")
    );
    let case_words = topic_words(&case_text);
    if !suite.is_empty() && !case_words.is_empty() && suite.is_disjoint(&case_words) {
        let suite_title = case
            .test_suite
            .as_ref()
            .and_then(|s| s.title.clone())
            .unwrap_or_default();
        found.push(Finding {
            rule: "suite_mismatch",
            location: "suite".into(),
            problem: format!(
                "the case never mentions its suite's subject ({}, suite \"{suite_title}\")",
                listed(&suite, 3)
            ),
            suggestion: format!(
                "Move the case to the suite about {} (update_test_case `suite_id`), or say in the title how it tests \"{suite_title}\"",
                listed(&title, 3)
            ),
        });
    }
    for (i, step) in case.steps.iter().enumerate() {
        let (Some(action), Some(expected)) = (
            step.action
                .as_deref()
                .map(str::trim)
                .filter(|a| !a.is_empty()),
            step.expected_result
                .as_deref()
                .map(str::trim)
                .filter(|e| !e.is_empty()),
        ) else {
            continue;
        };
        let first = expected
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_lowercase();
        let repeats = expected.eq_ignore_ascii_case(action);
        if repeats || ACTION_VERBS.contains(&first.as_str()) {
            let subject = topic_words(action);
            found.push(Finding {
                rule: "expected_not_outcome",
                location: format!("step {}", i + 1),
                problem: if repeats {
                    "the expected result repeats the action".into()
                } else {
                    format!("the expected result \"{expected}\" is another action, not an outcome of \"{action}\"")
                },
                suggestion: format!(
                    "State what can be seen after \"{action}\"{}; move \"{expected}\" to a step of its own if it is needed",
                    if subject.is_empty() {
                        String::new()
                    } else {
                        format!(", e.g. what happens to {}", listed(&subject, 2))
                    }
                ),
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn case(value: serde_json::Value) -> TestCase {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_coherent_case_has_no_findings() {
        let c = case(json!({
            "id": 1, "key": "DEMO-1", "title": "Search returns products matching the keyword",
            "testSuite": {"id": 5, "title": "Search"},
            "steps": [
                {"action": "Type 'lamp' into the search box", "expectedResult": "Suggestions list products"},
                {"action": "Press Enter", "expectedResult": "Results show lamp products only"}
            ]
        }));
        assert!(check(&c).is_empty());
    }

    #[test]
    fn incoherent_cases_are_found_and_the_rewrites_use_the_cases_words() {
        let c = case(json!({
            "id": 2, "key": "DEMO-2", "title": "Password reset email arrives",
            "testSuite": {"id": 7, "title": "Shipping"},
            "steps": [
                {"action": "Add a lamp to the cart", "expectedResult": "Click Checkout"},
                {"action": "Pay with a Visa card", "expectedResult": "Pay with a Visa card"}
            ]
        }));
        let found = check(&c);
        let rules: Vec<&str> = found.iter().map(|f| f.rule).collect();
        assert_eq!(
            rules,
            [
                "steps_off_topic",
                "suite_mismatch",
                "expected_not_outcome",
                "expected_not_outcome"
            ]
        );
        assert!(
            found[0].suggestion.contains("\"password\""),
            "{}",
            found[0].suggestion
        );
        assert!(found[1].problem.contains("Shipping"));
        assert!(found[2].suggestion.contains("Add a lamp to the cart"));
        assert!(found[3].problem.contains("repeats"));
    }
}
