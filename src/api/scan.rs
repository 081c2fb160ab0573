//! Reading a whole listing, page by page, with no more requests than it needs.
//!
//! The API does not say how long a listing is: a page shorter than asked is its end. Fetching
//! a window of pages ahead blindly sends up to a window of requests past that end, which a
//! rate-limited dialer counts. So one page at a time goes ahead as a *probe*, two windows past
//! the pages known to exist; when it comes back full, every page before it exists and those
//! go out as the window allows, while the next probe goes ahead. When a probe comes back
//! empty, the end lies between, and it is searched for in the fewest round trips that keep
//! the empty answers within [`MAX_PAST_END`] (the egg-drop bound): a scan of N full pages
//! costs at most N + 4 requests, and a listing that fits one page costs one.
//!
//! Throughput is a window of pages per round trip, as with blind prefetching; finding the end
//! costs a few more round trips (five at most with a window of 8). Pages come back in order
//! whatever order they arrive in.

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
    /// Every page below this one holds rows (all full but perhaps the last).
    full_upto: u64,
    /// Every page from this one on is empty (seen: a short or empty page).
    empty_from: Option<u64>,
    /// The lowest page not asked for yet.
    next: u64,
    /// Pages asked for at or above `next` (probes, asked out of order).
    asked_ahead: BTreeSet<u64>,
    /// The probe in flight.
    probe: Option<u64>,
    /// Empty pages answered: requests past the end.
    empties: u32,
}

/// The most empty pages a scan asks for: its requests past the end.
pub const MAX_PAST_END: u32 = 4;

/// How many unknown pages `drops` probes can search when `empties` of them may come back
/// empty (the egg-drop bound: the sum of C(drops, i) for i in 1..=empties).
fn searchable(drops: u64, empties: u32) -> u64 {
    let (mut sum, mut term) = (0u64, 1u64);
    for i in 1..=u64::from(empties) {
        if i > drops {
            break;
        }
        term = term.saturating_mul(drops - i + 1) / i;
        sum = sum.saturating_add(term);
    }
    sum
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

    /// The next page to ask for with `window` requests in flight, or `None` when nothing
    /// should go before more answers come back (or nothing is left).
    pub fn next(&mut self, window: u64) -> Option<u64> {
        while self.asked_ahead.remove(&self.next) {
            self.next += 1;
        }
        let end = self.end();
        // The probe goes two windows ahead and first, so the pages it proves keep the window
        // full until the next probe answers. It waits while two windows of proven pages are
        // still to be sent, so it never runs far ahead of the reader.
        let window = window.max(1);
        let stride = 2 * window;
        let unsent = self.full_upto.saturating_sub(self.next);
        if self.probe.is_none() && unsent < stride {
            // Every page in [lo, end) is unknown and not asked for: answered probes moved the
            // bounds past themselves.
            let lo = self.full_upto.max(self.next);
            let page = match (self.empty_from, end) {
                (_, Some(end)) if lo >= end => None,
                // Seen empty: the end lies in [lo, end). It is found in the fewest round trips
                // that keep the empty answers within the budget: a probe whose empty answer
                // leaves a range the remaining empties can still search in one trip fewer.
                (Some(_), Some(end)) if self.empty_from == Some(end) => {
                    let unknown = end - lo;
                    let eggs = MAX_PAST_END.saturating_sub(self.empties).max(1);
                    let trips = (1..)
                        .find(|&d| searchable(d, eggs) >= unknown)
                        .unwrap_or(unknown);
                    Some(lo + searchable(trips - 1, eggs - 1).min(unknown - 1))
                }
                // A scan starts with one page, and each probe goes twice as far past the
                // proven pages as they reach (what is proven triples each round trip), so a
                // short listing costs one request even on a connection whose window is open.
                // With only a limit, the pages up to it are probably full.
                (_, end) => {
                    let ahead = lo + stride.min(2 * self.full_upto).max(1) - 1;
                    Some(end.map_or(ahead, |end| ahead.min(end - 1)))
                }
            };
            if let Some(page) = page {
                self.probe = Some(page);
                if page == self.next {
                    self.next += 1;
                } else {
                    self.asked_ahead.insert(page);
                }
                return Some(page);
            }
        }
        let known = end.map_or(self.full_upto, |end| self.full_upto.min(end));
        if self.next < known {
            let page = self.next;
            self.next += 1;
            return Some(page);
        }
        None
    }

    /// What page `page` held: `rows` of the `asked` rows.
    pub fn answered(&mut self, page: u64, rows: u64, asked: u64) {
        if self.probe == Some(page) {
            self.probe = None;
        }
        // A page that holds rows proves every page before it full; a short one is the last.
        if rows > 0 {
            self.full_upto = self.full_upto.max(page + 1);
        }
        if rows == 0 {
            self.empties += 1;
        }
        if rows < asked {
            let empty_from = if rows == 0 { page } else { page + 1 };
            self.empty_from = Some(self.empty_from.map_or(empty_from, |e| e.min(empty_from)));
        }
        // A listing that changed while it was read can contradict itself; the end wins.
        if let Some(end) = self.empty_from {
            self.full_upto = self.full_upto.min(end);
        }
    }
}

