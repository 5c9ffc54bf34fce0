//! The resource URIs this server answers, and their strict parsing.
//!
//! Only two shapes exist: `zebrunner://projects` and
//! `zebrunner://projects/{project_key}/{family}`. Anything else (extra or
//! empty segments, `..`, percent-encoding, queries, fragments) is unknown:
//! nothing is decoded or normalised except the case of the project key, so
//! a URI can never name a project other than the one its key spells.

use crate::tools::args;

/// The scheme and authority every resource URI starts with.
pub const PROJECTS_URI: &str = "zebrunner://projects";

/// The per-project resources, one template each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Suites,
    AutomationStates,
    Priorities,
    ResultStatuses,
    ConfigurationGroups,
    Milestones,
    Fields,
}

impl Family {
    pub const ALL: [Family; 7] = [
        Family::Suites,
        Family::AutomationStates,
        Family::Priorities,
        Family::ResultStatuses,
        Family::ConfigurationGroups,
        Family::Milestones,
        Family::Fields,
    ];

    /// The last URI segment.
    pub fn segment(self) -> &'static str {
        match self {
            Family::Suites => "suites",
            Family::AutomationStates => "automation-states",
            Family::Priorities => "priorities",
            Family::ResultStatuses => "result-statuses",
            Family::ConfigurationGroups => "configuration-groups",
            Family::Milestones => "milestones",
            Family::Fields => "fields",
        }
    }

    /// The RFC 6570 template, e.g. `zebrunner://projects/{project_key}/suites`.
    pub fn template(self) -> String {
        format!("{PROJECTS_URI}/{{project_key}}/{}", self.segment())
    }

    /// The concrete URI for one project.
    pub fn uri(self, project_key: &str) -> String {
        format!("{PROJECTS_URI}/{project_key}/{}", self.segment())
    }

    pub fn title(self) -> &'static str {
        match self {
            Family::Suites => "Suite tree",
            Family::AutomationStates => "Automation states",
            Family::Priorities => "Priorities",
            Family::ResultStatuses => "Result statuses",
            Family::ConfigurationGroups => "Configuration groups",
            Family::Milestones => "Milestones",
            Family::Fields => "Test case fields",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Family::Suites => {
                "Every test suite of the project in depth-first order, with parent id, depth and path (`Root > Child > Leaf`)."
            }
            Family::AutomationStates => {
                "The project's test case automation states (id, name, default)."
            }
            Family::Priorities => "The project's test case priorities (id, name, default).",
            Family::ResultStatuses => {
                "The project's test run result statuses (id, name, enabled, completed/success/failure)."
            }
            Family::ConfigurationGroups => {
                "The project's test run configuration groups with their options."
            }
            Family::Milestones => "Every milestone of the project (all pages), open and completed.",
            Family::Fields => {
                "The project's test case fields, system and custom, as laid out in the form (tab, type, enabled)."
            }
        }
    }

    fn from_segment(segment: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.segment() == segment)
    }
}

/// A parsed resource URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceUri {
    /// `zebrunner://projects`
    Projects,
    /// `zebrunner://projects/{key}/{family}`, key upper-cased.
    Project { key: String, family: Family },
}

impl ResourceUri {
    /// Parse a URI; `None` when it is not one this server serves.
    pub fn parse(uri: &str) -> Option<ResourceUri> {
        let rest = uri.strip_prefix(PROJECTS_URI)?;
        if rest.is_empty() {
            return Some(ResourceUri::Projects);
        }
        let mut parts = rest.strip_prefix('/')?.split('/');
        let (key, family, extra) = (parts.next()?, parts.next()?, parts.next());
        if extra.is_some() {
            return None;
        }
        // The key is checked before upper-casing (so no Unicode case mapping
        // can turn another string into a valid key), then normalised like the
        // tools' `project_key` argument (`demo` names DEMO).
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return None;
        }
        let key = args::project_key(key).ok()?;
        let family = Family::from_segment(family)?;
        Some(ResourceUri::Project { key, family })
    }

    /// The template this URI instantiates, for audit records.
    pub fn template(&self) -> String {
        match self {
            ResourceUri::Projects => PROJECTS_URI.to_string(),
            ResourceUri::Project { family, .. } => family.template(),
        }
    }

    pub fn project_key(&self) -> Option<&str> {
        match self {
            ResourceUri::Projects => None,
            ResourceUri::Project { key, .. } => Some(key),
        }
    }
}

