//! Authenticated downloads of files Zebrunner links to (screenshots under
//! `/files/...`, session artifacts under `artifacts/...`), read as a stream
//! and stopped at a byte cap, so a large or hostile file never fills memory.
//!
//! The bearer goes only to the workspace's own host: a reference is a path on
//! it, or an absolute URL with the same scheme, host and port. Like every
//! request, a download waits for the rate limit, passes the circuit breaker,
//! is counted and logged; a 401 refreshes the bearer once. It is not retried
//! otherwise: the caller decides whether a second try is worth the bytes.

use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use secrecy::{ExposeSecret as _, SecretString};

use super::{Api, Call, Received, Transport, breaker_outcome};
use crate::error::Error;
use crate::models::Download;

/// Longest error body read from a failed download (for the message).
const ERROR_BODY_CAP: usize = 16 * 1024;

impl Transport {
    /// The path segments a file reference stands for: `/files/<id>`,
    /// `artifacts/...` or an absolute URL on this workspace's host. Anything
    /// else (another host, `..`, a query) is refused, saying why.
    pub(crate) fn file_segments(&self, reference: &str) -> Result<Vec<String>, String> {
        let reference = reference.trim();
        let invalid = |why: &str| format!("the file reference `{reference}` {why}");
        let path = if reference.starts_with("http://") || reference.starts_with("https://") {
            let url = url::Url::parse(reference).map_err(|_| invalid("is not a valid URL"))?;
            let same_host = url.scheme() == self.host.scheme()
                && url.host_str() == self.host.host_str()
                && url.port_or_known_default() == self.host.port_or_known_default();
            if !same_host {
                return Err(invalid(
                    "points outside this Zebrunner workspace; only its own files are downloaded",
                ));
            }
            if url.query().is_some() || url.fragment().is_some() {
                return Err(invalid("carries a query; give the file's path only"));
            }
            url.path().to_owned()
        } else {
            if reference.contains(['?', '#', '\\']) {
                return Err(invalid("carries a query; give the file's path only"));
            }
            reference.to_owned()
        };
        // The workspace may live under a path prefix; references are relative to it.
        let base = self.host.path().trim_end_matches('/');
        let path = path
            .strip_prefix(base)
            .filter(|_| !base.is_empty())
            .unwrap_or(&path);
        let segments: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| percent_decode(s).ok_or_else(|| invalid("is not a valid path")))
            .collect::<Result<_, _>>()?;
        let known_root = matches!(
            segments.first().map(String::as_str),
            Some("files" | "artifacts")
        );
        if !known_root || segments.len() < 2 || segments.iter().any(|s| s == "." || s == "..") {
            return Err(invalid(
                "is not a Zebrunner file (`/files/<id>`) or artifact (`artifacts/...`) path",
            ));
        }
        Ok(segments)
    }

    /// Downloads `call` with the bearer, keeping at most `cap` bytes.
    pub(crate) async fn download(&self, call: &Call, cap: usize) -> Result<Download, Error> {
        let (bearer, generation) = self.bearer.get(self).await?;
        match self.download_once(call, &bearer, cap).await {
            // The bearer may have been revoked or expired early: one fresh try.
            Err(Error::Unauthorized { .. }) => {
                self.bearer.invalidate(generation).await;
                let (bearer, _) = self.bearer.get(self).await?;
                self.download_once(call, &bearer, cap).await
            }
            other => other,
        }
    }

    async fn download_once(
        &self,
        call: &Call,
        bearer: &SecretString,
        cap: usize,
    ) -> Result<Download, Error> {
        debug_assert_eq!(call.api, Api::Internal);
        let url = self.url_for(call)?;
        let permit = self
            .breaker
            .admit()
            .map_err(|retry_after| Error::CircuitOpen { retry_after })?;
        if let Some(limiter) = &self.limiter {
            limiter.until_ready().await;
        }
        let result = self.stream_capped(call, url, bearer, cap).await;
        permit.record(breaker_outcome(&result));
        result
    }

    async fn stream_capped(
        &self,
        call: &Call,
        url: url::Url,
        bearer: &SecretString,
        cap: usize,
    ) -> Result<Download, Error> {
        let path = url.path().to_owned();
        let method = call.method.to_string();
        let network = |e: reqwest::Error| Error::Network {
            message: self.redact(&super::error_chain(&e)),
            method: method.clone(),
            path: path.clone(),
            attempts: 1,
        };
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", bearer.expose_secret()))
            .map_err(|_| Error::config("the Zebrunner bearer is not a valid header value"))?;
        auth.set_sensitive(true);
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        crate::request_log::record(call.method.as_str(), &path);
        let mut response = self
            .http
            .request(call.method.clone(), url)
            .header(AUTHORIZATION, auth)
            .send()
            .await
            .map_err(network)?;
        let status = response.status();
        metrics::counter!(
            super::metric::REQUESTS,
            "endpoint" => call.endpoint(),
            "method" => super::method_label(&call.method),
            "status" => super::status_label(Some(status)),
        )
        .increment(1);
        let declared_len = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty());
        let limit = if status.is_success() {
            cap
        } else {
            ERROR_BODY_CAP
        };
        let mut bytes = Vec::with_capacity(
            declared_len
                .map_or(8 * 1024, |n| n.min(limit as u64) as usize)
                .min(limit),
        );
        let mut truncated = false;
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            let room = limit - bytes.len();
            if chunk.len() > room {
                bytes.extend_from_slice(&chunk[..room]);
                truncated = true;
                break;
            }
            bytes.extend_from_slice(&chunk);
        }
        // Stop reading at the cap: dropping the response closes the stream.
        drop(response);
        if !status.is_success() {
            let rx = Received {
                status,
                headers: Default::default(),
                body: bytes,
            };
            return Err(self.status_error(call, &rx, method.clone(), path.clone(), 1, None));
        }
        Ok(Download {
            bytes,
            content_type,
            declared_len,
            truncated: truncated || declared_len.is_some_and(|n| n > cap as u64),
        })
    }
}

/// `%xx` escapes of one path segment decoded (the URL parser keeps them).
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let text = String::from_utf8(out).ok()?;
    (!text.contains('/')).then_some(text)
}
