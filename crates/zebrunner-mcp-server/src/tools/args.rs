//! Argument parsing shared by tools: project and case keys, name-or-id
//! values, and date bounds.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime, Time, format_description::well_known::Rfc3339};

use super::error::ToolError;
use crate::policy::Grant;

/// Normalise and check a Zebrunner project key (`demo` becomes `DEMO`).
pub fn project_key(raw: &str) -> Result<String, ToolError> {
    let key = raw.trim().to_ascii_uppercase();
    let mut chars = key.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && key.len() <= 64;
    if valid {
        Ok(key)
    } else {
        Err(ToolError::invalid(format!(
            "`project_key` {raw:?} is not a Zebrunner project key (letters and digits, starting with a letter, e.g. DEMO); call list_projects to see the keys"
        )))
    }
}

/// Normalise a project key and check the caller may use that project.
pub fn allowed_project(grant: &Grant, raw: &str) -> Result<String, ToolError> {
    let key = project_key(raw)?;
    grant.check_project(&key).map_err(ToolError::Denied)?;
    Ok(key)
}

/// Split a test case key such as `DEMO-12` into its project key and number.
pub fn case_key(raw: &str) -> Result<(String, String), ToolError> {
    let key = raw.trim().to_ascii_uppercase();
    let bad = || ToolError::invalid(format!("`key` {raw:?} is not a test case key like DEMO-12"));
    let (project, number) = key.rsplit_once('-').ok_or_else(bad)?;
    if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) || number.len() > 12 {
        return Err(bad());
    }
    let project = project_key(project).map_err(|_| bad())?;
    Ok((project.clone(), format!("{project}-{number}")))
}

/// Statuses of automation launches (R5), as Zebrunner spells them.
pub const LAUNCH_STATUSES: [&str; 6] = [
    "PASSED",
    "FAILED",
    "IN_PROGRESS",
    "ABORTED",
    "SKIPPED",
    "QUEUED",
];

/// Statuses of the tests of a launch (R8).
pub const LAUNCH_TEST_STATUSES: [&str; 5] =
    ["PASSED", "FAILED", "SKIPPED", "ABORTED", "IN_PROGRESS"];

