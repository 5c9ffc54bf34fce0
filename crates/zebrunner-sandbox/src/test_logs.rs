//! What a launch test logged (R12 logs-and-screenshots) and the session log
//! artifact, generated on demand from the test, deterministically.
//!
//! A test's log follows its name: the same steps in every run of that name,
//! so two runs differ only where a run really differs (the browser it ran on,
//! timings, the warning and the error of a failure). Failed tests end with an
//! `ERROR` entry holding the failure message and a Java stack trace, and have
//! four screenshots (the last one showing the error); passed tests have two.

use crate::model::{Launch, LaunchTest};
use crate::seed::fnv;

/// One entry of `logs-and-screenshots`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// `log` or `screenshot`.
    pub kind: &'static str,
    /// `INFO`, `DEBUG`, `WARN` or `ERROR` (logs only).
    pub level: Option<&'static str>,
    /// Epoch milliseconds.
    pub at_ms: i64,
    /// The message, or the screenshot's `/files/...` path.
    pub value: String,
}

/// What a step does, picked by the test name so every run of a test repeats it.
const ACTIONS: &[&str] = &[
    "Open the product catalogue",
    "Search for 'wireless headphones'",
    "Open the first search result",
    "Add the product to the cart",
    "Open the cart",
    "Apply the coupon SPRING10",
    "Proceed to checkout",
    "Fill in the shipping address",
    "Choose standard delivery",
    "Enter the card details",
    "Confirm the order",
    "Open the order history",
    "Log out",
];

/// The screenshot file of a test (`/files/scr-<test id>-<n>.png`).
pub fn screenshot_path(test_id: i64, n: usize) -> String {
    format!("/files/scr-{test_id}-{n}.png")
}

/// The test id and screenshot number a `/files/...` name encodes.
pub fn parse_screenshot_name(name: &str) -> Option<(i64, usize)> {
    let (test, n) = name
        .strip_prefix("scr-")?
        .strip_suffix(".png")?
        .split_once('-')?;
    Some((test.parse().ok()?, n.parse().ok()?))
}

/// How many steps a test has: 6 to 15, by name.
fn step_count(name: &str) -> usize {
    6 + fnv(name).rem_euclid(10) as usize
}

fn browser_version(browser: &str) -> &'static str {
    if browser == "firefox" {
        "128.0"
    } else {
        "126.0"
    }
}

/// A Java stack trace under `message` for a test of `class`.
fn stack_trace(test: &LaunchTest, message: &str) -> String {
    let simple = test.test_class.rsplit('.').next().unwrap_or("Tests");
    let method = test.name.split('[').next().unwrap_or(&test.name);
    let line = 40 + fnv(&test.name).rem_euclid(200);
    let mut trace = format!(
        "{message}\n\tat {class}.{method}({simple}.java:{line})\n\
         \tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)\n\
         \tat org.testng.internal.invokers.MethodInvocationHelper.invokeMethod(MethodInvocationHelper.java:139)\n\
         \tat org.testng.internal.invokers.TestInvoker.invokeMethod(TestInvoker.java:677)\n\
         \tat org.testng.TestRunner.privateRun(TestRunner.java:808)",
        class = test.test_class
    );
    if message.contains("TimeoutException") {
        trace.push_str(
            "\nCaused by: org.openqa.selenium.NoSuchElementException: no such element: Unable to locate element: {\"method\":\"css selector\",\"selector\":\"#checkout-submit\"}\n\
             \tat org.openqa.selenium.remote.ErrorHandler.createThrowable(ErrorHandler.java:216)",
        );
    }
    trace
}

