//! Toolsets: named groups of tools an administrator can offer or withhold
//! (`toolsets = [...]`, `ZMCP_TOOLSETS`), and that a client can narrow
//! further per request with the `X-Zebrunner-Toolsets` header (never widen).
//!
//! [`TOOLSETS`] maps every tool to its toolsets in one table. A read tool is
//! offered when any of its toolsets is enabled; a write tool (one listing
//! `writes`) needs `writes` and one of its other toolsets, so `cases,writes`
//! offers case writes but not run writes.

use std::fmt;

/// A named group of tools.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    serde::Deserialize,
    serde::Serialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Toolset {
    Cases,
    Suites,
    Runs,
    Launches,
    Analysis,
    Writes,
}

impl Toolset {
    pub const ALL: [Toolset; 6] = [
        Toolset::Cases,
        Toolset::Suites,
        Toolset::Runs,
        Toolset::Launches,
        Toolset::Analysis,
        Toolset::Writes,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Toolset::Cases => "cases",
            Toolset::Suites => "suites",
            Toolset::Runs => "runs",
            Toolset::Launches => "launches",
            Toolset::Analysis => "analysis",
            Toolset::Writes => "writes",
        }
    }

    pub fn parse(name: &str) -> Option<Toolset> {
        let name = name.trim();
        Toolset::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

use Toolset::{Analysis, Cases, Launches, Runs, Suites, Writes};

/// Every tool and its toolsets.
pub const TOOLSETS: &[(&str, &[Toolset])] = &[
    // Reads.
    ("list_projects", &[Cases, Suites, Runs, Launches, Analysis]),
    ("get_project_settings", &[Cases, Suites, Runs]),
    ("search_test_cases", &[Cases]),
    ("get_test_case", &[Cases]),
    ("get_test_case_history", &[Cases, Runs]),
    ("list_test_suites", &[Suites]),
    ("get_test_suite", &[Suites]),
    ("list_test_runs", &[Runs]),
    ("get_test_run", &[Runs]),
    ("list_milestones", &[Runs, Launches]),
    ("list_launches", &[Launches]),
    ("get_launch", &[Launches]),
    ("list_launch_tests", &[Launches]),
    // Analysis.
    ("analyze_launch_failures", &[Analysis]),
    ("analyze_test_failure", &[Analysis]),
    ("get_test_artifact", &[Analysis]),
    ("find_duplicate_test_cases", &[Analysis]),
    ("review_test_case", &[Analysis]),
    ("coverage_report", &[Analysis]),
    ("pass_rate_report", &[Analysis]),
    ("find_flaky_tests", &[Analysis]),
    ("analyze_launch_runtime", &[Analysis]),
    ("regression_report", &[Runs, Analysis]),
    ("release_readiness", &[Analysis]),
    ("defect_analytics", &[Analysis]),
    // Writes.
    ("create_test_suite", &[Suites, Writes]),
    ("update_test_suite", &[Suites, Writes]),
    ("create_test_case", &[Cases, Writes]),
    ("update_test_case", &[Cases, Writes]),
    ("create_test_run", &[Runs, Writes]),
    ("update_test_run", &[Runs, Writes]),
    ("add_test_cases_to_run", &[Runs, Writes]),
    ("record_test_results", &[Runs, Writes]),
    ("rerun_launch_failures", &[Launches, Writes]),
    ("start_launch", &[Launches, Writes]),
];

/// The toolsets of `tool`, if the table knows it.
pub fn toolsets_of(tool: &str) -> Option<&'static [Toolset]> {
    TOOLSETS.iter().find(|(n, _)| *n == tool).map(|(_, s)| *s)
}

/// A set of enabled toolsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Toolsets(u8);

impl Default for Toolsets {
    fn default() -> Self {
        Toolsets::all()
    }
}

impl Toolsets {
    pub fn all() -> Self {
        Toolsets(Toolset::ALL.iter().fold(0, |acc, t| acc | t.bit()))
    }

    pub fn none() -> Self {
        Toolsets(0)
    }

    pub fn contains(self, t: Toolset) -> bool {
        self.0 & t.bit() != 0
    }

    /// This set and `t`.
    pub fn with(self, t: Toolset) -> Self {
        Toolsets(self.0 | t.bit())
    }

    /// The toolsets in both sets.
    pub fn intersection(self, other: Toolsets) -> Self {
        Toolsets(self.0 & other.0)
    }

