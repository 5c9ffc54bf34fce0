//! Deterministic seed data.
//!
//! Everything here derives from [`SandboxConfig::seed`](crate::SandboxConfig)
//! through seeded `StdRng`s and fixed base dates (2025-01-01 .. 2026-03), so a
//! given seed always produces the same workspace. Ids live in fixed ranges per
//! kind so they do not shift with the scale (see docs/sandbox.md):
//! suites 101+, cases 10001+ (DEMO) / 20001+ (MOBILE) / 30001+ (API),
//! milestones 501+, TCM runs 801+, launches 1001+ / 2001+ / 3001+,
//! launch tests `launchId * 1000 + n`, API-created entities 5,000,001+.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Scale;
use crate::model::*;
use crate::store::Store;

/// 2025-01-01T00:00:00Z.
pub const BASE_2025: i64 = 1_735_689_600;
/// 2026-01-01T00:00:00Z.
pub const BASE_2026: i64 = 1_767_225_600;
const DAY: i64 = 86_400;

/// DEMO case with 120 TCM executions (R21) and a long change history (R22).
pub const HISTORY_CASE_KEY: &str = "DEMO-1";
pub const HISTORY_CASE_EXECUTIONS: usize = 120;
/// DEMO launch with exactly 500 tests.
pub const BIG_LAUNCH_ID: i64 = 1041;
pub const BIG_LAUNCH_TESTS: usize = 500;
pub const DEMO_LAUNCHES: i64 = 48;

/// Formats unix seconds as RFC 3339 (`2025-03-04T10:11:12Z`).
pub fn iso(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
}

/// The personal API token of a user, stable for a seed.
pub fn user_token(seed: u64, user_id: i64) -> String {
    let mut rng = StdRng::seed_from_u64(seed ^ (0x5eed_7043_u64.wrapping_mul(user_id as u64 + 1)));
    let bytes: [u8; 16] = rng.random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("zbr_{hex}")
}

struct SuiteSpec {
    title: &'static str,
    children: &'static [SuiteSpec],
}

const fn s(title: &'static str, children: &'static [SuiteSpec]) -> SuiteSpec {
    SuiteSpec { title, children }
}

const DEMO_SUITES: &[SuiteSpec] = &[
    s(
        "Authentication",
        &[
            s("Login", &[]),
            s("Registration", &[]),
            s("Password Reset", &[]),
            s("Single Sign-On", &[]),
        ],
    ),
    s(
        "Catalog",
        &[
            s("Search", &[s("Autocomplete", &[])]),
            s("Product Page", &[]),
            s("Filters", &[]),
        ],
    ),
    s("Cart", &[s("Mini Cart", &[]), s("Promotions", &[])]),
    s(
        "Checkout",
        &[
            s(
                "Payments",
                &[
                    s(
                        "Cards",
                        &[s("Visa", &[s("3-D Secure", &[])]), s("Mastercard", &[])],
                    ),
                    s("Wallets", &[s("PayPal", &[]), s("Apple Pay", &[])]),
                ],
            ),
            s("Shipping", &[]),
            s("Order Review", &[]),
        ],
    ),
    s(
        "Account",
        &[
            s("Profile", &[]),
            s("Order History", &[]),
            s("Addresses", &[]),
        ],
    ),
    s("Admin", &[s("User Management", &[]), s("Reports", &[])]),
];

const MOBILE_SUITES: &[SuiteSpec] = &[
    s("Onboarding", &[s("Permissions", &[])]),
    s("Home Feed", &[]),
    s("Push Notifications", &[]),
    s("Offline Mode", &[]),
    s("In-App Purchases", &[]),
    s("Settings", &[]),
];

const API_SUITES: &[SuiteSpec] = &[
    s("Auth API", &[s("Tokens", &[])]),
    s(
        "Orders API",
        &[s("Create Order", &[]), s("Cancel Order", &[])],
    ),
    s("Products API", &[]),
    s("Webhooks", &[]),
];

const OLD_SUITES: &[SuiteSpec] = &[s("Legacy Flows", &[])];

/// Hand-written titles for topics that tests and demos look at.
fn specific_titles(topic: &str) -> &'static [&'static str] {
    match topic {
        "Login" => &[
            "Login with valid credentials",
            "Login with invalid password shows an error",
            "Account is locked after 5 failed login attempts",
            "Remember me keeps the session after browser restart",
            "Login form validates e-mail format",
        ],
        "3-D Secure" => &[
            "3-D Secure challenge succeeds with correct OTP",
            "3-D Secure challenge fails with wrong OTP",
            "3-D Secure timeout cancels the payment",
        ],
        "Search" => &[
            "Search returns products matching the keyword",
            "Search with no results shows suggestions",
        ],
        "PayPal" => &[
            "Pay with PayPal account",
            "PayPal popup closed by the user keeps the cart",
        ],
        "Shipping" => &[
            "Free shipping applied above threshold",
            "Shipping cost recalculated after address change",
        ],
        "Cart" => &["Add product to cart", "Remove product from cart"],
        "Visa" => &["Pay with Visa card", "Expired Visa card is declined"],
        _ => &[],
    }
}

