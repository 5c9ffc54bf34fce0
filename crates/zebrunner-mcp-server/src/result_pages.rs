//! Answers longer than `limits.max_result_bytes`: sent in parts, never cut silently.
//!
//! The handler passes every tool answer through [`ResultPages::limit`], one choke point for
//! every tool. An answer whose text is within the limit passes untouched. A longer one:
//! - from a tool that pages (its arguments take `cursor`): the first part goes out, ending
//!   with a note that says how many parts there are and the `cursor` that fetches the next;
//!   the whole text is held here, in memory, for [`HOLD_FOR`]. The call with that cursor
//!   ([`ResultPages::continuation`]) is answered from here without running the tool again, so
//!   the parts join up to exactly the first answer. Parts are cut at line ends, so a Markdown
//!   table row or a JSON line is never split between two parts when it fits in one.
//! - from a tool that does not page: an error saying how large the answer was and how to ask
//!   for less.
//! - from a write: sent whole (the write happened; its answer is small by construction), with
//!   a warning in the log.
//!
//! `structuredContent` (the machine-readable form, which the tool's output schema requires)
//! comes whole with every part; the limit is on the text a model reads.
//!
//! A part-cursor is signed with the cursor key and names the tool, and the held answer is the
//! caller's: another person's cursor, a made-up one, or one for another tool is refused. The
//! parts live in this process only: a cursor sent to another replica, after a restart or
//! after [`HOLD_FOR`] says so and asks to repeat the call without it.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use rmcp::model::{CallToolResult, ContentBlock, JsonObject};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    context::CallContext,
    tools::{cursor::CursorKey, error::ToolError},
};

/// How long the parts of an answer are held.
pub const HOLD_FOR: Duration = Duration::from_secs(10 * 60);
/// Most bytes held for all callers together; the oldest answers go first.
const HOLD_AT_MOST: usize = 64 * 1024 * 1024;
/// What starts a part-cursor: never the start of a tool's own cursor (base64url).
const PREFIX: &str = "part:";
/// Room kept in each part for the note that ends it.
const NOTE_ROOM: usize = 1024;

/// What a part-cursor says.
#[derive(Serialize, Deserialize)]
struct PartCursor {
    /// The held answer.
    a: String,
    /// The part this cursor fetches (0 is the first).
    p: usize,
    /// The tool that answered.
    t: String,
}

struct Held {
    owner: String,
    tool: String,
    parts: Vec<String>,
    total_bytes: usize,
    structured: Option<Value>,
    held_at: Instant,
}

#[derive(Default)]
struct Store {
    answers: HashMap<String, Held>,
    order: VecDeque<String>,
    bytes: usize,
}

impl Store {
    fn hold(&mut self, id: String, held: Held) {
        self.expire();
        self.bytes += held.total_bytes;
        self.order.push_back(id.clone());
        self.answers.insert(id, held);
        while self.bytes > HOLD_AT_MOST
            && let Some(oldest) = self.order.pop_front()
        {
            self.drop_answer(&oldest);
        }
    }

    fn expire(&mut self) {
        while let Some(oldest) = self.order.front() {
            match self.answers.get(oldest) {
                Some(held) if held.held_at.elapsed() < HOLD_FOR => break,
                _ => {
                    if let Some(oldest) = self.order.pop_front() {
                        self.drop_answer(&oldest);
                    }
                }
            }
        }
    }

    fn drop_answer(&mut self, id: &str) {
        if let Some(held) = self.answers.remove(id) {
            self.bytes = self.bytes.saturating_sub(held.total_bytes);
        }
    }
}

/// The held answers. Cheap to clone; shared by every session of the server.
#[derive(Clone, Default)]
pub struct ResultPages {
    store: Arc<Mutex<Store>>,
}

impl ResultPages {
    /// When `arguments` carry a part-cursor: the part it names, for this caller and tool.
    /// `None` for every other call, which runs the tool.
    pub fn continuation(
        &self,
        cx: &CallContext,
        tool: &str,
        arguments: Option<&JsonObject>,
        max_result_bytes: usize,
    ) -> Option<Result<CallToolResult, ToolError>> {
        let cursor = arguments?.get("cursor")?.as_str()?.strip_prefix(PREFIX)?;
        Some(self.part(cx, tool, cursor, max_result_bytes))
    }

    fn part(
        &self,
        cx: &CallContext,
        tool: &str,
        cursor: &str,
        max_result_bytes: usize,
    ) -> Result<CallToolResult, ToolError> {
        let wanted: PartCursor = cx.cursors.decode(cursor)?;
        if wanted.t != tool {
            return Err(ToolError::invalid(format!(
                "`cursor` fetches a part of an answer from {}; call that tool with it",
                wanted.t
            )));
        }
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        store.expire();
        let gone = || {
            ToolError::invalid(
                "that part of the answer is no longer held (parts are kept for 10 minutes, by \
                 the server that gave the first part); repeat the call without `cursor`",
            )
        };
        let held = store.answers.get(&wanted.a).ok_or_else(gone)?;
        if held.owner != owner(cx) || held.tool != tool {
            return Err(gone());
        }
        let text = held.parts.get(wanted.p).ok_or_else(gone)?;
        let note = note(
            &cx.cursors,
            &wanted.a,
            tool,
            wanted.p,
            held.parts.len(),
            held.total_bytes,
            max_result_bytes,
        );
        let mut result = CallToolResult::success(vec![ContentBlock::text(format!("{text}{note}"))]);
        result.structured_content = held.structured.clone();
        Ok(result)
    }

