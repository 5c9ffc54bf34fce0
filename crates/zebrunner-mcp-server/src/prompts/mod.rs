//! MCP prompts: short orchestrations that tell the model which tools of this
//! server to call, in which order, for a common QA job.
//!
//! Each prompt is a row of [`PROMPTS`]: its arguments and a template where
//! `{name}` is replaced by the argument's value. Required arguments are
//! checked, and project keys, launch ids and case keys are validated, before
//! anything is rendered.

use rmcp::{
    ErrorData as McpError,
    model::{GetPromptResult, Prompt, PromptArgument, PromptMessage, Role},
};
use serde_json::{Map, Value};

use crate::tools::args;

/// How an argument's value is checked.
#[derive(Clone, Copy)]
enum Kind {
    ProjectKey,
    LaunchId,
    CaseKey,
    Text,
    Days,
}

struct Arg {
    name: &'static str,
    description: &'static str,
    required: bool,
    kind: Kind,
}

struct PromptDef {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    args: &'static [Arg],
    /// `{arg}` placeholders; `{?arg:text}` is kept only when `arg` is given.
    /// Lines starting `- ` are numbered steps; a line starting `[?tool]` is
    /// kept only when that tool is offered, `[!tool]` only when it is not.
    template: &'static str,
}

const PROJECT: Arg = Arg {
    name: "project_key",
    description: "Project key, e.g. DEMO (list_projects shows them).",
    required: true,
    kind: Kind::ProjectKey,
};

