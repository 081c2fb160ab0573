//! `POST /api/leads`, exactly once.
//!
//! Leads are sent in chunks, several at a time, and come back in input order. A chunk whose
//! outcome is unknown (the connection broke after sending, a time-out, a 5xx) is never sent
//! again blindly: the client finds out which of its leads arrived, takes those as inserted,
//! and sends only the missing ones again. Leads without an identifier in such a chunk cannot
//! be checked; they are not re-sent and are reported as `unknown`. A chunk the server refused
//! (4xx) is `not_applied`; a 429 is waited out and sent again, within the retry budget.
//!
//! Finding what arrived costs pages, not leads: before the first chunk is sent, the highest
//! lead id is noted (the watermark); after an unknown outcome the leads created since are
//! listed (`/api/leads/id/{watermark};>/limit/1000;N/`) into an index by
//! `original_identifier` that every chunk of the import shares, each listing reading only
//! the leads created since the last one. This relies on lead ids that only grow, and on a
//! request whose answer was lost having finished on the dialer by the time the listing runs.
//! Where the watermark cannot be read (the listing is refused, or an import resumed from a
//! journal whose chunks may predate it), each lead is looked up by its identifier instead.
//!
//! With a journal (see `journal`), every chunk's outcome is recorded as it happens, so an
//! import that was killed resumes without duplicates.

use std::path::PathBuf;
use std::sync::Arc;

use reqwest::Method;
use serde_json::Value;
use tokio::task::JoinSet;

use crate::terminal::sink::errln;

pub(crate) mod journal;

use super::query::{Op, QuerySpec, Resource, MAX_PAGE};
use super::{models, ApiError, Body, Client, ErrorKind, Retry};
use journal::{ChunkRecord, Journal, JournalError};

pub(crate) const LEADS_PATH: &str = "/api/leads";
pub(crate) const DEFAULT_CHUNK: usize = 500;

/// A bulk insert that failed part-way, with each input position accounted for.
#[derive(Debug, Clone)]
pub(crate) struct BulkError {
    pub(crate) error: ApiError,
    pub(crate) applied: Vec<usize>,
    pub(crate) not_applied: Vec<usize>,
    pub(crate) unknown: Vec<usize>,
    /// The journal kept for resuming, if there is one.
    pub(crate) journal: Option<PathBuf>,
    /// What the import did before it stopped.
    pub(crate) summary: ImportSummary,
}

impl BulkError {
    /// What was and was not applied, and how to resume: `(3 leads applied, 2 not applied)`.
    pub(crate) fn accounting(&self) -> String {
        let mut text = format!(
            "({} leads applied, {} not applied",
            self.applied.len(),
            self.not_applied.len()
        );
        if !self.unknown.is_empty() {
            text += &format!(", {} of unknown outcome", self.unknown.len());
        }
        text.push(')');
        if let Some(journal) = &self.journal {
            text += &format!(
                "; run again with the same journal ({}) to resume",
                journal.display()
            );
        }
        text
    }
}

impl std::fmt::Display for BulkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.error, self.accounting())
    }
}

/// Told the number of leads of each chunk as it completes.
pub(crate) type Progress = Arc<dyn Fn(usize) + Send + Sync>;

/// How `add_leads` works.
#[derive(Clone, Default)]
pub(crate) struct AddLeadsOptions {
    /// Leads per request (default 500).
    pub(crate) chunk: Option<usize>,
    /// A JSONL journal of chunk outcomes, for resuming an interrupted import.
    pub(crate) journal: Option<PathBuf>,
    /// What may open the journal: the powers of the script that named it (none by default).
    pub(crate) powers: crate::script::permissions::Powers,
    pub(crate) progress: Option<Progress>,
}

/// An inserted lead as the caller keeps it: a JSON value, or the caller's own value decoded
/// from the answer inside the chunk task (the script host reads answers straight into Rhai
/// maps this way, so a large import is neither held twice nor converted on one thread).
pub(crate) trait Inserted: Clone + Send + Sync + 'static {
    type Parsed;
    /// Parses a whole answer body.
    fn parse(bytes: &[u8]) -> Result<Self::Parsed, serde_json::Error>;
    /// The records of a parsed list answer (`envelope` names its list).
    fn records(parsed: Self::Parsed, envelope: &str) -> Result<Vec<Self>, models::ShapeError>;
    /// A lead found by a look-up or read back from a journal.
    fn from_json(lead: Value) -> Self;
    /// The lead as the journal records it.
    fn to_json(&self) -> Value;
}

impl Inserted for Value {
    type Parsed = Value;

