//! Size limits on what an audit record may hold, applied by every sink before writing.
//!
//! The server already keeps its records small; these bounds are defense in depth against a
//! caller who sends, say, a 900,000-character tool name that ends up in `tool` or `detail`.
//! Text is cut on a character boundary and ends with `…` (the limit counts it); an oversized
//! `arguments` value becomes `{"truncated": true, "bytes": N}`; an oversized
//! `zebrunner_requests` list keeps the entries that fit and ends with one marker entry.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::json;

use super::{AuditRecord, ZebrunnerRequest};

/// `tool`, in characters.
pub const MAX_TOOL_CHARS: usize = 128;
/// `detail`, in characters.
pub const MAX_DETAIL_CHARS: usize = 1024;
/// `error_class`, in characters.
pub const MAX_ERROR_CLASS_CHARS: usize = 64;
/// `email`, `user_key` and `client_id`, in characters (the longest e-mail address is 320).
pub const MAX_IDENTITY_CHARS: usize = 320;
/// `correlation_id`, in characters.
pub const MAX_CORRELATION_ID_CHARS: usize = 128;
/// `transport`, in characters.
pub const MAX_TRANSPORT_CHARS: usize = 32;
/// `method` of a Zebrunner request, in characters.
pub const MAX_METHOD_CHARS: usize = 16;
/// `path` of a Zebrunner request, in characters.
pub const MAX_PATH_CHARS: usize = 256;
/// `arguments` and `zebrunner_requests` as compact JSON, in bytes.
pub const MAX_JSON_BYTES: usize = 16 * 1024;

/// Appended to cut text; counted in the limit.
pub const ELLIPSIS: char = '…';

impl AuditRecord {
    /// This record within the limits above: borrowed when it already is (the usual case),
    /// otherwise a copy with the oversized fields cut. Idempotent.
    pub fn bounded(&self) -> Cow<'_, AuditRecord> {
        let arguments_bytes = json_len(&self.arguments);
        let requests_bytes = json_len(&self.zebrunner_requests);
        let fits = fits(Some(&self.correlation_id), MAX_CORRELATION_ID_CHARS)
            && fits(self.user_key.as_ref(), MAX_IDENTITY_CHARS)
            && fits(self.email.as_ref(), MAX_IDENTITY_CHARS)
            && fits(self.client_id.as_ref(), MAX_IDENTITY_CHARS)
            && fits(self.zebrunner_login.as_ref(), MAX_IDENTITY_CHARS)
            && fits(Some(&self.transport), MAX_TRANSPORT_CHARS)
            && fits(self.tool.as_ref(), MAX_TOOL_CHARS)
            && fits(self.error_class.as_ref(), MAX_ERROR_CLASS_CHARS)
            && fits(self.detail.as_ref(), MAX_DETAIL_CHARS)
            && arguments_bytes <= MAX_JSON_BYTES
            && requests_bytes <= MAX_JSON_BYTES
            && self.zebrunner_requests.iter().all(|r| {
                fits(Some(&r.method), MAX_METHOD_CHARS) && fits(Some(&r.path), MAX_PATH_CHARS)
            });
        if fits {
            return Cow::Borrowed(self);
        }
        let opt = |value: &Option<String>, max| value.as_deref().map(|v| cut(v, max));
        Cow::Owned(AuditRecord {
            id: self.id,
            at: self.at.clone(),
            correlation_id: cut(&self.correlation_id, MAX_CORRELATION_ID_CHARS),
            kind: self.kind,
            user_key: opt(&self.user_key, MAX_IDENTITY_CHARS),
            email: opt(&self.email, MAX_IDENTITY_CHARS),
            client_id: opt(&self.client_id, MAX_IDENTITY_CHARS),
            zebrunner_login: opt(&self.zebrunner_login, MAX_IDENTITY_CHARS),
            transport: cut(&self.transport, MAX_TRANSPORT_CHARS),
            tool: opt(&self.tool, MAX_TOOL_CHARS),
            arguments: if arguments_bytes <= MAX_JSON_BYTES {
                self.arguments.clone()
            } else {
                json!({"truncated": true, "bytes": arguments_bytes})
            },
            zebrunner_requests: bound_requests(&self.zebrunner_requests, requests_bytes),
            outcome: self.outcome,
            error_class: opt(&self.error_class, MAX_ERROR_CLASS_CHARS),
            detail: opt(&self.detail, MAX_DETAIL_CHARS),
            latency_ms: self.latency_ms,
        })
    }
}