const PROMPTS: &[PromptDef] = &[
    PromptDef {
        name: "launch-triage",
        title: "Triage a launch's failures",
        description: "Group a launch's failures, separate known issues from new ones, and propose next steps.",
        args: &[
            PROJECT,
            Arg {
                name: "launch_id",
                description: "Launch id (list_launches shows them).",
                required: true,
                kind: Kind::LaunchId,
            },
        ],
        template: "Triage launch {launch_id} of project {project_key} in Zebrunner.\n\
- Call `get_launch` (project_key={project_key}, launch_id={launch_id}) for status, counts, build, platform and attempts.\n\
[?analyze_launch_failures]- Call `analyze_launch_failures` (project_key={project_key}, launch_id={launch_id}) to group the failures by error signature, with known issues and flaky tests marked.\n\
[!analyze_launch_failures]- Call `list_launch_tests` (project_key={project_key}, launch_id={launch_id}, statuses=[\"FAILED\"]) and group the failures by their message yourself; tests with known_issue=true are known.\n\
[?analyze_launch_failures]- For a group you need to look into, call `list_launch_tests` (statuses=[\"FAILED\"]) for the failure messages and linked test case keys, then `get_test_case_history` on a linked case to see whether it failed before.\n\
Report: a one-line verdict, a table of failure groups (signature, tests, known issue or new, likely cause), and the next action for each new group.",
    },
    PromptDef {
        name: "release-readiness",
        title: "Release readiness (go / no-go)",
        description: "Judge whether a milestone is ready to ship from its launches, pass rate and automation coverage.",
        args: &[
            PROJECT,
            Arg {
                name: "milestone",
                description: "Milestone name or id (list_milestones shows them).",
                required: true,
                kind: Kind::Text,
            },
        ],
        template: "Assess release readiness of milestone \"{milestone}\" in project {project_key}.\n\
- Call `list_milestones` (project_key={project_key}, status=all) to confirm the milestone and its due date.\n\
[?release_readiness]- Call `release_readiness` (project_key={project_key}, milestone=\"{milestone}\", chart=png) for the go/no-go checks: pass rate, failures without a defect, coverage, flaky tests, runtime.\n\
[?regression_report]- Call `regression_report` (project_key={project_key}, milestone=\"{milestone}\") for the manual regression: run completion, failures without a defect, new failures.\n\
- Call `pass_rate_report` (project_key={project_key}, milestone=\"{milestone}\", group_by=platform) for the pass rate per platform, and again with group_by=day for the trend.\n\
[?analyze_launch_failures]- Call `list_launches` (project_key={project_key}, milestone=\"{milestone}\", statuses=[\"FAILED\"]) and, for the newest failed launch, `analyze_launch_failures` to see which failures are not known issues.\n\
[!analyze_launch_failures]- Call `list_launches` (project_key={project_key}, milestone=\"{milestone}\", statuses=[\"FAILED\"]) and, for the newest failed launch, `list_launch_tests` with known_issue=false to see the failures that are not known issues.\n\
- Call `list_test_runs` (project_key={project_key}, milestone=\"{milestone}\") and `get_test_run` on open runs for manual results still missing.\n\
- Call `coverage_report` (project_key={project_key}) for automation coverage.\n\
Answer GO, GO WITH RISKS or NO-GO, with the checks behind it (pass rate, unresolved failures, open runs, coverage) in a short table.",
    },
    PromptDef {
        name: "daily-qa-standup",
        title: "Daily QA stand-up summary",
        description: "Summarise the last days of automation results for a stand-up.",
        args: &[
            PROJECT,
            Arg {
                name: "days",
                description: "How many days back (1-30, default 1).",
                required: false,
                kind: Kind::Days,
            },
        ],
        template: "Prepare a QA stand-up summary for project {project_key} covering the last {days} day(s).\n\
- Call `pass_rate_report` (project_key={project_key}, from=<today minus {days} days as YYYY-MM-DD>, group_by=day).\n\
- Call `list_launches` (project_key={project_key}, started_after=<same date>) to list the launches.\n\
[?analyze_launch_failures]- For each FAILED launch call `analyze_launch_failures` and keep only new (not known) failure groups.\n\
[!analyze_launch_failures]- For each FAILED launch call `list_launch_tests` (statuses=[\"FAILED\"], known_issue=false) for the new failures.\n\
- Call `list_test_runs` (project_key={project_key}, closed=false) for manual runs in progress.\n\
Write three short sections: Yesterday's results (pass rate and notable launches), New failures needing an owner, Open manual runs.",
    },
    PromptDef {
        name: "review-test-case",
        title: "Review a test case",
        description: "Review one test case for clarity, completeness and automation readiness, with concrete rewrites.",
        args: &[Arg {
            name: "case_key",
            description: "Test case key, e.g. DEMO-12.",
            required: true,
            kind: Kind::CaseKey,
        }],
        template: "Review test case {case_key}.\n\
- Call `get_test_case` (key={case_key}, include_change_history=true) for its title, pre-conditions, steps, expected results, priority, automation state and suite.\n\
- Call `get_test_case_history` (key={case_key}) to see how it has been executed.\n\
[?review_test_case]- Call `review_test_case` (key={case_key}) for a rule-based score and issues, and build on it.\n\
Judge it against these rules: a title that states the behaviour checked; pre-conditions that make it runnable by someone new; one action per step; an observable expected result for every step; no dependency on other cases; test data given. List issues by severity (critical, major, minor) and give a concrete rewrite of each weak step. Say whether it is ready for automation.",
    },
    PromptDef {
        name: "find-duplicates",
        title: "Find duplicate test cases",
        description: "Look for test cases that check the same thing in a project or suite.",
        args: &[
            PROJECT,
            Arg {
                name: "suite_id",
                description: "Limit to this suite and its sub-suites (list_test_suites shows ids).",
                required: false,
                kind: Kind::LaunchId,
            },
        ],
        template: "Find duplicate test cases in project {project_key}{?suite_id:, suite {suite_id} and its sub-suites}.\n\
- Call `list_test_suites` (project_key={project_key}, mode=tree) to see the structure.\n\
- Call `search_test_cases` (project_key={project_key}{?suite_id:, suite_id={suite_id}}, limit=100) and follow next_cursor until has_more is false.\n\
[?find_duplicate_test_cases]- Call `find_duplicate_test_cases` (project_key={project_key}{?suite_id:, suite_id={suite_id}}) for clusters of cases with similar steps, then check the closest ones.\n\
[!find_duplicate_test_cases]- Compare titles and suites; for candidate pairs call `get_test_case` on both and compare their steps.\n\
Report clusters of likely duplicates: the cases, why they overlap, which one to keep (the most complete, automated one), and what to merge from the others.",
    },
    PromptDef {
        name: "flaky-review",
        title: "Review flaky tests",
        description: "Find tests that flip between passing and failing across recent launches.",
        args: &[
            PROJECT,
            Arg {
                name: "milestone",
                description: "Limit to launches of this milestone (name or id).",
                required: false,
                kind: Kind::Text,
            },
        ],
        template: "Review flaky tests in project {project_key}{?milestone:, milestone \"{milestone}\"}.\n\
[?find_flaky_tests]- Call `find_flaky_tests` (project_key={project_key}{?milestone:, milestone=\"{milestone}\"}) for the tests whose results flip, with their history strips; it states its cost first when the scan is large.\n\
- Call `list_launches` (project_key={project_key}{?milestone:, milestone=\"{milestone}\"}, page_size=20) for recent launches.\n\
[?analyze_launch_failures]- For each FAILED launch call `analyze_launch_failures`; it marks tests that also passed in earlier launches as flaky.\n\
[!analyze_launch_failures]- For each FAILED launch call `list_launch_tests` (statuses=[\"FAILED\"]); tests whose stability is between 0 and 100 passed in some earlier launches and failed in others.\n\
- For the flaky tests' linked cases call `get_test_case_history` to count status flips across runs and launches.\n\
- Call `pass_rate_report` (project_key={project_key}{?milestone:, milestone=\"{milestone}\"}, group_by=day) to see whether flakiness moves the pass rate.\n\
Report a table: test, linked case, flips, last failure message, and a suggestion (fix the test, quarantine, or raise a bug).",
    },
];

