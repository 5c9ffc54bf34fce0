//! Query parameters and the two paging styles.
//!
//! * Token paging (Public API): `maxPageSize` 1..=100 (default
//!   [`DEFAULT_MAX_PAGE_SIZE`]), opaque `pageToken`, response
//!   `_meta.nextPageToken` omitted on the last page.
//! * Page paging (internal APIs): `page` from 1, `pageSize` (or `size`)
//!   1..=100, with `_meta: {total, totalPages}` or top-level
//!   `totalElements/totalPages/page/size` depending on the endpoint.
//!
//! Out-of-range sizes and bad tokens are 400s, as on the real API.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::errors::{ApiError, ApiResult};

pub const DEFAULT_MAX_PAGE_SIZE: usize = 10;
pub const MAX_PAGE_SIZE: usize = 100;
pub const DEFAULT_PAGE_SIZE: usize = 20;

/// Decoded query parameters (first occurrence wins).
#[derive(Debug, Clone, Default)]
pub struct Params(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|Query(v)| Params(v))
            .map_err(|e| ApiError::bad_request(format!("Malformed query string: {e}")))
    }
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A non-empty value.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    pub fn int(&self, name: &str) -> ApiResult<Option<i64>> {
        match self.text(name) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                ApiError::bad_request(format!(
                    "Invalid value '{v}' for request parameter '{name}': a number is expected"
                ))
            }),
        }
    }

    pub fn bool(&self, name: &str) -> ApiResult<Option<bool>> {
        match self.text(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(ApiError::bad_request(format!(
                "Invalid value '{v}' for request parameter '{name}': true or false is expected"
            ))),
        }
    }
}

/// A requested token page.
#[derive(Debug, Clone, Copy)]
pub struct TokenPage {
    pub offset: usize,
    pub size: usize,
}

fn encode_token(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("zbr-page:{offset}"))
}

fn decode_token(token: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix("zbr-page:")?.parse().ok()
}

impl TokenPage {
    pub fn from_params(p: &Params) -> ApiResult<Self> {
        Self::with_default(p, DEFAULT_MAX_PAGE_SIZE)
    }

    pub fn with_default(p: &Params, default: usize) -> ApiResult<Self> {
        Self::with_bounds(p, default, MAX_PAGE_SIZE)
    }

    /// Like [`Self::with_default`] for an endpoint whose pages may hold up
    /// to `max` items (test logs: 1,000).
    pub fn with_bounds(p: &Params, default: usize, max: usize) -> ApiResult<Self> {
        let size = match p.int("maxPageSize")? {
            None => default,
            Some(n) if (1..=max as i64).contains(&n) => n as usize,
            Some(n) => {
                return Err(ApiError::field(
                    "maxPageSize",
                    format!("must be between 1 and {max}, but was {n}"),
                ));
            }
        };
        let offset = match p.text("pageToken") {
            None => 0,
            Some(t) => {
                decode_token(t).ok_or_else(|| ApiError::bad_request("Invalid page token"))?
            }
        };
        Ok(TokenPage { offset, size })
    }

    /// Slices one page out of `all` and builds the `{items, _meta}` body.
    pub fn respond<T>(&self, all: &[T], render: impl Fn(&T) -> Value) -> Value {
        let start = self.offset.min(all.len());
        let end = (start + self.size).min(all.len());
        let items: Vec<Value> = all[start..end].iter().map(render).collect();
        let meta = if end < all.len() {
            json!({"nextPageToken": encode_token(end)})
        } else {
            json!({})
        };
        json!({"items": items, "_meta": meta})
    }
}

/// A requested numbered page (1-based).
#[derive(Debug, Clone, Copy)]
pub struct NumberedPage {
    pub page: usize,
    pub size: usize,
}

impl NumberedPage {
    /// Reads `page` and the first present of `size_names`.
    pub fn from_params(p: &Params, size_names: &[&str], default: usize) -> ApiResult<Self> {
        let page = match p.int("page")? {
            None => 1,
            Some(n) if n >= 1 => n as usize,
            Some(n) => {
                return Err(ApiError::field(
                    "page",
                    format!("must be greater than or equal to 1, but was {n}"),
                ));
            }
        };
        let (name, raw) = size_names
            .iter()
            .find_map(|n| p.int(n).transpose().map(|v| (*n, v)))
            .map_or(
                (size_names.first().copied().unwrap_or("pageSize"), Ok(None)),
                |(n, v)| (n, v.map(Some)),
            );
        let size = match raw? {
            None => default,
            Some(n) if (1..=MAX_PAGE_SIZE as i64).contains(&n) => n as usize,
            Some(n) => {
                return Err(ApiError::field(
                    name,
                    format!("must be between 1 and {MAX_PAGE_SIZE}, but was {n}"),
                ));
            }
        };
        Ok(NumberedPage { page, size })
    }

    fn slice<'a, T>(&self, all: &'a [T]) -> &'a [T] {
        let start = (self.page - 1).saturating_mul(self.size).min(all.len());
        let end = (start + self.size).min(all.len());
        &all[start..end]
    }

    fn total_pages(&self, total: usize) -> usize {
        total.div_ceil(self.size)
    }

    /// `{items, _meta: {total, totalPages}}` (launches, milestones).
    pub fn with_meta<T>(&self, all: &[T], render: impl Fn(&T) -> Value) -> Value {
        let items: Vec<Value> = self.slice(all).iter().map(render).collect();
        json!({"items": items, "_meta": {"total": all.len(), "totalPages": self.total_pages(all.len())}})
    }

    /// `{items, totalElements, totalPages, page, size}` (launch tests, sessions).
    pub fn top_level<T>(&self, all: &[T], render: impl Fn(&T) -> Value) -> Value {
        let items: Vec<Value> = self.slice(all).iter().map(render).collect();
        json!({
            "items": items,
            "totalElements": all.len(),
            "totalPages": self.total_pages(all.len()),
            "page": self.page,
            "size": self.size,
        })
    }
}
