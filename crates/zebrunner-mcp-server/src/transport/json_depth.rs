//! How deeply an incoming JSON-RPC message nests, measured on its bytes before it is parsed.
//!
//! No MCP message needs more than a handful of levels; a deeply nested one is a mistake or an
//! attack on every recursive walk of it (serde's own limit is 128). Both transports refuse a
//! message nested deeper than `limits.max_json_depth` with a JSON-RPC error before anything
//! parses it: HTTP with 400 (see `http::body`), stdio with an error answer ([`LineGate`]).
//! The scan is one pass over the bytes with no allocation, so it costs less than the parse it
//! guards.

/// Where a scan stands between two chunks of the same text.
#[derive(Debug, Default, Clone, Copy)]
pub struct DepthScan {
    depth: u32,
    deepest: u32,
    in_string: bool,
    escaped: bool,
}

impl DepthScan {
    /// Feed the next bytes of the text.
    pub fn feed(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            if self.in_string {
                match (self.escaped, byte) {
                    (true, _) => self.escaped = false,
                    (false, b'\\') => self.escaped = true,
                    (false, b'"') => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match byte {
                b'"' => self.in_string = true,
                b'{' | b'[' => {
                    self.depth = self.depth.saturating_add(1);
                    self.deepest = self.deepest.max(self.depth);
                }
                b'}' | b']' => self.depth = self.depth.saturating_sub(1),
                _ => {}
            }
        }
    }

    /// The deepest nesting seen so far (`{}` is 1).
    pub fn deepest(&self) -> u32 {
        self.deepest
    }
}

/// The deepest nesting of `bytes` (`{}` is 1, `{"a":[1]}` is 2). Brackets inside strings do
/// not count. Invalid JSON is measured all the same: the parser refuses it later.
pub fn depth(bytes: &[u8]) -> u32 {
    let mut scan = DepthScan::default();
    scan.feed(bytes);
    scan.deepest()
}

/// The message a caller gets for a message nested deeper than `max`.
pub fn too_deep_message(max: u32) -> String {
    format!(
        "the message is nested more than {max} levels deep, more than this server accepts \
         (setting limits.max_json_depth); send flatter arguments"
    )
}

/// JSON-RPC's code for a message that is not a valid request.
pub const INVALID_REQUEST: i64 = -32600;

/// The stdio side: stdin is cut into lines (one message each, as MCP's stdio transport frames
/// them) and every line nested deeper than the limit is replaced before the session reads it.
/// A request (a line with an `id`) becomes a request for [`REFUSED_METHOD`] under the same
/// id, which the server answers with the error, so the client hears back under its own id; a
/// line without a readable `id` (a notification, or one too broken to tell) is dropped, as
/// JSON-RPC answers no notification.
pub struct LineGate {
    max_depth: u32,
    /// The line so far, up to `max_line_bytes`; past that it is passed on as it comes (the
    /// session drops over-long lines itself) and no longer held here.
    line: Vec<u8>,
    max_line_bytes: usize,
    overflowed: bool,
    scan: DepthScan,
}

/// The method a refused request is turned into; the handler answers it with the refusal.
pub const REFUSED_METHOD: &str = "zebrunner-mcp/refused-too-deep";

impl LineGate {
    pub fn new(max_depth: u32, max_line_bytes: usize) -> Self {
        Self {
            max_depth,
            line: Vec::new(),
            max_line_bytes,
            overflowed: false,
            scan: DepthScan::default(),
        }
    }

    /// Feed bytes read from stdin; `pass` receives what the session may read.
    pub fn feed<E>(
        &mut self,
        mut bytes: &[u8],
        pass: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.max_depth == 0 {
            return pass(bytes);
        }
        while !bytes.is_empty() {
            let end = bytes.iter().position(|b| *b == b'\n');
            let (part, rest) = match end {
                Some(at) => bytes.split_at(at + 1),
                None => (bytes, &[][..]),
            };
            bytes = rest;
            self.scan.feed(part);
            if self.overflowed {
                pass(part)?;
            } else if self.line.len() + part.len() > self.max_line_bytes {
                // Too long to hold: the session refuses over-long lines by itself.
                self.overflowed = true;
                pass(&std::mem::take(&mut self.line))?;
                pass(part)?;
            } else {
                self.line.extend_from_slice(part);
            }
            if end.is_some() {
                self.end_line(pass)?;
            }
        }
        Ok(())
    }

