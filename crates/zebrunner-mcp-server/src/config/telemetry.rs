//! The `[telemetry]` section: optional OpenTelemetry trace export (OTLP over HTTP), off by
//! default. The binary built with the feature `otlp` (the container image is) exports the
//! spans of each request (`http.request`), tool call (`tool.call`: correlation id, tool,
//! outcome) and Zebrunner request (`zebrunner.request`: method, path, status). Span fields are
//! the same as the log's, which carry no secrets.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// Where to send traces over OTLP/HTTP (protobuf), e.g. `http://otel-collector:4318` (then
    /// `/v1/traces` is added) or the full traces URL; unset, nothing is exported. Use a
    /// collector you run: no credentials go in this URL.
    pub otlp_endpoint: Option<String>,
    /// `service.name` of the exported spans.
    pub service_name: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            service_name: "zebrunner-mcp".into(),
        }
    }
}

impl TelemetryConfig {
    /// The traces URL: the endpoint, with `/v1/traces` added when it has no path.
    pub fn traces_url(&self) -> Option<Result<url::Url, String>> {
        let endpoint = self.otlp_endpoint.as_deref()?.trim();
        Some(
            url::Url::parse(endpoint)
                .map_err(|error| format!("is not a URL ({error})"))
                .and_then(|mut url| {
                    if !matches!(url.scheme(), "http" | "https") {
                        return Err("must be an http:// or https:// URL".into());
                    }
                    if !url.username().is_empty() || url.password().is_some() {
                        return Err(
                            "must not carry credentials: send traces to a collector you run".into(),
                        );
                    }
                    if url.path() == "/" {
                        url.set_path("/v1/traces");
                    }
                    Ok(url)
                }),
        )
    }

    /// Everything wrong with these settings: (setting, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(Err(message)) = self.traces_url() {
            out.push(("telemetry.otlp_endpoint", message));
        }
        if self.service_name.trim().is_empty() {
            out.push(("telemetry.service_name", "must not be empty".into()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(endpoint: &str) -> Result<String, String> {
        TelemetryConfig {
            otlp_endpoint: Some(endpoint.into()),
            ..Default::default()
        }
        .traces_url()
        .unwrap()
        .map(String::from)
    }

    #[test]
    fn the_traces_url_adds_the_path_only_to_a_bare_endpoint() {
        assert_eq!(
            url("http://collector:4318").unwrap(),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            url("https://otel.example.com/custom/traces").unwrap(),
            "https://otel.example.com/custom/traces"
        );
        assert!(url("collector:4318").is_err());
        assert!(url("ftp://collector").is_err());
        assert!(url("https://user:secret@collector").is_err());
        assert!(TelemetryConfig::default().traces_url().is_none());
        assert!(TelemetryConfig::default().problems().is_empty());
    }
}
