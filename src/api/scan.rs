//! Reading a whole listing, page by page, with no more requests than it needs.
//!
//! The API does not say how long a listing is: a page shorter than asked is its end. Fetching
//! a window of pages ahead blindly sends up to a window of requests past that end, which a
//! rate-limited dialer counts. So one page at a time goes ahead as a *probe*, a stride past
//! the pages known to exist (the stride is the connection's window); when it comes back full,
//! every page before it exists and those go out together, next to the following probe. When a
//! probe comes back empty, the end lies between, and bisection finds it. Past the end, a scan
//! sends the empty probe and at most log2(stride) more: with a stride of 8, a scan of N full
//! pages costs at most N + 4 requests, and a listing that fits one page costs one.
//!
//! Throughput is a window of pages per round trip, as with blind prefetching; the end costs up
//! to three more round trips. Pages come back in order whatever order they arrive in.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::task::JoinSet;

use super::query::QuerySpec;
use super::Client;

/// Which page to ask for next, from what the pages answered so far say about the listing's
/// length. Pages are numbered from 0; no I/O here.
#[derive(Debug, Default)]
pub struct PagePlan {
    /// The pages a limit allows, if the query has one.
    bound: Option<u64>,
    /// Every page below this one is full.
    full_upto: u64,
    /// Every page from this one on is empty (seen: a short or empty page).
    empty_from: Option<u64>,
    /// The lowest page not asked for yet.
    next: u64,
    /// Pages asked for at or above `next` (probes, asked out of order).
    asked_ahead: BTreeSet<u64>,
    /// The probe in flight.
    probe: Option<u64>,
}

impl PagePlan {
    pub fn new(bound: Option<u64>) -> PagePlan {
        PagePlan {
            bound,
            ..PagePlan::default()
        }
    }

    /// The listing's page count, once known: pages at and past it hold nothing.
    pub fn end(&self) -> Option<u64> {
        match (self.empty_from, self.bound) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next page to ask for with `stride` pages wanted ahead, or `None` when nothing
    /// should go before more answers come back (or nothing is left).
    pub fn next(&mut self, stride: u64) -> Option<u64> {
        while self.asked_ahead.remove(&self.next) {
            self.next += 1;
        }
        let end = self.end();
        let known = end.map_or(self.full_upto, |end| self.full_upto.min(end));
        if self.next < known {
            let page = self.next;
            self.next += 1;
            return Some(page);
        }
        if self.probe.is_some() {
            return None;
        }
        // Every page in [lo, end) is unknown and not asked for: answered probes moved the
        // bounds past themselves.
        let lo = self.full_upto.max(self.next);
        let page = match (self.empty_from, end) {
            (_, Some(end)) if lo >= end => return None,
            // Seen empty: the end lies in [lo, end), found by bisection.
            (Some(_), Some(end)) if self.empty_from == Some(end) => lo + (end - lo) / 2,
            // Only a limit: probably full up to it.
            // A scan starts with one page and doubles its stride with each confirmed one, so
            // a short listing costs one request even on a connection whose window is open.
            (_, end) => {
                let ahead = lo + stride.min(self.full_upto).max(1) - 1;
                end.map_or(ahead, |end| ahead.min(end - 1))
            }
        };
        self.probe = Some(page);
        if page == self.next {
            self.next += 1;
        } else {
            self.asked_ahead.insert(page);
        }
        Some(page)
    }

    /// What page `page` held: `rows` of the `asked` rows.
    pub fn answered(&mut self, page: u64, rows: u64, asked: u64) {
        if self.probe == Some(page) {
            self.probe = None;
        }
        if rows >= asked {
            self.full_upto = self.full_upto.max(page + 1);
        } else {
            let empty_from = if rows == 0 { page } else { page + 1 };
            self.empty_from = Some(self.empty_from.map_or(empty_from, |e| e.min(empty_from)));
            if rows > 0 {
                self.full_upto = self.full_upto.max(page);
            }
        }
        // A listing that changed while it was read can contradict itself; the end wins.
        if let Some(end) = self.empty_from {
            self.full_upto = self.full_upto.min(end);
        }
    }
}

/// One page's request: the rows already fetched before it and the rows it asks for.
pub type FetchPage<T, E> =
    Arc<dyn Fn(u64, u64) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send>> + Send + Sync>;

/// A listing's pages, in order, fetched by a [`PagePlan`] within the connection's window.
pub struct PageStream<T, E> {
    client: Arc<Client>,
    spec: QuerySpec,
    plan: PagePlan,
    fetch: FetchPage<T, E>,
    rows_of: fn(&T) -> u64,
    in_flight: JoinSet<(u64, u64, Result<T, E>)>,
    arrived: BTreeMap<u64, (u64, T)>,
    /// The page to hand out next.
    next: u64,
    failed: bool,
}

impl<T: Send + 'static, E: Send + 'static> PageStream<T, E> {
    /// Pages of `spec` (from its offset, up to its limit), each fetched by `fetch` and counted
    /// by `rows_of`.
    pub fn new(
        client: Arc<Client>,
        spec: QuerySpec,
        fetch: FetchPage<T, E>,
        rows_of: fn(&T) -> u64,
    ) -> PageStream<T, E> {
        let size = spec.page_len();
        let bound = spec.limit.map(|limit| limit.div_ceil(size));
        PageStream {
            client,
            spec,
            plan: PagePlan::new(bound),
            fetch,
            rows_of,
            in_flight: JoinSet::new(),
            arrived: BTreeMap::new(),
            next: 0,
            failed: false,
        }
    }