const TITLE_TEMPLATES: &[&str] = &[
    "{t}: happy path with valid data",
    "{t}: validation error for invalid input",
    "{t}: works after page reload",
    "{t}: keyboard-only navigation",
    "{t}: respects the user's locale",
    "{t}: handles empty input",
    "{t}: audit event is recorded",
    "{t}: works on a slow network",
    "{t}: concurrent sessions stay consistent",
    "{t}: error message for server failure",
    "{t}: data persists after logout and login",
    "{t}: mobile viewport layout",
    "{t}: access denied for guest user",
    "{t}: analytics event is sent",
];

const STEP_POOL: &[(&str, &str)] = &[
    (
        "Open the {t} page",
        "The {t} page is displayed without errors",
    ),
    (
        "Log in as a registered customer",
        "The customer dashboard is shown",
    ),
    (
        "Fill in the form with valid test data",
        "All fields accept the values",
    ),
    ("Submit the form", "A confirmation message is shown"),
    (
        "Reload the page",
        "Previously entered data is still present",
    ),
    (
        "Enter an invalid value in a required field",
        "An inline validation error is shown",
    ),
    ("Switch the language to German", "All labels are translated"),
    (
        "Check the order summary",
        "Totals, taxes and shipping are correct",
    ),
    (
        "Open the browser developer tools network tab",
        "No request returns a 5xx status",
    ),
    (
        "Log out and log in again",
        "The session is restored with the same data",
    ),
    ("Add a product to the cart", "The cart badge shows 1 item"),
    (
        "Proceed to checkout",
        "The checkout page opens with the cart items",
    ),
];

const PRECONDITIONS: &[&str] = &[
    "A registered customer account exists and is logged out.",
    "At least one product is in stock and the cart is empty.",
    "The payment gateway sandbox is reachable.",
    "Feature flag `new-checkout` is enabled.",
    "The test user has the Admin role.",
];

const POSTCONDITIONS: &[&str] = &[
    "Delete the created order.",
    "Log out and clear cookies.",
    "Restore the default user settings.",
];

/// Recurring failure signatures: (message, knownIssue, Jira key).
pub const FAILURE_SIGNATURES: &[(&str, bool, Option<&str>)] = &[
    (
        "org.openqa.selenium.TimeoutException: Expected condition failed: waiting for visibility of element located by By.id: checkout-submit (tried for 30 second(s) with 500 milliseconds interval)",
        false,
        Some("SHOP-131"),
    ),
    (
        "java.lang.AssertionError: Status code mismatch: expected [200] but found [500]",
        false,
        None,
    ),
    (
        "PaymentGatewayException: card declined by sandbox gateway (code 05)",
        true,
        Some("SHOP-142"),
    ),
    (
        "org.openqa.selenium.NoSuchElementException: no such element: Unable to locate element: {\"method\":\"css selector\",\"selector\":\".cart-badge\"}",
        false,
        None,
    ),
    (
        "java.lang.AssertionError: Order total mismatch: expected [59.99] but found [64.99]",
        true,
        Some("SHOP-157"),
    ),
];

/// A stable 32-bit hash (FNV-1a) used for `messageHashCode` and derived seeds.
pub fn fnv(text: &str) -> i64 {
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    i64::from(h as i32)
}

struct ProjectPlan {
    id: i64,
    key: &'static str,
    name: &'static str,
    deleted: bool,
    starred: bool,
    public: bool,
    suites: &'static [SuiteSpec],
    case_base: i64,
    launch_base: i64,
    launches: i64,
}

fn phase_rng(seed: u64, project_id: i64, phase: u64) -> StdRng {
    StdRng::seed_from_u64(seed ^ ((project_id as u64) << 40) ^ (phase << 32))
}

/// The IAM permission that `POST /launches/{id}:rerun` needs.
pub const RERUN_PERMISSION: &str = "reporting:test-runs:rerun";

/// Every IAM permission an account can have here; alice has them all.
pub const PERMISSIONS: [&str; 4] = [
    "reporting:test-runs:read",
    RERUN_PERMISSION,
    "tcm:test-cases:read",
    "tcm:test-cases:update",
];

/// Launches of this name were started by a Launch Launcher, not a CI job:
/// they have no job parameters and cannot be launched again (R15, R16).
pub const LAUNCHER_LAUNCH_NAME: &str = "API Contract Tests";

/// The parameters of the CI job that ran a launch (R15).
fn job_params(name: &str, build: &str, locale: &str) -> Vec<JobParam> {
    let param = |name: &str, class, value| JobParam {
        name: name.to_string(),
        class,
        value,
    };
    vec![
        param(
            "suite",
            "HIDDEN",
            Value::from(format!(
                "testng/{}.xml",
                name.to_lowercase().replace(' ', "-")
            )),
        ),
        param("build", "STRING", Value::from(build)),
        param("locale", "STRING", Value::from(locale)),
        param("test_run_rules", "STRING", Value::from("")),
        param("rerun_failures", "BOOLEAN", Value::Bool(false)),
    ]
}

