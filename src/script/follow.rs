//! Following a listing as the dialer adds to it: `td.cdrs().follow(opts)` (and calls, and new
//! leads) is an endless iterator — the backlog first, then each new record as it appears.
//!
//! CDRs and calls are written when a call starts and completed when it ends, so a record is
//! handed to the script once, when it is finished (`q850 > 0` when the row has `q850`, else a
//! non-empty `end_at`: the rule `cdr::kpis` uses). Each poll re-reads the rows that started
//! since the *window start* — the newest start seen less `overlap`, or earlier while a call
//! seen unfinished is still within `max_call` of it — and skips the ids already handed inside
//! that window. Leads are followed by id: every lead whose id is above the last one handed.
//!
//! With `cursor: PATH` the position (window start and the ids handed inside it, or the last
//! lead id) is kept in a file (owner-only), and a record is committed after the loop body has
//! finished with it: the next call for a record appends the id of the one before, and the
//! file is rewritten whole at the end of each poll ([`Cursor`]). A kill or crash
//! therefore loses nothing, and a record is handed again only if its iteration did not finish
//! (the script failed or was stopped inside the body, or `break` left the loop on it). A
//! second follower on the same cursor is refused by a lock beside it (`PATH.lock`).
//!
//! A dialer that cannot be reached, or answers 5xx or 429 after the client's own retries, is
//! an outage: the follower says so once, waits with a backoff capped at `max_backoff`, says
//! when the dialer is back and goes on from where it was. 401, 403 and other refusals end it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rhai::plugin::*;
use rhai::{Dynamic, EvalAltResult, ImmutableString, Map};
use serde::{Deserialize, Serialize};

use super::query::Query;
use super::{script_error, RhaiResultOf};
use crate::api::query::{Op, Resource};
use crate::script::permissions::Powers;

/// How a follower reads: from the options map of `follow(opts)`.
#[derive(Debug, Clone)]
struct Options {
    cursor: Option<PathBuf>,
    since: Option<i64>,
    poll: Duration,
    overlap: i64,
    max_call: i64,
    max_backoff: Duration,
}

const OPTION_KEYS: [&str; 6] = [
    "cursor",
    "since",
    "poll",
    "overlap",
    "max_call",
    "max_backoff",
];

fn seconds_of(key: &str, value: &Dynamic) -> RhaiResultOf<i64> {
    if let Ok(n) = value.as_int() {
        return Ok(n);
    }
    let text = value.to_string();
    crate::time::parse_duration(&text).ok_or_else(|| {
        script_error(format!(
            "follow: {key}: '{text}' is not a duration (e.g. 5s, 15m, 1h, or seconds)"
        ))
    })
}

impl Options {
    /// The options of `follow`; a `since` with day words is read in `zone`.
    fn read(options: &Map, zone: Option<chrono_tz::Tz>) -> RhaiResultOf<Options> {
        if let Some(unknown) = options.keys().find(|k| !OPTION_KEYS.contains(&k.as_str())) {
            return Err(script_error(format!(
                "follow: unknown option '{unknown}' (the options are {})",
                OPTION_KEYS.join(", ")
            )));
        }
        let duration = |key: &str, default: i64| -> RhaiResultOf<i64> {
            let n = match options.get(key) {
                Some(value) => seconds_of(key, value)?,
                None => default,
            };
            if n < 0 {
                return Err(script_error(format!("follow: {key} must be 0 or more")));
            }
            Ok(n)
        };
        let since = match options.get("since") {
            None => None,
            Some(value) if value.is_int() => Some(value.as_int().unwrap_or_default()),
            Some(value) => {
                let text = value.to_string();
                Some(crate::time::parse_time_or_relative(&text, zone).ok_or_else(|| {
                    script_error(format!(
                        "follow: since: '{text}' is not a time (e.g. \"2025-03-01 00:00:00\", \"today\", \"-1h\")"
                    ))
                })?)
            }
        };
        Ok(Options {
            cursor: options.get("cursor").map(|c| PathBuf::from(c.to_string())),
            since,
            poll: match duration("poll", 5)? {
                0 => return Err(script_error("follow: poll must be at least 1s")),
                seconds => Duration::from_secs(seconds as u64),
            },
            overlap: duration("overlap", 15 * 60)?,
            max_call: duration("max_call", 4 * 3600)?,
            max_backoff: Duration::from_secs(duration("max_backoff", 60)?.max(1) as u64),
        })
    }
}

