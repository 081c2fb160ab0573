//! The `Recording` type: a call's FLAC file, kept in memory until saved.

use std::sync::Arc;

use rhai::plugin::*;
use rhai::{Blob, Dynamic, EvalAltResult, Map, INT};

use super::script_error;

type Fallible<T> = Result<T, Box<EvalAltResult>>;

#[derive(Clone)]
pub struct Recording {
    pub call_id: i64,
    pub bytes: Arc<Vec<u8>>,
}

impl Recording {
    pub fn new(call_id: i64, bytes: Vec<u8>) -> Recording {
        Recording {
            call_id,
            bytes: Arc::new(bytes),
        }
    }
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
    pub fn save(recording: &mut Recording, path: &str) -> Fallible<INT> {
        let path = std::path::Path::new(path);
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                script_error(format!("save: cannot create {}: {e}", parent.display()))
            })?;
        }
        let temp = path.with_extension("flac.part");
        std::fs::write(&temp, recording.bytes.as_slice())
            .and_then(|()| std::fs::rename(&temp, path))
            .map_err(|e| script_error(format!("save: cannot write {}: {e}", path.display())))?;
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
    pub fn info(recording: &mut Recording) -> Fallible<Map> {
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