/// Builds the whole workspace for a scale and seed.
pub fn generate(scale: Scale, seed: u64) -> Store {
    let mut st = Store {
        next_id: 5_000_000,
        ..Store::default()
    };

    let people = [
        (1, "alice@sandbox.test", "Alice Admin"),
        (2, "bob@sandbox.test", "Bob Builder"),
        (3, "carol@sandbox.test", "Carol Checker"),
        (4, "dave@sandbox.test", "Dave Developer"),
        (5, "erin@sandbox.test", "Erin Engineer"),
    ];
    for (id, login, name) in people {
        st.people.push(Person {
            id,
            username: login.to_string(),
            email: login.to_string(),
            display_name: name.to_string(),
        });
    }
    st.accounts.push(Account {
        person_id: 1,
        token: user_token(seed, 1),
        projects: ["DEMO", "MOBILE", "API", "OLD"].map(String::from).to_vec(),
        permissions: PERMISSIONS.map(String::from).to_vec(),
    });
    // Bob may read and edit but not rerun launches: the account that shows
    // a write refused for a missing IAM permission.
    st.accounts.push(Account {
        person_id: 2,
        token: user_token(seed, 2),
        projects: ["DEMO", "MOBILE"].map(String::from).to_vec(),
        permissions: PERMISSIONS
            .into_iter()
            .filter(|p| *p != RERUN_PERMISSION)
            .map(String::from)
            .collect(),
    });

    let demo_cases = match scale {
        Scale::Small => 250,
        Scale::Large => 5000,
    };
    let plans = [
        ProjectPlan {
            id: 1,
            key: "DEMO",
            name: "Demo Web Shop",
            deleted: false,
            starred: true,
            public: false,
            suites: DEMO_SUITES,
            case_base: 10_000,
            launch_base: 1000,
            launches: DEMO_LAUNCHES,
        },
        ProjectPlan {
            id: 2,
            key: "MOBILE",
            name: "Mobile App",
            deleted: false,
            starred: true,
            public: false,
            suites: MOBILE_SUITES,
            case_base: 20_000,
            launch_base: 2000,
            launches: 12,
        },
        ProjectPlan {
            id: 3,
            key: "API",
            name: "Public API",
            deleted: false,
            starred: false,
            public: true,
            suites: API_SUITES,
            case_base: 30_000,
            launch_base: 3000,
            launches: 10,
        },
        ProjectPlan {
            id: 4,
            key: "OLD",
            name: "Retired Project",
            deleted: true,
            starred: false,
            public: false,
            suites: OLD_SUITES,
            case_base: 40_000,
            launch_base: 4000,
            launches: 0,
        },
    ];
    let case_counts = [demo_cases, 60, 40, 0];

    let mut milestone_id = 500;
    let mut run_id = 800;
    for (plan, &count) in plans.iter().zip(case_counts.iter()) {
        st.projects.push(Project {
            id: plan.id,
            key: plan.key.to_string(),
            name: plan.name.to_string(),
            deleted: plan.deleted,
            starred: plan.starred,
            publicly_accessible: plan.public,
            lead_id: Some(1),
            created_at: iso(BASE_2025 - 200 * DAY + plan.id * 7 * DAY),
        });
        st.settings.insert(plan.id, settings_for(plan.id, plan.key));

        // Suites, depth first so parents precede children.
        let mut suites: Vec<(i64, &'static str, &'static str)> = Vec::new(); // (id, title, root title)
        add_suites(
            plan.suites,
            None,
            None,
            &mut st,
            plan.id,
            &mut phase_rng(seed, plan.id, 1),
            &mut suites,
        );

        // One RNG per project and phase: growing DEMO (scale) leaves the
        // other projects, and DEMO's first 250 cases, unchanged.
        generate_cases(
            &mut st,
            &mut phase_rng(seed, plan.id, 2),
            plan,
            count,
            &suites,
        );
        generate_milestones(
            &mut st,
            &mut phase_rng(seed, plan.id, 3),
            plan.id,
            &mut milestone_id,
        );
        generate_runs(
            &mut st,
            &mut phase_rng(seed, plan.id, 4),
            plan.id,
            &mut run_id,
        );
        generate_launches(&mut st, &mut phase_rng(seed, plan.id, 5), plan);
    }
    st
}

/// Adds suites depth first (parents precede children); ids are 101, 102... in
/// creation order across projects, so they do not depend on the scale.
fn add_suites(
    specs: &'static [SuiteSpec],
    parent: Option<i64>,
    root: Option<&'static str>,
    st: &mut Store,
    pid: i64,
    rng: &mut StdRng,
    out: &mut Vec<(i64, &'static str, &'static str)>,
) {
    for (pos, spec) in specs.iter().enumerate() {
        let id = 101 + st.suites.len() as i64;
        let created = BASE_2025 + rng.random_range(0..60) * DAY + rng.random_range(0..DAY);
        let by = rng.random_range(1..=5);
        st.suites.push(Suite {
            id,
            project_id: pid,
            title: spec.title.to_string(),
            description: Some(format!(
                "Test cases covering {}.",
                spec.title.to_lowercase()
            )),
            parent_id: parent,
            relative_position: pos as i64,
            created_at: iso(created),
            created_by: by,
            last_modified_at: iso(created + rng.random_range(0..200) * DAY),
            last_modified_by: by,
        });
        let root_title = root.unwrap_or(spec.title);
        out.push((id, spec.title, root_title));
        add_suites(spec.children, Some(id), Some(root_title), st, pid, rng, out);
    }
}