/// Whether `uri` is one of the templates (for `completion/complete`).
pub fn is_template(uri: &str) -> bool {
    Family::ALL.iter().any(|f| f.template() == uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(key: &str, family: Family) -> Option<ResourceUri> {
        Some(ResourceUri::Project {
            key: key.into(),
            family,
        })
    }

    #[test]
    fn good_uris_parse() {
        assert_eq!(
            ResourceUri::parse("zebrunner://projects"),
            Some(ResourceUri::Projects)
        );
        for family in Family::ALL {
            assert_eq!(
                ResourceUri::parse(&family.uri("DEMO")),
                project("DEMO", family)
            );
        }
        assert_eq!(
            ResourceUri::parse("zebrunner://projects/MY_PROJ2/configuration-groups"),
            project("MY_PROJ2", Family::ConfigurationGroups)
        );
    }

    #[test]
    fn lowercase_keys_are_normalised() {
        assert_eq!(
            ResourceUri::parse("zebrunner://projects/demo/priorities"),
            project("DEMO", Family::Priorities)
        );
        assert_eq!(
            ResourceUri::parse("zebrunner://projects/Api/suites"),
            project("API", Family::Suites)
        );
    }

    #[test]
    fn malformed_uris_are_unknown() {
        for uri in [
            "",
            "zebrunner://",
            "zebrunner://projects/",
            "zebrunner://projects//suites",
            "zebrunner://projects/DEMO",
            "zebrunner://projects/DEMO/",
            "zebrunner://projects/DEMO/suites/",
            "zebrunner://projectsX",
            "zebrunner://projects/1DEMO/suites",
            "zebrunner://projects/_DEMO/suites",
            "zebrunner://projects/{project_key}/suites",
            "ZEBRUNNER://projects/DEMO/suites",
            "zebrunner://Projects/DEMO/suites",
            "http://projects/DEMO/suites",
            " zebrunner://projects/DEMO/suites",
            "zebrunner://projects/DEMO/suites ",
            "zebrunner://projects/ DEMO/suites",
        ] {
            assert_eq!(ResourceUri::parse(uri), None, "{uri:?}");
        }
        let long = format!("zebrunner://projects/{}/suites", "A".repeat(65));
        assert_eq!(ResourceUri::parse(&long), None);
    }

    #[test]
    fn unknown_families_are_unknown() {
        for uri in [
            "zebrunner://projects/DEMO/cases",
            "zebrunner://projects/DEMO/Suites",
            "zebrunner://projects/DEMO/automation_states",
            "zebrunner://projects/DEMO/settings",
        ] {
            assert_eq!(ResourceUri::parse(uri), None, "{uri:?}");
        }
    }

    #[test]
    fn injection_attempts_are_unknown() {
        for uri in [
            "zebrunner://projects/DEMO/../API/suites",
            "zebrunner://projects/../API/suites",
            "zebrunner://projects/./DEMO/suites",
            "zebrunner://projects/DEMO/./suites",
            "zebrunner://projects/DEMO%2F..%2FAPI/suites",
            "zebrunner://projects/%44EMO/suites",
            "zebrunner://projects/DEMO/suites?projectKey=API",
            "zebrunner://projects/DEMO/suites#API",
            "zebrunner://projects/DEMO\\API/suites",
            "zebrunner://projects/DEMO,API/suites",
            "zebrunner://projects/DEMO\n/suites",
            "zebrunner://projects/DEMO\0/suites",
            // Unicode whose upper case is ASCII must not become a key.
            "zebrunner://projects/\u{131}/suites",
            "zebrunner://projects/DEM\u{17f}/suites",
        ] {
            assert_eq!(ResourceUri::parse(uri), None, "{uri:?}");
        }
    }

    #[test]
    fn templates_are_recognised() {
        assert!(is_template("zebrunner://projects/{project_key}/milestones"));
        assert!(!is_template("zebrunner://projects"));
        assert!(!is_template("zebrunner://projects/{project_key}/cases"));
        assert_eq!(
            ResourceUri::parse("zebrunner://projects/DEMO/fields")
                .unwrap()
                .template(),
            "zebrunner://projects/{project_key}/fields"
        );
    }
}
