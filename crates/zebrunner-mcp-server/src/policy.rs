//! Access policy: who may call which tool on which project.
//!
//! Decided once per request from the caller's identity (Okta groups and
//! scopes) and carried to every tool as a [`Grant`]. Group rules mirror
//! Zebrunner's own SAML attributes (`Zebrunner.Access`, `Zebrunner.Groups`):
//! allowed groups may use the server, read-only groups may not write, admin
//! groups may do everything, and groups may be limited to listed projects,
//! so a shared service account does not show every project to everyone.

use std::collections::BTreeSet;

use rmcp::model::Tool;
use zebrunner_identity::Identity;

use crate::config::PolicyConfig;

/// What one caller may do.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    /// No write tool may run.
    pub read_only: bool,
    /// Project keys the caller may use; `None` means every project.
    pub projects: Option<BTreeSet<String>>,
}

impl Grant {
    /// Everything, except writes when the server is read-only (identity `none`).
    pub fn unrestricted(read_only: bool) -> Self {
        Self {
            read_only,
            projects: None,
        }
    }

    /// Whether `tool` is one this caller may see and call.
    pub fn may_use(&self, tool: &Tool) -> bool {
        !(self.read_only && is_write(tool))
    }

    /// Whether write tools are open to this caller at all.
    pub fn may_write(&self) -> bool {
        !self.read_only
    }

    pub fn allows_project(&self, key: &str) -> bool {
        self.projects.as_ref().is_none_or(|p| p.contains(key))
    }

    /// Refuse a project outside the caller's grant, saying which are allowed.
    pub fn check_project(&self, key: &str) -> Result<(), String> {
        match &self.projects {
            Some(allowed) if allowed.is_empty() => Err(format!(
                "the access policy gives your groups no project, so project {key} is refused; ask \
                 your administrator to add you to a group with project access"
            )),
            Some(allowed) if !allowed.contains(key) => Err(format!(
                "the access policy does not give your groups project {key}; projects you may use: {}",
                allowed.iter().cloned().collect::<Vec<_>>().join(", ")
            )),
            _ => Ok(()),
        }
    }
}

/// A tool writes unless it is annotated read-only.
pub fn is_write(tool: &Tool) -> bool {
    tool.annotations.as_ref().and_then(|a| a.read_only_hint) != Some(true)
}

/// The configured rules.
#[derive(Debug, Clone)]
pub struct Policy {
    config: PolicyConfig,
    read_only_server: bool,
}

impl Policy {
    pub fn new(config: PolicyConfig, read_only_server: bool) -> Self {
        Self {
            config,
            read_only_server,
        }
    }

    pub fn read_scope(&self) -> &str {
        &self.config.read_scope
    }

    /// Every scope an operation needs: the read scope, plus the write scope
    /// for a write.
    pub fn scopes_needed(&self, write: bool) -> Vec<String> {
        let mut scopes = vec![self.config.read_scope.clone()];
        if write {
            scopes.push(self.config.write_scope.clone());
        }
        scopes
    }

    /// Whether the token's scopes suffice. The write scope implies the read
    /// scope (the MCP spec asks servers to honour scope hierarchies).
    pub fn has_scopes(&self, identity: &Identity, write: bool) -> bool {
        let has = |s: &str| identity.scopes.iter().any(|g| g == s);
        let writes = has(&self.config.write_scope);
        if write {
            writes
        } else {
            writes || has(&self.config.read_scope)
        }
    }

    /// The caller's groups as policy sees them: token groups, plus
    /// `client:<id>` for service clients (client-credentials tokens), so
    /// admins can name a robot in group rules.
    fn groups(identity: &Identity) -> BTreeSet<String> {
        let mut groups: BTreeSet<String> = identity.groups.iter().cloned().collect();
        if identity.is_service
            && let Some(client) = &identity.client_id
        {
            groups.insert(format!("client:{client}"));
        }
        groups
    }

