//! Reading Zebrunner's widget SQL rows (anchor §3.5) into plain values.
//!
//! Widget cells are written for a dashboard: HTML anchors (`<a href="...">SHOP-1</a>`),
//! counts as text (`"24 of 225"`), links relative to the dashboard page
//! (`../../DEMO/automation-dashboards/99?hashcode=...`). A model must never see
//! the HTML, so each cell becomes text plus an absolute URL here.

use serde_json::Value;
use zebrunner_client::WidgetRow;

/// A cell as text: strings as they are, numbers written out, anything else empty.
pub fn text(row: &WidgetRow, column: &str) -> String {
    match row.get(column) {
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// A cell as a whole number (`12`, `"12"`, `"12 of 30"`, or an anchor around one).
pub fn number(row: &WidgetRow, column: &str) -> Option<u64> {
    match row.get(column) {
        Some(Value::Number(n)) => n.as_u64(),
        _ => leading_number(&anchor(&text(row, column)).0),
    }
}

/// A cell as an integer id or hash (may be negative).
pub fn integer(row: &WidgetRow, column: &str) -> Option<i64> {
    match row.get(column) {
        Some(Value::Number(n)) => n.as_i64(),
        _ => text(row, column).parse().ok(),
    }
}

/// A cell as a decimal (`"10.6"`, `10.6`).
pub fn decimal(row: &WidgetRow, column: &str) -> Option<f64> {
    match row.get(column) {
        Some(Value::Number(n)) => n.as_f64(),
        _ => text(row, column).trim_end_matches('%').trim().parse().ok(),
    }
}

fn leading_number(s: &str) -> Option<u64> {
    let digits: String = s.trim().chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The `m` of an `"n of m"` cell.
pub fn of_total(row: &WidgetRow, column: &str) -> Option<u64> {
    text(row, column)
        .split_once(" of ")
        .and_then(|(_, total)| leading_number(total))
}

/// `(text, href)` of an anchor cell; plain text comes back with no href.
pub fn anchor(cell: &str) -> (String, Option<String>) {
    let cell = cell.trim();
    if !cell.starts_with("<a") {
        return (unescape(cell), None);
    }
    let href = cell
        .split_once("href=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(href, _)| unescape(href));
    let inner = cell
        .split_once('>')
        .map(|(_, rest)| rest.rsplit_once("</a>").map_or(rest, |(t, _)| t))
        .unwrap_or_default();
    (unescape(strip_tags(inner).trim()), href)
}

fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// An href made absolute: dashboard cells link relative to
/// `{web}/projects/{KEY}/automation-dashboards/{id}`.
pub fn absolute(web_url: &str, href: &str) -> String {
    if href.starts_with("http://") || href.starts_with("https://") {
        href.to_owned()
    } else if let Some(rest) = href.strip_prefix("../../") {
        format!("{web_url}/projects/{rest}")
    } else if href.starts_with('/') {
        format!("{web_url}{href}")
    } else {
        format!("{web_url}/{href}")
    }
}

/// A query parameter of an href (`hashcode` of a bug review's count link).
pub fn query_param<'a>(href: &'a str, name: &str) -> Option<&'a str> {
    href.split_once('?')?
        .1
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(v: Value) -> WidgetRow {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn anchors_become_text_and_links() {
        assert_eq!(
            anchor(r#"<a href="https://j.test/browse/SHOP-1" target="_blank">SHOP-1</a>"#),
            ("SHOP-1".into(), Some("https://j.test/browse/SHOP-1".into()))
        );
        assert_eq!(anchor("TO REVIEW"), ("TO REVIEW".into(), None));
        assert_eq!(
            anchor("<a href=\"x?a=1&amp;b=2\"><b>5</b></a>")
                .1
                .as_deref(),
            Some("x?a=1&b=2")
        );
        let href = "../../DEMO/automation-dashboards/99?hashcode=-12&PERIOD=Last+7+Days";
        assert_eq!(query_param(href, "hashcode"), Some("-12"));
        assert_eq!(
            absolute("https://z.test", href),
            "https://z.test/projects/DEMO/automation-dashboards/99?hashcode=-12&PERIOD=Last+7+Days"
        );
    }

    #[test]
    fn counts_in_every_spelling() {
        let r = row(
            json!({"F": "24 of 225", "N": 7, "S": "7", "P": "10.6", "A": "<a href=\"h\">5</a>"}),
        );
        assert_eq!((number(&r, "F"), of_total(&r, "F")), (Some(24), Some(225)));
        assert_eq!(
            (number(&r, "N"), number(&r, "S"), number(&r, "A")),
            (Some(7), Some(7), Some(5))
        );
        assert_eq!(decimal(&r, "P"), Some(10.6));
        assert_eq!(number(&r, "missing"), None);
    }
}