/// Every entry a test logged, in order.
pub fn entries(launch: &Launch, test: &LaunchTest) -> Vec<LogEntry> {
    let steps = step_count(&test.name);
    let failed = test.status == "FAILED";
    let running = test.status == "IN_PROGRESS";
    let skipped = test.status == "SKIPPED";
    // In-progress tests have logged their first half so far.
    let done_steps = if running { steps / 2 } else { steps };
    let end = test.finish_ms.unwrap_or(test.start_ms + 60_000);
    // Each step owns an equal slice of the run; entries sit at fixed
    // fractions of their slice, so they stay in time order at any duration.
    let gap = ((end - test.start_ms).max(1_000) as f64) / (steps as f64 + 2.0);
    let at = |slot: f64| test.start_ms + (gap * slot) as i64;
    // Timing figures differ per run (test id), not per test name.
    let jitter = |k: usize| fnv(&format!("{}:{k}", test.id)).rem_euclid(900) + 100;
    let mut entries = Vec::new();
    let mut log = |level: &'static str, at_ms: i64, value: String| {
        entries.push(LogEntry {
            kind: "log",
            level: Some(level),
            at_ms,
            value,
        })
    };
    log(
        "INFO",
        test.start_ms,
        format!("Starting test {}.{}", test.test_class, test.name),
    );
    if skipped {
        log(
            "WARN",
            at(0.5),
            test.message
                .clone()
                .unwrap_or_else(|| "Test skipped".to_string()),
        );
        return entries;
    }
    let platform = if launch.platform == "web" {
        "linux"
    } else {
        launch.platform.as_str()
    };
    log(
        "INFO",
        at(0.3),
        format!(
            "Opening {} {} session on {platform} (locale {}, environment {})",
            launch.browser,
            browser_version(&launch.browser),
            launch.locale,
            launch.environment
        ),
    );
    log(
        "DEBUG",
        at(0.6),
        format!("Session started in {} ms", jitter(0) * 3),
    );
    let mut shots = Vec::new();
    let first_action = fnv(&test.name).rem_euclid(ACTIONS.len() as i64) as usize;
    for k in 0..done_steps {
        let slot = k as f64 + 1.0;
        let action = ACTIONS[(first_action + k) % ACTIONS.len()];
        log("INFO", at(slot), format!("Step {}: {action}", k + 1));
        log(
            "DEBUG",
            at(slot + 0.2),
            format!(
                "Locating element By.cssSelector: [data-test='step-{}']",
                k + 1
            ),
        );
        if failed && k + 1 == steps {
            log(
                "WARN",
                at(slot + 0.4),
                format!(
                    "Element [data-test='step-{}'] not ready after {} ms, retrying (attempt 2 of 3)",
                    k + 1,
                    jitter(k) * 5
                ),
            );
            shots.push(at(slot + 0.6));
        } else {
            log(
                "DEBUG",
                at(slot + 0.4),
                format!("Page ready in {} ms", jitter(k + 100)),
            );
        }
        // A screenshot after the first step, and half way through a failing run.
        if k == 0 || (failed && k == steps / 2) {
            shots.push(at(slot + 0.5));
        }
    }
    let shot = |at_ms: i64, entries: &mut Vec<LogEntry>| {
        let n = entries.iter().filter(|e| e.kind == "screenshot").count() + 1;
        entries.push(LogEntry {
            kind: "screenshot",
            level: None,
            at_ms,
            value: screenshot_path(test.id, n),
        });
    };
    // Screenshots go where they were taken, in time order.
    shots.sort_unstable();
    let mut merged: Vec<LogEntry> = Vec::with_capacity(entries.len() + shots.len() + 3);
    let mut pending = shots.into_iter().peekable();
    for e in entries {
        while let Some(s) = pending.next_if(|s| *s <= e.at_ms) {
            shot(s, &mut merged);
        }
        merged.push(e);
    }
    for s in pending {
        shot(s, &mut merged);
    }
    if running {
        return merged;
    }
    match (&test.message, failed) {
        (Some(message), true) => {
            merged.push(LogEntry {
                kind: "log",
                level: Some("ERROR"),
                at_ms: at(steps as f64 + 1.2),
                value: stack_trace(test, message),
            });
            shot(at(steps as f64 + 1.5), &mut merged);
            merged.push(LogEntry {
                kind: "log",
                level: Some("INFO"),
                at_ms: at(steps as f64 + 2.0),
                value: "Test finished: FAILED".to_string(),
            });
        }
        (message, _) => {
            if let Some(message) = message {
                merged.push(LogEntry {
                    kind: "log",
                    level: Some("WARN"),
                    at_ms: at(steps as f64 + 1.2),
                    value: message.clone(),
                });
            }
            shot(at(steps as f64 + 1.5), &mut merged);
            merged.push(LogEntry {
                kind: "log",
                level: Some("INFO"),
                at_ms: at(steps as f64 + 2.0),
                value: format!("Test finished: {}", test.status),
            });
        }
    }
    merged
}