fn settings_for(pid: i64, key: &str) -> ProjectSettings {
    let base = pid * 100;
    let named = |id: i64, name: &str, is_default: bool| Named {
        id,
        name: name.to_string(),
        is_default,
    };
    let status = |id: i64,
                  name: &str,
                  aliases: &[&str],
                  color: &str,
                  completed: bool,
                  success: bool,
                  failure: bool| ResultStatus {
        id,
        name: name.to_string(),
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        color_hex: color.to_string(),
        is_completed: completed,
        is_success: success,
        is_failure: failure,
    };
    let opt_base = pid * 1000 + 500;
    let group = |gid: i64, name: &str, first: i64, opts: &[&str]| ConfigGroup {
        id: gid,
        name: name.to_string(),
        options: opts
            .iter()
            .enumerate()
            .map(|(i, o)| named(first + i as i64, o, false))
            .collect(),
    };
    let config_groups = if key == "MOBILE" {
        vec![
            group(
                base + 51,
                "Device",
                opt_base,
                &["iPhone 15", "Pixel 8", "Galaxy S24"],
            ),
            group(base + 52, "OS", opt_base + 10, &["iOS 17", "Android 14"]),
        ]
    } else {
        vec![
            group(
                base + 51,
                "Browser",
                opt_base,
                &["Chrome", "Firefox", "Safari", "Edge"],
            ),
            group(
                base + 52,
                "Platform",
                opt_base + 10,
                &["Windows", "macOS", "Linux"],
            ),
            group(
                base + 53,
                "Locale",
                opt_base + 20,
                &["en-US", "de-DE", "fr-FR"],
            ),
        ]
    };
    ProjectSettings {
        automation_states: vec![
            named(base + 1, "Not Automated", true),
            named(base + 2, "To Be Automated", false),
            named(base + 3, "Automated", false),
        ],
        priorities: vec![
            named(base + 11, "Trivial", false),
            named(base + 12, "Minor", false),
            named(base + 13, "Medium", true),
            named(base + 14, "Major", false),
            named(base + 15, "Critical", false),
        ],
        result_statuses: vec![
            status(
                base + 31,
                "Passed",
                &["PASSED", "Pass"],
                "#44C480",
                true,
                true,
                false,
            ),
            status(
                base + 32,
                "Failed",
                &["FAILED", "Fail"],
                "#ED5252",
                true,
                false,
                true,
            ),
            status(
                base + 33,
                "Skipped",
                &["SKIPPED"],
                "#FFC64D",
                true,
                false,
                false,
            ),
            status(
                base + 34,
                "Blocked",
                &["ABORTED", "BLOCKED"],
                "#AA7DFF",
                true,
                false,
                true,
            ),
            status(
                base + 35,
                "Retest",
                &["RETEST"],
                "#46A2FF",
                false,
                false,
                false,
            ),
            status(base + 36, "Untested", &[], "#B8C1CC", false, false, false),
        ],
        config_groups,
        environments: vec![
            Environment {
                id: base + 71,
                key: "stage".into(),
                name: "Staging".into(),
            },
            Environment {
                id: base + 72,
                key: "prod".into(),
                name: "Production".into(),
            },
            Environment {
                id: base + 73,
                key: "qa".into(),
                name: "QA".into(),
            },
        ],
        custom_fields: vec![
            CustomField {
                id: base + 81,
                name: "Component".into(),
                system_name: "component".into(),
                data_type: "DROPDOWN".into(),
                options: [
                    "auth", "catalog", "cart", "checkout", "payments", "account", "admin",
                    "mobile", "api", "legacy",
                ]
                .map(String::from)
                .to_vec(),
            },
            CustomField {
                id: base + 82,
                name: "Manual Only".into(),
                system_name: "manualOnly".into(),
                data_type: "CHECKBOX".into(),
                options: vec![],
            },
            CustomField {
                id: base + 83,
                name: "Jira Epic".into(),
                system_name: "jiraEpic".into(),
                data_type: "STRING".into(),
                options: vec![],
            },
        ],
    }
}

fn component_for(root: &str, topic: &str, project_key: &str) -> &'static str {
    match (project_key, root) {
        ("MOBILE", _) => "mobile",
        ("API", _) => "api",
        ("OLD", _) => "legacy",
        (_, "Authentication") => "auth",
        (_, "Catalog") => "catalog",
        (_, "Cart") => "cart",
        (_, "Checkout")
            if topic != "Shipping" && topic != "Order Review" && topic != "Checkout" =>
        {
            "payments"
        }
        (_, "Checkout") => "checkout",
        (_, "Account") => "account",
        _ => "admin",
    }
}

fn steps_for(rng: &mut StdRng, topic: &str, first_id: i64) -> Vec<Step> {
    let n = rng.random_range(2..=6);
    let picks: Vec<&(&str, &str)> = STEP_POOL.choose_multiple(rng, n).collect();
    picks
        .into_iter()
        .enumerate()
        .map(|(i, (a, e))| Step {
            id: first_id + i as i64,
            action: a.replace("{t}", topic),
            expected_result: e.replace("{t}", topic),
        })
        .collect()
}

