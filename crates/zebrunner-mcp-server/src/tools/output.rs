//! Output format and rendering shared by every tool.

use rmcp::{
    ErrorData as McpError,
    model::{CallToolResult, ContentBlock},
};
use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use super::error::ToolError;
use crate::context::CallContext;

/// How the text content of a result is written. `structuredContent` is
/// always present whichever is chosen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Compact, readable Markdown (default).
    #[default]
    Markdown,
    /// The structured result as JSON text.
    Json,
}

/// Every tool takes `format`, so its schema is the smallest standard one,
/// written in place (no `$defs` entry, no per-value prose): the values say
/// what they are.
impl JsonSchema for Format {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Format".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "enum": ["markdown", "json"]})
    }
}

/// A tool's structured answer, which also knows how to read as Markdown.
pub trait ToolOutput: Serialize {
    fn markdown(&self) -> String;
}

/// Turn a tool's outcome into an MCP result: text in the requested format
/// plus `structuredContent`, or an `isError` result that says what to do.
pub fn finish<T: ToolOutput>(
    cx: &CallContext,
    format: Format,
    outcome: Result<T, ToolError>,
) -> Result<CallToolResult, McpError> {
    finish_with_content(cx, format, outcome.map(|output| (output, Vec::new())))
}

/// Like [`finish`], with extra content blocks (an image, say) placed after
/// the text block.
pub fn finish_with_content<T: ToolOutput>(
    cx: &CallContext,
    format: Format,
    outcome: Result<(T, Vec<ContentBlock>), ToolError>,
) -> Result<CallToolResult, McpError> {
    let (output, extra) = match outcome {
        Ok(done) => done,
        Err(error) => return Ok(ToolError::into_result(cx.render_error(&error))),
    };
    let structured = serde_json::to_value(&output).map_err(|e| {
        McpError::internal_error(format!("could not serialise the result: {e}"), None)
    })?;
    let text = match format {
        Format::Markdown => output.markdown(),
        Format::Json => serde_json::to_string_pretty(&structured).map_err(|e| {
            McpError::internal_error(format!("could not serialise the result: {e}"), None)
        })?,
    };
    let mut content = vec![ContentBlock::text(text)];
    content.extend(extra);
    let mut result = CallToolResult::success(content);
    result.structured_content = Some(structured);
    Ok(result)
}

/// Escape text for a Markdown table cell: pipes and line breaks would break
/// the table. Most cells need neither, and are passed through as they are.
pub fn cell(text: &str) -> Cow<'_, str> {
    if !text.contains(['|', '\n']) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(at) = rest.find(['|', '\n']) {
        let (before, after) = rest.split_at(at);
        if after.starts_with('|') {
            escaped.push_str(before);
            escaped.push_str("\\|");
        } else {
            escaped.push_str(before.strip_suffix('\r').unwrap_or(before));
            escaped.push_str("<br>");
        }
        rest = &after[1..];
    }
    escaped.push_str(rest);
    Cow::Owned(escaped)
}

/// Shorten text for compact listings, marking the cut.
pub fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_escapes_pipes_and_newlines() {
        assert_eq!(cell("a|b\nc"), "a\\|b<br>c");
        assert_eq!(cell("a\r\nb\rc||\n"), "a<br>b\rc\\|\\|<br>");
        assert!(matches!(cell("plain text"), Cow::Borrowed("plain text")));
    }

    #[test]
    fn truncate_marks_the_cut() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
