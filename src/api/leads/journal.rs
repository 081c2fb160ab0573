//! The JSONL journal of a bulk lead insert, so that an import killed part-way resumes without
//! duplicates. Lines:
//!
//! ```text
//! {"type":"start","leads":20000,"chunk":500,"fingerprint":"9f0c…"}
//! {"type":"watermark","id":49969}
//! {"type":"sending","chunk":3}
//! {"type":"done","chunk":3,"inserted":[[1500,{…lead…}],…],"not_applied":[],"unknown":[]}
//! ```
//!
//! A chunk with a `sending` line and no `done` line may have reached the server: on resume it
//! is reconciled by `original_identifier` before anything is sent again, against the leads
//! created since the first run's watermark (the highest lead id before any chunk was sent). Each line is flushed
//! to disk before the request it announces is sent. The journal is removed when every lead is
//! in; it never holds credentials.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{json, Value};

use super::{ChunkOutcome, Inserted};
use crate::files::{self, Access};
use crate::script::permissions::Powers;

/// How errors name a journal's file.
const WHAT: &str = "add_leads: journal";

/// FNV-1a over text: a stable 64-bit fingerprint (the same on every run and machine).
pub(crate) fn fingerprint(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// What the journal says of a chunk.
#[derive(Debug, Clone)]
pub(crate) enum ChunkRecord {
    Sending,
    Done(ChunkOutcome),
}

pub(crate) struct Journal {
    path: PathBuf,
    /// The powers of the script that named it (which checked and registered it).
    powers: Powers,
    file: Mutex<File>,
    recorded: BTreeMap<usize, ChunkRecord>,
    /// The highest lead id before the first run sent anything, if it was read.
    watermark: Option<i64>,
}

fn positions(value: &Value) -> Vec<usize> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_u64().map(|n| n as usize))
                .collect()
        })
        .unwrap_or_default()
}

fn read_outcome(line: &Value) -> ChunkOutcome {
    let inserted = line["inserted"]
        .as_array()
        .map(|pairs| {
            pairs
                .iter()
                .filter_map(|pair| Some((pair.get(0)?.as_u64()? as usize, pair.get(1)?.clone())))
                .collect()
        })
        .unwrap_or_default();
    ChunkOutcome {
        inserted,
        not_applied: positions(&line["not_applied"]),
        unknown: positions(&line["unknown"]),
        ..ChunkOutcome::default()
    }
}

/// Why a journal cannot be opened or written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum JournalError {
    #[error("journal {} belongs to another import (other leads or chunk size); remove it or choose another path", path.display())]
    OtherImport { path: PathBuf },
    #[error("cannot {action} journal {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot record the leads: {0}")]
    Encode(#[from] serde_json::Error),
}

fn io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> JournalError + 'a {
    move |source| JournalError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

impl Journal {
    /// Opens the journal of inserting `leads` in chunks of `chunk`: resumes an existing one
    /// for the same leads, or starts a new one.
    pub(crate) fn open(
        powers: &Powers,
        path: &Path,
        leads: &[Value],
        chunk: usize,
    ) -> Result<Journal, JournalError> {
        let access = Access::journal(powers, WHAT);
        let print = serde_json::to_string(leads)?;
        let start = json!({
            "type": "start",
            "leads": leads.len(),
            "chunk": chunk,
            "fingerprint": format!("{:016x}", fingerprint(&print)),
        });
        let mut recorded = BTreeMap::new();
        let mut watermark = None;
        let text = match files::read_to_string(access, path) {
            Ok(text) => Some(text),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(io("read", path)(e.into())),
        };
        if let Some(text) = text {
            let mut lines = text.lines();
            let first: Value = lines
                .next()
                .and_then(|l| serde_json::from_str(l).ok())
                .unwrap_or(Value::Null);
            if first != start {
                return Err(JournalError::OtherImport {
                    path: path.to_path_buf(),
                });
            }
            // A last line cut short by a crash is ignored: its chunk stays "sending".
            for line in lines.filter_map(|l| serde_json::from_str::<Value>(l).ok()) {
                if line["type"] == "watermark" {
                    watermark = watermark.or(line["id"].as_i64());
                    continue;
                }
                let Some(index) = line["chunk"].as_u64().map(|i| i as usize) else {
                    continue;
                };
                match line["type"].as_str() {
                    Some("sending") => {
                        recorded.insert(index, ChunkRecord::Sending);
                    }
                    Some("done") => {
                        recorded.insert(index, ChunkRecord::Done(read_outcome(&line)));
                    }
                    _ => {}
                }
            }
        } else {
            // The journal holds lead data: readable by its owner only.
            let mut file =
                files::open_append(access, path, true).map_err(|e| io("create", path)(e.into()))?;
            writeln!(file, "{start}")
                .and_then(|()| file.sync_data())
                .map_err(io("write", path))?;
        }
        let file =
            files::open_append(access, path, false).map_err(|e| io("open", path)(e.into()))?;
        Ok(Journal {
            path: path.to_path_buf(),
            powers: powers.clone(),
            file: Mutex::new(file),
            recorded,
            watermark,
        })
    }