/// Every prompt, for `prompts/list`.
pub fn list() -> Vec<Prompt> {
    PROMPTS
        .iter()
        .map(|p| {
            let arguments = p
                .args
                .iter()
                .map(|a| {
                    PromptArgument::new(a.name)
                        .with_description(a.description)
                        .with_required(a.required)
                })
                .collect();
            Prompt::new(p.name, Some(p.description), Some(arguments)).with_title(p.title)
        })
        .collect()
}

/// Render prompt `name` with `arguments`, for `prompts/get`.
///
/// `tools` are the tool names the caller is offered: steps that need a tool
/// the caller does not have are replaced by ones that use tools it has.
pub fn get(
    name: &str,
    arguments: Option<&Map<String, Value>>,
    tools: &[String],
) -> Result<GetPromptResult, McpError> {
    let def = PROMPTS.iter().find(|p| p.name == name).ok_or_else(|| {
        let names: Vec<&str> = PROMPTS.iter().map(|p| p.name).collect();
        McpError::invalid_params(
            format!("no prompt {name:?}; the prompts are: {}", names.join(", ")),
            None,
        )
    })?;
    let empty = Map::new();
    let given = arguments.unwrap_or(&empty);
    if let Some(unknown) = given
        .keys()
        .find(|k| !def.args.iter().any(|a| a.name == k.as_str()))
    {
        let names: Vec<&str> = def.args.iter().map(|a| a.name).collect();
        return Err(McpError::invalid_params(
            format!(
                "prompt {name} has no argument {unknown:?}; its arguments are: {}",
                names.join(", ")
            ),
            None,
        ));
    }
    let mut values: Vec<(&str, String)> = Vec::new();
    for a in def.args {
        let raw = match given.get(a.name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(s.trim().to_string()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(other) => Some(other.to_string()),
        };
        let Some(raw) = raw else {
            if a.required {
                return Err(McpError::invalid_params(
                    format!(
                        "prompt {name} needs the argument `{}`: {}",
                        a.name, a.description
                    ),
                    None,
                ));
            }
            continue;
        };
        values.push((a.name, check(a, &raw)?));
    }
    if def.name == "daily-qa-standup" && !values.iter().any(|(n, _)| *n == "days") {
        values.push(("days", "1".into()));
    }
    let text = render(&select_lines(def.template, tools), &values);
    Ok(
        GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
            .with_description(def.description),
    )
}

fn check(a: &Arg, raw: &str) -> Result<String, McpError> {
    let bad = |why: String| McpError::invalid_params(format!("argument `{}`: {why}", a.name), None);
    match a.kind {
        Kind::ProjectKey => args::project_key(raw).map_err(|e| bad(e.message())),
        Kind::CaseKey => args::case_key(raw)
            .map(|(_, key)| key)
            .map_err(|e| bad(e.message())),
        Kind::LaunchId => match raw.parse::<i64>() {
            Ok(id) if id > 0 => Ok(id.to_string()),
            _ => Err(bad(format!("{raw:?} is not a positive number"))),
        },
        Kind::Days => match raw.parse::<u32>() {
            Ok(d) if (1..=30).contains(&d) => Ok(d.to_string()),
            _ => Err(bad(format!("{raw:?} is not a number of days from 1 to 30"))),
        },
        Kind::Text => {
            if raw.chars().count() > 200 || raw.chars().any(char::is_control) {
                Err(bad("must be one line of at most 200 characters".into()))
            } else {
                Ok(raw.replace('"', "'"))
            }
        }
    }
}

/// Keep the lines meant for the offered tools and number the steps.
fn select_lines(template: &str, tools: &[String]) -> String {
    let mut out = Vec::new();
    let mut step = 0;
    for line in template.lines() {
        let mut line = line;
        if let Some(rest) = line.strip_prefix("[?").or_else(|| line.strip_prefix("[!")) {
            let wanted = line.starts_with("[?");
            let Some((tool, text)) = rest.split_once(']') else {
                continue;
            };
            if tools.iter().any(|t| t == tool) != wanted {
                continue;
            }
            line = text;
        }
        match line.strip_prefix("- ") {
            Some(text) => {
                step += 1;
                out.push(format!("{step}. {text}"));
            }
            None => out.push(line.to_string()),
        }
    }
    out.join("\n")
}

/// Fill `{name}` placeholders and keep `{?name:text}` only when `name` is set.
fn render(template: &str, values: &[(&str, String)]) -> String {
    let get = |n: &str| {
        values
            .iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.as_str())
    };
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{?") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let (Some(colon), Some(end)) = (after.find(':'), find_close(after)) else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        if get(&after[..colon]).is_some() {
            out.push_str(&after[colon + 1..end]);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// The `}` closing a `{?...}` block, skipping nested `{name}`.
fn find_close(s: &str) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn six_prompts_with_arguments() {
        let names: Vec<String> = list().into_iter().map(|p| p.name).collect();
        assert_eq!(
            names,
            [
                "launch-triage",
                "release-readiness",
                "daily-qa-standup",
                "review-test-case",
                "find-duplicates",
                "flaky-review"
            ]
        );
    }

    fn router_tools() -> Vec<String> {
        crate::tools::router()
            .list_all()
            .into_iter()
            .map(|t| t.name.to_string())
            .collect()
    }

    /// Backticked tool-like names in a rendered prompt.
    fn named_tools(text: &str) -> Vec<String> {
        text.split('`')
            .skip(1)
            .step_by(2)
            .filter(|p| p.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .map(str::to_string)
            .collect()
    }

    fn sample(p: &PromptDef) -> Map<String, Value> {
        let mut m = Map::new();
        for a in p.args {
            let v = match a.kind {
                Kind::ProjectKey => json!("DEMO"),
                Kind::LaunchId => json!(1041),
                Kind::CaseKey => json!("DEMO-1"),
                Kind::Days => json!(2),
                Kind::Text => json!("Release 1.7"),
            };
            m.insert(a.name.into(), v);
        }
        m
    }

    #[test]
    fn prompts_name_only_offered_tools() {
        let all = router_tools();
        // With every tool, with the tools of this server, and with a small set.
        let small: Vec<String> = all
            .iter()
            .filter(|t| {
                !t.starts_with("analyze") && !t.starts_with("find_") && !t.starts_with("review")
            })
            .cloned()
            .collect();
        for p in PROMPTS {
            for tools in [&all, &small] {
                let r = get(p.name, Some(&sample(p)), tools).unwrap();
                let v = serde_json::to_value(&r.messages).unwrap();
                let text = v[0]["content"]["text"].as_str().unwrap().to_string();
                let named = named_tools(&text);
                assert!(
                    named.len() >= 2,
                    "prompt {} names too few tools: {text}",
                    p.name
                );
                for t in named {
                    assert!(
                        tools.contains(&t),
                        "prompt {} names {t}, not offered",
                        p.name
                    );
                }
                assert!(
                    !text.contains("[?") && !text.contains("[!") && !text.contains('{'),
                    "{text}"
                );
                assert!(text.contains("1. ") && text.contains("2. "), "{text}");
            }
        }
    }

    #[test]
    fn renders_with_arguments() {
        let r = get(
            "launch-triage",
            Some(&args(json!({"project_key": "demo", "launch_id": 1041}))),
            &router_tools(),
        )
        .unwrap();
        let text = serde_json::to_string(&r.messages).unwrap();
        assert!(text.contains("launch_id=1041"), "{text}");
        assert!(text.contains("project_key=DEMO"));
        assert!(!text.contains("{launch_id}"));
        let r = get(
            "find-duplicates",
            Some(&args(json!({"project_key": "DEMO"}))),
            &[],
        )
        .unwrap();
        let text = serde_json::to_string(&r.messages).unwrap();
        assert!(!text.contains("suite_id") && !text.contains("{?"), "{text}");
        let r = get(
            "find-duplicates",
            Some(&args(json!({"project_key": "DEMO", "suite_id": "102"}))),
            &[],
        )
        .unwrap();
        assert!(
            serde_json::to_string(&r.messages)
                .unwrap()
                .contains("suite_id=102")
        );
        let r = get(
            "daily-qa-standup",
            Some(&args(json!({"project_key": "DEMO"}))),
            &[],
        )
        .unwrap();
        assert!(
            serde_json::to_string(&r.messages)
                .unwrap()
                .contains("last 1 day")
        );
    }

    #[test]
    fn refuses_missing_and_bad_arguments() {
        assert!(
            get(
                "launch-triage",
                Some(&args(json!({"project_key": "DEMO"}))),
                &[]
            )
            .is_err()
        );
        assert!(get("launch-triage", None, &[]).is_err());
        assert!(
            get(
                "launch-triage",
                Some(&args(json!({"project_key": "1X", "launch_id": 1}))),
                &[]
            )
            .is_err()
        );
        assert!(
            get(
                "launch-triage",
                Some(&args(json!({"project_key": "DEMO", "launch_id": "abc"}))),
                &[]
            )
            .is_err()
        );
        assert!(
            get(
                "review-test-case",
                Some(&args(json!({"case_key": "DEMO"}))),
                &[]
            )
            .is_err()
        );
        assert!(
            get(
                "daily-qa-standup",
                Some(&args(json!({"project_key": "DEMO", "days": 99}))),
                &[]
            )
            .is_err()
        );
        assert!(
            get(
                "release-readiness",
                Some(&args(
                    json!({"project_key": "DEMO", "milestone": "R1", "x": 1})
                )),
                &[]
            )
            .is_err()
        );
        assert!(get("nope", None, &[]).is_err());
    }
}
