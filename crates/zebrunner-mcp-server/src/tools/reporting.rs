//! Pieces shared by the run, launch and milestone tools: timestamps from
//! epoch milliseconds, milestone lookup by name or id, status lists.

use futures::TryStreamExt as _;
use time::OffsetDateTime;
use zebrunner_client::{Milestone, ZebrunnerClient};

use super::{
    args::{self, NameOrId},
    error::ToolError,
    scope,
};

/// Epoch milliseconds as an RFC 3339 instant.
pub fn epoch_ms(ms: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .map(args::rfc3339)
}

/// Every milestone of a project (open and completed).
pub async fn all_milestones(
    client: &ZebrunnerClient,
    project_id: i64,
) -> Result<Vec<Milestone>, ToolError> {
    let all = client.milestones(project_id, None).try_collect().await?;
    Ok(scope::own_milestones(project_id, all))
}

/// The milestone named (case-insensitive) or numbered by `wanted`.
pub async fn resolve_milestone(
    client: &ZebrunnerClient,
    project_key: &str,
    project_id: i64,
    wanted: &NameOrId,
) -> Result<Milestone, ToolError> {
    let all = all_milestones(client, project_id).await?;
    find_milestone(project_key, &all, wanted).cloned()
}

/// The milestone of `all` named (case-insensitive) or numbered by `wanted`, or an error listing
/// them.
pub fn find_milestone<'a>(
    project_key: &str,
    all: &'a [Milestone],
    wanted: &NameOrId,
) -> Result<&'a Milestone, ToolError> {
    all.iter()
        .find(|m| match wanted {
            NameOrId::Id(id) => m.id == *id,
            NameOrId::Name(name) => {
                m.name.trim().eq_ignore_ascii_case(name.trim())
                    || name.trim().parse::<i64>().is_ok_and(|id| id == m.id)
            }
        })
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|m| m.name.as_str()).collect();
            ToolError::invalid(format!(
                "project {project_key} has no milestone {:?}; its milestones are: {} (list_milestones shows them)",
                wanted.as_lookup(),
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ))
        })
}

/// The milestone that started last before `current` (by start date, then id): what a release
/// is compared with when no baseline is named.
pub fn milestone_before<'a>(all: &'a [Milestone], current: &Milestone) -> Option<&'a Milestone> {
    let key = |m: &Milestone| (m.start_date.clone().unwrap_or_default(), m.id);
    all.iter()
        .filter(|m| m.id != current.id && key(m) < key(current))
        .max_by_key(|m| key(m))
}

/// The project's TCM result statuses named in `given` (by name or alias,
/// any case), as their names; unknown ones are refused with the valid names.
/// Asks Zebrunner only when `given` names any.
pub async fn result_statuses(
    client: &ZebrunnerClient,
    project_key: &str,
    name: &str,
    given: &[String],
) -> Result<Vec<String>, ToolError> {
    if given.iter().all(|s| s.trim().is_empty()) {
        return Ok(Vec::new());
    }
    let known = client.result_statuses(project_key).await?;
    let pairs: Vec<(&str, &str)> = known
        .iter()
        .flat_map(|s| {
            let aliases = s.aliases.as_deref().unwrap_or("").split(',');
            std::iter::once(s.name.as_str())
                .chain(aliases.map(str::trim).filter(|a| !a.is_empty()))
                .map(|alias| (alias, s.name.as_str()))
        })
        .collect();
    args::one_of(name, given, pairs.iter().copied())
}

/// Check `limit` is within `1..=max`.
pub fn limit(value: Option<u32>, default: u32, max: u32) -> Result<usize, ToolError> {
    let limit = value.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit as usize)
    } else {
        Err(ToolError::invalid(format!(
            "`limit` must be between 1 and {max}, got {limit}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(id: i64, start: Option<&str>) -> Milestone {
        Milestone {
            id,
            name: format!("M{id}"),
            start_date: start.map(str::to_string),
            ..Milestone::default()
        }
    }

    #[test]
    fn the_previous_milestone_started_last_before() {
        let all = [
            ms(1, Some("2025-01-01T00:00:00Z")),
            ms(2, Some("2025-02-01T00:00:00Z")),
            ms(3, Some("2025-03-01T00:00:00Z")),
        ];
        assert_eq!(milestone_before(&all, &all[2]).map(|m| m.id), Some(2));
        assert_eq!(milestone_before(&all, &all[0]).map(|m| m.id), None);
    }

    #[test]
    fn epoch_ms_is_rfc3339() {
        assert_eq!(
            epoch_ms(1_735_689_600_000).as_deref(),
            Some("2025-01-01T00:00:00Z")
        );
    }

    #[test]
    fn limits_are_checked() {
        assert_eq!(limit(None, 25, 100).unwrap(), 25);
        assert!(limit(Some(0), 25, 100).is_err());
        assert!(limit(Some(101), 25, 100).is_err());
    }
}
