//! Renderings of audit records for `zebrunner-mcp audit`: CSV (RFC 4180), JSON lines and a
//! compact human table.
//!
//! Stored text came from callers, so printing it must not drive the reader's terminal or
//! reorder what they see: the table and CSV replace control characters (C0 including tab and
//! newline, DEL, C1, hence every escape sequence) and Unicode bidi embeddings, overrides and
//! isolates (U+202A–U+202E, U+2066–U+2069) with U+FFFD ([`printable`]). JSON (JSON lines, and
//! the JSON inside CSV cells) keeps them losslessly as `\uXXXX` escapes ([`escape_json`]):
//! serde_json escapes C0 itself but writes DEL, C1 and bidi characters raw.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};

use super::AuditRecord;
use super::sink::json_line;

/// CSV column names, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "at",
    "correlation_id",
    "kind",
    "user_key",
    "email",
    "client_id",
    "zebrunner_login",
    "transport",
    "tool",
    "outcome",
    "error_class",
    "detail",
    "latency_ms",
    "zebrunner_requests",
    "arguments",
];

/// Replaced with [`REPLACEMENT`] when printed: C0 controls (tab and newline too), DEL, C1
/// controls, and the bidi embeddings, overrides and isolates.
pub fn is_unprintable(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// What [`printable`] puts in place of an unprintable character.
pub const REPLACEMENT: char = '\u{fffd}';

/// `text` with every [`is_unprintable`] character replaced by [`REPLACEMENT`].
pub fn printable(text: &str) -> Cow<'_, str> {
    if text.contains(is_unprintable) {
        Cow::Owned(
            text.chars()
                .map(|c| if is_unprintable(c) { REPLACEMENT } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

/// Serialized JSON with every [`is_unprintable`] character written as a `\uXXXX` escape: the
/// same JSON value, safe to print. Valid because serde_json writes such characters only
/// inside strings (outside them it writes ASCII punctuation, digits and literals).
pub fn escape_json(json: &str) -> Cow<'_, str> {
    if !json.contains(is_unprintable) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_unprintable(c) {
            // Every unprintable character is in the Basic Multilingual Plane: one escape.
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One CSV field, printable ([`printable`]), quoted when it holds a comma or quote (quotes
/// doubled). A field that a spreadsheet would run as a formula (starting with `=`, `+`, `-`
/// or `@`) gets a leading `'` first; tab and CR, the other formula starters, never remain.
pub fn csv_field(value: &str) -> String {
    let value = printable(value);
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    // After `printable` no CR or LF is left to quote.
    if value.contains([',', '"']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// The header line, CRLF-terminated.
pub fn csv_header() -> String {
    format!("{}\r\n", CSV_COLUMNS.join(","))
}

/// One record as a CSV line, CRLF-terminated; nested values are JSON.
pub fn csv_row(record: &AuditRecord) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let fields = [
        record.id.map(|id| id.to_string()).unwrap_or_default(),
        record.at.clone(),
        record.correlation_id.clone(),
        record.kind.as_str().to_string(),
        opt(&record.user_key),
        opt(&record.email),
        opt(&record.client_id),
        opt(&record.zebrunner_login),
        record.transport.clone(),
        opt(&record.tool),
        record.outcome.as_str().to_string(),
        opt(&record.error_class),
        opt(&record.detail),
        record.latency_ms.to_string(),
        escape_json(&serde_json::to_string(&record.zebrunner_requests).unwrap_or_default())
            .into_owned(),
        escape_json(&record.arguments.to_string()).into_owned(),
    ];
    let mut line = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// Write `records` as CSV (with a header when `header`).
pub fn write_csv<W: Write>(out: &mut W, records: &[AuditRecord], header: bool) -> io::Result<()> {
    if header {
        out.write_all(csv_header().as_bytes())?;
    }
    for record in records {
        out.write_all(csv_row(record).as_bytes())?;
    }
    Ok(())
}

/// Write `records` as JSON lines.
pub fn write_jsonl<W: Write>(out: &mut W, records: &[AuditRecord]) -> io::Result<()> {
    for record in records {
        out.write_all(json_line(record).as_bytes())?;
    }
    Ok(())
}

const TABLE_HEADER: [&str; 7] = ["ID", "AT (UTC)", "OUTCOME", "USER", "TOOL", "MS", "ERROR"];
const MAX_CELL: usize = 40;

/// The table's rows (without header) for `records`.
fn table_cells(record: &AuditRecord) -> [String; 7] {
    let at = record.at.replace('T', " ");
    let at = at
        .split('.')
        .next()
        .unwrap_or(&at)
        .trim_end_matches('Z')
        .to_string();
    let user = record
        .email
        .clone()
        .or_else(|| record.user_key.clone())
        .unwrap_or_else(|| "-".into());
    let tool = record
        .tool
        .clone()
        .unwrap_or_else(|| format!("({})", record.kind.as_str()));
    let error = match (&record.error_class, &record.detail) {
        (Some(class), Some(detail)) => format!("{class}: {detail}"),
        (Some(class), None) => class.clone(),
        (None, Some(detail)) => detail.clone(),
        (None, None) => String::new(),
    };
    [
        record
            .id
            .map(|id| id.to_string())
            .unwrap_or_else(|| "-".into()),
        at,
        record.outcome.as_str().to_string(),
        user,
        tool,
        record.latency_ms.to_string(),
        error,
    ]
    // Line breaks and tabs read best as spaces; any other control character is replaced.
    .map(|cell| truncate(&printable(&cell.replace(['\n', '\r', '\t'], " "))))
}

fn truncate(cell: &str) -> String {
    if cell.chars().count() <= MAX_CELL {
        cell.to_string()
    } else {
        let mut short: String = cell.chars().take(MAX_CELL - 1).collect();
        short.push('…');
        short
    }
}

/// A compact, aligned table with a header line; the last column is not padded.
pub fn format_table(records: &[AuditRecord]) -> String {
    let rows: Vec<[String; 7]> = records.iter().map(table_cells).collect();
    aligned(TABLE_HEADER, &rows)
}

/// `header` and `rows` as aligned columns two spaces apart, one line each; the last column
/// is not padded. Cells must already be [`printable`] and single-line.
pub fn aligned<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header = header.map(str::to_string);
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditKind, Outcome, ZebrunnerRequest};
    use serde_json::json;

    fn record() -> AuditRecord {
        AuditRecord {
            id: Some(7),
            at: "2026-05-10T12:00:00.123Z".into(),
            correlation_id: "c-1".into(),
            kind: AuditKind::ToolCall,
            user_key: Some("00u1".into()),
            email: Some("jane@acme.com".into()),
            client_id: None,
            zebrunner_login: None,
            transport: "http".into(),
            tool: Some("get_test_case".into()),
            arguments: json!({"project_key": "ABC", "title": "[redacted: 5 chars]"}),
            zebrunner_requests: vec![ZebrunnerRequest {
                method: "GET".into(),
                path: "/test-cases/1".into(),
                count: 2,
            }],
            outcome: Outcome::Error,
            error_class: Some("not_found".into()),
            detail: Some("no such case, \"ABC-1\"\nsecond line".into()),
            latency_ms: 15,
        }
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field(""), "");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        // Line breaks are control characters too: replaced, so nothing needs quoting.
        assert_eq!(csv_field("two\nlines"), "two\u{fffd}lines");
        assert_eq!(csv_field("cr\rhere"), "cr\u{fffd}here");
        assert_eq!(csv_field("\tx"), "\u{fffd}x");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_field("@cmd,x"), "\"'@cmd,x\"");
    }

    #[test]
    fn csv_row_matches_header() {
        let row = csv_row(&record());
        assert!(row.ends_with("\r\n"));
        assert_eq!(csv_header(), format!("{}\r\n", CSV_COLUMNS.join(",")));
        assert_eq!(
            row,
            "7,2026-05-10T12:00:00.123Z,c-1,tool_call,00u1,jane@acme.com,,,http,get_test_case,\
             error,not_found,\"no such case, \"\"ABC-1\"\"\u{fffd}second line\",15,\
             \"[{\"\"method\"\":\"\"GET\"\",\"\"path\"\":\"\"/test-cases/1\"\",\"\"count\"\":2}]\",\
             \"{\"\"project_key\"\":\"\"ABC\"\",\"\"title\"\":\"\"[redacted: 5 chars]\"\"}\"\r\n"
        );
    }

    #[test]
    fn jsonl_round_trips() {
        let mut out = Vec::new();
        write_jsonl(&mut out, &[record(), record()]).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let back: AuditRecord = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(back, record());
        assert!(lines[0].contains(r#""kind":"tool_call""#));
        assert!(lines[0].contains(r#""outcome":"error""#));
    }

    #[test]
    fn table_is_aligned_and_single_line_per_record() {
        let mut second = record();
        second.id = Some(12345);
        second.email = None;
        second.tool = None;
        second.kind = AuditKind::Authorization;
        second.outcome = Outcome::Denied;
        let table = format_table(&[record(), second]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert!(lines[0].starts_with("ID     AT (UTC)"), "{table}");
        assert!(
            lines[1].starts_with("7      2026-05-10 12:00:00  error"),
            "{table}"
        );
        assert!(lines[2].contains("denied   00u1"), "{table}");
        assert!(lines[2].contains("(authorization)"), "{table}");
        assert!(lines[1].ends_with('…'), "long error cells are cut: {table}");
    }

    /// Erases the screen and retitles the terminal when printed raw; then a right-to-left
    /// override that would make what follows read backwards.
    const HOSTILE: &str = "get\x1b[2J\x1b]0;pwned\x07\u{202e}gnp.exe\u{2066}\u{7f}\u{9b}31m";

    fn hostile() -> AuditRecord {
        let mut r = record();
        r.tool = Some(HOSTILE.into());
        r.user_key = Some(format!("uid:{HOSTILE}"));
        r.email = Some(format!("{HOSTILE}@acme.com"));
        r.client_id = Some(HOSTILE.into());
        r.correlation_id = HOSTILE.into();
        r.transport = HOSTILE.into();
        r.error_class = Some(HOSTILE.into());
        r.detail = Some(HOSTILE.into());
        r.arguments = json!({HOSTILE: HOSTILE});
        r.zebrunner_requests[0].path = HOSTILE.into();
        r
    }

    fn assert_printable(text: &str, allowed: &[char]) {
        let bad: Vec<char> = text
            .chars()
            .filter(|&c| is_unprintable(c) && !allowed.contains(&c))
            .collect();
        assert!(bad.is_empty(), "unprintable {bad:?} in {text:?}");
    }

    #[test]
    fn unprintable_characters_are_the_controls_and_bidi_overrides() {
        for c in [
            '\0', '\x07', '\t', '\n', '\r', '\x1b', '\x1f', '\x7f', '\u{80}', '\u{9b}', '\u{9f}',
        ] {
            assert!(is_unprintable(c), "{c:?}");
        }
        for c in [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2069}',
        ] {
            assert!(is_unprintable(c), "{c:?}");
        }
        for c in [
            ' ', 'a', '~', '\u{a0}', 'é', 'ü', '€', '漢', '🙂', '\u{2029}', '\u{2070}', '?',
        ] {
            assert!(!is_unprintable(c), "{c:?}");
        }
        assert_eq!(printable("plain ünï 🙂"), Cow::Borrowed("plain ünï 🙂"));
        assert_eq!(printable("a\x1b[2Jb\u{202e}c"), "a\u{fffd}[2Jb\u{fffd}c");
    }

    #[test]
    fn the_table_prints_no_escape_sequence_or_bidi_override() {
        let table = format_table(&[hostile(), record()]);
        assert_printable(&table, &['\n']);
        assert_eq!(table.lines().count(), 3, "{table}");
        assert!(
            table.contains("get\u{fffd}[2J\u{fffd}]0;pwned\u{fffd}\u{fffd}gnp"),
            "{table}"
        );
    }

    #[test]
    fn csv_prints_no_escape_sequence_or_bidi_override() {
        let mut out = Vec::new();
        write_csv(&mut out, &[hostile()], true).unwrap();
        let csv = String::from_utf8(out).unwrap();
        // Only the record separators remain as control characters.
        assert_printable(&csv.replace("\r\n", ""), &[]);
        assert_eq!(csv.matches("\r\n").count(), 2);
        assert!(csv.contains(",get\u{fffd}[2J"), "{csv}");
        // The JSON cells keep the characters as escapes: the same JSON, safely printable.
        assert!(csv.contains(r#"\u001b[2J"#), "{csv}");
        assert!(csv.contains(r#"\u202e"#), "{csv}");
    }

    #[test]
    fn json_lines_escape_every_unprintable_character_and_round_trip() {
        let mut out = Vec::new();
        write_jsonl(&mut out, &[hostile()]).unwrap();
        let text = String::from_utf8(out).unwrap();
        // serde_json escapes C0 itself; DEL, C1 and bidi characters are escaped here.
        assert_printable(&text, &['\n']);
        assert_eq!(text.matches('\n').count(), 1);
        for escape in [
            r"\u001b", r"\u0007", r"\u202e", r"\u2066", r"\u007f", r"\u009b",
        ] {
            assert!(text.contains(escape), "{escape} in {text}");
        }
        let back: AuditRecord = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(back, hostile(), "escaping loses nothing");
    }
}
