//! Write confirmation: every write is previewed first and performed only
//! with the single-use token the preview handed out.
//!
//! A token is 256 random bits (hex). The server's storage keeps only its
//! SHA-256, bound to the caller's user key (`local` without identity), the
//! tool and a SHA-256 of the canonical arguments (keys sorted, the control
//! arguments `confirm`, `confirmation_token`, `dry_run` and `format` left
//! out), a SHA-256 of the plan (the request the preview showed and the
//! current state it was computed from, see [`crate::tools::write::Plan`]),
//! and an expiry (10 minutes by default). A confirm plans the write again
//! and consumes the token with one conditional `UPDATE`, so a confirm may
//! reach any replica sharing the database and of two concurrent confirms
//! exactly one writes; when only the plan differs (the data changed since
//! the preview, or the write now covers more), the token is refused and
//! left unused. When Zebrunner refuses the write itself with an answer that
//! means nothing was changed (a 4xx such as 400 or 404), the token is handed
//! back ([`Confirmations::release`]), so a cause fixed outside the arguments
//! (a permission, a closed run) can be confirmed without a new preview.
//! Without a configured database the server uses a private
//! in-memory SQLite.

use std::{sync::Arc, time::Duration};

use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;
use zebrunner_storage::{
    Storage,
    confirm::{ConfirmAttempt, Consumed, NewConfirmation},
};

use crate::tools::error::ToolError;

/// How long a preview's token stays valid unless configured otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(600);

/// The user key tokens are bound to when the caller has no identity.
pub const LOCAL_USER: &str = "local";

/// Arguments that steer the confirmation protocol and are not part of the write.
const CONTROL_ARGUMENTS: [&str; 4] = ["confirm", "confirmation_token", "dry_run", "format"];

