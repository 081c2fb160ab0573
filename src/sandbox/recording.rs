//! Call recordings: FLAC files (8 kHz, mono, 16 bit) exactly as long as the call's billed
//! seconds, encoded with `flacenc`. The audio is a deterministic pair of alternating tones —
//! two voices taking turns — so files differ per call but need no stored audio.

use flacenc::component::BitRepr;
use flacenc::error::Verify;

pub(crate) const SAMPLE_RATE: usize = 8_000;

/// The FLAC encoder refused (its errors carry no more than their debug text).
#[derive(Debug, thiserror::Error)]
#[error("FLAC encoding failed: {0}")]
pub(crate) struct EncodeError(String);

/// Encodes `seconds` of audio for call `call_id`.
pub(crate) fn encode(call_id: i64, seconds: u32) -> Result<Vec<u8>, EncodeError> {
    let total = SAMPLE_RATE * seconds as usize;
    let (low, high) = (
        300.0 + (call_id % 7) as f64 * 40.0,
        500.0 + (call_id % 5) as f64 * 60.0,
    );
    let samples: Vec<i32> = (0..total)
        .map(|n| {
            let t = n as f64 / SAMPLE_RATE as f64;
            // A new "turn" every 1.5 s; a short pause at each change of speaker.
            let turn = (t / 1.5) as u64;
            let within = t - turn as f64 * 1.5;
            if within > 1.3 {
                return 0;
            }
            let freq = if turn.is_multiple_of(2) { low } else { high };
            (6000.0 * (2.0 * std::f64::consts::PI * freq * t).sin()) as i32
        })
        .collect();
    let mut config = flacenc::config::Encoder::default();
    config.multithread = false;
    let config = config
        .into_verified()
        .map_err(|(_, e)| EncodeError(format!("configuration: {e:?}")))?;
    let source = flacenc::source::MemSource::from_samples(&samples, 1, 16, SAMPLE_RATE);
    let stream = flacenc::encode_with_fixed_block_size(&config, source, config.block_size)
        .map_err(|e| EncodeError(format!("{e:?}")))?;
    let mut sink = flacenc::bitsink::ByteSink::new();
    stream
        .write(&mut sink)
        .map_err(|e| EncodeError(format!("{e:?}")))?;
    Ok(sink.as_slice().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_decodes_to_the_billed_length() {
        let bytes = encode(45475, 3).unwrap();
        let mut reader = claxon::FlacReader::new(std::io::Cursor::new(bytes)).unwrap();
        let info = reader.streaminfo();
        assert_eq!(info.sample_rate as usize, SAMPLE_RATE);
        assert_eq!(info.samples, Some(3 * SAMPLE_RATE as u64));
        let decoded: Vec<i32> = reader.samples().collect::<Result<_, _>>().unwrap();
        assert_eq!(decoded.len(), 3 * SAMPLE_RATE);
    }
}