fn generate_cases(
    st: &mut Store,
    rng: &mut StdRng,
    plan: &ProjectPlan,
    count: usize,
    suites: &[(i64, &'static str, &'static str)],
) {
    if suites.is_empty() {
        return;
    }
    let settings = match st.settings.get(&plan.id) {
        Some(s) => s.clone(),
        None => return,
    };
    let mut per_topic: HashMap<&str, usize> = HashMap::new();
    let login_suite = suites.iter().position(|(_, t, _)| *t == "Login");
    for n in 1..=count as i64 {
        // DEMO-1 is pinned to the Login suite so docs and tests can rely on it.
        let si = match (n, login_suite) {
            (1, Some(i)) => i,
            _ => rng.random_range(0..suites.len()),
        };
        let (suite_id, topic, root) = suites[si];
        let used = per_topic.entry(topic).or_insert(0);
        let specific = specific_titles(topic);
        let title = if *used < specific.len() {
            specific[*used].to_string()
        } else {
            let k = *used - specific.len();
            let tpl = TITLE_TEMPLATES[k % TITLE_TEMPLATES.len()].replace("{t}", topic);
            match k / TITLE_TEMPLATES.len() {
                0 => tpl,
                v => format!("{tpl} (variant {})", v + 1),
            }
        };
        *used += 1;

        let id = plan.case_base + n;
        let roll: f64 = rng.random();
        // DEMO-1 (the history case) is always automated.
        let state = if n == 1 || roll < 0.45 {
            2
        } else if roll < 0.70 {
            1
        } else {
            0
        };
        let prio_roll = rng.random_range(0..100);
        let prio = match prio_roll {
            0..10 => 0,
            10..25 => 1,
            25..65 => 2,
            65..90 => 3,
            _ => 4,
        };
        let created = BASE_2025 + rng.random_range(0..365 * DAY);
        let modified = (created + rng.random_range(0..120 * DAY)).min(BASE_2026 + 59 * DAY);
        let created_by = rng.random_range(1..=5);
        let modified_by = rng.random_range(1..=5);
        let mut custom = Map::new();
        custom.insert(
            "component".into(),
            json!(component_for(root, topic, plan.key)),
        );
        custom.insert(
            "manualOnly".into(),
            json!(state == 0 && rng.random_bool(0.4)),
        );
        if rng.random_bool(0.2) {
            custom.insert(
                "jiraEpic".into(),
                json!(format!("SHOP-{}", rng.random_range(10..40))),
            );
        }
        let requirements = if rng.random_bool(0.3) {
            vec![
                json!({"source": "JIRA", "reference": format!("SHOP-{}", rng.random_range(100..400))}),
            ]
        } else {
            vec![]
        };
        let case = TestCase {
            id,
            project_id: plan.id,
            key: format!("{}-{n}", plan.key),
            title: title.clone(),
            description: Some(format!("Verifies: {}.", title.to_lowercase())),
            suite_id,
            priority_id: settings.priorities[prio].id,
            automation_state_id: settings.automation_states[state].id,
            deprecated: n > 1 && rng.random_bool(0.06),
            draft: n > 1 && rng.random_bool(0.08),
            deleted: n > 1 && rng.random_bool(0.01),
            pre_conditions: rng.random_bool(0.7).then(|| {
                PRECONDITIONS
                    .choose(rng)
                    .copied()
                    .unwrap_or_default()
                    .to_string()
            }),
            post_conditions: rng.random_bool(0.4).then(|| {
                POSTCONDITIONS
                    .choose(rng)
                    .copied()
                    .unwrap_or_default()
                    .to_string()
            }),
            steps: steps_for(rng, topic, id * 10),
            requirements,
            custom_fields: custom,
            attachments: vec![],
            relative_position: n,
            created_at: iso(created),
            created_by,
            last_modified_at: iso(modified),
            last_modified_by: modified_by,
        };
        let changes = history_for(rng, &case, &settings, created, modified, n == 1);
        st.changes.insert(id, changes);
        st.insert_case(case);
        st.case_numbers.insert(plan.id, n);
    }
}

/// Change history ending in the case's current state: a CREATE entry plus
/// UPDATE entries (automation-state flips, step edits, pre-condition edits).
fn history_for(
    rng: &mut StdRng,
    case: &TestCase,
    settings: &ProjectSettings,
    created: i64,
    modified: i64,
    rich: bool,
) -> Vec<Change> {
    let mut out = vec![Change {
        id: case.id * 100,
        instant: iso(created),
        user_id: case.created_by,
        kind: "CREATE",
        items: vec![json!({"field": "title", "action": "SET", "newValue": case.title})],
    }];
    let updates = if rich {
        6
    } else if modified > created {
        rng.random_range(0..=3)
    } else {
        0
    };
    let steps_json = |steps: &[Step]| -> Value {
        Value::Array(
            steps
                .iter()
                .enumerate()
                .map(|(i, s)| json!({"relativePosition": i, "action": s.action, "expectedResult": s.expected_result, "attachments": []}))
                .collect(),
        )
    };
    // Walk backwards from the current steps so the newest change ends in them.
    let mut newer = case.steps.clone();
    let mut entries = Vec::new();
    for u in 0..updates {
        let at = created
            + (modified - created).max(updates as i64) * (updates - u) as i64
                / (updates as i64 + 1);
        let kind = if rich { u % 3 } else { rng.random_range(0..3) };
        let items = match kind {
            0 => {
                let mut older = newer.clone();
                if let Some(step) = older.first_mut() {
                    step.action = format!("{} (old wording)", step.action);
                }
                if older.len() > 1 && rng.random_bool(0.5) {
                    older.pop();
                }
                let item = json!({"field": "steps", "action": "UPDATE", "oldValues": steps_json(&older), "newValues": steps_json(&newer)});
                newer = older;
                item
            }
            1 => {
                let states = &settings.automation_states;
                let to = states
                    .iter()
                    .find(|s| s.id == case.automation_state_id)
                    .map_or("Automated", |s| s.name.as_str());
                let from = if to == "Automated" {
                    "To Be Automated"
                } else {
                    "Not Automated"
                };
                json!({"field": "automationState", "action": "UPDATE", "oldValue": from, "newValue": to})
            }
            _ => {
                json!({"field": "preConditions", "action": "UPDATE", "oldValues": [], "newValues": [{"relativePosition": 0, "action": case.pre_conditions.clone().unwrap_or_default(), "expectedResult": ""}]})
            }
        };
        entries.push(Change {
            id: case.id * 100 + (updates - u) as i64,
            instant: iso(at),
            user_id: rng.random_range(1..=5),
            kind: "UPDATE",
            items: vec![items],
        });
    }
    entries.reverse();
    out.extend(entries);
    out
}