/// A follower's position, as its cursor file keeps it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct Saved {
    resource: String,
    /// Calls and CDRs: the start of the window the next poll reads (`YYYY-MM-DD HH:MM:SS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    /// Calls and CDRs: ids handed whose start is inside the window.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    handed: Vec<i64>,
    /// Leads: the last id handed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_id: Option<i64>,
}

/// What a follower knows between polls.
struct State {
    resource: Resource,
    overlap: i64,
    max_call: i64,
    /// Calls and CDRs: where the current poll's window starts (seconds since the epoch, the
    /// dialer's times read as UTC); `None` reads from the first row.
    from: Option<i64>,
    /// Handed ids and their start times, inside the window.
    handed: HashMap<i64, i64>,
    /// Leads: the last id handed.
    last_id: Option<i64>,
    /// The newest start seen, and the oldest start of a call seen unfinished in this poll.
    newest: Option<i64>,
    oldest_unfinished: Option<i64>,
    /// The first poll of a follower that starts "now" learns what is finished already
    /// without handing it.
    priming: bool,
}

impl State {
    fn is_leads(&self) -> bool {
        self.resource == Resource::Leads
    }

    /// Where the next poll starts: the newest start less the overlap, or earlier for a call
    /// still unfinished (one unfinished `max_call` after the newest start is given up).
    fn next_from(&self) -> Option<i64> {
        let Some(newest) = self.newest else {
            return self.from;
        };
        let mut next = newest - self.overlap;
        if let Some(oldest) = self.oldest_unfinished {
            if oldest >= newest - self.max_call {
                next = next.min(oldest);
            }
        }
        Some(self.from.map_or(next, |from| from.max(next)))
    }

    fn saved(&self) -> Saved {
        if self.is_leads() {
            return Saved {
                resource: self.resource.envelope().to_string(),
                last_id: self.last_id,
                ..Saved::default()
            };
        }
        let from = self.next_from();
        let mut handed: Vec<i64> = self
            .handed
            .iter()
            .filter(|(_, start)| from.is_none_or(|f| **start >= f))
            .map(|(id, _)| *id)
            .collect();
        handed.sort_unstable();
        Saved {
            resource: self.resource.envelope().to_string(),
            from: from.map(crate::time::format_time),
            handed,
            last_id: None,
        }
    }

    /// A poll read every row of its window: the next one starts where [`State::next_from`]
    /// says, and ids that started before it are forgotten.
    fn end_poll(&mut self) {
        self.from = self.next_from();
        if let Some(from) = self.from {
            self.handed.retain(|_, start| *start >= from);
        }
        self.oldest_unfinished = None;
        self.priming = false;
    }
}

/// A record as the follower needs it: its id, its start and whether it is finished.
fn read_row(row: &Dynamic) -> Option<(i64, Option<i64>, bool)> {
    read_times(row).map(|(id, start, finished, _)| (id, start, finished))
}

/// [`read_row`] and the record's end.
fn read_times(row: &Dynamic) -> Option<(i64, Option<i64>, bool, Option<i64>)> {
    let map = row.read_lock::<Map>()?;
    let id = map.get("id").and_then(|v| v.as_int().ok())?;
    let text = |key: &str| -> Option<ImmutableString> {
        map.get(key)
            .and_then(|v| v.read_lock::<ImmutableString>().map(|s| s.clone()))
            .filter(|s| !s.is_empty())
    };
    let start = text("start_at").and_then(|s| crate::time::parse_time(&s));
    let end = text("end_at");
    let finished = match map.get("q850") {
        Some(q850) => q850.as_int().is_ok_and(|n| n > 0),
        None => end.is_some(),
    };
    let end = end.and_then(|e| crate::time::parse_time(&e));
    Some((id, start, finished, end))
}

/// The cursor file and the lock that keeps a second follower off it.
///
/// The file is the position as one JSON line, then the id of each record handed since, one a
/// line: a record is committed by appending its id (one small write, whatever the window's
/// size), and the file is rewritten whole — a fresh owner-only file renamed over it — at the
/// end of each poll and every [`COMPACT_EVERY`] records. A kill leaves at worst a last line
/// cut short, which is not an id that finished and is ignored.
struct Cursor {
    path: PathBuf,
    powers: Powers,
    /// Held (locked) for the follower's life.
    _lock: std::fs::File,
    /// The file as last rewritten, open for appending ids.
    file: Option<std::fs::File>,
    written: Option<Saved>,
    appended: usize,
    synced: Instant,
}