    /// What an earlier run recorded, chunk by chunk.
    pub(crate) fn recorded(&self) -> Vec<(usize, ChunkRecord)> {
        self.recorded.iter().map(|(i, r)| (*i, r.clone())).collect()
    }

    fn append(&self, line: &Value) -> Result<(), JournalError> {
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        writeln!(file, "{line}")
            .and_then(|()| file.sync_data())
            .map_err(io("write", &self.path))
    }

    /// The first run's watermark, if it recorded one.
    pub(crate) fn watermark(&self) -> Option<i64> {
        self.watermark
    }

    /// Records the watermark before the first chunk is sent.
    pub(crate) fn record_watermark(&self, id: i64) -> Result<(), JournalError> {
        self.append(&json!({ "type": "watermark", "id": id }))
    }

    /// Records that a chunk is about to be sent.
    pub(crate) fn sending(&self, chunk: usize) -> Result<(), JournalError> {
        self.append(&json!({ "type": "sending", "chunk": chunk }))
    }

    /// Records a chunk's outcome.
    pub(crate) fn done<R: Inserted>(
        &self,
        chunk: usize,
        outcome: &ChunkOutcome<R>,
    ) -> Result<(), JournalError> {
        let inserted: Vec<Value> = outcome
            .inserted
            .iter()
            .map(|(p, lead)| json!([p, lead.to_json()]))
            .collect();
        self.append(&json!({
            "type": "done",
            "chunk": chunk,
            "inserted": inserted,
            "not_applied": outcome.not_applied,
            "unknown": outcome.unknown,
        }))
    }

    /// Removes the journal of a completed import.
    pub(crate) fn finish(&self) {
        let _ = files::remove_file(Access::journal(&self.powers, WHAT), &self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resumes_only_the_same_import() {
        let dir = std::env::temp_dir().join(format!("tdc-journal-{}", std::process::id()));
        let path = dir.join("import.jsonl");
        let _ = std::fs::remove_file(&path);
        let leads = vec![
            json!({"phone": "1", "original_identifier": "a"}),
            json!({"phone": "2"}),
        ];
        let journal = Journal::open(&Powers::unbounded(), &path, &leads, 1).unwrap();
        assert_eq!(journal.watermark(), None);
        journal.record_watermark(49_969).unwrap();
        journal.sending(0).unwrap();
        journal
            .done(
                0,
                &ChunkOutcome {
                    inserted: vec![(0, json!({"id": "7"}))],
                    ..ChunkOutcome::default()
                },
            )
            .unwrap();
        journal.sending(1).unwrap();
        drop(journal);
        // A crash mid-line leaves a cut-off last line.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"type\":\"do")
            .unwrap();
        let resumed = Journal::open(&Powers::unbounded(), &path, &leads, 1).unwrap();
        let recorded = resumed.recorded();
        assert!(matches!(&recorded[0], (0, ChunkRecord::Done(o)) if o.inserted[0].1["id"] == "7"));
        assert!(matches!(recorded[1], (1, ChunkRecord::Sending)));
        assert_eq!(
            resumed.watermark(),
            Some(49_969),
            "the first run's watermark"
        );
        let other = Journal::open(&Powers::unbounded(), &path, &leads[..1], 1)
            .err()
            .unwrap();
        assert!(
            other.to_string().contains("belongs to another import"),
            "{other}"
        );
        resumed.finish();
        assert!(!path.exists());
    }
}