fn generate_milestones(st: &mut Store, rng: &mut StdRng, pid: i64, next: &mut i64) {
    let (count, completed) = match pid {
        1 => (8, 5),
        2 => (4, 2),
        3 => (3, 1),
        _ => (1, 1),
    };
    for i in 0..count {
        *next += 1;
        let start = BASE_2025 + 240 * DAY + i * 21 * DAY + rng.random_range(0..3) * DAY;
        st.milestones.push(Milestone {
            id: *next,
            project_id: pid,
            name: format!("Release 1.{i}"),
            description: Some(format!("Release 1.{i} scope and regression")),
            completed: i < completed,
            start_date: Some(iso(start)),
            due_date: Some(iso(start + 21 * DAY)),
        });
    }
}

fn generate_runs(st: &mut Store, rng: &mut StdRng, pid: i64, next: &mut i64) {
    let count = match pid {
        1 => 12,
        2 => 4,
        3 => 3,
        _ => 0,
    };
    let Some(settings) = st.settings.get(&pid).cloned() else {
        return;
    };
    let milestones: Vec<Milestone> = st
        .milestones
        .iter()
        .filter(|m| m.project_id == pid)
        .cloned()
        .collect();
    let candidates: Vec<i64> = st
        .project_cases(pid)
        .iter()
        .take(250)
        .filter(|c| !c.deleted)
        .map(|c| c.id)
        .collect();
    for i in 0..count {
        *next += 1;
        let ms = milestones.get((i as usize * milestones.len()) / (count as usize).max(1));
        let group = &settings.config_groups[0];
        let option = &group.options[i as usize % group.options.len()];
        let group2 = &settings.config_groups[1];
        let option2 = &group2.options[(i as usize / 2) % group2.options.len()];
        let closed = ms.is_some_and(|m| m.completed) && i != count - 1;
        let created = ms
            .and_then(|m| m.start_date.as_deref())
            .and_then(crate::rql::parse_instant)
            .map_or(BASE_2026, |t| t.unix_timestamp())
            + rng.random_range(0..5) * DAY;
        let title = match ms {
            Some(m) => format!("{} Regression - {}", m.name, option.name),
            None => format!("Smoke run {}", i + 1),
        };
        st.runs.push(TestRun {
            id: *next,
            project_id: pid,
            title,
            description: Some(format!(
                "Manual regression on {} / {}",
                option.name, option2.name
            )),
            milestone_id: ms.map(|m| m.id),
            environment_id: Some(settings.environments[i as usize % 2].id),
            configurations: vec![(group.id, option.id), (group2.id, option2.id)],
            requirements: vec![],
            closed,
            created_by: rng.random_range(1..=5),
            created_at: iso(created),
        });
        let n = rng.random_range(20..=50).min(candidates.len());
        let mut picked: Vec<i64> = candidates.choose_multiple(rng, n).copied().collect();
        picked.sort_unstable();
        let statuses = &settings.result_statuses;
        let cases = picked
            .into_iter()
            .map(|case_id| {
                let has_result = closed || rng.random_bool(0.6);
                let result = has_result.then(|| {
                    let roll = rng.random_range(0..100);
                    let si = match roll {
                        0..75 => 0,
                        75..87 => 1,
                        87..92 => 2,
                        92..95 => 3,
                        _ => 4,
                    };
                    let failed = si == 1;
                    RunResult {
                        status_id: statuses[si].id,
                        details: failed.then(|| {
                            FAILURE_SIGNATURES[rng.random_range(0..FAILURE_SIGNATURES.len())]
                                .0
                                .to_string()
                        }),
                        issue: (failed && rng.random_bool(0.7)).then(|| {
                            (
                                "JIRA".to_string(),
                                format!("SHOP-{}", rng.random_range(100..200)),
                            )
                        }),
                        execution_time_ms: Some(rng.random_range(30_000..900_000)),
                        execution_type: "MANUAL".into(),
                    }
                });
                RunCase {
                    case_id,
                    assignee: rng.random_bool(0.8).then(|| rng.random_range(1..=5)),
                    result,
                }
            })
            .collect();
        st.run_cases.insert(*next, cases);
    }
}

fn camel(title: &str) -> String {
    let mut out = String::new();
    for (i, word) in title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .enumerate()
    {
        let lower = word.to_ascii_lowercase();
        if i == 0 {
            out.push_str(&lower);
        } else {
            let mut chars = lower.chars();
            if let Some(c) = chars.next() {
                out.push(c.to_ascii_uppercase());
                out.extend(chars);
            }
        }
    }
    out
}