/// Ids appended before the cursor file is rewritten whole.
const COMPACT_EVERY: usize = 10_000;

/// Reads a cursor file: the position, with every id appended after it.
fn read_cursor(text: &str) -> Result<Saved, String> {
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or("");
    let mut saved: Saved = serde_json::from_str(first.trim()).map_err(|e| e.to_string())?;
    for line in lines {
        // A line without its newline was cut short by a kill: not a commit.
        let Some(id) = line.strip_suffix('\n') else {
            break;
        };
        let id: i64 = id
            .trim()
            .parse()
            .map_err(|_| format!("'{}' is not an id", id.trim()))?;
        if saved.resource == Resource::Leads.envelope() {
            saved.last_id = Some(saved.last_id.map_or(id, |last| last.max(id)));
        } else {
            saved.handed.push(id);
        }
    }
    Ok(saved)
}

impl Cursor {
    /// How a follower's files are reached: a script's paths, under its host's powers.
    fn access(&self) -> crate::files::Access<'_> {
        crate::files::Access::bounded(&self.powers, "follow")
    }

    fn open(powers: Powers, path: PathBuf) -> RhaiResultOf<(Cursor, Option<Saved>)> {
        let access = crate::files::Access::bounded(&powers, "follow");
        use crate::files;
        let shown = path.display().to_string();
        let mut lock_name = path.as_os_str().to_owned();
        lock_name.push(".lock");
        let lock_path = PathBuf::from(lock_name);
        let lock = files::open_append(access, &lock_path, false)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(script_error(format!(
                    "follow: cursor {shown} is in use by another follower (its lock {} is held); run one follower per cursor",
                    lock_path.display()
                )))
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(script_error(format!(
                    "follow: cursor {shown}: cannot lock: {e}"
                )))
            }
        }
        let not_a_cursor = |e: &dyn std::fmt::Display| {
            script_error(format!(
                "follow: cursor {shown} is not a cursor file ({e}); move it away to start afresh"
            ))
        };
        let saved = match files::read(access, &path) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes).map_err(|e| not_a_cursor(&e))?;
                Some(read_cursor(&text).map_err(|e| not_a_cursor(&e))?)
            }
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e.into()),
        };
        Ok((
            Cursor {
                path,
                powers,
                _lock: lock,
                file: None,
                written: None,
                appended: 0,
                synced: Instant::now(),
            },
            saved,
        ))
    }

    fn fail(&self, e: impl std::fmt::Display) -> Box<EvalAltResult> {
        script_error(format!(
            "follow: cannot write cursor {}: {e}",
            self.path.display()
        ))
    }

    /// Commits one record handed: its id appended, or the file rewritten when it has grown.
    fn commit_record(&mut self, id: i64, position: impl FnOnce() -> Saved) -> RhaiResultOf<()> {
        if self.appended >= COMPACT_EVERY {
            return self.rewrite(position());
        }
        let Some(file) = self.file.as_mut() else {
            return self.rewrite(position());
        };
        std::io::Write::write_all(file, format!("{id}\n").as_bytes()).map_err(|e| self.fail(e))?;
        self.appended += 1;
        // Flushed to disk at most once a second: a follower may commit thousands of records
        // a second through a backlog, and a power loss only hands records again.
        if self.synced.elapsed() >= Duration::from_secs(1) {
            if let Some(file) = &self.file {
                file.sync_data().map_err(|e| self.fail(e))?;
            }
            self.synced = Instant::now();
        }
        Ok(())
    }

    /// Replaces the file with `position` alone (written whole: a kill leaves the old file or
    /// the new one), then keeps it open for appending.
    fn rewrite(&mut self, position: Saved) -> RhaiResultOf<()> {
        if self.written.as_ref() == Some(&position) && self.appended == 0 {
            return Ok(());
        }
        let mut text = serde_json::to_vec(&position).map_err(|e| self.fail(e))?;
        text.push(b'\n');
        crate::files::write_whole(self.access(), &self.path, |file| {
            std::io::Write::write_all(file, &text)
        })?;
        self.file = Some(crate::files::open_append(self.access(), &self.path, false)?);
        self.synced = Instant::now();
        self.written = Some(position);
        self.appended = 0;
        Ok(())
    }
}

/// The ending of a script stopped at a record boundary to make way for a new version.
pub(crate) fn stopped_for_reload() -> Box<EvalAltResult> {
    EvalAltResult::ErrorTerminated(Dynamic::from(RELOAD), rhai::Position::NONE).into()
}