    /// The toolsets in this set, in [`Toolset::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Toolset> {
        Toolset::ALL.into_iter().filter(move |t| self.contains(*t))
    }

    pub fn is_all(self) -> bool {
        self == Toolsets::all()
    }

    /// Parse names (as configured); unknown names are returned as errors.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, Vec<String>> {
        let mut set = Toolsets::none();
        let mut unknown = Vec::new();
        for name in names {
            match Toolset::parse(name.as_ref()) {
                Some(t) => set.0 |= t.bit(),
                None => unknown.push(name.as_ref().to_string()),
            }
        }
        if unknown.is_empty() {
            Ok(set)
        } else {
            Err(unknown)
        }
    }

    /// This set narrowed by what a request asked for: only toolsets in both
    /// stay, so a request never widens what is configured.
    pub fn narrowed(self, narrowing: ToolsetNarrowing) -> Self {
        Toolsets(self.0 & (narrowing.0).0)
    }

    /// Whether `tool` is offered. A tool missing from [`TOOLSETS`] is
    /// offered only when every toolset is enabled.
    pub fn enables(self, tool: &str) -> bool {
        let Some(sets) = toolsets_of(tool) else {
            return self.is_all();
        };
        let write = sets.contains(&Writes);
        if write && !self.contains(Writes) {
            return false;
        }
        sets.iter()
            .filter(|t| **t != Writes)
            .any(|t| self.contains(*t))
    }
}

impl fmt::Display for Toolsets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Toolset::name).collect();
        f.write_str(&names.join(","))
    }
}

/// The request header that narrows the toolsets of one request.
pub const HEADER: &str = "x-zebrunner-toolsets";

/// The toolsets one request asked for, parsed by the HTTP transport from
/// [`HEADER`] and handed to the handler in the request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolsetNarrowing(Toolsets);

impl ToolsetNarrowing {
    /// Parse a header value (`cases,runs`). Unknown names are ignored and a
    /// value that is not text narrows to nothing: the header can only take
    /// tools away.
    pub fn parse(value: Option<&str>) -> Self {
        let wanted = value
            .unwrap_or("")
            .split(',')
            .filter_map(Toolset::parse)
            .fold(0, |acc, t| acc | t.bit());
        ToolsetNarrowing(Toolsets(wanted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_names_and_unknowns() {
        let s = Toolsets::parse(&["cases", " Runs "]).unwrap();
        assert_eq!(s.to_string(), "cases,runs");
        assert_eq!(
            Toolsets::parse(&["cases", "bogus", "writes!"]).unwrap_err(),
            vec!["bogus", "writes!"]
        );
        assert!(
            Toolsets::parse(&Toolset::ALL.map(Toolset::name))
                .unwrap()
                .is_all()
        );
    }

    #[test]
    fn headers_only_narrow() {
        let configured = Toolsets::parse(&["cases", "runs"]).unwrap();
        let narrow = |h| ToolsetNarrowing::parse(Some(h));
        assert_eq!(
            configured
                .narrowed(narrow("runs,writes,launches"))
                .to_string(),
            "runs"
        );
        assert_eq!(configured.narrowed(narrow("nothing")), Toolsets::none());
        assert_eq!(
            configured.narrowed(ToolsetNarrowing::parse(None)),
            Toolsets::none()
        );
        assert_eq!(
            Toolsets::all()
                .narrowed(narrow(" cases , writes "))
                .to_string(),
            "cases,writes"
        );
    }

    #[test]
    fn writes_need_writes_and_their_area() {
        let cases_writes = Toolsets::parse(&["cases", "writes"]).unwrap();
        assert!(cases_writes.enables("create_test_case"));
        assert!(cases_writes.enables("get_test_case"));
        assert!(!cases_writes.enables("create_test_run"));
        assert!(!cases_writes.enables("list_test_runs"));
        let cases = Toolsets::parse(&["cases"]).unwrap();
        assert!(!cases.enables("update_test_case"));
        assert!(cases.enables("list_projects"));
        let writes = Toolsets::parse(&["writes"]).unwrap();
        assert!(!writes.enables("create_test_suite"));
        assert!(!writes.enables("list_projects"));
        // Unknown tools only with everything enabled.
        assert!(Toolsets::all().enables("some_new_tool"));
        assert!(!cases.enables("some_new_tool"));
    }

    #[test]
    fn every_tool_of_the_server_is_mapped() {
        let router = crate::tools::router();
        let unmapped: Vec<String> = router
            .list_all()
            .into_iter()
            .map(|t| t.name.to_string())
            .filter(|n| toolsets_of(n).is_none())
            // The toolset tools belong to no toolset: dynamic sessions always have them.
            .filter(|n| !crate::dynamic_toolsets::TOOLS.contains(&n.as_str()))
            .collect();
        assert!(
            unmapped.is_empty(),
            "add these tools to TOOLSETS: {unmapped:?}"
        );
        // Write tools (not read-only) are exactly those in `writes`.
        for tool in router.list_all() {
            let in_writes = toolsets_of(&tool.name).is_some_and(|s| s.contains(&Writes));
            assert_eq!(crate::policy::is_write(&tool), in_writes, "{}", tool.name);
        }
    }
}