/// The session log artifact: every entry of the session's tests, one line
/// each (`<instant> <LEVEL> [<class>] <first line of the message>`), with
/// stack traces in full.
pub fn session_log(launch: &Launch, tests: &[&LaunchTest]) -> String {
    let mut text = String::new();
    for test in tests {
        for e in entries(launch, test) {
            let level = e.level.unwrap_or("INFO");
            let value = if e.kind == "screenshot" {
                format!("Screenshot captured: {}", e.value)
            } else {
                e.value
            };
            text.push_str(&format!(
                "{} {level:<5} [{}] {value}\n",
                iso_ms(e.at_ms),
                test.test_class
            ));
        }
    }
    text
}

/// Epoch milliseconds as RFC 3339 with milliseconds (`...T10:11:12.345Z`).
pub fn iso_ms(ms: i64) -> String {
    let secs = crate::seed::iso(ms.div_euclid(1000));
    match secs.strip_suffix('Z') {
        Some(base) => format!("{base}.{:03}Z", ms.rem_euclid(1000)),
        None => secs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launch() -> Launch {
        Launch {
            id: 1001,
            project_id: 1,
            name: "Web Smoke".into(),
            status: "FAILED".into(),
            milestone_id: None,
            started_at_ms: 1_767_225_600_000,
            finished_at_ms: Some(1_767_225_700_000),
            build_number: "1.0.100".into(),
            job_url: String::new(),
            user_id: 1,
            environment: "stage".into(),
            platform: "web".into(),
            browser: "chrome".into(),
            locale: "en_US".into(),
            attempts: 1,
            reviewed: false,
            job: None,
            reruns: Vec::new(),
        }
    }

    fn test(id: i64, status: &str, message: Option<&str>) -> LaunchTest {
        LaunchTest {
            id,
            launch_id: 1001,
            name: "addProductToCart".into(),
            test_class: "com.zebrunner.demo.CartTests".into(),
            status: status.into(),
            message: message.map(str::to_string),
            message_hash: None,
            start_ms: 1_767_225_600_000,
            finish_ms: Some(1_767_225_660_000),
            known_issue: false,
            issue_refs: vec![],
            tcm_keys: vec![],
            owner: String::new(),
            stability: 100,
        }
    }

    #[test]
    fn failed_tests_end_with_a_stack_trace_and_four_screenshots() {
        let e = entries(
            &launch(),
            &test(1001001, "FAILED", Some("java.lang.AssertionError: x")),
        );
        let error = e.iter().find(|e| e.level == Some("ERROR")).unwrap();
        assert!(error.value.starts_with("java.lang.AssertionError: x\n\tat com.zebrunner.demo.CartTests.addProductToCart(CartTests.java:"));
        let shots: Vec<&str> = e
            .iter()
            .filter(|e| e.kind == "screenshot")
            .map(|e| e.value.as_str())
            .collect();
        assert_eq!(shots.len(), 4, "{shots:?}");
        assert_eq!(shots[3], "/files/scr-1001001-4.png");
        assert!(e.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
    }

    #[test]
    fn runs_of_a_test_share_their_steps() {
        let a = entries(&launch(), &test(1001001, "PASSED", None));
        let b = entries(&launch(), &test(1002001, "PASSED", None));
        assert_eq!(a.len(), b.len());
        assert_eq!(
            a.iter().filter(|e| e.kind == "screenshot").count(),
            2,
            "passed tests have two screenshots"
        );
        assert_eq!(a[3].value, b[3].value);
    }

    #[test]
    fn screenshot_names_round_trip() {
        assert_eq!(
            parse_screenshot_name("scr-1041007-3.png"),
            Some((1041007, 3))
        );
        assert_eq!(parse_screenshot_name("scr-x-3.png"), None);
        assert_eq!(parse_screenshot_name("other.png"), None);
        assert_eq!(iso_ms(1_767_225_600_123), "2026-01-01T00:00:00.123Z");
    }
}