    /// Decide what an authenticated caller may do, or why they may not use
    /// the server at all.
    pub fn grant(&self, identity: &Identity) -> Result<Grant, String> {
        let c = &self.config;
        let groups = Self::groups(identity);
        let in_any = |list: &[String]| list.iter().any(|g| groups.contains(g));
        let admin = in_any(&c.admin_groups);
        if !c.allowed_groups.is_empty() && !admin && !in_any(&c.allowed_groups) {
            return Err(format!(
                "your groups do not include any group allowed to use this server ({}); ask your \
                 Okta administrator for access",
                c.allowed_groups.join(", ")
            ));
        }
        let read_only = self.read_only_server || (!admin && in_any(&c.read_only_groups));
        let projects = if admin {
            None
        } else {
            let limited: Vec<&crate::config::ProjectAccess> = c
                .project_access
                .iter()
                .filter(|a| groups.contains(&a.group))
                .collect();
            let unlimited_allowed_group = c
                .allowed_groups
                .iter()
                .any(|g| groups.contains(g) && !c.project_access.iter().any(|a| &a.group == g));
            if unlimited_allowed_group {
                None
            } else if limited.is_empty() {
                // Outside every limited group: `default_projects`, so that
                // leaving a limited group never widens access once it is set.
                c.default_projects
                    .as_ref()
                    .map(|keys| keys.iter().cloned().collect())
            } else {
                Some(
                    limited
                        .iter()
                        .flat_map(|a| a.projects.iter().cloned())
                        .collect(),
                )
            }
        };
        Ok(Grant {
            read_only,
            projects,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ProjectAccess;

    fn identity(groups: &[&str], scopes: &[&str]) -> Identity {
        Identity {
            user_key: "uid:00u1".into(),
            subject: "alice@example.com".into(),
            email: None,
            name: None,
            groups: groups.iter().map(|g| g.to_string()).collect(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            client_id: Some("web".into()),
            is_service: false,
            grant_id: None,
            expires_at: 0,
        }
    }

    fn policy() -> Policy {
        Policy::new(
            PolicyConfig {
                allowed_groups: vec!["qa".into(), "dev".into(), "client:ci".into()],
                read_only_groups: vec!["dev".into()],
                admin_groups: vec!["qa-admins".into()],
                project_access: vec![
                    ProjectAccess {
                        group: "dev".into(),
                        projects: vec!["DEMO".into()],
                    },
                    ProjectAccess {
                        group: "mobile".into(),
                        projects: vec!["MOBILE".into()],
                    },
                ],
                ..PolicyConfig::default()
            },
            false,
        )
    }

    #[test]
    fn groups_decide_access() {
        let p = policy();
        assert!(p.grant(&identity(&["contractors"], &[])).is_err());
        let qa = p.grant(&identity(&["qa", "Everyone"], &[])).unwrap();
        assert_eq!(qa, Grant::unrestricted(false));
        let dev = p.grant(&identity(&["dev"], &[])).unwrap();
        assert!(dev.read_only);
        assert_eq!(dev.projects, Some(BTreeSet::from(["DEMO".to_string()])));
        assert!(dev.check_project("API").unwrap_err().contains("DEMO"));
        let admin = p.grant(&identity(&["qa-admins", "dev"], &[])).unwrap();
        assert!(!admin.read_only && admin.projects.is_none());
    }

    #[test]
    fn limited_groups_union_and_unlimited_allowed_groups_win() {
        let p = policy();
        let both = p.grant(&identity(&["dev", "mobile"], &[])).unwrap();
        assert_eq!(
            both.projects,
            Some(BTreeSet::from(["DEMO".to_string(), "MOBILE".to_string()]))
        );
        let qa_and_dev = p.grant(&identity(&["qa", "dev"], &[])).unwrap();
        assert_eq!(qa_and_dev.projects, None);
    }

    /// Only a limited group and admins, no allowed groups: the set-up where a
    /// user outside every group used to see every project.
    fn limited_only(default_projects: Option<&[&str]>) -> Policy {
        Policy::new(
            PolicyConfig {
                admin_groups: vec!["qa-admins".into()],
                project_access: vec![ProjectAccess {
                    group: "limited".into(),
                    projects: vec!["DEMO".into()],
                }],
                default_projects: default_projects
                    .map(|keys| keys.iter().map(|k| k.to_string()).collect()),
                ..PolicyConfig::default()
            },
            false,
        )
    }

    fn projects(p: &Policy, groups: &[&str]) -> Option<BTreeSet<String>> {
        p.grant(&identity(groups, &[])).unwrap().projects
    }

    fn keys(keys: &[&str]) -> Option<BTreeSet<String>> {
        Some(keys.iter().map(|k| k.to_string()).collect())
    }

    #[test]
    fn users_outside_every_group_get_the_default_projects() {
        // Unset keeps the old answer: every project.
        let p = limited_only(None);
        assert_eq!(projects(&p, &[]), None);
        assert_eq!(projects(&p, &["limited"]), keys(&["DEMO"]));

        let p = limited_only(Some(&["API"]));
        assert_eq!(projects(&p, &[]), keys(&["API"]));
        assert_eq!(projects(&p, &["Everyone"]), keys(&["API"]));
        // A limited group replaces the default, it does not add to it.
        assert_eq!(projects(&p, &["limited"]), keys(&["DEMO"]));
        assert_eq!(projects(&p, &["qa-admins"]), None);
        assert_eq!(projects(&p, &["qa-admins", "limited"]), None);

        // `[]`: leaving the limited group leaves no project at all.
        let p = limited_only(Some(&[]));
        let ungrouped = p.grant(&identity(&[], &[])).unwrap();
        assert_eq!(ungrouped.projects, keys(&[]));
        assert!(!ungrouped.allows_project("DEMO"));
        let refusal = ungrouped.check_project("DEMO").unwrap_err();
        assert!(refusal.contains("no project"), "{refusal}");
        assert_eq!(projects(&p, &["limited"]), keys(&["DEMO"]));
        assert_eq!(projects(&p, &["qa-admins"]), None);

        // Robots without groups are users outside every group too.
        let mut robot = identity(&[], &[]);
        robot.is_service = true;
        robot.client_id = Some("ci".into());
        assert_eq!(p.grant(&robot).unwrap().projects, keys(&[]));
    }

    #[test]
    fn an_unlimited_allowed_group_is_not_given_the_default() {
        let p = Policy::new(
            PolicyConfig {
                default_projects: Some(vec![]),
                ..policy().config
            },
            false,
        );
        assert_eq!(projects(&p, &["qa"]), None);
        assert_eq!(projects(&p, &["dev"]), keys(&["DEMO"]));
        assert_eq!(projects(&p, &["qa", "dev"]), None);
        assert!(p.grant(&identity(&[], &[])).is_err());
    }

    #[test]
    fn service_clients_are_named_as_client_groups() {
        let p = policy();
        let mut robot = identity(&[], &[]);
        robot.is_service = true;
        robot.client_id = Some("ci".into());
        assert!(p.grant(&robot).is_ok());
        robot.client_id = Some("other".into());
        assert!(p.grant(&robot).is_err());
    }

    #[test]
    fn write_scope_implies_read() {
        let p = policy();
        assert!(p.has_scopes(&identity(&[], &["zebrunner:write"]), false));
        assert!(p.has_scopes(&identity(&[], &["zebrunner:read"]), false));
        assert!(!p.has_scopes(&identity(&[], &["zebrunner:read"]), true));
        assert!(!p.has_scopes(&identity(&[], &["openid"]), false));
        assert_eq!(
            p.scopes_needed(true),
            vec!["zebrunner:read", "zebrunner:write"]
        );
    }

    #[test]
    fn read_only_server_overrides_groups() {
        let p = Policy::new(PolicyConfig::default(), true);
        assert!(p.grant(&identity(&["anything"], &[])).unwrap().read_only);
    }
}