/// Check every value of a closed-set filter (`statuses`, ...) and return
/// each as its canonical spelling from `valid`. A value matches ignoring case,
/// spaces, `-` and `_` (`in progress` is `IN_PROGRESS`); a value may also be
/// an alias the caller gives with its canonical name. An unknown value is
/// refused with the valid ones listed, never silently matching nothing: a
/// typo must not read as "no failures".
pub fn one_of<'a>(
    name: &str,
    given: &[String],
    valid: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
) -> Result<Vec<String>, ToolError> {
    let fold = |s: &str| -> String {
        s.chars()
            .filter(|c| !matches!(c, ' ' | '-' | '_'))
            .flat_map(char::to_lowercase)
            .collect()
    };
    let mut out = Vec::new();
    for raw in given.iter().flat_map(|s| s.split(',')) {
        let wanted = raw.trim();
        if wanted.is_empty() {
            continue;
        }
        let found = valid
            .clone()
            .into_iter()
            .find(|(alias, _)| fold(alias) == fold(wanted))
            .map(|(_, canonical)| canonical.to_string());
        match found {
            Some(canonical) => out.push(canonical),
            None => {
                let mut names: Vec<&str> = valid.clone().into_iter().map(|(_, c)| c).collect();
                names.dedup();
                return Err(ToolError::invalid(format!(
                    "`{name}` has {wanted:?}, which is not one of {}",
                    names.join(", ")
                )));
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// `valid` as `(alias, canonical)` pairs where every name is its own alias.
pub fn names<'a>(valid: &'a [&'a str]) -> impl Iterator<Item = (&'a str, &'a str)> + Clone {
    valid.iter().map(|v| (*v, *v))
}

/// A setting given either by its name (`Automated`) or its numeric id.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum NameOrId {
    Id(i64),
    Name(String),
}

impl NameOrId {
    /// A blank name names nothing: callers treat it as the argument left out.
    pub fn is_blank(&self) -> bool {
        matches!(self, NameOrId::Name(n) if n.trim().is_empty())
    }

    pub fn as_lookup(&self) -> String {
        match self {
            NameOrId::Id(id) => id.to_string(),
            NameOrId::Name(name) => name.trim().to_string(),
        }
    }
}

/// Which end of a range a date bounds: a bare date means the start of that
/// day for a lower bound and the end of it for an upper bound.
#[derive(Clone, Copy)]
pub enum Bound {
    Lower,
    Upper,
}

/// Parse `2025-01-31` or an RFC 3339 instant into an instant.
pub fn date_bound(name: &str, raw: &str, bound: Bound) -> Result<OffsetDateTime, ToolError> {
    let raw = raw.trim();
    if let Ok(instant) = OffsetDateTime::parse(raw, &Rfc3339) {
        return Ok(instant);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = Date::parse(raw, &format).map_err(|_| {
        ToolError::invalid(format!(
            "`{name}` {raw:?} is not a date; use YYYY-MM-DD or an RFC 3339 time such as 2026-01-31T12:00:00Z"
        ))
    })?;
    let time = match bound {
        Bound::Lower => Time::MIDNIGHT,
        Bound::Upper => Time::from_hms_milli(23, 59, 59, 999).unwrap_or(Time::MIDNIGHT),
    };
    Ok(date.with_time(time).assume_utc())
}

/// Format an instant for Zebrunner (RFC 3339, UTC).
pub fn rfc3339(instant: OffsetDateTime) -> String {
    instant
        .to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Parse a timestamp as Zebrunner sends it (RFC 3339), if it is one.
pub fn parse_instant(raw: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(raw, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_keys() {
        assert_eq!(project_key(" demo ").unwrap(), "DEMO");
        assert!(project_key("1ABC").is_err());
        assert!(project_key("DE MO").is_err());
        assert!(project_key("").is_err());
    }

    #[test]
    fn case_keys() {
        assert_eq!(
            case_key("demo-12").unwrap(),
            ("DEMO".to_string(), "DEMO-12".to_string())
        );
        assert!(case_key("DEMO").is_err());
        assert!(case_key("DEMO-").is_err());
        assert!(case_key("DEMO-1a").is_err());
        assert!(case_key("-12").is_err());
    }

    #[test]
    fn closed_sets_refuse_unknown_values_and_name_the_valid_ones() {
        let got = one_of(
            "statuses",
            &["failed, in progress".into(), "Failed".into()],
            names(&LAUNCH_STATUSES),
        )
        .unwrap();
        assert_eq!(got, vec!["FAILED", "IN_PROGRESS"]);
        let err = one_of("statuses", &["FAIL".into()], names(&LAUNCH_STATUSES))
            .unwrap_err()
            .message();
        assert!(err.contains("\"FAIL\""), "{err}");
        assert!(
            err.contains("PASSED, FAILED, IN_PROGRESS, ABORTED, SKIPPED, QUEUED"),
            "{err}"
        );
        // Aliases map onto their canonical name.
        let aliased = [
            ("Passed", "Passed"),
            ("PASS", "Passed"),
            ("Failed", "Failed"),
        ];
        assert_eq!(
            one_of("statuses", &["pass".into()], aliased.iter().copied()).unwrap(),
            vec!["Passed"]
        );
        assert!(
            one_of("statuses", &[], names(&LAUNCH_STATUSES))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn name_or_id_accepts_both() {
        let v: Vec<NameOrId> = serde_json::from_str(r#"[12, "Automated"]"#).unwrap();
        assert_eq!(v[0], NameOrId::Id(12));
        assert_eq!(v[1].as_lookup(), "Automated");
    }

    #[test]
    fn date_bounds_cover_the_whole_day() {
        let lo = date_bound("x", "2025-03-01", Bound::Lower).unwrap();
        let hi = date_bound("x", "2025-03-01", Bound::Upper).unwrap();
        assert_eq!(rfc3339(lo), "2025-03-01T00:00:00Z");
        assert_eq!(rfc3339(hi), "2025-03-01T23:59:59.999Z");
        assert!(date_bound("x", "2025-13-01", Bound::Lower).is_err());
        assert!(date_bound("x", "2025-03-01T10:00:00+02:00", Bound::Lower).is_ok());
    }
}