    /// The next page with the rows it asked for, `None` after the last (or after an error).
    /// Cancel-safe: dropping the future loses no page.
    pub async fn next_page(&mut self) -> Option<Result<(u64, T), E>> {
        let size = self.spec.page_len();
        loop {
            if self.failed || self.plan.end().is_some_and(|end| self.next >= end) {
                self.in_flight.abort_all();
                return None;
            }
            if let Some(page) = self.arrived.remove(&self.next) {
                self.next += 1;
                return Some(Ok(page));
            }
            // Pages fetched but not handed out count against the memory budget.
            let width = self.client.window().min(super::MAX_PAGES_AHEAD);
            while self.in_flight.is_empty() || self.in_flight.len() + self.arrived.len() < width {
                let Some(page) = self.plan.next(width as u64) else {
                    break;
                };
                let Some(rows) = self.spec.page_rows(page * size) else {
                    // Past the limit: the plan's bound says so, this is only a guard.
                    self.plan.answered(page, 0, 1);
                    continue;
                };
                let request = (self.fetch)(page * size, rows);
                self.in_flight
                    .spawn(async move { (page, rows, request.await) });
            }
            let (page, asked, answer) = match self.in_flight.join_next().await? {
                Ok(arrived) => arrived,
                Err(join_error) if join_error.is_cancelled() => return None,
                Err(join_error) => std::panic::resume_unwind(join_error.into_panic()),
            };
            match answer {
                Ok(value) => {
                    self.plan.answered(page, (self.rows_of)(&value), asked);
                    self.arrived.insert(page, (asked, value));
                }
                Err(error) => {
                    self.failed = true;
                    self.in_flight.abort_all();
                    return Some(Err(error));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PagePlan;

    /// Runs a plan against a listing of `rows` rows in pages of `size`, answering the
    /// requests in flight in the given order; returns the requests sent.
    fn requests_for(rows: u64, size: u64, stride: u64, limit: Option<u64>, lifo: bool) -> u64 {
        let total = limit.map_or(rows, |l| l.min(rows));
        let bound = limit.map(|l| l.div_ceil(size));
        let mut plan = PagePlan::new(bound);
        let mut in_flight: Vec<u64> = Vec::new();
        let mut sent = 0;
        let mut seen = std::collections::BTreeSet::new();
        loop {
            while (in_flight.len() as u64) < stride {
                let Some(page) = plan.next(stride) else { break };
                assert!(seen.insert(page), "page {page} asked twice");
                in_flight.push(page);
                sent += 1;
                assert!(sent < 10_000, "runaway plan");
            }
            let Some(page) = (if lifo {
                in_flight.pop()
            } else {
                (!in_flight.is_empty()).then(|| in_flight.remove(0))
            }) else {
                break;
            };
            let asked = limit.map_or(size, |l| size.min(l - (page * size).min(l)));
            let held = total.saturating_sub(page * size).min(asked);
            plan.answered(page, held, asked);
        }
        let end = plan.end().expect("the end is known after the last answer");
        assert_eq!(end, total.div_ceil(size), "rows {rows}");
        // Every page that holds rows was asked for.
        for page in 0..total.div_ceil(size) {
            assert!(
                seen.contains(&page),
                "page {page} of {rows} rows never asked"
            );
        }
        sent
    }

    #[test]
    fn a_listing_that_fits_one_page_costs_one_request() {
        for rows in [0, 1, 999] {
            assert_eq!(requests_for(rows, 1000, 8, None, false), 1);
        }
    }

    #[test]
    fn n_full_pages_cost_at_most_n_plus_4() {
        for stride in [1, 2, 3, 4, 8] {
            for pages in 0..300 {
                for lifo in [false, true] {
                    let sent = requests_for(pages * 100, 100, stride, None, lifo);
                    assert!(sent <= pages + 4, "{pages} pages, stride {stride}: {sent}");
                    // With a short last page: one page more, no more waste.
                    let sent = requests_for(pages * 100 + 37, 100, stride, None, lifo);
                    assert!(
                        sent <= pages + 5,
                        "{pages}.37 pages, stride {stride}: {sent}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_limit_is_read_without_a_page_past_it() {
        for stride in [1, 4, 8] {
            assert_eq!(requests_for(10_000, 100, stride, Some(2_500), false), 25);
            assert_eq!(requests_for(10_000, 100, stride, Some(2_550), true), 26);
            // A limit past the listing's end.
            assert!(requests_for(1_000, 100, stride, Some(5_000), false) <= 14);
        }
    }
}
