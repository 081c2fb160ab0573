//! Reading a whole listing, page by page, with no more requests than it needs.
//!
//! The API does not say how long a listing is: a page shorter than asked is its end. Fetching
//! a window of pages ahead blindly sends up to a window of requests past that end, which a
//! rate-limited dialer counts. So one page at a time goes ahead as a *probe*, two windows past
//! the pages known to exist; when it comes back full, every page before it exists and those
//! go out as the window allows, while the next probe goes ahead. When a probe comes back
//! empty, the end lies between, and it is searched for in the fewest round trips that keep
//! the empty answers within [`MAX_PAST_END`]: a scan of N full pages costs at most N + 4
//! requests, and a listing that fits one page costs one.
//!
//! The search sends as many probes a round trip as empty answers it may still afford (the
//! egg-drop puzzle with several eggs dropped at once): the lowest unknown page, and the others
//! spaced so that whichever comes back empty first, the pages left between can be searched
//! with the empties left. Thirty-one unknown pages with three empties to spare take four
//! round trips this way, six with one probe at a time; a full probe's page is one the scan
//! reads anyway.
//!
//! Throughput is a window of pages per round trip, as with blind prefetching; finding the end
//! costs a few more round trips. Pages come back in order whatever order they arrive in.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::task::JoinSet;

use super::query::QuerySpec;
use super::Client;

/// Which page to ask for next, from what the pages answered so far say about the listing's
/// length. Pages are numbered from 0; no I/O here.
#[derive(Debug, Default)]
pub(crate) struct PagePlan {
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
    /// The probes in flight.
    probes: BTreeSet<u64>,
    /// The probes of a search's round trip not sent yet, highest first.
    trip: Vec<u64>,
    /// Empty pages answered: requests past the end.
    empties: u32,
}

/// The most empty pages a scan asks for: its requests past the end.
pub(crate) const MAX_PAST_END: u32 = 4;

/// How many unknown pages a search settles in `trips` round trips of at most `width` probes
/// each, for each number of empty answers it may afford (the index, up to `eggs`).
///
/// With `e` empties to spare, `m` probes go out (at most `width`, at most `e`). Whichever comes
/// back empty first, those above it are empty too: below the lowest probe the search goes on
/// with `e - m` empties, between the `j`-th and the next with `e - m + j`, above the highest
/// (all full) with `e`. Each of those gaps holds what one trip fewer settles with that many.
fn reach(trips: u64, width: u64, eggs: u32) -> Vec<u64> {
    let eggs = eggs as usize;
    let mut row = vec![0u64; eggs + 1];
    for _ in 0..trips {
        let before = row.clone();
        for e in 1..=eggs {
            let m = (width.max(1) as usize).min(e);
            let gaps = (0..m).fold(0u64, |sum, j| {
                sum.saturating_add(before[e - m + j]).saturating_add(1)
            });
            row[e] = gaps.saturating_add(before[e]);
        }
    }
    row
}

impl PagePlan {
    pub(crate) fn new(bound: Option<u64>) -> PagePlan {
        PagePlan {
            bound,
            ..PagePlan::default()
        }
    }

