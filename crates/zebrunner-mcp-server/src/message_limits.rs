//! How much one MCP message may carry in and out (`[limits]`): the nesting of an incoming
//! message ([`crate::transport::json_depth`]), the size of each tool argument (checked here,
//! in the handler, before any tool runs) and the size of a tool's answer
//! ([`crate::result_pages`]). The request body's size is `max_body_bytes` (HTTP) and the
//! line's size rmcp's own cap (stdio).

use rmcp::model::JsonObject;
use serde_json::Value;

use crate::{tools::error::ToolError, transport::http::limits::LimitsConfig};

/// The limits the handler and the transports apply. Cheap to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageLimits {
    /// 0: no check beyond serde's own.
    pub max_json_depth: u32,
    pub max_argument_bytes: usize,
    pub max_argument_items: usize,
    pub max_result_bytes: usize,
}

impl From<&LimitsConfig> for MessageLimits {
    fn from(config: &LimitsConfig) -> Self {
        Self {
            max_json_depth: config.max_json_depth,
            max_argument_bytes: config.max_argument_bytes,
            max_argument_items: config.max_argument_items,
            max_result_bytes: config.max_result_bytes,
        }
    }
}

impl Default for MessageLimits {
    fn default() -> Self {
        Self::from(&LimitsConfig::default())
    }
}

/// One step of the way to a value inside the arguments, for the error message.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

impl MessageLimits {
    /// Refuse arguments with a text or a list over the limits, naming where it is
    /// (`steps[3].action`) and the limit.
    pub fn check_arguments(&self, arguments: Option<&JsonObject>) -> Result<(), ToolError> {
        let Some(arguments) = arguments else {
            return Ok(());
        };
        let mut path = Vec::new();
        for (name, value) in arguments {
            path.push(Step::Key(name));
            self.check_value(value, &mut path)?;
            path.pop();
        }
        Ok(())
    }

    /// The walk is as deep as the message, which the transports bound (`max_json_depth`,
    /// and serde's 128 levels below that).
    fn check_value<'a>(&self, value: &'a Value, path: &mut Vec<Step<'a>>) -> Result<(), ToolError> {
        match value {
            Value::String(text) if text.len() > self.max_argument_bytes => {
                Err(ToolError::invalid(format!(
                    "`{}` is {} bytes long, more than the {} bytes this server accepts in one \
                     argument (setting limits.max_argument_bytes); send less text, or split the \
                     work into several calls",
                    render(path),
                    text.len(),
                    self.max_argument_bytes
                )))
            }
            Value::Array(items) => {
                if items.len() > self.max_argument_items {
                    return Err(ToolError::invalid(format!(
                        "`{}` holds {} items, more than the {} this server accepts in one list \
                         (setting limits.max_argument_items); split the work into several calls",
                        render(path),
                        items.len(),
                        self.max_argument_items
                    )));
                }
                for (index, item) in items.iter().enumerate() {
                    path.push(Step::Index(index));
                    self.check_value(item, path)?;
                    path.pop();
                }
                Ok(())
            }
            Value::Object(members) => {
                for (key, member) in members {
                    path.push(Step::Key(key));
                    self.check_value(member, path)?;
                    path.pop();
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// `steps[3].action`. Argument names come from the caller, so they are shortened.
fn render(path: &[Step<'_>]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&crate::tools::output::truncate(key, 64));
            }
            Step::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn limits() -> MessageLimits {
        MessageLimits {
            max_argument_bytes: 10,
            max_argument_items: 3,
            ..MessageLimits::default()
        }
    }

    fn check(arguments: Value) -> Result<(), String> {
        let Value::Object(arguments) = arguments else {
            panic!("arguments must be an object");
        };
        limits()
            .check_arguments(Some(&arguments))
            .map_err(|e| e.message())
    }

    #[test]
    fn arguments_within_the_limits_pass() {
        assert_eq!(
            check(json!({"key": "DEMO-1", "ids": [1, 2, 3], "deep": {"a": ["0123456789"]}})),
            Ok(())
        );
        assert!(limits().check_arguments(None).is_ok());
    }

    #[test]
    fn a_long_text_is_refused_by_its_path() {
        let error =
            check(json!({"title": "x", "steps": [{"action": "ok"}, {"action": "01234567890"}]}))
                .unwrap_err();
        assert!(
            error.contains("`steps[1].action` is 11 bytes long"),
            "{error}"
        );
        assert!(error.contains("limits.max_argument_bytes"), "{error}");
        let error = check(json!({"title": "a title that is too long"})).unwrap_err();
        assert!(error.contains("`title` is 24 bytes"), "{error}");
    }

    #[test]
    fn a_long_list_is_refused_by_its_path() {
        let error = check(json!({"keys": ["a", "b", "c", "d"]})).unwrap_err();
        assert!(
            error.contains("`keys` holds 4 items, more than the 3"),
            "{error}"
        );
        let error = check(json!({"results": [{"tags": [1, 2, 3, 4]}]})).unwrap_err();
        assert!(error.contains("`results[0].tags` holds 4 items"), "{error}");
    }
}