fn generate_launches(st: &mut Store, rng: &mut StdRng, plan: &ProjectPlan) {
    if plan.launches == 0 {
        return;
    }
    // Test pool: automated cases (first 250, so the pool is scale-independent).
    let suites: HashMap<i64, String> = st
        .suites
        .iter()
        .filter(|s| s.project_id == plan.id)
        .map(|s| {
            (
                s.id,
                s.title.replace(|c: char| !c.is_ascii_alphanumeric(), ""),
            )
        })
        .collect();
    let automated = st
        .settings
        .get(&plan.id)
        .map_or(0, |s| s.automation_states[2].id);
    let pool: Vec<(String, String, String)> = st
        .project_cases(plan.id)
        .iter()
        .take(250)
        .filter(|c| c.automation_state_id == automated && !c.deleted)
        .map(|c| {
            let class = format!(
                "com.zebrunner.{}.{}Tests",
                plan.key.to_lowercase(),
                suites.get(&c.suite_id).cloned().unwrap_or_default()
            );
            (camel(&c.title), class, c.key.clone())
        })
        .collect();
    if pool.is_empty() {
        return;
    }
    let names: &[&str] = match plan.key {
        "DEMO" => &[
            "Web Regression - Chrome",
            "Web Regression - Firefox",
            "Web Smoke",
            "Checkout E2E",
            "API Contract Tests",
            "Nightly Full Regression",
        ],
        "MOBILE" => &["Android Regression", "iOS Regression", "Mobile Smoke"],
        _ => &["API Regression", "API Smoke"],
    };
    let milestones: Vec<i64> = st
        .milestones
        .iter()
        .filter(|m| m.project_id == plan.id)
        .map(|m| m.id)
        .collect();
    // Per-test flakiness is a property of the test name, so history is coherent.
    let flaky = |name: &str| -> f64 {
        match fnv(name).rem_euclid(10) {
            0 => 0.25,
            1 => 0.08,
            _ => 0.01,
        }
    };
    let mut launches = Vec::new();
    let mut all_tests: Vec<(i64, Vec<LaunchTest>)> = Vec::new();
    for i in 0..plan.launches {
        let id = plan.launch_base + i + 1;
        let newest = i == plan.launches - 1;
        let big = id == BIG_LAUNCH_ID;
        let name = if big {
            "Nightly Full Regression"
        } else {
            names[i as usize % names.len()]
        };
        let size = if big {
            BIG_LAUNCH_TESTS
        } else if name == "Nightly Full Regression" {
            rng.random_range(80..=120)
        } else if name.contains("Smoke") {
            rng.random_range(10..=20).min(pool.len())
        } else {
            rng.random_range(20..=60)
        };
        let started = BASE_2026 + 4 * DAY + i * 36 * 3600 + rng.random_range(0..3600);
        let status_override = if newest {
            Some("IN_PROGRESS")
        } else if i == plan.launches - 5 {
            Some("ABORTED")
        } else {
            None
        };
        // About a third of launches are clean runs: nothing fails in them.
        let clean = rng.random_bool(0.35);
        let mut t = started * 1000;
        let mut tests = Vec::with_capacity(size);
        let offset = (fnv(name).rem_euclid(pool.len() as i64)) as usize;
        for n in 0..size {
            let (base_name, class, key) = &pool[(offset + n) % pool.len()];
            let round = (offset + n) / pool.len();
            let test_name = if round == 0 {
                base_name.clone()
            } else {
                format!("{base_name}[dataset-{round}]")
            };
            let duration = rng.random_range(2_000..120_000);
            let frac = n as f64 / size as f64;
            let status = match status_override {
                Some("IN_PROGRESS") if frac > 0.7 => "IN_PROGRESS",
                Some("ABORTED") if frac > 0.5 => "ABORTED",
                _ if !clean && rng.random_bool(flaky(&test_name)) => "FAILED",
                _ if rng.random_bool(0.02) => "SKIPPED",
                _ => "PASSED",
            };
            let (message, hash, known, refs) = if status == "FAILED" {
                let sig = &FAILURE_SIGNATURES
                    [(fnv(&test_name).rem_euclid(FAILURE_SIGNATURES.len() as i64)) as usize];
                let linked = sig.2.filter(|_| sig.1 || rng.random_bool(0.5));
                let refs = linked
                    .map(|k| {
                        vec![IssueRef {
                            id: fnv(k).abs() % 100_000,
                            kind: "JIRA".into(),
                            value: k.to_string(),
                        }]
                    })
                    .unwrap_or_default();
                (Some(sig.0.to_string()), Some(fnv(sig.0)), sig.1, refs)
            } else if status == "SKIPPED" {
                (
                    Some("Test skipped: dependent test failed".to_string()),
                    None,
                    false,
                    vec![],
                )
            } else {
                (None, None, false, vec![])
            };
            tests.push(LaunchTest {
                id: id * 1000 + n as i64 + 1,
                launch_id: id,
                name: test_name,
                test_class: class.clone(),
                status: status.to_string(),
                message,
                message_hash: hash,
                start_ms: t,
                finish_ms: (status != "IN_PROGRESS").then_some(t + duration),
                known_issue: known,
                issue_refs: refs,
                tcm_keys: if round == 0 {
                    vec![key.clone()]
                } else {
                    vec![]
                },
                owner: [
                    "carol@sandbox.test",
                    "dave@sandbox.test",
                    "erin@sandbox.test",
                ][n % 3]
                    .to_string(),
                stability: 100,
            });
            t += duration / 4;
        }
        let failed = tests.iter().any(|t| t.status == "FAILED");
        let status = status_override
            .map_or(if failed { "FAILED" } else { "PASSED" }, |s| s)
            .to_string();
        let finished = tests.iter().filter_map(|t| t.finish_ms).max();
        let build_number = format!("1.{}.{}", i * 8 / plan.launches, 100 + i);
        let job = (name != LAUNCHER_LAUNCH_NAME).then(|| job_params(name, &build_number, "en_US"));
        launches.push(Launch {
            id,
            project_id: plan.id,
            name: name.to_string(),
            status: status.clone(),
            milestone_id: milestones
                .get((i as usize * milestones.len()) / plan.launches as usize)
                .copied(),
            started_at_ms: started * 1000,
            finished_at_ms: if status == "IN_PROGRESS" {
                None
            } else {
                finished
            },
            build_number,
            job_url: format!("https://ci.sandbox.test/job/{}/{}", camel(name), 100 + i),
            user_id: rng.random_range(1..=5),
            environment: if name.contains("Smoke") {
                "prod".into()
            } else {
                "stage".into()
            },
            platform: if plan.key == "MOBILE" {
                if name.starts_with("iOS") {
                    "ios".into()
                } else {
                    "android".into()
                }
            } else if name.contains("API") {
                "api".into()
            } else {
                "web".into()
            },
            browser: if name.contains("Firefox") {
                "firefox".into()
            } else {
                "chrome".into()
            },
            locale: "en_US".into(),
            attempts: if status == "FAILED" { 2 } else { 1 },
            reviewed: status == "FAILED" && i % 2 == 0,
            job,
            reruns: Vec::new(),
        });
        all_tests.push((id, tests));
    }
    // Stability = share of passed runs of the same test name in the project.
    let mut tally: HashMap<String, (i64, i64)> = HashMap::new();
    for (_, tests) in &all_tests {
        for t in tests {
            let e = tally.entry(t.name.clone()).or_insert((0, 0));
            e.1 += 1;
            if t.status == "PASSED" {
                e.0 += 1;
            }
        }
    }
    for (id, mut tests) in all_tests {
        for t in &mut tests {
            if let Some((p, n)) = tally.get(&t.name) {
                t.stability = p * 100 / (*n).max(1);
            }
        }
        st.tests.insert(id, tests);
    }
    launches.reverse(); // newest first, the order the list endpoint returns
    st.launches.extend(launches);
}