/// `text` with at most `max` characters: unchanged when it fits, else its first `max - 1`
/// characters and [`ELLIPSIS`] (empty when `max` is 0).
pub fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some(_) if max == 0 => String::new(),
        Some(_) => {
            let keep = max.saturating_sub(1);
            let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
            let mut short = String::with_capacity(end + ELLIPSIS.len_utf8());
            short.push_str(&text[..end]);
            short.push(ELLIPSIS);
            short
        }
    }
}

fn fits(text: Option<&String>, max: usize) -> bool {
    text.is_none_or(|t| t.char_indices().nth(max).is_none())
}

/// Entries with their text cut; when the list is still over [`MAX_JSON_BYTES`], the leading
/// entries that fit and a marker (`method` `…`, `path` saying how many were left out and how
/// large the list was, `count` their total calls).
fn bound_requests(requests: &[ZebrunnerRequest], original_bytes: usize) -> Vec<ZebrunnerRequest> {
    let entries: Vec<ZebrunnerRequest> = requests
        .iter()
        .map(|r| ZebrunnerRequest {
            method: cut(&r.method, MAX_METHOD_CHARS),
            path: cut(&r.path, MAX_PATH_CHARS),
            count: r.count,
        })
        .collect();
    if json_len(&entries) <= MAX_JSON_BYTES {
        return entries;
    }
    // `[` + entries joined by `,` + `]`, with room kept for the marker.
    let marker = |omitted: &[ZebrunnerRequest]| ZebrunnerRequest {
        method: ELLIPSIS.to_string(),
        path: format!(
            "[truncated: {} more requests; the list had {original_bytes} bytes]",
            omitted.len()
        ),
        count: omitted
            .iter()
            .fold(0u32, |sum, r| sum.saturating_add(r.count)),
    };
    let worst_marker = json_len(&marker(&entries));
    let mut used = 2 + worst_marker;
    let mut keep = 0;
    for entry in &entries {
        let next = used + json_len(entry) + 1;
        if next > MAX_JSON_BYTES {
            break;
        }
        used = next;
        keep += 1;
    }
    let mut kept = entries[..keep].to_vec();
    kept.push(marker(&entries[keep..]));
    kept
}