/// JSON text with object keys sorted at every level and no whitespace.
pub fn canonical_json(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    write(&map[key], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

pub(crate) fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The hash a token is bound to: the canonical arguments without the control
/// arguments, and without nulls (an omitted optional equals an explicit null).
pub fn arguments_hash(arguments: &Value) -> String {
    let mut args = arguments.clone();
    if let Value::Object(map) = &mut args {
        for key in CONTROL_ARGUMENTS {
            map.remove(key);
        }
        map.retain(|_, v| !v.is_null());
    }
    sha256_hex(&canonical_json(&args))
}

/// The hash a token binds the plan with: the canonical JSON of `plan`.
pub fn plan_hash(plan: &Value) -> String {
    sha256_hex(&canonical_json(plan))
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.trim())
}

fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Issues and consumes tokens. Cheap to clone; clones share the store.
#[derive(Clone)]
pub struct Confirmations {
    storage: Arc<OnceCell<Storage>>,
    ttl: Duration,
}

impl Default for Confirmations {
    fn default() -> Self {
        Self {
            storage: Arc::new(OnceCell::new()),
            ttl: DEFAULT_TTL,
        }
    }
}

/// A token handed out with a preview.
#[derive(Debug, Clone)]
pub struct Issued {
    pub token: String,
    /// RFC 3339 UTC.
    pub expires_at: String,
}

impl Confirmations {
    pub fn with_storage(storage: Storage, ttl: Duration) -> Self {
        Self {
            storage: Arc::new(OnceCell::new_with(Some(storage))),
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    async fn storage(&self) -> Result<&Storage, ToolError> {
        self.storage
            .get_or_try_init(|| Storage::connect("sqlite::memory:"))
            .await
            .map_err(storage_error)
    }

    /// A new token for `user_key` calling `tool` with these arguments, for
    /// the plan hashed as `plan_hash`.
    pub async fn issue(
        &self,
        user_key: &str,
        tool: &str,
        arguments: &Value,
        plan_hash: &str,
    ) -> Result<Issued, ToolError> {
        let token = new_token();
        let created_at = now_unix();
        let expires_at = created_at + i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 2);
        self.storage()
            .await?
            .issue_confirmation(&NewConfirmation {
                token_hash: token_hash(&token),
                user_key: user_key.to_string(),
                tool: tool.to_string(),
                arguments_hash: arguments_hash(arguments),
                plan_hash: plan_hash.to_string(),
                created_at,
                expires_at,
            })
            .await
            .map_err(storage_error)?;
        let expires = time::OffsetDateTime::from_unix_timestamp(expires_at)
            .map(crate::tools::args::rfc3339)
            .unwrap_or_default();
        Ok(Issued {
            token,
            expires_at: expires,
        })
    }

    /// Use `token` for this write (planned again now and hashed as
    /// `plan_hash`), or say why it cannot be used and what to do.
    pub async fn consume(
        &self,
        token: &str,
        user_key: &str,
        tool: &str,
        arguments: &Value,
        plan_hash: &str,
    ) -> Result<(), ToolError> {
        let hash = token_hash(token);
        let args = arguments_hash(arguments);
        let outcome = self
            .storage()
            .await?
            .consume_confirmation(&ConfirmAttempt {
                token_hash: &hash,
                user_key,
                tool,
                arguments_hash: &args,
                plan_hash,
                now: now_unix(),
            })
            .await
            .map_err(storage_error)?;
        refusal(outcome, tool).map_or(Ok(()), |m| Err(ToolError::Confirmation(m)))
    }
}

impl Confirmations {
    /// Hand `token` back after a write Zebrunner refused before changing
    /// anything, so the caller can fix the cause and confirm again with it.
    /// A storage failure here leaves the token used (the safe side).
    pub async fn release(&self, token: &str, user_key: &str) -> bool {
        let Ok(storage) = self.storage().await else {
            return false;
        };
        match storage
            .release_confirmation(&token_hash(token), user_key, now_unix())
            .await
        {
            Ok(released) => released,
            Err(error) => {
                tracing::warn!(%error, "could not release a confirmation token");
                false
            }
        }
    }
}

/// Why a token was refused, with the next step; `None` when it was accepted.
pub fn refusal(outcome: Consumed, tool: &str) -> Option<String> {
    let again = format!(
        "call {tool} again without `confirm` to get a new preview and token, check it, then confirm with that token and the same arguments"
    );
    Some(match outcome {
        Consumed::Ok => return None,
        Consumed::Unknown => {
            format!("the confirmation token is not one this server issued; {again}")
        }
        Consumed::AlreadyUsed => format!(
            "the confirmation token was already used (each token performs one write); nothing was written again. To repeat the write, {again}"
        ),
        Consumed::Expired => format!("the confirmation token has expired; {again}"),
        Consumed::OtherUser => format!(
            "the confirmation token was issued to another user; tokens cannot be shared. {again}"
        ),
        Consumed::PlanChanged => format!(
            "what {tool} would write changed since the preview (someone changed the data, or it now covers more); nothing was written. Preview again: {again}"
        ),
        Consumed::DifferentArguments => format!(
            "the confirmation token was issued for different arguments (or another tool); confirm with exactly the arguments of the preview, or {again}"
        ),
    })
}

fn storage_error(error: zebrunner_storage::StorageError) -> ToolError {
    tracing::error!(%error, "confirmation token storage failed");
    ToolError::Confirmation(
        "the server could not reach its token storage, so nothing was written; retry shortly or tell the administrator".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a = json!({"b": 1, "a": {"y": [2, {"d": 1, "c": 2}], "x": "é\""}});
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"x":"é\"","y":[2,{"c":2,"d":1}]},"b":1}"#
        );
    }

    #[test]
    fn arguments_hash_ignores_control_arguments_order_and_nulls() {
        let a = json!({"project_key": "DEMO", "title": "x", "confirm": true,
                       "confirmation_token": "t", "dry_run": false, "format": "json"});
        let b = json!({"title": "x", "project_key": "DEMO", "description": null});
        assert_eq!(arguments_hash(&a), arguments_hash(&b));
        assert_ne!(
            arguments_hash(&a),
            arguments_hash(&json!({"project_key": "DEMO", "title": "y"}))
        );
        // Array order matters (steps are ordered).
        assert_ne!(
            arguments_hash(&json!({"k": [1, 2]})),
            arguments_hash(&json!({"k": [2, 1]}))
        );
        assert_eq!(arguments_hash(&a).len(), 64);
    }

    #[test]
    fn plan_hashes_ignore_key_order_only() {
        let a = json!({"method": "PUT", "body": {"title": "A", "parentSuiteId": null}});
        let b = json!({"body": {"parentSuiteId": null, "title": "A"}, "method": "PUT"});
        assert_eq!(plan_hash(&a), plan_hash(&b));
        let c = json!({"method": "PUT", "body": {"title": "B", "parentSuiteId": null}});
        assert_ne!(plan_hash(&a), plan_hash(&c));
        assert_eq!(plan_hash(&a).len(), 64);
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_ne!(token_hash(&a), a);
        assert_eq!(token_hash(&a), token_hash(&format!(" {a} ")));
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[tokio::test]
    async fn tokens_bind_user_tool_arguments_and_plan_and_are_single_use() {
        let c = Confirmations::default();
        let args = json!({"project_key": "DEMO", "title": "x"});
        let issued = c
            .issue("ann", "create_test_suite", &args, "p1")
            .await
            .unwrap();
        let refused = |r: Result<(), ToolError>| match r {
            Err(ToolError::Confirmation(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        };
        let m = refused(
            c.consume(&issued.token, "bob", "create_test_suite", &args, "p1")
                .await,
        );
        assert!(m.contains("another user"), "{m}");
        let other = json!({"project_key": "DEMO", "title": "y"});
        let m = refused(
            c.consume(&issued.token, "ann", "create_test_suite", &other, "p1")
                .await,
        );
        assert!(m.contains("different arguments"), "{m}");
        let m = refused(
            c.consume(&issued.token, "ann", "update_test_suite", &args, "p1")
                .await,
        );
        assert!(m.contains("different arguments"), "{m}");
        // The same arguments, but the write planned now differs from the
        // preview's: refused, and the token stays usable.
        let m = refused(
            c.consume(&issued.token, "ann", "create_test_suite", &args, "p2")
                .await,
        );
        assert!(m.contains("changed since the preview"), "{m}");
        c.consume(&issued.token, "ann", "create_test_suite", &args, "p1")
            .await
            .unwrap();
        let m = refused(
            c.consume(&issued.token, "ann", "create_test_suite", &args, "p1")
                .await,
        );
        assert!(m.contains("already used"), "{m}");
        let m = refused(
            c.consume("nonsense", "ann", "create_test_suite", &args, "p1")
                .await,
        );
        assert!(m.contains("not one this server issued"), "{m}");
    }

    #[tokio::test]
    async fn a_released_token_can_confirm_again_but_only_its_owner_can_release_it() {
        let c = Confirmations::default();
        let args = json!({"a": 1});
        let issued = c.issue("ann", "t", &args, "p").await.unwrap();
        c.consume(&issued.token, "ann", "t", &args, "p")
            .await
            .unwrap();
        assert!(!c.release(&issued.token, "bob").await);
        assert!(c.release(&issued.token, "ann").await);
        c.consume(&issued.token, "ann", "t", &args, "p")
            .await
            .unwrap();
        assert!(matches!(
            c.consume(&issued.token, "ann", "t", &args, "p").await,
            Err(ToolError::Confirmation(_))
        ));
    }

    #[tokio::test]
    async fn expired_tokens_are_refused() {
        let c = Confirmations::default().with_ttl(Duration::ZERO);
        let args = json!({"a": 1});
        let issued = c.issue(LOCAL_USER, "t", &args, "p").await.unwrap();
        match c.consume(&issued.token, LOCAL_USER, "t", &args, "p").await {
            Err(ToolError::Confirmation(m)) => assert!(m.contains("expired"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
