//! The cursor decoder: a `cursor` argument comes back from the caller and is checked
//! (base64url, HMAC tag) and decoded before any of its fields is used, then matched with the
//! query it belongs to.
//!
//! Input: one mode byte, then
//! - `s`: a cursor payload (JSON, any bytes), which the target signs with the server's key,
//!   so the fuzzer reaches the JSON decoding of every cursor shape the tools use;
//! - anything else: the rest is the cursor as a caller sends it (almost always refused at
//!   the tag: the decoder must never read a field of an unsigned cursor).
//!
//! Never panics; an accepted cursor re-encodes to one that decodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::{Deserialize, Serialize};
use zebrunner_fuzz as fz;
use zebrunner_mcp_server::tools::cursor::{CursorKey, OffsetCursor, fingerprint};
use zebrunner_mcp_server::tools::scan::ScanCursor;

/// The shapes of the tools' private cursors (list_test_runs, search_test_cases).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct RunsCursor {
    q: String,
    t: String,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct SearchCursor {
    q: String,
    t: Option<String>,
    o: usize,
    n: u64,
}

fn round_trip<T>(key: &CursorKey, cursor: &str)
where
    T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
{
    if let Ok(value) = key.decode::<T>(cursor) {
        let again = key.encode(&value);
        assert_eq!(key.decode::<T>(&again).ok().as_ref(), Some(&value));
    }
}

fuzz_target!(|data: &[u8]| {
    let key = CursorKey::new(fz::CURSOR_KEY);
    let cursor = match data.split_first() {
        Some((b's', json)) => {
            let json = if json.len() > 4096 {
                &json[..4096]
            } else {
                json
            };
            fz::sign_cursor(fz::CURSOR_KEY, json)
        }
        Some((_, raw)) => String::from_utf8_lossy(raw).into_owned(),
        None => return,
    };
    let query = fingerprint(&("DEMO", Some("title ~= 'login'"), 50));
    let _ = OffsetCursor::resume(&key, Some(&cursor), &query);
    let _ = ScanCursor::resume(&key, Some(&cursor), &query, 1);
    round_trip::<OffsetCursor>(&key, &cursor);
    round_trip::<ScanCursor>(&key, &cursor);
    round_trip::<RunsCursor>(&key, &cursor);
    round_trip::<SearchCursor>(&key, &cursor);
    // Another server's key never accepts it.
    let other = CursorKey::new(b"another-replica-set-another-key!");
    assert!(other.decode::<serde_json::Value>(&cursor).is_err());
});
