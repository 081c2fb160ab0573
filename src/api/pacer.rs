//! How much traffic one connection sends: a window of requests in flight that adapts to the
//! dialer (AIMD), and an optional cap on requests per second (a token bucket). Every request
//! of the connection passes here — pages, lead chunks, look-ups, recordings — so one script
//! never has more in flight than the window, however many fan-outs it runs.
//!
//! The window starts at one request and grows by two for each clean answer (2xx, in less
//! than half the time-out) until it reaches the profile's `concurrency`: it triples every
//! round trip at first, as fast as a scan proves pages exist, then, after the first
//! congestion, grows by one a round trip. A 429, a
//! 5xx or a time-out halves it (never below one). A rate-limited dialer therefore sees
//! traffic back off at once and return slowly, as TCP does.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::terminal::sink::errln;

#[derive(Debug)]
pub(crate) struct Pacer {
    ceiling: usize,
    state: Mutex<Window>,
    released: Notify,
    bucket: Option<Mutex<Bucket>>,
    verbose: bool,
}

#[derive(Debug)]
struct Window {
    limit: usize,
    in_flight: usize,
    /// Below it the window triples each round trip; above it, it grows by one.
    threshold: usize,
    /// Clean answers since the window last grew (above the threshold).
    credit: usize,
}

#[derive(Debug)]
struct Bucket {
    rate: f64,
    tokens: f64,
    updated: Instant,
}

/// A place in the window, given back when dropped.
pub(crate) struct Slot<'a> {
    pacer: &'a Pacer,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut window = self.pacer.window();
        window.in_flight = window.in_flight.saturating_sub(1);
        drop(window);
        self.pacer.released.notify_waiters();
    }
}

/// How an answer went, for the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// A 2xx in good time.
    Clean,
    /// A 429, a 5xx or a time-out: the dialer is struggling.
    Congestion,
    /// Anything else (a 4xx refusal, a broken connection): says nothing about load.
    Neutral,
}

impl Pacer {
    pub(crate) fn new(ceiling: usize, max_rps: Option<f64>, verbose: bool) -> Pacer {
        let ceiling = ceiling.max(1);
        Pacer {
            ceiling,
            state: Mutex::new(Window {
                limit: 1,
                in_flight: 0,
                threshold: ceiling,
                credit: 0,
            }),
            released: Notify::new(),
            bucket: max_rps.filter(|r| *r > 0.0).map(|rate| {
                Mutex::new(Bucket {
                    rate,
                    tokens: rate.max(1.0),
                    updated: Instant::now(),
                })
            }),
            verbose,
        }
    }

    fn window(&self) -> std::sync::MutexGuard<'_, Window> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most requests the window allows in flight now.
    pub(crate) fn limit(&self) -> usize {
        self.window().limit
    }

    /// Waits for a place in the window and, with `max_rps`, for a token.
    pub(crate) async fn acquire(&self) -> Slot<'_> {
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            {
                let mut window = self.window();
                if window.in_flight < window.limit {
                    window.in_flight += 1;
                    break;
                }
            }
            released.await;
        }
        let slot = Slot { pacer: self };
        self.take_token().await;
        slot
    }

    async fn take_token(&self) {
        let Some(bucket) = &self.bucket else {
            return;
        };
        loop {
            let wait = {
                let mut bucket = bucket.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                let refill = now.duration_since(bucket.updated).as_secs_f64() * bucket.rate;
                bucket.tokens = (bucket.tokens + refill).min(bucket.rate.max(1.0));
                bucket.updated = now;
                if bucket.tokens >= 1.0 {
                    bucket.tokens -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - bucket.tokens) / bucket.rate)
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Adjusts the window after an answer.
    pub(crate) fn record(&self, signal: Signal, why: &str) {
        let mut window = self.window();
        let before = window.limit;
        match signal {
            Signal::Neutral => return,
            Signal::Clean if window.limit >= self.ceiling => return,
            Signal::Clean if window.limit < window.threshold => {
                window.limit = (window.limit + 2).min(self.ceiling);
            }
            Signal::Clean => {
                window.credit += 1;
                if window.credit >= window.limit {
                    window.credit = 0;
                    window.limit += 1;
                }
            }
            Signal::Congestion => {
                window.limit = (window.limit / 2).max(1);
                window.threshold = window.limit;
                window.credit = 0;
            }
        }
        let after = window.limit;
        drop(window);
        if after != before {
            if after > before {
                self.released.notify_waiters();
            }
            if self.verbose {
                errln!("tdc: window {before} -> {after} requests in flight ({why})");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_triples_then_halves_on_congestion_then_grows_slowly() {
        let pacer = Pacer::new(8, None, false);
        assert_eq!(pacer.limit(), 1);
        pacer.record(Signal::Clean, "ok");
        assert_eq!(pacer.limit(), 3, "the first round trip's one answer");
        for _ in 0..2 {
            pacer.record(Signal::Clean, "ok");
        }
        assert_eq!(pacer.limit(), 7);
        pacer.record(Signal::Clean, "ok");
        assert_eq!(pacer.limit(), 8);
        pacer.record(Signal::Clean, "ok");
        assert_eq!(pacer.limit(), 8, "never above the ceiling");
        pacer.record(Signal::Congestion, "429");
        assert_eq!(pacer.limit(), 4);
        for _ in 0..3 {
            pacer.record(Signal::Clean, "ok");
        }
        assert_eq!(
            pacer.limit(),
            4,
            "one more only after a window's worth of answers"
        );
        pacer.record(Signal::Clean, "ok");
        assert_eq!(pacer.limit(), 5);
        for _ in 0..5 {
            pacer.record(Signal::Congestion, "503");
        }
        assert_eq!(pacer.limit(), 1);
        pacer.record(Signal::Neutral, "404");
        assert_eq!(pacer.limit(), 1);
    }

    #[tokio::test]
    async fn no_more_than_the_window_is_in_flight() {
        let pacer = Pacer::new(4, None, false);
        let first = pacer.acquire().await;
        let second = tokio::time::timeout(Duration::from_millis(50), pacer.acquire()).await;
        assert!(second.is_err(), "the window starts at one");
        drop(first);
        let _again = pacer.acquire().await;
    }

    #[tokio::test]
    async fn max_rps_spaces_requests() {
        let pacer = Pacer::new(8, Some(20.0), false);
        for _ in 0..8 {
            pacer.record(Signal::Clean, "ok");
        }
        let started = Instant::now();
        for _ in 0..30 {
            drop(pacer.acquire().await);
        }
        // 20 tokens at once, then 10 more at 20 a second: about half a second.
        assert!(
            started.elapsed() >= Duration::from_millis(400),
            "{:?}",
            started.elapsed()
        );
    }
}
