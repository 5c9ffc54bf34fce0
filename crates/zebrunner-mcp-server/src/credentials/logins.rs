//! Who may act as which Zebrunner login, with per-user credentials.
//!
//! Nobody may attach someone else's Zebrunner account to their identity:
//! by default the login must be the person's verified e-mail address
//! (compared without regard to case); `zebrunner.logins` lists exceptions,
//! by e-mail address or user key, and a person listed there may use only the
//! login listed.

use std::collections::BTreeMap;

use zebrunner_identity::Identity;

/// The configured exceptions, keys lower-cased for e-mail addresses.
#[derive(Debug, Clone, Default)]
pub struct LoginRules {
    exceptions: BTreeMap<String, String>,
}

impl LoginRules {
    pub fn new(exceptions: &BTreeMap<String, String>) -> Self {
        Self {
            exceptions: exceptions
                .iter()
                .map(|(who, login)| (normalise_key(who), login.trim().to_owned()))
                .collect(),
        }
    }

    /// The one login `identity` may use, if any: its exception, else its e-mail address.
    pub fn login_for(&self, identity: &Identity) -> Option<String> {
        let by_key = self.exceptions.get(&identity.user_key);
        let by_email = identity
            .email
            .as_deref()
            .and_then(|e| self.exceptions.get(&e.to_lowercase()));
        by_key
            .or(by_email)
            .cloned()
            .or_else(|| identity.email.clone())
    }

    /// Whether `identity` may act as `login`.
    pub fn allows(&self, identity: &Identity, login: &str) -> bool {
        self.login_for(identity)
            .is_some_and(|allowed| allowed.eq_ignore_ascii_case(login.trim()))
    }
}

/// User keys keep their case (`uid:00uAbC`); e-mail addresses compare lower-cased.
fn normalise_key(who: &str) -> String {
    let who = who.trim();
    if who.starts_with("uid:") || who.starts_with("sub:") || who.starts_with("client:") {
        who.to_owned()
    } else {
        who.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(user_key: &str, email: Option<&str>) -> Identity {
        Identity {
            user_key: user_key.into(),
            subject: "s".into(),
            email: email.map(Into::into),
            name: None,
            groups: Vec::new(),
            scopes: Vec::new(),
            client_id: None,
            is_service: false,
            grant_id: None,
            expires_at: 0,
        }
    }

    #[test]
    fn by_default_only_the_own_email_address() {
        let rules = LoginRules::default();
        let alice = person("uid:1", Some("Alice@Acme.com"));
        assert!(rules.allows(&alice, "alice@acme.com"));
        assert!(!rules.allows(&alice, "bob@acme.com"));
        assert!(!rules.allows(&person("uid:2", None), "anyone"));
    }

    #[test]
    fn an_exception_replaces_the_email_address() {
        let rules = LoginRules::new(&BTreeMap::from([
            ("ALICE@acme.com".to_string(), "alice".to_string()),
            ("uid:00uBob".to_string(), "qa-bob".to_string()),
        ]));
        let alice = person("uid:1", Some("alice@acme.com"));
        assert!(rules.allows(&alice, "alice"));
        assert!(!rules.allows(&alice, "alice@acme.com"));
        let bob = person("uid:00uBob", Some("bob@acme.com"));
        assert!(rules.allows(&bob, "qa-bob"));
        assert!(!rules.allows(&person("uid:00ubob", None), "qa-bob"));
    }
}