    /// The listing's page count, once known: pages at and past it hold nothing.
    pub(crate) fn end(&self) -> Option<u64> {
        match (self.empty_from, self.bound) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next page to ask for with `window` requests in flight, or `None` when nothing
    /// should go before more answers come back (or nothing is left).
    pub(crate) fn next(&mut self, window: u64) -> Option<u64> {
        while self.asked_ahead.remove(&self.next) {
            self.next += 1;
        }
        let end = self.end();
        let window = window.max(1);
        // Every page in [lo, end) is unknown and not asked for: answered probes moved the
        // bounds past themselves, and a search plans its next trip once the last has answered.
        let lo = self.full_upto.max(self.next);
        let searching = self.empty_from.is_some() && self.empty_from == end;
        if searching && self.probes.is_empty() && self.trip.is_empty() {
            if let Some(end) = end.filter(|&end| lo < end) {
                self.trip = self.search_trip(lo, end, window);
            }
        }
        // A trip's probe that answers already made needless (a short page elsewhere) is
        // dropped.
        while let Some(page) = self.trip.pop() {
            if page >= lo && end.is_none_or(|end| page < end) {
                return Some(self.ask_probe(page));
            }
        }
        // The probe goes two windows ahead and first, so the pages it proves keep the window
        // full until the next probe answers. It waits while two windows of proven pages are
        // still to be sent, so it never runs far ahead of the reader.
        let stride = 2 * window;
        let unsent = self.full_upto.saturating_sub(self.next);
        if !searching && self.probes.is_empty() && unsent < stride {
            // A scan starts with one page, and each probe goes twice as far past the proven
            // pages as they reach (what is proven triples each round trip), so a short
            // listing costs one request even on a connection whose window is open. With only
            // a limit, the pages up to it are probably full.
            let ahead = lo + stride.min(2 * self.full_upto).max(1) - 1;
            match end {
                Some(end) if lo >= end => {}
                end => return Some(self.ask_probe(end.map_or(ahead, |end| ahead.min(end - 1)))),
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

    /// The probes of one round trip of the search for the end in `[lo, end)`, highest first:
    /// the fewest trips that keep the empty answers within the budget.
    fn search_trip(&self, lo: u64, end: u64, window: u64) -> Vec<u64> {
        let unknown = end - lo;
        let eggs = MAX_PAST_END.saturating_sub(self.empties).max(1);
        let width = u64::from(eggs).min(window);
        let mut trips = 1;
        while reach(trips, width, eggs)[eggs as usize] < unknown {
            trips += 1;
        }
        let after = reach(trips - 1, width, eggs);
        let m = width as usize;
        let e = eggs as usize;
        let mut probes = Vec::with_capacity(m);
        let mut page = lo + after[e - m];
        for j in 0..m {
            if page >= end {
                break;
            }
            probes.push(page);
            page += 1 + after.get(e - m + j + 1).copied().unwrap_or(0);
        }
        probes.reverse();
        probes
    }

    fn ask_probe(&mut self, page: u64) -> u64 {
        self.probes.insert(page);
        if page == self.next {
            self.next += 1;
        } else {
            self.asked_ahead.insert(page);
        }
        page
    }

    /// What page `page` held: `rows` of the `asked` rows.
    pub(crate) fn answered(&mut self, page: u64, rows: u64, asked: u64) {
        self.probes.remove(&page);
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

/// A page read from an answer, with the size of the body it was read from: what the stream
/// counts against [`super::MAX_BYTES_HELD`].
pub(crate) struct Weighed<T> {
    pub(crate) value: T,
    pub(crate) bytes: u64,
}

/// One page's request through the stream's client for its query: the rows already fetched
/// before it and the rows it asks for.
pub(crate) type FetchPage<T, E> = fn(
    Arc<Client>,
    QuerySpec,
    u64,
    u64,
)
    -> Pin<Box<dyn Future<Output = Result<Weighed<T>, E>> + Send>>;

/// A request's outcome as its task ends: the page, the rows it asked for, and the answer.
type Answer<T, E> = (u64, u64, Result<Weighed<T>, E>);

/// The pages a stream has handed out and the reader has not finished with: they count
/// against the budget until their [`Ticket`] drops.
#[derive(Default)]
struct HandedOut {
    pages: AtomicU64,
    bytes: AtomicU64,
    /// Wakes the stream's task when the reader lets go of a page, so it can send more.
    released: tokio::sync::Notify,
}

/// A page's place in its stream's budget, given with the page to the reader: the page is
/// held until this drops, so a reader keeps it while it works on the page.
pub(crate) struct Ticket {
    bytes: u64,
    handed_out: Arc<HandedOut>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.handed_out.pages.fetch_sub(1, Ordering::AcqRel);
        self.handed_out
            .bytes
            .fetch_sub(self.bytes, Ordering::AcqRel);
        self.handed_out.released.notify_one();
    }
}

/// A page handed to the reader: its value, and the ticket that holds its place in the
/// budget until the reader is done with it.
pub(crate) struct HeldPage<T> {
    pub(crate) value: T,
    pub(crate) ticket: Ticket,
}

/// A listing's pages, in order, fetched by a [`PagePlan`] within the connection's window.
pub(crate) struct PageStream<T, E> {
    client: Arc<Client>,
    spec: QuerySpec,
    plan: PagePlan,
    fetch: FetchPage<T, E>,
    rows_of: fn(&T) -> u64,
    in_flight: JoinSet<Answer<T, E>>,
    arrived: BTreeMap<u64, (u64, Weighed<T>)>,
    /// The bytes of the pages in `arrived`.
    arrived_bytes: u64,
    /// The largest body seen: what a page in flight is counted as until it arrives.
    largest_page: u64,
    handed_out: Arc<HandedOut>,
    /// The page to hand out next.
    next: u64,
    failed: bool,
    /// The most requests in flight, and the most pages held.
    ahead: usize,
    held: usize,
}

impl<T: Send + 'static, E: From<tokio::task::JoinError> + Send + 'static> PageStream<T, E> {
    /// Pages of `spec` (from its offset, up to its limit), each fetched by `fetch` and counted
    /// by `rows_of`.
    pub(crate) fn new(
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
            arrived_bytes: 0,
            largest_page: 0,
            handed_out: Arc::default(),
            next: 0,
            failed: false,
            ahead: super::MAX_PAGES_AHEAD,
            held: super::MAX_PAGES_HELD,
        }
    }

    /// At most `pages` requests in flight (1 to [`super::MAX_PAGES_AHEAD`]), and the pages
    /// held cut in proportion: for a reader that skips through a listing it re-reads often,
    /// whose memory should not grow with the listing's length.
    pub(crate) fn at_most_ahead(mut self, pages: usize) -> PageStream<T, E> {
        self.ahead = pages.clamp(1, super::MAX_PAGES_AHEAD);
        self.held = self.ahead + self.ahead.div_ceil(4);
        self
    }

    /// The next page with the rows it asked for, `None` after the last (or after an error).
    /// Cancel-safe: dropping the future loses no page.
    async fn next_page(&mut self) -> Option<Result<(u64, HeldPage<T>), E>> {
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
            if let Some((asked, page)) = self.arrived.remove(&self.next) {
                self.next += 1;
                self.arrived_bytes -= page.bytes;
                // Counted as handed out before it leaves `arrived`'s count: never in neither.
                self.handed_out.pages.fetch_add(1, Ordering::AcqRel);
                self.handed_out
                    .bytes
                    .fetch_add(page.bytes, Ordering::AcqRel);
                let ticket = Ticket {
                    bytes: page.bytes,
                    handed_out: self.handed_out.clone(),
                };
                let value = page.value;
                return Some(Ok((asked, HeldPage { value, ticket })));
            }
            let joined = self.in_flight.join_next().await?;
            if let Err(error) = self.absorb(joined) {
                return Some(Err(error));
            }
        }
    }

    /// Whether one more request fits the budget: [`super::MAX_PAGES_HELD`] pages (fewer
    /// after [`PageStream::at_most_ahead`]) and
    /// [`super::MAX_BYTES_HELD`] bytes, counting those in flight (each as large as the largest
    /// page seen), fetched ahead, and handed out but not yet finished with by the reader.
    fn room_for_one_more(&self) -> bool {
        let in_flight = self.in_flight.len() as u64;
        let pages =
            in_flight + self.arrived.len() as u64 + self.handed_out.pages.load(Ordering::Acquire);
        let bytes = (in_flight + 1) * self.largest_page
            + self.arrived_bytes
            + self.handed_out.bytes.load(Ordering::Acquire);
        pages < self.held as u64 && bytes <= super::MAX_BYTES_HELD
    }

    /// Sends what the plan allows: the window (at most [`super::MAX_PAGES_AHEAD`]) bounds the
    /// pages in flight, and the budget ([`PageStream::room_for_one_more`]) what is held in
    /// all. With nothing in flight and the reader's next page not here, one request goes
    /// whatever the budget says: the reader is waiting for it.
    fn top_up(&mut self) {
        let size = self.spec.page_len();
        let width = self.client.window().min(self.ahead);
        while (self.in_flight.is_empty() && !self.arrived.contains_key(&self.next))
            || (self.in_flight.len() < width && self.room_for_one_more())
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
    fn absorb(&mut self, joined: Result<Answer<T, E>, tokio::task::JoinError>) -> Result<(), E> {
        match joined
            .map_err(E::from)
            .and_then(|(page, asked, answer)| answer.map(|value| (page, asked, value)))
        {
            Ok((page, asked, answer)) => {
                let rows = (self.rows_of)(&answer.value);
                self.plan.answered(page, rows, asked);
                self.largest_page = self.largest_page.max(answer.bytes);
                // An empty page is past the end: never handed out, so not held either.
                if rows > 0 {
                    self.arrived_bytes += answer.bytes;
                    self.arrived.insert(page, (asked, answer));
                }
                Ok(())
            }
            Err(error) => {
                self.failed = true;
                self.in_flight.abort_all();
                Err(error)
            }
        }
    }

    /// The stream driven by a task of its own on `runtime`: answers are taken in and the
    /// window topped up as they come back, and when the reader lets go of a page, while the
    /// reader works on the pages it has (a reader that pulls pages tops up only between two
    /// of them). The pages handed over count against the budget until their ticket drops.
    pub(crate) fn run_ahead(self, runtime: &tokio::runtime::Handle) -> AheadPages<T, E> {
        let (sender, pages) = tokio::sync::mpsc::channel(1);
        let driver = runtime.spawn(self.drive(sender));
        AheadPages { pages, driver }
    }

    async fn drive(mut self, reader: tokio::sync::mpsc::Sender<Result<(u64, HeldPage<T>), E>>) {
        let handed_out = self.handed_out.clone();
        // An answer that fails while a page waits for the reader is handed out after it.
        let mut failure = None;
        while let Some(page) = self.next_page().await {
            let last = page.is_err();
            let room = loop {
                tokio::select! {
                    biased;
                    room = reader.reserve() => break room,
                    Some(joined) = self.in_flight.join_next(), if failure.is_none() && !self.in_flight.is_empty() => {
                        match self.absorb(joined) {
                            Ok(()) => self.top_up(),
                            Err(error) => failure = Some(error),
                        }
                    }
                    () = handed_out.released.notified(), if failure.is_none() => self.top_up(),
                }
            };
            // The reader is gone: so is the stream (its requests are aborted as it drops).
            let Ok(room) = room else { return };
            room.send(page);
            if last {
                return;
            }
            if let Some(error) = failure.take() {
                let _ = reader.send(Err(error)).await;
                return;
            }
        }
    }
}

/// A listing's pages fetched ahead by a task of their own ([`PageStream::run_ahead`]); the
/// requests in flight are aborted when this is dropped.
pub(crate) struct AheadPages<T, E> {
    pages: tokio::sync::mpsc::Receiver<Result<(u64, HeldPage<T>), E>>,
    driver: tokio::task::JoinHandle<()>,
}

impl<T, E> AheadPages<T, E> {
    /// The next page with the rows it asked for, `None` after the last (or after an error).
    /// The page counts against the stream's budget until its ticket drops.
    pub(crate) async fn next_page(&mut self) -> Option<Result<(u64, HeldPage<T>), E>> {
        self.pages.recv().await
    }
}

impl<T, E> Drop for AheadPages<T, E> {
    fn drop(&mut self) {
        self.driver.abort();
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
    /// round and the window opens as the connection's does (from one, two more for each
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
            window = (window + 2 * in_flight.len() as u64).min(ceiling);
        }
        (rounds, sent)
    }

    #[test]
    fn a_scan_opens_its_window_in_few_round_trips() {
        // 200 pages 16 at a time take 13 round trips at full width; opening the window
        // (tripling what is proven, and the window, each round trip) and finding the end add
        // five.
        let (rounds, sent) = round_trips(200, 16);
        assert!(rounds <= 13 + 5, "{rounds} round trips");
        assert!(sent <= 204, "{sent} requests");
        // One full page: its probe and the page after it, each past the end.
        assert_eq!(round_trips(1, 16), (3, 3));
        assert_eq!(round_trips(0, 16), (1, 1));
    }

    #[test]
    fn the_egg_drop_bound() {
        // (probes a trip, trips, eggs, pages settled). One probe a trip: the classic puzzle,
        // the sum of C(trips, i) for i up to the eggs. As many probes a trip as eggs: a trip
        // with e eggs settles e pages, and each trip more adds what the trips before settle
        // with every number of eggs up to e.
        let cases = [
            (1, 3, 1, 3),
            (1, 3, 3, 7),
            (1, 4, 3, 14),
            (1, 5, 3, 25),
            (1, 0, 3, 0),
            (4, 1, 3, 3),
            (4, 2, 3, 9),
            (4, 3, 3, 19),
            (4, 4, 3, 34),
            (4, 3, 1, 3),
        ];
        for (width, trips, eggs, settled) in cases {
            let reach = super::reach(trips, width, eggs)[eggs as usize];
            assert_eq!(reach, settled, "{width} a trip, {trips} trips, {eggs} eggs");
        }
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