/// The value of [`stopped_for_reload`]'s error.
pub(crate) const RELOAD: &str = "reload";

/// Whether a failed poll is an outage to ride out (no answer, 5xx, 429) rather than a refusal.
fn is_outage(error: &EvalAltResult) -> Option<String> {
    let EvalAltResult::ErrorRuntime(value, _) = error else {
        return None;
    };
    let map = value.read_lock::<Map>()?;
    let status = status_of(error);
    let outage = match status {
        None => true,
        Some(code) => code == 429 || code >= 500,
    };
    outage.then(|| {
        let message = map
            .get("message")
            .map(|m| m.to_string())
            .unwrap_or_default();
        match status {
            Some(code) => format!("{code} {message}"),
            None => message,
        }
    })
}

fn duration_text(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// Which listing of a poll is being read.
enum Pass {
    /// Every row whole: leads, or calls and CDRs of a tenant that refused the slim listing.
    Whole,
    /// Calls and CDRs: the few fields that say which rows are new and finished (a poll
    /// re-reads its whole window, so most rows are skipped: reading them whole would cost
    /// memory and time in proportion to the window).
    Slim { wanted: Wanted },
    /// The rows the slim listing found new and finished, read whole over their ids (and,
    /// when every one has an end, only rows that ended since the earliest: calls finish out
    /// of id order, so their ids span as much of the window as the longest call).
    Fetch {
        wanted: HashMap<i64, i64>,
        ended_since: Option<i64>,
    },
}

/// The rows a slim listing found new and finished: their ids and starts, and the earliest
/// end among them while every one has an end that reads as a time.
#[derive(Default)]
struct Wanted {
    rows: Vec<(i64, i64)>,
    earliest_end: Option<i64>,
    an_end_unknown: bool,
}

impl Wanted {
    fn push(&mut self, id: i64, start: i64, end: Option<i64>) {
        self.rows.push((id, start));
        match end {
            Some(end) => {
                self.earliest_end = Some(self.earliest_end.map_or(end, |e| e.min(end)));
            }
            None => self.an_end_unknown = true,
        }
    }

    /// The earliest end, if it bounds every row.
    fn ended_since(&self) -> Option<i64> {
        self.earliest_end.filter(|_| !self.an_end_unknown)
    }
}

/// What the slim listing asks for.
const SLIM_FIELDS: [&str; 4] = ["id", "start_at", "q850", "end_at"];

/// The slim listing's requests in flight: a window of ten pages of 1,000 slim rows is read
/// in five round trips (half a second on a dialer 100 ms away, a tenth of a 5 s poll), and
/// no more than three of its pages are held at once.
const SLIM_PAGES_AHEAD: usize = 2;

/// The HTTP status of a failed request, as the script's error map carries it.
fn status_of(error: &EvalAltResult) -> Option<i64> {
    let EvalAltResult::ErrorRuntime(value, _) = error else {
        return None;
    };
    let map = value.read_lock::<Map>()?;
    map.get("status").and_then(|s| s.as_int().ok())
}

struct Inner {
    query: Query,
    pass: Pass,
    /// Calls and CDRs are polled slim first, unless the dialer refused that.
    slim: bool,
    options: Options,
    state: State,
    cursor: Option<Cursor>,
    /// The current poll's rows.
    rows: Option<super::query::Rows>,
    /// The record handed whose loop body has not asked for the next one yet.
    handing: Option<(i64, i64)>,
    last_poll: Option<Instant>,
    /// When the outage being ridden out began, and the wait before the next try.
    outage: Option<(Instant, Duration)>,
    started: bool,
}

/// An endless iterator over a listing's new and newly finished records (see
/// [`follow_api::follow`]).
#[derive(Clone)]
pub(crate) struct Follow {
    inner: Arc<Mutex<Inner>>,
}

pub(crate) struct FollowRows {
    inner: Arc<Mutex<Inner>>,
}

impl IntoIterator for Follow {
    type Item = RhaiResultOf<Dynamic>;
    type IntoIter = FollowRows;

    fn into_iter(self) -> FollowRows {
        FollowRows { inner: self.inner }
    }
}

impl Iterator for FollowRows {
    type Item = RhaiResultOf<Dynamic>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        Some(inner.next_record())
    }
}

impl Inner {
    fn host(&self) -> Arc<super::Host> {
        self.query.dialer().host.clone()
    }

