//! An MCP client over Streamable HTTP written down to the wire: a POST per message, the
//! session id echoed, the answer read from the `text/event-stream` (or JSON) body. It does
//! what every client must and nothing else, so the latency it measures is the server's and
//! the connection's; with rmcp's own client (the default driver), the client library's
//! work (its session worker, its JSON-RPC and SSE handling) lands in the figures too.

use anyhow::{Context, bail};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};

const SESSION_HEADER: &str = "mcp-session-id";
const PROTOCOL_HEADER: &str = "mcp-protocol-version";
pub const PROTOCOL: &str = "2025-11-25";

pub struct RawSession {
    http: reqwest::Client,
    url: String,
    token: Option<String>,
    session: Option<String>,
    next_id: u64,
}

impl RawSession {
    /// `initialize`, then `notifications/initialized`, on a connection of its own.
    pub async fn open(url: &str, token: Option<String>) -> anyhow::Result<Self> {
        Self::open_with(reqwest::Client::new(), url, token).await
    }

    /// Like [`Self::open`], over `http`'s connections (shared with other sessions).
    pub async fn open_with(
        http: reqwest::Client,
        url: &str,
        token: Option<String>,
    ) -> anyhow::Result<Self> {
        let mut session = RawSession {
            http,
            url: url.to_string(),
            token,
            session: None,
            next_id: 0,
        };
        let init = session
            .request(
                "initialize",
                json!({"protocolVersion": PROTOCOL, "capabilities": {},
                       "clientInfo": {"name": "zebrunner-mcp-bench-raw", "version": "1"}}),
            )
            .await?;
        if init.get("result").is_none() {
            bail!("initialize failed: {init}");
        }
        session
            .post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await?;
        Ok(session)
    }

    /// `tools/call`; whether the tool answered without `isError`.
    pub async fn call_tool(&mut self, name: &str, arguments: Value) -> anyhow::Result<bool> {
        let answer = self
            .request("tools/call", json!({"name": name, "arguments": arguments}))
            .await?;
        Ok(answer
            .get("result")
            .is_some_and(|r| r.get("isError") != Some(&Value::Bool(true))))
    }

    /// Ends the session with `DELETE`.
    pub async fn close(self) -> anyhow::Result<()> {
        self.headed(self.http.delete(&self.url))
            .send()
            .await?
            .error_for_status()
            .context("DELETE of a session")?;
        Ok(())
    }

    /// The headers every request of the session carries: the protocol version, the token,
    /// the session id once there is one.
    fn headed(&self, mut request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request = request.header(PROTOCOL_HEADER, PROTOCOL);
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(session) = &self.session {
            request = request.header(SESSION_HEADER, session);
        }
        request
    }

    async fn request(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        let body = self
            .post(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await?;
        answer_in(&body, id).with_context(|| format!("no answer to {method} in: {body}"))
    }

    async fn post(&mut self, message: &Value) -> anyhow::Result<String> {
        let request = self
            .http
            .post(&self.url)
            .header(ACCEPT, "application/json, text/event-stream")
            .header(CONTENT_TYPE, "application/json")
            .body(message.to_string());
        let response = self.headed(request).send().await?;
        if !response.status().is_success() {
            bail!("{} from the server", response.status());
        }
        if let Some(session) = response.headers().get(SESSION_HEADER) {
            self.session = Some(session.to_str()?.to_string());
        }
        // The answer's stream ends once the answer is sent.
        Ok(response.text().await?)
    }
}

/// The JSON-RPC message answering `id` in a JSON body or an SSE body (`data:` lines).
fn answer_in(body: &str, id: u64) -> Option<Value> {
    let is_answer = |v: &Value| v.get("id").and_then(Value::as_u64) == Some(id);
    if let Ok(value) = serde_json::from_str::<Value>(body) {
        return is_answer(&value).then_some(value);
    }
    body.lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .filter_map(|data| serde_json::from_str::<Value>(data.trim_start()).ok())
        .find(is_answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_is_found_in_either_body() {
        let sse = "id: 0\nretry: 3000\ndata: \n\nid: 1\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}\n\n";
        assert!(answer_in(sse, 7).is_some());
        assert!(answer_in(sse, 8).is_none());
        assert!(answer_in("{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}", 7).is_some());
        assert!(answer_in("{\"jsonrpc\":\"2.0\",\"id\":6,\"result\":{}}", 7).is_none());
    }
}
