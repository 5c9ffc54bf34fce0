//! Cursor paging over Zebrunner's page-numbered lists (launches, launch
//! tests) with filters applied here: an answer reads pages until it has
//! `limit` matches, and its cursor names the Zebrunner page and the match in
//! it where the next answer starts, so nothing is skipped or repeated.

use std::future::Future;

use serde::{Deserialize, Serialize};
use zebrunner_client::{Error as ClientError, Page, PageRequest};

use super::{cursor::CursorKey, error::ToolError, progress::Progress};

/// Where the next answer starts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScanCursor {
    /// Fingerprint of the query (including the Zebrunner page size).
    pub q: String,
    /// Zebrunner page (1-based).
    pub p: u32,
    /// Matches of that page already returned.
    pub o: usize,
    /// Matches returned before this page.
    pub n: u64,
}

impl ScanCursor {
    /// The start of a scan: from `cursor` if given (checked against the
    /// query), else from `first_page`.
    pub fn resume(
        key: &CursorKey,
        raw: Option<&str>,
        fingerprint: &str,
        first_page: u32,
    ) -> Result<Self, ToolError> {
        match raw {
            None => Ok(ScanCursor {
                q: fingerprint.to_string(),
                p: first_page.max(1),
                o: 0,
                n: 0,
            }),
            Some(raw) => {
                let c: ScanCursor = key.decode(raw)?;
                if c.q != fingerprint || c.p == 0 {
                    return Err(ToolError::invalid(
                        "`cursor` belongs to a different query; repeat the call without `cursor`",
                    ));
                }
                Ok(c)
            }
        }
    }
}

/// One answer's worth of matches.
pub struct Scanned<T> {
    pub items: Vec<T>,
    /// Set when more matches may follow.
    pub next: Option<ScanCursor>,
    /// Zebrunner's total of the unfiltered list, from the last page read.
    pub reported_total: u64,
    /// Matches returned before this answer.
    pub before: u64,
}

/// Read pages of `page_size` from `start` until `limit` items pass `keep`.
pub async fn scan<T, F, Fut>(
    start: ScanCursor,
    page_size: u32,
    limit: usize,
    progress: &mut Progress,
    what: &str,
    mut fetch: F,
    keep: impl Fn(&T) -> bool,
) -> Result<Scanned<T>, ToolError>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>, ClientError>>,
{
    let before = start.n;
    let mut page_no = start.p;
    let mut skip = start.o;
    let mut matched_before_page = start.n.saturating_sub(start.o as u64);
    let mut items = Vec::new();
    let mut reported_total;
    loop {
        progress.before_page()?;
        let page = fetch(PageRequest::new(page_no, page_size)).await?;
        reported_total = page.total;
        let read = (u64::from(page_no - 1) * u64::from(page_size) + page.items.len() as u64)
            .min(page.total.max(1));
        progress.after_page(read, Some(page.total), what).await;
        let has_next = page.next_request().is_some();
        let matching: Vec<T> = page.items.into_iter().filter(|t| keep(t)).collect();
        let page_matches = matching.len();
        for (index, item) in matching.into_iter().enumerate().skip(skip) {
            if items.len() == limit {
                return Ok(Scanned {
                    items,
                    next: Some(ScanCursor {
                        q: start.q.clone(),
                        p: page_no,
                        o: index,
                        n: matched_before_page + index as u64,
                    }),
                    reported_total,
                    before,
                });
            }
            items.push(item);
        }
        matched_before_page += page_matches as u64;
        skip = 0;
        if !has_next {
            return Ok(Scanned {
                items,
                next: None,
                reported_total,
                before,
            });
        }
        page_no += 1;
        if items.len() == limit {
            return Ok(Scanned {
                items,
                next: Some(ScanCursor {
                    q: start.q.clone(),
                    p: page_no,
                    o: 0,
                    n: matched_before_page,
                }),
                reported_total,
                before,
            });
        }
    }
}
