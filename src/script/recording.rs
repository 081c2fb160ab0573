//! The `Recording` type: a call's FLAC file, kept in memory until saved.

use std::sync::Arc;

use super::RhaiResultOf;
use rhai::plugin::*;
use rhai::{Blob, Dynamic, Map, INT};

use super::script_error;

#[derive(Clone)]
pub(crate) struct Recording {
    pub(crate) call_id: i64,
    pub(crate) bytes: Arc<Vec<u8>>,
}

impl Recording {
    pub(crate) fn new(call_id: i64, bytes: Vec<u8>) -> Recording {
        Recording {
            call_id,
            bytes: Arc::new(bytes),
        }
    }
}

/// Seconds of audio a FLAC file holds, from its STREAMINFO.
pub(crate) fn flac_seconds(bytes: &[u8]) -> Option<f64> {
    let reader = claxon::FlacReader::new(std::io::Cursor::new(bytes)).ok()?;
    let info = reader.streaminfo();
    info.samples
        .map(|n| n as f64 / f64::from(info.sample_rate.max(1)))
}

/// Writes a recording whole or not at all, as a script's file.
fn write_recording(
    powers: &crate::script::permissions::Powers,
    what: &str,
    path: &std::path::Path,
    bytes: &[u8],
) -> Result<(), crate::files::FileError> {
    use std::io::Write;
    crate::files::write_whole(crate::files::Access::bounded(powers, what), path, |file| {
        file.write_all(bytes)
    })
}

/// Whether a file already there is a whole recording: every frame decodes (each carries a
/// CRC), the samples add up to the length its header gives, and that length is the call's
/// (within a second) when the call's billed seconds are known. A truncated, empty or damaged
/// file is not, and is fetched again.
pub(crate) fn is_whole(
    powers: &crate::script::permissions::Powers,
    path: &std::path::Path,
    billed_seconds: Option<f64>,
) -> bool {
    let access = crate::files::Access::bounded(powers, "download_recordings");
    let Ok(file) = crate::files::open(access, path) else {
        return false;
    };
    let Ok(mut reader) = claxon::FlacReader::new(std::io::BufReader::new(file)) else {
        return false;
    };
    let info = reader.streaminfo();
    let Some(total) = info.samples else {
        return false;
    };
    let seconds = total as f64 / f64::from(info.sample_rate.max(1));
    if billed_seconds.is_some_and(|billed| (seconds - billed).abs() > 1.0) {
        return false;
    }
    let mut frames = reader.blocks();
    let (mut decoded, mut buffer) = (0u64, Vec::new());
    loop {
        match frames.read_next_or_eof(buffer) {
            Ok(Some(block)) => {
                decoded += u64::from(block.duration());
                buffer = block.into_buffer();
            }
            Ok(None) => return decoded == total,
            Err(_) => return false,
        }
    }
}

/// A recording to fetch: the call and, when known, its billed seconds.
pub(crate) struct Wanted {
    pub(crate) call_id: i64,
    pub(crate) billed_seconds: Option<f64>,
}

enum Outcome {
    Fetched {
        size: usize,
        seconds: f64,
        repaired: bool,
    },
    Whole,
}