    /// Pass `result` through the size limit (see the module documentation).
    pub fn limit(
        &self,
        cx: &CallContext,
        tool: &rmcp::model::Tool,
        mut result: CallToolResult,
        max_result_bytes: usize,
    ) -> Result<CallToolResult, ToolError> {
        let total: usize = texts(&result).map(str::len).sum();
        if total <= max_result_bytes || result.is_error == Some(true) {
            return Ok(result);
        }
        if crate::policy::is_write(tool) {
            tracing::warn!(
                tool = %tool.name,
                bytes = total,
                limit = max_result_bytes,
                "a write's answer is over the result-size limit; sent whole"
            );
            return Ok(result);
        }
        if !takes_cursor(tool) {
            return Err(ToolError::invalid(format!(
                "the answer is {total} bytes, more than the {max_result_bytes} bytes this server sends \
                 at once (setting limits.max_result_bytes), and {name} cannot send it in parts. \
                 Ask for less: a smaller scope, more filters or fewer items",
                name = tool.name
            )));
        }
        let text: Vec<&str> = texts(&result).collect();
        let parts = split(
            &text.join("\n"),
            max_result_bytes.saturating_sub(NOTE_ROOM).max(1),
        );
        let id = crate::audit::correlation_id();
        let first = parts.first().cloned().unwrap_or_default();
        let note = note(
            &cx.cursors,
            &id,
            &tool.name,
            0,
            parts.len(),
            total,
            max_result_bytes,
        );
        let count = parts.len();
        self.store.lock().unwrap_or_else(|p| p.into_inner()).hold(
            id,
            Held {
                owner: owner(cx),
                tool: tool.name.to_string(),
                parts,
                total_bytes: total,
                structured: result.structured_content.clone(),
                held_at: Instant::now(),
            },
        );
        tracing::debug!(tool = %tool.name, bytes = total, parts = count, "answer sent in parts");
        // The text blocks give way to the first part; images and other blocks stay.
        result.content.retain(|block| block.as_text().is_none());
        result
            .content
            .insert(0, ContentBlock::text(format!("{first}{note}")));
        Ok(result)
    }
}

fn texts(result: &CallToolResult) -> impl Iterator<Item = &str> {
    result
        .content
        .iter()
        .filter_map(|block| block.as_text().map(|t| t.text.as_str()))
}

/// Whose held answer this is: the person, or the local caller (stdio, no identity).
fn owner(cx: &CallContext) -> String {
    cx.caller
        .user_key()
        .map(str::to_string)
        .unwrap_or_else(|| format!("local:{}", cx.caller.transport))
}

fn takes_cursor(tool: &rmcp::model::Tool) -> bool {
    tool.input_schema
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|properties| properties.contains_key("cursor"))
}

/// The line that ends part `index` of `count`.
fn note(
    key: &CursorKey,
    id: &str,
    tool: &str,
    index: usize,
    count: usize,
    total: usize,
    limit: usize,
) -> String {
    let shown = index + 1;
    if shown >= count {
        return format!("\n\n(Part {shown} of {count}: the end of this answer.)");
    }
    let cursor = key.encode(&PartCursor {
        a: id.to_string(),
        p: shown,
        t: tool.to_string(),
    });
    format!(
        "\n\n(Part {shown} of {count} of this answer, {total} bytes in all; this server sends at \
         most {limit} bytes at once. For part {next}, call {tool} again with the same arguments \
         and `cursor` set to \"{PREFIX}{cursor}\".)",
        next = shown + 1
    )
}

/// Cut `text` into parts of at most `budget` bytes, at the last line end within the budget
/// when there is one in its second half, else at a character boundary. Joined, the parts
/// are `text`.
fn split(text: &str, budget: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = text;
    while rest.len() > budget {
        let mut cut = budget;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if let Some(line_end) = rest[..cut].rfind('\n')
            && line_end + 1 > budget / 2
        {
            cut = line_end + 1;
        }
        if cut == 0 {
            // A budget smaller than one character: take that character whole.
            cut = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        parts.push(rest[..cut].to_string());
        rest = &rest[cut..];
    }
    parts.push(rest.to_string());
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_joins_back_to_the_text_and_respects_the_budget() {
        let text: String = (0..500)
            .map(|i| format!("| row {i} | ünïcödé ✓ |\n"))
            .collect();
        for budget in [1, 7, 64, 1000, 100_000] {
            let parts = split(&text, budget);
            assert_eq!(parts.concat(), text, "budget {budget}");
            for part in &parts {
                assert!(
                    part.len() <= budget.max(4),
                    "budget {budget}: {}",
                    part.len()
                );
            }
        }
        // Line ends are preferred.
        let parts = split(&text, 1000);
        assert!(parts[..parts.len() - 1].iter().all(|p| p.ends_with('\n')));
        assert_eq!(split("", 10), vec![String::new()]);
    }
}