/// TCM executions of a case (R21), generated on demand from the seed.
pub fn executions(seed: u64, st: &Store, case: &TestCase) -> Vec<Value> {
    let mut rng =
        StdRng::seed_from_u64(seed ^ (case.id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let count = if case.key == HISTORY_CASE_KEY {
        HISTORY_CASE_EXECUTIONS
    } else if case.deleted || case.draft {
        0
    } else {
        rng.random_range(0..=12)
    };
    let Some(settings) = st.settings(case.project_id) else {
        return vec![];
    };
    let automated = settings
        .automation_states
        .iter()
        .any(|s| s.id == case.automation_state_id && s.name == "Automated");
    let launches: Vec<i64> = st
        .launches
        .iter()
        .filter(|l| l.project_id == case.project_id)
        .map(|l| l.id)
        .collect();
    let group = settings.config_groups.first();
    // Runs on a request path: settings are looked up with `get`, never indexed.
    (0..count)
        .filter_map(|i| {
            let roll = rng.random_range(0..100);
            let status = settings.result_statuses.get(match roll {
                0..78 => 0,
                78..92 => 1,
                92..96 => 2,
                _ => 3,
            })?;
            let failed = status.is_failure;
            let user = rng.random_range(1..=5);
            let person = st.person(user);
            let env = settings.environments.get(i % 2)?;
            let launch = if automated { launches.get(i % launches.len().max(1)).copied() } else { None };
            let option = group.and_then(|g| g.options.get(i % g.options.len().max(1)).map(|o| (g, o)));
            Some(json!({
                "id": case.id * 1000 + i as i64,
                "trackedBy": person.map(|p| json!({"id": p.id, "username": p.username, "email": p.email})),
                "trackedAt": iso(BASE_2026 + 59 * DAY - (i as i64) * DAY / 2 - rng.random_range(0..3600)),
                "status": {"id": status.id, "name": status.name, "colorHex": status.color_hex, "isCompleted": status.is_completed, "isFinal": status.is_completed},
                "issueType": if failed { json!("JIRA") } else { Value::Null },
                "issueId": if failed { json!(format!("SHOP-{}", 100 + (i % 7))) } else { Value::Null },
                "details": if failed { json!(FAILURE_SIGNATURES[i % FAILURE_SIGNATURES.len()].0) } else { Value::Null },
                "elapsedTimeInMillis": rng.random_range(5_000..600_000),
                "type": if automated { "AUTOMATED" } else { "MANUAL" },
                "automationLaunchId": launch,
                "automationExecutionId": launch.map(|l| l * 1000 + 1),
                "attachments": [],
                "environment": {"id": env.id, "key": env.key, "name": env.name},
                "configurations": option.map(|(g, o)| vec![json!({"groupId": g.id, "groupName": g.name, "optionId": o.id, "optionName": o.name})]).unwrap_or_default(),
                "userId": user,
            }))
        })
        .collect()
}