    fn parse(bytes: &[u8]) -> Result<Value, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    fn records(parsed: Value, envelope: &str) -> Result<Vec<Value>, models::ShapeError> {
        models::list_from(parsed, envelope)
    }

    fn from_json(lead: Value) -> Value {
        lead
    }

    fn to_json(&self) -> Value {
        self.clone()
    }
}

/// What became of one chunk.
#[derive(Debug, Clone)]
pub(crate) struct ChunkOutcome<R = Value> {
    /// Input position and the inserted lead.
    pub(crate) inserted: Vec<(usize, R)>,
    pub(crate) not_applied: Vec<usize>,
    pub(crate) unknown: Vec<usize>,
    pub(crate) error: Option<ApiError>,
    /// Leads found on the dialer after an unknown outcome (counted in `inserted` too).
    pub(crate) reconciled: usize,
    /// Leads sent again because they had not arrived.
    pub(crate) resent: usize,
}

impl<R> Default for ChunkOutcome<R> {
    fn default() -> Self {
        ChunkOutcome {
            inserted: Vec::new(),
            not_applied: Vec::new(),
            unknown: Vec::new(),
            error: None,
            reconciled: 0,
            resent: 0,
        }
    }
}

/// What an import did, for its `-v` line and the script's summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ImportSummary {
    pub(crate) inserted: usize,
    /// Found on the dialer after an unknown outcome instead of being sent again.
    pub(crate) reconciled: usize,
    /// Sent again after a reconciliation showed they had not arrived.
    pub(crate) resent: usize,
    /// Requests the import sent (posts, listings, look-ups, retries).
    pub(crate) requests: u64,
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} inserted ({} reconciled after an unknown outcome, {} re-sent), {} requests",
            self.inserted, self.reconciled, self.resent, self.requests
        )
    }
}

/// The leads created during an import, by `original_identifier`, listed from a watermark.
pub(crate) struct Arrivals {
    /// The highest lead id before the import; `None` when it could not be read.
    watermark: Option<i64>,
    /// The watermark predates every run of the import (it came from the journal, or this is
    /// the first run), so chunks an earlier run may have sent are above it too.
    covers_earlier_runs: bool,
    index: tokio::sync::Mutex<ArrivalIndex>,
}

#[derive(Default)]
struct ArrivalIndex {
    /// Leads with ids up to this one have been read.
    read_up_to: i64,
    by_identifier: std::collections::HashMap<String, Value>,
}

impl Arrivals {
    /// Reconciles lead by lead.
    pub(crate) fn untrusted() -> Arrivals {
        Arrivals {
            watermark: None,
            covers_earlier_runs: false,
            index: Default::default(),
        }
    }

    fn from(watermark: i64, covers_earlier_runs: bool) -> Arrivals {
        Arrivals {
            watermark: Some(watermark),
            covers_earlier_runs,
            index: tokio::sync::Mutex::new(ArrivalIndex {
                read_up_to: watermark,
                ..ArrivalIndex::default()
            }),
        }
    }
}

impl ChunkOutcome<Value> {
    fn into_inserted<R: Inserted>(self) -> ChunkOutcome<R> {
        ChunkOutcome {
            inserted: self
                .inserted
                .into_iter()
                .map(|(p, lead)| (p, R::from_json(lead)))
                .collect(),
            not_applied: self.not_applied,
            unknown: self.unknown,
            error: self.error,
            reconciled: self.reconciled,
            resent: self.resent,
        }
    }
}

