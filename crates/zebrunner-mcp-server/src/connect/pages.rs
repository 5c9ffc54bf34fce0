//! The connect page's HTML, rendered from the templates in `templates/connect/` (askama:
//! checked at compile time, HTML-escaped), which extend `zebrunner-pages`' layout.

use askama::Template;
use zebrunner_storage::vault::{RecordStatus, VaultMetadata};

/// A fixed message after a redirect (`/connect?notice=…`): the query names one of these,
/// never free text.
pub fn notice_text(code: &str) -> Option<&'static str> {
    match code {
        "saved" => Some(
            "Saved. Zebrunner accepted the token; your AI assistant now works as you. Retry \
             the request in your assistant.",
        ),
        "connect-first" => Some(
            "An application asked to use Zebrunner as you. Connect your Zebrunner account \
             once, here; then it goes on by itself.",
        ),
        "disconnected" => Some("Disconnected. This server no longer holds a token of yours."),
        "signed-out" => Some("You are signed out of this page."),
        _ => None,
    }
}

/// What the page says about the person's stored token.
pub enum Status {
    NotConnected,
    Connected { login: String, checked: String },
    Refused { login: String, reason: String },
}

impl Status {
    pub fn of(record: Option<&VaultMetadata>) -> Status {
        match record {
            None => Status::NotConnected,
            Some(meta) => match &meta.status {
                RecordStatus::Active => Status::Connected {
                    login: meta.login.clone(),
                    checked: meta
                        .last_validated_at
                        .as_deref()
                        .map_or_else(|| "never".to_owned(), readable_time),
                },
                RecordStatus::Invalid { reason } => Status::Refused {
                    login: meta.login.clone(),
                    reason: reason.clone(),
                },
            },
        }
    }
}

#[derive(Template)]
#[template(path = "connect/signed_out.html")]
pub struct SignedOut<'a> {
    pub notice: Option<&'a str>,
    pub problem: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "connect/account.html")]
pub struct Account<'a> {
    pub notice: Option<&'a str>,
    pub problem: Option<&'a str>,
    pub who: &'a str,
    pub csrf: &'a str,
    pub status: Status,
    pub connected: bool,
    /// The login to suggest: the one typed before a failed attempt, the stored one, or the
    /// one the login rules give this person.
    pub login_hint: &'a str,
}

/// `2026-12-06T23:50:12.123Z` as `2026-12-06 23:50 UTC`.
fn readable_time(rfc3339: &str) -> String {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .map_or_else(|_| rfc3339.to_owned(), zebrunner_pages::readable_time)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(status: Status, problem: Option<&str>) -> String {
        Account {
            notice: None,
            problem,
            who: "Alice <alice@x>",
            csrf: "c5rf",
            connected: !matches!(status, Status::NotConnected),
            status,
            login_hint: "alice\"><script>",
        }
        .render()
        .unwrap()
    }

    #[test]
    fn every_form_carries_the_csrf_token_and_text_is_escaped() {
        let page = account(
            Status::Connected {
                login: "alice".into(),
                checked: "2026-12-06 23:50 UTC".into(),
            },
            Some("<b>bad</b>"),
        );
        assert_eq!(page.matches("<form").count(), 4);
        assert_eq!(page.matches(r#"name="csrf" value="c5rf""#).count(), 4);
        assert!(page.contains("Alice &#60;alice@x&#62;") || page.contains("Alice &lt;alice@x&gt;"));
        assert!(!page.contains("<script>") && !page.contains("<b>bad</b>"));
        assert!(page.contains(r#"id="problem""#) && page.contains(r#"role="alert""#));
        assert!(page.contains("Connected as <strong>alice</strong>"));
    }

    #[test]
    fn disconnect_is_offered_only_with_a_stored_token() {
        let page = account(Status::NotConnected, None);
        assert!(!page.contains("disconnect-form"));
        assert!(page.contains(r#"id="status""#) && page.contains("Not connected"));
        let refused = account(
            Status::Refused {
                login: "alice".into(),
                reason: "Zebrunner answered 401".into(),
            },
            None,
        );
        assert!(refused.contains("disconnect-form") && refused.contains("no longer accepts"));
    }

    #[test]
    fn every_input_has_a_label() {
        let page = account(Status::NotConnected, None);
        for id in ["login", "token", "sso_url"] {
            assert!(page.contains(&format!(r#"<label for="{id}">"#)), "{id}");
            assert!(page.contains(&format!(r#"id="{id}""#)), "{id}");
        }
    }

    #[test]
    fn notices_are_fixed_texts() {
        assert!(notice_text("saved").is_some());
        assert_eq!(notice_text("<script>"), None);
    }

    #[test]
    fn times_read_like_people_write_them() {
        assert_eq!(
            readable_time("2026-12-06T23:50:12.123Z"),
            "2026-12-06 23:50 UTC"
        );
        assert_eq!(readable_time("garbage"), "garbage");
    }
}
