//! Renderings of audit records for `zebrunner-mcp audit`: CSV (RFC 4180), JSON lines and a
//! compact human table.

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
    "transport",
    "tool",
    "outcome",
    "error_class",
    "detail",
    "latency_ms",
    "zebrunner_requests",
    "arguments",
];

/// One CSV field: quoted when it holds a comma, quote, CR or LF (quotes doubled). A field
/// that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR)
/// gets a leading `'` first.
pub fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
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
        record.transport.clone(),
        opt(&record.tool),
        record.outcome.as_str().to_string(),
        opt(&record.error_class),
        opt(&record.detail),
        record.latency_ms.to_string(),
        serde_json::to_string(&record.zebrunner_requests).unwrap_or_default(),
        record.arguments.to_string(),
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
    .map(|cell| truncate(&cell.replace(['\n', '\r', '\t'], " ")))
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
    let mut widths = TABLE_HEADER.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header = TABLE_HEADER.map(str::to_string);
    for row in std::iter::once(&header).chain(&rows) {
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
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("cr\rhere"), "\"cr\rhere\"");
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
            "7,2026-05-10T12:00:00.123Z,c-1,tool_call,00u1,jane@acme.com,,http,get_test_case,\
             error,not_found,\"no such case, \"\"ABC-1\"\"\nsecond line\",15,\
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
}