fn identifier_of(lead: &Value) -> Option<&str> {
    lead.get("original_identifier")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

impl Client {
    /// Sends one request's leads; the answer must hold one inserted lead per lead sent.
    async fn post_leads<R: Inserted>(
        &self,
        pending: &[(usize, Value)],
    ) -> Result<Vec<R>, ApiError> {
        let body = Value::Array(pending.iter().map(|(_, lead)| lead.clone()).collect());
        let answer = self
            .mutate_with(
                Method::POST,
                LEADS_PATH,
                Body::Json(&body),
                Retry::Never,
                R::parse,
            )
            .await?;
        let bad = |message: models::ShapeError| {
            ApiError::new(ErrorKind::BadResponse, "POST", LEADS_PATH, message)
        };
        let inserted = R::records(answer, "leads").map_err(bad)?;
        if inserted.len() != pending.len() {
            return Err(bad(models::ShapeError(format!(
                "sent {} leads, the answer lists {}",
                pending.len(),
                inserted.len()
            ))));
        }
        Ok(inserted)
    }

    /// The lead with this `original_identifier`, if the dialer has one (the newest).
    pub(crate) async fn lead_by_identifier(
        &self,
        identifier: &str,
    ) -> Result<Option<Value>, ApiError> {
        let mut spec = QuerySpec::new(Resource::Leads);
        spec.add_condition("original_identifier", Op::Eq, identifier.to_string())
            .map_err(|m| ApiError::new(ErrorKind::Refused, "GET", LEADS_PATH, m))?;
        let found = self.page(&spec, 0, MAX_PAGE).await?;
        Ok(found.into_iter().last())
    }

    /// The highest lead id now (0 for none): one request, ordered by id descending.
    pub(crate) async fn lead_watermark(&self) -> Result<i64, ApiError> {
        let mut spec = QuerySpec::new(Resource::Leads);
        spec.order = Some(("id".to_string(), true));
        let newest = self.page(&spec, 0, 1).await?;
        Ok(newest
            .first()
            .and_then(|lead| models::read_int(&lead["id"]))
            .unwrap_or(0))
    }

    /// The watermark of an import: the journal's from its first run, else read now (and
    /// recorded in the journal); when it cannot be read, reconciles lead by lead.
    pub(crate) async fn arrivals(
        &self,
        journal: Option<&Journal>,
    ) -> Result<Arrivals, JournalError> {
        if let Some(watermark) = journal.and_then(Journal::watermark) {
            return Ok(Arrivals::from(watermark, true));
        }
        let resumed = journal.is_some_and(|j| !j.recorded().is_empty());
        match self.lead_watermark().await {
            Ok(watermark) => {
                if let Some(journal) = journal {
                    journal.record_watermark(watermark)?;
                }
                Ok(Arrivals::from(watermark, !resumed))
            }
            Err(error) => {
                if self.options.verbose {
                    errln!(
                        "tdc: no lead watermark ({error}); unknown outcomes are checked lead by lead"
                    );
                }
                Ok(Arrivals::untrusted())
            }
        }
    }

    /// The leads of `lookups` that are on the dialer, in input order, read from the leads
    /// created since the watermark (one listing shared by the chunks of the import).
    async fn arrived(
        &self,
        arrivals: &Arrivals,
        lookups: &[(usize, Value, String)],
    ) -> Vec<Result<Option<Value>, ApiError>> {
        let Some(watermark) = arrivals.watermark else {
            return self.look_up_identifiers(lookups).await;
        };
        let mut index = arrivals.index.lock().await;
        let mut spec = QuerySpec::new(Resource::Leads);
        let listed = spec
            .add_condition("id", Op::Gt, index.read_up_to.max(watermark).to_string())
            .map_err(|m| ApiError::new(ErrorKind::Refused, "GET", LEADS_PATH, m));
        let mut read = 0u64;
        let mut newest = index.read_up_to;
        let result = async {
            listed?;
            loop {
                let page = self.page(&spec, read, MAX_PAGE).await?;
                read += page.len() as u64;
                for lead in &page {
                    newest = newest.max(models::read_int(&lead["id"]).unwrap_or(0));
                    if let Some(identifier) = identifier_of(lead) {
                        index
                            .by_identifier
                            .insert(identifier.to_string(), lead.clone());
                    }
                }
                if (page.len() as u64) < MAX_PAGE {
                    return Ok::<_, ApiError>(());
                }
            }
        }
        .await;
        index.read_up_to = newest;
        match result {
            Ok(()) => lookups
                .iter()
                .map(|(_, _, identifier)| Ok(index.by_identifier.get(identifier).cloned()))
                .collect(),
            Err(error) => lookups.iter().map(|_| Err(error.clone())).collect(),
        }
    }

    /// Looks identifiers up, a few at a time; results in input order.
    async fn look_up_identifiers(
        &self,
        lookups: &[(usize, Value, String)],
    ) -> Vec<Result<Option<Value>, ApiError>> {
        let mut results = Vec::with_capacity(lookups.len());
        for batch in lookups.chunks(self.concurrency()) {
            let answers = futures_util::future::join_all(
                batch
                    .iter()
                    .map(|(_, _, identifier)| self.lead_by_identifier(identifier)),
            )
            .await;
            results.extend(answers);
        }
        results
    }

    /// Inserts one chunk exactly once. `maybe_sent` says the chunk may already have reached
    /// the server (a resumed journal): it is reconciled before anything is sent.
    pub(crate) async fn insert_chunk<R: Inserted>(
        &self,
        chunk: Vec<(usize, Value)>,
        maybe_sent: bool,
        arrivals: &Arrivals,
    ) -> ChunkOutcome<R> {
        let mut outcome = ChunkOutcome::default();
        let mut pending = chunk;
        let started = std::time::Instant::now();
        let untrusted = Arrivals::untrusted();
        // A chunk of an earlier run may have arrived before this run's watermark.
        let arrivals = if maybe_sent && !arrivals.covers_earlier_runs {
            &untrusted
        } else {
            arrivals
        };
        let mut reconcile_first = maybe_sent;
        let mut attempt = 0;
        while !pending.is_empty() {
            attempt += 1;
            let error = if reconcile_first {
                reconcile_first = false;
                None
            } else {
                match self.post_leads(&pending).await {
                    Ok(inserted) => {
                        outcome
                            .inserted
                            .extend(pending.drain(..).map(|(p, _)| p).zip(inserted));
                        break;
                    }
                    Err(error) => Some(error),
                }
            };
            if let Some(error) = &error {
                if error.not_applied() {
                    let retry = error.status == Some(429) || error.kind == ErrorKind::Connect;
                    if let Some(wait) = self.retry_wait(started, attempt, error).filter(|_| retry) {
                        self.pause_before_retry(started, error, wait).await;
                        continue;
                    }
                    outcome
                        .not_applied
                        .extend(pending.drain(..).map(|(p, _)| p));
                    outcome.error = Some(error.clone());
                    break;
                }
            }
            // The outcome is unknown: find out which leads arrived.
            let mut missing = Vec::new();
            let mut lookups = Vec::new();
            for (position, lead) in pending.drain(..) {
                match identifier_of(&lead).map(str::to_string) {
                    Some(identifier) => lookups.push((position, lead, identifier)),
                    None => outcome.unknown.push(position),
                }
            }
            let found = self.arrived(arrivals, &lookups).await;
            for ((position, lead, _), result) in lookups.into_iter().zip(found) {
                match result {
                    Ok(Some(found)) => {
                        outcome.reconciled += 1;
                        outcome.inserted.push((position, R::from_json(found)));
                    }
                    Ok(None) => missing.push((position, lead)),
                    Err(lookup_error) => {
                        outcome.unknown.push(position);
                        outcome.error.get_or_insert(lookup_error);
                    }
                }
            }
            if let Some(error) = error {
                if !outcome.unknown.is_empty() {
                    outcome.error.get_or_insert(error.clone());
                }
                if !missing.is_empty() {
                    match self.retry_wait(started, attempt, &error) {
                        Some(wait) => {
                            outcome.resent += missing.len();
                            self.pause_before_retry(started, &error, wait).await;
                        }
                        None => {
                            outcome
                                .not_applied
                                .extend(missing.drain(..).map(|(p, _)| p));
                            outcome.error = Some(error);
                        }
                    }
                }
            }
            pending = missing;
        }
        outcome.inserted.sort_by_key(|(p, _)| *p);
        outcome
    }

    /// Inserts leads exactly once, in chunks, up to `concurrency()` chunks at a time, and
    /// returns them as inserted, in input order. After a failure no new chunk is started.
    pub(crate) async fn add_leads<R: Inserted>(
        self: &Arc<Self>,
        leads: Vec<Value>,
        options: AddLeadsOptions,
    ) -> Result<Vec<R>, BulkError> {
        let total = leads.len();
        let refuse = |error: ApiError| BulkError {
            error,
            applied: Vec::new(),
            not_applied: (0..total).collect(),
            unknown: Vec::new(),
            journal: None,
            summary: ImportSummary::default(),
        };
        self.check_writable("POST", LEADS_PATH).map_err(refuse)?;
        let refused = |message: String| {
            refuse(ApiError::new(
                ErrorKind::Refused,
                "POST",
                LEADS_PATH,
                message,
            ))
        };
        let mut seen = std::collections::HashMap::new();
        for (position, lead) in leads.iter().enumerate() {
            if let Some(identifier) = identifier_of(lead) {
                if let Some(first) = seen.insert(identifier, position) {
                    return Err(refused(format!(
                        "leads {first} and {position} share original_identifier '{identifier}'"
                    )));
                }
            }
        }
        let chunk_size = options.chunk.unwrap_or(DEFAULT_CHUNK).max(1);
        let journal = match &options.journal {
            Some(path) => Some(Arc::new(
                Journal::open(&options.powers, path, &leads, chunk_size)
                    .map_err(|e| refused(e.to_string()))?,
            )),
            None => None,
        };
        let chunk_count = total.div_ceil(chunk_size);
        let requests_before = self.requests_sent();
        let arrivals = Arc::new(
            self.arrivals(journal.as_deref())
                .await
                .map_err(|e| refused(format!("the journal cannot be written: {e}")))?,
        );
        let mut outcomes: Vec<Option<ChunkOutcome<R>>> = vec![None; chunk_count];
        let mut maybe_sent = vec![false; chunk_count];
        if let Some(journal) = &journal {
            for (index, record) in journal.recorded() {
                match record {
                    ChunkRecord::Done(outcome)
                        if outcome.not_applied.is_empty() && outcome.unknown.is_empty() =>
                    {
                        if let Some(progress) = &options.progress {
                            progress(outcome.inserted.len());
                        }
                        outcomes[index] = Some(outcome.into_inserted());
                    }
                    _ => maybe_sent[index] = true,
                }
            }
        }
        let mut running = JoinSet::new();
        let mut next = 0;
        let mut failed = false;
        loop {
            while !failed && next < chunk_count && running.len() < self.concurrency() {
                let index = next;
                next += 1;
                if outcomes[index].is_some() {
                    continue;
                }
                let start = index * chunk_size;
                let chunk: Vec<(usize, Value)> = (start..(start + chunk_size).min(total))
                    .map(|p| (p, leads[p].clone()))
                    .collect();
                let (client, journal, sent, arrivals) = (
                    Arc::clone(self),
                    journal.clone(),
                    maybe_sent[index],
                    Arc::clone(&arrivals),
                );
                running.spawn(async move {
                    if let Some(journal) = &journal {
                        journal.sending(index)?;
                    }
                    let outcome = client.insert_chunk(chunk, sent, &arrivals).await;
                    if let Some(journal) = &journal {
                        journal.done(index, &outcome)?;
                    }
                    Ok::<_, JournalError>((index, outcome))
                });
            }
            let Some(joined) = running.join_next().await else {
                break;
            };
            match joined {
                Ok(Ok((index, outcome))) => {
                    failed |= outcome.error.is_some();
                    if let Some(progress) = &options.progress {
                        progress(outcome.inserted.len());
                    }
                    outcomes[index] = Some(outcome);
                }
                Ok(Err(journal_error)) => {
                    running.abort_all();
                    return Err(BulkError {
                        journal: options.journal.clone(),
                        ..refused(format!("the journal cannot be written: {journal_error}"))
                    });
                }
                Err(join_error) => {
                    failed = true;
                    let error = ApiError::new(
                        ErrorKind::Transport,
                        "POST",
                        LEADS_PATH,
                        format!("a chunk task failed: {join_error}"),
                    );
                    if let Some(slot) = outcomes.iter_mut().find(|o| o.is_none()) {
                        *slot = Some(ChunkOutcome {
                            error: Some(error),
                            ..ChunkOutcome::default()
                        });
                    }
                }
            }
        }
        let mut inserted: Vec<Option<R>> = vec![None; total];
        let mut report = BulkError {
            error: ApiError::new(ErrorKind::Transport, "POST", LEADS_PATH, "failed"),
            applied: Vec::new(),
            not_applied: Vec::new(),
            unknown: Vec::new(),
            journal: options.journal.clone(),
            summary: ImportSummary::default(),
        };
        let mut first_error = None;
        let mut summary = ImportSummary::default();
        for (index, outcome) in outcomes.into_iter().enumerate() {
            let start = index * chunk_size;
            let positions = start..(start + chunk_size).min(total);
            match outcome {
                None => report.not_applied.extend(positions),
                Some(outcome) => {
                    summary.reconciled += outcome.reconciled;
                    summary.resent += outcome.resent;
                    for (position, lead) in outcome.inserted {
                        report.applied.push(position);
                        inserted[position] = Some(lead);
                    }
                    report.not_applied.extend(outcome.not_applied);
                    report.unknown.extend(outcome.unknown);
                    if let Some(error) = outcome.error {
                        first_error.get_or_insert(error);
                    }
                }
            }
        }
        summary.inserted = report.applied.len();
        summary.requests = self.requests_sent() - requests_before;
        if self.options.verbose {
            errln!("tdc: add_leads: {summary}");
        }
        report.summary = summary;
        if report.not_applied.is_empty() && report.unknown.is_empty() {
            if let Some(journal) = journal {
                journal.finish();
            }
            return Ok(inserted.into_iter().flatten().collect());
        }
        report.not_applied.sort_unstable();
        report.unknown.sort_unstable();
        if let Some(error) = first_error {
            report.error = error;
        }
        Err(report)
    }
}