/// Downloads recordings `concurrency` at a time into `folder`. A file already there is kept
/// when it is whole ([`is_whole`]) and fetched again when it is not.
pub(crate) async fn download_all(
    client: Arc<crate::api::Client>,
    wanted: Vec<Wanted>,
    folder: std::path::PathBuf,
    concurrency: usize,
    powers: crate::script::permissions::Powers,
) -> Map {
    let limit = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let (mut files, mut bytes, mut seconds, mut skipped, mut repaired) =
        (0 as INT, 0 as INT, 0.0, 0 as INT, 0 as INT);
    let mut failed = rhai::Array::new();
    let progress = crate::terminal::progress::bar(wanted.len() as u64, "recordings");
    for Wanted {
        call_id,
        billed_seconds,
    } in wanted
    {
        let path = folder.join(format!("{call_id}.flac"));
        let (client, limit, powers) = (client.clone(), limit.clone(), powers.clone());
        tasks.spawn(async move {
            let there = path.exists();
            let check = path.clone();
            if there
                && tokio::task::spawn_blocking({
                    let powers = powers.clone();
                    move || is_whole(&powers, &check, billed_seconds)
                })
                .await
                .unwrap_or(false)
            {
                return (call_id, Ok(Outcome::Whole));
            }
            let _permit = limit.acquire_owned().await;
            let outcome = match client.recording(call_id).await {
                Ok(data) => write_recording(&powers, "download_recordings", &path, &data)
                    .map(|()| Outcome::Fetched {
                        size: data.len(),
                        seconds: flac_seconds(&data).unwrap_or(0.0),
                        repaired: there,
                    })
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            (call_id, outcome)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        progress.inc(1);
        match joined {
            Ok((_, Ok(Outcome::Whole))) => skipped += 1,
            Ok((
                _,
                Ok(Outcome::Fetched {
                    size,
                    seconds: audio,
                    repaired: again,
                }),
            )) => {
                files += 1;
                bytes += size as INT;
                seconds += audio;
                repaired += INT::from(again);
            }
            Ok((call_id, Err(message))) => {
                let mut failure = Map::new();
                failure.insert("call_id".into(), Dynamic::from_int(call_id));
                failure.insert("message".into(), message.into());
                failed.push(failure.into());
            }
            Err(e) => failed.push(Dynamic::from(format!("a download task failed: {e}"))),
        }
    }
    progress.finish_and_clear();
    let mut summary = Map::new();
    summary.insert("files".into(), Dynamic::from_int(files));
    summary.insert("bytes".into(), Dynamic::from_int(bytes));
    summary.insert(
        "seconds".into(),
        Dynamic::from_float((seconds * 10.0_f64).round() / 10.0),
    );
    summary.insert("skipped".into(), Dynamic::from_int(skipped));
    summary.insert("repaired".into(), Dynamic::from_int(repaired));
    summary.insert("failed".into(), failed.into());
    summary
}

#[export_module]
pub mod recording_api {
    use super::*;

    /// Writes the FLAC file; returns the number of bytes written. Parent folders are created.
    ///
    /// ```rhai
    /// td.recording(45475).save("recordings/45475.flac");
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn save(
        ctx: NativeCallContext,
        recording: &mut Recording,
        path: &str,
    ) -> RhaiResultOf<INT> {
        write_recording(
            &crate::script::powers_of(&ctx),
            "save",
            std::path::Path::new(path),
            &recording.bytes,
        )?;
        Ok(recording.bytes.len() as INT)
    }

    /// The size of the file in bytes.
    ///
    /// ```rhai
    /// print(td.recording(45475).len());
    /// ```
    #[rhai_fn(name = "len", pure)]
    pub fn len(recording: &mut Recording) -> INT {
        recording.bytes.len() as INT
    }

    /// The call the recording belongs to.
    ///
    /// ```rhai
    /// print(td.recording(45475).call_id);
    /// ```
    #[rhai_fn(get = "call_id", pure)]
    pub fn call_id(recording: &mut Recording) -> INT {
        recording.call_id
    }

    /// What the FLAC header says: `#{sample_rate, channels, bits_per_sample, seconds}`.
    ///
    /// ```rhai
    /// let info = td.recording(45475).info();
    /// print(`${info.seconds} s at ${info.sample_rate} Hz`);
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn info(recording: &mut Recording) -> RhaiResultOf<Map> {
        let reader = claxon::FlacReader::new(std::io::Cursor::new(recording.bytes.as_slice()))
            .map_err(|e| {
                script_error(format!(
                    "recording of call {} is not valid FLAC: {e}",
                    recording.call_id
                ))
            })?;
        let stream = reader.streaminfo();
        let seconds = stream.samples.map_or(Dynamic::UNIT, |n| {
            Dynamic::from_float(n as f64 / stream.sample_rate.max(1) as f64)
        });
        let mut map = Map::new();
        map.insert(
            "sample_rate".into(),
            Dynamic::from_int(stream.sample_rate.into()),
        );
        map.insert("channels".into(), Dynamic::from_int(stream.channels.into()));
        map.insert(
            "bits_per_sample".into(),
            Dynamic::from_int(stream.bits_per_sample.into()),
        );
        map.insert("seconds".into(), seconds);
        Ok(map)
    }

    /// The file's bytes as a BLOB.
    ///
    /// ```rhai
    /// let bytes = td.recording(45475).to_blob();
    /// ```
    #[rhai_fn(pure)]
    pub fn to_blob(recording: &mut Recording) -> Blob {
        recording.bytes.as_ref().clone()
    }

    /// How the recording is shown.
    ///
    /// ```rhai
    /// print(td.recording(45475));   // Recording(call 45475, 258032 bytes)
    /// ```
    #[rhai_fn(global, name = "to_string", name = "to_debug", pure)]
    pub fn describe(recording: &mut Recording) -> String {
        format!(
            "Recording(call {}, {} bytes)",
            recording.call_id,
            recording.bytes.len()
        )
    }
}