/// One page's request through the stream's client for its query: the rows already fetched
/// before it and the rows it asks for.
pub type FetchPage<T, E> =
    fn(Arc<Client>, QuerySpec, u64, u64) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

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

impl<T: Send + 'static, E: From<tokio::task::JoinError> + Send + 'static> PageStream<T, E> {
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
        loop {
            if self.failed || self.plan.end().is_some_and(|end| self.next >= end) {
                self.in_flight.abort_all();
                return None;
            }
            // What has come back tells the plan what may go next; then the window is topped
            // up before a page is handed out, so the requests keep flowing while the caller
            // works on pages already here.
            while let Some(joined) = self.in_flight.try_join_next() {
                if let Err(error) = self.absorb(joined) {
                    return Some(Err(error));
                }
            }
            self.top_up();
            if let Some(page) = self.arrived.remove(&self.next) {
                self.next += 1;
                return Some(Ok(page));
            }
            let joined = self.in_flight.join_next().await?;
            if let Err(error) = self.absorb(joined) {
                return Some(Err(error));
            }
        }
    }

    /// Sends what the plan allows: the window (at most [`super::MAX_PAGES_AHEAD`]) bounds the
    /// pages in flight, and [`super::MAX_PAGES_HELD`] those in flight and waiting for the
    /// reader together.
    fn top_up(&mut self) {
        let size = self.spec.page_len();
        let width = self.client.window().min(super::MAX_PAGES_AHEAD);
        while self.in_flight.is_empty()
            || (self.in_flight.len() < width
                && self.in_flight.len() + self.arrived.len() < super::MAX_PAGES_HELD)
        {
            let Some(page) = self.plan.next(width as u64) else {
                break;
            };
            let Some(rows) = self.spec.page_rows(page * size) else {
                // Past the limit: the plan's bound says so, this is only a guard.
                self.plan.answered(page, 0, 1);
                continue;
            };
            let request = (self.fetch)(self.client.clone(), self.spec.clone(), page * size, rows);
            self.in_flight
                .spawn(async move { (page, rows, request.await) });
        }
    }

    /// Takes in a finished request; a failed one (or a task that stopped) ends the stream.
    fn absorb(
        &mut self,
        joined: Result<(u64, u64, Result<T, E>), tokio::task::JoinError>,
    ) -> Result<(), E> {
        match joined
            .map_err(E::from)
            .and_then(|(page, asked, answer)| answer.map(|value| (page, asked, value)))
        {
            Ok((page, asked, value)) => {
                self.plan.answered(page, (self.rows_of)(&value), asked);
                self.arrived.insert(page, (asked, value));
                Ok(())
            }
            Err(error) => {
                self.failed = true;
                self.in_flight.abort_all();
                Err(error)
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

    /// Round trips to read `pages` full pages when every request in flight answers each
    /// round and the window opens as the connection's does (from one, one more for each
    /// answer, up to `ceiling`); returns (round trips, requests).
    fn round_trips(pages: u64, ceiling: u64) -> (u64, u64) {
        let mut plan = PagePlan::new(None);
        let (mut window, mut rounds, mut sent) = (1u64, 0, 0);
        loop {
            let mut in_flight = Vec::new();
            while (in_flight.len() as u64) < window {
                let Some(page) = plan.next(window) else { break };
                in_flight.push(page);
            }
            if in_flight.is_empty() {
                assert_eq!(
                    plan.end(),
                    Some(pages),
                    "stalled after {rounds} round trips"
                );
                break;
            }
            rounds += 1;
            sent += in_flight.len() as u64;
            for page in &in_flight {
                plan.answered(*page, if *page < pages { 100 } else { 0 }, 100);
            }
            window = (window + in_flight.len() as u64).min(ceiling);
        }
        (rounds, sent)
    }

    #[test]
    fn a_scan_opens_its_window_in_few_round_trips() {
        // 200 pages 16 at a time take 13 round trips at full width; opening the window
        // (tripling what is proven each round trip) and finding the end add six.
        let (rounds, sent) = round_trips(200, 16);
        assert!(rounds <= 13 + 6, "{rounds} round trips");
        assert!(sent <= 204, "{sent} requests");
        // One full page: its probe and the page after it, each past the end.
        assert_eq!(round_trips(1, 16), (3, 3));
        assert_eq!(round_trips(0, 16), (1, 1));
    }

    #[test]
    fn the_egg_drop_bound() {
        assert_eq!(super::searchable(3, 1), 3);
        assert_eq!(super::searchable(3, 3), 7);
        assert_eq!(super::searchable(4, 3), 14);
        assert_eq!(super::searchable(5, 3), 25);
        assert_eq!(super::searchable(0, 3), 0);
    }

    #[test]
    fn a_listing_that_fits_one_page_costs_one_request() {
        for rows in [0, 1, 999] {
            assert_eq!(requests_for(rows, 1000, 8, None, false), 1);
        }
    }

    #[test]
    fn n_full_pages_cost_at_most_n_plus_4() {
        for stride in [1, 2, 3, 4, 8, 16, 32] {
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
