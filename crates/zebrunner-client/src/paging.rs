//! The two paging styles Zebrunner uses, and streams that walk them.
//!
//! * Token paging (Public API): `maxPageSize` (≤ 100) + `pageToken`, the next
//!   token in `_meta.nextPageToken` (absent on the last page).
//! * Page paging (reporting): `page` from 1 + `pageSize`, totals in
//!   `_meta.total/totalPages` or, for launch tests, top-level
//!   `totalElements/totalPages`.
//!
//! The streams keep fetching until the server says there is no more; a
//! server that repeats a token or exceeds [`MAX_PAGES`] yields an error
//! rather than a silently truncated result.

use std::future::Future;

use futures::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::Error;
use crate::transport::Answer;

/// Largest page the Public API serves.
pub const MAX_PAGE_SIZE: u32 = 100;
/// Safety cap for one stream; reaching it is reported as an error.
pub const MAX_PAGES: u32 = 1000;

/// One request in token paging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPageRequest {
    /// Page size, clamped to `1..=100` when sent.
    pub max_page_size: u32,
    /// Continuation from the previous page; `None` for the first page.
    pub page_token: Option<String>,
}

impl TokenPageRequest {
    /// The first page with the given size.
    pub fn first(max_page_size: u32) -> Self {
        Self {
            max_page_size,
            page_token: None,
        }
    }

    /// The size actually sent.
    pub fn clamped_size(&self) -> u32 {
        self.max_page_size.clamp(1, MAX_PAGE_SIZE)
    }
}

impl Default for TokenPageRequest {
    fn default() -> Self {
        Self::first(MAX_PAGE_SIZE)
    }
}

/// One page in token paging.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenPage<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Continuation for the next page; `None` on the last page.
    pub next_page_token: Option<String>,
}

impl<T> TokenPage<T> {
    /// The request for the following page, if any, with the same size.
    pub fn next_request(&self, previous: &TokenPageRequest) -> Option<TokenPageRequest> {
        self.next_page_token.as_ref().map(|t| TokenPageRequest {
            max_page_size: previous.max_page_size,
            page_token: Some(t.clone()),
        })
    }
}

/// One request in page paging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based page number (0 is sent as 1).
    pub page: u32,
    /// Items per page (0 is sent as 1).
    pub page_size: u32,
}

impl PageRequest {
    /// Page `page` (1-based) of `page_size` items.
    pub fn new(page: u32, page_size: u32) -> Self {
        Self { page, page_size }
    }

    pub(crate) fn normalized(self) -> Self {
        Self {
            page: self.page.max(1),
            page_size: self.page_size.max(1),
        }
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::new(1, 50)
    }
}

/// One page in page paging.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The 1-based page number that was requested.
    pub page: u32,
    /// The page size that was requested.
    pub page_size: u32,
    /// Total items across all pages (as reported, or inferred).
    pub total: u64,
    /// Total pages (as reported, or inferred).
    pub total_pages: u32,
}

impl<T> Page<T> {
    /// The request for the following page, if the totals say there is one.
    pub fn next_request(&self) -> Option<PageRequest> {
        (self.page < self.total_pages && !self.items.is_empty())
            .then(|| PageRequest::new(self.page + 1, self.page_size))
    }
}