    fn end_line<E>(&mut self, pass: &mut impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
        let deepest = self.scan.deepest();
        self.scan = DepthScan::default();
        if std::mem::take(&mut self.overflowed) {
            return Ok(());
        }
        let line = std::mem::take(&mut self.line);
        if deepest <= self.max_depth {
            return pass(&line);
        }
        match request_id(&line) {
            Some(id) => {
                tracing::warn!(
                    depth = deepest,
                    limit = self.max_depth,
                    "refused a message nested too deeply"
                );
                let mut replaced = serde_json::to_vec(&serde_json::json!({
                    "jsonrpc": "2.0",
                    "id": id,
                    "method": REFUSED_METHOD,
                    "params": { "limit": self.max_depth },
                }))
                .unwrap_or_default();
                replaced.push(b'\n');
                pass(&replaced)
            }
            None => {
                tracing::warn!(
                    depth = deepest,
                    limit = self.max_depth,
                    "dropped a message without an id nested too deeply"
                );
                Ok(())
            }
        }
    }
}

/// The `id` of a JSON-RPC request line, when it is a number or a string. serde_json skips the
/// other members without building them and without recursion, however deep they are.
fn request_id(line: &[u8]) -> Option<serde_json::Value> {
    #[derive(serde::Deserialize)]
    struct Id {
        id: Option<serde_json::Value>,
    }
    let id = serde_json::from_slice::<Id>(line).ok()?.id?;
    (id.is_number() || id.is_string()).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        format!("{}{}", "[".repeat(levels), "]".repeat(levels))
    }

    #[test]
    fn depth_counts_brackets_outside_strings() {
        assert_eq!(depth(b"1"), 0);
        assert_eq!(depth(b"{}"), 1);
        assert_eq!(depth(br#"{"a":[1,{"b":2}]}"#), 3);
        assert_eq!(depth(br#"{"a":"[[[[\"[[["}"#), 1);
        assert_eq!(depth(nested(100).as_bytes()), 100);
        // Unbalanced closers never go below zero.
        assert_eq!(depth(b"]]]]{"), 1);
    }

    #[test]
    fn depth_survives_chunk_boundaries() {
        let text = br#"{"a":"\"[","b":[[1]]}"#;
        for cut in 0..text.len() {
            let mut scan = DepthScan::default();
            scan.feed(&text[..cut]);
            scan.feed(&text[cut..]);
            assert_eq!(scan.deepest(), 3, "cut at {cut}");
        }
    }

    fn gate(input: &[&[u8]], max: u32) -> String {
        let mut gate = LineGate::new(max, 1 << 20);
        let mut out = Vec::new();
        for chunk in input {
            gate.feed(chunk, &mut |b: &[u8]| {
                out.extend_from_slice(b);
                Ok::<(), ()>(())
            })
            .unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn shallow_lines_pass_unchanged_in_any_chunking() {
        let text = b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n{\"a\":[[1]]}\n";
        assert_eq!(gate(&[text], 4), String::from_utf8_lossy(text));
        let (a, b) = text.split_at(17);
        assert_eq!(gate(&[a, b], 4), String::from_utf8_lossy(text));
    }

    #[test]
    fn a_deep_request_becomes_a_refusal_under_its_id() {
        let deep = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":\"r-7\",\"method\":\"tools/call\",\"params\":{}}}\n",
            nested(40)
        );
        let out = gate(&[deep.as_bytes(), b"{\"id\":2}\n"], 32);
        let mut lines = out.lines();
        let refused: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(refused["id"], "r-7");
        assert_eq!(refused["method"], REFUSED_METHOD);
        assert_eq!(refused["params"]["limit"], 32);
        assert_eq!(lines.next(), Some("{\"id\":2}"));
    }

    #[test]
    fn a_deep_notification_is_dropped() {
        let deep = format!(
            "{{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":{}}}\n",
            nested(40)
        );
        assert_eq!(gate(&[deep.as_bytes()], 32), "");
        assert_eq!(gate(&[b"{\"id\":[[[1]]]}\n"], 2), "");
    }

    #[test]
    fn a_request_deeper_than_serdes_own_limit_is_still_answered() {
        let deeper = format!("{{\"params\":{},\"id\":1}}\n", nested(5000));
        let out = gate(&[deeper.as_bytes()], 32);
        let refused: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(refused["id"], 1);
    }

    #[test]
    fn over_long_lines_pass_through_unheld() {
        let mut gate = LineGate::new(2, 8);
        let mut out = Vec::new();
        let mut pass = |b: &[u8]| {
            out.extend_from_slice(b);
            Ok::<(), ()>(())
        };
        gate.feed(b"[[[[[[[[[[", &mut pass).unwrap();
        gate.feed(b"]]]]]]]]]]\n{}\n", &mut pass).unwrap();
        assert_eq!(out, b"[[[[[[[[[[]]]]]]]]]]\n{}\n");
    }
}