/// Bytes of `value` as compact JSON, counted without building the string.
fn json_len<T: Serialize + ?Sized>(value: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Serializing a `Value` or plain structs cannot fail; if it ever did, treat the value as
    // oversized so it is replaced rather than stored unchecked.
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditKind, Outcome};

    fn record() -> AuditRecord {
        AuditRecord {
            id: None,
            at: "2026-05-10T12:00:00.000Z".into(),
            correlation_id: "c-1".into(),
            kind: AuditKind::ToolCall,
            user_key: Some("uid:00u1".into()),
            email: Some("jane@acme.com".into()),
            client_id: None,
            zebrunner_login: None,
            transport: "http".into(),
            tool: Some("get_test_case".into()),
            arguments: json!({"case_key": "ABC-1"}),
            zebrunner_requests: vec![ZebrunnerRequest {
                method: "GET".into(),
                path: "/test-cases/1".into(),
                count: 1,
            }],
            outcome: Outcome::Ok,
            error_class: None,
            detail: None,
            latency_ms: 3,
        }
    }

    #[test]
    fn cut_counts_characters_and_the_ellipsis() {
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcd", 3), "ab…");
        assert_eq!(cut("", 3), "");
        assert_eq!(cut("ééééé", 4), "ééé…");
        assert_eq!(cut("🙂🙂🙂", 2), "🙂…");
        assert_eq!(cut("ab", 0), "");
        for n in [1, 5, 127, 128, 129, 1000] {
            let s = "ü".repeat(n);
            assert!(cut(&s, 128).chars().count() <= 128);
        }
    }

    #[test]
    fn a_record_within_the_limits_is_borrowed() {
        let r = record();
        assert!(matches!(r.bounded(), Cow::Borrowed(_)));
        let mut edge = record();
        edge.tool = Some("t".repeat(MAX_TOOL_CHARS));
        edge.detail = Some("d".repeat(MAX_DETAIL_CHARS));
        assert!(matches!(edge.bounded(), Cow::Borrowed(_)));
    }

    #[test]
    fn every_text_field_is_cut() {
        let mut r = record();
        r.tool = Some("x".repeat(900_000));
        r.detail = Some("é".repeat(5_000));
        r.error_class = Some("e".repeat(65));
        r.user_key = Some("u".repeat(321));
        r.email = Some("m".repeat(1_000));
        r.client_id = Some("c".repeat(400));
        r.correlation_id = "i".repeat(200);
        r.transport = "t".repeat(33);
        let b = r.bounded().into_owned();
        let chars = |s: &Option<String>| s.as_deref().unwrap().chars().count();
        assert_eq!(chars(&b.tool), MAX_TOOL_CHARS);
        assert!(b.tool.as_deref().unwrap().ends_with(ELLIPSIS));
        assert_eq!(chars(&b.detail), MAX_DETAIL_CHARS);
        assert!(b.detail.as_deref().unwrap().starts_with("éé"));
        assert_eq!(chars(&b.error_class), MAX_ERROR_CLASS_CHARS);
        assert_eq!(chars(&b.user_key), MAX_IDENTITY_CHARS);
        assert_eq!(chars(&b.email), MAX_IDENTITY_CHARS);
        assert_eq!(chars(&b.client_id), MAX_IDENTITY_CHARS);
        assert_eq!(b.correlation_id.chars().count(), MAX_CORRELATION_ID_CHARS);
        assert_eq!(b.transport.chars().count(), MAX_TRANSPORT_CHARS);
        assert_eq!(b.arguments, r.arguments, "small JSON is kept");
        assert_eq!(b.bounded().into_owned(), b, "idempotent");
    }

    #[test]
    fn oversized_arguments_are_replaced() {
        let mut r = record();
        r.arguments = json!({"ids": vec!["ABC-1234567"; 2_000]});
        let bytes = serde_json::to_string(&r.arguments).unwrap().len();
        assert!(bytes > MAX_JSON_BYTES);
        let b = r.bounded();
        assert_eq!(b.arguments, json!({"truncated": true, "bytes": bytes}));
        // Exactly at the limit is kept.
        let pad = MAX_JSON_BYTES - r#"{"a":""}"#.len();
        r.arguments = json!({"a": "x".repeat(pad)});
        assert_eq!(
            serde_json::to_string(&r.arguments).unwrap().len(),
            MAX_JSON_BYTES
        );
        assert_eq!(r.bounded().arguments, r.arguments);
    }

    #[test]
    fn oversized_request_lists_keep_what_fits_and_say_what_was_left_out() {
        let mut r = record();
        r.zebrunner_requests = (0..2_000)
            .map(|i| ZebrunnerRequest {
                method: "GET".into(),
                path: format!("/test-cases/{i}"),
                count: 2,
            })
            .collect();
        let bytes = serde_json::to_string(&r.zebrunner_requests).unwrap().len();
        let b = r.bounded();
        let list = &b.zebrunner_requests;
        assert!(serde_json::to_string(list).unwrap().len() <= MAX_JSON_BYTES);
        let (marker, kept) = list.split_last().unwrap();
        assert_eq!(kept, &r.zebrunner_requests[..kept.len()]);
        let omitted = 2_000 - kept.len();
        assert_eq!(marker.method, "…");
        assert_eq!(
            marker.path,
            format!("[truncated: {omitted} more requests; the list had {bytes} bytes]")
        );
        assert_eq!(marker.count, 2 * omitted as u32);
        assert_eq!(
            b.bounded().into_owned(),
            b.clone().into_owned(),
            "idempotent"
        );

        let mut long = record();
        long.zebrunner_requests[0].method = "M".repeat(100);
        long.zebrunner_requests[0].path = "/p".repeat(1_000);
        let b = long.bounded();
        assert_eq!(
            b.zebrunner_requests[0].method.chars().count(),
            MAX_METHOD_CHARS
        );
        assert_eq!(b.zebrunner_requests[0].path.chars().count(), MAX_PATH_CHARS);
    }
}