/// Reads `{items, _meta.nextPageToken}`.
pub(crate) fn parse_token_page<T: DeserializeOwned>(
    answer: Answer,
) -> Result<TokenPage<T>, serde_json::Error> {
    let facts = PageFacts::of(&answer)?;
    let next_page_token = facts
        .meta("nextPageToken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let items = crate::api::decode_items(answer)?;
    Ok(TokenPage {
        items,
        next_page_token,
    })
}

/// What a page says of itself besides its items: `_meta` and the totals beside the items,
/// read with the items skipped (they are decoded on their own, straight into their type). A
/// body that is no object says nothing.
#[derive(Default, Deserialize)]
struct PageFacts {
    #[serde(rename = "_meta", default)]
    meta: Option<Value>,
    #[serde(rename = "totalElements", default)]
    total_elements: Option<Value>,
    #[serde(default)]
    total: Option<Value>,
    #[serde(rename = "totalPages", default)]
    total_pages: Option<Value>,
}

impl PageFacts {
    fn of(answer: &Answer) -> Result<Self, serde_json::Error> {
        match answer.json()? {
            Some(json) if json.trim_start().starts_with('{') => serde_json::from_str(json),
            _ => Ok(Self::default()),
        }
    }

    fn meta(&self, key: &str) -> Option<&Value> {
        self.meta.as_ref()?.get(key)
    }
}

fn number(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reads `{items, _meta:{total,totalPages}}` or `{items, totalElements, totalPages}`.
/// Missing totals are inferred so a full page still leads to the next one.
pub(crate) fn parse_page<T: DeserializeOwned>(
    answer: Answer,
    req: PageRequest,
) -> Result<Page<T>, serde_json::Error> {
    let facts = PageFacts::of(&answer)?;
    let total = number(facts.meta("total"))
        .or_else(|| number(facts.meta("totalElements")))
        .or_else(|| number(facts.total_elements.as_ref()))
        .or_else(|| number(facts.total.as_ref()));
    let total_pages =
        number(facts.meta("totalPages")).or_else(|| number(facts.total_pages.as_ref()));
    let items: Vec<T> = crate::api::decode_items(answer)?;

    let size = u64::from(req.page_size);
    let seen = u64::from(req.page - 1) * size + items.len() as u64;
    let total_pages = match (total_pages, total) {
        (Some(p), _) => u32::try_from(p).unwrap_or(u32::MAX),
        (None, Some(t)) => u32::try_from(t.div_ceil(size)).unwrap_or(u32::MAX),
        // No totals at all: a full page suggests there may be another one.
        (None, None) if items.len() as u64 >= size => req.page + 1,
        (None, None) => req.page,
    };
    Ok(Page {
        total: total.unwrap_or(seen),
        page: req.page,
        page_size: req.page_size,
        total_pages,
        items,
    })
}

/// Flattens pages into items, turning a page error into one item error.
fn flatten<T, S>(pages: S) -> impl Stream<Item = Result<T, Error>>
where
    S: Stream<Item = Result<Vec<T>, Error>>,
{
    pages.flat_map(|page| match page {
        Ok(items) => stream::iter(items.into_iter().map(Ok)).left_stream(),
        Err(e) => stream::iter(std::iter::once(Err(e))).right_stream(),
    })
}

/// Walks token paging from `first`, calling `fetch` for each page.
pub(crate) fn token_stream<'a, T, F, Fut>(
    first: TokenPageRequest,
    fetch: F,
) -> impl Stream<Item = Result<T, Error>> + Send + 'a
where
    T: Send + 'a,
    F: Fn(TokenPageRequest) -> Fut + Send + 'a,
    Fut: Future<Output = Result<TokenPage<T>, Error>> + Send + 'a,
{
    struct State<F> {
        next: Option<TokenPageRequest>,
        fetch: F,
        pages: u32,
    }
    let state = State {
        next: Some(first),
        fetch,
        pages: 0,
    };
    let pages = stream::unfold(state, |mut st| async move {
        let req = st.next.take()?;
        if st.pages >= MAX_PAGES {
            let err = Error::Other(format!("stopped after {MAX_PAGES} pages; narrow the query"));
            return Some((Err(err), st));
        }
        st.pages += 1;
        match (st.fetch)(req.clone()).await {
            Ok(page) => {
                st.next = page.next_request(&req);
                if st.next.is_some()
                    && st.next.as_ref().map(|r| &r.page_token) == Some(&req.page_token)
                {
                    let err = Error::Other(
                        "Zebrunner returned the same page token twice; stopping to avoid a loop"
                            .into(),
                    );
                    return Some((Err(err), State { next: None, ..st }));
                }
                Some((Ok(page.items), st))
            }
            Err(e) => Some((Err(e), st)),
        }
    });
    flatten(pages)
}

/// Walks page paging from `first`, calling `fetch` for each page.
pub(crate) fn page_stream<'a, T, F, Fut>(
    first: PageRequest,
    fetch: F,
) -> impl Stream<Item = Result<T, Error>> + Send + 'a
where
    T: Send + 'a,
    F: Fn(PageRequest) -> Fut + Send + 'a,
    Fut: Future<Output = Result<Page<T>, Error>> + Send + 'a,
{
    let pages = stream::unfold(
        (Some(first.normalized()), fetch),
        |(next, fetch)| async move {
            let req = next?;
            if req.page > MAX_PAGES {
                let err =
                    Error::Other(format!("stopped after {MAX_PAGES} pages; narrow the query"));
                return Some((Err(err), (None, fetch)));
            }
            match fetch(req).await {
                Ok(page) => {
                    let next = page.next_request();
                    Some((Ok(page.items), (next, fetch)))
                }
                Err(e) => Some((Err(e), (None, fetch))),
            }
        },
    );
    flatten(pages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;
    use serde_json::json;

    #[test]
    fn token_page_parsing() -> Result<(), serde_json::Error> {
        let p: TokenPage<i64> =
            parse_token_page(json!({"items": [1, 2], "_meta": {"nextPageToken": "abc"}}).into())?;
        assert_eq!(p.items, vec![1, 2]);
        assert_eq!(p.next_page_token.as_deref(), Some("abc"));
        let p: TokenPage<i64> = parse_token_page(json!({"items": [], "_meta": {}}).into())?;
        assert_eq!(p.next_page_token, None);
        Ok(())
    }

    #[test]
    fn page_parsing_meta_top_level_and_inferred() -> Result<(), serde_json::Error> {
        let p: Page<i64> = parse_page(
            json!({"items": [1, 2], "_meta": {"total": 5, "totalPages": 3}}).into(),
            PageRequest::new(1, 2),
        )?;
        assert_eq!((p.total, p.total_pages), (5, 3));
        assert_eq!(p.next_request(), Some(PageRequest::new(2, 2)));

        let p: Page<i64> = parse_page(
            json!({"items": [5], "totalElements": "5", "totalPages": 3}).into(),
            PageRequest::new(3, 2),
        )?;
        assert_eq!((p.total, p.total_pages), (5, 3));
        assert_eq!(p.next_request(), None);

        let p: Page<i64> = parse_page(json!({"items": [1, 2]}).into(), PageRequest::new(1, 2))?;
        assert_eq!(p.next_request(), Some(PageRequest::new(2, 2)));
        let p: Page<i64> = parse_page(json!([1]).into(), PageRequest::new(2, 2))?;
        assert_eq!((p.total, p.next_request()), (3, None));
        // Totals that are null or under a `_meta` that is no object say nothing.
        let p: Page<i64> = parse_page(
            json!({"_meta": "x", "total": null, "data": {"items": [1]}}).into(),
            PageRequest::new(1, 2),
        )?;
        assert_eq!((p.items, p.total, p.total_pages), (vec![1], 1, 1));
        assert!(parse_page::<i64>(json!({"total": 3}).into(), PageRequest::new(1, 2)).is_err());
        Ok(())
    }

    #[test]
    fn clamping() {
        assert_eq!(TokenPageRequest::first(0).clamped_size(), 1);
        assert_eq!(TokenPageRequest::first(500).clamped_size(), 100);
        assert_eq!(PageRequest::new(0, 0).normalized(), PageRequest::new(1, 1));
    }

    #[tokio::test]
    async fn token_stream_walks_every_page() -> Result<(), Error> {
        let all: Vec<u32> = token_stream(TokenPageRequest::first(3), |req| async move {
            let start: u32 = req
                .page_token
                .as_deref()
                .unwrap_or("0")
                .parse()
                .unwrap_or(0);
            let end = (start + req.clamped_size()).min(10);
            Ok(TokenPage {
                items: (start..end).collect(),
                next_page_token: (end < 10).then(|| end.to_string()),
            })
        })
        .try_collect()
        .await?;
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        Ok(())
    }

    #[tokio::test]
    async fn repeated_token_is_an_error() {
        let res: Result<Vec<u32>, Error> = token_stream(TokenPageRequest::first(1), |_req| async {
            Ok(TokenPage {
                items: vec![1],
                next_page_token: Some("same".into()),
            })
        })
        .try_collect()
        .await;
        assert!(res.is_err());
    }

    #[tokio::test]
    async fn page_stream_walks_every_page() -> Result<(), Error> {
        let all: Vec<u32> = page_stream(PageRequest::new(1, 4), |req| async move {
            let start = (req.page - 1) * req.page_size;
            let end = (start + req.page_size).min(10);
            Ok(Page {
                items: (start..end).collect(),
                page: req.page,
                page_size: req.page_size,
                total: 10,
                total_pages: 3,
            })
        })
        .try_collect()
        .await?;
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        Ok(())
    }
}
