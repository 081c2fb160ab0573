//! `POST /api/leads`: leads are sent in chunks, several at a time, and come back in input
//! order. A chunk that fails is reported by input position: applied, not applied, or of
//! unknown outcome (the request may have arrived although no answer came back).

use std::sync::Arc;

use reqwest::Method;
use serde_json::Value;
use tokio::task::JoinSet;

use super::{models, ApiError, Body, Client, ErrorKind, Retry};

pub const LEADS_PATH: &str = "/api/leads";
pub const DEFAULT_CHUNK: usize = 500;

/// A bulk insert that failed part-way, with each input position accounted for.
#[derive(Debug, Clone)]
pub struct BulkError {
    pub error: ApiError,
    pub applied: Vec<usize>,
    pub not_applied: Vec<usize>,
    pub unknown: Vec<usize>,
}

impl std::fmt::Display for BulkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} leads applied, {} not applied",
            self.error,
            self.applied.len(),
            self.not_applied.len()
        )?;
        if !self.unknown.is_empty() {
            write!(f, ", {} of unknown outcome", self.unknown.len())?;
        }
        write!(f, ")")
    }
}

impl Client {
    /// Sends one chunk; the answer must hold one inserted lead per lead sent.
    async fn add_lead_chunk(&self, chunk: &[Value]) -> Result<Vec<Value>, ApiError> {
        let body = Value::Array(chunk.to_vec());
        let answer = self
            .json(Method::POST, LEADS_PATH, Body::Json(&body), Retry::Never)
            .await?;
        let bad =
            |message: String| ApiError::new(ErrorKind::BadResponse, "POST", LEADS_PATH, message);
        let inserted = models::list_from(answer, "leads").map_err(bad)?;
        if inserted.len() != chunk.len() {
            return Err(bad(format!(
                "sent {} leads, the answer lists {}",
                chunk.len(),
                inserted.len()
            )));
        }
        Ok(inserted)
    }

    /// Inserts leads in chunks of `chunk_size`, up to `concurrency()` chunks at a time. After
    /// a failure no new chunk is started; chunks already under way finish.
    pub async fn add_leads(
        self: &Arc<Self>,
        leads: Vec<Value>,
        chunk_size: usize,
    ) -> Result<Vec<Value>, BulkError> {
        if let Err(error) = self.check_writable("POST", LEADS_PATH) {
            return Err(BulkError {
                error,
                applied: Vec::new(),
                not_applied: (0..leads.len()).collect(),
                unknown: Vec::new(),
            });
        }
        let chunk_size = chunk_size.max(1);
        let chunks: Vec<Vec<Value>> = leads.chunks(chunk_size).map(<[Value]>::to_vec).collect();
        let mut outcomes: Vec<Option<Result<Vec<Value>, ApiError>>> = vec![None; chunks.len()];
        let mut running = JoinSet::new();
        let mut next = 0;
        let mut failed = false;
        loop {
            while !failed && next < chunks.len() && running.len() < self.concurrency() {
                let client = Arc::clone(self);
                let chunk = chunks[next].clone();
                let index = next;
                running.spawn(async move { (index, client.add_lead_chunk(&chunk).await) });
                next += 1;
            }
            let Some(joined) = running.join_next().await else {
                break;
            };
            let (index, outcome) = match joined {
                Ok(done) => done,
                Err(e) => {
                    // A chunk task panicked or was cancelled; its outcome is unknown.
                    failed = true;
                    let error = ApiError::new(
                        ErrorKind::Transport,
                        "POST",
                        LEADS_PATH,
                        format!("a chunk task failed: {e}"),
                    );
                    if let Some(slot) = outcomes.iter_mut().find(|o| o.is_none()) {
                        *slot = Some(Err(error));
                    }
                    continue;
                }
            };
            failed |= outcome.is_err();
            outcomes[index] = Some(outcome);
        }
        if outcomes.iter().all(|o| matches!(o, Some(Ok(_)))) {
            return Ok(outcomes
                .into_iter()
                .flatten()
                .flat_map(Result::unwrap_or_default)
                .collect());
        }
        let mut report = BulkError {
            error: ApiError::new(ErrorKind::Transport, "POST", LEADS_PATH, "failed"),
            applied: Vec::new(),
            not_applied: Vec::new(),
            unknown: Vec::new(),
        };
        let mut first_error = None;
        for (index, outcome) in outcomes.into_iter().enumerate() {
            let positions = index * chunk_size..(index * chunk_size + chunks[index].len());
            match outcome {
                Some(Ok(_)) => report.applied.extend(positions),
                None => report.not_applied.extend(positions),
                Some(Err(error)) => {
                    if error.outcome_unknown() {
                        report.unknown.extend(positions);
                    } else {
                        report.not_applied.extend(positions);
                    }
                    first_error.get_or_insert(error);
                }
            }
        }
        if let Some(error) = first_error {
            report.error = error;
        }
        Err(report)
    }
}