    /// Waits `wait`, or less when the script is interrupted or asked to stop.
    fn pause(&self, wait: Duration) -> RhaiResultOf<()> {
        let host = self.host();
        let boundary = host.boundary_token();
        let done = host.block_on(async move {
            tokio::select! {
                _ = tokio::time::sleep(wait) => true,
                _ = boundary.cancelled() => false,
            }
        });
        match done {
            None => Err(super::terminated()),
            Some(false) => Err(stopped_for_reload()),
            Some(true) => Ok(()),
        }
    }

    /// The query of the next poll: the window (or the ids) past the position, in id order.
    fn poll_query(&self) -> RhaiResultOf<Query> {
        let state = &self.state;
        let mut spec = self.query.spec().clone();
        let condition = if state.is_leads() {
            match (state.last_id, self.options.since) {
                (Some(id), _) => Some(("id", Op::Gt, id.to_string())),
                (None, Some(since)) => {
                    Some(("created_at", Op::Ge, crate::time::format_time(since)))
                }
                (None, None) => None,
            }
        } else {
            state
                .from
                .map(|from| ("start_at", Op::Ge, crate::time::format_time(from)))
        };
        let mut conditions: Vec<(&str, Op, String)> = condition.into_iter().collect();
        match &self.pass {
            Pass::Whole => {}
            Pass::Slim { .. } => spec.fields = Some(SLIM_FIELDS.map(String::from).to_vec()),
            Pass::Fetch {
                wanted,
                ended_since,
            } => {
                let low = wanted.keys().min().copied().unwrap_or_default();
                let high = wanted.keys().max().copied().unwrap_or_default();
                conditions.push(("id", Op::Ge, low.to_string()));
                conditions.push(("id", Op::Le, high.to_string()));
                if let Some(end) = ended_since {
                    conditions.push(("end_at", Op::Ge, crate::time::format_time(*end)));
                }
            }
        }
        for (field, op, value) in conditions {
            spec.add_condition(field, op, value)
                .map_err(|e| script_error(format!("follow: {}", e.0)))?;
        }
        Ok(self.query.with_spec(spec))
    }

    /// The rows of the next poll's listing. Re-reading the window, the slim listing keeps
    /// few pages ahead: all of them would be its whole window, held at once.
    fn poll_rows(&self) -> RhaiResultOf<super::query::Rows> {
        let ahead = match self.pass {
            Pass::Slim { .. } => SLIM_PAGES_AHEAD,
            Pass::Whole | Pass::Fetch { .. } => crate::api::MAX_PAGES_AHEAD,
        };
        Ok(self.poll_query()?.rows_ahead(ahead))
    }

    /// The start of a follower with no position: the newest record now (one request).
    fn learn_newest(&mut self) -> RhaiResultOf<()> {
        let mut spec = self.query.spec().clone();
        spec.conditions.clear();
        spec.limit = Some(1);
        spec.page_size = 1;
        if self.state.is_leads() {
            spec.order = Some(("id".into(), true));
            spec.fields = Some(vec!["id".into()]);
        } else {
            spec.order = Some(("start_at".into(), true));
            spec.fields = Some(vec!["id".into(), "start_at".into()]);
        }
        let newest = self.query.with_spec(spec).into_iter().next().transpose()?;
        if let Some((id, start, _)) = newest.as_ref().and_then(read_row) {
            if self.state.is_leads() {
                self.state.last_id = Some(id);
            } else if let Some(start) = start {
                self.state.from = Some(start - self.state.overlap);
                self.state.priming = true;
            }
        }
        Ok(())
    }

    /// The position at a poll's end (or after learning where to start): rewritten whole.
    fn commit(&mut self) -> RhaiResultOf<()> {
        match &mut self.cursor {
            Some(cursor) => cursor.rewrite(self.state.saved()),
            None => Ok(()),
        }
    }

    fn next_record(&mut self) -> RhaiResultOf<Dynamic> {
        if !self.started {
            self.started = true;
            self.host().set_following();
            if self.state.from.is_none()
                && self.state.last_id.is_none()
                && self.options.since.is_none()
            {
                self.learn_newest()?;
            }
        }
        // Asked for the next record: the loop body finished with the one before.
        if let Some((id, start)) = self.handing.take() {
            if self.state.is_leads() {
                self.state.last_id = Some(self.state.last_id.map_or(id, |l| l.max(id)));
            } else {
                self.state.handed.insert(id, start);
            }
            if let Some(cursor) = &mut self.cursor {
                let state = &mut self.state;
                cursor.commit_record(id, || {
                    // Compacting: what the rewritten file keeps is all the memory keeps.
                    let saved = state.saved();
                    if let Some(from) = state.next_from() {
                        state.handed.retain(|_, start| *start >= from);
                    }
                    saved
                })?;
            }
        }
        loop {
            if self.host().stopping() {
                return Err(stopped_for_reload());
            }
            if self.rows.is_none() {
                if let Some(last) = self.last_poll {
                    let due = self.options.poll.saturating_sub(last.elapsed());
                    if !due.is_zero() {
                        self.pause(due)?;
                    }
                }
                self.last_poll = Some(Instant::now());
                self.state.oldest_unfinished = None;
                self.pass = if self.state.is_leads() || !self.slim {
                    Pass::Whole
                } else {
                    Pass::Slim {
                        wanted: Wanted::default(),
                    }
                };
                self.rows = Some(self.poll_rows()?);
            }
            let next = self.rows.as_mut().and_then(Iterator::next);
            match next {
                None => {
                    self.rows = None;
                    self.back_from_outage();
                    if let Pass::Slim { wanted } = &mut self.pass {
                        if !wanted.rows.is_empty() {
                            // The rows to hand, read whole: one more listing over their ids.
                            let wanted = std::mem::take(wanted);
                            self.pass = Pass::Fetch {
                                ended_since: wanted.ended_since(),
                                wanted: wanted.rows.into_iter().collect(),
                            };
                            self.rows = Some(self.poll_rows()?);
                            continue;
                        }
                    }
                    self.state.end_poll();
                    self.commit()?;
                    crate::status::success();
                }
                Some(Err(error)) => {
                    self.rows = None;
                    if matches!(self.pass, Pass::Slim { .. }) && status_of(&error) == Some(400) {
                        // A tenant whose rows lack one of the slim fields: whole rows it is.
                        crate::terminal::log::warn(&format!(
                            "follow: the dialer refused a listing of {} ({}); reading whole rows",
                            SLIM_FIELDS.join(", "),
                            crate::terminal::sanitize::for_terminal(&error.to_string())
                        ));
                        self.slim = false;
                        self.last_poll = None;
                        continue;
                    }
                    let Some(what) = is_outage(&error) else {
                        return Err(error);
                    };
                    let wait = match self.outage {
                        None => {
                            // It began with the poll whose requests went unanswered.
                            crate::status::outage_began(
                                self.last_poll.unwrap_or_else(Instant::now),
                            );
                            crate::terminal::log::warn(&format!(
                                "follow: the dialer is not answering ({}); retrying, at most {} apart, until it is back",
                                crate::terminal::sanitize::for_terminal(&what),
                                duration_text(self.options.max_backoff)
                            ));
                            Duration::from_secs(1)
                        }
                        Some((_, wait)) => (wait * 2).min(self.options.max_backoff),
                    };
                    let began = self.outage.map_or_else(
                        || self.last_poll.unwrap_or_else(Instant::now),
                        |(began, _)| began,
                    );
                    self.outage = Some((began, wait));
                    crate::status::outage_goes_on();
                    self.pause(wait)?;
                    self.last_poll = None;
                }
                Some(Ok(row)) => {
                    self.back_from_outage();
                    if let Some(record) = self.take(row)? {
                        return Ok(record);
                    }
                }
            }
        }
    }

    fn back_from_outage(&mut self) {
        if let Some((began, _)) = self.outage.take() {
            crate::status::outage_ended();
            crate::terminal::log::info(&format!(
                "follow: dialer back after {}",
                duration_text(began.elapsed())
            ));
        }
    }

    /// The row, if it is to be handed now.
    fn take(&mut self, row: Dynamic) -> RhaiResultOf<Option<Dynamic>> {
        let Some((id, start, finished, end)) = read_times(&row) else {
            return Err(script_error(format!(
                "follow: a {} row without a numeric id; the follower needs ids",
                self.state.resource.envelope()
            )));
        };
        if let Pass::Fetch { wanted, .. } = &mut self.pass {
            let Some(start) = wanted.remove(&id) else {
                return Ok(None);
            };
            self.handing = Some((id, start));
            crate::status::record(self.state.resource.envelope(), end);
            return Ok(Some(row));
        }
        let state = &mut self.state;
        if state.is_leads() {
            if state.last_id.is_some_and(|last| id <= last) {
                return Ok(None);
            }
            self.handing = Some((id, 0));
            crate::status::record(state.resource.envelope(), None);
            return Ok(Some(row));
        }
        let start = start.or(state.from).unwrap_or(0);
        state.newest = Some(state.newest.map_or(start, |n| n.max(start)));
        if !finished {
            state.oldest_unfinished = Some(state.oldest_unfinished.map_or(start, |o| o.min(start)));
            return Ok(None);
        }
        if let Some(known) = state.handed.get_mut(&id) {
            // A cursor keeps ids, not their starts: learnt again as the window is re-read,
            // so that the id is forgotten only once the window has passed it.
            *known = start;
            return Ok(None);
        }
        if state.priming {
            state.handed.insert(id, start);
            return Ok(None);
        }
        if let Pass::Slim { wanted } = &mut self.pass {
            wanted.push(id, start, end);
            return Ok(None);
        }
        self.handing = Some((id, start));
        crate::status::record(state.resource.envelope(), end);
        Ok(Some(row))
    }
}

/// Makes a follower of a query (checked before anything is sent).
fn follower(query: Query, options: Map) -> RhaiResultOf<Follow> {
    let options = Options::read(&options, query.dialer().host.locale().zone)?;
    // A follower runs for hours: a steady footprint matters more than a scan's speed.
    crate::allocator::return_freed_memory_at_once();
    let spec = query.spec();
    let resource = spec.resource;
    if !matches!(resource, Resource::Cdrs | Resource::Calls | Resource::Leads) {
        return Err(script_error(format!(
            "follow: {} cannot be followed; follow td.cdrs(), td.calls() or td.leads()",
            resource.envelope()
        )));
    }
    if spec.order.is_some() || spec.limit.is_some() || spec.offset > 0 {
        return Err(script_error(
            "follow: a follower reads in id order from its position; drop order(), limit() and offset()",
        ));
    }
    let mut spec = spec.clone();
    if let Some(fields) = &mut spec.fields {
        let needed: &[&str] = if resource == Resource::Leads {
            &["id"]
        } else if fields.iter().any(|f| f == "q850" || f == "end_at") {
            &["id", "start_at"]
        } else {
            &["id", "start_at", "q850", "end_at"]
        };
        for field in needed {
            if !fields.iter().any(|f| f == field) {
                fields.push((*field).to_string());
            }
        }
    }
    let mut state = State {
        resource,
        overlap: options.overlap,
        max_call: options.max_call,
        from: options.since,
        handed: HashMap::new(),
        last_id: None,
        newest: None,
        oldest_unfinished: None,
        priming: false,
    };
    let cursor = match &options.cursor {
        None => None,
        Some(path) => {
            let powers = query.dialer().host.powers().clone();
            let (cursor, saved) = Cursor::open(powers, path.clone())?;
            if let Some(saved) = saved {
                if saved.resource != resource.envelope() {
                    return Err(script_error(format!(
                        "follow: cursor {} follows {}, not {}",
                        path.display(),
                        saved.resource,
                        resource.envelope()
                    )));
                }
                state.from = saved.from.as_deref().and_then(crate::time::parse_time);
                state.last_id = saved.last_id;
                state.handed = saved
                    .handed
                    .into_iter()
                    .map(|id| (id, state.from.unwrap_or(0)))
                    .collect();
                if state.last_id.is_none() && state.from.is_none() && resource == Resource::Leads {
                    state.last_id = Some(0);
                }
            }
            Some(cursor)
        }
    };
    Ok(Follow {
        inner: Arc::new(Mutex::new(Inner {
            query: query.with_spec(spec),
            pass: Pass::Whole,
            slim: true,
            options,
            state,
            cursor,
            rows: None,
            handing: None,
            last_poll: None,
            outage: None,
            started: false,
        })),
    })
}

#[export_module]
pub mod follow_api {
    use super::*;

    /// Follows the listing as the dialer adds to it: an endless iterator over the backlog (from
    /// the cursor, or `since`), then each new record as it appears, polling every `poll` when
    /// caught up. CDRs and calls are handed once, when finished (`q850 > 0`, else `end_at`
    /// set), leads once, when created. Options: `cursor` (a file keeping the position across
    /// runs, committed after the loop body finishes with a record), `since` (a time, `"today"`,
    /// `"-1h"`; without it or a cursor, records finished from now on), `poll` (`"5s"`),
    /// `overlap` (`"15m"`: how far back each poll re-reads, as calls finish after they
    /// start), `max_call` (`"4h"`: a call unfinished that long is given up) and `max_backoff`
    /// (`"60s"`: the longest wait between tries while the dialer is down). `where` and
    /// `fields` apply; `order`, `limit` and `offset` do not.
    ///
    /// ```rhai
    /// for c in td.cdrs().where("campaign_id", 12).follow(#{ cursor: "state/cdrs.cursor" }) {
    ///     if c.status == "NO_ANSWER" { print(`${c.id} ${c.dst}`); }
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn follow(query: Query, options: rhai::Map) -> RhaiResultOf<Follow> {
        follower(query, options)
    }

    /// Follows the listing with the default options (see `follow(query, options)`).
    ///
    /// ```rhai
    /// for lead in td.leads().follow() { print(`new lead ${lead.id}`); }
    /// ```
    #[rhai_fn(name = "follow", return_raw)]
    pub fn follow_defaults(query: Query) -> RhaiResultOf<Follow> {
        follower(query, rhai::Map::new())
    }

    /// How a follower is shown.
    ///
    /// ```rhai
    /// print(td.cdrs().follow());
    /// ```
    #[rhai_fn(global, name = "to_string", name = "to_debug", pure)]
    pub fn describe(follow: &mut Follow) -> String {
        let inner = follow.inner.lock().unwrap_or_else(|e| e.into_inner());
        format!("Follow({})", inner.query.spec().resource.envelope())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        State {
            resource: Resource::Cdrs,
            overlap: 900,
            max_call: 4 * 3600,
            from: Some(1_000),
            handed: HashMap::new(),
            last_id: None,
            newest: None,
            oldest_unfinished: None,
            priming: false,
        }
    }

    #[test]
    fn the_window_follows_the_newest_start_less_the_overlap() {
        let mut s = state();
        s.newest = Some(10_000);
        assert_eq!(s.next_from(), Some(9_100));
        s.oldest_unfinished = Some(8_000);
        assert_eq!(
            s.next_from(),
            Some(8_000),
            "an unfinished call keeps its start inside"
        );
        s.oldest_unfinished = Some(10_000 - 5 * 3600);
        assert_eq!(
            s.next_from(),
            Some(9_100),
            "a call unfinished past max_call is given up"
        );
        s.newest = Some(1_200);
        s.oldest_unfinished = None;
        assert_eq!(
            s.next_from(),
            Some(1_000),
            "never before the window already read"
        );
    }

    #[test]
    fn a_position_keeps_only_the_ids_inside_the_next_window() {
        let mut s = state();
        s.newest = Some(10_000);
        s.handed.insert(1, 5_000);
        s.handed.insert(2, 9_500);
        s.handed.insert(3, 9_100);
        let position = s.saved();
        assert_eq!(position.from.as_deref(), Some("1970-01-01 02:31:40"));
        assert_eq!(position.handed, vec![2, 3]);
        s.end_poll();
        assert_eq!(s.handed.len(), 2);
        assert_eq!(s.from, Some(9_100));
    }

    #[test]
    fn rows_wanted_are_read_again_from_their_earliest_end_while_every_end_is_known() {
        let mut wanted = Wanted::default();
        assert_eq!(wanted.ended_since(), None);
        wanted.push(7, 1_000, Some(1_500));
        wanted.push(3, 900, Some(1_200));
        wanted.push(9, 1_100, Some(1_300));
        assert_eq!(wanted.ended_since(), Some(1_200));
        assert_eq!(wanted.rows, vec![(7, 1_000), (3, 900), (9, 1_100)]);
        wanted.push(5, 950, None);
        assert_eq!(
            wanted.ended_since(),
            None,
            "a row finished by q850 alone, without an end, bounds nothing"
        );
    }

    #[test]
    fn a_cursor_file_is_its_position_and_the_ids_appended_after_it() {
        let saved = read_cursor(
            "{\"resource\":\"cdrs\",\"from\":\"2025-01-01 00:00:00\",\"handed\":[5]}\n7\n9\n1",
        )
        .unwrap();
        assert_eq!(
            saved.handed,
            vec![5, 7, 9],
            "a line cut short is not a commit"
        );
        let leads = read_cursor("{\"resource\":\"leads\",\"last_id\":3}\n4\n6\n").unwrap();
        assert_eq!(leads.last_id, Some(6));
        assert!(read_cursor("{\"resource\":\"cdrs\"}\nx\n")
            .unwrap_err()
            .contains("'x' is not an id"));
    }
}
